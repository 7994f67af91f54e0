"""The window tells the truth: the status bar ends a job's message when the job ends, says
nothing is cancelled while the next job runs, tells what undo and redo did; the info line counts
the blocks the lane shows; a click elsewhere clears the selection; a split says where it went."""
from __future__ import annotations

from PySide6.QtCore import QPoint, Qt

from tests.app.conftest import open_and_generate


def _x(window, t):
    return int(round(window.axis.x_of(t)))


def test_messages_end_with_their_job_and_undo_says_what_it_undid(qtbot, window, bbb):
    open_and_generate(qtbot, window, bbb)
    status = window.statusBar()
    blocks = len(window.session.lanes.chords.rows)
    assert f"{blocks} chord blocks" in window.transport.info_label.text()
    window.axis.set_selection(20, 30)
    with qtbot.waitSignal(window.session.undo_stack.indexChanged, timeout=60000):
        qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
        assert status.currentMessage() == "Regenerating 0:20-0:30…"
    qtbot.waitUntil(lambda: not window.session.busy, timeout=10000)
    assert status.currentMessage().startswith("Regenerated 0:20-0:30: take 1 of 1")
    assert window.session.wait_rendered()
    qtbot.wait(50)
    assert f"{len(window.session.lanes.chords.rows)} chord blocks" in window.transport.info_label.text()
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert status.currentMessage() == "Undid Regenerate 0:20-0:30"
    qtbot.keyClick(window, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert status.currentMessage() == "Redid Regenerate 0:20-0:30"
    assert window.session.wait_rendered()


def test_a_second_generate_is_not_reported_as_cancelled(qtbot, window, bbb):
    """Ctrl+G twice in quick succession: the first is cancelled for the second, which runs; the
    window never says 'Cancelled' while it does."""
    open_and_generate(qtbot, window, bbb)
    said = []
    window.session.cancelled.connect(lambda: said.append("cancelled"))
    with qtbot.waitSignal(window.session.undo_stack.indexChanged, timeout=60000):
        qtbot.keyClick(window, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
        qtbot.wait(150)
        qtbot.keyClick(window, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
        qtbot.wait(20)
        assert "Cancelled" not in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: not window.session.busy, timeout=10000)
    assert said == [] and "Cancelled" not in window.statusBar().currentMessage()
    assert window.session.wait_rendered()


def test_a_click_elsewhere_clears_the_selection_and_a_split_says_where_it_went(qtbot, window, bbb):
    open_and_generate(qtbot, window, bbb)
    lane = window.timeline.chords
    qtbot.mousePress(lane, Qt.MouseButton.LeftButton, pos=QPoint(_x(window, 10), 15))
    qtbot.mouseMove(lane, QPoint(_x(window, 14), 15))
    qtbot.mouseRelease(lane, Qt.MouseButton.LeftButton, pos=QPoint(_x(window, 14), 15))
    assert window.axis.selection is not None
    qtbot.mouseClick(lane, Qt.MouseButton.LeftButton, pos=QPoint(_x(window, 33.4), 15))
    assert window.axis.selection is None
    p = window.session.project
    inside = next(b for b in window.session.lanes.chords.rows if b.end - b.start > 3 and b.start > 5)
    at = round(inside.start) + 1.4
    window.player.seek(at)
    qtbot.keyClick(window, Qt.Key.Key_S)
    s = round(at)
    assert s in p.splits
    assert window.statusBar().currentMessage().startswith(f"Split at 0:{s:02d}, the whole second nearest")
    assert window.session.wait_rendered()
