"""The accompaniment parts (General MIDI): the harmony part ("piano": arpeggio, strum, ostinato
or sustained chords), bass, sustained pad, drums; each plays as the style (core.arrange.styles)
says: its instrument, pattern, register and mix.  The melody is core.arrange.melody.

Every part works in beat positions on the (possibly warped) beat grid and reads the plan through
``Feel``: the patterns follow the predicted note density, velocities follow the predicted
loudness, the drums follow motion and density (silent where calm).  Cuts get an accent (piano and
bass re-attack, louder), a drum fill before and a crash on them when the drums play; the last
chord (the cadence's tonic) is rolled and held to the last frame.
"""
from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pretty_midi

from v2m_desktop.core.arrange.feel import BUSY, Feel, density_level, velocity
from v2m_desktop.core.arrange.harmony import Segment
from v2m_desktop.core.arrange.styles import DrumStyle, PartStyle, Style
from v2m_desktop.core.arrange.tempo import BeatGrid
from v2m_desktop.core.arrange.voicing import BassLine, Voicer, fifth_interval

# Piano arpeggio cells of two beats: (onset in beats, index into the 4-note voicing), two
# variants (A on even cells, B on odd cells).  Level = density level (notes/s thresholds).
PIANO_CELLS: dict[int, tuple[list[tuple[float, int]], list[tuple[float, int]]]] = {
    0: ([(0, 0), (1, 2)], [(0, 1), (1, 3)]),
    1: ([(0, 0), (1, 1), (1.5, 2)], [(0, 0), (1, 2), (1.5, 3)]),
    2: ([(0, 0), (.5, 1), (1, 2), (1.5, 3)], [(0, 0), (.5, 2), (1, 3), (1.5, 1)]),
    3: ([(0, 0), (.5, 1), (.75, 2), (1, 3), (1.5, 2), (1.75, 1)],
        [(0, 0), (.25, 1), (.5, 2), (1, 3), (1.25, 2), (1.5, 1)]),
    4: ([(k / 4, i) for k, i in enumerate((0, 1, 2, 3, 2, 1, 2, 3))],
        [(k / 4, i) for k, i in enumerate((0, 2, 1, 3, 2, 3, 1, 2))]),
}
# Bass cells of two beats: (onset, 'r' root / '5' fifth / '8' octave, length in beats).
BassCell = list[tuple[float, str, float]]
BASS_CELLS: dict[int, tuple[BassCell, BassCell]] = {
    0: ([(0, "r", 2)], [(0, "r", 2)]),
    1: ([(0, "r", 2)], [(0, "r", 1.5), (1.5, "5", .5)]),
    2: ([(0, "r", 1), (1, "r", 1)], [(0, "r", 1), (1, "5", 1)]),
    3: ([(0, "r", .75), (1, "r", .5), (1.5, "5", .5)], [(0, "r", .5), (.5, "r", .5), (1, "8", .5),
                                                       (1.5, "5", .5)]),
    4: ([(k / 2, "r8r5"[k], .5) for k in range(4)], [(k / 2, "r585"[k], .5) for k in range(4)]),
}
PIANO_RING = {0: 2.0, 1: 1.5, 2: 1.5, 3: 1.0, 4: 0.75}     # beats a piano note rings (pedal-like)
KICK, SNARE, HAT, OPEN_HAT, CRASH = 36, 38, 42, 46, 49
TOMS = (50, 48, 47, 45)       # high to low


@dataclass
class Context:
    grid: BeatGrid
    segments: list[Segment]
    end_pos: float           # beat position of the last frame
    duration: float
    cut_beats: set[int]      # beats on (within 100 ms of) a cut
    feel: Feel
    seed: int
    bars: list[float]        # beat positions of the bar starts (bars restart at cuts)
    style: Style
    bpm: float = 100.0
    phrase_bars: int = 4     # bars of a phrase of the meter (its cadences close them)
    key: tuple[int, int] = (0, 0)   # the piece's key: root, mode (1 minor)

    def t(self, pos: float) -> float:
        """Seconds of a beat position, the off-beats swung as the style swings."""
        return self.grid.time(self.style.swung(pos))

    def level(self, t0: float, t1: float) -> int:
        """The pattern level over [t0, t1) as the style plays it."""
        return self.style.level(self.feel.level(t0, t1), self.bpm)

    def part(self, role: str) -> PartStyle:
        return self.style.parts[role]


