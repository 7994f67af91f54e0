"""Projects in the app: unsaved changes are asked about, a killed app's autosave is offered back
on the next start, and `v2m-desktop P.v2m --screenshot` shows a project's locks and targets."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QMessageBox

from tests.app.conftest import open_and_generate


def test_closing_with_unsaved_changes_asks(qtbot, window, bbb, monkeypatch):
    open_and_generate(qtbot, window, bbb)
    window.axis.set_selection(3, 6)
    qtbot.keyClick(window, Qt.Key.Key_Delete)
    assert window.documents.modified and window.windowTitle().startswith(f"{bbb.name}*")
    asked = []
    answer = {"value": QMessageBox.StandardButton.Cancel}
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or answer["value"])
    assert not window.close() and window.isVisible()
    answer["value"] = QMessageBox.StandardButton.Discard
    assert window.close()
    assert len(asked) == 2 and "unsaved" in asked[0]


KILLED_APP = textwrap.dedent("""
    # `v2m-desktop P.v2m` (its main()), one chord edited once the project is open; the autosave
    # timer (V2M_AUTOSAVE_MS) writes the recovery copy; the test then kills the process.
    import sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from v2m_desktop.app.main import main
    app = QApplication([sys.argv[0]])

    def edit_once_open():
        w = next(w for w in app.topLevelWidgets() if w.objectName() == "main-window")

        def scored(_res):
            w.axis.set_selection(20, 22)
            w.editing.set_chord("Ebaug")
            print("edited", w.windowTitle(), flush=True)
        w.session.projectOpened.connect(scored)
    QTimer.singleShot(0, edit_once_open)
    sys.exit(main([sys.argv[1]]))
