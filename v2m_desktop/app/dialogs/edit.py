"""Small editing dialogs (non-blocking: the window keeps playing): the chord picker, which
takes a typed symbol or a root and a quality, and the emotion target."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSlider,
)

from v2m_desktop.app.dialogs import form_with_ok_cancel
from v2m_desktop.app.timeline.lanes import EMOTION_NAMES
from v2m_desktop.core.chords import SYMBOL_SUFFIX

ROOTS = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
QUALITIES = (("", "major"), ("m", "minor"), ("7", "7"), ("maj7", "maj7"), ("m7", "m7"), ("6", "6"),
             ("m6", "m6"), ("sus2", "sus2"), ("sus4", "sus4"), ("dim", "dim"), ("dim7", "dim7"),
             ("m7b5", "m7b5"), ("aug", "aug"))


class ChordDialog(QDialog):
    """Type a symbol ('F#m7', 'N') or pick a root and a quality; Enter applies."""

    chosen = Signal(str)

    def __init__(self, current: str, span_text: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Set Chord")
        self.symbol = QLineEdit(current)
        self.symbol.selectAll()
        self.symbol.setPlaceholderText("e.g. Am, F#m7, Bbmaj7, Csus4, N")
        self.root = QComboBox()
        self.root.addItems(ROOTS)
        self.quality = QComboBox()
        self.quality.addItems([name for _, name in QUALITIES])
        self._show_current(current)
        self.root.activated.connect(self._picked)
        self.quality.activated.connect(self._picked)
        pick = QHBoxLayout()
        pick.addWidget(self.root)
        pick.addWidget(self.quality)
        form = QFormLayout()
        form.addRow(QLabel(span_text))
        form.addRow("Chord:", self.symbol)
        form.addRow("or pick:", pick)
        form_with_ok_cancel(self, form)

    def _show_current(self, current: str) -> None:
        """The lists open on the block's chord (C and major for N, or a symbol they cannot show)."""
        from v2m_desktop.core.chords import parse_chord_symbol
        from v2m_desktop.core.errors import V2MError
        try:
            root, quality = parse_chord_symbol(current)
        except V2MError:
            return
        suffix = SYMBOL_SUFFIX[quality]
        names = [s for s, _ in QUALITIES]
        if suffix in names:
            self.root.setCurrentIndex(root)
            self.quality.setCurrentIndex(names.index(suffix))

    def _picked(self) -> None:
        self.symbol.setText(ROOTS[self.root.currentIndex()] + QUALITIES[self.quality.currentIndex()][0])

    def accept(self) -> None:
        text = self.symbol.text().strip()
        super().accept()
        if text:
            self.chosen.emit(text)


class TargetDialog(QDialog):
    """One of the six emotions and an intensity for the selected range."""

    chosen = Signal(str, float)

    def __init__(self, span_text: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Set Emotion Target")
        self.emotion = QComboBox()
        self.emotion.addItems(EMOTION_NAMES)
        self.intensity = QSlider(Qt.Orientation.Horizontal)
        self.intensity.setRange(0, 100)
        self.intensity.setValue(100)
        self.value = QLabel("100 %")
        self.intensity.valueChanged.connect(lambda v: self.value.setText(f"{v} %"))
        row = QHBoxLayout()
        row.addWidget(self.intensity, 1)
        row.addWidget(self.value)
        form = QFormLayout()
        form.addRow(QLabel(span_text))
        form.addRow("Emotion:", self.emotion)
        form.addRow("Intensity:", row)
        form_with_ok_cancel(self, form)

    def accept(self) -> None:
        super().accept()
        self.chosen.emit(self.emotion.currentText(), self.intensity.value() / 100)
