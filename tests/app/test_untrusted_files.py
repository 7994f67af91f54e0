"""Crafted files opened in the real window: a project with NaN dynamics, a tempo of "fast" or a
video at /dev/zero, a project or a video that is a FIFO, /dev/zero as a video.  Each is refused
with one clear message (a warning, not "Something went wrong"), no traceback, no hang, and the
window stays usable: the next good video opens and analyses."""
from __future__ import annotations

import json
import math
import os

import pytest


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A small clip and a valid project of it (the command line's `project new`)."""
    from v2m_desktop.cli import main
    from v2m_desktop.core.video.synthetic import make_test_video
    d = tmp_path_factory.mktemp("untrusted")
    video = d / "clip.mp4"
    make_test_video(video, 6, fps=12, size=(96, 64), cuts=[3.0])
    assert main(["project", "new", str(video), "-o", str(d / "p.v2m"), "--vision", "basic", "--quiet"]) == 0
    return video, json.loads((d / "p.v2m").read_text())


def _crafted(made, tmp_path, name: str, change) -> str:
    data = json.loads(json.dumps(made[1]))
    change(data)
    path = tmp_path / name
    path.write_text(json.dumps(data))           # Python's json writes NaN as JSON cannot
    return str(path)


def _fifo(tmp_path, name: str) -> str:
    path = tmp_path / name
    os.mkfifo(path)
    return str(path)


def _nan_dynamics(d):
    d["dynamics"]["density"] = {"2": math.nan}


def _fast(d):
    d["settings"]["tempo"] = "fast"


def _zero_video(d):
    d["video"]["path"] = "/dev/zero"


CASES = {
    "NaN dynamics": (lambda made, tmp: _crafted(made, tmp, "nan.v2m", _nan_dynamics),
                     'nan.v2m: dynamics.density["2"] must be a note density from 0 to 40, not NaN'),
    "tempo fast": (lambda made, tmp: _crafted(made, tmp, "fast.v2m", _fast),
                   'fast.v2m: settings.tempo must be a number of BPM (30-300) or "auto", not "fast"'),
    "video /dev/zero in a project": (lambda made, tmp: _crafted(made, tmp, "zero.v2m", _zero_video),
                                     "/dev/zero"),
    "project FIFO": (lambda made, tmp: _fifo(tmp, "pipe.v2m"), "pipe.v2m is not a regular file"),
    "video FIFO": (lambda made, tmp: _fifo(tmp, "pipe.mp4"), "pipe.mp4 is not a regular file"),
    "video /dev/zero": (lambda made, tmp: "/dev/zero", "zero is not a regular file"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_crafted_file_is_refused_in_one_line_and_the_window_goes_on(qtbot, window, made, tmp_path,
                                                                      monkeypatch, case):
    from PySide6.QtWidgets import QFileDialog
    asked = []          # a project's missing video is asked for: the user cancels
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (asked.append(a[1]), ("", ""))[1])
    make, said = CASES[case]
    path = make(made, tmp_path)
    refusals = []
    window.session.failed.connect(lambda *args: refusals.append(args))
    window.open_path(path)
    qtbot.waitUntil(lambda: not window.session.busy and bool(refusals or asked), timeout=20000)
    if asked:           # the video at /dev/zero is no video: asked where it is, and cancelled
        assert case == "video /dev/zero in a project"
        message = window.statusBar().currentMessage()
        assert message.startswith("Not opened: the project's video is missing") and said in message
    else:
        [(title, message, unexpected, _job)] = refusals
        assert said in message and "\n" not in message and "Traceback" not in message
        assert title.startswith("Cannot") and not unexpected
        assert window.dialog.text() == message
        window.dialog.done(0)
    assert window.session.project is None and window.windowTitle() == "v2m-desktop"
    # still usable: a good video opens and is analysed
    with qtbot.waitSignal(window.session.analysed, timeout=60000):
        window.open_path(made[0])
    assert window.session.video == made[0] and window.player.duration == pytest.approx(6.0, abs=0.1)
