"""A style for a range drawn in the timeline (issue 28): drag across the Style lane, Y, pick a
style by keyboard: one undoable edit, shown in the lane at once and re-rendered."""
from __future__ import annotations

from PySide6.QtCore import QPoint, Qt

from tests.app.conftest import open_and_generate


def _x(window, t):
    return int(round(window.axis.x_of(t)))


def test_a_style_range_is_drawn_chosen_by_keyboard_and_undone(qtbot, window, tmp_path):
    from v2m_desktop.core.arrange.styles import all_styles
    from v2m_desktop.core.video.synthetic import make_test_video
    clip = tmp_path / "clip.mp4"
    make_test_video(clip, 16, fps=24, size=(192, 108), cuts=[6.0, 11.0])
    open_and_generate(qtbot, window, clip)
    lane = window.timeline.styles
    piece = window.session.music.score.arrangement.style
    assert [(a, b, k, own) for a, b, k, own in lane.spans] == [(0.0, window.session.project.video.duration,
                                                                 piece, False)]
    qtbot.mousePress(lane, Qt.MouseButton.LeftButton, pos=QPoint(_x(window, 4.0), 10))
    qtbot.mouseMove(lane, QPoint(_x(window, 9.0), 10))
    qtbot.mouseRelease(lane, Qt.MouseButton.LeftButton, pos=QPoint(_x(window, 9.0), 10))
    qtbot.keyClick(window, Qt.Key.Key_Y)
    dlg = window.editing.style_dialog
    qtbot.waitUntil(dlg.isVisible, timeout=2000)
    other = next(k for k in sorted(all_styles(), key=lambda k: all_styles()[k].name) if k != piece)
    rows = [dlg.styles.item(i).data(Qt.ItemDataRole.UserRole) for i in range(dlg.styles.count())]
    for _ in range(rows.index(other)):
        qtbot.keyClick(dlg.styles, Qt.Key.Key_Down)
    qtbot.keyClick(dlg.styles, Qt.Key.Key_Return)
    p = window.session.project
    assert p.settings.style_ranges == ((4, 9, other),)
    assert (4, 9, other, True) in lane.spans                                  # shown at once
    assert window.session.undo_stack.undoText().startswith(f"Style {all_styles()[other].name}")
    assert lane.tip_at(_x(window, 6.0)).startswith(all_styles()[other].name)
    assert window.session.wait_rendered()
    assert window.session.music.score.arrangement.style_plan.spans[1] == (4.0, 9.0, other)   # heard
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert p.settings.style_ranges == () and all(not own for *_, own in lane.spans)
    assert window.session.wait_rendered()
