"""The parts: GM programs, registers, the piano following note density, velocities following
loudness, drums following motion and density, accents at cuts, instrument choice."""
from __future__ import annotations

import numpy as np
import pytest
from arrange_plans import chord_plan, flat_dynamics, moderate, one_hot

from v2m_desktop.core.arrange import INSTRUMENTS, ArrangeOptions, arrange, parse_instruments
from v2m_desktop.core.arrange.feel import density_level, velocity
from v2m_desktop.core.arrange.parts import CRASH
from v2m_desktop.core.chords import N_ID
from v2m_desktop.core.errors import V2MError
from v2m_desktop.core.tracks import Dynamics


def _arrange(chords, dyn, motion, emo, duration=None, cuts=(), **opts):
    """The plan's own mapping (the picture's energy is tested apart: opts picture=1)."""
    opts.setdefault("picture", 0.0)
    opts.setdefault("style", "band")       # the parts of the first band (each style: test_styles)
    duration = duration or float(len(chords))
    return arrange(chords, dyn, duration=duration, cuts=list(cuts), motion=motion, emotion=emo,
                   options=ArrangeOptions(**opts))


def _part(arr, name):
    return next(i for i in arr.midi.instruments if i.name == name)


def _rate(inst, t0, t1):
    return sum(t0 <= n.start < t1 for n in inst.notes) / (t1 - t0)


def test_tracks_programs_and_registers():
    arr = _arrange(*moderate(20), tempo=100)
    assert [i.name for i in arr.midi.instruments] == [n for n in INSTRUMENTS if n != "melody"]
    progs = {i.name: (i.program, i.is_drum) for i in arr.midi.instruments}
    assert progs == {"piano": (1, False), "bass": (33, False), "pad": (89, False), "drums": (0, True)}
    for name, (lo, hi) in {"piano": (55, 84), "pad": (45, 67), "bass": (28, 47)}.items():
        pitches = [n.pitch for n in _part(arr, name).notes]
        assert pitches and lo <= min(pitches) and max(pitches) <= hi
    for inst in arr.midi.instruments:
        assert all(0 <= n.start < n.end <= arr.duration for n in inst.notes)


