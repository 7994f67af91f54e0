"""Speed measurements printed by `v2m bench`: each figure beside a baseline from the same run."""
from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import numpy as np
import torch

from v2m_desktop.core.errors import V2MError
from v2m_desktop.core.features import VideoFeatures
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


def bench_video(folder: Path, seconds: int = 180, size=(1280, 720), texture: bool = True
                ) -> tuple[Path, list]:
    """A synthetic clip with known cuts for the scoring benchmarks (made once per folder):
    shots of 3.3 to 9.1 s, irregular so that no single tempo fits them all, with a moving grain
    so that it decodes at the cost of real footage (`texture`; the grain hides cuts from the
    detector, so the cut-alignment bench uses a clean clip)."""
    from v2m_desktop.core.video.synthetic import make_test_video
    lengths = np.array([6.5, 4.2, 9.1, 3.3, 7.4, 5.8])
    cuts = np.cumsum(np.tile(lengths, seconds // 30 + 1))
    cuts = [round(float(c), 3) for c in cuts[cuts < seconds - 2]]
    path = Path(folder) / f"bench_{seconds}s_{size[0]}x{size[1]}{'_grain' if texture else ''}.mp4"
    if not path.is_file():
        make_test_video(path, seconds, fps=24, size=size, cuts=cuts, texture=texture)
    return path, cuts


def bench_score(video: Path) -> dict:
    """`v2m score VIDEO` in a fresh process (start-up included) against one OpenCV grab-only
    decode pass of the same file; also the child's peak memory."""
    import subprocess
    import sys
    import tempfile

    from v2m_desktop.core.video.bench import grab_pass
    grab_s, frames = grab_pass(video)
    with tempfile.TemporaryDirectory(prefix="v2m-bench-") as d:
        env = {**os.environ, "V2M_CACHE_DIR": d}
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "v2m_desktop.cli", "score", str(video), "-o",
                                 str(Path(d) / "out.mp4"), "--vision", "basic", "--quiet", "--seed", "0"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        stderr = proc.stderr.read().decode(errors="replace")
        _, status, usage = os.wait4(proc.pid, 0)        # this child's own peak, not all children's
        score_s = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise V2MError(f"v2m score failed: {(stderr.strip().splitlines() or ['?'])[-1]}")
    peak = usage.ru_maxrss / 1024      # KiB -> MiB
    return {"video": str(video), "frames": frames, "grab_s": grab_s, "score_s": score_s,
            "ratio": score_s / grab_s, "peak_memory_mib": peak}


def bench_alignment(video: Path, cuts: list[float], seed: int = 0) -> dict:
    """Score a clip with known cuts; the share of cuts within 100 ms of a beat and of a chord
    change, against chord changes placed at random at the same rate."""
    import tempfile

    from v2m_desktop.core.arrange import cut_alignment
    from v2m_desktop.core.compose import ComposeSettings
    from v2m_desktop.core.pipeline import ScoreSettings, score
    with tempfile.TemporaryDirectory(prefix="v2m-bench-") as d:
        settings = ScoreSettings(vision="basic", cache_dir=Path(d),
                                 compose=ComposeSettings(sampling=SamplingOptions(seed=seed)))
        result = score(video, settings)
    # judged against the cuts the clip really has: a missed cut counts against us
    known = dataclasses.replace(result.arrangement, cuts=list(cuts))
    res = cut_alignment(known, tol=0.1, seed=seed)
    res.update(video=str(video), known_cuts=len(cuts),
               detected_cuts_matching=sum(any(abs(c - k) <= 1 / 24 + 1e-6 for c in result.analysis.cuts)
                                          for k in cuts))
    return res


def _bench_music(duration: float, sr: int) -> np.ndarray:
    """A real soundtrack for the benchmark: a synthetic plan arranged and rendered (AAC encoding
    time depends on the signal; a pure tone is not representative)."""
    from v2m_desktop.core.arrange import ArrangeOptions, arrange
    from v2m_desktop.core.chords import chord_id
    from v2m_desktop.core.render import render
    from v2m_desktop.core.tracks import ChordTrack, Dynamics

    T = max(1, int(np.ceil(duration)))
    prog = [chord_id(0, "maj"), chord_id(9, "min"), chord_id(5, "maj"), chord_id(7, "7")]
    tokens = np.array([prog[(s // 2) % 4] for s in range(T)], dtype=np.int64)
    dyn = Dynamics(np.linspace(4, 22, T), np.linspace(0.08, 0.3, T))
    emotion = np.tile([0.2, 0.1, 0.2, 0.1, 0.2, 0.2], (T, 1))
    arr = arrange(ChordTrack(tokens), dyn, duration=duration, cuts=[], motion=np.linspace(1, 20, T),
                  emotion=emotion, options=ArrangeOptions())
    return render(arr.midi, sample_rate=sr, duration=duration)


def bench_export(video: Path, audio: np.ndarray | None = None, sr: int = 44100) -> dict:
    """Time `export_mp4` (video stream copied, music to AAC) against moviepy re-encoding the same
    file with the same soundtrack (the reference's way: VideoFileClip(...).with_audio(...)
    .write_videofile(libx264, aac)); returns both times and their ratio."""
    import tempfile

    from moviepy import AudioArrayClip, VideoFileClip

    from v2m_desktop.core.export import export_mp4, fit_length, stereo
    from v2m_desktop.core.video.probe import probe

    video = Path(video)
    duration = probe(video).duration      # bad input: one clear error here, not moviepy's
    if audio is None:
        audio = _bench_music(duration, sr)
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        export_mp4(video, audio, sr, Path(d) / "copy.mp4", duration=duration)
        copy_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        with VideoFileClip(str(video), audio=False) as clip:
            music = AudioArrayClip(fit_length(stereo(audio), int(round(duration * sr))), fps=sr)
            clip.with_audio(music).write_videofile(str(Path(d) / "moviepy.mp4"), codec="libx264",
                                                   audio_codec="aac", logger=None)
        moviepy_s = time.perf_counter() - t0
    return {"video": str(video), "duration_s": duration, "export_s": copy_s,
            "moviepy_reencode_s": moviepy_s, "speedup": moviepy_s / copy_s}
