"""The per-second video features both models read: what the dataset stores for each music video
and what the analysis of a user's video produces (one type, so they agree)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SEMANTIC_DIM = 768      # CLIP ViT-L/14 image embedding


@dataclass
class VideoFeatures:
    """Per-second video inputs of the models, all with the same number of rows T."""
    emotion: np.ndarray                 # [T, 6] float32, probabilities
    motion: np.ndarray                  # [T] float32, mean abs frame difference (pixel units)
    scene_offset: np.ndarray            # [T] float32, seconds since the last cut
    semantic: np.ndarray | None = None  # [T, 768] float32 CLIP image embedding, or absent

    def __len__(self) -> int:
        return len(self.motion)

    def window(self, start: int, stop: int) -> VideoFeatures:
        sem = None if self.semantic is None else self.semantic[start:stop]
        return VideoFeatures(self.emotion[start:stop], self.motion[start:stop],
                             self.scene_offset[start:stop], sem)