def test_density_levels_and_velocity_curve():
    assert [density_level(d) for d in (0, 5.9, 6, 9.9, 10, 14, 15, 19, 20, 40)] == \
        [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert velocity(0.0) == 45 and velocity(0.35) == 120 and velocity(1.0) == 120
    assert velocity(0.05) < velocity(0.1) < velocity(0.2)


def test_piano_pattern_follows_note_density_not_loudness():
    T = 20
    chords, _, motion, emo = moderate(T)
    density = np.where(np.arange(T) < 10, 3.0, 25.0)
    loud = np.where(np.arange(T) < 10, 0.3, 0.05)            # opposite trend: must not matter
    arr = _arrange(chords, Dynamics(density, loud), motion, emo, tempo=100)
    piano = _part(arr, "piano")
    sparse, dense = _rate(piano, 1, 9), _rate(piano, 11, 17)
    assert sparse == pytest.approx(100 / 60, rel=0.25)        # level 0: one note a beat
    assert dense == pytest.approx(4 * 100 / 60, rel=0.25)     # level 4: sixteenths
    # same density, only loudness changes: same pattern
    flat = _arrange(chords, Dynamics(np.full(T, 3.0), loud), motion, emo, tempo=100)
    assert _rate(_part(flat, "piano"), 11, 17) == pytest.approx(sparse, rel=0.2)


def test_velocities_follow_loudness():
    T = 24
    chords, _, motion, emo = moderate(T)
    loud = np.linspace(0.02, 0.35, T)
    arr = _arrange(chords, Dynamics(np.full(T, 12.0), loud), motion, emo, tempo=110)
    for name in ("piano", "bass", "pad"):
        notes = [n for n in _part(arr, name).notes if n.start < T - 3]
        starts = np.array([n.start for n in notes])
        vel = np.array([n.velocity for n in notes])
        expect = np.interp(starts, np.arange(T) + 0.5, loud)
        assert np.corrcoef(vel, expect)[0, 1] > 0.85, name
    piano = _part(arr, "piano").notes
    assert np.mean([n.velocity for n in piano if n.start < 4]) + 25 < \
        np.mean([n.velocity for n in piano if 17 < n.start < 21])


def test_drums_silent_when_calm_and_busy_when_active():
    T = 24
    chords = chord_plan(T)
    density = np.where(np.arange(T) < 12, 2.0, 22.0)
    motion = np.where(np.arange(T) < 12, 0.5, 30.0)
    arr = _arrange(chords, Dynamics(density, np.full(T, 0.2)), motion, one_hot("neutral", T),
                   tempo=120, cuts=[6.0, 16.0])
    drums = _part(arr, "drums")
    assert not [n for n in drums.notes if n.start < 11.9]       # calm: silent, even at the cut
    busy = [n for n in drums.notes if 12 <= n.start < 20]
    assert len(busy) > 30 and {36, 38, 42} <= {n.pitch for n in busy}
    assert any(n.pitch == CRASH and abs(n.start - 16.0) < 0.01 for n in drums.notes)
    calm = _arrange(chords, Dynamics(np.full(T, 2.0), np.full(T, 0.2)), np.zeros(T),
                    one_hot("relaxing", T), tempo=120)
    assert len(_part(calm, "drums").notes) == 0


def test_moderate_scene_gets_light_drums_and_a_fill_before_a_cut():
    T = 16
    arr = _arrange(chord_plan(T), flat_dynamics(T, density=9.0), np.full(T, 9.0),
                   one_hot("neutral", T), tempo=120, cuts=[8.0])
    drums = _part(arr, "drums").notes
    assert drums and not [n for n in drums if n.pitch == 38 and n.start < 7.0]     # light: no snare
    assert any(7.0 <= n.start < 8.0 and n.pitch in (37, 38, 45, 47, 48, 50) for n in drums)   # fill
    assert any(n.pitch == CRASH and abs(n.start - 8.0) < 1e-6 for n in drums)


def test_cut_accent_without_chord_change():
    T = 12
    chords = chord_plan(T, change_every=12)                  # one chord for 12 s
    arr = _arrange(chords, flat_dynamics(T, density=3.0, loudness=0.1), np.zeros(T),
                   one_hot("neutral", T), tempo=120, cuts=[5.0])
    bass = _part(arr, "bass").notes
    assert any(abs(n.start - 5.0) < 1e-6 for n in bass)      # re-attack on the cut
    piano = _part(arr, "piano").notes
    on_cut = [n.velocity for n in piano if abs(n.start - 5.0) < 1e-6]
    others = [n.velocity for n in piano if 1 < n.start < 4.9]
    assert on_cut and on_cut[0] > max(others)


def test_no_chord_is_silent_for_harmony():
    T = 8
    chords = chord_plan(T)
    chords.tokens[2:5] = N_ID
    chords.locks = {7}                                        # keep the model's end
    arr = _arrange(chords, flat_dynamics(T), np.zeros(T), one_hot("neutral", T), tempo=120)
    for name in ("piano", "bass", "pad"):
        assert not [n for n in _part(arr, name).notes if 2.2 < n.start < 4.8]


def test_instrument_choice():
    arr = _arrange(*moderate(8), instruments=("bass", "piano"))
    assert [i.name for i in arr.midi.instruments] == ["bass", "piano"]
    assert parse_instruments("piano, drums,piano") == ("piano", "drums")
    with pytest.raises(V2MError, match="unknown instrument 'violin'"):
        parse_instruments("piano,violin")
    with pytest.raises(V2MError, match="no instruments"):
        _arrange(*moderate(8), instruments=())


def test_seed_is_reproducible():
    a = _arrange(*moderate(10), seed=3)
    b = _arrange(*moderate(10), seed=3)
    assert [(n.start, n.pitch, n.velocity) for n in a.midi.instruments[0].notes] == \
        [(n.start, n.pitch, n.velocity) for n in b.midi.instruments[0].notes]
