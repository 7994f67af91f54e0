"""Validation and test figures of the models on MuVi-Sync (README section 7 definitions):
the first 300 s of every video, teacher forcing for the chord model."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from v2m_desktop.core.features import VideoFeatures
from v2m_desktop.core.lab.metrics import ChordScorer, rmse_per_video
from v2m_desktop.core.lab.muvisync import WINDOW, MuviSync, MuviVideo, teacher_forcing
from v2m_desktop.core.model.amt import AMT
from v2m_desktop.core.model.context import context_features
from v2m_desktop.core.model.dynamics import DynamicsGRU
from v2m_desktop.core.model.generate import SamplingOptions, generate
from v2m_desktop.core.model.inputs import batch_video


def _batches(videos: list[MuviVideo], size: int) -> Iterator[list[MuviVideo]]:
    for i in range(0, len(videos), size):
        yield videos[i:i + size]


@torch.no_grad()
def chord_logits(model: AMT, videos: list[MuviVideo], *, semantic: bool, device: torch.device | str = "cpu",
                 batch_size: int = 16) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per video (x, y, logits [299, 159] float32 numpy), teacher-forced on the first 300 s."""
    out: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for group in _batches(videos, batch_size):
        pairs = [teacher_forcing(v.chords) for v in group]
        x = torch.from_numpy(np.stack([p[0] for p in pairs])).to(device)
        ctx = torch.from_numpy(np.stack([context_features(p[0]) for p in pairs])).to(device)
        mode = torch.tensor([v.mode for v in group], device=device)
        vb = batch_video([v.features for v in group], WINDOW, semantic=semantic).to(device)
        logits = model(vb, x, ctx, mode).float().cpu().numpy()
        out.extend((px, py, z) for (px, py), z in zip(pairs, logits, strict=True))
    return out


def evaluate_chords(model: AMT, videos: list[MuviVideo], *, semantic: bool,
                    device: torch.device | str = "cpu") -> dict:
    scorer = ChordScorer()
    for v, (x, y, z) in zip(videos, chord_logits(model, videos, semantic=semantic, device=device),
                            strict=True):
        scorer.add(x, y, z, v.emotion_argmax())
    return scorer.result()


@torch.no_grad()
def evaluate_dynamics(model: DynamicsGRU, videos: list[MuviVideo], *, semantic: bool,
                      device: torch.device | str = "cpu") -> dict:
    dens: list[np.ndarray] = []
    loud: list[np.ndarray] = []
    for group in _batches(videos, 16):
        vb = batch_video([v.features for v in group], WINDOW, semantic=semantic).to(device)
        # the whole video's length: the first 300 s of a longer video do not end with its outro
        d, lo = model.predict(vb, total=torch.tensor([len(v) for v in group], device=device))
        dens.extend(d.cpu().numpy())
        loud.extend(lo.cpu().numpy())
    return {"note_density_rmse": rmse_per_video(dens, [v.note_density for v in videos]),
            "loudness_rmse": rmse_per_video(loud, [v.loudness for v in videos])}


METRIC_KEYS = ("hits@1", "hits@3", "hits@5", "change_hits@1", "change_hits@3", "change_hits@5",
               "emotion_loss", "affective_correspondence")


def evaluate(data: Path, split: str, *, semantic: bool = True, chords: Path | None = None,
             dynamics: Path | None = None, device: torch.device | str = "cpu") -> dict:
    """The figures `v2m evaluate` prints, for the shipped models unless files are given."""
    from v2m_desktop.core.model.checkpoint import load_models
    amt, dyn = load_models(chords, dynamics, device)
    videos = MuviSync(data).load(split, semantic=semantic)
    res = evaluate_chords(amt, videos, semantic=semantic, device=device)
    out = {k: res[k] for k in METRIC_KEYS}
    out.update(evaluate_dynamics(dyn, videos, semantic=semantic, device=device))
    out.update(videos=len(videos), split=split, semantic=semantic,
               chord_loss=res["chord_loss"], total_loss=res["total_loss"])
    return out


def emotion_control(model: AMT, videos: list[MuviVideo], *, semantic: bool = False, seed: int = 0,
                    options: SamplingOptions | None = None, device: torch.device | str = "cpu"
                    ) -> dict[str, dict[str, float]]:
    """Does the emotion input steer the chords?  For each video, generate under its own
    emotions and under each non-neutral emotion forced on every second; report, per emotion,
    the share of generated chords whose quality that emotion allows (README section 4)."""
    from v2m_desktop.core.chords import EMOTION_MASKS, EMOTIONS
    base = options or SamplingOptions()

    def shares(chords: np.ndarray) -> np.ndarray:
        return EMOTION_MASKS[:5, chords[1:]].mean(axis=1)        # the first chord is the tonic

    own, forced = [], []
    for i, v in enumerate(videos):
        f = v.features.window(0, min(len(v), WINDOW))
        opts = SamplingOptions(**{**base.__dict__, "seed": seed + i})
        own.append(shares(generate(model, f, v.mode, options=opts, semantic=semantic, device=device)))
        row = []
        for e in range(5):
            g = VideoFeatures(np.tile(np.eye(6, dtype=np.float32)[e], (len(f), 1)), f.motion,
                              f.scene_offset, f.semantic)
            row.append(shares(generate(model, g, v.mode, options=opts, semantic=semantic,
                                       device=device))[e])
        forced.append(row)
    own_m, forced_m = np.mean(own, axis=0), np.mean(forced, axis=0)
    return {EMOTIONS[e]: {"forced": float(forced_m[e]), "own": float(own_m[e])} for e in range(5)}


def evaluate_emotion_control(data: Path, split: str, *, videos: int = 20, semantic: bool = False,
                             chords: Path | None = None, device: torch.device | str = "cpu"
                             ) -> dict[str, dict[str, float]]:
    """emotion_control for the shipped chord model (or the given file) on a split's first videos."""
    from v2m_desktop.core.model.checkpoint import SHIPPED, load_model
    model, _ = load_model(chords or SHIPPED["chords"], "chords", device)
    vids = MuviSync(data).load(split, semantic=semantic, limit=videos)
    return emotion_control(model, vids, semantic=semantic, device=device)
