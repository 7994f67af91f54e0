"""The emotion and dynamics lanes as a user works them: double-click a scene to ask for an emotion
over it, draw a target's intensity with the mouse, draw the note density and the loudness, and
clear each back to what was detected or modelled.  Every drawing is one undoable command that
re-renders the music."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt

from tests.app.conftest import open_and_generate

LEFT, CTRL, SHIFT = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, \
    Qt.KeyboardModifier.ShiftModifier


def _x(window, t):
    return int(round(window.axis.x_of(t)))


def _drag(qtbot, lane, points, modifier=Qt.KeyboardModifier.NoModifier):
    """Press at the first (x, y), move through the others, release at the last."""
    qtbot.mousePress(lane, LEFT, modifier, QPoint(*points[0]))
    for pt in points[1:]:
        qtbot.mouseMove(lane, QPoint(*pt))
    qtbot.mouseRelease(lane, LEFT, modifier, QPoint(*points[-1]))


def _rgb(widget):
    from PySide6.QtGui import QImage
    img = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    return np.frombuffer(img.constBits(), np.uint8).reshape(h, bpl)[:, :3 * w].reshape(h, w, 3).astype(int)


def _edges(rgb):
    """Where the colour changes from one row to the next (the stacked emotions' borders)."""
    return np.abs(np.diff(rgb, axis=0)).sum(-1) > 30


def test_double_click_a_scene_asks_for_its_emotion_and_the_detected_stays_visible(qtbot, window, bbb):
    open_and_generate(qtbot, window, bbb)
    p = window.session.project
    lane = window.timeline.emotion
    cuts = sorted(window.session.lanes.cuts.rows)
    assert cuts
    scenes = list(zip([0.0, *cuts], [*cuts, window.axis.duration]))
    a, b = next((a, b) for a, b in scenes if b - a >= 6 and a > 1)
    sa, sb = int(round(a)), int(round(b))
    x0, x1 = _x(window, sa) + 3, _x(window, sb) - 3
    before = _rgb(lane)[lane.TOP + 2:lane.height() - 2, x0:x1]
    qtbot.mouseDClick(lane, LEFT, pos=QPoint(_x(window, a + 0.4 * (b - a)), 40))
    dlg = window.editing.target_dialog
    assert dlg.isVisible() and window.axis.selection == (sa, sb)
    dlg.emotion.setCurrentText("tense")
    dlg.intensity.setValue(80)
    qtbot.keyClick(dlg, Qt.Key.Key_Return)
    assert [(t.start, t.end, t.emotion, t.intensity) for t in p.targets] == [(sa, sb, "tense", 0.8)]
    assert window.session.undo_stack.count() == 1
    assert window.session.wait_rendered()
    assert len(window.session.lanes.targets.rows) == 1
    after = _rgb(lane)[lane.TOP + 2:lane.height() - 2, x0:x1]
    assert np.abs(after - before).sum(-1).mean() > 20                  # the target is drawn there
    # ... translucent: the borders between the detected emotions are still there under it
    eb, ea = _edges(before), _edges(after)
    near = ea | np.roll(ea, 1, 0) | np.roll(ea, -1, 0)
    assert eb.sum() > 20 and (eb & near).sum() / eb.sum() > 0.7
    # a double-click before the first cut: the scene from the video's start
    qtbot.keyClick(dlg, Qt.Key.Key_Escape) if dlg.isVisible() else None
    qtbot.mouseDClick(lane, LEFT, pos=QPoint(_x(window, cuts[0] / 2), 40))
    assert window.axis.selection == (0, max(int(round(cuts[0])), 1))
    window.editing.target_dialog.reject()


def test_draw_a_target_curve_then_clear_part_of_it(qtbot, window, bbb):
    open_and_generate(qtbot, window, bbb)
    p = window.session.project
    stack = window.session.undo_stack
    lane = window.timeline.emotion
    detected = window.session.lanes.emotion.rows[10]
    expected = ("exciting", "fearful", "tense", "sad", "relaxing", "neutral")[int(np.argmax(detected))]
    # Ctrl+drag from 10.5 s, low, to 17.5 s, high
    _drag(qtbot, lane, [(_x(window, 10.5), round(lane.y_of(0.2))), (_x(window, 12.5), round(lane.y_of(0.4))),
                        (_x(window, 17.5), round(lane.y_of(0.9)))], CTRL)
    assert stack.count() == 1 and window.undo_action.text().startswith(f"&Undo Draw {expected} target")
    covered = {s: t for t in p.targets for s in range(t.start, t.end)}
    assert sorted(covered) == list(range(10, 18))
    levels = [covered[s].intensity for s in range(10, 18)]
    assert {t.emotion for t in p.targets} == {expected}
    assert abs(levels[0] - 0.2) < 0.06 and abs(levels[-1] - 0.9) < 0.06 and levels == sorted(levels)
    assert len(set(levels)) >= 4                                        # a curve, not one value
    assert window.session.wait_rendered()
    assert len(window.session.lanes.targets.rows) == len(p.targets)
    # draw mode (D): a plain drag draws; Shift+drag clears 12-14 s back to the detected emotion
    qtbot.keyClick(window, Qt.Key.Key_D)
    assert window.actions["draw"].isChecked() and lane.draw_mode
    _drag(qtbot, lane, [(_x(window, 12.5), 40), (_x(window, 14.5), 40)], SHIFT)
    assert stack.count() == 2 and window.undo_action.text().startswith("&Undo Clear target")
    assert sorted(s for t in p.targets for s in range(t.start, t.end)) == [10, 11, 15, 16, 17]
    # a click in draw mode is still a seek, not an edit
    qtbot.mouseClick(lane, LEFT, pos=QPoint(_x(window, 30.5), 40))
    assert stack.count() == 2 and abs(window.axis.playhead - 30.5) < 0.2
    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL)
    assert sorted(covered) == sorted(s for t in p.targets for s in range(t.start, t.end))
    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL)
    assert p.targets == [] and stack.count() == 2
    assert window.session.wait_rendered()
    assert window.session.lanes.targets.rows == []


