"""The paper's regression model: a bidirectional GRU that reads the per-second video features
and predicts note density (notes sounding per second) and loudness (linear RMS) each second."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from v2m_desktop.core.model.inputs import N_SCALARS, VideoBatch

# Targets are learnt in units of about one so neither dominates the loss.
DENSITY_SCALE, LOUDNESS_SCALE = 10.0, 0.1


@dataclass
class DynamicsConfig:
    hidden: int = 96
    layers: int = 2
    dropout: float = 0.1
    semantic_dim: int = 768
    semantic_proj: int = 32
    semantic_dropout: float = 0.3


class DynamicsGRU(nn.Module):
    def __init__(self, cfg: DynamicsConfig):
        super().__init__()
        self.cfg = cfg
        self.sem = nn.Sequential(nn.LayerNorm(cfg.semantic_dim), nn.Dropout(cfg.semantic_dropout),
                                 nn.Linear(cfg.semantic_dim, cfg.semantic_proj))
        self.drop = nn.Dropout(cfg.dropout)
        self.gru = nn.GRU(N_SCALARS + cfg.semantic_proj, cfg.hidden, cfg.layers,
                          batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * cfg.hidden, 2)

    def forward(self, video: VideoBatch) -> torch.Tensor:
        """[B, S, 2] in model units: (density / DENSITY_SCALE, loudness / LOUDNESS_SCALE)."""
        b, s, _ = video.scalars.shape
        if video.semantic is None:
            sem = video.scalars.new_zeros(b, s, self.cfg.semantic_proj)
        else:
            sem = video.scalars[..., 9:10] * self.sem(video.semantic)
        x = self.drop(torch.cat([video.scalars, sem], dim=-1))
        return self.head(self.gru(x)[0])

    @torch.no_grad()
    def predict(self, video: VideoBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """Note density (>= 0, notes/s) and loudness (>= 0) per second, [B, S] each."""
        out = self(video)
        return ((out[..., 0] * DENSITY_SCALE).clamp(min=0),
                (out[..., 1] * LOUDNESS_SCALE).clamp(min=0))
