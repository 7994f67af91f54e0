"""The lanes: one small view class each, painting only the visible seconds from its model.  A lane
repaints when its model or the shared TimeAxis says something changed."""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QPixmap,
    QPolygonF,
)
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from v2m_desktop.app.timeline.axis import TimeAxis

EMOTION_NAMES = ("exciting", "fearful", "tense", "sad", "relaxing", "neutral")   # core.chords.EMOTIONS
EMOTION_COLOURS = ("#f2a93b", "#8e5cc4", "#d9534f", "#4a7fd6", "#45b08c", "#9aa3ad")
BAR_TICK_ALPHA = 170       # the bar ticks in the chord lane: white over the block's colour
# The block an edit acts on when nothing is selected: outlined in the selection's blue
IMPLICIT_COLOUR = QColor(80, 140, 230, 200)
PART_COLOURS = {"piano": "#4aa3df", "bass": "#e0a030", "pad": "#9b7fd4", "drums": "#8c9399",
                "melody": "#e0567a"}
QUALITY_COLOURS = {  # chord families: major, minor, dominant, diminished, suspended, augmented
    "maj": "#3f7fd0", "maj6": "#3f7fd0", "maj7": "#3f7fd0",
    "min": "#8a55c2", "min6": "#8a55c2", "min7": "#8a55c2",
    "7": "#d9822b", "dim": "#c9473f", "dim7": "#c9473f", "hdim7": "#c9473f",
    "sus2": "#2f9e8f", "sus4": "#2f9e8f", "aug": "#b59a1f", None: "#7b8088"}
PART_LAYER = {"pad": 0, "bass": 1, "piano": 2, "drums": 3, "melody": 4}


def part_role(part: str) -> str:
    """A track's part: 'piano-lofi' (a range in another style) is a piano."""
    return part.split("-", 1)[0]


def part_colour(part: str) -> str:
    return PART_COLOURS.get(part_role(part), "#999999")
DENSITY_COLOUR, LOUDNESS_COLOUR = "#e0a030", "#45b08c"


def format_time(t: float, step: float = 1.0) -> str:
    """m:ss (m:ss.s when the ruler's step is under a second)."""
    t = max(t, 0.0)
    m, s = divmod(t, 60)
    return f"{int(m)}:{s:04.1f}" if step < 1 else f"{int(m)}:{int(round(s)) % 60:02d}"


