"""TimeAxis: seconds <-> pixels for every lane of a window, with zoom, scroll and the playhead."""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class TimeAxis(QObject):
    """`offset` is the second at the lanes' left edge, `pps` pixels per second; `width` is the
    lanes' drawing width in pixels (set by the view when it resizes)."""

    changed = Signal()                  # zoom or scroll: every lane redraws
    playheadMoved = Signal(float)
    selectionChanged = Signal()

    MIN_PPS, MAX_PPS = 0.5, 2000.0

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.duration = 0.0
        self.offset = 0.0
        self.pps = 20.0
        self.width = 800
        self.playhead = 0.0
        self.selection: tuple[float, float] | None = None
        self._fit = True                # keep fitting the whole video until the user zooms

    # -- mapping
    def x_of(self, t: float) -> float:
        return (t - self.offset) * self.pps

    def t_of(self, x: float) -> float:
        return self.offset + x / self.pps

    def visible(self) -> tuple[float, float]:
        return self.offset, self.offset + self.width / self.pps

    @property
    def fitted(self) -> bool:
        return self._fit

    # -- changes
    def set_duration(self, duration: float) -> None:
        self.duration = max(float(duration), 0.0)
        self.playhead = min(self.playhead, self.duration)
        self.selection = None
        self.fit()

    def set_width(self, width: int) -> None:
        self.width = max(int(width), 1)
        if self._fit:
            self.fit()
        else:
            self._clamp()
            self.changed.emit()

    def fit(self) -> None:
        self._fit = True
        self.pps = min(max(self.width / self.duration, self.MIN_PPS), self.MAX_PPS) if self.duration else 20.0
        self.offset = 0.0
        self.changed.emit()

    def zoom(self, factor: float, anchor: float | None = None) -> None:
        """Zoom by `factor` keeping the second `anchor` (default: the playhead if visible, else
        the middle) at the same pixel."""
        if anchor is None:
            lo, hi = self.visible()
            anchor = self.playhead if lo <= self.playhead <= hi else (lo + hi) / 2
        x = self.x_of(anchor)
        self.pps = min(max(self.pps * factor, self.MIN_PPS), self.MAX_PPS)
        self._fit = False
        self.offset = anchor - x / self.pps
        self._clamp()
        self.changed.emit()

    def scroll_to(self, offset: float) -> None:
        self.offset = offset
        self._clamp()
        self.changed.emit()

    def content_width(self) -> float:
        return self.duration * self.pps

    def _clamp(self) -> None:
        span = self.width / self.pps
        self.offset = min(max(self.offset, 0.0), max(self.duration - span, 0.0))

    def set_playhead(self, t: float, follow: bool = True) -> None:
        """Move the playhead; with `follow`, page the view when it leaves it."""
        self.playhead = min(max(float(t), 0.0), self.duration)
        if follow:
            lo, hi = self.visible()
            if not lo <= self.playhead <= hi:
                self.scroll_to(self.playhead - 0.05 * (hi - lo))
        self.playheadMoved.emit(self.playhead)

    def set_selection(self, a: float | None, b: float | None = None) -> None:
        if a is None or b is None or abs(b - a) < 1e-3:
            self.selection = None
        else:
            lo, hi = sorted((min(max(a, 0.0), self.duration), min(max(b, 0.0), self.duration)))
            self.selection = (lo, hi)
        self.selectionChanged.emit()
