"""Qt models of what the lanes draw.  Each lane is a view over one of these: it repaints on the
model's reset / dataChanged notifications and reads the rows, never the core objects."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QImage

from v2m_desktop.core.notes import NoteEdits
from v2m_desktop.core.timeline import patch_notes


class RowsModel(QAbstractListModel):
    """A list of plain rows (tuples or dataclasses); `text(row)` is its DisplayRole."""

    def __init__(self, text=str, parent: QObject | None = None, per_second: bool = False):
        super().__init__(parent)
        self.rows: list = []
        self._text = text
        self.per_second = per_second        # row i is second i

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

    def seconds_of(self, first: int, last: int) -> tuple[float, float] | None:
        """The seconds rows first..last cover on the timeline (None: not known, all of it):
        rows with a start and an end (chord blocks, targets), times (bars), or one row a
        second (dynamics)."""
        rows = self.rows[first:last + 1]
        if not rows:
            return None
        if all(hasattr(r, "start") and hasattr(r, "end") for r in rows):
            return min(float(r.start) for r in rows), max(float(r.end) for r in rows)
        if all(isinstance(r, float) for r in rows):
            return min(rows), max(rows)
        if self.per_second:
            return float(first), float(last + 1)
        return None

    def update_rows(self, rows) -> None:
        """The new rows, announced as narrowly as they differ: nothing when none does, the
        changed rows (dataChanged) when as many, else only the rows between the common head and
        tail removed and inserted.  A lane repaints just those rows' seconds."""
        new = list(rows)
        old = self.rows
        head = 0
        while head < min(len(old), len(new)) and old[head] == new[head]:
            head += 1
        if head == len(old) == len(new):
            return
        tail = 0
        while tail < min(len(old), len(new)) - head and old[-1 - tail] == new[-1 - tail]:
            tail += 1
        if len(old) == len(new):
            self.rows = new
            self.dataChanged.emit(self.index(head), self.index(len(new) - 1 - tail))
            return
        if len(old) - tail > head:
            self.beginRemoveRows(QModelIndex(), head, len(old) - tail - 1)
            self.rows = old[:head] + old[len(old) - tail:]
            self.endRemoveRows()
        if len(new) - tail > head:
            self.beginInsertRows(QModelIndex(), head, len(new) - tail - 1)
            self.rows = new
            self.endInsertRows()
        self.rows = new


class NotesModel(RowsModel):
    """The arranged notes (one row each, core.timeline.Notes holds them as arrays) and which
    parts the user shows."""

    visibilityChanged = Signal()
    fresh = Signal()            # new music shown (not an edit's): the piano-roll fits its pitches

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent=parent)
        self.notes = None
        self.before = None          # the notes before the last update (where moved notes were)
        self.hidden: set[str] = set()
        self.beats = np.zeros(0)    # the beat grid (s) that notes snap to
        self.edits = NoteEdits()    # the user's note edits that `notes` hold

    def patch(self, edits: NoteEdits) -> None:
        """Show the notes with these note edits at once (the new arrangement follows)."""
        if self.notes is not None and edits != self.edits:
            notes = patch_notes(self.notes, self.edits, edits)
            self.edits = edits
            self.update_notes(notes)

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

    def set_notes(self, notes, fresh: bool = True) -> None:
        self.beginResetModel()
        self.notes = notes
        self.endResetModel()
        if fresh:
            self.fresh.emit()

    def update_notes(self, notes) -> None:
        """New notes of the same parts: only the rows from the first to the last that differ
        are announced (dataChanged), so the piano-roll repaints just their seconds."""
        old = self.notes
        if old is None or notes is None or old.parts != notes.parts or len(old) != len(notes):
            self.set_notes(notes, fresh=old is None)
            return
        differ = np.flatnonzero((old.start != notes.start) | (old.end != notes.end)
                                | (old.pitch != notes.pitch) | (old.velocity != notes.velocity)
                                | (old.part != notes.part))
        self.notes, self.before = notes, old
        if len(differ):
            self.dataChanged.emit(self.index(int(differ[0])), self.index(int(differ[-1])))

    def seconds_of(self, first: int, last: int) -> tuple[float, float] | None:
        """The seconds of the notes first..last, before and after the change (a moved note is
        repainted where it was and where it is)."""
        n = self.notes
        if n is None or not 0 <= first <= last < len(n):
            return None
        t0, t1 = float(n.start[first:last + 1].min()), float(n.end[first:last + 1].max())
        old = self.before
        if old is not None and last < len(old):
            t0 = min(t0, float(old.start[first:last + 1].min()))
            t1 = max(t1, float(old.end[first:last + 1].max()))
        return t0, t1

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
        self.dynamics = RowsModel(lambda r: f"density {r[0]:.1f}, loudness {r[1]:.3f}", self, per_second=True)
        self.targets = RowsModel(lambda t: f"{t.emotion} {t.intensity:g} {t.start}-{t.end} s", self)
        self.voice = RowsModel(lambda v: f"{v.kind} {v.start:.2f}-{v.end:.2f} s", self)

    def update(self, data) -> None:
        """The edited project's new music: only what the music changes (chords, bars, notes,
        dynamics, targets), each model announcing only the rows that differ; the picture's
        lanes (thumbnails, cuts, emotion) stay as they are."""
        self.chords.update_rows(data.chords)
        self.bars.update_rows(data.bars)
        self.notes.beats, self.notes.edits = np.asarray(data.beats), data.note_edits
        self.notes.update_notes(data.notes)
        self.dynamics.update_rows(_dynamics_rows(data))
        self.targets.update_rows(data.targets)
        self.voice.update_rows(data.voice)

    def show(self, data) -> None:
        """Fill every model from a core.timeline.TimelineData (None clears)."""
        if data is None:
            for m in (self.thumbnails, self.cuts, self.transitions, self.emotion, self.chords, self.bars,
                      self.dynamics, self.targets, self.voice):
                m.set_rows([])
            self.notes.set_notes(None)
            self.notes.edits = NoteEdits()
            return
        self.thumbnails.set_thumbnails(data.thumb_times, data.thumbnails)
        self.cuts.set_rows(float(c) for c in data.cuts)
        self.transitions.set_rows(float(c) for c in data.transitions)
        self.emotion.set_rows([] if data.emotion is None else [tuple(map(float, r)) for r in data.emotion])
        self.chords.set_rows(data.chords)
        self.bars.set_rows(data.bars)
        self.notes.beats, self.notes.edits = np.asarray(data.beats), data.note_edits
        self.notes.set_notes(data.notes)
        self.dynamics.set_rows(_dynamics_rows(data))
        self.targets.set_rows(data.targets)
        self.voice.set_rows(data.voice)


def _dynamics_rows(data) -> list[tuple[float, float, bool, bool]]:
    """(density, loudness, density drawn, loudness drawn) a second."""
    if data.density is None:
        return []
    drawn = [data.edited.get(k, set()) for k in ("density", "loudness")]
    return [(float(d), float(lo), s in drawn[0], s in drawn[1])
            for s, (d, lo) in enumerate(zip(data.density, data.loudness))]