MIX_CCS = (7, 10, 91, 93)       # volume, pan, reverb send, chorus send: a style's `mix`


def _instrument(ctx: Context, name: str) -> pretty_midi.Instrument:
    inst = pretty_midi.Instrument(program=ctx.style.program(name), is_drum=name == "drums", name=name)
    for cc, value in zip(MIX_CCS, ctx.style.mix(name)):
        inst.control_changes.append(pretty_midi.ControlChange(cc, value, 0.0))
    return inst


def _note(inst, ctx: Context, pitch: int, vel: float, t0: float, t1: float) -> None:
    if t0 >= ctx.duration - 0.02:
        return
    t1 = min(t1, ctx.duration)
    if t1 - t0 < 0.03:
        t1 = min(t0 + 0.03, ctx.duration)
    vel = min(max(int(round(vel + jitter(ctx.seed, inst.name, pitch, t0))), 1), 127)
    inst.notes.append(pretty_midi.Note(vel, int(pitch), float(t0), float(t1)))


def jitter(seed: int, part: str, pitch: int, t0: float) -> int:
    """A velocity nudge of -2..2 drawn from the seed, the part, the pitch and the note's time
    alone: no stream is carried from note to note, so arranging any stretch of the piece gives
    the same notes there as arranging the whole of it (an edit stays local)."""
    h = hash_ints(seed, sum(map(ord, part)), pitch, int(round(t0 * 1000)))
    return int(h % 5) - 2