class Lane(QWidget):
    """A horizontal band on the shared axis.  Click: seek; drag: select a range."""

    seekRequested = Signal(float)
    title = ""
    lane_height = 40

    def __init__(self, axis: TimeAxis, model=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.axis, self.model = axis, model
        self.setMinimumHeight(self.lane_height)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(self.lane_height)
        self._press: float | None = None
        self._dragging = False
        axis.changed.connect(self.update)
        if model is not None:
            for sig in (model.modelReset, model.rowsInserted, model.rowsRemoved):
                sig.connect(lambda *_: self.update())
            model.dataChanged.connect(self._rows_changed)

    def follow(self, model) -> None:
        """Repaint on any change of another model this lane draws from."""
        for sig in (model.modelReset, model.dataChanged, model.rowsInserted, model.rowsRemoved):
            sig.connect(lambda *_: self.update())

    def _rows_changed(self, top, bottom, _roles=()) -> None:
        """Repaint only the seconds of the changed rows (with a pixel's margin for outlines)."""
        span = self.model.seconds_of(top.row(), bottom.row())
        if span is None:
            self.update()
            return
        x0, x1 = self.axis.x_of(span[0]), self.axis.x_of(span[1])
        if x1 < 0 or x0 > self.width():
            return
        x0, x1 = max(int(x0) - 2, 0), min(int(x1) + 3, self.width())
        self.update(x0, 0, x1 - x0, self.height())

    def event(self, e) -> bool:
        if e.type() == QEvent.Type.ToolTip:     # what is under the pointer, where a lane tells it
            text = self.tip_at(e.pos().x())
            if text is not None:
                QToolTip.showText(e.globalPos(), text, self)
                return True
            QToolTip.hideText()
        return super().event(e)

    def tip_at(self, x: float) -> str | None:
        return None

    # -- painting
    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        p.fillRect(self.rect(), pal.color(QPalette.ColorRole.Base))
        t0, t1 = self.axis.visible()
        self.paint(p, t0, t1)
        p.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1))
        p.drawLine(0, self.height() - 1, self.width(), self.height() - 1)
        p.end()

    def paint(self, p: QPainter, t0: float, t1: float) -> None:
        """Draw the seconds t0..t1 (the visible part)."""

    def empty_text(self, p: QPainter, text: str) -> None:
        p.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
        p.drawText(self.rect().adjusted(8, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter, text)

    def text_colour(self) -> QColor:
        return self.palette().color(QPalette.ColorRole.Text)

    def legend(self, p: QPainter, entries, lines: bool = False) -> None:
        """(name, colour) entries in a row along the lane's top: a swatch (a line for curves)
        and the name, in a small font."""
        f = QFont(self.font())
        f.setPointSizeF(max(f.pointSizeF() - 2, 7))
        p.setFont(f)
        x = 6.0
        for name, colour in entries:
            if lines:
                p.setPen(QPen(QColor(colour), 2))
                p.drawLine(QPointF(x, 7), QPointF(x + 8, 7))
            else:
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(QColor(colour))
                p.drawRect(QRectF(x, 3, 8, 8))
            p.setPen(self.text_colour())
            p.drawText(QPointF(x + 11, 11), name)
            x += 18 + p.fontMetrics().horizontalAdvance(name)

    # -- mouse
    def mousePressEvent(self, e) -> None:  # noqa: N802
        if e.button() == Qt.MouseButton.LeftButton and self.axis.duration > 0:
            self._press, self._dragging = e.position().x(), False
            self.press_at(self.axis.t_of(e.position().x()))

    def mouseMoveEvent(self, e) -> None:  # noqa: N802
        if self._press is None:
            return
        x = e.position().x()
        if abs(x - self._press) > 3:
            self._dragging = True
        if self._dragging:
            self.drag_to(self.axis.t_of(self._press), self.axis.t_of(x))

    def mouseReleaseEvent(self, e) -> None:  # noqa: N802
        if self._press is None:
            return
        if not self._dragging:      # a click: the playhead goes there, and the old selection goes
            self.axis.set_selection(None)
            self.seekRequested.emit(self.axis.t_of(e.position().x()))
        else:       # the release point ends the drag
            self.drag_to(self.axis.t_of(self._press), self.axis.t_of(e.position().x()))
        self._press = None

    def press_at(self, t: float) -> None:
        """A press; lanes seek on release, the ruler at once."""

    def drag_to(self, start: float, t: float) -> None:
        self.axis.set_selection(start, t)


class CurveLane(Lane):
    """A lane whose curve is drawn with the mouse: Ctrl+drag (any drag in draw mode) sets a value
    a second along the drag, Ctrl+Shift+drag (Shift+drag in draw mode) clears the seconds it
    crosses back to what was detected or modelled.  One curveDrawn per drag, on release."""

    curveDrawn = Signal(int, list, bool)        # first second, a value a second, cleared
    TOP = 14                                    # the legend's strip above the plot
    BOTTOM = 0                                  # the plot's margin at the bottom

    def __init__(self, axis, model, parent=None):
        super().__init__(axis, model, parent)
        self.draw_mode = False
        self._stroke: dict[int, float] | None = None     # second -> 0..1 of the plot's height
        self._erase = False
        self._last: tuple[float, float] | None = None
        self._moved = False

    def set_draw_mode(self, on: bool) -> None:
        self.draw_mode = bool(on)
        self.setCursor(Qt.CursorShape.CrossCursor if on else Qt.CursorShape.ArrowCursor)

    def seconds(self) -> int:
        return len(self.model.rows)

    # -- the plot's heights: 0 at the bottom, 1 under the legend
    def frac_of(self, y: float) -> float:
        bottom = self.height() - self.BOTTOM
        return min(max((bottom - y) / max(bottom - self.TOP, 1), 0.0), 1.0)

    def y_of(self, frac: float) -> float:
        bottom = self.height() - self.BOTTOM
        return bottom - frac * (bottom - self.TOP)

    def value_of(self, frac: float) -> float:
        """What a height means on this lane (the value the edit gets)."""
        return frac

    def begin_stroke(self) -> None:
        """A drawing starts (a lane freezes its scale here)."""

    # -- the mouse
    def mousePressEvent(self, e) -> None:  # noqa: N802
        mods = e.modifiers()
        if e.button() == Qt.MouseButton.LeftButton and self.seconds() and self.axis.duration > 0 \
                and (self.draw_mode or mods & Qt.KeyboardModifier.ControlModifier):
            self._stroke, self._last, self._moved = {}, None, False
            self._erase = bool(mods & Qt.KeyboardModifier.ShiftModifier)
            self._press_x = e.position().x()
            self.begin_stroke()
            self._add(e.position())
            return
        super().mousePressEvent(e)

    def mouseMoveEvent(self, e) -> None:  # noqa: N802
        if self._stroke is None:
            super().mouseMoveEvent(e)
            return
        self._moved = self._moved or abs(e.position().x() - self._press_x) > 3
        self._add(e.position())
        self.update()

    def mouseReleaseEvent(self, e) -> None:  # noqa: N802
        if self._stroke is None:
            super().mouseReleaseEvent(e)
            return
        self._add(e.position())
        stroke, self._stroke = self._stroke, None
        self.update()
        moved = self._moved or abs(e.position().x() - self._press_x) > 3 or len(stroke) > 1
        if not moved:                   # a click, not a drawing: seek there
            self.seekRequested.emit(self.axis.t_of(e.position().x()))
            return
        lo, hi = min(stroke), max(stroke)
        self.curveDrawn.emit(lo, [self.value_of(stroke[s]) for s in range(lo, hi + 1)], self._erase)

    def _add(self, pos) -> None:
        """The point's second gets its height; the seconds between it and the last point the
        straight line's (a fast drag leaves no gaps)."""
        t, f = self.axis.t_of(pos.x()), self.frac_of(pos.y())
        n = self.seconds()
        ta, fa = self._last if self._last is not None else (t, f)
        lo, hi = min(ta, t), max(ta, t)
        for s in range(max(int(math.floor(lo)), 0), min(int(math.floor(hi)), n - 1) + 1):
            tm = min(max(s + 0.5, lo), hi)
            self._stroke[s] = f if t == ta else fa + (f - fa) * (tm - ta) / (t - ta)
        if n and not 0 <= t < n:        # dragged past an end: the end second
            self._stroke[min(max(int(math.floor(t)), 0), n - 1)] = f
        self._last = (t, f)

    def paint_stroke(self, p: QPainter) -> None:
        """The drawing in progress: its line, or the seconds it clears greyed."""
        if not self._stroke:
            return
        seconds = sorted(self._stroke)
        if self._erase:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(128, 128, 128, 150))
            for s in seconds:
                x0, x1 = self.axis.x_of(s), self.axis.x_of(s + 1)
                p.drawRect(QRectF(x0, self.TOP, x1 - x0, self.height() - self.TOP))
            return
        path = QPainterPath()
        for i, s in enumerate(seconds):
            pt = QPointF(self.axis.x_of(s + 0.5), self.y_of(self._stroke[s]))
            path.moveTo(pt) if i == 0 else path.lineTo(pt)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(QPen(self.text_colour(), 2, Qt.PenStyle.DashLine))
        p.drawPath(path)


