"""The per-second plan read at any time: note density -> pattern level, loudness -> velocity,
motion and density -> drum level, emotion -> calm, and the picture's energy (arousal of the
emotions, motion, cut rate, over a few seconds) -> section-level choices: how loud and busy the
parts play, whether the drums and the pad come in, the piano's top line."""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from v2m_desktop.core.chords import EMOTIONS

DENSITY_STEPS = (6.0, 10.0, 15.0, 20.0)    # notes/s: levels 0..4 of the accompaniment patterns
MOTION_REF = 8.0        # typical motion (dataset mean 8.4, raw pixel units)
DENSITY_REF = 12.0      # typical note density (dataset mean 10.3)
DRUM_STEPS = (0.6, 1.15)  # drum score thresholds: none / light / full
AROUSED = ("exciting", "fearful", "tense")
ENERGY_SPAN = 2          # seconds each side over which the picture's energy is averaged
QUIET, BUSY = 0.4, 0.7   # energy below which the drums rest, above which the pad steps back


def density_level(density: float) -> int:
    """Pattern level 0..4 from the predicted note density (notes per second)."""
    return int(np.searchsorted(DENSITY_STEPS, max(float(density), 0.0), side="right"))


def velocity(loudness: float) -> int:
    """MIDI velocity from the predicted loudness (linear RMS, dataset range 0..0.57)."""
    v = 45.0 + 75.0 * np.sqrt(max(float(loudness), 0.0) / 0.35)
    return min(max(int(round(v)), 35), 120)


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
    energy: np.ndarray | None = None   # [T] 0 calm .. 1 energetic (None: 0.5 everywhere)

    @classmethod
    def build(cls, density, loudness, motion, emotion, duration: float, cuts=None,
              strength: float = 1.0) -> Feel:
        n = max(1, int(np.ceil(duration - 1e-9)))
        emo = np.asarray(emotion if emotion is not None else np.zeros((0, 6)), dtype=np.float64)
        emo = emo.reshape(-1, len(EMOTIONS)) if emo.size else np.zeros((0, len(EMOTIONS)))
        if len(emo) == 0:
            emo = np.tile(np.eye(len(EMOTIONS))[EMOTIONS.index("neutral")], (n, 1))
        elif len(emo) < n:
            emo = np.concatenate([emo, np.tile(emo[-1], (n - len(emo), 1))])
        motion = _per_second(motion, n)
        energy = None if cuts is None else 0.5 + strength * (picture_energy(emo[:n], motion, cuts, n) - 0.5)
        return cls(_per_second(density, n), _per_second(loudness, n, 0.17), motion, emo[:n], energy)

    def energy_at(self, t0: float, t1: float) -> float:
        """The picture's energy over [t0, t1) (0.5 when unknown)."""
        return 0.5 if self.energy is None else self._mean(self.energy, t0, t1)

    def _sec(self, t: float) -> int:
        return min(max(int(t), 0), len(self.density) - 1)

    def loud(self, t: float) -> float:
        """Loudness at t, linear between second centres, scaled by the picture's energy (a calm
        scene about half as loud as the model's figure, an energetic one up to 1.7 times)."""
        lo = float(np.interp(t, self._centres, self.loudness))
        if self.energy is None:
            return lo
        return lo * (0.5 + float(np.interp(t, self._centres, self.energy))) ** 2

    @functools.cached_property
    def _centres(self) -> np.ndarray:
        """The seconds' centres (read for every note: made once)."""
        return np.arange(len(self.loudness)) + 0.5

    def level(self, t0: float, t1: float) -> int:
        """Pattern level over [t0, t1) (mean note density, scaled by the picture's energy)."""
        scale = 1.0 if self.energy is None else 0.4 + 1.2 * self.energy_at(t0, t1)
        return density_level(scale * self._mean(self.density, t0, t1))

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
        if self.energy is not None:
            energy = self.energy_at(t0, t1)
            if energy < QUIET:
                return 0                   # a calm scene: no drums
            score = max(score, 0.7) * (0.6 + energy)
        return int(np.searchsorted(DRUM_STEPS, score, side="right"))


def picture_energy(emotion: np.ndarray, motion: np.ndarray, cuts, n: int) -> np.ndarray:
    """[n] 0..1 per second: the share of aroused emotions, the motion and the cut rate over
    +-ENERGY_SPAN s."""
    arousal = emotion[:, [EMOTIONS.index(e) for e in AROUSED]].sum(1) / np.maximum(emotion.sum(1), 1e-9)
    # the median over the window: the frame difference across a cut is not motion
    padded = np.pad(motion, ENERGY_SPAN, mode="edge")
    m = np.median(np.lib.stride_tricks.sliding_window_view(padded, 2 * ENERGY_SPAN + 1), axis=1)
    m = m / (m + 4.0)
    hits = np.zeros(n)
    for c in cuts:
        if 0 <= int(c) < n:
            hits[int(c)] += 1
    lo = np.clip(np.arange(n) - ENERGY_SPAN, 0, n)
    hi = np.clip(np.arange(n) + ENERGY_SPAN + 1, 0, n)

    def smooth(a):                  # the mean over the window, cut short at the ends
        c = np.concatenate([[0.0], np.cumsum(a)])
        return (c[hi] - c[lo]) / (hi - lo)
    rate = np.minimum(1.0, smooth(hits) * 2.5)          # a cut every 2.5 s or faster: 1
    return np.clip(0.4 * smooth(arousal) + 0.35 * m + 0.25 * rate, 0.0, 1.0)
