"""`v2m score`'s promise about outputs (issue 18): colliding outputs refused before any work,
SIGTERM and SIGHUP during the export leave nothing behind (no file, no child process), a run
killed with SIGKILL is cleaned up after by the next one, and a bad input or SoundFont gets one
line on stderr, with no progress bar and no library noise before it."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from v2m_desktop.cli import main
from v2m_desktop.core.cleanup import STALE_S
from v2m_desktop.core.video.synthetic import make_test_video

BASIC = ["--vision", "basic", "--seed", "1"]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    make_test_video(path, 6, fps=12, size=(96, 64), cuts=[2.0, 4.0])
    return path


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory):
    """A minute of tiny frames: cheap to analyse, but the export (AAC of 60 s) takes ~0.7 s,
    long enough to be signalled in the middle of it (the test looks every 10 ms); two minutes
    took twice as long to compose and render for nothing."""
    path = tmp_path_factory.mktemp("long") / "long.mp4"
    make_test_video(path, 60, fps=4, size=(64, 48), cuts=[15.0, 30.0, 45.0])
    return path


def _one_line(capfd) -> str:
    err = capfd.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


# --------------------------------------------------------------------------------------------- #
# colliding outputs

def _collisions(d: Path, clip: Path):
    (d / "a.wav").write_bytes(b"old a")
    (d / "b.wav").hardlink_to(d / "a.wav")
    (d / "sub").mkdir()
    (d / "link.mp4").symlink_to(d / "o.mp4")           # dangling: o.mp4 is not there yet
    o = str(d / "o.mp4")
    return [
        ["-o", o, "--wav", o],                                      # the case
        ["-o", o, "--midi", str(d / "sub" / ".." / "." / "o.mp4")],
        ["-o", str(d / "link.mp4"), "--wav", o],                    # a symlink to another output
        ["--wav", str(d / "a.wav"), "--midi", str(d / "b.wav")],    # hard links to one file
        ["-o", o, "--stems", str(d / "st"), "--wav", str(d / "st" / "piano.wav")],
        ["-o", o, "--stems", o],
        ["-o", o, "--wav", str(clip)],                              # the input
    ]


def test_colliding_outputs_are_refused_before_any_work(clip, tmp_path, capfd):
    before = clip.read_bytes()
    for args in _collisions(tmp_path, clip):
        listing = sorted(p.name for p in tmp_path.iterdir())
        assert main(["score", str(clip), *args, "--quiet", *BASIC]) == 2, args
        err = _one_line(capfd)
        assert "same file" in err or "is the input" in err or "both" in err, (args, err)
        assert sorted(p.name for p in tmp_path.iterdir()) == listing, args    # nothing made
    assert (tmp_path / "a.wav").read_bytes() == b"old a" and clip.read_bytes() == before


def test_a_refusal_leaves_no_stems_folder(clip, tmp_path, capfd):
    stems = tmp_path / "new" / "stems"
    assert main(["score", str(clip), "-o", str(tmp_path / "o.mp4"), "--stems", str(stems),
                 "--soundfont", str(tmp_path / "none.sf2"), "--quiet", *BASIC]) == 2
    assert "none.sf2" in _one_line(capfd)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------- #
# one line

def test_bad_input_shows_no_progress_bar(tmp_path, capfd):
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    for argv in (["score", str(bad), "-o", str(tmp_path / "o.mp4")], ["analyse", str(bad)]):
        assert main([*argv, "--vision", "basic"]) == 2          # bars on: no --quiet
        err = _one_line(capfd)
        assert "notes.mp4" in err and "analyse" not in err and "%" not in err, err


def test_damaged_soundfont_is_one_line(clip, tmp_path, capfd):
    from v2m_desktop.core.render import default_soundfont
    good = default_soundfont().read_bytes()
    truncated = tmp_path / "truncated.sf2"
    truncated.write_bytes(good[:300_000])
    hollow = tmp_path / "hollow.sf2"       # its size is right, its chunks are not: FluidSynth fails
    hollow.write_bytes(good[:12] + bytes(len(good) - 12))
    for sf2 in (truncated, hollow):
        assert main(["score", str(clip), "-o", str(tmp_path / "o.mp4"), "--soundfont", str(sf2),
                     "--quiet", *BASIC]) == 2
        err = _one_line(capfd)              # file-descriptor level: FluidSynth's and GLib's too
        assert sf2.name in err and "fluidsynth:" not in err, err
    assert not (tmp_path / "o.mp4").exists() and not list(tmp_path.glob(".*"))


# --------------------------------------------------------------------------------------------- #
# signals

def _children(pid: int) -> dict[int, str]:
    """pid -> command name of the processes whose parent is `pid`."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        if int(rest[1]) == pid:
            out[int(entry.name)] = comm
    return out


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _score_until_export(video: Path, tmp_path: Path):
    """Start `v2m score` (output in tmp_path/out, TMPDIR tmp_path/tmp) and return once its
    export runs: (the process, its ffmpeg's pid, the output folder, the temporary folder)."""
    out_dir, tmpdir = tmp_path / "out", tmp_path / "tmp"
    out_dir.mkdir()
    tmpdir.mkdir()
    env = {**os.environ, "TMPDIR": str(tmpdir)}
    proc = subprocess.Popen([sys.executable, "-m", "v2m_desktop.cli", "score", str(video),
                             "-o", str(out_dir / "scored.mp4"), "--quiet", *BASIC], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 120 and proc.poll() is None:
        ffmpeg = [p for p, comm in _children(proc.pid).items() if comm.startswith("ffmpeg")]
        # the export's ffmpeg, not the analysis's (it reads the sound for speech): the export's
        # temporary output is there
        if ffmpeg and list(out_dir.iterdir()):
            assert list(tmpdir.iterdir())     # the export is under way
            return proc, ffmpeg[0], out_dir, tmpdir
        time.sleep(0.01)
    proc.kill()
    pytest.fail(f"the export's ffmpeg was never seen: {proc.communicate()}")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_signal_during_export_leaves_nothing(long_clip, tmp_path, signum, code):
    proc, ffmpeg, out_dir, tmpdir = _score_until_export(long_clip, tmp_path)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code
    assert err.strip() == f"v2m: interrupted by {signal.Signals(signum).name}"
    assert list(out_dir.iterdir()) == [] and list(tmpdir.iterdir()) == []
    assert not _running(ffmpeg)
    assert not _children(proc.pid)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_the_next_run_sweeps_what_a_killed_run_left(long_clip, clip, tmp_path, monkeypatch):
    proc, ffmpeg, out_dir, tmpdir = _score_until_export(long_clip, tmp_path)
    proc.kill()                             # SIGKILL: no clean-up can run
    proc.communicate()
    try:
        os.killpg(ffmpeg, signal.SIGKILL)   # its ffmpeg (own group) may write on, or die of SIGPIPE
    except ProcessLookupError:
        pass
    left = [*out_dir.iterdir(), *tmpdir.iterdir()]
    assert {p.suffix for p in left} == {".part", ".wav", ".m4a"}     # the export, its WAV and AAC
    # a dead owner's file still fresh, and an old one whose owner (this test) is alive: kept
    fresh = out_dir / f".x.mp4.v2m-{proc.pid}-0123abcd.part"
    mine = tmpdir / f".v2m.v2m-{os.getpid()}-0123abcd.wav"
    for p in (fresh, mine):
        p.write_bytes(b"")
    old = time.time() - STALE_S - 60
    for p in (*left, mine):
        os.utime(p, (old, old))
    monkeypatch.setattr(tempfile, "tempdir", str(tmpdir))
    assert main(["score", str(clip), "-o", str(out_dir / "next.mp4"), "--quiet", *BASIC]) == 0
    assert sorted(p.name for p in out_dir.iterdir()) == sorted([fresh.name, "next.mp4"])
    assert [p.name for p in tmpdir.iterdir()] == [mine.name]


def _extent(path: Path, stream: str) -> tuple[float, float]:
    """(the stream's start, the end of its last packet) in seconds, as ffprobe reads them."""
    import json
    import shutil
    if shutil.which("ffprobe") is None:
        pytest.skip("ffprobe not installed")
    out = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", stream, "-show_entries",
         "stream=start_time:packet=pts_time,duration_time", "-of", "json", str(path)],
        capture_output=True, text=True, check=True).stdout)
    end = max(float(p["pts_time"]) + float(p.get("duration_time") or 0) for p in out["packets"])
    return float(out["streams"][0]["start_time"]), end