class RulerLane(Lane):
    """m:ss ticks.  Click or drag seeks (scrubbing)."""

    title = "Time"
    lane_height = 26
    STEPS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600)

    def step(self) -> float:
        for s in self.STEPS:
            if s * self.axis.pps >= 64:
                return s
        return self.STEPS[-1]

    def paint(self, p, t0, t1):
        pal = self.palette()
        p.fillRect(self.rect(), pal.color(QPalette.ColorRole.Window))
        sel = self.axis.selection
        if sel:
            x0, x1 = self.axis.x_of(sel[0]), self.axis.x_of(sel[1])
            p.fillRect(QRectF(x0, 0, x1 - x0, self.height()), QColor(80, 140, 230, 90))
        if self.axis.duration <= 0:
            return
        step = self.step()
        minor = step / 5 if step >= 1 else step / 2
        p.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1))
        k = math.floor(t0 / minor)
        while k * minor <= min(t1, self.axis.duration):
            x = self.axis.x_of(k * minor)
            p.drawLine(QPointF(x, self.height() - 5), QPointF(x, self.height()))
            k += 1
        p.setPen(QPen(pal.color(QPalette.ColorRole.WindowText), 1))
        f = QFont(self.font())
        f.setPointSizeF(max(f.pointSizeF() - 1, 7))
        p.setFont(f)
        metrics = QFontMetricsF(f)
        k = math.floor(t0 / step)
        while k * step <= min(t1, self.axis.duration):
            x = self.axis.x_of(k * step)
            p.drawLine(QPointF(x, self.height() - 10), QPointF(x, self.height()))
            label = format_time(k * step, step)
            width = metrics.horizontalAdvance(label)
            # a label that would run off the right edge goes left of its tick, whole
            lx = x + 3 if x + 3 + width <= self.width() else x - 3 - width
            p.drawText(QPointF(lx, self.height() - 11), label)
            k += 1

    def press_at(self, t):
        self.seekRequested.emit(t)

    def drag_to(self, start, t):
        self.seekRequested.emit(t)


