"""`v2m bench music`'s picture section: is the harmony a function of what the picture shows,
not of how it was encoded?  With the same seed and the key fixed (F major), the share of
per-second chords a re-encoded copy keeps (half size at CRF 35, CRF 18, 25 fps from 24), the
tempo each copy gets, and the share different pictures (a black clip, a test pattern, the two
shared clips) have in common."""
from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

import numpy as np

from v2m_desktop.core.progress import Progress, report

COPIES = {"half_crf35": ["-vf", "scale=iw/2:-2", "-crf", "35"], "crf18": ["-crf", "18"],
          "fps25": ["-vf", "fps=25", "-crf", "23"]}
KEY = "F major"


def _ffmpeg(args: list[str], dst: Path) -> Path:
    from v2m_desktop.core.files import ffmpeg_exe
    if not dst.is_file():
        subprocess.run([ffmpeg_exe(), "-v", "error", "-y", *args, "-c:v", "libx264", "-pix_fmt",
                        "yuv420p", *([] if "-crf" in args else ["-crf", "23"]), "-an", str(dst)], check=True)
    return dst


def copies(src: Path, folder: Path) -> dict[str, Path]:
    return {name: _ffmpeg(["-i", str(src), *opts], folder / f"{src.stem}-{name}.mp4")
            for name, opts in COPIES.items()}


def plain_pictures(folder: Path, seconds: int = 40) -> dict[str, Path]:
    """A black clip and a test pattern (ffmpeg's own sources), 24 fps."""
    return {name: _ffmpeg(["-f", "lavfi", "-i", f"{src}size=640x360:rate=24:duration={seconds}"],
                          folder / f"{name}.mp4")
            for name, src in (("black", "color=c=black:"), ("pattern", "testsrc="))}


_memo: dict[tuple[str, int], tuple[list, float]] = {}


def _chords(video: Path, seed: int, folder: Path):
    """The per-second chords (relative to the key) and the tempo of a video, as arranged."""
    if (str(video), seed) not in _memo:
        _memo[str(video), seed] = _score(video, seed, folder)
    return _memo[str(video), seed]


def _score(video: Path, seed: int, folder: Path):
    from v2m_desktop.core.arrange import stats as st
    from v2m_desktop.core.compose import ComposeSettings
    from v2m_desktop.core.device import pick_device
    from v2m_desktop.core.engine import Engine
    from v2m_desktop.core.model.checkpoint import load_models
    from v2m_desktop.core.model.generate import SamplingOptions
    from v2m_desktop.core.pipeline import ScoreSettings
    from v2m_desktop.core.scoring import new_project, write_chords
    settings = ScoreSettings(vision="basic", cache_dir=folder / "cache",
                             compose=ComposeSettings(key=KEY, sampling=SamplingOptions(seed=seed)))
    models = load_models(device=pick_device(settings.device))      # read once per process
    w = write_chords(video, settings, models)
    engine = Engine(new_project(video, w.analysis, w.chords, settings, w.chord_seed), analysis=w.analysis,
                    models=models)
    arr = engine.arrangement()
    return st.per_second(arr, 0), arr.tempo


def agreement(a: list, b: list) -> float:
    n = min(len(a), len(b))
    return float(np.mean([x == y for x, y in zip(a[:n], b[:n])])) if n else float("nan")


def bench_picture(media: Path, folder: Path, seeds=range(3), progress: Progress | None = None) -> dict:
    folder = Path(folder)
    names = ("big_buck_bunny_360p_56s.mp4", "sintel_trailer_480x204.mp4")
    shared = {n.split("_")[0]: media / n for n in names if (media / n).is_file()}
    out: dict = {"seeds": list(seeds), "copies": {}, "tempo": {}}
    for name, src in shared.items():
        for copy, path in copies(src, folder).items():
            keep, tempi = [], []
            for seed in seeds:
                report(progress, f"{name} {copy} seed {seed}", 0.0)
                a, ta = _chords(src, seed, folder)
                b, tb = _chords(path, seed, folder)
                keep.append(agreement(a, b))
                tempi = [ta, tb]
            out["copies"][f"{name} {copy}"] = float(np.mean(keep))
            out["tempo"][f"{name} {copy}"] = tempi
    pictures = {**plain_pictures(folder), **shared}
    shares = []
    for seed in seeds:
        report(progress, f"different pictures seed {seed}", 0.0)
        per = {name: _chords(path, seed, folder)[0] for name, path in pictures.items()}
        shares += [agreement(per[x], per[y]) for x, y in itertools.combinations(per, 2)]
    out["different_pictures"] = float(np.mean(shares))
    return out


def picture_lines(r: dict) -> list[str]:
    lines = [f"harmony and the picture (seeds {r['seeds'][0]}-{r['seeds'][-1]}, {KEY}):"]
    for name, keep in r["copies"].items():
        ta, tb = r["tempo"][name]
        lines.append(f"  {name:22s} keeps {keep:.2f} of per-second chords (target >= 0.80); tempo "
                     f"{ta:.1f} -> {tb:.1f} BPM")
    lines.append(f"  different pictures (black, test pattern, Big Buck Bunny, Sintel) share "
                 f"{r['different_pictures']:.2f} of per-second chords (target <= 0.30)")
    return lines