def hash_ints(*xs: int) -> int:
    """A 64-bit mix of integers (splitmix64 steps): the same on every run and platform, unlike
    Python's salted hash()."""
    h = 0x9E3779B97F4A7C15
    for x in xs:
        h = (h ^ (int(x) & 0xFFFFFFFFFFFFFFFF)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
        h = (h ^ (h >> 27)) * 0x94D049BB133111EB & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 31
    return h


def _no_overlaps(inst: pretty_midi.Instrument) -> pretty_midi.Instrument:
    """Cut each note where the next note of the same pitch starts (synths retrigger badly)."""
    inst.notes.sort(key=lambda n: (n.pitch, n.start))
    keep = []
    for a, b in zip(inst.notes, inst.notes[1:] + [None]):
        if b is not None and b.pitch == a.pitch and a.end > b.start:
            a.end = b.start
        if a.end - a.start > 0.01:
            keep.append(a)
    inst.notes = sorted(keep, key=lambda n: (n.start, n.pitch))
    return inst


def _cells(seg: Segment, ctx: Context) -> Iterator[tuple[float, float, int, bool]]:
    """Two-beat cells of a segment: (start, end, parity, starts on a cut).  Cells sit on the
    bar grid (the first and second half of each bar: parity 0 and 1), not on the segment's
    start, so a chord that starts elsewhere after an edit keeps its later notes; a segment that
    starts inside a cell begins with the rest of it, and a cut starts a new cell (the
    accompaniment re-attacks on it)."""
    bars = ctx.bars or [0.0]
    marks = {seg.start} | {float(c) for c in ctx.cut_beats if seg.start < c < seg.end}
    k = max(bisect.bisect_right(bars, seg.start) - 1, 0)
    while k < len(bars) and bars[k] < seg.end:
        nxt = bars[k + 1] if k + 1 < len(bars) else seg.end
        b = bars[k]
        while b < nxt - 1e-6:
            if seg.start < b < seg.end:
                marks.add(b)
            b += 2
        k += 1
    ordered = sorted(marks)
    for m0, m1 in zip(ordered, ordered[1:] + [seg.end]):
        if m1 - m0 <= 1e-6:
            continue
        bar = bars[max(bisect.bisect_right(bars, m0 + 1e-6) - 1, 0)]
        parity = int((m0 - bar + 1e-6) // 2) % 2
        yield m0, m1, parity, int(round(m0)) in ctx.cut_beats and abs(m0 - round(m0)) < 1e-6


def _sounding(ctx: Context, voice):
    """(segment, voice(its chord), whether it is the last) for each segment whose chord sounds."""
    last = len(ctx.segments) - 1
    for i, seg in enumerate(ctx.segments):
        v = voice(seg.token)
        if v is not None:
            yield seg, v, i == last


TOP_LINE = 0.55      # picture energy from which the piano adds a top line an octave up (above C5)


def _arpeggio(level: int, parity: int) -> list[tuple[float, tuple[int, ...], float, int]]:
    return [(off, (idx,), PIANO_RING[level], 6 if off == 0 else (-6 if off % 1 else 0))
            for off, idx in PIANO_CELLS[level][parity]]


def _strum(level: int, parity: int) -> list[tuple[float, tuple[int, ...], float, int]]:
    """Chords struck on the cell's rhythm: down strokes (low to high) on the beats, lighter up
    strokes (the top three, high to low) between them."""
    out: list[tuple[float, tuple[int, ...], float, int]] = []
    for off, length in STRUM_CELLS[level][parity]:
        down = off % 1 == 0
        out.append((off, (0, 1, 2, 3) if down else (3, 2, 1), 0.9 * length,
                    (6 if off == 0 else 0) if down else -8))
    return out


def _ostinato(level: int, parity: int) -> list[tuple[float, tuple[int, ...], float, int]]:
    """A repeated figure over the chord, short notes: quarters, eighths or sixteenths."""
    step = 1.0 if level == 0 else (0.5 if level <= 2 else 0.25)
    figure = OSTINATO[parity]
    return [(k * step, (figure[k % len(figure)],), 0.85 * step,
             8 if k == 0 else (3 if (k * step) % 1 == 0 else -4)) for k in range(int(round(2 / step)))]


def _sustained(level: int, parity: int) -> list[tuple[float, tuple[int, ...], float, int]]:
    return [(0.0, (0, 1, 2, 3), 4.0, 4)]


# the harmony part's patterns: (level, parity) -> [(onset in the cell, voicing indices, beats
# it rings, accent)]
PATTERNS = {"arpeggio": _arpeggio, "strum": _strum, "ostinato": _ostinato, "sustained": _sustained}
STRUM_CELLS: dict[int, tuple[list[tuple[float, float]], list[tuple[float, float]]]] = {
    0: ([(0, 2)], [(0, 2)]),
    1: ([(0, 1), (1, 1)], [(0, 1.5), (1.5, .5)]),
    2: ([(0, 1), (1, .5), (1.5, .5)], [(0, .5), (.5, .5), (1, 1)]),
    3: ([(0, .5), (.5, .5), (1, .5), (1.5, .5)], [(0, .75), (.75, .75), (1.5, .5)]),
    4: ([(k / 4, .25) for k in range(8)], [(0, .5), (.5, .25), (.75, .25), (1, .5), (1.5, .5)]),
}
OSTINATO = ((0, 2, 1, 3), (0, 3, 1, 2))
STRUM_SPREAD = 0.012    # seconds between the strings of a strum


def piano(ctx: Context) -> pretty_midi.Instrument:
    spec = ctx.part("piano")
    inst = _instrument(ctx, "piano")
    pattern = PATTERNS[spec.pattern]
    lo, hi, centre = spec.pitches
    for seg, voicing, last in _sounding(ctx, Voicer(lo, hi, centre=centre).voice):
        if last:                                # final tonic: rolled, held to the end
            t0 = ctx.t(seg.start)
            for k, p in enumerate(voicing):
                _note(inst, ctx, p, velocity(ctx.feel.loud(t0)) + 4 - 3 * k, t0 + 0.03 * k,
                      ctx.duration)
            continue
        for c0, c1, parity, on_cut in _cells(seg, ctx):
            if spec.pattern == "sustained" and parity % 2 and not on_cut and c0 != seg.start:
                continue                        # held chords: struck once a bar
            level = ctx.level(ctx.t(c0), ctx.t(c1))
            for off, idxs, ring, accent in pattern(level, parity % 2):
                b = c0 + off
                if b >= c1 - 1e-6:
                    continue
                t0 = ctx.t(b)
                if on_cut and off == 0:
                    accent += 12
                t1 = ctx.t(min(b + ring, seg.end))
                vel = velocity(ctx.feel.loud(t0)) + accent
                for j, idx in enumerate(idxs):
                    _note(inst, ctx, voicing[idx], vel - 2 * j * (len(idxs) > 1),
                          t0 + STRUM_SPREAD * j * (spec.pattern == "strum"), t1)
                if spec.pattern == "arpeggio" and idxs[0] >= 2 and voicing[idxs[0]] + 12 <= 96 \
                        and ctx.feel.energy_at(t0, t1) >= TOP_LINE:
                    _note(inst, ctx, voicing[idxs[0]] + 12, vel - 8, t0, t1)
    return _no_overlaps(inst)


# the bass's pulse: roots on the beats, then on the eighths (an octave on the last at level 3+)
BASS_PULSE: dict[int, tuple[BassCell, BassCell]] = {
    0: ([(0, "r", 1), (1, "r", 1)], [(0, "r", 1), (1, "r", 1)]),
    1: ([(0, "r", 1), (1, "r", .5), (1.5, "r", .5)], [(0, "r", 1), (1, "r", .5), (1.5, "r", .5)]),
    2: ([(k / 2, "r", .5) for k in range(4)], [(k / 2, "r", .5) for k in range(4)]),
    3: ([(k / 2, "r", .5) for k in range(4)], [(0, "r", .5), (.5, "r", .5), (1, "r", .5), (1.5, "8", .5)]),
    4: ([(k / 2, "r", .5) for k in range(4)], [(0, "r", .5), (.5, "8", .5), (1, "r", .5), (1.5, "8", .5)]),
}


def bass(ctx: Context) -> pretty_midi.Instrument:
    spec = ctx.part("bass")
    inst = _instrument(ctx, "bass")
    lo, hi, centre = spec.pitches
    line = BassLine(lo, hi, centre)
    for seg, root, last in _sounding(ctx, line.root):
        pitches = {"r": root, "5": line.within(root + fifth_interval(seg.token)),
                   "8": line.within(root + 12) if root + 12 <= line.hi else root}
        if last:
            t0 = ctx.t(seg.start)
            _note(inst, ctx, root, velocity(ctx.feel.loud(t0)), t0, ctx.duration)
            continue
        for c0, c1, parity, on_cut in _cells(seg, ctx):
            held = spec.pattern == "sustained"
            level = 0 if held else ctx.level(ctx.t(c0), ctx.t(c1))
            if level == 0 and parity % 2 and not on_cut and spec.pattern != "pulse" \
                    and not (held and c0 == seg.start):
                continue                         # level 0: one long note per four beats
            cell = (BASS_PULSE if spec.pattern == "pulse" else BASS_CELLS)[level][parity % 2]
            long = level == 0 and spec.pattern != "pulse"
            for off, kind, length in cell:
                b = c0 + off
                if b >= c1 - 1e-6:
                    continue
                end = min(b + (4 if long else length) * 0.95, seg.end)
                t0 = ctx.t(b)
                accent = 10 if on_cut and off == 0 else (3 if off == 0 else -3)
                _note(inst, ctx, pitches[kind], velocity(ctx.feel.loud(t0)) - 4 + accent, t0,
                      ctx.t(end))
    return _no_overlaps(inst)


def pad(ctx: Context) -> pretty_midi.Instrument:
    lo, hi, centre = ctx.part("pad").pitches
    inst = _instrument(ctx, "pad")
    for seg, voicing, _ in _sounding(ctx, Voicer(lo, hi, centre=centre).voice):
        t0, t1 = ctx.t(seg.start), min(ctx.t(seg.end), ctx.duration)
        # an energetic scene: the pad steps back behind the drums and the piano's top line
        share = 0.55 if ctx.feel.energy_at(t0, t1) > BUSY else 0.8
        for p in voicing:
            _note(inst, ctx, p, share * velocity(ctx.feel.loud(t0)), t0, t1)
    # expression (CC11) follows the loudness beat by beat, so long chords swell and fade
    last = None
    for k in range(int(np.ceil(ctx.end_pos)) + 1):
        t = min(ctx.t(k), ctx.duration)
        value = min(max(int(round(40 + 87 * (max(ctx.feel.loud(t), 0) / 0.35) ** 0.5)), 40), 127)
        if value != last:
            inst.control_changes.append(pretty_midi.ControlChange(11, value, t))
            last = value
    return _no_overlaps(inst)


def _drum_bar(level: int, dense: bool, groove: DrumStyle) -> list[tuple[float, int, float]]:
    """(onset in beats, GM drum note, velocity factor) for one 4/4 bar: the hats, then the
    style's groove."""
    hits = []
    step = 0.25 if dense else 0.5
    for k in range(int(4 / step) if groove.hats == "eighths" else 0):
        b = k * step
        if level == 2 and b == 3.5:
            hits.append((b, OPEN_HAT, 0.6))
        else:
            hits.append((b, HAT, 0.62 if b % 1 == 0 else 0.48))
    return hits + groove.bar(level)


def _fill(level: int) -> list[tuple[float, int, float]]:
    """The beat before a cut (onsets in [0, 1))."""
    if level == 1:
        return [(0, SNARE, 0.55), (0.5, SNARE, 0.65)]
    return [(k / 4, TOMS[k], 0.7 + 0.07 * k) for k in range(4)]


def drums(ctx: Context) -> pretty_midi.Instrument:
    inst = _instrument(ctx, "drums")
    last_seg = ctx.segments[-1] if ctx.segments else None
    stop = last_seg.start if last_seg is not None and len(ctx.segments) > 1 else ctx.end_pos
    starts = list(ctx.bars) or [0.0]
    ends = starts[1:] + [ctx.end_pos]
    n_bars = len(starts)
    levels = [ctx.feel.drum_level(ctx.t(a), min(ctx.t(b), ctx.duration)) for a, b in zip(starts, ends)]
    fill_beats = {c - 1 for c in ctx.cut_beats if c >= 1}
    hits: list[tuple[float, int, float]] = []
    for a, b_end, level in zip(starts, ends, levels):
        if level == 0:
            continue
        dense = density_level(ctx.feel.density[min(int(ctx.t(a)), len(ctx.feel.density) - 1)]) >= 4
        for off, note, f in _drum_bar(level, dense, ctx.style.drum_style):
            b = a + off
            if b >= b_end - 1e-6 or int(b) in fill_beats:
                continue
            hits.append((b, note, f))
        for fb in fill_beats:
            if a <= fb < b_end:
                hits += [(fb + off, note, f) for off, note, f in _fill(level)]
    for c in sorted(ctx.cut_beats):             # crash on a cut when drums play around it
        bar = bisect.bisect_right(starts, c) - 1
        if levels and max(levels[min(bar, n_bars - 1)], levels[max(bar - 1, 0)]) > 0:
            hits += [(c, CRASH, 0.85), (c, KICK, 0.9)]
    if levels and levels[-1] > 0 and stop < ctx.end_pos:   # the final chord
        hits = [h for h in hits if h[0] < stop - 1e-6]
        hits += [(stop, CRASH, 0.9), (stop, KICK, 0.95)]
    seen = set()
    for b, note, f in sorted(hits):
        if b >= ctx.end_pos - 1e-6 or (b > stop + 1e-6) or (round(b, 4), note) in seen:
            continue
        seen.add((round(b, 4), note))
        t0 = ctx.t(b)
        _note(inst, ctx, note, f * (velocity(ctx.feel.loud(t0)) + 8), t0,
              t0 + (1.5 if note == CRASH else 0.12))
    return _no_overlaps(inst)


PARTS = {"piano": piano, "bass": bass, "pad": pad, "drums": drums}     # the melody: core.arrange.melody
