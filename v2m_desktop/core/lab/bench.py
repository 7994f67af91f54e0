"""Speed measurements printed by `v2m bench`: each figure beside a baseline from the same run."""
from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from v2m_desktop.core.errors import V2MError
from v2m_desktop.core.features import VideoFeatures
from v2m_desktop.core.model.checkpoint import SHIPPED, load_model
from v2m_desktop.core.model.generate import SamplingOptions, generate
from v2m_desktop.core.progress import Progress, report


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
                   device: torch.device | str = "cpu") -> dict:
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


def bench_video(folder: Path, seconds: int = 180, size: tuple[int, int] = (1280, 720), texture: bool = True
                ) -> tuple[Path, list[float]]:
    """A synthetic clip with known cuts for the scoring benchmarks (made once per folder):
    shots of 3.3 to 9.1 s, irregular so that no single tempo fits them all, with a moving grain
    so that it decodes at the cost of real footage (`texture`; the grain hides cuts from the
    detector, so the cut-alignment bench uses a clean clip)."""
    from v2m_desktop.core.video.synthetic import make_test_video
    lengths = np.array([6.5, 4.2, 9.1, 3.3, 7.4, 5.8])
    ends = np.cumsum(np.tile(lengths, seconds // 30 + 1))
    cuts = [round(float(c), 3) for c in ends[ends < seconds - 2]]
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

    from v2m_desktop.core.lab.bench_analysis import grab_pass
    grab_s, frames = grab_pass(video)
    with tempfile.TemporaryDirectory(prefix="v2m-bench-") as d:
        env = {**os.environ, "V2M_CACHE_DIR": d}
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "v2m_desktop.cli", "score", str(video), "-o",
                                 str(Path(d) / "out.mp4"), "--vision", "basic", "--quiet", "--seed", "0"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        # both pipes read to their ends (stderr beside), the child left for wait4 to reap
        import threading
        errs: list[bytes] = []
        assert proc.stdout is not None and proc.stderr is not None      # asked as pipes
        err_pipe = proc.stderr          # narrowed here: the lambda would see it Optional again
        reader = threading.Thread(target=lambda: errs.append(err_pipe.read()))
        reader.start()
        stdout = proc.stdout.read().decode(errors="replace")
        reader.join()
        stderr = errs[0].decode(errors="replace")
        _, status, usage = os.wait4(proc.pid, 0)        # this child's own peak, not all children's
        score_s = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise V2MError(f"v2m score failed: {(stderr.strip().splitlines() or ['?'])[-1]}")
    peak = usage.ru_maxrss / 1024      # KiB -> MiB
    import re
    render = re.search(r"render (\d+\.\d+) s", stdout)          # the summary's stage timings
    bank = re.search(r"^soundfont\s+(.+)$", stdout, re.M)
    return {"video": str(video), "frames": frames, "grab_s": grab_s, "score_s": score_s,
            "ratio": score_s / grab_s, "peak_memory_mib": peak,
            "render_s": float(render.group(1)) if render else float("nan"),
            "soundfont": bank.group(1) if bank else "?"}


def bench_alignment(video: Path, cuts: list[float], seed: int = 0) -> dict:
    """Score a clip with known cuts; the share of cuts within 100 ms of a beat and of a chord
    change, against chord changes placed at random at the same rate."""
    import tempfile

    from v2m_desktop.core.arrange import cut_alignment
    from v2m_desktop.core.compose import ComposeSettings
    from v2m_desktop.core.pipeline import ScoreSettings
    from v2m_desktop.core.scoring import score_video
    with tempfile.TemporaryDirectory(prefix="v2m-bench-") as d:
        settings = ScoreSettings(vision="basic", cache_dir=Path(d),
                                 compose=ComposeSettings(sampling=SamplingOptions(seed=seed)))
        result = score_video(video, settings)
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


def _k_weighting(freqs: np.ndarray) -> np.ndarray:
    """|H(f)|^2 of BS.1770's K-weighting (its two 48 kHz biquads, evaluated at f)."""
    z = np.exp(-1j * 2 * np.pi * freqs / 48000.0)

    def biquad(b: tuple[float, float, float], a: tuple[float, float, float]) -> np.ndarray:
        return (b[0] + b[1] * z + b[2] * z * z) / (a[0] + a[1] * z + a[2] * z * z)
    shelf = biquad((1.53512485958697, -2.69169618940638, 1.19839281085285),
                   (1.0, -1.69065929318241, 0.73248077421585))
    high = biquad((1.0, -2.0, 1.0), (1.0, -1.99004745483398, 0.99007225036621))
    return np.abs(shelf * high) ** 2


def audio_stats(audio: np.ndarray, sr: int) -> dict:
    """Integrated loudness (BS.1770-4 gating, K-weighting applied in the frequency domain), sample
    peak (dBFS) and the share of the energy above 2 kHz."""
    x = np.asarray(audio, dtype=np.float64).reshape(len(audio), -1)
    spec = np.fft.rfft(x, axis=0)
    freqs = np.fft.rfftfreq(len(x), 1 / sr)
    power = (np.abs(spec) ** 2).sum(1)
    high = float(power[freqs >= 2000].sum() / max(power.sum(), 1e-30))
    k = np.fft.irfft(spec * np.sqrt(_k_weighting(freqs))[:, None], n=len(x), axis=0)
    block, hop = int(0.4 * sr), int(0.1 * sr)
    ms = np.array([(k[i:i + block] ** 2).mean(0).sum() for i in range(0, max(len(k) - block, 0) + 1, hop)])
    lufs = -np.inf
    ms = ms[ms > 10 ** ((-70 + 0.691) / 10)]
    if len(ms):
        rel = 10 * np.log10(ms.mean()) - 0.691 - 10
        ms = ms[-0.691 + 10 * np.log10(ms) > rel]
        lufs = -0.691 + 10 * np.log10(ms.mean())
    peak = float(np.abs(x).max()) if len(x) else 0.0
    return {"lufs": float(lufs), "peak_dbfs": 20 * np.log10(max(peak, 1e-12)), "above_2khz": high}


MEDIA = Path("../shared/media")


def _reencode(src: Path, dst: Path) -> Path:
    """The same picture at half the size and a low bitrate (the re-encoding check)."""
    import subprocess

    from v2m_desktop.core.files import ffmpeg_exe
    if not dst.is_file():
        exe = ffmpeg_exe()
        assert exe is not None                          # required: V2MError rather than None
        subprocess.run([exe, "-v", "error", "-y", "-i", str(src), "-vf", "scale=iw/2:-2",
                        "-c:v", "libx264", "-b:v", "150k", "-an", str(dst)], check=True)
    return dst


def _sintel_reference(media: Path) -> tuple[list[float], list[tuple[float, float]]]:
    """The Sintel trailer's hand-checked shot changes: abrupt ones (picture to picture, to and
    from black, title cards; the one-black-frame pair counted once) and gradual ranges."""
    import json
    ref = json.loads((media / "cuts.json").read_text())["sintel_trailer_480x204.mp4"]
    hard = sorted(ref["hard_cuts_picture_to_picture_by_eye"]["seconds"]
                  + ref["abrupt_cuts_to_or_from_black_by_eye"]["seconds"]
                  + ref["title_cards_on_black_by_eye"]["seconds"])
    merged = [t for i, t in enumerate(hard) if i == 0 or t - hard[i - 1] > 0.1]
    ranges = [(g["start"], g["end"]) for g in ref["gradual_transitions_by_eye_seconds"]]
    return merged, ranges


def cut_detection(found: list[float], hard: list[float], ranges: list[tuple[float, float]],
                  tol: float = 0.25) -> dict:
    """Recall of the abrupt changes (within tol), recall of the gradual ones (a cut inside the
    range widened by tol), and precision (a found cut near an abrupt one or inside a range)."""
    f = np.asarray(found, dtype=np.float64)

    def near(t: float) -> bool:
        return bool(len(f) and np.abs(f - t).min() <= tol)
    in_range = [any(a - tol <= c <= b + tol for a, b in ranges) or any(abs(c - h) <= tol for h in hard)
                for c in f]
    abrupt = [bool(near(h)) for h in hard]
    gradual = [bool(len(f) and ((f >= a - tol) & (f <= b + tol)).any()) for a, b in ranges]
    return {"recall": float(np.mean(abrupt + gradual)),
            "recall_abrupt": float(np.mean(abrupt)),
            "recall_gradual": float(np.mean(gradual)),
            "precision": float(np.mean(in_range)) if len(f) else float("nan"),
            "found": len(f)}


def _fast_cuts(cuts: list[float], gap: float = 2.0) -> list[float]:
    """The cuts less than `gap` s from a neighbouring cut."""
    c = sorted(cuts)
    return [x for i, x in enumerate(c)
            if (i and x - c[i - 1] < gap) or (i + 1 < len(c) and c[i + 1] - x < gap)]


def _piece(result, scenes=None) -> dict:
    """The figures of one scored piece."""
    from v2m_desktop.core.arrange import cut_alignment
    from v2m_desktop.core.arrange import stats as st
    arr = result.arrangement
    out = st.rhythm(arr)
    out["phrase"] = st.phrase_repeats(arr)
    out["phrase4"] = st.phrase_repeats(arr, step=4)
    out["cadence"] = st.cadences(arr, arr.key_root, arr.mode)
    # of cuts closer than a beat the music follows one: the cut figures are over those
    followed = arr.followed_cuts if getattr(arr, "followed_cuts", None) else arr.cuts
    al = cut_alignment(dataclasses.replace(arr, cuts=followed))
    alf = cut_alignment(dataclasses.replace(arr, cuts=_fast_cuts(followed)))
    notes = st.notes(arr)
    out.update(cut_beat=al["beat"], cut_chord=al["chord"], cut_random=al["random_chord"], cuts=len(arr.cuts),
               fast_cuts=alf["cuts"], followed=len(followed), fast_beat=alf["beat"], fast_chord=alf["chord"],
               fast_random=alf["random_chord"], tempo=arr.tempo, mode=arr.mode,
               minor_share=st.minor_share(arr), notes_per_s=len(notes) / arr.duration,
               mean_pitch=float(np.mean([n.pitch for name, n in notes if name != "drums"] or [0])),
               instruments=sorted({name for name, _ in notes}),
               seconds=st.per_second(arr, arr.key_root), first=st.first_chords(arr, arr.key_root),
               **audio_stats(result.audio, result.sample_rate))
    if scenes:
        rows = []
        for a, b, energy in scenes:
            i0, i1 = int(a * result.sample_rate), int(b * result.sample_rate)
            rms = float(np.sqrt(np.mean(np.asarray(result.audio[i0:i1], dtype=np.float64) ** 2)) + 1e-12)
            rows.append((energy, len(st.notes(arr, a, b)) / (b - a), 20 * np.log10(rms)))
        out["scenes"] = rows
    return out


def _mean(xs: Iterable[float | None]) -> float:
    kept = [x for x in xs if x is not None and np.isfinite(x)]
    return float(np.mean(kept)) if kept else float("nan")


def _agree(a: dict, b: dict) -> float:
    """Share of seconds with the same chord relative to the key."""
    return float(np.mean([x == y for x, y in zip(a["seconds"], b["seconds"])]))


def _ratio(pairs: Iterable[tuple[int, int]]) -> float:
    hit = sum(p[0] for p in pairs)
    total = sum(p[1] for p in pairs)
    return hit / total if total else float("nan")


def bench_music(folder: Path, seeds: Sequence[int] = range(10), media: Path = MEDIA,
                progress: Progress | None = None) -> dict:
    """Score the shared clips and the synthetic calm, energetic and alternating clips (basic
    vision) for each seed and measure the music: harmonic rhythm, phrases, cadences, cuts, the
    calm / energetic contrast, the alternating clip's scenes, a re-encoded copy, the mix."""
    from v2m_desktop.core.arrange import stats as st
    from v2m_desktop.core.compose import ComposeSettings
    from v2m_desktop.core.pipeline import ScoreSettings
    from v2m_desktop.core.scoring import score_video
    from v2m_desktop.core.video.synthetic import MOODS, make_mood_video, mood_scenes
    folder = Path(folder)
    clips: dict[str, Path] = {}
    for name in ("big_buck_bunny_360p_56s.mp4", "sintel_trailer_480x204.mp4"):
        if (media / name).is_file():
            clips[name.split("_")[0]] = media / name
    if "big" in clips:
        clips["big_reencoded"] = _reencode(clips["big"], folder / "bbb_half_150k.mp4")
    scenes = {}
    for mood in MOODS:
        path = folder / f"{mood}.mp4"
        if not path.is_file():
            make_mood_video(path, mood)
        clips[mood] = path
        scenes[mood] = mood_scenes(mood, 48.0)
    # the calm and energetic clips again in one key: what the picture does to the harmony itself
    jobs: list[tuple[str, Path, str | None]] = [(name, path, None) for name, path in clips.items()]
    jobs += [(f"{mood} (F major)", clips[mood], "F major") for mood in ("calm", "energetic")]
    runs: dict[str, list[dict]] = {}
    done = 0
    for name, path, key in jobs:
        for seed in seeds:
            report(progress, f"{name} seed {seed}", done / len(jobs) / len(seeds))
            done += 1
            settings = ScoreSettings(vision="basic", cache_dir=folder / "cache",
                                     compose=ComposeSettings(key=key, sampling=SamplingOptions(seed=seed)))
            settings.arrange.seed = seed
            result = score_video(path, settings)
            runs.setdefault(name, []).append(_piece(result, scenes.get(name)))
    per_clip = {}
    for name, rs in runs.items():
        per_clip[name] = {k: _mean([r[k] for r in rs]) for k in
                          ("changes_per_min", "on_meter", "median_chord_s", "median_chord_bars",
                           "one_beat_share", "cut_beat", "cut_chord", "cut_random", "fast_beat",
                           "fast_chord", "fast_random", "tempo", "minor_share", "notes_per_s",
                           "mean_pitch", "lufs", "peak_dbfs", "above_2khz")}
        per_clip[name].update(phrase_repeat=_ratio([r["phrase"] for r in rs]),
                              phrase_repeat4=_ratio([r["phrase4"] for r in rs]),
                              cadence=_ratio([r["cadence"] for r in rs]), cuts=rs[0]["cuts"],
                              followed=rs[0]["followed"],
                              fast_cuts=rs[0]["fast_cuts"], instruments=rs[0]["instruments"])
    out: dict[str, object] = {"seeds": list(seeds), "clips": per_clip}     # the JSON report
    if "calm" in runs and "energetic" in runs:
        pairs = list(zip(runs["calm"], runs["energetic"]))
        contrast: dict[str, float | list[str]] = {
            "agreement": _mean([_agree(c, e) for c, e in pairs]),
            "first10_similarity": _mean([st.edit_similarity(c["first"], e["first"]) for c, e in pairs]),
            "tempo_diff": _mean([e["tempo"] - c["tempo"] for c, e in pairs]),
            "density_ratio": _mean([e["notes_per_s"] / max(c["notes_per_s"], 1e-9) for c, e in pairs]),
            "lufs_diff": _mean([e["lufs"] - c["lufs"] for c, e in pairs]),
            "pitch_diff": _mean([e["mean_pitch"] - c["mean_pitch"] for c, e in pairs]),
            "minor_calm": _mean([c["minor_share"] for c, _ in pairs]),
            "minor_energetic": _mean([e["minor_share"] for _, e in pairs]),
            "instruments_calm": runs["calm"][0]["instruments"],
            "instruments_energetic": runs["energetic"][0]["instruments"]}
        out["contrast"] = contrast
        same_key = list(zip(runs["calm (F major)"], runs["energetic (F major)"]))
        contrast["agreement_same_key"] = _mean([_agree(c, e) for c, e in same_key])
        contrast["first10_same_key"] = _mean([st.edit_similarity(c["first"], e["first"])
                                          for c, e in same_key])
        # unrelated clips for reference: the shared clips against each other, same seed
        if "big" in runs and "sintel" in runs:
            contrast["unrelated_first10_similarity"] = _mean(
                [st.edit_similarity(a["first"], b["first"]) for a, b in zip(runs["big"], runs["sintel"])])
    if "alternating" in runs:
        rows = [row for r in runs["alternating"] for row in r["scenes"]]
        e, d, lo = (np.array(c, dtype=np.float64) for c in zip(*rows))
        out["alternating"] = {"density_corr": float(np.corrcoef(e, d)[0, 1]),
                              "loudness_corr": float(np.corrcoef(e, lo)[0, 1])}
    if "big_reencoded" in runs:
        out["reencoded_agreement"] = _mean([_agree(a, b) for a, b in zip(runs["big"], runs["big_reencoded"])])
    if "sintel" in clips:
        from v2m_desktop.core.video.analysis import analyse
        hard, ranges = _sintel_reference(media)
        found = analyse(clips["sintel"], "basic", cache_dir=folder / "cache").shot_changes
        out["sintel_cuts"] = cut_detection(found, hard, ranges)
        from v2m_desktop.core.lab.bench_styles import bench_styles
        out["styles"] = bench_styles(clips["sintel"], folder, seed=list(seeds)[0], progress=progress)
    from v2m_desktop.core.lab.bench_picture import bench_picture
    out["picture"] = bench_picture(media, folder, list(seeds)[:3], progress=progress)
    return out


def music_lines(r: dict) -> list[str]:
    """The benchmark's table, one line a figure."""
    lines = [f"seeds {r['seeds'][0]}-{r['seeds'][-1]}",
             f"{'clip':14s} {'chg/min':>7s} {'meter':>6s} {'med s':>6s} {'bars':>5s} {'1beat':>5s} "
             f"{'phrase 1/4':>9s} {'cadnc':>5s} {'cut b/c/rnd':>15s} {'fast b/c/rnd (n)':>42s} {'bpm':>5s} "
             f"{'minor':>5s} {'notes/s':>7s} {'pitch':>5s} {'>2kHz':>6s} {'LUFS':>6s} {'peak':>6s}"]
    for name, c in r["clips"].items():
        cells = [f"{name:14s}", f"{c['changes_per_min']:7.1f}", f"{c['on_meter']:6.2f}",
                 f"{c['median_chord_s']:6.2f}", f"{c['median_chord_bars']:5.2f}",
                 f"{c['one_beat_share']:5.2f}",
                 f"{c['phrase_repeat']:4.2f}/{c['phrase_repeat4']:4.2f}", f"{c['cadence']:5.2f}",
                 f"{c['cut_beat']:4.2f}/{c['cut_chord']:4.2f}/{c['cut_random']:4.2f}",
                 f"  {c['fast_beat']:4.2f}/{c['fast_chord']:4.2f}/{c['fast_random']:4.2f}",
                 f"({c['fast_cuts']:2d} of {c['followed']:2d} followed, {c['cuts']:2d} cuts)",
                 f"{c['tempo']:5.1f}", f"{c['minor_share']:5.2f}", f"{c['notes_per_s']:7.2f}",
                 f"{c['mean_pitch']:5.1f}", f"{100 * c['above_2khz']:5.2f}%", f"{c['lufs']:6.1f}",
                 f"{c['peak_dbfs']:6.1f}"]
        lines.append(" ".join(cells))
    if "contrast" in r:
        c = r["contrast"]
        unrelated = c.get("unrelated_first10_similarity", float("nan"))
        lines.append(
            f"calm vs energetic: per-second agreement {c['agreement']:.2f} (target <= 0.30), first ten "
            f"chords alike {c['first10_similarity']:.2f} (<= 0.50; shared clips against each other "
            f"{unrelated:.2f}), tempo +{c['tempo_diff']:.1f} BPM (>= 15), density x{c['density_ratio']:.2f} "
            f"(>= 1.5), loudness {c['lufs_diff']:+.1f} LU, register {c['pitch_diff']:+.1f} semitones, minor "
            f"share {c['minor_calm']:.2f} / {c['minor_energetic']:.2f}, instruments "
            f"{','.join(c['instruments_calm'])} / {','.join(c['instruments_energetic'])}")
        lines.append(f"calm vs energetic, both in F major: per-second agreement "
                     f"{c['agreement_same_key']:.2f}, first ten chords alike {c['first10_same_key']:.2f}")
    if "alternating" in r:
        a = r["alternating"]
        lines.append(f"alternating clip: per-scene density / loudness against scene energy: r = "
                     f"{a['density_corr']:.2f} / {a['loudness_corr']:.2f} (target >= 0.7)")
    if "reencoded_agreement" in r:
        lines.append(f"Big Buck Bunny re-encoded (half size, 150 kb/s): chords agree on "
                     f"{r['reencoded_agreement']:.2f} of seconds (target >= 0.80)")
    if "sintel_cuts" in r:
        s = r["sintel_cuts"]
        lines.append(f"Sintel cuts against the hand-checked ones (0.25 s): recall {s['recall']:.2f} "
                     f"(target >= 0.90; abrupt {s['recall_abrupt']:.2f}, fades and dissolves "
                     f"{s['recall_gradual']:.2f}); precision {s['precision']:.2f} (>= 0.90; "
                     f"{s['found']} found)")
    if "styles" in r:
        from v2m_desktop.core.lab.bench_styles import style_lines
        lines += style_lines(r["styles"])
    if "picture" in r:
        from v2m_desktop.core.lab.bench_picture import picture_lines
        lines += picture_lines(r["picture"])
    return lines


def bench_edit(video: Path) -> dict:
    """Edit to new audio through the project engine on VIDEO: a chord edit (Engine.update) and
    a 20-s regeneration plus its update, against a full arrange + render of the same project;
    and how close the joined audio is to a full render of the edited project (SNR, max diff)."""
    from v2m_desktop.core import edits as E
    from v2m_desktop.core.engine import Engine, Score
    from v2m_desktop.core.pipeline import ScoreSettings
    from v2m_desktop.core.project import Change
    from v2m_desktop.core.scoring import score_video
    settings = ScoreSettings(vision="basic")
    result = score_video(video, settings)
    project = result.project
    engine = Engine(project, analysis=result.analysis)
    _ = engine.models
    before = engine.score()
    t0 = time.perf_counter()
    before = engine.score()
    full_s = time.perf_counter() - t0

    def timed_update(edit: E.Edit, before: Score) -> tuple[Score, float, float, float]:
        seen: list[Change] = []                 # the edit's Changes: the engine re-renders around them
        project.listeners.append(seen.append)
        t = time.perf_counter()
        edit.apply(project, engine) if isinstance(edit, E.Regenerate) else edit.apply(project)
        after = engine.update(before, (min(c.start for c in seen), max(c.end for c in seen)))
        took = time.perf_counter() - t
        project.listeners.remove(seen.append)
        ref = engine.score()
        err = after.audio - ref.audio
        snr = 10 * np.log10(float((ref.audio ** 2).sum()) / max(float((err ** 2).sum()), 1e-20))
        return after, took, snr, float(np.abs(err).max())

    mid = project.seconds // 6
    after, chord_s, chord_snr, chord_max = timed_update(E.SetChords(mid, mid + 2, "F#m7"), before)
    r0 = project.seconds // 3
    _, regen_s, regen_snr, regen_max = timed_update(E.Regenerate(r0, r0 + 20, 11), after)
    return {"video": str(video), "seconds": project.seconds, "full_s": full_s,
            "chord_edit_s": chord_s, "chord_ratio": chord_s / full_s, "chord_snr_db": chord_snr,
            "chord_max_diff": chord_max, "regenerate_20s_s": regen_s, "regenerate_snr_db": regen_snr,
            "regenerate_max_diff": regen_max}
