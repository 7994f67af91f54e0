"""The metrics of shared/muvi-sync/README.md section 7, from teacher-forced logits.

Chord metrics are per video, then the plain mean over videos (affective correspondence is pooled
over seconds); regression RMSEs are per video over the target file's own rows (at most 300).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from v2m_desktop.core.chords import EMOTION_MASKS, END_ID, N_TOKENS, PAD_ID

KS = (1, 3, 5)
CE_WEIGHT, BCE_WEIGHT = 0.4, 0.6    # the paper's loss: 0.4 x chord CE + 0.6 x affective BCE
NEUTRAL = 5


def emotion_targets(y: np.ndarray, emotion_argmax: np.ndarray) -> np.ndarray:
    """[P, 159] 0/1 targets of the affective BCE: one-hot PAD / END, else the mask of the most
    probable emotion of second j + 1 (emotion_argmax[j]; -1 = no emotion row: all zeros)."""
    m = np.zeros((len(y), N_TOKENS), dtype=np.float32)
    has = emotion_argmax >= 0
    m[has] = EMOTION_MASKS[emotion_argmax[has]]
    m[y == PAD_ID] = 0
    m[y == END_ID] = 0
    m[y == PAD_ID, PAD_ID] = 1
    m[y == END_ID, END_ID] = 1
    return m


def bce_with_logits(z: np.ndarray, m: np.ndarray) -> float:
    """Mean binary cross-entropy with logits over every entry (numerically stable form)."""
    z = z.astype(np.float64)
    return float(np.mean(np.maximum(z, 0) - z * m + np.log1p(np.exp(-np.abs(z)))))


def log_softmax(z: np.ndarray) -> np.ndarray:
    z = z.astype(np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


@dataclass
class ChordScorer:
    """Accumulates per-video chord scores; `result()` gives the split's figures."""
    hits: dict = field(default_factory=lambda: {k: [] for k in KS})
    change: dict = field(default_factory=lambda: {k: [] for k in KS})
    emotion_loss: list = field(default_factory=list)
    chord_loss: list = field(default_factory=list)
    aff_ok: int = 0
    aff_n: int = 0

    def add(self, x: np.ndarray, y: np.ndarray, logits: np.ndarray, emotion_argmax: np.ndarray) -> None:
        """One video: decoder inputs x, targets y, logits [len(y), 159], and the most probable
        emotion of each target's second (-1 where the emotion file has no row)."""
        keep = y != PAD_ID
        self.emotion_loss.append(bce_with_logits(logits, emotion_targets(y, emotion_argmax)))
        xs, ys, zs, es = x[keep], y[keep], logits[keep].astype(np.float64), emotion_argmax[keep]
        idx = np.arange(len(ys))
        z_true = zs[idx, ys]
        self.chord_loss.append(float(-log_softmax(zs)[idx, ys].mean()))
        # how many logits beat the target; ties go to the lower token id (as argmax does)
        beats = (zs > z_true[:, None]) | ((zs == z_true[:, None]) & (np.arange(N_TOKENS) < ys[:, None]))
        rank = beats.sum(axis=1)
        for k in KS:
            self.hits[k].append(float((rank < k).mean()))
        changed = ys != xs
        if changed.any():
            # the previous chord leaves the ranking: what does the chord change to?
            rank_c = rank[changed] - beats[idx, xs][changed]
            for k in KS:
                self.change[k].append(float((rank_c < k).mean()))
        scored = (ys >= 1) & (ys <= 156) & (es >= 0) & (es != NEUTRAL)
        if scored.any():
            pred = zs[scored].argmax(axis=1)
            self.aff_ok += int(EMOTION_MASKS[es[scored], pred].sum())
            self.aff_n += int(scored.sum())

    def result(self) -> dict[str, float | None]:
        out: dict[str, float | None] = {f"hits@{k}": float(np.mean(self.hits[k])) for k in KS}
        out.update({f"change_hits@{k}": float(np.mean(self.change[k])) for k in KS})
        out["emotion_loss"] = emotion_loss = float(np.mean(self.emotion_loss))
        out["chord_loss"] = chord_loss = float(np.mean(self.chord_loss))
        out["total_loss"] = CE_WEIGHT * chord_loss + BCE_WEIGHT * emotion_loss
        out["affective_correspondence"] = self.aff_ok / self.aff_n if self.aff_n else None
        return out


def rmse_per_video(preds: list[np.ndarray], targets: list[np.ndarray], window: int = 300) -> float:
    """Mean over videos of the RMSE over seconds 0 .. min(len(target), window) - 1."""
    values = []
    for p, y in zip(preds, targets, strict=True):
        n = min(len(y), window)
        values.append(np.sqrt(np.mean((np.asarray(p[:n], np.float64) - y[:n]) ** 2)))
    return float(np.mean(values))
