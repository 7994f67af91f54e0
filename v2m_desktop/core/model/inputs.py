"""Per-second video features -> the tensors both models read (one place, so they agree)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from v2m_desktop.core.features import SEMANTIC_DIM, VideoFeatures

N_SCALARS = 10   # 6 emotions, motion, scene offset, real-second flag, semantic-present flag


@dataclass
class VideoBatch:
    scalars: torch.Tensor            # [B, S, N_SCALARS] float32
    semantic: torch.Tensor | None    # [B, S, 768] float32, or None when no video has it
    valid: torch.Tensor              # [B, S] bool: a real second (not padding)

    def to(self, device: torch.device | str) -> VideoBatch:
        sem = None if self.semantic is None else self.semantic.to(device)
        return VideoBatch(self.scalars.to(device), sem, self.valid.to(device))

    def expand(self, m: int) -> VideoBatch:
        """One video seen as a batch of m (views, no copies)."""
        sem = None if self.semantic is None else self.semantic.expand(m, -1, -1)
        return VideoBatch(self.scalars.expand(m, -1, -1), sem, self.valid.expand(m, -1))


def scalar_features(f: VideoFeatures, semantic_present: bool) -> np.ndarray:
    """[T, N_SCALARS]: raw magnitudes squashed to about 0..3 (motion spans 0..241 pixels)."""
    t = len(f)
    out = np.empty((t, N_SCALARS), dtype=np.float32)
    out[:, :6] = f.emotion
    out[:, 6] = np.log1p(np.maximum(f.motion, 0)) / 2
    out[:, 7] = np.log1p(np.maximum(f.scene_offset, 0) + 1) / 2
    out[:, 8] = 1.0
    out[:, 9] = float(semantic_present)
    return out


def batch_video(features: list[VideoFeatures], length: int, *, semantic: bool = True) -> VideoBatch:
    """Pad (or cut) each video to `length` seconds and stack.  Semantic features are used when
    `semantic` is set and the video has them; otherwise its semantic-present flag is 0."""
    b = len(features)
    scalars = np.zeros((b, length, N_SCALARS), dtype=np.float32)
    valid = np.zeros((b, length), dtype=bool)
    use_sem = semantic and any(f.semantic is not None for f in features)
    sem = np.zeros((b, length, SEMANTIC_DIM), dtype=np.float32) if use_sem else None
    for i, f in enumerate(features):
        n = min(len(f), length)
        present = use_sem and f.semantic is not None
        scalars[i, :n] = scalar_features(f.window(0, n), present)
        valid[i, :n] = True
        if sem is not None and f.semantic is not None:      # i.e. present
            sem[i, :n] = f.semantic[:n]
    return VideoBatch(torch.from_numpy(scalars), None if sem is None else torch.from_numpy(sem),
                      torch.from_numpy(valid))