class ThumbnailLane(Lane):
    title = "Picture"
    lane_height = 46

    def paint(self, p, t0, t1):
        rows = self.model.rows
        if not rows:
            self.empty_text(p, "thumbnails appear after the analysis")
            return
        h = self.height() - 4
        next_x = -1e9
        times = [r[0] for r in rows]
        i = max(int(np.searchsorted(times, t0)) - 2, 0)
        for t, img in rows[i:]:
            if t > t1:
                break
            x = self.axis.x_of(t)
            w = h * img.width() / max(img.height(), 1)
            if x + w < 0 or x < next_x:
                continue
            p.drawImage(QRectF(x, 2, w, h), img)
            next_x = x + w + 1


class CutLane(Lane):
    """The shot changes the music follows: a cut is a filled marker, a transition (a fade, a
    dissolve, a title card) a hollow one on a dotted line; hovering one tells which and when."""
    title = "Cuts"
    lane_height = 20
    COLOUR = "#e05a47"

    def __init__(self, axis, model, parent=None, transitions=None):
        super().__init__(axis, model, parent)
        self.transitions = transitions
        if transitions is not None:
            self.follow(transitions)

    def marks(self) -> list[tuple[float, bool]]:
        """(seconds, is a transition) of every marker, in time order."""
        other = self.transitions.rows if self.transitions is not None else []
        return sorted([(float(t), False) for t in self.model.rows] + [(float(t), True) for t in other])

    def paint(self, p, t0, t1):
        col = QColor(self.COLOUR)
        for t, soft in self.marks():
            if t0 - 1 <= t <= t1 + 1:
                x = self.axis.x_of(t)
                p.setPen(QPen(col, 1.5, Qt.PenStyle.DotLine if soft else Qt.PenStyle.SolidLine))
                p.drawLine(QPointF(x, 0), QPointF(x, self.height()))
                p.setPen(QPen(col, 1.5))
                p.setBrush(self.palette().color(QPalette.ColorRole.Base) if soft else col)
                p.drawPolygon(QPolygonF([QPointF(x - 5, 0), QPointF(x + 5, 0), QPointF(x, 7)]))

    def tip_at(self, x: float) -> str | None:
        near = min(((abs(self.axis.x_of(t) - x), t, soft) for t, soft in self.marks()), default=None)
        if near is None or near[0] > 6:
            return None
        if near[2]:
            return f"Transition at {format_time(near[1], 0.1)} (a fade, a dissolve or a title card)"
        return f"Cut at {format_time(near[1], 0.1)}"


class SpeechLane(Lane):
    """Where the video's own sound has speech (the music ducks under it while that sound is
    kept), and the user's ranges: ducked though silent (solid) or never ducked (hatched).  Drag
    to select a range, then Edit > Duck Selection (U) or Never Duck Selection (Shift+U)."""
    title = "Speech"
    lane_height = 22
    COLOURS = {"speech": "#5b8def", "duck": "#2f5fc4", "keep": "#e05a47"}

    def paint(self, p, t0, t1):
        rows = [r for r in self.model.rows if r.end >= t0 and r.start <= t1]
        if not self.model.rows:
            self.empty_text(p, "no speech found in the video's own sound")
            return
        h = self.height()
        for r in rows:
            x0, x1 = self.axis.x_of(r.start), self.axis.x_of(r.end)
            colour = QColor(self.COLOURS.get(r.kind, "#888888"))
            inset = 4 if r.kind == "speech" else 2
            rect = QRectF(x0, inset, max(x1 - x0, 1.0), h - 2 * inset)
            if r.kind == "keep":
                p.setPen(QPen(colour, 1))
                p.setBrush(QBrush(colour, Qt.BrushStyle.BDiagPattern))
            else:
                colour.setAlpha(110 if r.kind == "speech" else 200)
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(colour)
            p.drawRect(rect)

    def tip_at(self, x: float) -> str | None:
        t = self.axis.t_of(x)
        here = [r for r in self.model.rows if r.start <= t < r.end]
        if not here:
            return None
        words = {"speech": "speech found", "duck": "ducked (your range)",
                 "keep": "never ducked (your range)"}
        return "; ".join(f"{words.get(r.kind, r.kind)} {format_time(r.start, 0.1)}–{format_time(r.end, 0.1)}"
                         for r in here)


