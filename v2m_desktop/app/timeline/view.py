"""TimelineView: the lanes stacked under the ruler on one TimeAxis, a header column naming them,
the playhead and selection across every lane, Ctrl+wheel zoom and a horizontal scroll bar."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QScrollBar,
    QVBoxLayout,
    QWidget,
)

from v2m_desktop.app.timeline.axis import TimeAxis
from v2m_desktop.app.timeline.lanes import (
    ChordLane,
    CurveLane,
    CutLane,
    DynamicsLane,
    EmotionLane,
    Lane,
    RulerLane,
    SpeechLane,
    ThumbnailLane,
    part_colour,
)
from v2m_desktop.app.timeline.models import LaneModels
from v2m_desktop.app.timeline.piano_roll import Keyboard, PianoRollLane
from v2m_desktop.app.timeline.style_lane import StyleLane

HEADER_WIDTH = 112
ZOOM_STEP = 1.5


class Overlay(QWidget):
    """The playhead and the selection, drawn over every lane; mouse events pass through."""

    def __init__(self, axis: TimeAxis, parent: QWidget):
        super().__init__(parent)
        self.axis = axis
        self.loop = False
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        axis.changed.connect(self.update)
        axis.playheadMoved.connect(self.update)
        axis.selectionChanged.connect(self.update)

    def paintEvent(self, event) -> None:  # noqa: N802
        if self.axis.duration <= 0:
            return
        p = QPainter(self)
        sel = self.axis.selection
        if sel:
            x0, x1 = self.axis.x_of(sel[0]), self.axis.x_of(sel[1])
            p.fillRect(QRectF(x0, 0, x1 - x0, self.height()),
                       QColor(80, 140, 230, 70 if self.loop else 40))
        x = self.axis.x_of(self.axis.playhead)
        p.setPen(QPen(QColor("#ff3b30"), 2))
        p.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        p.end()


class PartsLegend(QWidget):
    """The piano-roll's header: a check box per part, in its colour, to hide or show it."""

    def __init__(self, models: LaneModels, parent=None):
        super().__init__(parent)
        self.models = models
        self.boxes: dict[str, QCheckBox] = {}
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 2, 4)
        lay.setSpacing(1)
        self.title = QLabel("<b>Notes</b>")
        lay.addWidget(self.title)
        self.box_layout = QVBoxLayout()
        self.box_layout.setSpacing(0)
        lay.addLayout(self.box_layout)
        lay.addStretch(1)
        models.notes.modelReset.connect(self.rebuild)

    def rebuild(self) -> None:
        for box in self.boxes.values():
            box.deleteLater()
        self.boxes = {}
        for part in self.models.notes.parts:
            box = QCheckBox(part)
            box.setChecked(part not in self.models.notes.hidden)
            box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            box.setStyleSheet(f"QCheckBox {{ color: {part_colour(part)}; font-weight: bold; }}")
            box.toggled.connect(lambda on, part=part: self.models.notes.set_visible(part, on))
            self.box_layout.addWidget(box)
            self.boxes[part] = box


