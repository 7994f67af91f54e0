"""Every edit of the project is one QUndoCommand on the session's one QUndoStack.  A command
wraps a core edit: the edit applies itself and returns its exact inverse (core.edits), so redo
and undo are the core's own values swapped back and forth."""
from __future__ import annotations

from PySide6.QtGui import QUndoCommand


class EditCommand(QUndoCommand):
    def __init__(self, project, edit, text: str, engine=None):
        super().__init__(text)
        self.project, self.engine = project, engine
        self._do = edit             # what redo applies next
        self._undo = None           # what undo applies next

    def redo(self) -> None:
        self._undo = self._do.apply(self.project, self.engine)
        self.engine = None          # a redo after an undo replays the inverse's inverse: no models

    def undo(self) -> None:
        self._do = self._undo.apply(self.project)


class Precomputed:
    """Stands in for the Engine in a Regenerate edit whose new chords a worker already made."""

    def __init__(self, tokens):
        self.tokens = tokens

    def regenerate(self, start: int, end: int, seed: int):
        return self.tokens
