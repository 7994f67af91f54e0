"""The per-second plan read at any time: note density -> pattern level, loudness -> velocity,
motion and density -> drum level, emotion -> calm."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from v2m_desktop.core.chords import EMOTIONS

DENSITY_STEPS = (6.0, 10.0, 15.0, 20.0)    # notes/s: levels 0..4 of the accompaniment patterns
MOTION_REF = 8.0        # typical motion (dataset mean 8.4, raw pixel units)
DENSITY_REF = 12.0      # typical note density (dataset mean 10.3)
DRUM_STEPS = (0.6, 1.15)  # drum score thresholds: none / light / full


def density_level(density: float) -> int:
    """Pattern level 0..4 from the predicted note density (notes per second)."""
    return int(np.searchsorted(DENSITY_STEPS, max(float(density), 0.0), side="right"))


def velocity(loudness: float) -> int:
    """MIDI velocity from the predicted loudness (linear RMS, dataset range 0..0.57)."""
    v = 45.0 + 75.0 * np.sqrt(max(float(loudness), 0.0) / 0.35)
    return int(np.clip(round(v), 35, 120))


def _per_second(a, n: int, fill: float = 0.0) -> np.ndarray:
    a = np.asarray(a if a is not None else [], dtype=np.float64).reshape(-1)
    if len(a) == 0:
        return np.full(n, fill)
    if len(a) < n:
        a = np.concatenate([a, np.full(n - len(a), a[-1])])
    return np.nan_to_num(a[:n])


@dataclass
class Feel:
    """Per-second arrays (all of length ceil(duration)) and readers at any time."""
    density: np.ndarray
    loudness: np.ndarray
    motion: np.ndarray
    emotion: np.ndarray      # [T, 6]

    @classmethod
    def build(cls, density, loudness, motion, emotion, duration: float) -> Feel:
        n = max(1, int(np.ceil(duration - 1e-9)))
        emo = np.asarray(emotion if emotion is not None else np.zeros((0, 6)), dtype=np.float64)
        emo = emo.reshape(-1, len(EMOTIONS)) if emo.size else np.zeros((0, len(EMOTIONS)))
        if len(emo) == 0:
            emo = np.tile(np.eye(len(EMOTIONS))[EMOTIONS.index("neutral")], (n, 1))
        elif len(emo) < n:
            emo = np.concatenate([emo, np.tile(emo[-1], (n - len(emo), 1))])
        return cls(_per_second(density, n), _per_second(loudness, n, 0.17),
                   _per_second(motion, n), emo[:n])

    def _sec(self, t: float) -> int:
        return int(np.clip(int(t), 0, len(self.density) - 1))

    def loud(self, t: float) -> float:
        """Loudness at t, linear between second centres."""
        return float(np.interp(t, np.arange(len(self.loudness)) + 0.5, self.loudness))

    def level(self, t0: float, t1: float) -> int:
        """Pattern level over [t0, t1) (mean note density)."""
        return density_level(self._mean(self.density, t0, t1))

    def _mean(self, a: np.ndarray, t0: float, t1: float) -> float:
        s0, s1 = self._sec(t0), max(self._sec(t0) + 1, min(int(np.ceil(t1)), len(a)))
        return float(a[s0:s1].mean())

    def calm(self, t0: float, t1: float) -> float:
        """Share of sad + relaxing in the mean emotion over [t0, t1)."""
        s0, s1 = self._sec(t0), max(self._sec(t0) + 1, min(int(np.ceil(t1)), len(self.emotion)))
        e = self.emotion[s0:s1].mean(0)
        tot = e.sum()
        if tot <= 0:
            return 0.0
        return float((e[EMOTIONS.index("sad")] + e[EMOTIONS.index("relaxing")]) / tot)

    def drum_level(self, t0: float, t1: float) -> int:
        """0 none, 1 light, 2 full over [t0, t1): from motion and note density, damped by a calm
        (sad, relaxing) mood."""
        score = 0.5 * self._mean(self.motion, t0, t1) / MOTION_REF \
            + 0.5 * self._mean(self.density, t0, t1) / DENSITY_REF
        score *= 1.0 - 0.4 * self.calm(t0, t1)
        return int(np.searchsorted(DRUM_STEPS, score, side="right"))
