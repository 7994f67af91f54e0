"""Editing on the timeline as a user does it: double-click a chord and type, undo and redo, drag
a boundary, lock a block, set a target on a range and regenerate only that range, step through
its takes.  Each edit is one command on the undo stack and re-renders the music."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPoint, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication, QToolTip

from tests.app.conftest import open_and_generate
from v2m_desktop.app.timeline.lanes import format_time
from v2m_desktop.core.chords import chord_symbol, parse_chord_symbol

QUALITY_NAMES = {"maj": "major", "min": "minor", "min7": "m7", "maj6": "6", "min6": "m6", "hdim7": "m7b5"}


def _wide_block(window, after: float = 0.0):
    lane = window.timeline.chords
    return next(b for b in window.session.lanes.chords.rows
                if b.start >= after and window.axis.x_of(b.end) - window.axis.x_of(b.start) > 30
                and lane.boundary_near(window.axis.x_of((b.start + b.end) / 2)) is None)


def _generated(qtbot, window, bbb):
    """Open the clip and generate: (the project, the chord lane)."""
    open_and_generate(qtbot, window, bbb)
    return window.session.project, window.timeline.chords


def _x(window, t):
    return int(round(window.axis.x_of(t)))


def test_set_a_chord_by_double_click_then_undo_and_redo(qtbot, window, bbb):
    p, lane = _generated(qtbot, window, bbb)
    b = _wide_block(window, after=5)
    a, e = int(round(b.start)), int(round(b.end))
    before = p.tokens.copy()
    qtbot.mouseDClick(lane, Qt.MouseButton.LeftButton, pos=QPoint(_x(window, (b.start + b.end) / 2), 15))
    dlg = window.editing.chord_dialog
    assert dlg.isVisible()
    # the 'or pick' lists open on the block's chord
    root, quality = parse_chord_symbol(b.symbol)
    assert (dlg.root.currentIndex(), dlg.quality.currentText()) == (root, QUALITY_NAMES.get(quality, quality))
    dlg.symbol.clear()
    qtbot.keyClicks(dlg.symbol, "Bbmaj7")          # the clip is in F major: flats
    qtbot.keyClick(dlg.symbol, Qt.Key.Key_Return)
    assert [chord_symbol(int(t), flats=True) for t in p.tokens[a:e]] == ["Bbmaj7"] * (e - a)
    assert (p.tokens[:a] == before[:a]).all() and (p.tokens[e:] == before[e:]).all()
    assert window.windowTitle().startswith(f"{bbb.name}*")
    assert window.undo_action.text().startswith("&Undo Set chord Bbmaj7")
    assert window.session.wait_rendered()
    rows = window.session.lanes.chords.rows
    assert any(r.symbol == "Bbmaj7" and abs(r.start - b.start) < 1.01 for r in rows)
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert (p.tokens == before).all()
    ctrl_shift = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(window, Qt.Key.Key_Z, ctrl_shift)
    assert chord_symbol(int(p.tokens[a]), flats=True) == "Bbmaj7"
    assert window.session.wait_rendered()
    # hovering a block tells its whole symbol and its seconds (short blocks write it small or cut)
    where = QPoint(_x(window, (b.start + b.end) / 2), 15)
    QApplication.sendEvent(lane, QHelpEvent(QEvent.Type.ToolTip, where, lane.mapToGlobal(where)))
    # (the block may have joined a Bbmaj7 beside it)
    row = next(r for r in window.session.lanes.chords.rows if r.start <= a < r.end)
    assert row.symbol == "Bbmaj7" and row.start <= a and row.end >= e
    assert QToolTip.text() == f"Bbmaj7  {format_time(row.start)}–{format_time(row.end)}"
    qtbot.mouseDClick(lane, Qt.MouseButton.LeftButton, pos=where)
    dlg = window.editing.chord_dialog
    assert (dlg.root.currentText(), dlg.quality.currentText()) == ("Bb", "maj7")
    dlg.reject()


def test_merge_a_block_with_the_next_by_m(qtbot, window, bbb):
    p, lane = _generated(qtbot, window, bbb)
    rows = window.session.lanes.chords.rows
    k = next(i for i in range(len(rows) - 1) if rows[i].start > 5 and rows[i].token != rows[i + 1].token
             and window.axis.x_of(rows[i].end) - window.axis.x_of(rows[i].start) > 30)
    left, right = rows[k], rows[k + 1]
    before = p.tokens.copy()
    a, e = int(round(right.start)), int(round(right.end))
    qtbot.mouseClick(lane, Qt.MouseButton.LeftButton,
                     pos=QPoint(_x(window, (left.start + left.end) / 2), 15))
    qtbot.keyClick(window, Qt.Key.Key_M)
    assert (p.tokens[a:e] == int(before[a - 1])).all()
    assert (p.tokens[:a] == before[:a]).all() and (p.tokens[e:] == before[e:]).all()
    assert window.undo_action.text().startswith("&Undo Merge chords")
    assert window.session.wait_rendered()
    # one block now, to the next change (the arrangement puts it on the bar line nearest `e`)
    assert window.session.lanes.chords.rows[k].end > (right.start + right.end) / 2


def test_split_a_block_at_the_playhead_by_s_then_change_one_half(qtbot, window, bbb):
    p, lane = _generated(qtbot, window, bbb)
    blocks = {a: (a, e) for a, e, _ in p.blocks()}
    b = next(r for r in window.session.lanes.chords.rows if r.start > 5 and r.end - r.start >= 4
             and int(round(r.start)) in blocks and blocks[int(round(r.start))][1] - r.start >= 4)
    a, e = blocks[int(round(b.start))]
    s = a + 2
    before, tokens = p.state(), p.tokens.copy()
    # seek into the block by clicking the ruler, then S
    qtbot.mouseClick(window.timeline.ruler, Qt.MouseButton.LeftButton, pos=QPoint(_x(window, s + 0.2), 10))
    assert abs(window.axis.playhead - (s + 0.2)) < 0.1
    qtbot.keyClick(window, Qt.Key.Key_S)
    assert p.splits == {s} and (p.tokens == tokens).all()
    assert (a, s) in [(x, y) for x, y, _ in p.blocks()] and (s, e) in [(x, y) for x, y, _ in p.blocks()]
    assert window.undo_action.text() == f"&Undo Split at 0:{s:02d}"
    assert window.session.wait_rendered()
    rows = window.session.lanes.chords.rows
    k = next(i for i, r in enumerate(rows) if r.start == s)
    assert rows[k - 1].symbol == rows[k].symbol and abs(rows[k - 1].start - b.start) < 1e-6
    # S again at the same place: refused, nothing on the stack
    qtbot.keyClick(window, Qt.Key.Key_S)
    assert window.session.undo_stack.count() == 1 and "starts at" in window.statusBar().currentMessage()
    # dragging the split moves it (one command); undo puts it back
    qtbot.mousePress(lane, Qt.MouseButton.LeftButton, pos=QPoint(_x(window, s), 15))
    qtbot.mouseMove(lane, QPoint(_x(window, s + 0.6), 15))
    qtbot.mouseMove(lane, QPoint(_x(window, s + 1), 15))
    qtbot.mouseRelease(lane, Qt.MouseButton.LeftButton, pos=QPoint(_x(window, s + 1), 15))
    assert p.splits == {s + 1} and (p.tokens == tokens).all()
    assert window.undo_action.text() == f"&Undo Move split 0:{s:02d} to 0:{s + 1:02d}"
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert p.splits == {s} and window.session.undo_stack.count() == 2
    assert window.session.wait_rendered()
    # the right half alone takes another chord
    old = int(p.tokens[s])
    symbol = "Ebmaj7" if chord_symbol(old, flats=True) != "Ebmaj7" else "Dm"
    qtbot.mouseDClick(lane, Qt.MouseButton.LeftButton,
                      pos=QPoint(_x(window, (s + rows[k].end) / 2), 15))
    dlg = window.editing.chord_dialog
    assert dlg.isVisible()
    dlg.symbol.clear()
    qtbot.keyClicks(dlg.symbol, symbol)
    qtbot.keyClick(dlg.symbol, Qt.Key.Key_Return)
    assert [chord_symbol(int(t), flats=True) for t in p.tokens[s:e]] == [symbol] * (e - s)
    assert (p.tokens[a:s] == old).all()
    assert (p.tokens[:a] == tokens[:a]).all() and (p.tokens[e:] == tokens[e:]).all()
    assert window.session.wait_rendered()
    # undo twice: exactly as before
    for _ in range(2):
        qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert p.state() == before
    assert window.session.wait_rendered()
    # split again; M on the left half joins the two halves of one chord
    qtbot.keyClick(window, Qt.Key.Key_S)
    assert p.splits == {s}
    assert window.session.wait_rendered()
    qtbot.mouseClick(lane, Qt.MouseButton.LeftButton, pos=QPoint(_x(window, (b.start + s) / 2), 15))
    qtbot.keyClick(window, Qt.Key.Key_M)
    assert p.state() == before and window.undo_action.text() == f"&Undo Merge chords at 0:{s:02d}"
    assert window.session.wait_rendered()


def test_drag_a_boundary_and_lock_a_block(qtbot, window, bbb):
    p, lane = _generated(qtbot, window, bbb)
    rows = window.session.lanes.chords.rows
    k = next(i for i in range(1, len(rows)) if rows[i].start > 5 and rows[i].end - rows[i].start >= 3
             and rows[i - 1].token != rows[i].token)
    right = rows[k]
    o = int(round(right.start))
    qtbot.mousePress(lane, Qt.MouseButton.LeftButton, pos=QPoint(_x(window, right.start), 15))
    qtbot.mouseMove(lane, QPoint(_x(window, o + 1.2), 15))
    qtbot.mouseMove(lane, QPoint(_x(window, o + 2), 15))
    qtbot.mouseRelease(lane, Qt.MouseButton.LeftButton, pos=QPoint(_x(window, o + 2), 15))
    assert int(p.tokens[o]) == int(p.tokens[o - 1]) == int(p.tokens[o + 1])     # the left block grew
    assert window.session.undo_stack.count() == 1
    assert window.session.wait_rendered()
    # click a block, K locks it; it is drawn locked
    b = _wide_block(window, after=30)
    qtbot.mouseClick(lane, Qt.MouseButton.LeftButton, pos=QPoint(_x(window, (b.start + b.end) / 2), 15))
    qtbot.keyClick(window, Qt.Key.Key_K)
    span = range(int(round(b.start)), int(round(b.end)))
    assert all(s in p.locks for s in span)
    assert window.session.wait_rendered()
    assert any(r.locked for r in window.session.lanes.chords.rows)
    img = lane.grab().toImage()
    x1 = _x(window, b.end)
    yellow = [(x, y) for x in range(x1 - 14, x1) for y in range(3, 18)
              if (c := img.pixelColor(x, y)).red() > 200 and c.green() > 180 and c.blue() < 160]
    assert len(yellow) >= 10                                   # the padlock, at the block's right end
    # View > Edit History lists both edits; clicking the first goes back to it (the lock undone)
    window.history_action.trigger()
    view = window.history
    assert window.history_dock.isVisible() and view.model().rowCount() == 3
    assert view.model().index(2, 0).data().startswith("Lock")
    rect = view.visualRect(view.model().index(1, 0))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.session.undo_stack.index() == 1 and not any(s in p.locks for s in span)
    assert int(p.tokens[o]) == int(p.tokens[o + 1])            # the drag is still there
    assert window.session.wait_rendered()
    # nothing selected: what K acts on, the block under the playhead, is outlined
    c = _wide_block(window, after=15)
    mid = (c.start + c.end) / 2
    qtbot.mouseClick(window.timeline.ruler, Qt.MouseButton.LeftButton, pos=QPoint(_x(window, mid), 10))
    assert window.axis.selection is None and lane.implicit_block() == c

    def outlined(block) -> bool:        # the selection's blue on the lane's top edge over the block
        c = lane.grab().toImage().pixelColor(_x(window, (block.start + block.end) / 2), 1)
        return c.blue() > 150 and c.blue() - c.red() > 60
    assert outlined(c) and not outlined(b)
    qtbot.keyClick(window, Qt.Key.Key_K)
    assert all(s in p.locks for s in range(int(round(c.start)), int(round(c.end))))
    window.axis.set_selection(b.start, b.end)                  # a selection: no outline
    assert lane.implicit_block() is None and not outlined(c)
    assert window.session.wait_rendered()


def test_target_a_range_and_regenerate_only_it(qtbot, window, bbb):
    p, lane = _generated(qtbot, window, bbb)
    # lock one second inside the range first
    p_before_lock = p.tokens.copy()
    window.axis.set_selection(24, 25)
    qtbot.keyClick(window, Qt.Key.Key_K)
    # drag across the chord lane from 20 s to 40 s
    qtbot.mousePress(lane, Qt.MouseButton.LeftButton, pos=QPoint(_x(window, 20.2), 15))
    qtbot.mouseMove(lane, QPoint(_x(window, 30), 15))
    qtbot.mouseRelease(lane, Qt.MouseButton.LeftButton, pos=QPoint(_x(window, 39.8), 15))
    assert window.editing.selected_seconds() == (20, 40)
    qtbot.keyClick(window, Qt.Key.Key_E)
    dlg = window.editing.target_dialog
    dlg.emotion.setCurrentText("sad")
    qtbot.keyClick(dlg, Qt.Key.Key_Return)
    assert [(t.start, t.end, t.emotion) for t in p.targets] == [(20, 40, "sad")]
    assert window.session.wait_rendered()
    assert len(window.session.lanes.targets.rows) == 1
    before = p.tokens.copy()
    minor = {"min", "min7", "min6", "dim", "dim7", "hdim7"}
    from v2m_desktop.core.chords import quality_of
    shares = []
    # the lock and the scene's phrase, which repeats what is locked, leave the target few free
    # slots (a cadence's IV or V may be minor): three takes, their seeds fixed
    window.session.seeds.seed(1)
    for _ in range(3):
        with qtbot.waitSignal(window.session.undo_stack.indexChanged, timeout=60000):
            qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: not window.session.busy, timeout=10000)
        outside = np.r_[0:20, 40:p.seconds]
        assert (p.tokens[outside] == before[outside]).all()
        assert p.tokens[24] == p_before_lock[24]                                # locked kept
        shares.append(np.mean([quality_of(int(t)) in minor for t in p.tokens[20:40]]))
    n = len(shares)
    takes = p.takes_of(20, 40)
    assert len(takes.takes) == n + 1 and takes.current == n
    assert max(shares) > 0          # the sad target's minor chords (the steering itself: test_project.py)
    # step back through the takes
    qtbot.keyClick(window, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    assert p.takes_of(20, 40).current == n - 1 and p.tokens[20:40].tolist() == takes.takes[n - 1]
    for _ in range(n + 2):
        qtbot.keyClick(window, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    assert p.takes_of(20, 40).current == 0 and (p.tokens == before).all()
    assert window.session.wait_rendered()


def test_undo_restores_targets_and_takes_exactly(qtbot, window, bbb):
    open_and_generate(qtbot, window, bbb)
    p = window.session.project
    start = p.state()
    window.axis.set_selection(10, 20)
    window.editing.set_target("exciting", 0.7)
    with qtbot.waitSignal(window.session.undo_stack.indexChanged, timeout=60000):
        window.editing.regenerate()
    qtbot.waitUntil(lambda: not window.session.busy, timeout=10000)
    window.editing.transpose(2)
    while window.session.undo_stack.canUndo():
        qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert p.state() == start
    assert window.session.wait_rendered()


def test_closing_right_after_an_edit_stops_its_re_render(qtbot, window, bbb, monkeypatch):
    """An edit starts a re-render on its own thread; closing the window then (the user declines
    to save) stops and waits for it: a QThread destroyed while it runs aborts the process."""
    from PySide6.QtWidgets import QMessageBox
    p, lane = _generated(qtbot, window, bbb)
    b = _wide_block(window, after=5)
    qtbot.mouseClick(lane, Qt.MouseButton.LeftButton, pos=QPoint(_x(window, (b.start + b.end) / 2), 15))
    qtbot.keyClick(window, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)    # transpose: new notes
    session = window.session
    qtbot.waitUntil(lambda: session._render_worker is not None, timeout=5000)
    worker = session._render_worker
    qtbot.keyClick(window, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)    # again while it runs
    qtbot.waitUntil(lambda: session._render_again or session._render_worker is not worker, timeout=5000)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    window.close()
    assert worker.isFinished() and not window.isVisible()
    qtbot.wait(300)                             # the finished render's signals arrive: none starts
    assert session._render_worker is None


def test_an_edit_refreshes_only_what_it_touches(qtbot, window, bbb):
    """A chord set by the user re-renders the music, and the views hear only the difference:
    the picture's lanes (thumbnails, cuts, emotion) are not reset, the chord and note models
    announce the rows that changed, and the piano-roll repaints only around the edit."""
    p, lane = _generated(qtbot, window, bbb)
    models = window.session.lanes
    resets = {name: 0 for name in ("thumbnails", "cuts", "emotion", "chords", "notes")}
    for name in resets:
        getattr(models, name).modelReset.connect(lambda name=name: resets.__setitem__(name, resets[name] + 1))
    note_rows = []
    models.notes.dataChanged.connect(lambda top, bottom, *_: note_rows.append((top.row(), bottom.row())))
    roll = window.timeline.piano_roll
    painted = []

    class Paints(QObject):
        def eventFilter(self, obj, e):  # noqa: N802 - Qt's name
            if e.type() == QEvent.Type.Paint:
                painted.append(e.rect())
            return False
    spy = Paints()
    roll.installEventFilter(spy)
    b = _wide_block(window, after=20)
    qtbot.mouseDClick(lane, Qt.MouseButton.LeftButton, pos=QPoint(_x(window, (b.start + b.end) / 2), 15))
    dlg = window.editing.chord_dialog
    dlg.symbol.clear()
    qtbot.keyClicks(dlg.symbol, "C#dim")
    qtbot.keyClick(dlg.symbol, Qt.Key.Key_Return)
    assert window.session.wait_rendered()
    qtbot.wait(50)
    assert resets == {name: 0 for name in resets}
    assert note_rows, "the changed notes were not announced"
    n = len(models.notes.notes)
    first, last = min(r[0] for r in note_rows), max(r[1] for r in note_rows)
    assert last - first + 1 < n / 2                       # not the whole piece
    edited = [r for r in painted if r.width() < roll.width()]
    assert edited, "the piano-roll repainted whole"
    x0, x1 = window.axis.x_of(b.start), window.axis.x_of(b.end)
    bar = 4 * 60 / window.session.music.timeline.tempo * window.axis.pps
    assert all(r.left() >= x0 - 4 * bar and r.right() <= x1 + 4 * bar for r in edited)
