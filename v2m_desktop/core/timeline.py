"""What a timeline shows of a scored video, as plain arrays: chord blocks, notes, cuts, emotion,
dynamics and thumbnails on one time axis (seconds).  Built from a pipeline Score; the app's lanes
draw it and never look inside the arrangement or the analysis themselves."""
from __future__ import annotations

import bisect
import dataclasses
from dataclasses import dataclass, field

import numpy as np

from v2m_desktop.core.chords import chord_symbol, flat_key, quality_of
from v2m_desktop.core.notes import NoteEdits


@dataclass(frozen=True)
class ChordBlock:
    """One run of a chord as the user sees it."""
    start: float
    end: float
    token: int
    symbol: str             # 'Am', 'F#maj7', 'N'
    quality: str | None     # 'min', 'maj7', ... (None for N)
    locked: bool = False    # every second it covers is locked
    custom: bool = False    # the user edited notes under it: its voicing is their own


@dataclass
class Notes:
    """Every note of the arrangement, one row each (sorted by start)."""
    start: np.ndarray       # [N] float64 seconds
    end: np.ndarray         # [N] float64 seconds
    pitch: np.ndarray       # [N] int16 MIDI pitch
    velocity: np.ndarray    # [N] int16
    part: np.ndarray        # [N] int16 index into `parts`
    parts: tuple[str, ...] = ()
    drums: tuple[bool, ...] = ()

    def __len__(self) -> int:
        return len(self.start)


@dataclass
class TimelineData:
    duration: float
    cuts: list[float] = field(default_factory=list)
    transitions: list[float] = field(default_factory=list)  # the other shot changes: fades, titles
    emotion: np.ndarray | None = None        # [T, 6] probabilities a second
    density: np.ndarray | None = None        # [T] notes a second
    loudness: np.ndarray | None = None       # [T] linear RMS
    chords: list[ChordBlock] = field(default_factory=list)
    notes: Notes | None = None
    thumbnails: np.ndarray | None = None     # [N, h, w, 3] uint8 RGB
    thumb_times: np.ndarray | None = None    # [N] seconds
    key: str = ""
    tempo: float = 0.0
    bars: list[float] = field(default_factory=list)       # bar starts (s): where the harmony may change
    locks: set[int] = field(default_factory=set)          # locked seconds
    targets: list = field(default_factory=list)           # core.project.Target: the user's emotion targets
    edited: dict = field(default_factory=dict)            # 'density' / 'loudness': the seconds the user drew
    voice: list[VoiceSpan] = field(default_factory=list)  # the Speech lane
    beats: list[float] = field(default_factory=list)      # beat times (s): the piano-roll's grid
    note_edits: NoteEdits = field(default_factory=NoteEdits)  # the user's, in `notes` already


@dataclass(frozen=True)
class VoiceSpan:
    """A stretch of the Speech lane: 'speech' found in the video's own sound, or the user's
    'duck' (ducked though no speech was found) and 'keep' (never ducked) ranges."""
    start: float
    end: float
    kind: str


def voice_spans(speech, duck_add=(), duck_remove=()) -> list[VoiceSpan]:
    rows = [VoiceSpan(float(a), float(b), "speech") for a, b in speech]
    rows += [VoiceSpan(float(a), float(b), "duck") for a, b in duck_add]
    rows += [VoiceSpan(float(a), float(b), "keep") for a, b in duck_remove]
    return sorted(rows, key=lambda r: (r.start, r.end, r.kind))


SPLIT_MARGIN = 0.5      # a split this near an arranged chord change is that change


def chord_blocks(chord_times: list[tuple[float, float, int]], flats: bool = False,
                 splits=()) -> list[ChordBlock]:
    """(start, end, token) spans -> blocks, consecutive spans of one chord joined; symbols
    spelled with flats in a flat key.  `splits` (the project's, in seconds) cut a block in two
    where the chord stays (the music does not change there, so no arranged time moves it)."""
    blocks: list[ChordBlock] = []
    for start, end, token in chord_times:
        if blocks and blocks[-1].token == token and abs(blocks[-1].end - start) < 1e-6:
            b = blocks[-1]
            blocks[-1] = ChordBlock(b.start, float(end), b.token, b.symbol, b.quality)
        else:
            blocks.append(ChordBlock(float(start), float(end), int(token), chord_symbol(token, flats),
                                     quality_of(token)))
    cuts = sorted(float(s) for s in splits)
    out: list[ChordBlock] = []
    for b in blocks:
        start = b.start
        for s in cuts:
            if start + SPLIT_MARGIN <= s <= b.end - SPLIT_MARGIN:
                out.append(dataclasses.replace(b, start=start, end=s))
                start = s
        out.append(dataclasses.replace(b, start=start))
    return out


def notes_of(midi) -> Notes:
    """The notes of a PrettyMIDI, one row each, with the index of their instrument (its name)."""
    rows = [(n.start, n.end, n.pitch, n.velocity, i)
            for i, inst in enumerate(midi.instruments) for n in inst.notes]
    rows.sort()
    a = np.array(rows, dtype=np.float64).reshape(-1, 5)
    return Notes(a[:, 0].copy(), a[:, 1].copy(), a[:, 2].astype(np.int16), a[:, 3].astype(np.int16),
                 a[:, 4].astype(np.int16), tuple(inst.name or f"part {i + 1}" for i, inst
                                                 in enumerate(midi.instruments)),
                 tuple(bool(inst.is_drum) for inst in midi.instruments))


