"""Chord voicings: pitch classes of each quality, close-position voicings round each part's
centre, each part in its own register (pad A2-G4 around G3, piano G3-C6 around C5, so they
sit apart; bass roots E1-B2, under C3)."""
from __future__ import annotations

from v2m_desktop.core.chords import quality_of, root_of

# Semitones above the root (correct spellings: hdim7 is half-diminished, dim7 fully diminished).
QUALITY_INTERVALS = {
    "maj": (0, 4, 7), "min": (0, 3, 7), "dim": (0, 3, 6), "aug": (0, 4, 8),
    "sus2": (0, 2, 7), "sus4": (0, 5, 7),
    "7": (0, 4, 7, 10), "maj7": (0, 4, 7, 11), "min7": (0, 3, 7, 10),
    "dim7": (0, 3, 6, 9), "hdim7": (0, 3, 6, 10), "maj6": (0, 4, 7, 9), "min6": (0, 3, 7, 9),
}
UPPER_RANGE = (48, 72)      # C3..C5: the default of Voicer
UPPER_CENTRE = 60           # C4
PAD_RANGE, PAD_CENTRE = (45, 67), 55        # A2..G4 around G3
PIANO_RANGE, PIANO_CENTRE = (55, 84), 72    # G3..C6 around C5
BASS_RANGE = (28, 47)       # E1..B2: under C3
BASS_CENTRE = 36            # C2


def chord_pitch_classes(token: int) -> tuple[int, ...] | None:
    """Pitch classes (root first) of a chord token; None for N/END/PAD."""
    root, quality = root_of(token), quality_of(token)
    if root is None or quality is None:     # both None together: N/END/PAD
        return None
    return tuple((root + i) % 12 for i in QUALITY_INTERVALS[quality])


def fifth_interval(token: int) -> int:
    """Semitones from root to the chord's fifth (6 for diminished, 8 for augmented)."""
    ivs = QUALITY_INTERVALS.get(quality_of(token) or "maj", (0, 4, 7))
    return ivs[2] if ivs[2] in (6, 7, 8) else 7


def candidate_voicings(pcs: tuple[int, ...], lo: int = UPPER_RANGE[0], hi: int = UPPER_RANGE[1],
                       size: int = 4) -> list[tuple[int, ...]]:
    """All close-position voicings (every inversion, every octave) of `size` notes within
    [lo, hi]; triads get their bottom note doubled an octave up to make four."""
    out = []
    n = len(pcs)
    for inv in range(n):
        order = pcs[inv:] + pcs[:inv]
        for base in range(lo, lo + 12):
            if base % 12 != order[0]:
                continue
            notes = [base]
            for pc in order[1:]:
                nxt = notes[-1] + 1
                while nxt % 12 != pc:
                    nxt += 1
                notes.append(nxt)
            while len(notes) < size:
                notes.append(notes[len(notes) - n] + 12)
            notes = notes[:size]
            while notes[-1] <= hi:
                out.append(tuple(notes))
                notes = [p + 12 for p in notes]
    return out


class Voicer:
    """The voicing of each chord on its own: the close-position voicing whose mean pitch lies
    nearest the middle of the part's range.  No state runs from chord to chord, so a chord edit
    changes the notes of that chord alone; since every voicing clusters round the same centre,
    the voices of neighbouring chords still move by small steps and keep common tones."""

    def __init__(self, lo: int = UPPER_RANGE[0], hi: int = UPPER_RANGE[1], size: int = 4,
                 centre: float = UPPER_CENTRE):
        self.lo, self.hi, self.size, self.centre = lo, hi, size, centre

    def voice(self, token: int) -> tuple[int, ...] | None:
        pcs = chord_pitch_classes(token)
        if pcs is None:
            return None
        cands = candidate_voicings(pcs, self.lo, self.hi, self.size)
        # ties (a tritone either side) go to the lower voicing, the same every time
        return min(cands, key=lambda v: (abs(sum(v) / len(v) - self.centre), v))


class BassLine:
    """Bass roots in E1-B2, each in the octave nearest the centre (C2): stateless, like Voicer."""

    def __init__(self, lo: int = BASS_RANGE[0], hi: int = BASS_RANGE[1], centre: float = BASS_CENTRE):
        self.lo, self.hi, self.centre = lo, hi, centre

    def root(self, token: int) -> int | None:
        r = root_of(token)
        if r is None:
            return None
        return min((p for p in range(self.lo, self.hi + 1) if p % 12 == r),
                   key=lambda p: (abs(p - self.centre), p))

    def within(self, pitch: int) -> int:
        """Fold a pitch (a fifth, an octave) into the bass range."""
        while pitch > self.hi:
            pitch -= 12
        while pitch < self.lo:
            pitch += 12
        return pitch
