"""Qt models of what the lanes draw.  Each lane is a view over one of these: it repaints on the
model's reset / dataChanged notifications and reads the rows, never the core objects."""
from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QImage


class RowsModel(QAbstractListModel):
    """A list of plain rows (tuples or dataclasses); `text(row)` is its DisplayRole."""

    def __init__(self, text=str, parent: QObject | None = None):
        super().__init__(parent)
        self.rows: list = []
        self._text = text

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt's name
        return 0 if parent.isValid() else len(self.rows)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row)
        if role == Qt.ItemDataRole.UserRole:
            return row
        return None

    def set_rows(self, rows) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()


class NotesModel(RowsModel):
    """The arranged notes (one row each, core.timeline.Notes holds them as arrays) and which
    parts the user shows."""

    visibilityChanged = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent=parent)
        self.notes = None
        self.hidden: set[str] = set()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() or self.notes is None else len(self.notes)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        n = self.notes
        if n is None or not index.isValid() or not 0 <= index.row() < len(n):
            return None
        i = index.row()
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{n.parts[n.part[i]]} {int(n.pitch[i])} {n.start[i]:.2f}-{n.end[i]:.2f} s"
        return None

    @property
    def parts(self) -> tuple[str, ...]:
        return () if self.notes is None else self.notes.parts

    def set_notes(self, notes) -> None:
        self.beginResetModel()
        self.notes = notes
        self.endResetModel()

    def set_visible(self, part: str, visible: bool) -> None:
        if visible == (part not in self.hidden):
            return
        (self.hidden.discard if visible else self.hidden.add)(part)
        self.visibilityChanged.emit()


class ThumbnailsModel(RowsModel):
    """(time, QImage) rows."""

    def set_thumbnails(self, times, images) -> None:
        rows = []
        if times is not None and images is not None:
            for t, rgb in zip(times, images):
                h, w = rgb.shape[:2]
                img = QImage(rgb.tobytes(), w, h, 3 * w, QImage.Format.Format_RGB888).copy()
                rows.append((float(t), img))
        self.set_rows(rows)


class LaneModels(QObject):
    """Every lane's model, filled by the session."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.thumbnails = ThumbnailsModel(lambda r: f"{r[0]:.1f} s", self)
        self.cuts = RowsModel(lambda t: f"cut at {t:.2f} s", self)
        self.transitions = RowsModel(lambda t: f"transition at {t:.2f} s", self)
        self.emotion = RowsModel(lambda r: " ".join(f"{p:.2f}" for p in r), self)
        self.chords = RowsModel(lambda b: f"{b.symbol} {b.start:.2f}-{b.end:.2f} s", self)
        self.bars = RowsModel(lambda t: f"bar at {t:.2f} s", self)
        self.notes = NotesModel(self)
        self.dynamics = RowsModel(lambda r: f"density {r[0]:.1f}, loudness {r[1]:.3f}", self)
        self.targets = RowsModel(lambda t: f"{t.emotion} {t.intensity:g} {t.start}-{t.end} s", self)

    def show(self, data) -> None:
        """Fill every model from a core.timeline.TimelineData (None clears)."""
        if data is None:
            for m in (self.thumbnails, self.cuts, self.transitions, self.emotion, self.chords, self.bars,
                      self.dynamics, self.targets):
                m.set_rows([])
            self.notes.set_notes(None)
            return
        self.thumbnails.set_thumbnails(data.thumb_times, data.thumbnails)
        self.cuts.set_rows(float(c) for c in data.cuts)
        self.transitions.set_rows(float(c) for c in data.transitions)
        self.emotion.set_rows([] if data.emotion is None else [tuple(map(float, r)) for r in data.emotion])
        self.chords.set_rows(data.chords)
        self.bars.set_rows(data.bars)
        self.notes.set_notes(data.notes)
        dyn = []
        if data.density is not None:        # (density, loudness, density drawn, loudness drawn)
            drawn = [data.edited.get(k, set()) for k in ("density", "loudness")]
            dyn = [(float(d), float(lo), s in drawn[0], s in drawn[1])
                   for s, (d, lo) in enumerate(zip(data.density, data.loudness))]
        self.dynamics.set_rows(dyn)
        self.targets.set_rows(data.targets)