def from_analysis(analysis) -> TimelineData:
    """What is known before any music: cuts (and the transitions the music follows too: fades,
    dissolves, title cards), emotion and thumbnails."""
    return TimelineData(duration=float(analysis.info.duration), cuts=[float(c) for c in analysis.cuts],
                        transitions=analysis.transitions,
                        emotion=analysis.emotion, thumbnails=analysis.thumbnails,
                        thumb_times=analysis.thumb_times, voice=voice_spans(analysis.speech))


def from_score(score, project=None) -> TimelineData:
    """Everything a pipeline Score holds (and its project's locks and targets), for the timeline."""
    data = from_analysis(score.analysis)
    arr = score.arrangement
    data.density = score.dynamics.note_density
    data.loudness = score.dynamics.loudness
    data.chords = chord_blocks(arr.chord_times, flat_key(score.chords.key_root, score.chords.mode),
                               project.splits if project is not None else ())
    data.notes = notes_of(arr.midi)
    data.key = score.chords.key_name
    data.tempo = float(arr.tempo)
    data.bars = arr.bars().tolist()
    data.beats = np.asarray(arr.beat_times, dtype=np.float64).tolist()
    if project is not None:
        data.locks = set(project.locks)
        data.targets = list(project.targets)
        data.edited = {kind: set(values) for kind, values in project.dynamics.items()}
        data.note_edits = project.notes
        s = project.settings
        data.voice = voice_spans(score.analysis.speech, s.duck_add, s.duck_remove)
        blocks = [dataclasses.replace(b, locked=_covered(b, data.locks)) for b in data.chords]
        data.chords = mark_custom(blocks, project.notes)
    return data


def mark_custom(blocks: list[ChordBlock], edits: NoteEdits) -> list[ChordBlock]:
    """The blocks with `custom` set where a note edit starts under them."""
    starts = sorted(n.start for n in edits.notes())
    def edited(b: ChordBlock) -> bool:
        i = bisect.bisect_left(starts, b.start)
        return i < len(starts) and starts[i] < b.end
    return [b if edited(b) == b.custom else dataclasses.replace(b, custom=edited(b)) for b in blocks]


def patch_notes(notes: Notes, old: NoteEdits, new: NoteEdits) -> Notes:
    """The shown notes as going from note edits `old` to `new` leaves them, before the music is
    arranged again: what the piano-roll shows at once after a note edit or its undo."""
    index = {p: i for i, p in enumerate(notes.parts)}
    gone = [n for n in (new.removed - old.removed) | (set(old.added) - set(new.added)) if n.part in index]
    come = [n for n in (old.removed - new.removed) | (set(new.added) - set(old.added)) if n.part in index]
    if not gone and not come:
        return notes
    keep = np.ones(len(notes), dtype=bool)
    for n in gone:          # a few notes: found by their start (the rows are sorted by it)
        i = int(np.searchsorted(notes.start, n.start))
        while i < len(notes) and notes.start[i] == n.start:
            if notes.pitch[i] == n.pitch and notes.part[i] == index[n.part]:
                keep[i] = False
            i += 1
    cols = [np.concatenate([a[keep], np.asarray(extra, dtype=np.float64)]) for a, extra in (
        (notes.start, [n.start for n in come]), (notes.end, [n.end for n in come]),
        (notes.pitch, [n.pitch for n in come]), (notes.velocity, [n.velocity for n in come]),
        (notes.part, [index[n.part] for n in come]))]
    order = np.lexsort(cols[::-1])          # as notes_of sorts its rows
    start, end, pitch, velocity, part = (c[order] for c in cols)
    return Notes(start, end, pitch.astype(np.int16), velocity.astype(np.int16), part.astype(np.int16),
                 notes.parts, notes.drums)


def patch_chords(blocks: list[ChordBlock], project, start: int, end: int) -> list[ChordBlock]:
    """The blocks as an edit of seconds [start, end) leaves them before the music is arranged
    again: the arranged blocks outside those seconds, the project's chords (a second each,
    joined) inside; what the chord lane shows at once, until the new arrangement replaces it."""
    spans: list[tuple[float, float, int]] = []
    for b in blocks:
        if b.start < start:
            spans.append((b.start, min(b.end, float(start)), b.token))
    spans += [(float(s), float(s + 1), int(project.tokens[s]))
              for s in range(start, min(end, project.seconds))]
    for b in blocks:
        if b.end > end:
            spans.append((max(b.start, float(end)), b.end, b.token))
    spans = [sp for sp in spans if sp[1] > sp[0]]
    locks = set(project.locks)
    out = chord_blocks(spans, flat_key(project.key_root, project.mode), project.splits)
    return mark_custom([dataclasses.replace(b, locked=_covered(b, locks)) for b in out], project.notes)


def _covered(b: ChordBlock, locks: set[int]) -> bool:
    seconds = range(int(round(b.start)), max(int(round(b.end)), int(round(b.start)) + 1))
    return bool(locks) and all(s in locks for s in seconds)
