"""`v2m batch` with hostile inputs: list lines that climb out with '..', OUTDIR inside the input
folder, damaged manifests, an unreachable Ray address, a full disk under the manifest, and a
SIGKILLed batch whose workers must die with it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from v2m_desktop.cli import main
from v2m_desktop.core.batch import MANIFEST, Manifest, Record, Request, collect, run_batch
from v2m_desktop.core.errors import V2MError
from v2m_desktop.core.pipeline import ScoreSettings
from v2m_desktop.core.video.synthetic import make_test_video

pytestmark = pytest.mark.slow      # end to end, in processes of their own (CI runs them; -m 'not slow' skips)

ROOT = Path(__file__).resolve().parents[1]


def test_a_list_line_with_dots_stays_under_outdir_and_damaged_manifest_lines_skip(tmp_path, capsys):
    """lists/l.txt holds '../in/clip.mkv': the output is OUTDIR/in/clip.mp4, never in/clip.mp4
    (the user's own file); manifest lines of the wrong types are skipped with one line."""
    (tmp_path / "in").mkdir()
    (tmp_path / "lists").mkdir()
    make_test_video(tmp_path / "in" / "clip.mkv", 3, fps=24, size=(128, 72), cuts=[1.5])
    precious = tmp_path / "in" / "clip.mp4"
    precious.write_bytes(b"the user's own file")
    (tmp_path / "lists" / "l.txt").write_text("../in/clip.mkv\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / MANIFEST).write_text("\n".join([
        json.dumps({"input": "x", "content_hash": "f", "settings": "s", "status": "done", "outputs": 7}),
        json.dumps({"input": "y", "content_hash": "f", "settings": "s", "status": "done",
                    "outputs": {"mp4": 7}}),
        "[]", "{cut short"]) + "\n")
    items = collect([tmp_path / "lists" / "l.txt"], outdir=out)
    assert [str(i.rel) for i in items] == ["in/clip"]
    capsys.readouterr()
    assert main(["batch", str(tmp_path / "lists" / "l.txt"), "-o", str(out), "--vision", "basic",
                 "--seed", "1", "--jobs", "1", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "4 damaged lines of the manifest skipped" in err and "Traceback" not in err
    assert precious.read_bytes() == b"the user's own file"
    assert (out / "in" / "clip.mp4").stat().st_size > 1000
    assert not (tmp_path / "clip.mp4").exists()


def test_outdir_inside_the_input_folder_is_never_read(tmp_path):
    lib = tmp_path / "in"
    (lib / "scored" / "in").mkdir(parents=True)
    make_test_video(lib / "a.mp4", 2, fps=24, size=(64, 64), cuts=[])
    (lib / "scored" / "in" / "a.mp4").write_bytes((lib / "a.mp4").read_bytes())   # a first run's output
    assert [str(i.rel) for i in collect([lib], outdir=lib / "scored")] == ["in/a"]
    assert len(collect([lib])) == 2             # without OUTDIR it is just a folder


def test_outputs_through_a_link_out_of_outdir_are_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", out / "in")
    (tmp_path / "in").mkdir()
    make_test_video(tmp_path / "in" / "a.mp4", 2, fps=24, size=(64, 64), cuts=[])
    summary = run_batch(collect([tmp_path / "in"]), Request(out, ScoreSettings(vision="basic")), jobs=1)
    assert not summary.done and "outside the output folder" in summary.failed[0][1].error
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_a_manifest_that_is_a_folder_or_full_is_one_line(tmp_path):
    out = tmp_path / "out"
    (out / MANIFEST).mkdir(parents=True)
    with pytest.raises(V2MError, match="is a folder"):
        Manifest(out)
    other = tmp_path / "other"
    other.mkdir()
    m = Manifest(other)
    os.symlink("/dev/full", m.path)         # every write: "No space left on device"
    with pytest.raises(V2MError, match="cannot write the manifest .*No space left"):
        m.append(Record("a", "f", "s", "done"))


def test_an_unreachable_ray_address_is_one_line(tmp_path, capsys):
    pytest.importorskip("ray")
    make_test_video(tmp_path / "a.mp4", 2, fps=24, size=(64, 64), cuts=[])
    capsys.readouterr()
    assert main(["batch", str(tmp_path / "a.mp4"), "-o", str(tmp_path / "out"), "--ray", "127.0.0.1:1",
                 "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("v2m: cannot reach the Ray cluster at '127.0.0.1:1'") and "\n" not in err
    assert not (tmp_path / "out").exists()


def _children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(d.name))
            except (OSError, IndexError, ValueError):
                pass
    return out


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_workers_die_with_a_killed_batch(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(4):
        make_test_video(src / f"v{i}.mp4", 20, fps=24, size=(320, 180), cuts=[5.0, 12.0])
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "v2m_desktop.cli", "batch", str(src), "-o", str(out),
                             "--vision", "basic", "--jobs", "2", "--quiet"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT)})
    workers: list[int] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(workers) < 2:
        workers = [c for c in _children(proc.pid) if "spawn_main" in _cmdline(c)]
        time.sleep(0.1)
    assert len(workers) >= 2
    time.sleep(3)                           # the models loaded, videos under way
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers)
    recorded = set()
    if (out / MANIFEST).is_file():
        recorded = {Path(json.loads(ln)["outputs"]["mp4"]).name
                    for ln in (out / MANIFEST).read_text().splitlines() if '"done"' in ln}
    assert {p.name for p in out.rglob("*.mp4")} <= recorded
    assert not [p for p in out.rglob("*") if ".v2m-" in p.name]        # their temporary files removed


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
