"""Projects in the app: unsaved changes are asked about, a killed app's autosave is offered back
on the next start, and `v2m-desktop P.v2m --screenshot` shows a project's locks and targets."""
from __future__ import annotations

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
    assert window.modified and window.windowTitle().startswith(f"{bbb.name}*")
    asked = []
    answer = {"value": QMessageBox.StandardButton.Cancel}
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or answer["value"])
    assert not window.close() and window.isVisible()
    answer["value"] = QMessageBox.StandardButton.Discard
    assert window.close()
    assert len(asked) == 2 and "unsaved" in asked[0]


KILLED_APP = textwrap.dedent("""
    import os, signal, sys
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    app.setOrganizationName("v2m-desktop"); app.setApplicationName("v2m-desktop")
    from v2m_desktop.app.window import MainWindow
    from v2m_desktop.core.edits import SetChords
    w = MainWindow()
    w.show()
    def scored(res):
        w.session.apply(SetChords(10, 14, "C#dim"), "Set chord")
        w.session.project.save(sys.argv[2])          # saved once, edited since
        w.session.apply(SetChords(20, 22, "Ebaug"), "Set chord")
        w._modified = True
        w.autosave()
        os.kill(os.getpid(), signal.SIGKILL)         # the app dies: no clean close
    w.session.scored.connect(scored)
    w.open_path(sys.argv[1]); w.session.generate(0)
    app.exec()
""")


def test_a_killed_app_offers_its_autosave_on_the_next_start(qtbot, window, bbb, tmp_path):
    saved = tmp_path / "work.v2m"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    log = tmp_path / "killed.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", KILLED_APP, str(bbb), str(saved)], env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            code = proc.wait(180)
        finally:
            try:
                os.killpg(proc.pid, 9)          # anything it started goes too
            except OSError:
                pass
    assert code == -9, log.read_text()[-1500:]
    assert saved.is_file()
    window.offer_recovery()
    box = window.recovery_box
    assert box.isVisible() and saved.name in box.text()
    from v2m_desktop.core.chords import chord_symbol
    from v2m_desktop.core.project import open_project, recoverable
    (copy, of), = recoverable()
    assert of == str(saved)
    recovered = open_project(copy)
    assert [chord_symbol(int(recovered.tokens[s])) for s in (10, 20)] == ["C#dim", "D#aug"]
    later = next(b for b in box.buttons() if b.text() == "Later")
    qtbot.mouseClick(later, Qt.MouseButton.LeftButton)
    assert copy.is_file()                       # declining keeps the copy until it is discarded


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="Xvfb is not installed")
def test_screenshot_of_a_project_shows_its_locks_and_targets(bbb, tmp_path):
    from v2m_desktop.cli import main
    proj = tmp_path / "p.v2m"
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "c"), XDG_DATA_HOME=str(tmp_path / "d"))
    assert main(["project", "new", str(bbb), "-o", str(proj), "--seed", "2", "--vision", "basic",
                 "--quiet"]) == 0
    assert main(["edit", str(proj), "--lock", "0-56", "--target", "20-40=sad:1"]) == 0
    out = tmp_path / "shot.png"
    r = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", sys.executable, "-m",
                        "v2m_desktop.app.main", str(proj), "--screenshot", str(out)], env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    img = QImage(str(out)).convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    rgb = np.frombuffer(img.constBits(), np.uint8).reshape(h, bpl)[:, :3 * w].reshape(h, w, 3).astype(int)

    def count(colour):
        return int((np.abs(rgb - np.array(QColor(colour).getRgb()[:3])).sum(-1) < 25).sum())
    assert count("#f5d76e") > 200                    # locked blocks' frames and padlocks
    assert count(QColor("#4a7fd6").darker(130).name()) > 100     # the sad target's outline
