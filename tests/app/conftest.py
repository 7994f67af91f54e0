"""App tests: the real main window, offscreen, with the real models and clips.  Settings, logs
and the analysis cache go to the test's own folders."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

MEDIA = Path(__file__).resolve().parents[3] / "shared" / "media"
BBB = MEDIA / "big_buck_bunny_360p_56s.mp4"


@pytest.fixture(scope="session")
def bbb() -> Path:
    if not BBB.is_file():
        pytest.skip(f"shared clip not found: {BBB}")
    return BBB


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, monkeypatch, qapp):
    """QSettings and the app's data folder (its log) live in the test's folder."""
    from PySide6.QtCore import QSettings
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "config"))
    qapp.setOrganizationName("v2m-desktop")
    qapp.setApplicationName("v2m-desktop")


@pytest.fixture(autouse=True)
def _no_unexpected_question(monkeypatch):
    """A modal question nobody answers would hang the run: one a test did not ask for fails it
    (a test that expects one patches QMessageBox.question itself)."""
    from PySide6.QtWidgets import QMessageBox

    def question(_parent, title, text, *_a, **_k):
        raise AssertionError(f"unexpected question: {title}: {text}")
    monkeypatch.setattr(QMessageBox, "question", question)


class FakeClock:
    """An audio output whose clock the test sets (what the listener 'hears')."""

    name = "fake"

    def __init__(self, soundtrack=None):
        self.soundtrack = soundtrack
        self.now = 0.0
        self.running = False
        self.starts: list[float] = []

    def start(self, at):
        self.now, self.running = at, True
        self.starts.append(at)

    def stop(self):
        self.running = False

    def move_to(self, at):
        self.now = at

    def position(self):
        return self.now

    def close(self):
        self.running = False


@pytest.fixture
def clocks():
    """The fake clocks the window made (the last one is the live one)."""
    return []


@pytest.fixture
def window(qtbot, clocks, tmp_path):
    from v2m_desktop.app.main import setup_logging
    from v2m_desktop.app.window import MainWindow

    def factory(soundtrack):
        clocks.append(FakeClock(soundtrack))
        return clocks[-1], None
    log_path = setup_logging()
    assert str(log_path).startswith(str(tmp_path))
    w = MainWindow(log_path=log_path, output_factory=factory)
    w.session.seeds.seed(0)              # Generate's seeds: a run repeats the one before
    w.resize(1280, 860)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    yield w
    w.documents.modified = False         # no "save changes?" question at teardown
    for box in (w.dialog, w.documents.recovery_box):
        try:
            if box is not None and box.isVisible():
                box.done(0)
        except RuntimeError:        # already deleted
            pass
    w.session.cancel()
    w.session.wait(10000)
    w.close()                   # here, not by pytest-qt (it closes before this teardown runs)
    w.deleteLater()


def open_and_generate(qtbot, window, video: Path, timeout: int = 120000):
    """Open `video` as the command line does, then press Ctrl+G and wait for the music."""
    from PySide6.QtCore import Qt
    with qtbot.waitSignal(window.session.analysed, timeout=timeout):
        window.open_path(video)
    with qtbot.waitSignal(window.session.projectOpened, timeout=timeout) as blocker:
        qtbot.keyClick(window, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.session.busy, timeout=10000)
    return blocker.args[0]