class EmotionLane(CurveLane):
    """The six detected probabilities a second, stacked, with a legend; the user's targets drawn
    over them, translucent (the detected curve stays visible underneath), each outlined with its
    intensity as a white line.  Double-click a scene (between two cuts): its target; drawing sets
    the target's intensity a second (see CurveLane)."""

    title = "Emotion"
    lane_height = 64
    sceneActivated = Signal(float, float)      # the scene's start and end (seconds)

    def __init__(self, axis, model, targets=None, cuts=None, parent=None):
        super().__init__(axis, model, parent)
        self.targets, self.cuts = targets, cuts
        # the stacked areas, drawn once per view: every lane repaints when a dialog closes and
        # the window is active again, and these 7 ms came before the chord lane's own paint
        self._areas: tuple[tuple, list, QPixmap] | None = None
        for m in (targets, cuts):
            if m is not None:
                self.follow(m)

    def scene_at(self, t: float) -> tuple[float, float]:
        """The stretch between the cuts either side of `t` (the video's ends outside them)."""
        cuts = sorted(self.cuts.rows) if self.cuts is not None else []
        start = max((c for c in cuts if c <= t), default=0.0)
        end = min((c for c in cuts if c > t), default=self.axis.duration)
        return start, end

    def mouseDoubleClickEvent(self, e) -> None:  # noqa: N802
        if e.button() == Qt.MouseButton.LeftButton and self.model.rows and self.axis.duration > 0:
            self.sceneActivated.emit(*self.scene_at(self.axis.t_of(e.position().x())))

    def paint_targets(self, p):
        if self.targets is None or not self.targets.rows:
            return
        runs: list[list] = []           # touching targets of one emotion are one outlined band
        for t in sorted(self.targets.rows, key=lambda t: t.start):
            if runs and runs[-1][-1].emotion == t.emotion and runs[-1][-1].end == t.start:
                runs[-1].append(t)
            else:
                runs.append([t])
        for run in runs:
            x0, x1 = self.axis.x_of(run[0].start), self.axis.x_of(run[-1].end)
            colour = QColor(EMOTION_COLOURS[EMOTION_NAMES.index(run[0].emotion)])
            band = QColor(colour)
            band.setAlpha(70)
            r = QRectF(x0, self.TOP, x1 - x0, self.height() - self.TOP - 1)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(band)
            p.drawRect(r)
            line = QPainterPath()
            for i, t in enumerate(run):
                y = self.y_of(t.intensity)
                a, b = QPointF(self.axis.x_of(t.start), y), QPointF(self.axis.x_of(t.end), y)
                line.moveTo(a) if i == 0 else line.lineTo(a)
                line.lineTo(b)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(QPen(QColor("white"), 2))
            p.drawPath(line)
            p.setPen(QPen(colour.darker(130), 2))
            p.drawRect(r)
            level = f"{run[0].intensity:.0%}" if len({t.intensity for t in run}) == 1 else "drawn"
            p.setPen(QColor("white"))           # the label clear of the line where it starts
            where = Qt.AlignmentFlag.AlignBottom if run[0].intensity > 0.5 else Qt.AlignmentFlag.AlignTop
            p.drawText(r.adjusted(4, 2, -2, -1), Qt.AlignmentFlag.AlignLeft | where,
                       f"target: {run[0].emotion} {level}")

    def paint(self, p, t0, t1):
        rows = self.model.rows
        if not rows:
            self.empty_text(p, "detected emotion appears after the analysis")
            return
        lo, hi = max(int(t0) - 1, 0), min(int(t1) + 2, len(rows))
        if hi <= lo:
            return
        key = (lo, hi, t0, t1, self.width(), self.height(), self.devicePixelRatioF())
        if self._areas is None or self._areas[0] != key or self._areas[1] is not rows:
            self._areas = key, rows, self._draw_areas(rows, lo, hi)
        p.drawPixmap(0, 0, self._areas[2])
        self.paint_targets(p)
        self.paint_stroke(p)
        self.legend(p, zip(EMOTION_NAMES, EMOTION_COLOURS))

    def _draw_areas(self, rows, lo: int, hi: int) -> QPixmap:
        """The stacked probabilities of seconds lo..hi on a transparent picture of the lane."""
        dpr = self.devicePixelRatioF()
        picture = QPixmap(max(int(self.width() * dpr), 1), max(int(self.height() * dpr), 1))
        picture.setDevicePixelRatio(dpr)
        picture.fill(Qt.GlobalColor.transparent)
        p = QPainter(picture)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        h = self.height() - self.TOP    # the legend's strip at the top
        probs = np.asarray(rows[lo:hi], dtype=np.float64)
        cum = np.cumsum(probs / np.maximum(probs.sum(1, keepdims=True), 1e-9), axis=1)
        xs = [self.axis.x_of(min(max(t + 0.5, 0.0), self.axis.duration)) for t in range(lo, hi)]
        xs[0] = self.axis.x_of(lo) if lo == 0 else xs[0]
        xs[-1] = self.axis.x_of(self.axis.duration) if hi == len(rows) else xs[-1]
        below = np.zeros(len(xs))
        p.setPen(Qt.PenStyle.NoPen)
        for e in range(cum.shape[1]):
            top = cum[:, e]
            path = QPainterPath(QPointF(xs[0], self.height() - below[0] * h))
            for x, v in zip(xs, top):
                path.lineTo(x, self.height() - v * h)
            for x, v in zip(reversed(xs), reversed(below)):
                path.lineTo(x, self.height() - v * h)
            path.closeSubpath()
            p.setBrush(QColor(EMOTION_COLOURS[e]))
            p.drawPath(path)
            below = top
        p.end()
        return picture


