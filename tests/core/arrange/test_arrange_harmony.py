"""Chords snapped to beats (and onto cuts), runs merged, cadence at the end."""
from __future__ import annotations

import numpy as np
from arrange_plans import chord_plan, flat_dynamics, one_hot

from v2m_desktop.core.arrange import ArrangeOptions, arrange
from v2m_desktop.core.arrange.harmony import Segment, cadence, second_runs, snap
from v2m_desktop.core.arrange.tempo import constant_grid, warp_grid
from v2m_desktop.core.chords import chord_id

C, Am, F, G = (chord_id(0, "maj"), chord_id(9, "min"), chord_id(5, "maj"), chord_id(7, "maj"))


def test_second_runs_merge_and_clip():
    assert second_runs([C, C, Am, Am, Am, F], 5.5) == [(0.0, 2.0, C), (2.0, 5.0, Am), (5.0, 5.5, F)]
    assert second_runs([C, Am], 4.0) == [(0.0, 1.0, C), (1.0, 4.0, Am)]     # last chord held
    assert second_runs([C, Am, F, G], 2.5) == [(0.0, 1.0, C), (1.0, 2.0, Am), (2.0, 2.5, F)]


def test_boundaries_land_on_beats():
    grid = constant_grid([], 12.0, 100.0)
    segs = snap(second_runs([C, C, Am, Am, F, F, G, G, C, C, Am, Am], 12.0), grid, [], 12.0)
    assert [s.token for s in segs] == [C, Am, F, G, C, Am]
    for s in segs[1:]:
        assert float(s.start).is_integer()
        assert abs(grid.time(s.start) - round(grid.time(s.start))) <= 0.3  # near the second
    assert segs[-1].end == grid.pos(12.0)


def test_a_nearby_change_moves_onto_the_cut():
    cuts = [4.4]
    grid = warp_grid(cuts, 12.0, 100.0)
    segs = snap(second_runs([C, C, C, C, Am, Am, Am, Am, F, F, F, F], 12.0), grid, cuts, 12.0)
    starts = [grid.time(s.start) for s in segs]
    assert any(abs(t - 4.4) < 1e-6 for t in starts)


def test_cadence_dominant_then_tonic_to_the_end():
    segs = [Segment(0, 8, Am), Segment(8, 16, F), Segment(16, 23.5, G)]
    out = cadence(segs, 23.5, key_root=0, mode=0)
    assert out[-1].token == C and out[-1].end == 23.5 and out[-1].start == 21
    assert out[-2].token == chord_id(7, "7") and out[-2].start == 19
    plag = cadence(segs, 23.5, key_root=9, mode=1, plagal=True)
    assert plag[-1].token == chord_id(9, "min") and plag[-2].token == chord_id(2, "min")


def test_arrangement_ends_with_a_cadence_on_the_last_frame():
    T = 15
    arr = arrange(chord_plan(T), flat_dynamics(T), duration=14.6, cuts=[5.2], motion=np.full(T, 8.0),
                  emotion=one_hot("exciting", T), options=ArrangeOptions())
    (s1, e1, t1), (s2, e2, t2) = arr.chord_times[-2:]
    assert t2 == C and t1 == chord_id(7, "7")
    assert e2 == 14.6 and e1 == s2
    assert all(n.end <= 14.6 + 1e-9 for inst in arr.midi.instruments for n in inst.notes)
    # the final chord rings to the last frame
    assert max(n.end for n in arr.midi.instruments[0].notes) == 14.6


def test_locked_last_chords_are_kept():
    T = 12
    chords = chord_plan(T, change_every=3)
    chords.locks = {10, 11}
    arr = arrange(chords, flat_dynamics(T), duration=12.0, cuts=[], motion=np.zeros(T),
                  emotion=one_hot("neutral", T), options=ArrangeOptions(tempo=120))
    assert arr.chord_times[-1][2] == chords.tokens[-1]


def test_chord_changes_land_on_beats():
    T = 20
    arr = arrange(chord_plan(T), flat_dynamics(T), duration=20.0, cuts=[3.3, 9.8],
                  motion=np.full(T, 8.0), emotion=one_hot("tense", T), options=ArrangeOptions())
    for start, _, _ in arr.chord_times:
        assert np.abs(arr.beat_times - start).min() < 1e-6
    for (_, e0, t0), (s1, _, t1) in zip(arr.chord_times, arr.chord_times[1:]):
        assert e0 == s1 and t0 != t1


def test_slow_fixed_tempo_never_lets_chords_drift_behind_the_picture():
    distinct = [chord_id(r, "maj") for r in range(12)] + [chord_id(r, "min") for r in range(8)]
    chords = chord_plan(20, change_every=1, progression=distinct)    # a new chord every second
    arr = arrange(chords, flat_dynamics(20), duration=20.0, cuts=[], motion=np.full(20, 5.0),
                  emotion=one_hot("neutral", 20), options=ArrangeOptions(tempo=30))
    for start, _, token in arr.chord_times[:-2]:        # the cadence replaces the last beats
        natural = [s for s in range(20) if chords.tokens[s] == token]
        assert min(abs(start - s) for s in natural) <= 2.0 + 1e-6, (start, token)
    assert abs(arr.chord_times[-1][1] - 20.0) < 1e-3