def test_draw_density_and_loudness_then_clear_them_back_to_the_model(qtbot, window, bbb):
    res = open_and_generate(qtbot, window, bbb)
    p = window.session.project
    stack = window.session.undo_stack
    model_density = res.score.dynamics.note_density.copy()
    model_loudness = res.score.dynamics.loudness.copy()
    density, loudness = window.timeline.density, window.timeline.loudness
    # Ctrl+drag a flat line at half the density lane's height over 20-25 s
    top = density.scale()
    y = round(density.y_of(0.5))
    _drag(qtbot, density, [(_x(window, 20.5), y), (_x(window, 23), y), (_x(window, 25.5), y)], CTRL)
    assert stack.count() == 1 and window.undo_action.text().startswith("&Undo Draw density")
    assert sorted(p.dynamics["density"]) == list(range(20, 26))
    assert all(abs(v - top / 2) < top * 0.03 for v in p.dynamics["density"].values())
    # in draw mode, a plain drag over the loudness lane: a ramp from low to high over 30-33 s
    window.actions["draw"].trigger()
    ltop = loudness.scale()
    _drag(qtbot, loudness, [(_x(window, 30.5), round(loudness.y_of(0.1))),
                            (_x(window, 33.5), round(loudness.y_of(0.9)))])
    assert stack.count() == 2 and sorted(p.dynamics["loudness"]) == [30, 31, 32, 33]
    ramp = [p.dynamics["loudness"][s] for s in range(30, 34)]
    assert ramp == sorted(ramp)
    assert abs(ramp[0] - 0.1 * ltop) < 0.04 * ltop and abs(ramp[-1] - 0.9 * ltop) < 0.04 * ltop
    assert window.session.wait_rendered()
    got = window.session.music.score.dynamics
    assert np.allclose(got.note_density[20:26], [p.dynamics["density"][s] for s in range(20, 26)])
    assert np.allclose(got.loudness[30:34], ramp)
    rows = window.session.lanes.dynamics.rows
    assert [s for s, r in enumerate(rows) if r[2]] == list(range(20, 26))   # drawn seconds, tinted
    assert [s for s, r in enumerate(rows) if r[3]] == [30, 31, 32, 33]
    # select 18-32 s, Shift+D: both curves back to the model's there (one command)
    window.axis.set_selection(18, 32)
    qtbot.keyClick(window, Qt.Key.Key_D, SHIFT)
    assert stack.count() == 3 and window.undo_action.text().startswith("&Undo Clear dynamics")
    assert p.dynamics == {"density": {}, "loudness": {32: ramp[2], 33: ramp[3]}}
    # Shift+drag (draw mode) over the loudness lane clears the rest
    _drag(qtbot, loudness, [(_x(window, 31.5), 20), (_x(window, 34.5), 20)], SHIFT)
    assert p.dynamics == {"density": {}, "loudness": {}} and stack.count() == 4
    assert window.session.wait_rendered()
    got = window.session.music.score.dynamics
    assert np.allclose(got.note_density, model_density) and np.allclose(got.loudness, model_loudness)
    for _ in range(4):
        qtbot.keyClick(window, Qt.Key.Key_Z, CTRL)
    assert p.dynamics == {"density": {}, "loudness": {}} and stack.index() == 0
    assert window.session.wait_rendered()
