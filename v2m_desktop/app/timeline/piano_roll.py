"""The piano-roll: the arranged notes on the timeline, a colour per part and velocity as shade,
with a keyboard beside it, and a note editor.

Chosen design: the editor is the timeline's own Notes lane (not a separate window), so notes
stay under the chords, cuts and picture they follow; the lane's height can be dragged (its
bottom edge) and its pitches zoomed (Ctrl+Shift+wheel) and scrolled (Shift+wheel).

Mouse and keys: click a note to select it (Shift adds), drag on empty space for a rubber band;
drag notes in time (snapped to the beat; Alt: free) and pitch; drag a note's right end to
resize; double-click empty space (or click, in pencil mode) to draw a note in the drawing part;
Alt+wheel sets the velocity; Del deletes; arrows move (Shift+Up/Down: an octave); Ctrl+C,
Ctrl+V (at the playhead), Ctrl+D duplicate.  Each gesture is one note edit (notesEdited), which
the window makes one undoable command.  Hidden parts are neither drawn nor selected."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QPainter, QPalette, QPen
from PySide6.QtWidgets import QMenu, QSizePolicy, QToolTip, QWidget

from v2m_desktop.app.timeline.axis import TimeAxis
from v2m_desktop.app.timeline.lanes import PART_LAYER, Lane, format_time, part_colour, part_role
from v2m_desktop.core.notes import Note, note_name

# what the piano-roll's mouse and keys do (Help > Keyboard Shortcuts lists them)
GESTURES = (
    ("Notes: select", "Click, Shift+Click, drag on empty space"),
    ("Notes: move", "Drag (snaps to the beat; Alt: free), arrow keys (Shift+Up/Down: an octave)"),
    ("Notes: resize", "Drag a note's right end"),
    ("Notes: draw", "Double-click empty space (right-click: the part, pencil mode)"),
    ("Notes: velocity", "Alt+Wheel"),
    ("Notes: delete, copy, paste, duplicate", "Del, Ctrl+C, Ctrl+V (at the playhead), Ctrl+D"),
    ("Notes: pitch zoom and scroll, height", "Ctrl+Shift+Wheel, Shift+Wheel, drag the lane's bottom edge"),
)
MIN_ROWS, MAX_ROWS = 12, 88          # semitones shown: at most a piano's keys
RESIZE_GRIP = 5                       # px at a note's right end (and the lane's bottom edge)
VELOCITY_STEP = 6                     # per wheel notch


class PitchView(QObject):
    """The pitches the piano-roll and its keyboard show: `lo` at the bottom, `rows` of them."""

    changed = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.lo, self.rows = 36.0, 48.0
        self.user = False               # the user zoomed or scrolled: keep it

    def fit(self, lo: int, hi: int) -> None:
        if not self.user:
            self.rows = float(min(max(hi - lo + 3, MIN_ROWS), MAX_ROWS))
            self.lo = float(lo - 1)
            self.changed.emit()

    def scroll(self, semitones: float) -> None:
        self.user = True
        self.lo = float(min(max(self.lo + semitones, 0), 128 - self.rows))
        self.changed.emit()

    def zoom(self, factor: float, anchor: float) -> None:
        self.user = True
        rows = float(min(max(self.rows / factor, MIN_ROWS), MAX_ROWS))
        self.lo = float(min(max(anchor - (anchor - self.lo) * rows / self.rows, 0), 128 - rows))
        self.rows = rows
        self.changed.emit()


class Keyboard(QWidget):
    """The piano keys beside the roll, on the same pitches; the Cs named (C4 = middle C)."""

    def __init__(self, pitches: PitchView, lane: PianoRollLane, parent=None):
        super().__init__(parent)
        self.pitches, self.lane = pitches, lane
        self.setFixedWidth(30)
        pitches.changed.connect(self.update)

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        f = self.font()
        f.setPointSizeF(max(f.pointSizeF() - 3, 6))
        p.setFont(f)
        h = self.lane.row_height()
        for k in range(int(self.pitches.lo), int(self.pitches.lo + self.pitches.rows) + 1):
            y = self.lane.y_of(k)
            black = k % 12 in (1, 3, 6, 8, 10)
            p.fillRect(QRectF(0, y, self.width(), h), QColor("#222222" if black else "#f4f4f4"))
            p.setPen(QColor("#bbbbbb"))
            p.drawLine(QPointF(0, y + h), QPointF(self.width(), y + h))
            if k % 12 == 0 and 12 * h >= 14:
                p.setPen(QColor("#333333"))
                p.drawText(QRectF(1, y + h - 11, self.width() - 2, 11),
                           Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom, note_name(k))
        p.end()


class PianoRollLane(Lane):
    """The notes, editable.  `notesEdited(before, after, text)`: the user's gesture as notes that
    go and notes that come."""

    title = "Notes"
    lane_height = 200
    DRUM_STRIP = 12
    notesEdited = Signal(object, object, str)

    def __init__(self, axis: TimeAxis, model, parent=None):
        super().__init__(axis, model, parent)
        self.pitches = PitchView(self)
        self.pitches.changed.connect(self.update)
        model.visibilityChanged.connect(self.update)
        model.fresh.connect(self._fit_pitches)      # (an edit never rescales the view)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(self.lane_height)
        self.setMaximumHeight(16777215)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setMouseTracking(True)
        self.selected: set[Note] = set()
        self.clipboard: list[Note] = []
        self.pencil = False
        self.draw_part: str | None = None
        self._gesture: str | None = None        # move, resize, band, height
        self._origin = QPointF()
        self._at = QPointF()
        self._pressed: Note | None = None
        self._height0 = 0
        self._free = False                      # Alt held: no snap to the beat

    # -- geometry
    def row_height(self) -> float:
        return max((self.height() - self.DRUM_STRIP - 4.0) / self.pitches.rows, 1.0)

    def y_of(self, pitch: float) -> float:
        return 2.0 + (self.pitches.lo + self.pitches.rows - pitch - 1) * self.row_height()

    def pitch_at(self, y: float) -> int:
        return int(np.floor(self.pitches.lo + self.pitches.rows - 1 - (y - 2.0) / self.row_height() + 1))

    def _fit_pitches(self) -> None:
        n = self.model.notes
        if n is None or not len(n):
            return
        pitched = ~np.asarray(n.drums, dtype=bool)[n.part]
        if pitched.any():
            self.pitches.fit(int(n.pitch[pitched].min()), int(n.pitch[pitched].max()))

    # -- the notes
    def note(self, i: int) -> Note:
        n = self.model.notes
        return Note(float(n.start[i]), n.parts[n.part[i]], int(n.pitch[i]), float(n.end[i]),
                    int(n.velocity[i]))

    def _shown(self) -> np.ndarray:
        """The rows of the parts the user shows."""
        n = self.model.notes
        hidden = [k for k, part in enumerate(n.parts) if part in self.model.hidden]
        return np.flatnonzero(~np.isin(n.part, hidden))

    def rect_of(self, note: Note, drum: bool, dt: float = 0.0, dp: int = 0) -> QRectF:
        x0, x1 = self.axis.x_of(note.start + dt), self.axis.x_of(note.end + dt)
        w = max(x1 - x0 - 0.5, 2.0)
        if drum:
            return QRectF(x0, self.height() - self.DRUM_STRIP, 2.0, self.DRUM_STRIP - 2.0)
        y, h = self.note_tops(np.array([note.pitch + dp]))
        return QRectF(x0, float(y[0]), w, h)

    def note_tops(self, pitches: np.ndarray) -> tuple[np.ndarray, float]:
        """(the top y of notes of these pitches, the notes' height): at least 4 px tall, centred
        on their rows, so notes read as notes with many pitches shown (painting and hit tests)."""
        rh = self.row_height()
        h = max(float(np.floor(rh - 0.5)), 4.0)
        return np.floor(2.0 + (self.pitches.lo + self.pitches.rows - 1 - pitches) * rh + (rh - h) / 2), h

    def is_drum(self, part: str) -> bool:
        n = self.model.notes
        return bool(n.drums[n.parts.index(part)]) if part in n.parts else False

    def note_at(self, pos: QPointF) -> Note | None:
        n = self.model.notes
        if n is None or not len(n):
            return None
        t = self.axis.t_of(pos.x())
        slack = 3 / self.axis.pps
        rows = self._shown()
        rows = rows[(n.start[rows] <= t + slack) & (n.end[rows] >= t - slack)]
        for i in sorted(rows, key=lambda i: -PART_LAYER.get(part_role(n.parts[n.part[i]]), 1)):
            note = self.note(int(i))
            if self.rect_of(note, bool(n.drums[n.part[i]])).adjusted(-1, -1, 1, 1).contains(pos):
                return note
        return None

    # -- painting
    def paint(self, p, t0, t1):
        n = self.model.notes
        if n is None or len(n) == 0:
            self.empty_text(p, "the arranged notes appear here")
            return
        rh = self.row_height()
        if rh >= 3:         # the black keys' rows, faintly
            shade = QColor(self.palette().color(QPalette.ColorRole.AlternateBase))
            for k in range(int(self.pitches.lo), int(self.pitches.lo + self.pitches.rows) + 1):
                if k % 12 in (1, 3, 6, 8, 10):
                    p.fillRect(QRectF(0, self.y_of(k), self.width(), rh), shade)
        longest = float((n.end - n.start).max())
        i0 = int(np.searchsorted(n.start, t0 - longest))
        i1 = int(np.searchsorted(n.start, t1, side="right"))
        moving = self._gesture in ("move", "resize") and self._dragged()
        dt, dp = self._offset() if moving else (0.0, 0)
        order = sorted(range(len(n.parts)), key=lambda k: PART_LAYER.get(part_role(n.parts[k]), 1))
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        for k in order:
            part = n.parts[k]
            if part in self.model.hidden:
                continue
            rows = np.nonzero(n.part[i0:i1] == k)[0] + i0
            if not len(rows):
                continue
            # the part's notes a few calls at once (a note's Python drawing cost the lane's frame)
            xs = (n.start[rows] - self.axis.offset) * self.axis.pps
            if n.drums[k]:
                ws, ys, hs = np.full(len(rows), 2.0), np.full(len(rows), self.height() - self.DRUM_STRIP), \
                    self.DRUM_STRIP - 2.0
            else:
                ws = np.maximum((n.end[rows] - n.start[rows]) * self.axis.pps - 0.5, 2.0)
                ys, hs = self.note_tops(n.pitch[rows].astype(np.float64))
            rects = [QRectF(x, y, w, hs) for x, y, w in zip(xs.tolist(), ys.tolist(), ws.tolist())]
            base = QColor(part_colour(part))
            # velocity as shade: soft notes paler, loud ones full (the pad stays translucent), in
            # eight steps
            steps = np.minimum(n.velocity[rows] // 16, 7)
            p.setPen(Qt.PenStyle.NoPen)
            pad = 0.55 if part_role(part) == "pad" else 1.0
            for step in np.unique(steps).tolist():
                c = QColor(base)
                c.setAlpha(int((40 + 215 * (step * 16 + 8) / 127) * pad))
                p.setBrush(c)
                p.drawRects([r for r, st in zip(rects, steps.tolist()) if st == step])
            if hs > 3:                      # the part's colour itself at the edge
                p.setPen(QPen(base, 1))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRects([r.adjusted(0.5, 0.5, -0.5, -0.5) for r, w in zip(rects, ws.tolist()) if w > 3])
        # the selection, outlined in the text's colour (seen on every part's), and where a drag
        # puts it
        p.setBrush(Qt.BrushStyle.NoBrush)
        for note in self.selected:
            if note.part in self.model.hidden or note.end < t0 or note.start > t1:
                continue
            drum = self.is_drum(note.part)
            p.setPen(QPen(self.text_colour(), 1.5))
            p.drawRect(self.rect_of(note, drum))
            if moving:
                p.setPen(QPen(self.text_colour(), 1, Qt.PenStyle.DashLine))
                moved = self._moved(note, dt, dp) if self._gesture == "move" else self._resized(note, dt)
                p.drawRect(self.rect_of(moved, drum))
        if self._gesture == "band":
            p.setPen(QPen(self.palette().color(QPalette.ColorRole.Highlight), 1, Qt.PenStyle.DashLine))
            p.drawRect(QRectF(self._origin, self._at).normalized())

    # -- gestures
    def _dragged(self) -> bool:
        d = self._at - self._origin
        return abs(d.x()) > 3 or abs(d.y()) > 3

    def _snap(self, t: float) -> float:
        beats = self.model.beats
        if self._free or not len(beats):
            return t
        return float(beats[int(np.argmin(np.abs(beats - t)))])

    def _offset(self) -> tuple[float, int]:
        """The drag's time and pitch offsets: the pressed note's start (or end) snapped to a beat."""
        raw = (self._at.x() - self._origin.x()) / self.axis.pps
        note = self._pressed
        if note is None:
            return raw, 0
        anchor = note.end if self._gesture == "resize" else note.start
        dt = self._snap(anchor + raw) - anchor
        dp = 0 if self._gesture == "resize" else \
            int(round((self._origin.y() - self._at.y()) / self.row_height()))
        return dt, dp

    def _moved(self, n: Note, dt: float, dp: int) -> Note:
        pitch = n.pitch if self.is_drum(n.part) else min(max(n.pitch + dp, 0), 127)
        dur = n.end - n.start
        start = min(max(n.start + dt, 0.0), max(self.axis.duration - dur, 0.0))
        return Note(round(start, 6), n.part, pitch, round(start + dur, 6), n.velocity)

    def _resized(self, n: Note, dt: float) -> Note:
        end = min(max(n.end + dt, n.start + 0.05), self.axis.duration)
        return Note(n.start, n.part, n.pitch, round(end, 6), n.velocity)

    def edit(self, before, after, text: str) -> None:
        before, after = tuple(sorted(before)), tuple(sorted(after))
        if before == after:
            return
        self.selected = set(after)
        self.notesEdited.emit(before, after, text)
        self.update()

    def _count(self, n: int) -> str:
        return f"{n} note{'s' if n != 1 else ''}"

    def mousePressEvent(self, e) -> None:  # noqa: N802
        if e.button() == Qt.MouseButton.RightButton:
            return
        if e.button() != Qt.MouseButton.LeftButton or self.model.notes is None:
            return super().mousePressEvent(e)
        pos = e.position()
        self._origin = self._at = pos
        self._free = bool(e.modifiers() & Qt.KeyboardModifier.AltModifier)
        if pos.y() >= self.height() - RESIZE_GRIP:
            self._gesture, self._height0 = "height", self.height()
            return
        hit = self.note_at(pos)
        shift = bool(e.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if hit is not None:
            self.axis.set_selection(None)       # a click on a note: the time selection goes
            if shift:
                self.selected ^= {hit}
            elif hit not in self.selected:
                self.selected = {hit}
            self.draw_part = hit.part
            self._pressed = hit
            near_end = self.axis.x_of(hit.end) - pos.x() <= RESIZE_GRIP and not self.is_drum(hit.part)
            self._gesture = "resize" if near_end else "move"
        elif self.pencil:
            self._draw_at(pos)
        else:
            if not shift:
                self.selected = set()
            self._gesture = "band"
        self.update()

    def mouseMoveEvent(self, e) -> None:  # noqa: N802
        pos = e.position()
        if self._gesture is None:
            note = self.note_at(pos)
            grip = (pos.y() >= self.height() - RESIZE_GRIP) or \
                (note is not None and self.axis.x_of(note.end) - pos.x() <= RESIZE_GRIP)
            self.setCursor(Qt.CursorShape.SizeVerCursor if pos.y() >= self.height() - RESIZE_GRIP else
                           Qt.CursorShape.SizeHorCursor if grip else Qt.CursorShape.ArrowCursor)
            return
        self._at = pos
        self._free = bool(e.modifiers() & Qt.KeyboardModifier.AltModifier)
        if self._gesture == "height":
            self.setMinimumHeight(int(max(self._height0 + pos.y() - self._origin.y(), 80)))
            return
        self.update()

    def mouseReleaseEvent(self, e) -> None:  # noqa: N802
        gesture, self._gesture = self._gesture, None
        if gesture is None:
            return super().mouseReleaseEvent(e)
        self._at = e.position()
        self._free = bool(e.modifiers() & Qt.KeyboardModifier.AltModifier)
        if gesture == "band":
            if not self._dragged():         # a click on empty space: seek there, as every lane
                self.axis.set_selection(None)
                self.seekRequested.emit(self.axis.t_of(e.position().x()))
            else:
                self.selected |= self._in_band(QRectF(self._origin, self._at).normalized())
        elif gesture in ("move", "resize") and self._dragged():
            dt, dp = self._offset()
            sel = sorted(self.selected)
            if gesture == "move":
                self.edit(sel, [self._moved(n, dt, dp) for n in sel], f"Move {self._count(len(sel))}")
            else:
                self.edit(sel, [self._resized(n, dt) for n in sel], f"Resize {self._count(len(sel))}")
        self._pressed = None
        self.update()

    def _in_band(self, band: QRectF) -> set[Note]:
        n = self.model.notes
        out = set()
        t0, t1 = self.axis.t_of(band.left()), self.axis.t_of(band.right())
        for i in self._shown():
            if n.end[i] >= t0 and n.start[i] <= t1:
                note = self.note(int(i))
                if self.rect_of(note, bool(n.drums[n.part[i]])).intersects(band):
                    out.add(note)
        return out

    def mouseDoubleClickEvent(self, e) -> None:  # noqa: N802
        if e.button() == Qt.MouseButton.LeftButton and self.note_at(e.position()) is None:
            self._draw_at(e.position())

    def _draw_at(self, pos: QPointF) -> None:
        """A new note in the drawing part where the user clicked: a beat long, at the part's
        usual velocity."""
        n = self.model.notes
        part = self.drawing_part()
        if n is None or part is None or pos.y() > self.height() - self.DRUM_STRIP - 2:
            return
        start = self._snap(self.axis.t_of(pos.x()))
        beats = self.model.beats
        later = beats[beats > start + 1e-6] if len(beats) else np.zeros(0)
        end = float(later[0]) if len(later) else start + 0.5
        k = n.parts.index(part)
        vel = int(np.median(n.velocity[n.part == k])) if (n.part == k).any() else 90
        note = Note(round(start, 6), part, min(max(self.pitch_at(pos.y()), 0), 127),
                    round(min(end, self.axis.duration), 6), vel)
        self.edit([], [note], f"Draw a {part} note {note_name(note.pitch)}")

    def drawing_part(self) -> str | None:
        """The part a drawn note goes to: the user's pick, else the last note's clicked, else the
        first shown part with pitches."""
        n = self.model.notes
        if n is None:
            return None
        shown = [p for k, p in enumerate(n.parts) if p not in self.model.hidden and not n.drums[k]]
        if self.draw_part in shown:
            return self.draw_part
        return next((p for p in shown if part_role(p) == "piano"), shown[0] if shown else None)

    def wheelEvent(self, e) -> None:  # noqa: N802
        mods = e.modifiers()
        dy = e.angleDelta().y() or e.angleDelta().x()
        K = Qt.KeyboardModifier  # noqa: N806
        if mods & K.AltModifier and self.selected:
            step = VELOCITY_STEP * (1 if dy > 0 else -1)
            sel = sorted(self.selected)
            after = [Note(n.start, n.part, n.pitch, n.end, min(max(n.velocity + step, 1), 127)) for n in sel]
            self.edit(sel, after, f"Velocity of {self._count(len(sel))} {'+' if step > 0 else ''}{step}")
        elif mods & K.ShiftModifier and mods & K.ControlModifier:
            self.pitches.zoom(1.25 ** (dy / 120), self.pitch_at(e.position().y()))
        elif mods & K.ShiftModifier:
            self.pitches.scroll(dy / 120 * 2)
        else:
            e.ignore()          # the timeline scrolls and zooms in time
            return
        e.accept()

    # -- keys: only while the piano-roll has the focus and notes are selected (else the
    # window's shortcuts: Del rests the chord, Left/Right step, Ctrl+C copies chords)
    KEYS = (Qt.Key.Key_Delete, Qt.Key.Key_Backspace, Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_Left,
            Qt.Key.Key_Right, Qt.Key.Key_Escape)

    def event(self, e) -> bool:
        if e.type() == QEvent.Type.ShortcutOverride and self._takes(e):
            e.accept()
            return True
        if e.type() == QEvent.Type.ToolTip:
            note = self.note_at(QPointF(e.pos()))
            if note is not None:
                QToolTip.showText(e.globalPos(), f"{note.part}  {note_name(note.pitch)}  "
                                  f"{format_time(note.start, 0.1)}  {note.end - note.start:.2f} s  "
                                  f"velocity {note.velocity}", self)
                return True
            QToolTip.hideText()
            return True
        return super().event(e)

    def _takes(self, e) -> bool:
        if e.matches(QKeySequence.StandardKey.Paste):
            return bool(self.clipboard)
        if not self.selected:
            return False
        return e.key() in self.KEYS or e.matches(QKeySequence.StandardKey.Copy) or \
            (e.key() == Qt.Key.Key_D and e.modifiers() == Qt.KeyboardModifier.ControlModifier)

    def keyPressEvent(self, e) -> None:  # noqa: N802
        sel = sorted(self.selected)
        key, shift = e.key(), bool(e.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if e.matches(QKeySequence.StandardKey.Copy) and sel:
            self.clipboard = sel
        elif e.matches(QKeySequence.StandardKey.Paste) and self.clipboard:
            dt = self.axis.playhead - self.clipboard[0].start
            pasted = [self._moved(n, dt, 0) for n in self.clipboard]
            self.edit([], pasted, f"Paste {self._count(len(pasted))}")
        elif key == Qt.Key.Key_D and e.modifiers() == Qt.KeyboardModifier.ControlModifier and sel:
            span = max(n.end for n in sel) - min(n.start for n in sel)
            dt = self._snap(min(n.start for n in sel) + span) - min(n.start for n in sel)
            copies = [self._moved(n, max(dt, span), 0) for n in sel]
            self.edit([], copies, f"Duplicate {self._count(len(sel))}")
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and sel:
            self.edit(sel, [], f"Delete {self._count(len(sel))}")
        elif key in (Qt.Key.Key_Up, Qt.Key.Key_Down) and sel:
            dp = (12 if shift else 1) * (1 if key == Qt.Key.Key_Up else -1)
            self.edit(sel, [self._moved(n, 0.0, dp) for n in sel], f"Move {self._count(len(sel))} {dp:+d}")
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Right) and sel:
            beats = self.model.beats
            first = min(n.start for n in sel)
            i = int(np.searchsorted(beats, first - 1e-6)) if len(beats) else 0
            to = beats[i + 1] if key == Qt.Key.Key_Right and i + 1 < len(beats) else \
                beats[i - 1] if key == Qt.Key.Key_Left and i > 0 else first
            way = "later" if key == Qt.Key.Key_Right else "earlier"
            self.edit(sel, [self._moved(n, float(to) - first, 0) for n in sel],
                      f"Move {self._count(len(sel))} a beat {way}")
        elif key == Qt.Key.Key_Escape:
            self.selected = set()
            self.update()
        else:
            super().keyPressEvent(e)

    def contextMenuEvent(self, e) -> None:  # noqa: N802
        n = self.model.notes
        if n is None:
            return
        menu = QMenu(self)
        parts = menu.addMenu("Draw in Part")
        for k, part in enumerate(n.parts):
            if not n.drums[k]:
                a = parts.addAction(part)
                a.setCheckable(True)
                a.setChecked(part == self.drawing_part())
                a.triggered.connect(lambda _=False, part=part: setattr(self, "draw_part", part))
        pencil = menu.addAction("Pencil (a click draws a note)")
        pencil.setCheckable(True)
        pencil.setChecked(self.pencil)
        pencil.triggered.connect(lambda on: setattr(self, "pencil", on))
        menu.addSeparator()
        sel = sorted(self.selected)
        delete = menu.addAction(f"Delete {self._count(len(sel))}")
        delete.setEnabled(bool(sel))
        delete.triggered.connect(lambda: self.edit(sel, [], f"Delete {self._count(len(sel))}"))
        menu.exec(e.globalPos())