class TimelineView(QWidget):
    seekRequested = Signal(float)

    def __init__(self, axis: TimeAxis, models: LaneModels, parent=None):
        super().__init__(parent)
        self.axis, self.models = axis, models
        self.ruler = RulerLane(axis)
        self.thumbnails = ThumbnailLane(axis, models.thumbnails)
        self.cuts = CutLane(axis, models.cuts, transitions=models.transitions)
        self.emotion = EmotionLane(axis, models.emotion, models.targets, models.cuts)
        self.speech = SpeechLane(axis, models.voice)
        self.styles = StyleLane(axis)           # follows the session: window's attach
        self.chords = ChordLane(axis, models.chords, bars=models.bars)
        self.piano_roll = PianoRollLane(axis, models.notes)
        self.density = DynamicsLane(axis, models.dynamics, "density")
        self.loudness = DynamicsLane(axis, models.dynamics, "loudness")
        self.curves: list[CurveLane] = [self.emotion, self.density, self.loudness]     # drawn on
        self.lanes: list[Lane] = [self.ruler, self.thumbnails, self.cuts, self.speech, self.emotion,
                                  self.styles, self.chords, self.piano_roll, self.density, self.loudness]

        self.body = QWidget()
        grid = QGridLayout(self.body)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(0)
        grid.setVerticalSpacing(1)
        grid.setColumnMinimumWidth(0, HEADER_WIDTH)
        grid.setColumnStretch(1, 1)
        self.legend = PartsLegend(models)
        self.keyboard = Keyboard(self.piano_roll.pitches, self.piano_roll)
        for row, lane in enumerate(self.lanes):
            header = self._roll_header() if lane is self.piano_roll else self._header(lane.title)
            header.setFixedWidth(HEADER_WIDTH)
            grid.addWidget(header, row, 0)
            grid.addWidget(lane, row, 1)
            lane.seekRequested.connect(self.seekRequested)
        grid.setRowStretch(self.lanes.index(self.piano_roll), 1)
        self.overlay = Overlay(axis, self.body)

        self.scroll_area = QScrollArea()
        self.scroll_area.setWidget(self.body)
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.hbar = QScrollBar(Qt.Orientation.Horizontal)
        self.hbar.valueChanged.connect(self._scrolled)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.scroll_area, 1)
        lay.addWidget(self.hbar)
        axis.changed.connect(self._sync_bar)
        self.ruler.installEventFilter(self)
        self._sync_bar()

    def _roll_header(self) -> QWidget:
        """The piano-roll's header: the parts' check boxes, and the keyboard on its pitches."""
        w = QWidget()
        lay = QHBoxLayout(w)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.legend, 1)
        lay.addWidget(self.keyboard)
        return w

    def _header(self, title: str) -> QLabel:
        label = QLabel(f"<b>{title}</b>")
        label.setContentsMargins(6, 0, 2, 0)
        label.setAutoFillBackground(True)
        label.setBackgroundRole(QPalette.ColorRole.Window)
        return label

    # -- geometry: the axis spans the lanes' column; the overlay covers it
    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        if obj is self.ruler and event.type() == event.Type.Resize:
            self.axis.set_width(self.ruler.width())
            self._place_overlay()
        return False

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._place_overlay()

    def _place_overlay(self) -> None:
        x = self.ruler.geometry().x()
        self.overlay.setGeometry(x, 0, self.body.width() - x, self.body.height())
        self.overlay.raise_()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self._place_overlay()

    # -- zoom and scroll
    def zoom_in(self) -> None:
        self.axis.zoom(ZOOM_STEP)

    def zoom_out(self) -> None:
        self.axis.zoom(1 / ZOOM_STEP)

    def fit(self) -> None:
        self.axis.fit()

    def wheelEvent(self, e) -> None:  # noqa: N802
        dy = e.angleDelta().y() or e.angleDelta().x()
        if not dy:
            return
        if e.modifiers() & Qt.KeyboardModifier.ControlModifier:
            x = e.position().x() - self.ruler.geometry().x()
            self.axis.zoom(ZOOM_STEP ** (dy / 120), anchor=self.axis.t_of(x))
        else:
            lo, hi = self.axis.visible()
            self.axis.scroll_to(self.axis.offset - dy / 120 * 0.1 * (hi - lo))
        e.accept()

    def _sync_bar(self) -> None:
        total = max(self.axis.content_width() - self.axis.width, 0)
        self.hbar.blockSignals(True)
        self.hbar.setRange(0, int(total))
        self.hbar.setPageStep(self.axis.width)
        self.hbar.setSingleStep(max(self.axis.width // 20, 1))
        self.hbar.setValue(int(round(self.axis.offset * self.axis.pps)))
        self.hbar.blockSignals(False)
        self.hbar.setVisible(total > 0)
        self.overlay.update()

    def set_draw_mode(self, on: bool) -> None:
        """Draw mode: a plain drag on the emotion, density or loudness lane draws its curve."""
        for lane in self.curves:
            lane.set_draw_mode(on)

    def _scrolled(self, value: int) -> None:
        self.axis.scroll_to(value / self.axis.pps)
