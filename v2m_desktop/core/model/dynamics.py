"""The paper's regression model: a bidirectional GRU that reads the per-second video features
and predicts note density (notes sounding per second) and loudness (linear RMS) each second."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from v2m_desktop.core.model.inputs import N_SCALARS, VideoBatch

# Targets are learnt in units of about one so neither dominates the loss.
DENSITY_SCALE, LOUDNESS_SCALE = 10.0, 0.1
N_POSITION = 3   # log seconds from the start, log seconds to the end, share of the video


@dataclass
class DynamicsConfig:
    # The defaults describe the first shipped model (files saved before the later fields
    # existed load as they were); `train.DEFAULT_CONFIG` holds the configuration trained now.
    hidden: int = 96
    layers: int = 2
    dropout: float = 0.1
    semantic_dim: int = 768
    semantic_proj: int = 32
    semantic_dropout: float = 0.3
    packed: bool = False       # run the GRU over each video's real seconds only (no padding)
    position: bool = False     # add the position features (songs have intros and outros)
    gru_dropout: float = 0.0   # between the GRU layers
    pooled: bool = False       # add the video's mean input to every second (the song's level)
    members: int = 1           # independent GRUs whose predictions are averaged


def position_features(valid: torch.Tensor, start: torch.Tensor | None = None,
                      total: torch.Tensor | None = None) -> torch.Tensor:
    """[B, S, N_POSITION] from the real-second mask; `start` (the first second's place in the
    video) and `total` (the video's length) when the batch holds a window of a longer video."""
    b, s = valid.shape
    t = torch.arange(s, device=valid.device, dtype=torch.float32).expand(b, s)
    if start is not None:
        t = t + start.to(t).view(b, 1)
    n = valid.sum(1).float() if total is None else total.to(t)
    n = n.view(b, 1).clamp(min=1)
    left = (n - 1 - t).clamp(min=0)
    feats = torch.stack([torch.log1p(t) / 5, torch.log1p(left) / 5, (t / n).clamp(max=1)], -1)
    return feats * valid.unsqueeze(-1)


class DynamicsMember(nn.Module):
    """One bi-GRU over the per-second inputs -> two outputs per second."""

    def __init__(self, cfg: DynamicsConfig):
        super().__init__()
        self.cfg = cfg
        n_in = N_SCALARS + cfg.semantic_proj
        n_in = n_in * (2 if cfg.pooled else 1) + (N_POSITION if cfg.position else 0)
        self.sem = nn.Sequential(nn.LayerNorm(cfg.semantic_dim), nn.Dropout(cfg.semantic_dropout),
                                 nn.Linear(cfg.semantic_dim, cfg.semantic_proj))
        self.drop = nn.Dropout(cfg.dropout)
        self.gru = nn.GRU(n_in, cfg.hidden, cfg.layers, batch_first=True, bidirectional=True,
                          dropout=cfg.gru_dropout if cfg.layers > 1 else 0.0)
        self.head = nn.Linear(2 * cfg.hidden, 2)

    def forward(self, video: VideoBatch, pos: torch.Tensor | None) -> torch.Tensor:
        b, s, _ = video.scalars.shape
        if video.semantic is None:
            sem = video.scalars.new_zeros(b, s, self.cfg.semantic_proj)
        else:
            sem = video.scalars[..., 9:10] * self.sem(video.semantic)
        x = torch.cat([video.scalars, sem], dim=-1)
        if self.cfg.pooled:
            # a GRU carries a whole song's average poorly; hand it over directly
            w = video.valid.unsqueeze(-1).to(x)
            mean = (x * w).sum(1, keepdim=True) / w.sum(1, keepdim=True).clamp(min=1)
            x = torch.cat([x, mean.expand_as(x) * w], dim=-1)
        x = self.drop(torch.cat([x] + ([pos] if pos is not None else []), dim=-1))
        if not self.cfg.packed:
            return self.head(self.gru(x)[0])
        # packed, the backward direction starts at each video's last real second, not in padding
        lengths = video.valid.sum(1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        h, _ = nn.utils.rnn.pad_packed_sequence(self.gru(packed)[0], batch_first=True, total_length=s)
        return self.head(h)


class DynamicsGRU(nn.Module):
    def __init__(self, cfg: DynamicsConfig):
        super().__init__()
        self.cfg = cfg
        self.members = nn.ModuleList(DynamicsMember(cfg) for _ in range(cfg.members))

    def _load_from_state_dict(self, state_dict: dict[str, torch.Tensor], prefix: str,
                              local_metadata: dict[str, object], strict: bool, missing_keys: list[str],
                              unexpected_keys: list[str], error_msgs: list[str]) -> None:
        # files written before the ensemble hold their one member's weights at the top level
        for k in [k for k in state_dict if k.startswith(prefix) and not k.startswith(prefix + "members.")]:
            state_dict[prefix + "members.0." + k[len(prefix):]] = state_dict.pop(k)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    def member_outputs(self, video: VideoBatch, start: torch.Tensor | None = None,
                       total: torch.Tensor | None = None) -> torch.Tensor:
        """[members, B, S, 2] in model units: (density / DENSITY_SCALE, loudness / LOUDNESS_SCALE).
        `start`/`total` [B]: see `position_features` (default: whole videos)."""
        pos = position_features(video.valid, start, total) if self.cfg.position else None
        return torch.stack([m(video, pos) for m in self.members])

    def forward(self, video: VideoBatch, start: torch.Tensor | None = None,
                total: torch.Tensor | None = None) -> torch.Tensor:
        """[B, S, 2] in model units: the members' mean."""
        return self.member_outputs(video, start, total).mean(0)

    @torch.no_grad()
    def predict(self, video: VideoBatch,
                total: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Note density (>= 0, notes/s) and loudness (>= 0) per second, [B, S] each.  `total`:
        the videos' lengths when the batch holds only their first seconds."""
        out = self(video, total=total)
        return ((out[..., 0] * DENSITY_SCALE).clamp(min=0),
                (out[..., 1] * LOUDNESS_SCALE).clamp(min=0))