class ChordLane(Lane):
    """A block per chord, coloured by quality, with its symbol; locked blocks framed with a lock;
    a line between two blocks of one chord (a split).  Click selects a block (Shift extends),
    double-click opens the chord picker, dragging the boundary between two blocks moves it."""

    title = "Chords"
    lane_height = 30
    blockActivated = Signal(object)             # core.timeline.ChordBlock
    boundaryMoved = Signal(float, float)        # from, to (seconds)
    GRAB_PX = 4

    def __init__(self, axis, model, parent=None, bars=None):
        super().__init__(axis, model, parent)
        self.bars = bars                # the bar starts: ticks where the harmony may change
        if bars is not None:
            self.follow(bars)
        self._boundary: float | None = None
        self._boundary_to: float | None = None
        self.setMouseTracking(True)
        self._implicit: tuple[float, float] | None = None      # the outlined block's seconds
        axis.playheadMoved.connect(self._implicit_moved)
        axis.selectionChanged.connect(self._implicit_moved)

    def block_at(self, t: float):
        return next((b for b in self.model.rows if b.start <= t < b.end), None)

    def implicit_block(self):
        """What an edit acts on when nothing is selected: the block under the playhead (outlined
        in the selection's colour, so the user sees it), else None."""
        return self.block_at(self.axis.playhead) if self.axis.selection is None else None

    def _implicit_moved(self, *_) -> None:
        b = self.implicit_block()
        now = (b.start, b.end) if b is not None else None
        if now != self._implicit:           # repaint the old and the new outline, not each tick
            for span in (self._implicit, now):
                if span is not None:
                    x0, x1 = int(self.axis.x_of(span[0])) - 2, int(self.axis.x_of(span[1])) + 3
                    self.update(x0, 0, x1 - x0, self.height())
            self._implicit = now

    def tip_at(self, x: float) -> str | None:
        """The whole symbol, also of a block too short for it, and its seconds."""
        b = self.block_at(self.axis.t_of(x))
        if b is None:
            return None
        return (f"{b.symbol}  {format_time(b.start)}–{format_time(b.end)}{'  (locked)' if b.locked else ''}"
                f"{'  (your voicing: notes edited)' if b.custom else ''}")

    def boundary_near(self, x: float) -> float | None:
        for b in self.model.rows[1:]:
            if abs(self.axis.x_of(b.start) - x) <= self.GRAB_PX:
                return b.start
        return None

    def mousePressEvent(self, e) -> None:  # noqa: N802
        x = e.position().x()
        if e.button() == Qt.MouseButton.LeftButton and self.boundary_near(x) is not None:
            self._boundary = self._boundary_to = self.boundary_near(x)
            return
        super().mousePressEvent(e)

    def mouseMoveEvent(self, e) -> None:  # noqa: N802
        x = e.position().x()
        if self._boundary is not None:
            self._boundary_to = round(self.axis.t_of(x))        # chords change on whole seconds
            self.update()
            return
        self.setCursor(Qt.CursorShape.SplitHCursor if self.boundary_near(x) is not None
                       else Qt.CursorShape.ArrowCursor)
        super().mouseMoveEvent(e)

    def mouseReleaseEvent(self, e) -> None:  # noqa: N802
        if self._boundary is not None:
            old, new = self._boundary, self._boundary_to
            self._boundary = self._boundary_to = None
            self.update()
            if new is not None and abs(new - old) >= 0.5:
                self.boundaryMoved.emit(old, float(new))
            return
        clicked = self._press is not None and not self._dragging and e.button() == Qt.MouseButton.LeftButton
        sel = self.axis.selection
        super().mouseReleaseEvent(e)        # a click seeks and clears the old selection
        b = self.block_at(self.axis.t_of(e.position().x())) if clicked else None
        if b is not None:                   # a click on a block selects it (Shift extends)
            if e.modifiers() & Qt.KeyboardModifier.ShiftModifier and sel:
                self.axis.set_selection(min(sel[0], b.start), max(sel[1], b.end))
            else:
                self.axis.set_selection(b.start, b.end)

    def mouseDoubleClickEvent(self, e) -> None:  # noqa: N802
        b = self.block_at(self.axis.t_of(e.position().x()))
        if b is not None:
            self.axis.set_selection(b.start, b.end)
            self.blockActivated.emit(b)

    def paint(self, p, t0, t1):
        blocks = self.model.rows
        if not blocks:
            self.empty_text(p, "Generate (Ctrl+G) writes the chords")
            return
        fm, font = p.fontMetrics(), p.font()
        small = QFont(font)
        if font.pointSizeF() > 0:
            small.setPointSizeF(font.pointSizeF() * 0.75)
        else:
            small.setPixelSize(max(1, round(font.pixelSize() * 0.75)))
        small_fm = QFontMetricsF(small)
        for i, b in enumerate(blocks):
            if b.end < t0 or b.start > t1:
                continue
            x0, x1 = self.axis.x_of(b.start), self.axis.x_of(b.end)
            if i and blocks[i - 1].token == b.token:        # a split: one chord, two blocks
                p.setPen(QPen(self.text_colour(), 2))
                p.drawLine(QPointF(x0, 1), QPointF(x0, self.height() - 1))
            r = QRectF(x0 + 1, 3, max(x1 - x0 - 2, 1), self.height() - 6)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(QUALITY_COLOURS.get(b.quality, QUALITY_COLOURS[None])))
            p.drawRoundedRect(r, 3, 3)
            if b.locked:
                p.setPen(QPen(QColor("#f5d76e"), 2))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRoundedRect(r.adjusted(1, 1, -1, -1), 3, 3)
                self._padlock(p, r.right() - 10, r.top() + 4)
            if b.custom:        # its voicing is the user's: a white corner, top left
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(QColor("white"))
                p.drawPolygon(QPolygonF([r.topLeft(), QPointF(r.left() + 7, r.top()),
                                         QPointF(r.left(), r.top() + 7)]))
            shown = QRectF(max(r.left(), 0.0), r.top(), r.right() - max(r.left(), 0.0), r.height())
            room = int(shown.width()) - (16 if b.locked else 4)
            # a symbol a short block cannot hold is written smaller before it is cut ("Csus4",
            # not "Cs…")
            narrow = fm.horizontalAdvance(b.symbol) > room and small_fm.horizontalAdvance(b.symbol) <= room
            text = (small_fm if narrow else fm).elidedText(b.symbol, Qt.TextElideMode.ElideRight, room)
            if text and shown.width() > 12:     # (a block scrolled in from the left: at the edge)
                p.setPen(QColor("white"))
                p.setFont(small if narrow else font)
                p.drawText(shown.adjusted(4, 0, -2, 0), Qt.AlignmentFlag.AlignVCenter, text)
        p.setFont(font)
        self._bar_ticks(p, t0, t1)
        b = self.implicit_block()
        self._implicit = (b.start, b.end) if b is not None else None
        if b is not None:
            x0, x1 = self.axis.x_of(b.start), self.axis.x_of(b.end)
            p.setPen(QPen(IMPLICIT_COLOUR, 2))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRoundedRect(QRectF(x0, 1, max(x1 - x0, 2), self.height() - 2), 3, 3)
        if self._boundary_to is not None:
            x = self.axis.x_of(self._boundary_to)
            p.setPen(QPen(self.text_colour(), 2, Qt.PenStyle.DashLine))
            p.drawLine(QPointF(x, 0), QPointF(x, self.height()))

    def _bar_ticks(self, p, t0: float, t1: float) -> None:
        """A short tick at the foot of the lane on each bar line inside a block (a chord changes
        only on one), when bars are at least 6 px apart."""
        bars = self.bars.rows if self.bars is not None else []
        if len(bars) < 2 or (bars[1] - bars[0]) * self.axis.pps < 6:
            return
        edges = {round(b.start, 3) for b in self.model.rows}
        p.setPen(QPen(QColor(255, 255, 255, BAR_TICK_ALPHA), 1))
        h = self.height()
        for t in bars:
            if t0 <= t <= t1 and round(t, 3) not in edges:
                x = round(self.axis.x_of(t)) + 0.5
                p.drawLine(QPointF(x, h - 9), QPointF(x, h - 4))

    @staticmethod
    def _padlock(p, x: float, y: float) -> None:
        p.setPen(QPen(QColor("#f5d76e"), 1.5))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawArc(QRectF(x + 1.5, y, 5, 6), 0, 180 * 16)
        p.setBrush(QColor("#f5d76e"))
        p.drawRect(QRectF(x, y + 3, 8, 6))


