"""The piano-roll as a user edits it (issue 26): qtbot mouse and keys on the real lane of the real
window, Big Buck Bunny scored by the real models; a moved note is heard (the MIDI export has it
at its new pitch and time) and undo gives the previous MIDI's bytes back."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QHelpEvent, QWheelEvent
from PySide6.QtWidgets import QApplication, QToolTip

from tests.app.conftest import open_and_generate
from v2m_desktop.core.arrange.midi_file import midi_bytes

pytestmark = pytest.mark.slow


def _midi(window) -> bytes:
    score = window.session.music.score
    return midi_bytes(score.arrangement.midi, score.arrangement.cuts)


def _zoomed(qtbot, window, bbb, t0=10.0, t1=18.0):
    open_and_generate(qtbot, window, bbb)
    axis = window.axis
    axis.zoom(axis.width / (t1 - t0) / axis.pps)
    axis.scroll_to(t0)
    lane = window.timeline.piano_roll
    qtbot.waitUntil(lambda: lane.model.notes is not None)
    return window.session.project, lane


def _a_note(lane, part="piano", after=11.0):
    """A note of `part` whose middle, on screen, is that note's alone."""
    for i in range(len(lane.model.notes)):
        n = lane.note(i)
        if n.part == part and n.start >= after and n.end - n.start > 0.2 and not lane.is_drum(n.part):
            r = lane.rect_of(n, False)
            c = r.center()
            if lane.note_at(c) == n and r.width() > 12:
                return n, QPoint(int(c.x()), int(c.y()))
    raise AssertionError("no piano note to grab")


