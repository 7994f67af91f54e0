"""Tempo range per emotion, auto tempo with beats on the cuts, fixed tempo."""
from __future__ import annotations

import numpy as np
import pytest
from arrange_plans import moderate, one_hot

from v2m_desktop.core.arrange import ArrangeOptions, arrange, choose_tempo, tempo_range
from v2m_desktop.core.arrange.tempo import (
    FAST_DEV,
    FAST_S,
    MAX_DEV,
    TEMPO_RANGES,
    constant_grid,
    warp_grid,
)
from v2m_desktop.core.chords import EMOTIONS
from v2m_desktop.core.errors import V2MError

CUTS = [3.1, 7.45, 9.9, 14.2, 17.05]


@pytest.mark.parametrize("emotion", EMOTIONS)
def test_range_follows_the_emotion(emotion):
    assert tempo_range(one_hot(emotion, 5)) == pytest.approx(TEMPO_RANGES[emotion])


def test_range_is_weighted_by_the_mean_emotion():
    emo = np.zeros((4, 6))
    emo[:, EMOTIONS.index("sad")] = 0.5
    emo[:, EMOTIONS.index("exciting")] = 0.5
    lo, hi = tempo_range(emo)
    assert lo == pytest.approx((60 + 110) / 2) and hi == pytest.approx((85 + 140) / 2)


def test_no_cuts_gives_the_range_centre():
    assert choose_tempo([], 30.0, one_hot("sad", 30)) == pytest.approx((60 + 85) / 2, abs=0.1)


@pytest.mark.parametrize("emotion", ["exciting", "sad", "tense"])
def test_auto_tempo_is_in_range_and_beats_land_on_cuts(emotion):
    bpm = choose_tempo(CUTS, 20.0, one_hot(emotion, 20))
    lo, hi = TEMPO_RANGES[emotion]
    assert lo <= bpm <= hi
    grid = warp_grid(CUTS, 20.0, bpm)
    near = [np.abs(grid.beats - c).min() for c in CUTS]
    assert np.mean(np.array(near) <= 0.1) >= 0.8
    # every local tempo stays within MAX_DEV of the chosen one, FAST_DEV between close cuts
    periods = np.diff(grid.beats)
    dev = np.abs(periods / (60 / bpm) - 1)
    assert np.all(dev <= FAST_DEV + 1e-9)
    anchors = np.array([0.0, *grid.anchored])
    for a, b in zip(anchors, anchors[1:]):
        if b - a >= FAST_S[1]:
            inside = (grid.beats[:-1] >= a - 1e-9) & (grid.beats[1:] <= b + 1e-9)
            assert np.all(dev[inside] <= MAX_DEV + 1e-9)


def test_auto_grid_starts_at_zero_and_ends_on_a_beat_when_reachable():
    grid = warp_grid([5.0], 12.0, 100.0)
    assert grid.beats[0] == 0.0
    assert np.abs(grid.beats - 12.0).min() < 1e-9
    assert np.abs(grid.beats - 5.0).min() < 1e-9
    assert grid.anchored == [5.0]


def test_a_cut_too_close_to_the_previous_is_left_alone():
    grid = warp_grid([2.0, 2.15], 10.0, 120.0)       # 0.15 s apart: cannot both be beats
    assert 2.0 in grid.anchored and 2.15 not in grid.anchored


def test_beat_positions_round_trip():
    grid = warp_grid(CUTS, 20.0, 97.0)
    t = np.linspace(0, 25, 101)
    assert np.allclose(grid.time(grid.pos(t)), t)


def test_fixed_tempo_is_exact_and_phased_to_the_cuts():
    cuts = [1.3, 4.3, 7.3]                  # 3 s apart: all on beats at 100 BPM with a phase
    grid = constant_grid(cuts, 10.0, 100.0)
    assert grid.beats[0] == 0.0
    assert np.allclose(np.diff(grid.beats[1:]), 0.6)
    assert 0.25 * 0.6 <= grid.beats[1] <= 1.25 * 0.6       # the pickup beat
    assert all(np.abs(grid.beats - c).min() <= 0.05 for c in cuts)


def test_arrange_with_fixed_tempo():
    chords, dyn, motion, emo = moderate(12)
    arr = arrange(chords, dyn, duration=12.0, cuts=[], motion=motion, emotion=emo,
                  options=ArrangeOptions(tempo=120))
    assert arr.tempo == 120
    assert np.allclose(np.diff(arr.beat_times), 0.5)


def test_arrange_rejects_absurd_tempo():
    chords, dyn, motion, emo = moderate(5)
    with pytest.raises(V2MError, match="tempo"):
        arrange(chords, dyn, duration=5.0, cuts=[], motion=motion, emotion=emo,
                options=ArrangeOptions(tempo=5))
def test_tempo_map_search_window_finds_what_the_full_search_finds(monkeypatch):
    """The search weighs the last WINDOW_ANCHORS anchors first: on a long video with many cuts it
    reaches as many of them as the full quadratic search."""
    from v2m_desktop.core.arrange import tempo
    rng = np.random.default_rng(3)
    cuts = list(np.cumsum(rng.uniform(0.4, 5.0, 600)))
    duration = cuts[-1] + 2.0
    fast = tempo._warp(cuts, duration, 0.55)
    monkeypatch.setattr(tempo, "WINDOW_ANCHORS", 10**6)
    full = tempo._warp(cuts, duration, 0.55)
    assert len(fast[2]) == len(full[2]) > 300 and fast[3] == full[3]


def test_cuts_a_frame_away_keep_the_tempo():
    """The Sintel trailer's shot changes and those of its 25-fps copy (each moved by up to a
    frame): the tempo moves by at most 1 BPM (it moved from 106.5 to 96.2 when the grid with the
    smallest tempo changes won among grids that reach as many cuts)."""
    at24 = [0.62, 9.42, 12.0, 14.0, 16.0, 16.58, 16.92, 17.12, 17.58, 18.21, 21.67, 22.0, 23.88,
            25.96, 27.5, 28.08, 28.38, 32.21, 42.33, 47.58, 48.5, 50.92]
    at25 = [0.64, 9.4, 12.0, 14.0, 16.0, 16.6, 16.92, 17.12, 17.6, 18.2, 21.68, 22.0, 23.88, 25.96,
            27.52, 28.08, 28.36, 32.2, 42.32, 47.6, 48.52, 50.92]
    emo = np.tile([0.2, 0.21, 0.19, 0.25, 0.08, 0.07], (52, 1))
    a, b = choose_tempo(at24, 52.167, emo), choose_tempo(at25, 52.16, emo * [1, 1, 1, 1.02, 1, 1])
    assert abs(a - b) <= 1.0
    lo, hi = tempo_range(emo)
    assert lo <= a <= hi
