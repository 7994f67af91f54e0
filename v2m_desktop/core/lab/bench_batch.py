"""`v2m bench batch`: 8 short clips scored one after another with `v2m score` (a process each,
as a user scores them by hand) against one `v2m batch` over the same clips, each run with an
empty analysis cache."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def bench_batch(clips: int = 8, seconds: int = 8, jobs: int | None = None) -> dict:
    from v2m_desktop.core.batch import default_jobs
    from v2m_desktop.core.video.synthetic import make_test_video
    jobs = jobs or default_jobs()
    with tempfile.TemporaryDirectory(prefix="v2m-bench-batch-") as tmp:
        d = Path(tmp)
        inputs = d / "clips"
        inputs.mkdir()
        for i in range(clips):
            make_test_video(inputs / f"clip{i}.mp4", seconds, fps=24, size=(480, 270),
                            cuts=[1.5 + 0.3 * i, seconds / 2 + 0.4, seconds - 1.5])
        cli = [sys.executable, "-m", "v2m_desktop.cli"]
        common = ["--vision", "basic", "--quiet", "--seed", "1"]

        def run(cmd: list[str], cache: str) -> None:
            env = {**os.environ, "V2M_CACHE_DIR": str(d / cache)}
            r = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd[2:5])} failed: {r.stderr.strip()[-300:]}")

        t0 = time.perf_counter()
        for i in range(clips):
            run(cli + ["score", str(inputs / f"clip{i}.mp4"), "-o", str(d / f"serial{i}.mp4")] + common,
                "cache-serial")
        serial = time.perf_counter() - t0
        t0 = time.perf_counter()
        run(cli + ["batch", str(inputs), "-o", str(d / "batch"), "--jobs", str(jobs)] + common, "cache-batch")
        batch = time.perf_counter() - t0
    return {"clips": clips, "clip_seconds": seconds, "jobs": jobs, "serial_s": serial, "batch_s": batch,
            "serial_per_min": 60 * clips / serial, "batch_per_min": 60 * clips / batch,
            "speedup": serial / batch}
