"""Every edit of the project is one QUndoCommand on the session's one QUndoStack.  A command
wraps a core edit: the edit applies itself and returns its exact inverse (core.edits), so redo
and undo are the core's own values swapped back and forth."""
from __future__ import annotations

from PySide6.QtGui import QUndoCommand


class EditCommand(QUndoCommand):
    """Made from an edit already applied and its inverse (Session.apply applies it first, so a
    refused edit never reaches the stack); Qt's redo on push is then a no-op."""

    def __init__(self, project, inverse, text: str):
        super().__init__(text)
        self.project = project
        self._undo = inverse            # what undo applies next
        self._do = None                 # what redo applies next (after an undo)
        self._pushed = False

    def redo(self) -> None:
        if not self._pushed:            # the push itself: already applied
            self._pushed = True
            return
        self._undo = self._do.apply(self.project)   # the inverse's inverse: no models needed

    def undo(self) -> None:
        self._do = self._undo.apply(self.project)


class Precomputed:
    """Stands in for the Engine in a Regenerate or Rewrite edit whose new chords a worker
    already made."""

    def __init__(self, tokens):
        self.tokens = tokens

    def regenerate(self, start: int, end: int, seed: int):
        return self.tokens

    def rewrite(self, seed: int):
        return self.tokens
