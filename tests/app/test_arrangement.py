"""View > Arrangement as a user works it: key, tempo, instruments, SoundFont, seed and the
original sound's level, each change one undoable command that re-renders the music; a refused
change says why in one message and changes nothing."""
from __future__ import annotations

import shutil

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from tests.app.conftest import open_and_generate


def _enter(qtbot, spin, text: str) -> None:
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, text)
    qtbot.keyClick(spin, Qt.Key.Key_Return)


def _click(qtbot, widget) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def test_the_arrangement_panel_edits_the_project_and_undo_restores_it(qtbot, window, bbb, tmp_path,
                                                                     monkeypatch):
    res = open_and_generate(qtbot, window, bbb)
    p = window.session.project
    start = p.state()
    stack = window.session.undo_stack
    panel = window.arrangement
    assert not panel.isVisible()
    window.arrangement_action.trigger()                     # View > Arrangement
    assert panel.isVisible() and panel.widget().isEnabled()
    assert panel.key.currentData() == p.key_root + 12 * p.mode
    assert panel.auto_tempo.isChecked() and abs(panel.tempo.value() - res.timeline.tempo) < 0.06
    assert [n for n, b in panel.parts.items() if b.isChecked()] == list(p.settings.instruments)

    # key: the next key in the list, from the keyboard; the chords move with it
    key_before, tokens_before = (p.key_root, p.mode), p.tokens.copy()
    panel.key.setFocus()
    qtbot.keyClick(panel.key, Qt.Key.Key_Down)
    assert (p.key_root, p.mode) != key_before and (p.tokens != tokens_before).any()
    assert panel.key.currentData() == p.key_root + 12 * p.mode
    assert stack.count() == 1 and window.undo_action.text().startswith("&Undo Key ")
    assert window.documents.modified and window.windowTitle().startswith(f"{bbb.name}*")

    # tempo: untick Auto (the shown tempo becomes fixed), then type 100
    _click(qtbot, panel.auto_tempo)
    assert p.settings.tempo == round(panel.tempo.value(), 1) and panel.tempo.isEnabled()
    _enter(qtbot, panel.tempo, "100")
    assert p.settings.tempo == 100.0 and stack.count() == 3
    assert window.session.wait_rendered()
    assert abs(window.session.music.timeline.tempo - 100) < 1          # the music re-rendered at it

    # instruments: untick the drums; the re-rendered arrangement has no drums
    _click(qtbot, panel.parts["drums"])
    assert p.settings.instruments == ("piano", "bass", "pad", "melody")
    assert window.session.wait_rendered()
    assert "drums" not in {i.name for i in window.session.music.score.arrangement.midi.instruments}

    # seed and the original sound's level
    _enter(qtbot, panel.seed, "77")
    assert p.settings.seed == 77
    panel.level.setFocus()
    qtbot.keyClick(panel.level, Qt.Key.Key_PageUp)
    level = p.settings.original_level
    assert level == round(panel.level.value() / 100, 2) > start["settings"]["original_level"]
    assert window.transport.level.value() == panel.level.value()  # the transport shows it
    assert stack.count() == 6

    # SoundFont: a file that is not one is refused with one message; a real one is used
    bad = tmp_path / "not a font.sf2"
    bad.write_bytes(b"hello")
    chosen = {"path": str(bad)}
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (chosen["path"], ""))
    qtbot.mouseClick(panel.choose_soundfont, Qt.MouseButton.LeftButton)
    assert window.dialog.isVisible() and "not a SoundFont" in window.dialog.text()
    window.dialog.done(0)
    assert stack.count() == 6 and p.settings.soundfont is None     # refused: not on the stack
    from v2m_desktop.core.render import default_soundfont
    good = tmp_path / "font.sf2"
    shutil.copy(default_soundfont(), good)
    chosen["path"] = str(good)
    qtbot.mouseClick(panel.choose_soundfont, Qt.MouseButton.LeftButton)
    assert p.settings.soundfont == str(good.resolve()) and panel.soundfont.text() == "font.sf2"
    assert window.session.wait_rendered()
    assert window.session.music.score.soundfont == str(good.resolve())

    # the last instrument cannot go: one message, the box stays ticked
    for name in ("pad", "bass", "melody"):
        _click(qtbot, panel.parts[name])
    count = stack.count()
    _click(qtbot, panel.parts["piano"])
    assert stack.count() == count and p.settings.instruments == ("piano",)
    assert panel.parts["piano"].isChecked() and "no instruments" in window.dialog.text()
    window.dialog.done(0)

    # the style, from its list by the keyboard: the music re-rendered in it
    count = stack.count()
    panel.style.setFocus()
    qtbot.keyClick(panel.style, Qt.Key.Key_Down)
    assert p.settings.style == panel.style.currentData() != "auto" and stack.count() == count + 1
    assert window.undo_action.text() == f"&Undo Style {panel.style.currentText()}"
    assert window.session.wait_rendered()

    # the duck under speech, typed; the delivery's loudness, from the list by the keyboard
    count = stack.count()
    _enter(qtbot, panel.duck, "14")
    assert p.settings.duck_db == 14.0
    panel.loudness.setFocus()
    qtbot.keyClick(panel.loudness, Qt.Key.Key_Down)
    assert p.settings.loudness == -16.0 and stack.count() == count + 2
    assert window.undo_action.text() == "&Undo Loudness Podcast (-16 LUFS)"

    # every change was one command: undoing them all gives the generated project back, and the
    # panel shows it again
    assert window.session.wait_rendered()
    for _ in range(stack.index()):
        qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert p.state() == start
    assert panel.auto_tempo.isChecked() and not panel.tempo.isEnabled()
    assert panel.key.currentData() == key_before[0] + 12 * key_before[1]
    assert panel.seed.value() == start["settings"]["seed"]
    assert panel.duck.value() == 10 and panel.loudness.currentData() == "youtube"
    assert panel.style.currentData() == "auto"
    assert all(b.isChecked() for b in panel.parts.values()) and panel.soundfont.text().startswith("TimGM6mb")
    assert window.session.wait_rendered()
