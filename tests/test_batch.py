"""`v2m batch`: inputs, outputs under OUTDIR with relative paths kept, the manifest, resuming,
a failing video among good ones, worker processes, and Ctrl-C."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from v2m_desktop.cli import main
from v2m_desktop.core.batch import MANIFEST, collect
from v2m_desktop.core.errors import V2MError
from v2m_desktop.core.project import open_project
from v2m_desktop.core.video.synthetic import make_test_video

pytestmark = pytest.mark.slow      # end to end, in processes of their own (CI runs them; -m 'not slow' skips)


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """in/a.mp4, in/trip/b.mp4, in/trip/c.mov, a broken in/trip/broken.mp4, and a list file."""
    root = tmp_path_factory.mktemp("lib")
    lib = root / "in"
    (lib / "trip").mkdir(parents=True)
    for i, name in enumerate(["a.mp4", "trip/b.mp4", "trip/c.mov"]):
        make_test_video(lib / name, 5, fps=24, size=(192, 108), cuts=[1.5 + 0.4 * i, 3.5])
    (lib / "trip" / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom" + b"junk" * 300)
    (root / "list.txt").write_text("# two of them\nin/a.mp4\n\nin/trip/b.mp4\n")
    return root


def test_collect_folders_lists_and_files(library):
    items = collect([library / "in"])
    rels = sorted(str(i.rel) for i in items)
    assert rels == ["in/a", "in/trip/b", "in/trip/broken", "in/trip/c"]
    items = collect([library / "list.txt", library / "in" / "a.mp4"])        # a.mp4 only once
    assert [str(i.rel) for i in items] == ["in/a", "in/trip/b"]
    with pytest.raises(V2MError, match="no such video"):
        collect([library / "missing.mp4"])
    other = library / "other" / "in"
    other.mkdir(parents=True, exist_ok=True)
    make_test_video(other / "a.mp4", 2, fps=24, size=(64, 64), cuts=[])
    with pytest.raises(V2MError, match="same outputs"):
        collect([library / "in" / "a.mp4", other / "a.mp4"])


def _manifest(outdir):
    return [json.loads(line) for line in (outdir / MANIFEST).read_text().splitlines()]


def test_batch_scores_resumes_and_reports_failures(library, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["batch", str(library / "in"), "-o", str(out), "--midi", "--project", "--seed", "2",
            "--vision", "basic", "--quiet", "--jobs", "1"]
    assert main(args) == 1                                      # one video failed, the rest done
    text = capsys.readouterr()
    assert "3 done, 0 skipped, 1 failed" in text.out and "broken.mp4" in text.out
    for rel in ("in/a", "in/trip/b", "in/trip/c"):
        assert (out / f"{rel}.mp4").is_file() and (out / f"{rel}.mid").is_file()
        assert open_project(out / f"{rel}.v2m").seconds == 5                   # an editable project
    assert not (out / "in" / "trip" / "broken.mp4").exists()
    recs = {os.path.basename(r["input"]): r for r in _manifest(out)}
    assert recs["broken.mp4"]["status"] == "failed" and recs["broken.mp4"]["error"]
    assert recs["b.mp4"]["status"] == "done" and recs["b.mp4"]["seconds"] > 0
    assert not [p for p in out.rglob("*") if p.name.startswith(".")]      # no temporary files

    # again: the done ones are skipped, the failed one tried again; an edited video runs again
    make_test_video(library / "in" / "a.mp4", 4, fps=24, size=(192, 108), cuts=[2.0])
    before = (out / "in" / "trip" / "b.mp4").stat().st_mtime_ns
    assert main(args) == 1
    text = capsys.readouterr()
    assert "1 done, 2 skipped, 1 failed" in text.out
    assert (out / "in" / "trip" / "b.mp4").stat().st_mtime_ns == before
    assert len(_manifest(out)) == 4 + 2


def test_two_workers_write_what_one_writes(library, tmp_path):
    """Same seed, same bytes: the MIDI, the WAV and the stems, with one worker or two."""
    outs = []
    for jobs in (1, 2):
        out = tmp_path / f"jobs{jobs}"
        assert main(["batch", str(library / "list.txt"), "-o", str(out), "--midi", "--wav", "--stems",
                     "--seed", "5", "--vision", "basic", "--quiet", "--jobs", str(jobs)]) == 0
        outs.append(out)
    files = sorted(p.relative_to(outs[0]) for p in outs[0].rglob("*") if p.suffix in (".mid", ".wav"))
    assert {f.suffix for f in files} == {".mid", ".wav"} and len(files) > 4
    for rel in files:
        assert (outs[0] / rel).read_bytes() == (outs[1] / rel).read_bytes(), rel


def test_ctrl_c_keeps_finished_videos_and_leaves_no_half_file(library, tmp_path):
    src = tmp_path / "many"
    src.mkdir()
    for i in range(6):
        make_test_video(src / f"v{i}.mp4", 8, fps=24, size=(192, 108), cuts=[2.0, 5.0])
    out, tmp = tmp_path / "out", tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    proc = subprocess.Popen([sys.executable, "-m", "v2m_desktop.cli", "batch", str(src), "-o", str(out),
                             "--seed", "1", "--vision", "basic", "--jobs", "1", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:          # wait for the first finished video
        if (out / MANIFEST).is_file() and (out / MANIFEST).read_text().strip():
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)          # Ctrl-C reaches the whole process group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    done = [r for r in _manifest(out) if r["status"] == "done"]
    assert 1 <= len(done) < 6
    for r in done:
        assert all(os.path.isfile(p) for p in r["outputs"].values())
    written = sorted(p.name for p in out.rglob("*") if p.is_file())
    assert written == sorted([MANIFEST] + [os.path.basename(r["outputs"]["mp4"]) for r in done])
    assert list(tmp.iterdir()) == []
