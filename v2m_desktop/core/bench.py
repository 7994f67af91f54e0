"""Speed measurements printed by `v2m bench`: each figure beside a baseline from the same run."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from v2m_desktop.core.data.muvisync import VideoFeatures
from v2m_desktop.core.model.checkpoint import SHIPPED, load_model
from v2m_desktop.core.model.generate import SamplingOptions, generate


def synthetic_features(seconds: int, seed: int = 0) -> VideoFeatures:
    """A plausible feature track (emotion drifting, motion, a cut every few seconds)."""
    rng = np.random.default_rng(seed)
    logits = np.cumsum(rng.normal(0, 0.3, (seconds, 6)), axis=0)
    emotion = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    offset = np.zeros(seconds, dtype=np.float32)
    for t in range(1, seconds):
        offset[t] = 0 if rng.random() < 0.2 else offset[t - 1] + 1
    motion = rng.gamma(2.0, 4.0, seconds).astype(np.float32)
    motion[0] = 0
    return VideoFeatures(emotion.astype(np.float32), motion, offset)


def bench_generate(model_path: Path | None = None, seconds: int = 300, repeats: int = 3,
                   device="cpu") -> dict:
    """Time `seconds` chords with the KV cache (best of `repeats`) and with full recomputation
    of encoder and decoder for every token (once), same model, same seed."""
    model, _ = load_model(model_path or SHIPPED["chords"], "chords", device)
    feats = synthetic_features(seconds)
    opts = SamplingOptions(seed=1)
    generate(model, feats, 0, length=10, options=opts, device=device)     # warm-up
    cached = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a = generate(model, feats, 0, options=opts, device=device)
        cached.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    b = generate(model, feats, 0, options=opts, device=device, recompute=True)
    full = time.perf_counter() - t0
    return {"chords": seconds, "kv_cache_s": min(cached), "full_recompute_s": full,
            "speedup": full / min(cached), "same_chords": bool((a == b).all()),
            "threads": torch.get_num_threads(), "device": str(device)}
