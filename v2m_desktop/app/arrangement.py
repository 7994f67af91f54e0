"""View > Arrangement: a dock with the open project's arrangement settings (key, tempo,
instruments, SoundFont, seed, the original sound's level).  It shows the project and turns each
change a user makes into one core edit (core.edits), which the window pushes as one undoable
command; it redraws from the project after every edit, undo included."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QWidget,
)

from v2m_desktop.app.settings import INSTRUMENTS
from v2m_desktop.core.chords import key_name

SEED_MAX = (1 << 31) - 1
# keys the panel's fields use themselves, though the window has shortcuts on them (Return: Set
# Chord, Space: Play, arrows: step, Del: No Chord...)
OWN_KEYS = {Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space, Qt.Key.Key_Up, Qt.Key.Key_Down,
            Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown,
            Qt.Key.Key_Home, Qt.Key.Key_End, Qt.Key.Key_Delete, Qt.Key.Key_Backspace}


class _OwnKeys(QObject):
    """A field keeps its keys while it has the focus: the window's one-key shortcuts wait."""

    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.ShortcutOverride and event.key() in OWN_KEYS and \
                not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            event.accept()
            return True
        return False


def level_edit(project, percent: int):
    """(the edit, its text) setting the original sound's level to `percent`, or None when the
    project has that level (the panel's slider and the window's share it)."""
    from v2m_desktop.core.edits import SetOriginalLevel
    if project is None or percent == round(100 * project.settings.original_level):
        return None
    return SetOriginalLevel(percent / 100), f"Original sound {percent}%"


def key_names() -> list[tuple[str, int, int]]:
    """(name, root, mode) of the 24 keys, each spelled as it is written (Bb major, C# minor)."""
    return [(key_name(root, mode), root, mode) for mode in (0, 1) for root in range(12)]


