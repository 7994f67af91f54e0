"""What a listener would check in an arrangement, measured: harmonic rhythm against the meter and
the cuts, phrase repeats, cadences at scene ends, and how alike two pieces' harmony is.

Chords are compared relative to the key (root minus the key's tonic, and the quality), so that two
pieces in different keys that play the same degrees agree.
"""
from __future__ import annotations

import numpy as np

from v2m_desktop.core.chords import quality_of, root_of

ON_BAR = 0.01        # seconds: a change this close to a bar start is on it
NEAR_CUT = 0.1       # seconds: a change this close to a cut follows it
LONG_SCENE_BARS = 8  # scenes at least this many bars long are where phrases are looked for
CADENCE_SCENE = 8.0  # seconds: scenes this long should end on a cadence


def relative(token: int, key_root: int) -> tuple[int, str] | None:
    r, q = root_of(int(token)), quality_of(int(token))
    return None if r is None or q is None else ((r - key_root) % 12, q)     # both None together


def chord_at(arr, t: float) -> int:
    for start, end, token in arr.chord_times:
        if start <= t < end:
            return token
    return arr.chord_times[-1][2]


def _scenes(arr) -> list[tuple[float, float]]:
    edges = [0.0, *sorted(c for c in arr.cuts if 0 < c < arr.duration), arr.duration]
    return list(zip(edges, edges[1:]))


def rhythm(arr) -> dict:
    """Changes a minute, the share of changes on a bar start or near a cut, median chord (s and
    bars), and the share of chords one beat long or shorter."""
    changes = np.asarray([s for s, _, _ in arr.chord_times[1:]], dtype=np.float64)
    bars = arr.bars()
    cuts = np.asarray(arr.cuts, dtype=np.float64)
    lengths = np.asarray([e - s for s, e, _ in arr.chord_times], dtype=np.float64)
    period = float(np.median(np.diff(arr.beat_times))) if len(arr.beat_times) > 1 else 0.5

    def near(x, ref, tol):
        return np.abs(x[:, None] - ref[None, :]).min(1) <= tol if len(ref) else np.zeros(len(x), bool)

    meter = near(changes, bars, ON_BAR) | near(changes, cuts, NEAR_CUT) if len(changes) else np.zeros(0, bool)
    return {"changes_per_min": 60 * len(changes) / arr.duration,
            "on_meter": float(meter.mean()) if len(changes) else float("nan"),
            "median_chord_s": float(np.median(lengths)),
            "median_chord_bars": float(np.median(lengths)) / (4 * period),
            "one_beat_share": float((lengths[:-1] <= period * 1.05).mean()) if len(lengths) > 1 else 0.0}


def phrase_repeats(arr, step: int = 1) -> tuple[int, int]:
    """(windows repeating an earlier one, windows): 4-bar windows of the chords on the bar starts
    of scenes at least LONG_SCENE_BARS bars long, starting at every bar (step 1) or every fourth
    from the scene's start (step 4); a window repeats when the same progression (two chords or
    more) starts at an earlier bar of the same scene."""
    bars = arr.bars()
    hit = total = 0
    for a, b in _scenes(arr):
        inside = [t for t in bars if a - 1e-6 <= t and t + 0.5 * np.median(np.diff(bars)) < b]
        if len(inside) < LONG_SCENE_BARS:
            continue
        seq = [chord_at(arr, t + 1e-3) for t in inside]
        wins = [tuple(seq[k:k + 4]) for k in range(len(seq) - 3)]
        for k in range(0, len(wins), step):
            total += 1
            hit += len(set(wins[k])) > 1 and wins[k] in wins[:k]
    return hit, total


def is_cadence(pre: int, last: int, key_root: int, mode: int) -> bool:
    """V-I, IV-I or their minor forms (v/V/V7 or iv/IV into i)."""
    p, q = relative(pre, key_root), relative(last, key_root)
    return p is not None and q is not None and q[0] == 0 and p[0] in (5, 7)


def cadences(arr, key_root: int, mode: int) -> tuple[int, int]:
    """(scene ends of CADENCE_SCENE s or longer that close on a cadence, such scene ends)."""
    hit = total = 0
    for a, b in _scenes(arr):
        if b - a < CADENCE_SCENE:
            continue
        inside = [(s, e, t) for s, e, t in arr.chord_times if s < b - 1e-6 and e > a + 1e-6]
        total += 1
        hit += len(inside) >= 2 and is_cadence(inside[-2][2], inside[-1][2], key_root, mode)
    return hit, total


def per_second(arr, key_root: int) -> list:
    """The chord (relative to the key) sounding at the middle of each second."""
    return [relative(chord_at(arr, s + 0.5), key_root) for s in range(int(np.ceil(arr.duration - 1e-9)))]


def first_chords(arr, key_root: int, n: int = 10) -> list:
    return [relative(t, key_root) for _, _, t in arr.chord_times[:n]]


def edit_similarity(a: list, b: list) -> float:
    """1 - Levenshtein distance / the longer length (1: the same sequence)."""
    if not a and not b:
        return 1.0
    d = np.arange(len(b) + 1)
    for i, x in enumerate(a, 1):
        prev, d[0] = d.copy(), i
        for j, y in enumerate(b, 1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (x != y))
    return 1.0 - d[-1] / max(len(a), len(b))


def minor_share(arr) -> float:
    """Share of the time under chords of a minor quality."""
    minor = {"min", "min7", "min6", "dim", "dim7", "hdim7"}
    total = sum(e - s for s, e, _ in arr.chord_times)
    return sum(e - s for s, e, t in arr.chord_times if quality_of(int(t)) in minor) / max(total, 1e-9)


def notes(arr, t0: float = 0.0, t1: float | None = None) -> list:
    """Every note (drums included) starting in [t0, t1)."""
    t1 = arr.duration if t1 is None else t1
    return [(inst.name, n) for inst in arr.midi.instruments for n in inst.notes if t0 <= n.start < t1]
