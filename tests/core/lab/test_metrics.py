"""Metrics of README section 7 on hand-made examples, and the section 9 baseline figures."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from v2m_desktop.core.chords import EMOTION_MASKS, END_ID, N_TOKENS, PAD_ID
from v2m_desktop.core.lab.metrics import (
    ChordScorer,
    bce_with_logits,
    emotion_targets,
    rmse_per_video,
)
from v2m_desktop.core.lab.muvisync import MuviSync, teacher_forcing

E = END_ID
P = PAD_ID


def logits_from_orders(orders: list[list[int]]) -> np.ndarray:
    """One row per position: the listed tokens first (in that order), then the rest by id."""
    z = np.zeros((len(orders), N_TOKENS))
    for j, order in enumerate(orders):
        rest = [t for t in range(N_TOKENS) if t not in order]
        for r, t in enumerate(list(order) + rest):
            z[j, t] = -r
    return z


def arr(*v):
    return np.array(v, dtype=np.int64)


# Three videos (x, y, ranking per position, emotion argmax per position).
# Video A: positions 0-3 scored (position 4 is PAD), changes at 1, 2, 3.
A = (arr(1, 1, 5, 8, P), arr(1, 5, 8, E, P),
     [[1, 5], [1, 2, 3, 5], [8], [8, 1, 2, 3, 4, E], [P]],
     arr(0, 3, 5, 1, -1))
# Video B: change only at the END position.
B = (arr(3, 3, 3), arr(3, 3, E),
     [[3], [2, 3], [E]],
     arr(4, -1, 0))
# Video C: longer than the window (no END); an N target and an N prediction.
C = (arr(0, 0, 11), arr(0, 11, 11),
     [[0], [11], [0, 11]],
     arr(2, 2, 0))


def score(videos) -> dict:
    s = ChordScorer()
    for x, y, orders, emo in videos:
        s.add(x, y, logits_from_orders(orders), emo)
    return s.result()


def test_hits_single_video():
    r = score([A])
    # targets ranked 0, 3, 0, 5
    assert r["hits@1"] == pytest.approx(2 / 4)
    assert r["hits@3"] == pytest.approx(2 / 4)
    assert r["hits@5"] == pytest.approx(3 / 4)
    # changes at 1, 2, 3 with the previous chord removed: ranks 2, 0, 4
    assert r["change_hits@1"] == pytest.approx(1 / 3)
    assert r["change_hits@3"] == pytest.approx(2 / 3)
    assert r["change_hits@5"] == pytest.approx(3 / 3)


def test_hits_are_per_video_then_mean():
    r = score([A, B, C])
    # B: ranks 0, 1, 0; C: ranks 0, 0, 1
    assert r["hits@1"] == pytest.approx((2 / 4 + 2 / 3 + 2 / 3) / 3)
    assert r["hits@3"] == pytest.approx((2 / 4 + 1 + 1) / 3)
    assert r["hits@5"] == pytest.approx((3 / 4 + 1 + 1) / 3)
    # B: change at 2 (3 -> END), rank 0; C: change at 1 (0 -> 11), rank 0
    assert r["change_hits@1"] == pytest.approx((1 / 3 + 1 + 1) / 3)
    assert r["change_hits@3"] == pytest.approx((2 / 3 + 1 + 1) / 3)
    assert r["change_hits@5"] == pytest.approx(1.0)


def test_video_without_change_is_skipped_in_change_hits():
    stay = (arr(4, 4, 4), arr(4, 4, 4), [[4], [1, 4], [4]], arr(0, 0, 0))
    r = score([A, stay])
    assert r["hits@1"] == pytest.approx((2 / 4 + 2 / 3) / 2)
    assert r["change_hits@1"] == pytest.approx(1 / 3)
    assert r["change_hits@3"] == pytest.approx(2 / 3)


def test_change_hits_remove_only_the_previous_chord():
    # target 9 behind the previous chord 7 and token 2: rank 2 overall, 1 among the others
    x, y = arr(7), arr(9)
    s = ChordScorer()
    s.add(x, y, logits_from_orders([[7, 2, 9]]), arr(0))
    r = s.result()
    assert (r["hits@1"], r["hits@3"]) == (0.0, 1.0)
    assert (r["change_hits@1"], r["change_hits@3"]) == (0.0, 1.0)
    s = ChordScorer()
    s.add(x, y, logits_from_orders([[2, 9, 7]]), arr(0))   # previous chord below the target
    r = s.result()
    assert (r["hits@1"], r["hits@3"], r["change_hits@1"], r["change_hits@3"]) == (0.0, 1.0, 0.0, 1.0)


def test_affective_correspondence_pooled():
    # scored: A0 (C, exciting, pred C: ok), A1 (C:min, sad, pred C: no), A2 neutral skipped,
    # A3 END skipped, B0 (C:sus4, relaxing, pred C:sus4: no), B1 no emotion row skipped,
    # C0 N target skipped, C1 (C:7, tense, pred C:7: ok), C2 (C:7, exciting, pred N: no)
    r = score([A, B, C])
    assert r["affective_correspondence"] == pytest.approx(2 / 5)
    assert score([C])["affective_correspondence"] == pytest.approx(1 / 2)
    assert score([B])["affective_correspondence"] == 0.0


def test_affective_correspondence_none_when_nothing_scored():
    s = ChordScorer()
    s.add(arr(3, 3), arr(3, E), logits_from_orders([[3], [E]]), arr(5, 0))
    assert s.result()["affective_correspondence"] is None


def test_ties_go_to_the_lower_token_id():
    # all-zero logits: the ranking is by token id, like argmax
    s = ChordScorer()
    s.add(arr(5, 5, 0), arr(5, 0, 2), np.zeros((3, N_TOKENS)), arr(0, 0, 0))
    r = s.result()
    # target 5 has rank 5, target 0 rank 0, target 2 rank 2
    assert r["hits@1"] == pytest.approx(1 / 3)
    assert r["hits@3"] == pytest.approx(2 / 3)
    assert r["hits@5"] == pytest.approx(2 / 3)
    # changes: 5 -> 0 (rank 0), 0 -> 2 (rank 2 - 1 without token 0)
    assert r["change_hits@1"] == pytest.approx(1 / 2)
    assert r["change_hits@3"] == pytest.approx(1.0)


def test_all_zero_logits_losses():
    s = ChordScorer()
    for x, y, _, emo in (A, B, C):
        s.add(x, y, np.zeros((len(y), N_TOKENS)), emo)
    r = s.result()
    assert r["emotion_loss"] == pytest.approx(math.log(2), abs=1e-12)
    assert r["chord_loss"] == pytest.approx(math.log(N_TOKENS), abs=1e-12)
    assert r["total_loss"] == pytest.approx(0.4 * math.log(N_TOKENS) + 0.6 * math.log(2))


def test_chord_loss_hand_value():
    z = np.zeros((2, N_TOKENS))
    z[0, 4] = math.log(3)                               # p(target) = 3 / 161
    z[1, 9] = 5.0                                       # PAD position: must not count
    s = ChordScorer()
    s.add(arr(3, P), arr(4, P), z, arr(0, -1))
    assert s.result()["chord_loss"] == pytest.approx(-math.log(3 / 161))


def test_emotion_targets():
    y = arr(5, E, P, 7, 9)
    m = emotion_targets(y, arr(3, 0, 0, -1, 5))
    assert m.shape == (5, N_TOKENS)
    np.testing.assert_array_equal(m[0], EMOTION_MASKS[3])
    assert m[1].sum() == 1 and m[1, E] == 1
    assert m[2].sum() == 1 and m[2, P] == 1
    assert not m[3].any()                               # no emotion row
    assert not m[4].any()                               # neutral


def test_bce_with_logits():
    z = np.array([[0.0, 2.0]])
    m = np.array([[1.0, 0.0]])
    assert bce_with_logits(z, m) == pytest.approx((math.log(2) + math.log(1 + math.exp(2))) / 2)
    z = np.array([[100.0, -100.0, 100.0, -100.0]])
    m = np.array([[1.0, 0.0, 0.0, 1.0]])
    assert bce_with_logits(z, m) == pytest.approx(50.0)          # (0 + 0 + 100 + 100) / 4
    rng = np.random.default_rng(1)
    z = rng.normal(size=(7, 5)) * 3
    m = (rng.random((7, 5)) < 0.5).astype(np.float32)
    sig = 1 / (1 + np.exp(-z))
    direct = -np.mean(m * np.log(sig) + (1 - m) * np.log(1 - sig))
    assert bce_with_logits(z, m) == pytest.approx(direct, rel=1e-10)


def test_emotion_loss_hand_value():
    # one video, one scored position (target C, sad) and one PAD position
    z = np.zeros((2, N_TOKENS))
    z[0, 5] = 2.0                        # C:min, allowed for sad: target 1
    z[0, 1] = 2.0                        # C, not allowed: target 0
    z[1, P] = -3.0                       # PAD row: target one-hot at PAD
    s = ChordScorer()
    s.add(arr(2, P), arr(1, P), z, arr(3, -1))
    n_sad = int(EMOTION_MASKS[3].sum())
    sp = lambda v: math.log1p(math.exp(v))           # noqa: E731  softplus
    total = (
        sp(-2.0) + sp(2.0) + (n_sad - 1) * sp(0.0) + (N_TOKENS - n_sad - 1) * sp(0.0)   # row 0
        + sp(3.0) + (N_TOKENS - 1) * sp(0.0)                                            # row 1
    )
    assert s.result()["emotion_loss"] == pytest.approx(total / (2 * N_TOKENS))


def test_rmse_per_video():
    preds = [np.array([1.0, 2.0, 3.0, 4.0]), np.concatenate([np.zeros(300), np.full(100, 9.0)])]
    targets = [np.array([1.0, 2.0, 5.0]), np.zeros(400)]
    # video 1: truncated to the target's 3 rows, sqrt(4 / 3); video 2: only 300 s count, 0
    assert rmse_per_video(preds, targets) == pytest.approx(math.sqrt(4 / 3) / 2)
    assert rmse_per_video(preds[:1], targets[:1]) == pytest.approx(math.sqrt(4 / 3))
    assert rmse_per_video(preds[1:], targets[1:], window=301) == pytest.approx(math.sqrt(81 / 301))
    assert rmse_per_video([np.array([0.0, 0.0])], [np.array([3.0, 4.0])]) == pytest.approx(
        math.sqrt(12.5))


# ------------------------------------------------------------- README section 9 cross-check
README_VAL = {   # hits@1/3/5, change_hits@1/3/5, affective correspondence of the top-1
    "bigram": (0.5238, 0.7245, 0.8417, 0.2392, 0.5813, 0.7235, 0.2709),
    "repeat_unigram": (0.5251, 0.6899, 0.8188, 0.1842, 0.4585, 0.7000, 0.2712),
    "unigram": (0.1445, 0.4801, 0.7219, 0.1842, 0.4585, 0.7000, 0.2814),
}
KEYS = ("hits@1", "hits@3", "hits@5", "change_hits@1", "change_hits@3", "change_hits@5",
        "affective_correspondence")


@pytest.fixture(scope="module")
def baseline_data(muvi_root: Path):
    ds = MuviSync(muvi_root)
    uni = np.zeros(N_TOKENS)
    big = np.zeros((N_TOKENS, N_TOKENS))
    for vid in ds.split("train"):
        x, y = teacher_forcing(ds.chords(vid)[1])
        keep = y != PAD_ID
        np.add.at(big, (x[keep], y[keep]), 1)
        np.add.at(uni, y[keep], 1)
    uni_order = sorted(range(N_TOKENS), key=lambda c: (-uni[c], c))
    uni_rank = np.empty(N_TOKENS, dtype=np.int64)
    uni_rank[uni_order] = np.arange(N_TOKENS)
    val = ds.load("val", semantic=False)
    return uni, big, uni_order, uni_rank, val


def rank_table(order_of) -> np.ndarray:
    """[prev, token] -> rank of token in the ranking used after prev."""
    table = np.empty((N_TOKENS, N_TOKENS), dtype=np.int64)
    for p in range(N_TOKENS):
        table[p, order_of(p)] = np.arange(N_TOKENS)
    return table


def score_table(val, table) -> tuple[dict, ChordScorer]:
    s = ChordScorer()
    for v in val:
        x, y = teacher_forcing(v.chords)
        s.add(x, y, -table[x].astype(np.float64), v.emotion_argmax())
    return s.result(), s


def check(result: dict, name: str) -> None:
    got = tuple(result[k] for k in KEYS)
    assert got == pytest.approx(README_VAL[name], abs=5e-4), (name, got)


def test_bigram_matches_readme(baseline_data):
    uni, big, uni_order, uni_rank, val = baseline_data

    def order(p):
        if big[p].sum() == 0:
            return uni_order
        return sorted(range(N_TOKENS), key=lambda c: (-big[p, c], uni_rank[c]))
    result, _ = score_table(val, rank_table(order))
    check(result, "bigram")


def test_repeat_unigram_and_unigram_match_readme(baseline_data):
    _, _, uni_order, _, val = baseline_data
    result, _ = score_table(val, rank_table(lambda p: [p] + [c for c in uni_order if c != p]))
    check(result, "repeat_unigram")
    result, _ = score_table(val, rank_table(lambda p: uni_order))
    check(result, "unigram")


def test_true_chords_affective_correspondence(baseline_data):
    """README section 9: the true chords score 0.2795 over 14,832 val seconds."""
    *_, val = baseline_data
    s = ChordScorer()
    for v in val:
        x, y = teacher_forcing(v.chords)
        z = np.zeros((len(y), N_TOKENS))
        z[np.arange(len(y)), y] = 1.0
        s.add(x, y, z, v.emotion_argmax())
    r = s.result()
    assert s.aff_n == 14832
    assert r["affective_correspondence"] == pytest.approx(0.2795, abs=5e-5)
    assert r["hits@1"] == 1.0 and r["change_hits@1"] == 1.0
