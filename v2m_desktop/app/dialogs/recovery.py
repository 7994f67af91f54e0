"""After a crash: the question that offers the newest recovery copy of unsaved work."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from PySide6.QtWidgets import QMessageBox, QWidget


def recovery_box(parent: QWidget, recover: Callable[[Path, str | None], None]) -> QMessageBox | None:
    """A non-blocking question about the newest recovery copy newer than its saved project
    (None: there is none).  Recover calls `recover(copy, project it belongs to)`; Discard
    deletes the copy; Later keeps it."""
    from v2m_desktop.core.project import recoverable
    found = recoverable()
    if not found:
        return None
    copy, of = found[0]
    when = datetime.fromtimestamp(copy.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    box = QMessageBox(QMessageBox.Icon.Question, "Recover unsaved work?",
                      f"v2m-desktop closed with unsaved changes to {of or 'an unsaved project'} "
                      f"(autosaved {when}). Recover them?", QMessageBox.StandardButton.NoButton, parent)
    recover_button = box.addButton("Recover", QMessageBox.ButtonRole.AcceptRole)
    discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
    later = box.addButton("Later", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(later)         # a stray Enter or Space decides nothing

    def chosen(_result=None) -> None:
        if box.clickedButton() is recover_button:
            recover(copy, of)
        elif box.clickedButton() is discard:
            copy.unlink(missing_ok=True)
    box.finished.connect(chosen)
    box.finished.connect(parent.activateWindow)       # its keys are the window's again
    box.open()
    return box
