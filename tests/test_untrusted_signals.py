"""Signals at every stage of `v2m score`, and during `v2m edit`: one "v2m: interrupted" line, the
signal's exit code, no traceback, no crash (SIGSEGV), nothing written, no temporary file left."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from v2m_desktop.core.video.synthetic import make_test_video

pytestmark = pytest.mark.slow      # end to end, in processes of their own (CI runs them; -m 'not slow' skips)

ROOT = Path(__file__).resolve().parents[1]
CODES = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("sig") / "clip.mp4"
    make_test_video(path, 40, fps=30, size=(480, 270), cuts=[5.0, 12.0, 20.0, 31.0], texture=True)
    return path


@pytest.fixture(scope="module")
def analysed(clip, tmp_path_factory):
    """An analysis cache holding the clip's analysis: a run signalled after the analysis starts
    from it (the analysis of 40 s took as long as the stages after it)."""
    from v2m_desktop.cli import main
    cache = tmp_path_factory.mktemp("sig-cache") / "cache"
    with pytest.MonkeyPatch.context() as m:
        m.setenv("V2M_CACHE_DIR", str(cache))
        assert main(["analyse", str(clip), "--vision", "basic", "--quiet"]) == 0
    assert any(cache.iterdir())
    return cache


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


def _wait_handling(proc: subprocess.Popen) -> None:
    """Until `v2m` handles SIGTERM (its handlers are in place; before that, during the
    interpreter's own start-up, a signal is Python's default)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
        except OSError:
            return
        caught = int(next(ln.split()[1] for ln in status.splitlines() if ln.startswith("SigCgt:")), 16)
        if caught >> (signal.SIGTERM - 1) & 1:
            return
        time.sleep(0.005)


def _last_line(err: str) -> str:
    return err.replace("\r", "\n").strip().splitlines()[-1]


@pytest.mark.parametrize("stage, signum", [
    ("analyse", signal.SIGINT), ("analyse", signal.SIGTERM), ("analyse", signal.SIGHUP),
    ("compose", signal.SIGINT), ("render", signal.SIGINT), ("render", signal.SIGTERM),
])   # the export stage: tests/test_score_outputs.py signals it while its ffmpeg runs
def test_a_signal_at_any_stage_is_one_line(clip, analysed, tmp_path, stage, signum):
    work = tmp_path / "w"
    work.mkdir()
    if stage != "analyse":              # the analysis is not what is signalled: done already
        shutil.copytree(analysed, work / "cache")
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


def test_a_signal_during_edit_leaves_the_old_or_the_new_project(tmp_path):
    """SIGINT at moments from start-up to the save of `v2m edit`: no traceback; exit 0 with the
    edit saved, or 130 with "v2m: interrupted" and the project as it was."""
    from v2m_desktop.cli import main
    from v2m_desktop.core.project import open_project
    clip = tmp_path / "c.mp4"
    make_test_video(clip, 6, fps=24, size=(128, 72), cuts=[3.0])
    proj = tmp_path / "p.v2m"
    assert main(["project", "new", str(clip), "-o", str(proj), "--vision", "basic", "--quiet"]) == 0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for after in (0.0, 0.3, 0.6, 1.0, 1.5, 2.0, 3.0):
        before = proj.read_bytes()
        was = open_project(proj).locks
        proc = subprocess.Popen([sys.executable, "-m", "v2m_desktop.cli", "edit", str(proj),
                                 "--unlock" if 1 in was else "--lock", "1-2"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        _wait_handling(proc)
        time.sleep(after)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert "Traceback" not in err and proc.returncode in (0, 130), (after, proc.returncode, err)
        now = open_project(proj).locks
        if proc.returncode == 130:
            assert err.strip().splitlines()[-1] == "v2m: interrupted" and proj.read_bytes() == before
        else:
            assert (1 in now) != (1 in was)
        assert not [p for p in tmp_path.iterdir() if ".v2m-" in p.name]
