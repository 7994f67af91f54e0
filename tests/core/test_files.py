"""Writing outputs all or nothing (issue 18): a run's outputs renamed together or not at all,
folders it made removed on failure, temporary names within the name limit, resolved-path
collisions, and full disks (a real small tmpfs: as root, else skipped) naming the right folder."""
from __future__ import annotations

import re
import subprocess
import tempfile
import threading
import wave
from pathlib import Path

import numpy as np
import pytest

from v2m_desktop.core import cleanup
from v2m_desktop.core.errors import Cancelled, V2MError
from v2m_desktop.core.export import export_mp4, write_stems, write_wav
from v2m_desktop.core.files import output_set, same_file
from v2m_desktop.core.pipeline import Outputs, ScoreSettings, export_score
from v2m_desktop.core.scoring import score_video
from v2m_desktop.core.video.synthetic import make_test_video

SR = 44100


def _tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    s = (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)
    return np.stack([s, s], 1)


def _everything(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_long_names_fit(tmp_path):
    """A legal 250-byte name: the temporary name beside it is cut to fit, not refused."""
    for name in ("a" * 246 + ".wav", "\u00e9" * 123 + ".wav"):      # 250 bytes, ASCII and UTF-8
        assert len(name.encode()) == 250
        path = write_wav(_tone(0.1), SR, tmp_path / name)
        with wave.open(str(path)) as w:
            assert w.getnframes() == int(0.1 * SR)
    assert len(list(tmp_path.iterdir())) == 2 and not list(tmp_path.glob(".*"))


def test_a_failure_renames_nothing_and_removes_the_folders_made(tmp_path):
    (tmp_path / "old.wav").write_bytes(b"the user's")
    with pytest.raises(Cancelled), output_set():
        write_wav(_tone(0.1), SR, tmp_path / "old.wav")
        write_stems({"piano": _tone(0.1), "bass": _tone(0.1)}, SR, tmp_path / "new" / "stems")
        assert len(_everything(tmp_path)) == 6      # old.wav, 2 folders, 3 temporary files
        raise Cancelled()
    assert _everything(tmp_path) == ["old.wav"] and (tmp_path / "old.wav").read_bytes() == b"the user's"
    with output_set():                               # all written: all renamed
        write_wav(_tone(0.1), SR, tmp_path / "old.wav")
        write_stems({"piano": _tone(0.1)}, SR, tmp_path / "new" / "stems")
        assert not (tmp_path / "new" / "stems" / "piano.wav").exists()
    assert _everything(tmp_path) == ["new", "new/stems", "new/stems/piano.wav", "old.wav"]
    assert (tmp_path / "old.wav").read_bytes()[:4] == b"RIFF"


def test_clean_up_from_another_thread_stops_an_export(tmp_path):
    """What the app calls when it abandons a job: the worker's ffmpeg is ended, the job ends
    with Cancelled, and nothing is left."""
    video = tmp_path / "v.mp4"
    make_test_video(video, 60, fps=2, size=(64, 48))
    out = tmp_path / "out"
    out.mkdir()
    running, errors = threading.Event(), []

    def work():
        try:
            export_mp4(video, _tone(60), SR, out / "o.mp4", duration=60.0,
                       progress=lambda stage, f: running.set())
        except BaseException as e:  # noqa: BLE001 - looked at below
            errors.append(e)
    worker = threading.Thread(target=work)
    worker.start()
    assert running.wait(60)
    cleanup.clean_up()
    worker.join(60)
    assert [type(e) for e in errors] == [Cancelled] and list(out.iterdir()) == []


def test_same_file(tmp_path):
    a = tmp_path / "a.mp4"
    assert same_file(a, tmp_path / "x" / ".." / "a.mp4")
    (tmp_path / "l.mp4").symlink_to(a)
    assert same_file(a, tmp_path / "l.mp4")                 # a link to a file not there yet
    a.write_bytes(b"x")
    (tmp_path / "h.mp4").hardlink_to(a)
    assert same_file(a, tmp_path / "h.mp4") and not same_file(a, tmp_path / "b.mp4")
    # names equal but for case: one file exactly when this file system ignores case
    (tmp_path / "Probe").write_bytes(b"")
    folds = (tmp_path / "PROBE").exists()
    assert same_file(tmp_path / "O.mp4", tmp_path / "o.mp4") == folds
    assert not list(tmp_path.glob(".v2m-probe*"))


# --------------------------------------------------------------------------------------------- #
# full disks

@pytest.fixture
def small_disk(tmp_path):
    """small_disk(name, kib): a folder on a tmpfs of that size (mounting needs root: else skip)."""
    mounts = []

    def make(name: str, kib: int) -> Path:
        path = tmp_path / name
        path.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kib}k", "tmpfs", str(path)],
                           capture_output=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
        mounts.append(path)
        return path
    yield make
    for path in mounts:
        subprocess.run(["umount", "-l", str(path)], check=True)


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """A real 6-s score (MP4 ~100 kB, WAV ~1 MB)."""
    d = tmp_path_factory.mktemp("scored")
    video = d / "clip.mp4"
    make_test_video(video, 6, fps=12, size=(96, 64), cuts=[2.0, 4.0])
    return video, score_video(video, ScoreSettings(vision="basic", cache_dir=d / "cache"))


def test_an_output_inside_the_new_stems_folder(scored, tmp_path):
    video, result = scored
    stems = tmp_path / "new" / "stems"
    outputs = Outputs(midi=stems / "song.mid", stems=stems)
    outputs.check(video)
    written = export_score(result, video, outputs)
    assert sorted(p.name for p in stems.iterdir()) == sorted(
        ["song.mid", *(p.name for p in written["stems"])])


def test_full_output_disk_leaves_no_output(scored, small_disk, tmp_path, monkeypatch):
    """The MP4 fits, the WAV (or the stems) does not: nothing is left, not even the MP4, nor
    the stems folder the run made."""
    video, result = scored
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))       # room for the export's WAV
    disk = small_disk("disk", 512)
    for extra in ({"wav": disk / "o.wav"}, {"stems": disk / "stems"}):
        with pytest.raises(V2MError, match="No space left on device") as e:
            export_score(result, video, Outputs(mp4=disk / "o.mp4", **extra))
        assert str(disk) in str(e.value)
        assert list(disk.iterdir()) == []


def test_full_temporary_folder_is_named(scored, small_disk, tmp_path, monkeypatch):
    video, result = scored
    tmp = small_disk("tmp", 256)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(V2MError, match=re.escape(f"temporary file in {tmp}: No space left on device")):
        export_score(result, video, Outputs(mp4=out / "o.mp4", wav=out / "o.wav"))
    assert list(out.iterdir()) == [] and list(tmp.iterdir()) == []
