"""Causal copy/change context features of a chord sequence (v2m_desktop.core.model.context)."""
from __future__ import annotations

import numpy as np
import pytest

from v2m_desktop.core.chords import PAD_ID
from v2m_desktop.core.model.context import (
    MAX_MATCH,
    MAX_RUN,
    N_FEATURES,
    NONE,
    ChordContext,
    context_features,
)

A, B, C, D, E, F = 1, 5, 8, 20, 30, 40
N = NONE
BLANK = [0, N, 0, N, N]          # features of a PAD position


def test_constants():
    assert NONE == 159 and N_FEATURES == 5


def test_hand_sequence():
    x = np.array([A, A, B, A, A, B, C, B])
    expected = np.array([
        # run, copy, match, change1, change2
        [1, N, 0, N, N],     # A: nothing before
        [2, A, 1, N, N],     # A A: the A at 0 matches, A followed it
        [1, N, 0, N, N],     # B: first B; B has never changed yet
        [1, B, 1, B, N],     # A: latest 1-match is the A at 1, followed by B; A changed to B
        [2, B, 2, B, N],     # A A: the "A A" at 0-1 (length 2) was followed by B
        [1, A, 3, A, N],     # B: "A A B" at 0-2 (length 3) was followed by A; B changed to A
        [1, N, 0, N, N],     # C: first C
        [1, C, 1, C, A],     # B: latest B (at 5) was followed by C; B changed to C, then A
    ])
    got = context_features(x)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expected)


def test_longest_match_beats_most_recent():
    # at the last A: "B A" (at 0-1) matches 2 chords, the A at 4 only 1
    x = np.array([B, A, C, D, A, E, B, A])
    got = context_features(x)
    assert got[-1, 1] == C and got[-1, 2] == 2


def test_most_recent_of_equal_matches():
    x = np.array([A, B, A, C, A])
    got = context_features(x)
    assert got[-1, 1] == C and got[-1, 2] == 1
    assert list(got[-1, 3:]) == [C, B]                 # A changed to C most recently, then B


def test_change_targets_are_distinct_most_recent_first():
    x = np.array([A, B, A, C, A, B, A])
    got = context_features(x)
    assert list(got[-1, 3:]) == [B, C]                 # A -> B again moves B to the front
    assert list(got[3, 3:]) == [N, N]                  # C has never changed before position 3


def test_run_and_match_caps():
    x = np.full(20, A)
    got = context_features(x)
    np.testing.assert_array_equal(got[:, 0], np.minimum(np.arange(1, 21), MAX_RUN))
    assert got[0, 1] == N
    assert (got[1:, 1] == A).all()
    np.testing.assert_array_equal(got[1:, 2], np.minimum(np.arange(1, 20), MAX_MATCH))


def test_pad_stops_the_features():
    x = np.array([A, B, A, PAD_ID, A, B, A])
    got = context_features(x)
    np.testing.assert_array_equal(got[:3], context_features(x[:3]))
    assert (got[3:] == BLANK).all()
    assert (context_features(np.full(4, PAD_ID)) == BLANK).all()


def random_seq(rng, n, alphabet=6):
    return rng.choice(np.array([0, A, B, C, D, E, F])[:alphabet], size=n)


@pytest.mark.parametrize("seed", range(5))
def test_no_future_leakage(seed):
    rng = np.random.default_rng(seed)
    x = random_seq(rng, 80, alphabet=3 + seed % 3)
    base = context_features(x)
    changed_at_k = 0
    for k in rng.choice(80, size=15, replace=False):
        y = x.copy()
        y[k] = F if x[k] != F else A
        got = context_features(y)
        np.testing.assert_array_equal(got[:k], base[:k])
        changed_at_k += not np.array_equal(got[k], base[k])
    assert changed_at_k > 0                           # the features do see the current token


@pytest.mark.parametrize("seed", range(5))
def test_incremental_push_equals_batch(seed):
    rng = np.random.default_rng(100 + seed)
    x = random_seq(rng, 150, alphabet=3 + seed % 4)
    ctx = ChordContext(capacity=4)                    # grows while pushing
    inc = np.stack([ctx.push(t) for t in x])
    np.testing.assert_array_equal(inc, context_features(x))
    assert inc.shape == (150, N_FEATURES)


def test_repeated_song_copies_the_next_chord():
    verse = [A, A, B, B, C, D, D, E]
    x = np.array(verse * 3)
    got = context_features(x)
    # from the second repetition on (after its first chord), the copy is the true next chord
    for j in range(len(verse) + 1, len(x) - 1):
        assert got[j, 1] == x[j + 1], j