""")


def test_a_killed_app_offers_its_autosave_on_the_next_start(qtbot, window, bbb, tmp_path):
    """The app (a process of its own) opens a project, is edited, autosaves and is killed
    (SIGKILL: no clean close).  The next window offers the recovery copy naming the project and
    the time; Later keeps the copy; Recover opens the edit as the project, modified; Save puts it
    in the project and the copy goes."""
    import signal
    import time
    from datetime import datetime

    from v2m_desktop.cli import main
    from v2m_desktop.core.chords import chord_symbol
    from v2m_desktop.core.project import open_project, recoverable, recovery_dir
    proj = tmp_path / "work.v2m"
    assert main(["project", "new", str(bbb), "-o", str(proj), "--seed", "1", "--vision", "basic",
                 "--quiet"]) == 0
    before = open_project(proj).tokens.copy()
    assert chord_symbol(int(before[20])) != "D#aug"
    folder = recovery_dir()
    assert str(folder).startswith(str(tmp_path))             # XDG_DATA_HOME is the test's
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "V2M_AUTOSAVE_MS": "200"}
    log = tmp_path / "killed.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", KILLED_APP, str(proj)], env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            end = time.monotonic() + 180
            while not list(folder.glob("*.v2m")) and proc.poll() is None and time.monotonic() < end:
                time.sleep(0.1)
            time.sleep(0.3)                     # a second autosave may follow: let it land
            proc.send_signal(signal.SIGKILL)
            code = proc.wait(30)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)      # anything it started goes too
            except OSError:
                pass
    assert code == -signal.SIGKILL, log.read_text()[-1500:]
    assert f"edited {proj.name}*" in log.read_text()
    (copy, of), = recoverable()
    assert of == str(proj)
    assert (open_project(proj).tokens == before).all()          # the project itself untouched

    window.offer_recovery()
    box = window.documents.recovery_box
    when = datetime.fromtimestamp(copy.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    assert box.isVisible() and str(proj) in box.text() and when in box.text()
    button = {b.text(): b for b in box.buttons()}
    qtbot.mouseClick(button["Later"], Qt.MouseButton.LeftButton)
    assert copy.is_file() and window.session.project is None    # declining keeps the copy

    window.offer_recovery()
    box = window.documents.recovery_box
    button = {b.text(): b for b in box.buttons()}
    with qtbot.waitSignal(window.session.projectOpened, timeout=120000):
        qtbot.mouseClick(button["Recover"], Qt.MouseButton.LeftButton)
    p = window.session.project
    assert [chord_symbol(int(t)) for t in p.tokens[20:22]] == ["D#aug"] * 2
    assert (p.tokens[:20] == before[:20]).all() and (p.tokens[22:] == before[22:]).all()
    assert window.documents.modified and window.windowTitle().startswith(f"{proj.name}*")
    assert p.path == proj and window.documents.project_path == proj
    qtbot.waitUntil(lambda: not window.session.busy, timeout=10000)
    qtbot.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert not window.documents.modified and not window.windowTitle().startswith(f"{proj.name}*")
    assert chord_symbol(int(open_project(proj).tokens[20])) == "D#aug"
    assert recoverable() == [] and not copy.exists()


def _desktop(args, tmp_path, timeout=300):
    """`v2m-desktop ARGS` under Xvfb with its own settings and data folders."""
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "c"), XDG_DATA_HOME=str(tmp_path / "d"))
    return subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", sys.executable, "-m",
                           "v2m_desktop.app.main", *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=timeout)


def _pixels(path):
    img = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    return np.frombuffer(img.constBits(), np.uint8).reshape(h, bpl)[:, :3 * w].reshape(h, w, 3).astype(int)


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="Xvfb is not installed")
def test_screenshot_of_a_project_shows_its_locks_and_targets(bbb, tmp_path):
    """A project made on the command line: `v2m-desktop P.v2m --screenshot OUT.png` saves the
    window (its size) with the lock over 4-8 s drawn in the chord lane there and nowhere else, and
    the sad target's outline over 10-20 s."""
    from v2m_desktop.app.timeline.lanes import EMOTION_COLOURS
    from v2m_desktop.cli import main
    from v2m_desktop.core.chords import EMOTIONS
    proj = tmp_path / "p.v2m"
    assert main(["project", "new", str(bbb), "-o", str(proj), "--seed", "2", "--vision", "basic",
                 "--quiet"]) == 0
    assert main(["edit", str(proj), "--lock", "4-8", "--target", "10-20=sad:0.8"]) == 0
    out = tmp_path / "shot.png"
    r = _desktop([proj, "--screenshot", out], tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert out.is_file()
    rgb = _pixels(out)
    assert rgb.shape[:2] == (860, 1280)                             # the window as it opens

    def where(colour):
        return np.abs(rgb - np.array(QColor(colour).getRgb()[:3])).sum(-1) < 25
    # the target's outline (a rectangle) gives the time axis: its sides are at 10 s and 20 s
    sad = where(QColor(EMOTION_COLOURS[EMOTIONS.index("sad")]).darker(130).name())
    top = np.nonzero(sad.sum(1) > 100)[0].min()                     # its top edge
    sides = np.nonzero(sad[top:top + 30].sum(0) > 20)[0]
    x10, x20 = sides.min(), sides.max()
    bottom = top + np.nonzero(sad[top:top + 80, x10])[0].max()
    assert bottom - top > 20
    per_s = (x20 - x10) / 10
    assert 10 < per_s < 40

    def x(t):
        return x10 + (t - 10) * per_s
    chords = where("#f5d76e")[bottom + 1:bottom + 60]              # the chord lane, under the emotion
    ly, lx = np.nonzero(chords)                                     # locked frames and padlocks
    assert len(lx) > 50
    assert x(4) - 3 <= lx.min() and lx.max() <= x(8) + 3           # only over the locked seconds
    ly += bottom + 1
    row = int(np.median(ly))
    locked, unlocked = rgb[row, int(x(4)):int(x(8))], rgb[row, int(x(30)):int(x(34))]
    assert np.abs(locked - unlocked).sum(-1).max() > 100


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="Xvfb is not installed")
def test_screenshot_of_a_damaged_project_says_so_in_one_line(tmp_path):
    bad = tmp_path / "bad.v2m"
    bad.write_text('{"format": 1, "video": ')
    out = tmp_path / "shot.png"
    r = _desktop([bad, "--screenshot", out], tmp_path, timeout=120)
    assert r.returncode == 1 and not out.exists()
    said = [line for line in r.stderr.splitlines() if line.startswith("v2m-desktop:")]
    assert said == ["v2m-desktop: Cannot open the project: bad.v2m is not a v2m project (not JSON) "
                    "or is damaged"]
    assert "Traceback" not in r.stderr


