"""Nothing a user does is lost: Generate on an edited project is one command that undo takes
back, freshly generated music counts as unsaved, Redo answers both of its keys, and no key is
bound twice."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QMessageBox

from tests.app.conftest import open_and_generate


def test_generate_on_an_edited_project_undoes_and_redoes_by_the_keys(qtbot, window, bbb):
    open_and_generate(qtbot, window, bbb)
    p = window.session.project
    assert window.documents.modified and window.windowTitle().startswith(f"{bbb.name}*")  # never saved
    window.axis.set_selection(10, 14)
    qtbot.keyClick(window, Qt.Key.Key_K)                  # lock 10-14
    window.axis.set_selection(20, 24)
    qtbot.keyClick(window, Qt.Key.Key_Delete)             # a rest over 20-24
    edited = p.state()
    window.session.seeds.seed(4)
    # Generate on an edited project asks first; Cancel changes nothing
    qtbot.keyClick(window, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    box = window.editing.generate_question
    assert box.isVisible() and box.defaultButton().text() == "Keep Locked Chords"
    qtbot.mouseClick(box.button(QMessageBox.StandardButton.Cancel), Qt.MouseButton.LeftButton)
    assert not window.session.busy and p.state() == edited
    with qtbot.waitSignal(window.session.undo_stack.indexChanged, timeout=60000):
        qtbot.keyClick(window, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
        box = window.editing.generate_question
        qtbot.keyClick(box, Qt.Key.Key_Return)                # the default: keep the locked chords
    qtbot.waitUntil(lambda: not window.session.busy, timeout=10000)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    generated = p.state()
    assert generated["chords"] != edited["chords"]
    assert generated["chords"][10:14] == edited["chords"][10:14]          # locked: kept
    assert window.undo_action.text().startswith("&Undo Generate")
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert p.state() == edited                                            # the edits are back
    qtbot.keyClick(window, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert p.state() == generated
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    ctrl_shift = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(window, Qt.Key.Key_Z, ctrl_shift)
    assert p.state() == generated
    # Replace Everything: the locked chords are written anew too, and undo brings the locks back
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert p.state() == edited
    with qtbot.waitSignal(window.session.undo_stack.indexChanged, timeout=60000):
        qtbot.keyClick(window, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
        box = window.editing.generate_question
        replace = next(b for b in box.buttons() if b.text() == "Replace Everything")
        qtbot.mouseClick(replace, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.session.busy and QApplication.activeWindow() is window, timeout=10000)
    assert not p.locks and p.state()["chords"] != edited["chords"]
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert p.state() == edited and set(range(10, 14)) <= p.locks
    assert window.session.wait_rendered()


def test_no_key_is_bound_twice(window):
    """Every shortcut of every action of the window, once (an ambiguous one does nothing)."""
    seen: dict[str, str] = {}
    for action in window.findChildren(QAction):
        for seq in action.shortcuts():
            key = seq.toString(QKeySequence.SequenceFormat.PortableText)
            assert key not in seen, f"{key} is bound to {seen[key]!r} and {action.text()!r}"
            seen[key] = action.text()
    assert {"Ctrl+Z", "Ctrl+Shift+Z", "Ctrl+Y", "Ctrl+G", "Space"} <= set(seen)


def test_discarded_work_is_not_offered_again(qtbot, window, bbb, monkeypatch):
    """Edits autosaved, then another video opened and the changes discarded: no recovery copy
    is left to offer at the next start."""
    from PySide6.QtWidgets import QMessageBox

    from v2m_desktop.core.project import recoverable
    open_and_generate(qtbot, window, bbb)
    window.axis.set_selection(3, 6)
    qtbot.keyClick(window, Qt.Key.Key_Delete)
    window.documents.autosave()
    assert len(recoverable()) == 1
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.Discard)
    with qtbot.waitSignal(window.session.analysed, timeout=60000):
        window.open_path(bbb)
    assert asked and recoverable() == []
    # another video opened: the history starts again (its one row the empty label)
    assert window.session.undo_stack.count() == 0 and window.history.model().rowCount() == 1


def test_help_lists_every_shortcut(qtbot, window):
    """Help > Keyboard Shortcuts (F1): a table of the actions and their keys."""
    qtbot.keyClick(window, Qt.Key.Key_F1)
    table = window.shortcuts_dialog.table
    rows = {table.item(i, 0).text(): table.item(i, 1).text() for i in range(table.rowCount())}
    assert "Ctrl+Y" in rows["Redo"] and "Ctrl+Shift+Z" in rows["Redo"]
    assert rows["Generate"] == "Ctrl+G" and rows["Split at Playhead"] == "S"
    assert rows["Import MIDI"] == "Ctrl+I" and rows["Notes: velocity"] == "Alt+Wheel"
    assert len(rows) > 30
