"""Preferences: the SoundFonts found on the system to choose from (issue 28), by keyboard."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from v2m_desktop.app.dialogs.settings import SettingsDialog
from v2m_desktop.app.settings import AppSettings
from v2m_desktop.core.soundfonts import default_soundfont, installed, timgm6mb


def test_the_banks_found_are_listed_and_one_is_chosen_by_keyboard(qtbot, tmp_path):
    settings = AppSettings()
    dlg = SettingsDialog(settings)
    qtbot.addWidget(dlg)
    box = dlg.soundfont
    paths = [box.itemData(i) for i in range(box.count())]
    assert paths[0] == "" and box.currentIndex() == 0           # the default: no setting
    assert default_soundfont().name in box.itemText(0)
    assert paths[1:] == [str(p) for p in installed()] and str(timgm6mb()) in paths
    dlg.show()
    box.setFocus()
    qtbot.keyClick(box, Qt.Key.Key_End)                         # the last: TimGM6mb
    assert box.currentData() == str(timgm6mb())
    ok = dlg.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    assert settings.soundfont == str(timgm6mb())
    # a bank chosen elsewhere before is listed and kept
    own = tmp_path / "own.sf2"
    own.write_bytes(b"RIFF")
    settings.soundfont = str(own)
    again = SettingsDialog(settings)
    qtbot.addWidget(again)
    assert again.soundfont.currentData() == str(own) and "own.sf2" in again.soundfont.currentText()
    again.accept()
    assert settings.soundfont == str(own)
