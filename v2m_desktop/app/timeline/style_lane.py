"""The Style lane: which style plays when.  The piece's style runs as a plain band; a range's own
style (Edit > Style for Selection, Y) is drawn in the style's colour, named.  It follows the open
project: at once after a style edit, and the style Auto chose after each render."""
from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPen

from v2m_desktop.app.timeline.lanes import Lane, format_time

# a colour per style, in the order of the styles' keys (more styles: round again)
PALETTE = ("#7e57c2", "#26a69a", "#ef6c00", "#5c6bc0", "#8d6e63", "#ec407a", "#9e9d24", "#29b6f6")


class StyleLane(Lane):
    title = "Style"
    lane_height = 20

    def __init__(self, axis, parent=None):
        super().__init__(axis, None, parent)
        self.spans: list[tuple[float, float, str, bool]] = []   # start, end, style key, a range's
        self._piece = ""            # the piece's style as the last render resolved Auto
        self.names: dict[str, str] = {}         # style key -> its name, for the spans shown
        self.colours: dict[str, QColor] = {}

    def attach(self, session) -> None:
        """Follow `session`'s open project (its renders and its settings' edits)."""
        self.session = session
        session.projectOpened.connect(self._rendered)
        session.rendered.connect(self._rendered)
        session.projectChanged.connect(lambda what, *_: what == "settings" and self.refresh())

    def _rendered(self, music) -> None:
        self._piece = music.score.arrangement.style
        self.refresh()

    def refresh(self) -> None:
        """The spans of the open project's style and style ranges, with each style's name and
        colour.  Resolved here, after a render or an edit, never in paint: the styles module
        (pydantic) imported by a paint while the project's worker imported it too gave
        "ImportError: cannot import name 'import_string' from partially initialized module"
        when a saved project was opened."""
        from v2m_desktop.core.arrange.styles import AUTO, StylePlan, all_styles
        p = self.session.project
        self.spans, self.names, self.colours = [], {}, {}
        if p is not None and self._piece:
            piece = self._piece if p.settings.style == AUTO else p.settings.style
            ranges = p.settings.style_ranges
            plan = StylePlan.build(piece, ranges, float(p.video.duration))
            self.spans = [(a, b, key, any(x <= a and b <= y and k == key for x, y, k in ranges))
                          for a, b, key in plan.spans]
            styles = all_styles()
            keys = sorted(styles)
            for _, _, key, _ in self.spans:
                self.names[key] = styles[key].name if key in styles else key
                self.colours[key] = QColor(PALETTE[keys.index(key) % len(PALETTE)] if key in keys
                                           else "#888888")
        self.update()

    def paint(self, p, t0, t1):
        if not self.spans:
            self.empty_text(p, "the style shows once the music is generated")
            return
        h = self.height()
        for a, b, key, own in self.spans:
            if b < t0 or a > t1:
                continue
            x0, x1 = self.axis.x_of(a), self.axis.x_of(b)
            colour = QColor(self.colours[key])
            colour.setAlpha(200 if own else 70)
            rect = QRectF(x0, 2 if own else 5, max(x1 - x0, 1.0), h - (4 if own else 10))
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(colour)
            p.drawRect(rect)
            if own or a <= t0 + 1e-9 or len(self.spans) > 1:
                p.setPen(QPen(self.text_colour()))
                # (a span scrolled in from the left: its name at the lane's edge)
                shown = QRectF(max(rect.left(), 0.0), rect.top(), rect.right() - max(rect.left(), 0.0),
                               rect.height())
                p.drawText(shown.adjusted(4, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter, self.names[key])

    def tip_at(self, x: float) -> str | None:
        t = self.axis.t_of(x)
        for a, b, key, own in self.spans:
            if a <= t < b:
                whose = "your range" if own else "the piece's style"
                return f"{self.names[key]} {format_time(a, 0.1)}–{format_time(b, 0.1)} ({whose})"
        return None