def nice_ceiling(x: float) -> float:
    """The smallest of 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten that is at least x."""
    if x <= 0:
        return 1.0
    e = 10.0 ** math.floor(math.log10(x))
    return next(m * e for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if m * e >= x * (1 - 1e-9))


class DynamicsLane(CurveLane):
    """One of the model's dynamics a second, note density or loudness, scaled to the lane; the
    seconds the user drew tinted.  Draw over it to set them (see CurveLane)."""

    lane_height = 44
    BOTTOM = 3
    KINDS = {"density": (0, "Density", DENSITY_COLOUR, 40.0, "note density, notes/s"),
             "loudness": (1, "Loudness", LOUDNESS_COLOUR, 1.0, "loudness, RMS")}

    def __init__(self, axis, model, kind: str = "density", parent=None):
        self.kind = kind
        self.column, self.title, self.colour, self.top_value, self.label = self.KINDS[kind]
        super().__init__(axis, model, parent)
        self._frozen: float | None = None

    def scale(self) -> float:
        """The value at the lane's top: a round number above the curve's peak (kept while
        drawing, so the line under the mouse stays where it is)."""
        if self._frozen is not None:
            return self._frozen
        peak = max((r[self.column] for r in self.model.rows), default=0.0)
        return min(nice_ceiling(max(peak * 1.15, 1e-3)), self.top_value)

    def begin_stroke(self) -> None:
        self._frozen = None
        self._frozen = self.scale()

    def mouseReleaseEvent(self, e) -> None:  # noqa: N802
        super().mouseReleaseEvent(e)
        self._frozen = None

    def value_of(self, frac: float) -> float:
        return round(frac * self.scale(), 4)

    def paint(self, p, t0, t1):
        rows = self.model.rows
        if not rows:
            self.empty_text(p, f"{self.label.split(',')[0]} appears after Generate")
            return
        lo, hi = max(int(t0) - 1, 0), min(int(t1) + 2, len(rows))
        scale = self.scale()
        tint = QColor(self.colour)
        tint.setAlpha(45)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(tint)
        for t in range(lo, hi):
            if rows[t][2 + self.column]:            # drawn by the user
                x0, x1 = self.axis.x_of(t), self.axis.x_of(t + 1)
                p.drawRect(QRectF(x0, self.TOP, x1 - x0, self.height() - self.TOP))
        path = QPainterPath()
        for t in range(lo, hi):
            pt = QPointF(self.axis.x_of(t + 0.5), self.y_of(rows[t][self.column] / scale))
            path.moveTo(pt) if t == lo else path.lineTo(pt)
        p.setPen(QPen(QColor(self.colour), 1.8))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawPath(path)
        self.paint_stroke(p)
        self.legend(p, ((f"{self.label} (0 to {scale:g})", self.colour),), lines=True)