def test_drag_a_note_then_undo_gives_the_old_midi_back(qtbot, window, bbb):
    p, lane = _zoomed(qtbot, window, bbb)
    assert window.session.wait_rendered()
    before = _midi(window)
    n, at = _a_note(lane)
    beats = lane.model.beats
    beat = float(beats[1] - beats[0])
    to = QPoint(at.x() + int(round(beat * window.axis.pps)), at.y() - int(round(2 * lane.row_height())))
    qtbot.mousePress(lane, Qt.MouseButton.LeftButton, pos=at)
    qtbot.mouseMove(lane, QPoint((at.x() + to.x()) // 2, at.y() - 3))
    qtbot.mouseMove(lane, to)
    qtbot.mouseRelease(lane, Qt.MouseButton.LeftButton, pos=to)
    assert window.session.undo_stack.count() == 1
    assert window.undo_action.text() == "&Undo Move 1 note"
    moved = [m for m in p.notes.added]
    assert len(moved) == 1 and moved[0].pitch == n.pitch + 2 and moved[0].part == "piano"
    assert min(abs(beats - moved[0].start)) < 1e-6 and moved[0].start > n.start     # on a later beat
    # the lane shows it at once, selected, where it was dropped
    assert lane.note_at(QPointF(lane.rect_of(moved[0], False).center())) == moved[0]
    assert lane.selected == {moved[0]}
    # the custom voicing shows on the chord block above it
    block = next(b for b in window.session.lanes.chords.rows if b.start <= moved[0].start < b.end)
    assert block.custom
    window.axis.scroll_to(block.start - 0.5)
    img = window.timeline.chords.grab().toImage()
    x0 = int(window.axis.x_of(block.start))
    white = [(x, y) for x in range(x0 + 1, x0 + 6) for y in range(3, 7)
             if min((c := img.pixelColor(x, y)).red(), c.green(), c.blue()) > 230]
    assert len(white) >= 6                          # the white corner of a custom voicing
    assert window.session.wait_rendered()
    import io

    import pretty_midi
    pm = pretty_midi.PrettyMIDI(io.BytesIO(_midi(window)))
    piano = next(i for i in pm.instruments if i.name == "piano")
    assert any(x.pitch == n.pitch + 2 and abs(x.start - moved[0].start) < 0.002 for x in piano.notes)
    assert not any(x.pitch == n.pitch and abs(x.start - n.start) < 0.002 for x in piano.notes)
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.session.wait_rendered()
    assert _midi(window) == before


def test_keys_wheel_band_draw_and_tooltip(qtbot, window, bbb):
    p, lane = _zoomed(qtbot, window, bbb)
    n, at = _a_note(lane)
    qtbot.mouseClick(lane, Qt.MouseButton.LeftButton, pos=at)
    assert lane.selected == {n} and lane.hasFocus()
    qtbot.keyClick(lane, Qt.Key.Key_Up, Qt.KeyboardModifier.ShiftModifier)          # an octave
    assert [m.pitch for m in p.notes.added] == [n.pitch + 12]
    assert window.session.project.seconds and window.axis.playhead == 0.0           # Up did not seek
    qtbot.keyClick(lane, Qt.Key.Key_Delete)
    assert p.notes.added == () and n in p.notes.removed
    assert window.session.undo_stack.count() == 2
    # Del with no note selected is the chord lane's again: the window's No Chord
    qtbot.keyClick(lane, Qt.Key.Key_Escape)
    assert not lane.selected
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(p.notes) == 0
    # copy a note, paste it at the playhead, duplicate it after itself
    qtbot.mouseClick(lane, Qt.MouseButton.LeftButton, pos=at)
    qtbot.keyClick(lane, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    window.player.seek(16.0)
    qtbot.waitUntil(lambda: abs(window.axis.playhead - 16.0) < 0.05)
    lane.setFocus()
    qtbot.keyClick(lane, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    pasted = p.notes.added
    assert len(pasted) == 1 and pasted[0].pitch == n.pitch
    assert abs(pasted[0].start - window.axis.playhead) < 1e-6
    assert lane.selected == set(pasted)
    qtbot.keyClick(lane, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    copy = [m for m in p.notes.added if m != pasted[0]]
    assert len(copy) == 1 and copy[0].start >= pasted[0].end - 1e-6 and copy[0].pitch == n.pitch
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(p.notes) == 0
    qtbot.keyClick(lane, Qt.Key.Key_Escape)
    # a rubber band over a stretch selects its shown notes; Alt+wheel makes them louder
    y0, y1 = 4, lane.height() - lane.DRUM_STRIP - 4
    x0, x1 = int(window.axis.x_of(12.0)), int(window.axis.x_of(13.5))
    qtbot.mousePress(lane, Qt.MouseButton.LeftButton, pos=QPoint(x0, y0))
    qtbot.mouseMove(lane, QPoint(x0 + 20, y0 + 20))
    qtbot.mouseMove(lane, QPoint(x1, y1))
    qtbot.mouseRelease(lane, Qt.MouseButton.LeftButton, pos=QPoint(x1, y1))
    chosen = set(lane.selected)
    assert len(chosen) >= 3 and all(11.0 < m.end and m.start < 14.0 for m in chosen)
    where = QPointF(lane.rect_of(sorted(chosen)[0], lane.is_drum(sorted(chosen)[0].part)).center())
    wheel = QWheelEvent(where, lane.mapToGlobal(where), QPoint(), QPoint(0, 120), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.AltModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(lane, wheel)
    assert {(m.part, m.pitch, m.start, min(m.velocity + 6, 127)) for m in chosen} == \
        {(m.part, m.pitch, m.start, m.velocity) for m in p.notes.added}
    # a double-click on empty space draws a piano note a beat long there
    qtbot.keyClick(lane, Qt.Key.Key_Escape)
    empty = next(QPoint(x, y) for y in range(6, 60, 3) for x in range(x0, x1, 5)
                 if lane.note_at(QPointF(x, y)) is None)
    before = set(p.notes.added)
    qtbot.mouseDClick(lane, Qt.MouseButton.LeftButton, pos=empty)
    new = set(p.notes.added) - before
    assert len(new) == 1 and next(iter(new)).part == "piano"
    assert next(iter(new)).pitch == lane.pitch_at(empty.y())
    # hovering a note tells its part, name, start, length and velocity
    drawn = next(iter(new))
    c = lane.rect_of(drawn, False).center()
    QApplication.sendEvent(lane, QHelpEvent(QEvent.Type.ToolTip, QPoint(int(c.x()), int(c.y())),
                                            lane.mapToGlobal(QPoint(int(c.x()), int(c.y())))))
    assert QToolTip.text().startswith("piano  ") and f"velocity {drawn.velocity}" in QToolTip.text()
    _zooms_scrolls_and_grows(qtbot, window, lane)


def test_import_midi_from_a_daw_is_one_undoable_edit(qtbot, window, bbb, tmp_path, monkeypatch):
    import io

    import pretty_midi
    from PySide6.QtWidgets import QFileDialog
    p, lane = _zoomed(qtbot, window, bbb)
    assert window.session.wait_rendered()
    before = _midi(window)
    pm = pretty_midi.PrettyMIDI(io.BytesIO(before))
    piano = next(i for i in pm.instruments if i.name == "piano")
    for x in piano.notes[20:30]:                    # a DAW moved ten notes up a tone
        x.pitch += 2
    del next(i for i in pm.instruments if i.name == "bass").notes[5:8]
    pm.write(str(tmp_path / "edited.mid"))
    want = pretty_midi.PrettyMIDI(str(tmp_path / "edited.mid"))
    files = [str(tmp_path / "edited.mid")]
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (files.pop(0), ""))
    with qtbot.waitSignal(window.session.undo_stack.indexChanged, timeout=60000):
        qtbot.keyClick(window, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    assert window.undo_action.text() == "&Undo Import MIDI edited.mid"
    assert len(p.notes.added) == 10 and len(p.notes.removed) == 13
    assert window.session.wait_rendered()
    got = pretty_midi.PrettyMIDI(io.BytesIO(_midi(window)))

    def ticks(m):
        return {i.name: sorted((n.pitch, m.time_to_tick(n.start), m.time_to_tick(n.end), n.velocity)
                               for n in i.notes) for i in m.instruments}
    assert ticks(got) == ticks(want)
    # another program's file: one line, nothing changes
    other = pretty_midi.PrettyMIDI(initial_tempo=200.0)
    other.instruments.append(pretty_midi.Instrument(0, name="piano"))
    other.write(str(tmp_path / "other.mid"))
    files.append(str(tmp_path / "other.mid"))
    state = p.state()
    with qtbot.waitSignal(window.session.failed, timeout=60000) as refused:
        qtbot.keyClick(window, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    assert refused.args[0] == "Cannot import the MIDI file" and "nothing was imported" in refused.args[1]
    assert "\n" not in refused.args[1] and not refused.args[2]
    window.dialog.done(0)
    assert p.state() == state
    qtbot.waitUntil(lambda: not window.session.busy and QApplication.activeWindow() is window)
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(p.notes) == 0


def _zooms_scrolls_and_grows(qtbot, window, lane):
    """Ctrl+Shift+wheel zooms the pitches, Shift+wheel scrolls them, the bottom edge drags the
    lane taller; none of it is an edit."""
    count = window.session.undo_stack.count()
    pv = lane.pitches
    rows, lo = pv.rows, pv.lo
    K = Qt.KeyboardModifier  # noqa: N806
    where = QPointF(300, 60)

    def wheel(mods, dy=120):
        QApplication.sendEvent(lane, QWheelEvent(where, lane.mapToGlobal(where), QPoint(), QPoint(0, dy),
                                                 Qt.MouseButton.NoButton, mods, Qt.ScrollPhase.NoScrollPhase,
                                                 False))
    wheel(K.ControlModifier | K.ShiftModifier)            # zoom in on the pitches
    assert pv.rows < rows
    lo = pv.lo
    wheel(K.ShiftModifier, -120)                          # scroll down
    assert pv.lo < lo
    h = lane.height()
    y = lane.height() - 2
    qtbot.mousePress(lane, Qt.MouseButton.LeftButton, pos=QPoint(200, y))
    qtbot.mouseMove(lane, QPoint(200, y + 60))
    qtbot.mouseRelease(lane, Qt.MouseButton.LeftButton, pos=QPoint(200, y + 60))
    qtbot.waitUntil(lambda: lane.height() >= h + 50)
    assert window.session.undo_stack.count() == count
