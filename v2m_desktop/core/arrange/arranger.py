"""`arrange()`: the chord track and dynamics of a video -> a multi-track MIDI arrangement on a
beat grid that follows the cuts."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pretty_midi

from v2m_desktop.core.arrange import harmony
from v2m_desktop.core.arrange.feel import Feel
from v2m_desktop.core.arrange.melody import melody
from v2m_desktop.core.arrange.meter import MIN_SLOT, PHRASE_SLOTS, Meter, meter_signatures, plan_meter
from v2m_desktop.core.arrange.midi_file import annotate, new_midi
from v2m_desktop.core.arrange.parts import MIX_CCS, PARTS, Context
from v2m_desktop.core.arrange.styles import (
    AUTO,
    ROLES,
    StylePlan,
    all_styles,
    check_ranges,
    choose_style,
    parse_style,
)
from v2m_desktop.core.errors import V2MError
from v2m_desktop.core.tracks import ChordTrack, Dynamics

INSTRUMENTS = ROLES         # the parts a user may choose; each style plays those it has
TEMPO_LIMITS = (30.0, 300.0)


def check_tempo(bpm: float) -> float:
    """A fixed tempo within TEMPO_LIMITS."""
    bpm = float(bpm)
    if not TEMPO_LIMITS[0] <= bpm <= TEMPO_LIMITS[1]:
        raise V2MError(f"tempo {bpm:g} BPM is out of range ({TEMPO_LIMITS[0]:g}-{TEMPO_LIMITS[1]:g})")
    return bpm


def parse_tempo(value) -> float | None:
    """'auto' (or None) -> None (beats on the cuts); a number or its text -> a checked BPM."""
    if value is None or str(value).strip().lower() == "auto":
        return None
    try:
        bpm = float(value)
    except ValueError:
        raise V2MError(f"the tempo is 'auto' or beats per minute, not {value!r}") from None
    return check_tempo(bpm)


@dataclass
class ArrangeOptions:
    tempo: float | None = None            # None = auto
    instruments: tuple = INSTRUMENTS
    seed: int = 0
    picture: float = 1.0                  # how far the picture's energy shapes the parts (0: the plan alone)
    style: str = AUTO                     # a style's key (core.arrange.styles) or auto: from the picture
    style_ranges: tuple = ()              # (start s, end s, style) over the piece's style


@dataclass
class Arrangement:
    midi: pretty_midi.PrettyMIDI
    tempo: float                          # BPM (auto: the base tempo of the tempo map)
    beat_times: np.ndarray                # seconds of the beats up to the end
    chord_times: list[tuple[float, float, int]] = field(default_factory=list)  # after snapping
    cuts: list[float] = field(default_factory=list)
    duration: float = 0.0
    key_root: int = 0
    mode: int = 0
    bar_times: np.ndarray | None = None   # seconds of the bar starts (None: every fourth beat)
    followed_cuts: list[float] = field(default_factory=list)   # the cuts the harmony changes on
    style: str = ""                       # the piece's style (auto resolved)
    style_plan: StylePlan | None = None   # which style plays when

    def bars(self) -> np.ndarray:
        """Seconds of the bar starts (every fourth beat when there was no meter)."""
        bars = self.beat_times[::4] if self.bar_times is None else self.bar_times
        return np.asarray(bars, dtype=np.float64)


def parse_instruments(value) -> tuple[str, ...]:
    """'piano,bass' or a sequence -> a validated tuple in the given order, no repeats."""
    names = value.split(",") if isinstance(value, str) else list(value)
    out: list[str] = []
    for n in (str(x).strip().lower() for x in names):
        if not n:
            continue
        if n not in INSTRUMENTS:
            raise V2MError(f"unknown instrument {n!r} (choose from {', '.join(INSTRUMENTS)})")
        if n not in out:
            out.append(n)
    if not out:
        raise V2MError(f"no instruments chosen (choose from {', '.join(INSTRUMENTS)})")
    return tuple(out)


def _locked_end(chords: ChordTrack, start_s: float) -> bool:
    return any(s >= int(start_s) for s in chords.locks)


def arrange(chords: ChordTrack, dynamics: Dynamics, *, duration: float, cuts: list[float],
            motion: np.ndarray, emotion: np.ndarray, options: ArrangeOptions | None = None,
            meter: Meter | None = None) -> Arrangement:
    """Tempo (auto or fixed), chords on the meter (each change exactly on its bar line or cut, when
    the chords were written for `meter`; else snapped to beats, moving onto cuts, with a cadence
    ending on the last frame), and the chosen parts."""
    options = options or ArrangeOptions()
    if not duration or duration <= 0:
        raise V2MError("the video has no duration")
    if len(chords.tokens) == 0:
        raise V2MError("no chords to arrange")
    instruments = parse_instruments(options.instruments)
    cuts = sorted(float(c) for c in cuts if 0 < float(c) < duration)

    written = meter is not None          # the chords were sampled on this meter
    if meter is None:
        tempo = None if options.tempo is None else check_tempo(options.tempo)
        meter = plan_meter(cuts, duration, emotion, tempo)
    grid, bpm = meter.grid, meter.bpm
    end_pos = grid.pos(duration)
    feel = Feel.build(dynamics.note_density, dynamics.loudness, motion, emotion, duration,
                      cuts if options.picture > 0 else None, options.picture)

    runs = harmony.second_runs(chords.tokens, duration)
    if written:
        segs = harmony.place(runs, {s.second: s.pos for s in meter.slots}, grid, duration)
    else:
        segs = harmony.snap(runs, grid, cuts, duration)
        tonic_from = grid.time(max(np.floor(end_pos + 0.25) - 4, 0))
        if not _locked_end(chords, tonic_from):
            plagal = feel.calm(max(duration - 8, 0), duration) > 0.5
            segs = harmony.cadence(segs, end_pos, chords.key_root, chords.mode, plagal=plagal)

    cut_beats = grid.cut_beats(cuts)
    bars = [b for b in meter.bars if b < end_pos]
    piece = parse_style(options.style)
    if piece == AUTO:
        energy = 0.5 if feel.energy is None else float(np.mean(feel.energy))
        piece = choose_style(feel.emotion, energy, 60.0 * len(cuts) / max(float(duration), 1.0))
    plan = StylePlan.build(piece, check_ranges(options.style_ranges), float(duration))
    phrase_bars = PHRASE_SLOTS * (1 if 4 * 60.0 / bpm >= MIN_SLOT else 2)
    ctx = Context(grid, segs, end_pos, float(duration), cut_beats, feel,
                  int(options.seed), bars, all_styles()[piece], float(bpm), phrase_bars,
                  (chords.key_root, chords.mode))
    chord_times = [(float(grid.time(s.start)), float(min(grid.time(s.end), duration)), int(s.token))
                   for s in segs]
    chord_times[-1] = (chord_times[-1][0], float(duration), chord_times[-1][2])

    midi = new_midi(grid.beats)
    if written:
        # bars restart at cuts: a DAW's bar lines follow them (a bar cut short is 2/4 or 3/4)
        midi.time_signature_changes = [pretty_midi.TimeSignature(int(n), 4, float(grid.time(b)))
                                       for b, n in meter_signatures(bars, end_pos)]
    annotate(midi, chords.key_root, chords.mode, chord_times)
    for name in instruments:
        midi.instruments += tracks(ctx, plan, name)
    beat_times = grid.beats[grid.beats <= duration + 1e-6].copy()
    return Arrangement(midi, float(bpm), beat_times, chord_times, cuts, float(duration),
                       chords.key_root, chords.mode, meter.bar_times[meter.bar_times <= duration],
                       list(meter.cuts) if written else [], piece, plan)


def tracks(ctx: Context, plan: StylePlan, role: str) -> list[pretty_midi.Instrument]:
    """A part's tracks: one per instrument its styles give it (named after the part; a second
    instrument, from a range's style, as 'part-style'), each playing its styles' notes in their
    spans only, its mixer set at each span's start."""
    styles = all_styles()
    by_program: dict[int, list[str]] = {}
    for key in plan.keys():
        if styles[key].has(role):
            by_program.setdefault(styles[key].program(role), []).append(key)
    out = []
    for k, keys in enumerate(by_program.values()):
        inst = None
        for key in keys:
            part = {**PARTS, "melody": melody}[role](dataclasses.replace(ctx, style=styles[key]))
            if len(plan.spans) == 1:
                inst = part                    # the whole piece in one style
                break
            if inst is None:
                inst = pretty_midi.Instrument(part.program, is_drum=part.is_drum,
                                              name=role if k == 0 else f"{role}-{keys[0]}")
            for a, b in plan.of(key):
                inst.notes += [pretty_midi.Note(n.velocity, n.pitch, n.start, min(n.end, b))
                               for n in part.notes if a <= n.start < b]
                inst.control_changes += [pretty_midi.ControlChange(cc, v, a) for cc, v in
                                         zip(MIX_CCS, styles[key].mix(role))]
                own = sorted((c for c in part.control_changes if c.number not in MIX_CCS),
                             key=lambda c: c.time)
                held = {c.number: c.value for c in own if c.time <= a}     # as they stand at a
                inst.control_changes += [pretty_midi.ControlChange(n, v, a) for n, v in held.items()]
                inst.control_changes += [c for c in own if a < c.time < b]
        assert inst is not None     # `keys` is never empty: a program's list starts with a key
        inst.notes.sort(key=lambda n: (n.start, n.pitch))
        inst.control_changes.sort(key=lambda c: c.time)
        if inst.notes or len(plan.spans) == 1:
            out.append(inst)
    return out
