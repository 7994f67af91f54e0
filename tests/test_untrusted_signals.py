"""Signals at every stage of `v2m score`, and during `v2m edit`: one "v2m: interrupted" line, the
signal's exit code, no traceback, no crash (SIGSEGV), nothing written, no temporary file left."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from v2m_desktop.core.video.synthetic import make_test_video

ROOT = Path(__file__).resolve().parents[1]
CODES = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("sig") / "clip.mp4"
    make_test_video(path, 40, fps=30, size=(480, 270), cuts=[5.0, 12.0, 20.0, 31.0], texture=True)
    return path


def _run_until(args: list[str], stage: str, signum: int, cwd: Path, after_s: float = 0.3):
    """Start `v2m ARGS` (progress bars on), send `signum` `after_s` s after `stage`'s bar
    appears; (exit code, stderr)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "V2M_CACHE_DIR": str(cwd / "cache"), "TMPDIR": str(cwd)}
    proc = subprocess.Popen([sys.executable, "-m", "v2m_desktop.cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen = threading.Event()
    err: list[bytes] = []

    def read() -> None:
        for chunk in iter(lambda: proc.stderr.read1(4096), b""):
            err.append(chunk)
            if stage.encode() in b"".join(err):
                seen.set()
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert seen.wait(120), b"".join(err).decode(errors="replace")
    time.sleep(after_s)
    proc.send_signal(signum)
    proc.wait(60)
    reader.join(10)
    return proc.returncode, b"".join(err).decode(errors="replace")


def _last_line(err: str) -> str:
    return err.replace("\r", "\n").strip().splitlines()[-1]


@pytest.mark.parametrize("stage, signum", [
    ("analyse", signal.SIGINT), ("analyse", signal.SIGTERM), ("analyse", signal.SIGHUP),
    ("render", signal.SIGINT), ("render", signal.SIGTERM), ("export", signal.SIGINT),
])
def test_a_signal_at_any_stage_is_one_line(clip, tmp_path, stage, signum):
    work = tmp_path / "w"
    work.mkdir()
    code, err = _run_until(["score", str(clip), "-o", "o.mp4", "--vision", "basic", "--project", "o.v2m"],
                           stage, signum, work)
    assert code == CODES[signum], err
    assert "Traceback" not in err and "Fatal Python error" not in err
    name = "" if signum == signal.SIGINT else f" by {signal.Signals(signum).name}"
    assert _last_line(err) == f"v2m: interrupted{name}"
    assert {p.name for p in work.iterdir()} <= {"cache"}             # no output, no temporary file
    assert not [p for p in work.rglob("*") if ".v2m-" in p.name]


def test_sigint_early_in_analysis_never_crashes(clip, tmp_path):
    """The SIGSEGV of issue 25: SIGINT soon after analysis starts, on an empty cache."""
    for i, after in enumerate((0.0, 0.1, 0.3, 0.5)):
        work = tmp_path / f"w{i}"
        work.mkdir()
        code, err = _run_until(["analyse", str(clip), "--vision", "basic"], "analyse", signal.SIGINT, work,
                               after_s=after)
        assert code == 130 and _last_line(err) == "v2m: interrupted", err