def test_a_project_whose_video_moved_asks_for_it(qtbot, window, tmp_path, monkeypatch):
    """A project made on the command line, then its video moved: opening it asks for the video;
    another video is refused with the core's one line and nothing changes; the same video found
    elsewhere (its fingerprint) opens the project, modified until saved with the new place."""
    from PySide6.QtWidgets import QFileDialog

    from v2m_desktop.cli import main
    from v2m_desktop.core.video.synthetic import make_test_video
    video, proj = tmp_path / "clip.mp4", tmp_path / "p.v2m"
    make_test_video(video, 12, fps=24, size=(192, 108), cuts=[4.0, 8.0])
    assert main(["project", "new", str(video), "-o", str(proj), "--vision", "basic", "--quiet"]) == 0
    saved = proj.read_bytes()
    moved = tmp_path / "elsewhere" / "renamed.mp4"
    moved.parent.mkdir()
    video.rename(moved)
    other = tmp_path / "other.mp4"
    make_test_video(other, 12, fps=24, size=(192, 108), cuts=[3.0])
    answers, asked = [str(other)], []
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        lambda *a, **k: (asked.append(a[1]), (answers.pop(0) if answers else "", ""))[1])

    with qtbot.waitSignal(window.session.failed, timeout=60000) as refused:
        window.open_path(proj)
    assert asked == ["Where is the video of p.v2m now?"]
    message = f"{other} is not the project's video (its content differs)"
    assert refused.args[:2] == ["Cannot open the project", message]
    assert window.dialog.text() == message and "\n" not in message
    qtbot.waitUntil(lambda: not window.session.busy)
    assert window.session.project is None and window.session.video is None
    assert window.windowTitle() == "v2m-desktop" and window.documents.project_path is None
    assert proj.read_bytes() == saved
    window.dialog.done(0)

    # cancelling the question opens nothing either
    with qtbot.waitSignal(window.session.stateChanged, timeout=60000):
        window.open_path(proj)
    qtbot.waitUntil(lambda: len(asked) == 2 and not window.session.busy)
    assert window.session.project is None and window.windowTitle() == "v2m-desktop"
    assert window.statusBar().currentMessage().startswith("Not opened: the project's video is missing")

    answers.append(str(moved))
    with qtbot.waitSignal(window.session.projectOpened, timeout=120000):
        window.open_path(proj)
    qtbot.waitUntil(lambda: not window.session.busy)
    assert len(asked) == 3
    p = window.session.project
    assert p.video.path == str(moved) and window.session.video == moved
    assert window.documents.modified and window.windowTitle().startswith("p.v2m*")
    assert proj.read_bytes() == saved                                   # until the user saves
    qtbot.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert not window.documents.modified and json.loads(proj.read_text())["video"]["path"] == str(moved)

    # moved again, its new place given up front (`v2m-desktop P.v2m --video NEW_PLACE`): no question
    again = tmp_path / "again.mp4"
    moved.rename(again)
    with qtbot.waitSignal(window.session.projectOpened, timeout=120000):
        window.open_path(proj, video=again)
    qtbot.waitUntil(lambda: not window.session.busy)
    assert len(asked) == 3 and window.session.project.video.path == str(again) and window.documents.modified


def test_the_apps_video_option_goes_with_a_project(capsys):
    from v2m_desktop.app.main import main
    assert main(["clip.mp4", "--video", "other.mp4"]) == 2
    assert capsys.readouterr().err == "v2m-desktop: --video goes with a project (.v2m) whose video moved\n"
