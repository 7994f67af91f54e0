"""`arrange()`: the chord track and dynamics of a video -> a multi-track MIDI arrangement on a
beat grid that follows the cuts."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pretty_midi

from v2m_desktop.core.arrange import harmony
from v2m_desktop.core.arrange.feel import Feel
from v2m_desktop.core.arrange.meter import Meter, meter_signatures, plan_meter
from v2m_desktop.core.arrange.midi_file import annotate, new_midi
from v2m_desktop.core.arrange.parts import PARTS, Context
from v2m_desktop.core.errors import V2MError
from v2m_desktop.core.limits import INSTRUMENTS, TEMPO_LIMITS
from v2m_desktop.core.tracks import ChordTrack, Dynamics


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
    ctx = Context(grid, segs, end_pos, float(duration), cut_beats, feel,
                  int(options.seed), bars)
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
        midi.instruments.append(PARTS[name](ctx))
    beat_times = grid.beats[grid.beats <= duration + 1e-6].copy()
    return Arrangement(midi, float(bpm), beat_times, chord_times, cuts, float(duration),
                       chords.key_root, chords.mode, meter.bar_times[meter.bar_times <= duration],
                       list(meter.cuts) if written else [])
