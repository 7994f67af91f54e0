"""`v2m batch --ray` on a local in-process Ray cluster (2 CPUs): the same outputs as local mode,
a failing clip reported with the others done, and a worker killed mid-run whose video still
finishes (Ray's task retry).  Skipped where Ray is not installed."""
from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from v2m_desktop.core.arrange import ArrangeOptions  # noqa: E402
from v2m_desktop.core.batch import Request, collect, run_batch  # noqa: E402
from v2m_desktop.core.compose import ComposeSettings  # noqa: E402
from v2m_desktop.core.model.generate import SamplingOptions  # noqa: E402
from v2m_desktop.core.pipeline import ScoreSettings  # noqa: E402
from v2m_desktop.core.video.synthetic import make_test_video  # noqa: E402

pytestmark = pytest.mark.slow      # end to end, in processes of their own (CI runs them; -m 'not slow' skips)


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("ray-clips")
    for i in range(4):
        make_test_video(d / f"clip{i}.mp4", 5, fps=24, size=(192, 108), cuts=[1.5 + 0.3 * i, 3.5])
    return d


def _request(outdir: Path) -> Request:
    settings = ScoreSettings(vision="basic", compose=ComposeSettings(sampling=SamplingOptions(seed=7)),
                             arrange=ArrangeOptions(seed=7))
    return Request(outdir, settings, midi=True)


def test_ray_writes_what_local_mode_writes(cluster, clips, tmp_path):
    items = collect([clips / "clip0.mp4", clips / "clip1.mp4"])     # one a CPU at once
    local = run_batch(items, _request(tmp_path / "local"), jobs=1)
    remote = run_batch(items, _request(tmp_path / "ray"), ray="auto")
    assert len(local.done) == len(remote.done) == 2 and not remote.failed
    for item in items:
        rel = f"{item.rel}.mid"
        assert (tmp_path / "ray" / rel).read_bytes() == (tmp_path / "local" / rel).read_bytes()


def test_ray_reports_a_failing_clip_and_finishes_the_others(cluster, clips, tmp_path):
    bad = tmp_path / "in" / "bad.mp4"
    bad.parent.mkdir()
    bad.write_bytes(b"not a video at all" * 50)
    items = collect([clips / "clip0.mp4", clips / "clip1.mp4", bad])
    summary = run_batch(items, _request(tmp_path / "out"), ray="auto")
    assert len(summary.done) == 2 and len(summary.failed) == 1
    assert "bad.mp4" in summary.failed[0][1].error


def _task_pids() -> list[int]:
    pids = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if b"ray::_score_task" in (p / "cmdline").read_bytes():
                    pids.append(int(p.name))
            except OSError:
                pass
    return pids


def test_a_killed_worker_does_not_lose_its_video(cluster, clips, tmp_path):
    items = collect([clips])
    killed = []

    def killer():
        end = time.monotonic() + 60
        while time.monotonic() < end and not killed:
            for pid in _task_pids():
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                break
            time.sleep(0.02)
    t = threading.Thread(target=killer)
    t.start()
    summary = run_batch(items, _request(tmp_path / "out"), ray="auto")
    t.join()
    assert killed, "no Ray task was seen running"
    assert len(summary.done) == 4 and not summary.failed
    for item in items:
        assert (tmp_path / "out" / f"{item.rel}.mp4").is_file()
