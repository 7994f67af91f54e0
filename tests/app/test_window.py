"""The main window as a user meets it: open the Big Buck Bunny clip, Generate, and check that the
lanes show what the score holds; seek, play, loop, zoom, export, cancel, bad files."""
from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDropEvent

from tests.app.conftest import FakeClock, open_and_generate
from v2m_desktop.app.timeline.lanes import PART_COLOURS, QUALITY_COLOURS


def runs(chord_times):
    """Runs of one chord in the arrangement's (start, end, token) spans."""
    n = 0
    for i, (_, _, tok) in enumerate(chord_times):
        if i == 0 or tok != chord_times[i - 1][2]:
            n += 1
    return n


def test_generate_fills_every_lane(qtbot, window, bbb):
    res = open_and_generate(qtbot, window, bbb)
    score = res.score
    lanes = window.session.lanes
    assert window.windowTitle().startswith(bbb.name)
    # the lanes hold what the score holds
    assert len(lanes.chords.rows) == runs(score.arrangement.chord_times) > 5
    assert [b.token for b in lanes.chords.rows][0] == score.arrangement.chord_times[0][2]
    assert lanes.cuts.rows == pytest.approx(list(score.analysis.cuts))
    cuts = json.loads((bbb.parent / "cuts.json").read_text())[bbb.name]["hard_cuts_checked_by_eye"]["seconds"]
    assert len(lanes.cuts.rows) == len(cuts)
    assert np.abs(np.array(lanes.cuts.rows) - np.array(cuts)).max() < 0.25
    # the other shot changes the music follows (here the fade from the opening poster) are marked
    # too: hollow where a cut's marker is filled, and hovering tells which
    others = [t for t in score.analysis.shot_changes if t not in score.analysis.cuts]
    assert lanes.transitions.rows == pytest.approx(others) and len(others) >= 1
    cut_lane = window.timeline.cuts
    pic = cut_lane.grab().toImage()
    red = QColor(cut_lane.COLOUR)

    def off_red(t):         # inside the marker's triangle
        c = pic.pixelColor(round(window.axis.x_of(t)) + 2, 2)
        return sum(abs(a - b) for a, b in zip(c.getRgb()[:3], red.getRgb()[:3]))
    assert all(off_red(t) < 40 for t in cuts) and all(off_red(t) > 150 for t in others)
    from PySide6.QtCore import QEvent, QPoint
    from PySide6.QtGui import QHelpEvent
    from PySide6.QtWidgets import QApplication, QToolTip
    for t, word in ((others[0], "Transition"), (lanes.cuts.rows[0], "Cut")):
        where = QPoint(round(window.axis.x_of(t)), 10)
        QApplication.sendEvent(cut_lane, QHelpEvent(QEvent.Type.ToolTip, where, cut_lane.mapToGlobal(where)))
        assert QToolTip.text().startswith(f"{word} at ")
    assert "4 cuts, 1 transition," in window.transport.info_label.text()
    n_notes = sum(len(i.notes) for i in score.arrangement.midi.instruments)
    assert lanes.notes.rowCount() == n_notes > 100
    assert len(lanes.emotion.rows) == score.analysis.seconds
    assert len(lanes.dynamics.rows) == len(score.dynamics.note_density)
    assert window.actions["export"].isEnabled()

    # and draw it: the chord lane's pixel in the middle of each wide block is the block's colour
    img = window.timeline.chords.grab().toImage()
    checked = 0
    for b in lanes.chords.rows:
        x0, x1 = window.axis.x_of(b.start), window.axis.x_of(b.end)
        if x1 - x0 > 30:
            # left of the symbol's text, inside the block
            c = img.pixelColor(int(x0 + 3), img.height() // 2)
            want = QColor(QUALITY_COLOURS.get(b.quality, QUALITY_COLOURS[None]))
            assert sum(abs(a - b) for a, b in zip(c.getRgb()[:3], want.getRgb()[:3])) < 30
            checked += 1
    assert checked >= 3
    # bar lines: a light tick at the foot of the chord lane on each bar inside a block
    assert lanes.bars.rows == pytest.approx(list(score.arrangement.bar_times))
    ticks = 0
    for t in lanes.bars.rows:
        b = next(b for b in lanes.chords.rows if b.start <= t < b.end)
        x = round(window.axis.x_of(t))
        if x - window.axis.x_of(b.start) > 4 and window.axis.x_of(b.end) - x > 4:
            tick, beside = img.pixelColor(x, img.height() - 6), img.pixelColor(x + 3, img.height() - 6)
            assert sum(tick.getRgb()[:3]) > sum(beside.getRgb()[:3]) + 60
            ticks += 1
    assert ticks >= 3
    # the piano-roll has each part's colour; hiding the pad (click its box) removes the pad colour
    def count(colour, image):
        arr = _rgb(image)
        want = np.array(QColor(colour).getRgb()[:3])
        return int((np.abs(arr.astype(int) - want).sum(-1) < 12).sum())
    roll = window.timeline.piano_roll
    assert count(PART_COLOURS["bass"], roll.grab().toImage()) > 50
    assert count(PART_COLOURS["piano"], roll.grab().toImage()) > 50
    pad_box = window.timeline.legend.boxes["bass"]
    qtbot.mouseClick(pad_box, Qt.MouseButton.LeftButton, pos=QPoint(5, pad_box.height() // 2))
    assert "bass" in lanes.notes.hidden
    assert count(PART_COLOURS["bass"], roll.grab().toImage()) == 0


def _rgb(image) -> np.ndarray:
    from PySide6.QtGui import QImage
    img = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    return np.frombuffer(img.constBits(), np.uint8).reshape(h, bpl)[:, :3 * w].reshape(h, w, 3)


def test_seek_play_pause_and_loop_follow_the_audio_clock(qtbot, window, bbb, clocks):
    open_and_generate(qtbot, window, bbb)
    ruler = window.timeline.ruler
    clock = clocks[-1]
    # click on the ruler: seek there
    x = int(window.axis.x_of(20.0))
    qtbot.mouseClick(ruler, Qt.MouseButton.LeftButton, pos=QPoint(x, 10))
    assert clock.position() == pytest.approx(window.axis.t_of(x), abs=0.01)
    assert window.axis.playhead == pytest.approx(clock.position(), abs=0.01)
    # keys: one second, one frame, start, end
    qtbot.keyClick(window, Qt.Key.Key_Right)
    t = clock.position()
    assert t == pytest.approx(window.axis.t_of(x) + 1, abs=0.01)
    qtbot.keyClick(window, Qt.Key.Key_Period)
    assert clock.position() == pytest.approx(t + 1 / 24, abs=1e-3)
    qtbot.keyClick(window, Qt.Key.Key_Home)
    assert clock.position() == 0
    qtbot.keyClick(window, Qt.Key.Key_End)
    assert clock.position() == pytest.approx(window.player.duration)
    qtbot.keyClick(window, Qt.Key.Key_Home)

    # Space plays: the playhead and the time label follow the (fake) audio clock
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.player.playing and clock.running
    clock.now = 12.5
    qtbot.waitUntil(lambda: abs(window.axis.playhead - 12.5) < 1e-6, timeout=2000)
    assert window.transport.time_label.text().startswith("0:12.5")
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not window.player.playing and not clock.running

    # drag across the chord lane selects 30-35 s; L loops it
    lane = window.timeline.chords
    y = lane.height() // 2
    qtbot.mousePress(lane, Qt.MouseButton.LeftButton, pos=QPoint(int(window.axis.x_of(30)), y))
    qtbot.mouseMove(lane, QPoint(int(window.axis.x_of(32)), y))
    qtbot.mouseMove(lane, QPoint(int(window.axis.x_of(35)), y))
    qtbot.mouseRelease(lane, Qt.MouseButton.LeftButton, pos=QPoint(int(window.axis.x_of(35)), y))
    lo, hi = window.axis.selection
    assert lo == pytest.approx(30, abs=0.1) and hi == pytest.approx(35, abs=0.1)
    qtbot.keyClick(window, Qt.Key.Key_L)
    assert window.player.loop == (lo, hi)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    clock.now = hi + 0.02                   # the clock passes the loop's end: back to its start
    qtbot.waitUntil(lambda: clock.starts[-1] == pytest.approx(lo), timeout=2000)
    qtbot.keyClick(window, Qt.Key.Key_Space)


def test_zoom_and_scroll(qtbot, window, bbb):
    with qtbot.waitSignal(window.session.analysed, timeout=60000):
        window.open_path(bbb)
    axis = window.axis
    fit = axis.pps
    assert axis.content_width() == pytest.approx(axis.width, rel=0.01)
    qtbot.keyClick(window, Qt.Key.Key_Plus)
    assert axis.pps == pytest.approx(fit * 1.5)
    # Ctrl+wheel over the timeline zooms around the mouse
    from PySide6.QtGui import QWheelEvent
    view = window.timeline
    pos = QPointF(view.ruler.geometry().x() + 200, 40)
    ev = QWheelEvent(pos, view.mapToGlobal(pos), QPoint(0, 0), QPoint(0, 120), Qt.MouseButton.NoButton,
                     Qt.KeyboardModifier.ControlModifier, Qt.ScrollPhase.NoScrollPhase, False)
    t_under = axis.t_of(200)
    from PySide6.QtWidgets import QApplication
    QApplication.sendEvent(view, ev)
    assert axis.pps == pytest.approx(fit * 1.5 * 1.5)
    assert axis.t_of(200) == pytest.approx(t_under, abs=0.05)
    assert view.hbar.isVisible() and view.hbar.maximum() > 0
    view.hbar.setValue(view.hbar.maximum())
    assert axis.visible()[1] == pytest.approx(axis.duration, abs=0.1)
    qtbot.keyClick(window, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert axis.pps == pytest.approx(fit) and axis.offset == 0
    # every time label is whole: none runs off the ruler's right edge (BBB's 0:55 did)
    ruler = _rgb(view.ruler.grab().toImage()).astype(int)
    text_rows = ruler[: view.ruler.height() - 12]
    ink = (text_rows.sum(-1) < 3 * 110)                 # dark text on the light window colour
    assert ink.any() and not ink[:, -3:].any()


def test_export_mp4_and_midi_with_confirmation(qtbot, window, bbb, tmp_path, monkeypatch):
    from v2m_desktop.core.files import ffmpeg_exe  # noqa: F401 - ffprobe is the system's
    open_and_generate(qtbot, window, bbb)
    qtbot.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    dlg = window.export_dialog
    assert dlg is not None and dlg.isVisible()
    out = tmp_path / "out" / "scored.mp4"
    out.parent.mkdir()
    dlg.path.clear()
    qtbot.keyClicks(dlg.path, str(out.with_suffix("")))     # no suffix typed: .mp4 is added
    qtbot.mouseClick(dlg.midi, Qt.MouseButton.LeftButton, pos=QPoint(5, dlg.midi.height() // 2))
    assert dlg.midi.isChecked()
    with qtbot.waitSignal(window.session.exported, timeout=60000):
        qtbot.mouseClick(dlg.export_button, Qt.MouseButton.LeftButton)
    assert out.is_file() and out.with_suffix(".mid").is_file()
    streams = _ffprobe(out)
    assert [s["codec_type"] for s in streams] == ["video", "audio"]
    assert streams[0]["codec_name"] == _ffprobe(bbb)[0]["codec_name"]      # copied, not re-encoded
    assert streams[1]["codec_name"] == "aac"
    assert float(streams[1]["duration"]) == pytest.approx(window.player.duration, abs=0.1)
    qtbot.waitUntil(lambda: dlg.done_box is not None and dlg.done_box.isVisible(), timeout=2000)
    # the summary says the loudness and true peak measured on the MP4's sound (issue 29)
    delivered = window.session.music.score.delivered
    heard = delivered.loudness
    assert f"Loudness: {heard.integrated_lufs:.1f} LUFS integrated" in dlg.done_box.text()
    assert f"true peak {heard.true_peak_dbtp:.1f} dBTP" in dlg.done_box.text()
    assert abs(heard.integrated_lufs - delivered.target) <= 1.0 and heard.true_peak_dbtp <= -1.0
    show = next(b for b in dlg.done_box.buttons() if b.text() == "Show in Folder")
    from PySide6.QtGui import QDesktopServices
    with monkeypatch.context() as m:            # no file manager here: the path, in a message
        m.setattr(QDesktopServices, "openUrl", lambda url: False)
        qtbot.mouseClick(show, Qt.MouseButton.LeftButton)
    assert dlg.folder_box is not None and str(out.parent) in dlg.folder_box.text()
    dlg.folder_box.done(0)
    dlg.done_box.done(0)

    # again to the same file: asked first; "No" leaves the file alone
    before = out.stat().st_mtime_ns
    qtbot.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    dlg = window.export_dialog
    assert dlg.midi.isChecked() and not dlg.wav.isChecked()        # the dialog remembers its ticks
    dlg.path.clear()
    qtbot.keyClicks(dlg.path, str(out))
    qtbot.mouseClick(dlg.export_button, Qt.MouseButton.LeftButton)
    assert dlg.confirm is not None and dlg.confirm.isVisible()
    assert str(out) in dlg.confirm.text()
    qtbot.mouseClick(dlg.confirm.button(dlg.confirm.StandardButton.No), Qt.MouseButton.LeftButton)
    assert out.stat().st_mtime_ns == before and "Nothing" in dlg.status.text()
    qtbot.mouseClick(dlg.export_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(window.session.exported, timeout=60000):
        qtbot.mouseClick(dlg.confirm.button(dlg.confirm.StandardButton.Yes), Qt.MouseButton.LeftButton)
    assert out.stat().st_mtime_ns != before
    assert sorted(p.name for p in out.parent.iterdir()) == ["scored.mid", "scored.mp4"]   # no leftovers


def _ffprobe(path):
    r = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(path)],
                       capture_output=True, text=True, check=True)
    return json.loads(r.stdout)["streams"]


def test_cancel_generation_leaves_the_window_as_it_was(qtbot, window, bbb):
    open_and_generate(qtbot, window, bbb)
    lanes = window.session.lanes
    before = list(lanes.chords.rows)
    result = window.session.music
    stages = []
    window.session.progress.connect(lambda s, f: stages.append(s))
    qtbot.keyClick(window, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    assert window.cancel_button.isVisible()
    qtbot.waitUntil(lambda: "compose" in stages or "analyse" in stages, timeout=30000)
    with qtbot.waitSignal(window.session.cancelled, timeout=10000):
        qtbot.mouseClick(window.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.session.state == "editing", timeout=5000)
    assert lanes.chords.rows == before and window.session.music is result
    assert not window.cancel_button.isVisible()
    assert "Cancelled" in window.statusBar().currentMessage()


def test_a_bad_file_gets_a_dialog_and_the_app_keeps_running(qtbot, window, tmp_path, bbb):
    bad = tmp_path / "holiday.mp4"
    bad.write_bytes(b"this is not a video" * 100)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(bad))])
    drop = QDropEvent(QPointF(100, 100), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                      Qt.KeyboardModifier.NoModifier)
    window.dropEvent(drop)
    qtbot.waitUntil(lambda: window.dialog is not None and window.dialog.isVisible(), timeout=20000)
    text = window.dialog.text()
    assert "holiday.mp4" in text and "Traceback" not in text and "\n" not in text.strip()
    qtbot.waitUntil(lambda: not window.session.busy, timeout=5000)
    assert window.session.video is None and window.session.state == "empty"
    window.dialog.done(0)
    # the window still opens a good video after it
    with qtbot.waitSignal(window.session.analysed, timeout=60000):
        window.open_path(bbb)
    assert window.session.video == bbb


def test_an_unexpected_error_shows_the_log_file(qtbot, window, bbb, monkeypatch):
    import v2m_desktop.core.timeline as timeline

    def broken(*args):
        raise RuntimeError("lane data exploded")
    monkeypatch.setattr(timeline, "from_score", broken)
    with qtbot.waitSignal(window.session.analysed, timeout=60000):
        window.open_path(bbb)
    qtbot.keyClick(window, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.dialog is not None and window.dialog.isVisible(), timeout=60000)
    assert "lane data exploded" in window.dialog.text()
    assert str(window.log_path) in window.dialog.text()
    assert "lane data exploded" in window.log_path.read_text()
    qtbot.waitUntil(lambda: not window.session.busy, timeout=5000)
    assert window.session.state == "ready"


def test_recent_files_theme_and_preferences_persist(qtbot, window, bbb):
    from PySide6.QtWidgets import QDialogButtonBox

    from v2m_desktop.app.settings import AppSettings
    with qtbot.waitSignal(window.session.analysed, timeout=60000):
        window.open_path(bbb)
    window.documents.fill_recent()
    assert [a.text() for a in window.documents.recent_menu.actions()][0] == str(bbb)
    assert AppSettings().recent[0] == str(bbb)
    theme_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    theme = {a.text(): a for a in next(a.menu() for a in theme_menu.actions() if a.menu()).actions()}
    theme["Dark"].trigger()
    qtbot.waitUntil(lambda: window.palette().window().color().lightness() < 80, timeout=2000)
    assert AppSettings().theme == "dark"
    theme["Light"].trigger()
    qtbot.waitUntil(lambda: window.palette().window().color().lightness() > 180, timeout=2000)
    window.open_settings()
    dlg = window.settings_dialog
    dlg.device.setCurrentIndex(1)
    dlg.instrument_boxes["drums"].setChecked(False)
    qtbot.mouseClick(dlg.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok),
                     Qt.MouseButton.LeftButton)
    fresh = AppSettings()
    assert fresh.device == "cpu" and "drums" not in fresh.instruments


def test_a_failing_sound_device_never_crashes_playback(qtbot, bbb, tmp_path):
    """An output that raises on start: the app says so once and plays the picture silently."""
    from v2m_desktop.app.window import MainWindow

    class Broken:
        name = "broken"

        def __init__(self, soundtrack):
            self.soundtrack = soundtrack

        def start(self, at):
            raise OSError("PortAudio: device unavailable")

        def stop(self):
            pass

        def move_to(self, at):
            pass

        def position(self):
            return 0.0

        def close(self):
            pass
    w = MainWindow(log_path=tmp_path / "log", output_factory=lambda s: (Broken(s), None))
    qtbot.addWidget(w)
    w.show()
    res = open_and_generate(qtbot, w, bbb)
    assert res.soundtrack is not None
    messages = []
    w.player.notice.connect(messages.append)
    qtbot.keyClick(w, Qt.Key.Key_Space)
    assert w.player.playing and messages == ["The sound device failed: playing without sound"]
    qtbot.waitUntil(lambda: w.axis.playhead > 0.1, timeout=5000)       # the silent clock runs
    qtbot.keyClick(w, Qt.Key.Key_Space)
    assert not w.player.playing
    w.documents.modified = False        # its music is unsaved: no question when pytest-qt closes it


def test_cancelled_export_leaves_nothing(qtbot, window, bbb, tmp_path):
    open_and_generate(qtbot, window, bbb)
    qtbot.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    dlg = window.export_dialog
    folder = tmp_path / "cancelled"
    folder.mkdir()
    dlg.path.clear()
    qtbot.keyClicks(dlg.path, str(folder / "scored.mp4"))
    for box in (dlg.wav, dlg.stems):
        qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(5, box.height() // 2))
    stages = []
    window.session.progress.connect(lambda s, f: stages.append(s))
    qtbot.mouseClick(dlg.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(stages), timeout=20000)
    with qtbot.waitSignal(window.session.cancelled, timeout=20000):
        qtbot.mouseClick(dlg.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.session.busy, timeout=5000)
    assert list(folder.iterdir()) == []
    assert "nothing was written" in dlg.status.text()
    assert dlg.isVisible() and dlg.export_button.isEnabled()


def test_save_the_project_and_open_it_again(qtbot, window, bbb, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog
    res = open_and_generate(qtbot, window, bbb)
    target = tmp_path / "bunny.v2m"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    qtbot.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert target.is_file() and window.windowTitle().startswith("bunny.v2m")
    chords = [(b.start, b.end, b.symbol) for b in window.session.lanes.chords.rows]
    # a new window opens the project: the same chords, the video beside them
    from v2m_desktop.app.window import MainWindow
    w2 = MainWindow(log_path=tmp_path / "log2", output_factory=lambda s: (FakeClock(s), None))
    qtbot.addWidget(w2)
    w2.show()
    with qtbot.waitSignal(w2.session.projectOpened, timeout=120000):
        w2.open_path(target)
    qtbot.waitUntil(lambda: not w2.session.busy, timeout=10000)
    assert [(b.start, b.end, b.symbol) for b in w2.session.lanes.chords.rows] == chords
    assert w2.session.video == bbb.resolve()
    assert w2.player.duration == pytest.approx(res.score.analysis.info.duration)
    assert w2.windowTitle().startswith("bunny.v2m") and w2.actions["export"].isEnabled()