def test_a_vfr_clip_whose_video_starts_late_exports_its_video_length(tmp_path, capfd):
    """A VFR MKV (jittered timestamps) written through a pipe, as a recorder writes it (no
    durations in the file), its video starting 0.133 s after its sound: the MP4 lasts as long as
    the video, within a frame, and its video and music both start at 0 (it came out 8.823 s
    for 8.700 s of video, the music 0.123 s ahead of the picture)."""
    from v2m_desktop.core.files import ffmpeg_exe
    vfr = tmp_path / "vfr.mkv"
    with vfr.open("wb") as f:
        subprocess.run([ffmpeg_exe(), "-v", "error",
                        "-f", "lavfi", "-i", "testsrc=size=160x120:rate=30:duration=4",
                        "-f", "lavfi", "-i", "sine=frequency=440:duration=4.3",
                        "-vf", "setpts='(0.133+N/30+0.02*mod(N,7))/TB'", "-fps_mode", "vfr",
                        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "matroska", "-"],
                       stdout=f, check=True)
    first, end = _extent(vfr, "v:0")
    assert first >= 0.09            # the sound's AAC priming moves it a little
    out = tmp_path / "out.mp4"
    assert main(["score", str(vfr), "-o", str(out), "--quiet", *BASIC]) == 0
    v0, v1 = _extent(out, "v:0")
    a0, a1 = _extent(out, "a:0")
    assert v0 == pytest.approx(0, abs=1e-3) and a0 == pytest.approx(0, abs=1e-3)
    assert max(v1, a1) == pytest.approx(end - first, abs=1 / 30)
