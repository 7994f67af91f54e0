"""What a click, drag or key does to the open project: each handler turns the selection (or a
lane's gesture) into one core edit and pushes it as one undoable command.  The rules of the
edits themselves (boundaries, splits, merges) are the core's; this only reads the selection and
asks for values through the dialogs."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from v2m_desktop.app.session import BUSY_TEXT, Session
from v2m_desktop.app.timeline.axis import TimeAxis
from v2m_desktop.app.timeline.lanes import EMOTION_NAMES, format_time
from v2m_desktop.app.timeline.view import TimelineView

if TYPE_CHECKING:
    from v2m_desktop.app.dialogs.edit import ChordDialog, TargetDialog
    from v2m_desktop.core.edits import Edit


def span_text(span: tuple[int, int]) -> str:
    return f"{format_time(span[0])}-{format_time(span[1])}"


class Editing(QObject):
    """The edit handlers of one window (its session, axis and timeline); `message` is what the
    status bar should say."""

    message = Signal(str)

    def __init__(self, session: Session, axis: TimeAxis, timeline: TimelineView, parent: QWidget):
        super().__init__(parent)
        self.session, self.axis, self.timeline, self.parent_widget = session, axis, timeline, parent
        self.clipboard: tuple[int, int] | None = None     # the copied chords' seconds
        self.draw_emotion: str | None = None              # what a drawn curve asks for next
        self.chord_dialog: ChordDialog | None = None
        self.target_dialog: TargetDialog | None = None
        self.generate_question = None                     # Generate's question on an edited project

    # -- the selection
    def selected_seconds(self) -> tuple[int, int] | None:
        """The selection in whole seconds (the chords' grid), or the block under the playhead."""
        p = self.session.project
        sel = self.axis.selection
        if sel is None:
            b = self.timeline.chords.implicit_block()      # outlined on the chord lane
            if b is None:
                return None
            sel = (b.start, b.end)
        n = p.seconds if p is not None else 0
        a, b = min(max(int(round(sel[0])), 0), n), min(max(int(round(sel[1])), 0), n)
        return (a, b) if b > a else ((a, a + 1) if a < n else None)

    def apply(self, edit: Edit, text: str) -> None:
        from v2m_desktop.core.edits import ChangeNotes, dropped_notes
        p = self.session.project
        notes = p.notes if p is not None else None
        if self.session.apply(edit, text):
            n = 0 if notes is None or p is None or isinstance(edit, ChangeNotes) else \
                dropped_notes(notes, p.notes)
            self.message.emit(text if not n else f"{text}: {n} note edit{'s' if n > 1 else ''} under the old "
                              "chord dropped (Undo brings them back)")

    def generate(self) -> None:
        """Ctrl+G: music for the whole video.  On a project the user edited, ask first: keep the
        locked chords (the default), replace everything, or cancel (either way one undoable
        command)."""
        from PySide6.QtWidgets import QMessageBox
        s, p = self.session, self.session.project
        edited = p is not None and (s.undo_stack.count() > 0 or bool(p.locks or p.targets or p.splits)
                                    or len(p.notes) > 0 or any(p.dynamics.values()))
        if not edited:
            s.generate()
            return
        box = QMessageBox(QMessageBox.Icon.Question, "Generate", "Write new chords for the whole video?",
                          parent=self.parent_widget)
        box.setInformativeText(f"{len(p.locks)} locked seconds. Undo (Ctrl+Z) brings the current "
                               "music back either way.")
        keep = box.addButton("Keep Locked Chords", QMessageBox.ButtonRole.AcceptRole)
        replace = box.addButton("Replace Everything", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(keep)

        def answered(button) -> None:
            self.parent_widget.activateWindow()     # the keys go back to the window at once
            if button is keep:
                s.generate()
            elif button is replace:
                s.generate(keep_locks=False)
        box.buttonClicked.connect(answered)
        self.generate_question = box
        box.open()

    def import_midi(self) -> None:
        """File > Import MIDI: pick the file a DAW changed; the session reads it as one edit."""
        from PySide6.QtWidgets import QFileDialog
        if self.session.project is None:
            self.message.emit("Generate (Ctrl+G) first: a MIDI file changes the music's notes")
            return
        path, _ = QFileDialog.getOpenFileName(self.parent_widget, "Import MIDI", "",
                                              "MIDI files (*.mid *.midi);;All files (*)")
        if path:
            self.session.import_midi(path)

    def change_notes(self, before: tuple, after: tuple, text: str) -> None:
        """A note edit from the piano-roll, as one undoable command."""
        from v2m_desktop.core.edits import ChangeNotes
        if self.session.state in BUSY_TEXT:
            self.message.emit(f"{BUSY_TEXT[self.session.state]}: edit the notes when it is done")
            return
        self.apply(ChangeNotes(before, after), text)

    def _symbol(self, token: int) -> str:
        """A chord as the lanes write it (flats in a flat key)."""
        p = self.session.project
        return p.symbol(token) if p is not None else ""

    # -- chords
    def pick_chord(self) -> None:
        span, p = self.selected_seconds(), self.session.project
        if span is None or p is None:
            return
        from v2m_desktop.app.dialogs.edit import ChordDialog
        self.chord_dialog = ChordDialog(self._symbol(int(p.tokens[span[0]])), f"Seconds {span_text(span)}",
                                        self.parent_widget)
        self.chord_dialog.chosen.connect(lambda text, span=span: self.set_chord(text, span))
        # its keys are the window's again when it closes
        self.chord_dialog.finished.connect(self.parent_widget.activateWindow)
        self.chord_dialog.open()

    def set_chord(self, symbol: str, span: tuple[int, int] | None = None) -> None:
        from v2m_desktop.core.edits import SetChords
        span = span or self.selected_seconds()
        if span:
            self.apply(SetChords(*span, symbol), f"Set chord {symbol} at {format_time(span[0])}")

    def move_boundary(self, old: float, new: float) -> None:
        """A boundary dragged on the chord lane (the core's MoveBoundary rule)."""
        from v2m_desktop.core.edits import MoveBoundary
        p = self.session.project
        if p is None:
            return
        o, n = int(round(old)), int(round(min(max(new, 0), p.seconds)))
        if n != o:
            what = "split" if o in p.splits else "chord boundary"
            self.apply(MoveBoundary(o, n), f"Move {what} {format_time(o)} to {format_time(n)}")

    def merge_next(self) -> None:
        """The block after the selection takes its chord (the core's MergeNext rule)."""
        from v2m_desktop.core.edits import MergeNext
        from v2m_desktop.core.errors import V2MError
        p, span = self.session.project, self.selected_seconds()
        if p is None or span is None:
            return
        edit = MergeNext(*span)
        try:
            a = edit.boundary(p)
        except V2MError as err:         # nothing to merge with: said in the status bar
            self.message.emit(str(err)[:1].upper() + str(err)[1:])
            return
        self.apply(edit, f"Merge chords at {format_time(a)}")

    def split_here(self) -> None:
        """The block under the playhead becomes two at the playhead's second (the chord stays;
        each half can then be changed alone)."""
        from v2m_desktop.core.edits import Split
        p = self.session.project
        if p is None:
            return
        at = self.axis.playhead
        s = int(round(at))
        if s in {a for a, _, _ in p.blocks()} or not 0 < s < p.seconds:
            self.message.emit(f"A chord block starts at {format_time(s)} already: move the playhead "
                              "into a block to split it there")
            return
        self.apply(Split(s), f"Split at {format_time(s)}")
        if abs(at - s) > 0.05:      # chords change on whole seconds: say where it went, and why
            self.message.emit(f"Split at {format_time(s)}, the whole second nearest the playhead "
                              f"({format_time(at, 0.1)}): chords change on whole seconds")

    def toggle_lock(self) -> None:
        from v2m_desktop.core.edits import Lock, Unlock
        span, p = self.selected_seconds(), self.session.project
        if span is None or p is None:
            return
        locked = all(s in p.locks for s in range(*span))
        self.apply((Unlock if locked else Lock)(*span), f"{'Unlock' if locked else 'Lock'} {span_text(span)}")

    def transpose(self, semitones: int) -> None:
        from v2m_desktop.core.edits import Transpose
        span = self.selected_seconds()
        if span:
            self.apply(Transpose(*span, semitones), f"Transpose {span_text(span)} {semitones:+d}")

    def regenerate(self) -> None:
        span = self.selected_seconds()
        if span:
            self.message.emit(f"Regenerating {span_text(span)}…")
            self.session.regenerate(*span)

    def step_take(self, step: int) -> None:
        from v2m_desktop.core.edits import UseTake
        p, span = self.session.project, self.selected_seconds()
        takes = p.takes_of(*span) if p is not None and span else None
        if takes is None or span is None:
            self.message.emit("No takes here: select a regenerated range (Ctrl+R makes one)")
            return
        n = takes.current + step
        if 0 <= n < len(takes.takes):
            self.apply(UseTake(*span, n), f"Take {n} of {len(takes.takes) - 1} at {span_text(span)}")

    def copy_chords(self) -> None:
        self.clipboard = self.selected_seconds()
        if self.clipboard:
            self.message.emit(f"Copied the chords of {span_text(self.clipboard)}")

    def paste_chords(self) -> None:
        from v2m_desktop.core.edits import CopyChords
        src, p = self.clipboard, self.session.project
        if not src or p is None:
            return
        to = int(round(self.axis.playhead))
        n = min(src[1] - src[0], p.seconds - to)
        if n > 0:
            self.apply(CopyChords(src[0], src[0] + n, to), f"Paste chords at {format_time(to)}")

    # -- emotion targets
    def pick_target(self) -> None:
        span = self.selected_seconds()
        if span is None:
            return
        from v2m_desktop.app.dialogs.edit import TargetDialog
        self.target_dialog = TargetDialog(f"Seconds {span_text(span)}", self.parent_widget)
        self.target_dialog.chosen.connect(lambda emo, i, span=span: self.set_target(emo, i, span))
        self.target_dialog.finished.connect(self.parent_widget.activateWindow)
        self.target_dialog.open()

    def pick_scene_target(self, start: float, end: float) -> None:
        """A double-click on a scene of the emotion lane: the target dialog for its seconds."""
        p = self.session.project
        if p is None:
            self.message.emit("Generate (Ctrl+G) first: a target steers the music")
            return
        a = min(max(int(round(start)), 0), p.seconds - 1)
        b = min(max(int(round(end)), a + 1), p.seconds)
        self.axis.set_selection(a, b)
        self.pick_target()

    def set_target(self, emotion: str, intensity: float, span: tuple[int, int] | None = None) -> None:
        from v2m_desktop.core.edits import SetEmotionTarget
        span = span or self.selected_seconds()
        self.draw_emotion = emotion
        if span:
            self.apply(SetEmotionTarget(*span, emotion, intensity),
                       f"Target {emotion} {intensity:.0%} at {span_text(span)}")

    def clear_target(self) -> None:
        from v2m_desktop.core.edits import ClearEmotionTarget
        span = self.selected_seconds()
        if span:
            self.apply(ClearEmotionTarget(*span), f"Clear target {span_text(span)}")

    # -- drawn curves
    def _can_draw(self) -> bool:
        if self.session.project is None:
            self.message.emit("Generate (Ctrl+G) first: the drawn curves steer the music")
            return False
        if self.session.state in BUSY_TEXT:
            self.message.emit(f"{BUSY_TEXT[self.session.state]}: draw when it is done")
            return False
        return True

    def draw_toggled(self, on: bool) -> None:
        self.timeline.set_draw_mode(on)
        self.message.emit("Draw mode: drag on the emotion, density or loudness lane; Shift+drag "
                          "clears" if on else "Draw mode off (Ctrl+drag still draws)")

    def _emotion_to_draw(self, start: int) -> str:
        """The target's emotion where the drawing starts; else the last one chosen; else the
        detected emotion there."""
        p = self.session.project
        here = next((t for t in p.targets if t.start <= start < t.end), None) if p is not None else None
        if here is not None:
            return here.emotion
        if self.draw_emotion:
            return self.draw_emotion
        rows = self.session.lanes.emotion.rows
        if start < len(rows):
            return EMOTION_NAMES[max(range(len(rows[start])), key=rows[start].__getitem__)]
        return EMOTION_NAMES[-1]

    def draw_target(self, start: int, values: list, clear: bool) -> None:
        """A drag on the emotion lane: the target's intensity a second along it (one command), or
        those seconds back to the detected emotion."""
        from v2m_desktop.core.edits import ClearEmotionTarget, SetEmotionCurve
        if not self._can_draw():
            return
        span = (start, start + len(values))
        if clear:
            self.apply(ClearEmotionTarget(*span), f"Clear target {span_text(span)}")
            return
        emotion = self._emotion_to_draw(start)
        self.apply(SetEmotionCurve(start, emotion, [round(v, 2) for v in values]),
                   f"Draw {emotion} target {span_text(span)}")

    def draw_dynamics(self, kind: str, start: int, values: list, clear: bool) -> None:
        """A drag on the density or loudness lane: its value a second along it (one command), or
        those seconds back to the model's."""
        from v2m_desktop.core.edits import ClearDynamics, SetDynamics
        if not self._can_draw():
            return
        span = (start, start + len(values))
        if clear:
            self.apply(ClearDynamics(*span, kind), f"Clear {kind} {span_text(span)}")
        else:
            self.apply(SetDynamics(*span, kind, list(values)), f"Draw {kind} {span_text(span)}")

    def clear_dynamics(self) -> None:
        from v2m_desktop.core.edits import Batch, ClearDynamics
        span = self.selected_seconds()
        if span:
            self.apply(Batch([ClearDynamics(*span, "density"), ClearDynamics(*span, "loudness")]),
                       f"Clear dynamics {span_text(span)}")

    # -- a style for a range
    def pick_style(self) -> None:
        span = self.selected_seconds()
        if span is None:
            return
        from v2m_desktop.app.dialogs.style import StyleDialog
        self.style_dialog = StyleDialog(f"Seconds {span_text(span)}", self.parent_widget)
        self.style_dialog.chosen.connect(lambda key, span=span: self.set_style(key, span))
        self.style_dialog.finished.connect(self.parent_widget.activateWindow)
        self.style_dialog.open()

    def set_style(self, key: str, span: tuple[int, int]) -> None:
        """The style `key` over seconds `span` (core SetStyle with a range): one undoable edit."""
        from v2m_desktop.core.arrange.styles import AUTO, all_styles
        from v2m_desktop.core.edits import SetStyle
        name = "Auto" if key == AUTO else all_styles()[key].name
        self.apply(SetStyle(key, *span), f"Style {name} {span_text(span)}")

    # -- ducking under speech
    def _selected_range(self) -> tuple[float, float] | None:
        """The selection as it is drawn (duck ranges need no whole seconds)."""
        if self.axis.selection is None:
            self.message.emit("Select a range first: drag across the Speech lane")
        return self.axis.selection

    def duck_selection(self) -> None:
        from v2m_desktop.core.edits import AddDuckRange
        sel = self._selected_range()
        if sel:
            self.apply(AddDuckRange(round(sel[0], 2), round(sel[1], 2)),
                       f"Duck {format_time(sel[0], 0.1)}-{format_time(sel[1], 0.1)}")

    def never_duck_selection(self) -> None:
        from v2m_desktop.core.edits import RemoveDuckRange
        sel = self._selected_range()
        if sel:
            self.apply(RemoveDuckRange(round(sel[0], 2), round(sel[1], 2)),
                       f"Never duck {format_time(sel[0], 0.1)}-{format_time(sel[1], 0.1)}")

    # -- the original sound's level
    def set_level(self, percent: int) -> None:
        """The project's original-sound level (the transport's slider, the panel's): one edit."""
        from v2m_desktop.app.arrangement import level_edit
        edit = level_edit(self.session.project, percent)
        if edit is not None and self.session.state not in BUSY_TEXT:
            self.apply(*edit)
