"""How well the music follows the cuts: the share of cuts within a tolerance of a beat and of a
chord change, against chord changes placed at random at the same rate."""
from __future__ import annotations

import numpy as np


def _share_near(cuts: np.ndarray, times: np.ndarray, tol: float) -> float:
    if len(cuts) == 0:
        return float("nan")
    if len(times) == 0:
        return 0.0
    d = np.abs(cuts[:, None] - np.asarray(times)[None, :]).min(1)
    return float((d <= tol + 1e-9).mean())


def cut_alignment(arr, tol: float = 0.1, seed: int = 0, draws: int = 500) -> dict:
    """{'cuts', 'tol', 'beat', 'chord', 'random_chord', 'chord_changes'}: shares of the
    arrangement's cuts within `tol` s of a beat, of a chord change, and (mean over `draws`
    draws) of chord changes drawn uniformly over the video at the same count."""
    cuts = np.asarray(sorted(c for c in arr.cuts if 0 < c < arr.duration), dtype=np.float64)
    changes = np.asarray([s for s, _, _ in arr.chord_times[1:]], dtype=np.float64)
    rng = np.random.default_rng(seed)
    if len(cuts) and len(changes):
        rand = float(np.mean([_share_near(cuts, rng.uniform(0, arr.duration, len(changes)), tol)
                              for _ in range(draws)]))
    else:
        rand = float("nan") if not len(cuts) else 0.0
    return {"cuts": int(len(cuts)), "tol": tol, "beat": _share_near(cuts, arr.beat_times, tol),
            "chord": _share_near(cuts, changes, tol), "random_chord": float(rand),
            "chord_changes": int(len(changes))}