class ArrangementPanel(QDockWidget):
    edit = Signal(object, str)          # a core edit and its text for the undo stack

    def __init__(self, parent=None):
        super().__init__("Arrangement", parent)
        self.setObjectName("arrangement")
        self.project = None
        self._showing = False           # set while the widgets are filled from the project
        body = QWidget()
        form = QFormLayout(body)

        self.key = QComboBox()
        for name, root, mode in key_names():
            self.key.addItem(name, root + 12 * mode)
        self.key.setToolTip("Move the whole piece to another key (its chords move with it)")
        self.key.currentIndexChanged.connect(self._key_chosen)
        form.addRow("Key:", self.key)

        self.style = QComboBox()
        self.style.setToolTip("The band and how it plays: Auto picks one from the picture")
        self.style.currentIndexChanged.connect(self._style_chosen)
        form.addRow("Style:", self.style)

        self.auto_tempo = QCheckBox("Auto (beats on the cuts)")
        self.tempo = QDoubleSpinBox()
        self.tempo.setDecimals(1)
        self.tempo.setSuffix(" BPM")
        self.tempo.setKeyboardTracking(False)       # typed digits change it once, on Enter
        self.auto_tempo.toggled.connect(self._tempo_chosen)
        self.tempo.valueChanged.connect(self._tempo_chosen)
        row = QHBoxLayout()
        row.addWidget(self.auto_tempo)
        row.addWidget(self.tempo)
        form.addRow("Tempo:", row)

        self.parts: dict[str, QCheckBox] = {}
        row = QHBoxLayout()
        for name in INSTRUMENTS:
            box = QCheckBox(name)
            box.toggled.connect(self._parts_chosen)
            self.parts[name] = box
            row.addWidget(box)
        form.addRow("Instruments:", row)

        self.soundfont = QLabel()
        self.soundfont.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.choose_soundfont = QPushButton("Choose…")
        self.choose_soundfont.clicked.connect(self._soundfont_dialog)
        self.default_soundfont = QPushButton("Default")
        self.default_soundfont.setToolTip("The bundled General MIDI SoundFont (TimGM6mb)")
        self.default_soundfont.clicked.connect(lambda: self._soundfont_chosen(None))
        row = QHBoxLayout()
        row.addWidget(self.soundfont, 1)
        row.addWidget(self.choose_soundfont)
        row.addWidget(self.default_soundfont)
        form.addRow("SoundFont:", row)

        self.seed = QSpinBox()
        self.seed.setRange(0, SEED_MAX)
        self.seed.setKeyboardTracking(False)
        self.seed.setToolTip("The arrangement's random choices: rhythms, voicings, fills")
        self.seed.valueChanged.connect(self._seed_chosen)
        form.addRow("Seed:", self.seed)

        self.level = QSlider(Qt.Orientation.Horizontal)
        self.level.setRange(0, 100)
        self.level.setPageStep(10)
        self.level.setTracking(False)               # one edit when the drag ends
        self.level.setToolTip("Level of the video's own sound under the music")
        self.level.valueChanged.connect(self._level_chosen)
        self.level_text = QLabel()
        row = QHBoxLayout()
        row.addWidget(self.level, 1)
        row.addWidget(self.level_text)
        form.addRow("Original sound:", row)

        self.duck = QSpinBox()
        self.duck.setRange(0, 40)
        self.duck.setSuffix(" dB")
        self.duck.setSpecialValueText("Off")
        self.duck.setKeyboardTracking(False)
        self.duck.setToolTip("How far the music steps down under speech in the video's own sound "
                             "(while that sound is kept)")
        self.duck.valueChanged.connect(self._duck_chosen)
        form.addRow("Duck under speech:", self.duck)

        self.loudness = QComboBox()
        for text, value in (("YouTube and the web (-14 LUFS)", "youtube"), ("Podcast (-16 LUFS)", "podcast"),
                            ("Broadcast, EBU R 128 (-23 LUFS)", "broadcast")):
            self.loudness.addItem(text, value)
        self.loudness.setToolTip("The exported mix's loudness (its true peak stays under -1 dBTP)")
        self.loudness.currentIndexChanged.connect(self._loudness_chosen)
        form.addRow("Loudness:", self.loudness)

        self.setWidget(body)
        self._own_keys = _OwnKeys(self)
        for w in body.findChildren(QWidget):
            w.installEventFilter(self._own_keys)
        self.show_project(None)

    # -- the project -> the widgets
    def show_project(self, project, tempo: float | None = None) -> None:
        """Fill the widgets from `project` (None: nothing open); `tempo`: the arrangement's
        current tempo, shown while the tempo is automatic."""
        self.project = project
        self.widget().setEnabled(project is not None)
        if project is None:
            return
        from v2m_desktop.core.arrange.arranger import TEMPO_LIMITS  # loaded with the project
        self._showing = True
        try:
            self.tempo.setRange(*TEMPO_LIMITS)
            s = project.settings
            self.key.setCurrentIndex(self.key.findData(project.key_root + 12 * project.mode))
            if self.style.count() == 0:
                from v2m_desktop.core.arrange.styles import AUTO, all_styles
                self.style.addItem("Auto (from the picture)", AUTO)
                for key, style in sorted(all_styles().items(), key=lambda kv: kv[1].name):
                    self.style.addItem(style.name, key)
                    self.style.setItemData(self.style.count() - 1, style.summary, Qt.ItemDataRole.ToolTipRole)
            self.style.setCurrentIndex(max(self.style.findData(s.style), 0))
            self.auto_tempo.setChecked(s.tempo is None)
            self.tempo.setEnabled(s.tempo is not None)
            if s.tempo is not None:
                self.tempo.setValue(s.tempo)
            elif tempo:
                self.tempo.setValue(round(tempo, 1))
            for name, box in self.parts.items():
                box.setChecked(name in s.instruments)
            self.soundfont.setText(Path(s.soundfont).name if s.soundfont else "TimGM6mb (bundled)")
            self.soundfont.setToolTip(s.soundfont or "")
            self.default_soundfont.setEnabled(s.soundfont is not None)
            self.seed.setValue(int(s.seed))
            self.level.setValue(round(100 * s.original_level))
            self.level_text.setText(f"{round(100 * s.original_level)}%")
            self.duck.setValue(round(s.duck_db))
            from v2m_desktop.core.mix import TARGETS
            named = next((k for k, v in TARGETS.items() if v == s.loudness), None)
            if named is None:           # a number of LUFS set elsewhere (v2m edit --loudness)
                if self.loudness.findData(s.loudness) < 0:
                    self.loudness.addItem(f"{s.loudness:g} LUFS", s.loudness)
                named = s.loudness
            self.loudness.setCurrentIndex(self.loudness.findData(named))
        finally:
            self._showing = False

    def set_busy(self, busy: bool) -> None:
        self.widget().setEnabled(self.project is not None and not busy)

    # -- the widgets -> core edits
    def _emit(self, edit, text: str) -> None:
        if self._showing or self.project is None:
            return
        self.edit.emit(edit, text)
        self.show_project(self.project, self.tempo.value())     # a refused edit: back as it was

    def _key_chosen(self, _index: int) -> None:
        from v2m_desktop.core.edits import SetKey
        name = self.key.currentText()
        p = self.project
        if p is not None and self.key.currentData() != p.key_root + 12 * p.mode:
            self._emit(SetKey(name), f"Key {name}")

    def _style_chosen(self, _index: int) -> None:
        from v2m_desktop.core.edits import SetStyle
        key = self.style.currentData()
        if self.project is not None and key is not None and key != self.project.settings.style:
            self._emit(SetStyle(key), f"Style {self.style.currentText()}")

    def _tempo_chosen(self, *_args) -> None:
        from v2m_desktop.core.edits import SetTempo
        if self._showing or self.project is None:
            return
        bpm = None if self.auto_tempo.isChecked() else round(self.tempo.value(), 1)
        if bpm != self.project.settings.tempo:
            self._emit(SetTempo(bpm), "Tempo auto" if bpm is None else f"Tempo {bpm:g} BPM")

    def _parts_chosen(self, _on: bool) -> None:
        from v2m_desktop.core.edits import SetInstruments
        if self._showing or self.project is None:
            return
        chosen = tuple(n for n, box in self.parts.items() if box.isChecked())
        if chosen != tuple(self.project.settings.instruments):
            self._emit(SetInstruments(chosen), f"Instruments {', '.join(chosen) or 'none'}")

    def _soundfont_dialog(self) -> None:
        start = str(Path(self.project.settings.soundfont).parent) if self.project and \
            self.project.settings.soundfont else ""
        path, _ = QFileDialog.getOpenFileName(self, "Choose a SoundFont", start,
                                              "SoundFonts (*.sf2 *.sf3);;All files (*)")
        if path:
            self._soundfont_chosen(path)

    def _soundfont_chosen(self, path) -> None:
        from v2m_desktop.core.edits import SetSoundFont
        if self.project is not None and path != self.project.settings.soundfont:
            self._emit(SetSoundFont(path), f"SoundFont {Path(path).name if path else 'bundled'}")

    def _seed_chosen(self, value: int) -> None:
        from v2m_desktop.core.edits import SetSeed
        if self.project is not None and value != self.project.settings.seed:
            self._emit(SetSeed(int(value)), f"Seed {value}")

    def _duck_chosen(self, value: int) -> None:
        from v2m_desktop.core.edits import SetDuckDepth
        if self.project is not None and value != round(self.project.settings.duck_db):
            self._emit(SetDuckDepth(float(value)),
                       "Duck off" if value == 0 else f"Duck {value} dB under speech")

    def _loudness_chosen(self, _index: int) -> None:
        from v2m_desktop.core.edits import SetLoudnessTarget
        from v2m_desktop.core.mix import parse_loudness
        value = self.loudness.currentData()
        if self.project is not None and value is not None \
                and parse_loudness(value) != self.project.settings.loudness:
            self._emit(SetLoudnessTarget(value), f"Loudness {self.loudness.currentText()}")

    def _level_chosen(self, value: int) -> None:
        edit = level_edit(self.project, value)
        if edit is not None:
            self._emit(*edit)
