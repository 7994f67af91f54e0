"""Preferences: device, CLIP weights (with a button that fetches them), SoundFont (from the banks
found on the system, or any file), default
instruments, theme and the original sound's level, kept with QSettings."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSlider,
    QWidget,
)

from v2m_desktop.app.dialogs import form_with_ok_cancel
from v2m_desktop.app.settings import DEVICES, INSTRUMENTS, THEMES, AppSettings
from v2m_desktop.app.worker import Worker


class SettingsDialog(QDialog):
    def __init__(self, settings: AppSettings, parent=None):
        super().__init__(parent)
        self.settings = settings
        self.setWindowTitle("Preferences")
        self.setMinimumWidth(520)
        self.device = QComboBox()
        self.device.addItems(["Automatic (GPU when there is one)", "CPU", "CUDA GPU"])
        self.device.setCurrentIndex(DEVICES.index(settings.device))

        self.clip = QLineEdit(settings.clip_folder)
        self.clip.setPlaceholderText("none: basic vision (no CLIP semantics)")
        clip_browse = QPushButton("Browse…")
        clip_browse.clicked.connect(lambda: self._folder(self.clip, "CLIP weights folder"))
        self.fetch = QPushButton("Fetch")
        self.fetch.setToolTip("Download the CLIP weights (about 1.7 GB) from the Hugging Face hub")
        self.fetch.clicked.connect(self.fetch_clip)
        self.fetch_bar = QProgressBar()
        self.fetch_bar.setVisible(False)
        self.fetch_status = QLabel()
        self.fetch_status.setWordWrap(True)
        clip_row = QHBoxLayout()
        clip_row.addWidget(self.clip, 1)
        clip_row.addWidget(clip_browse)
        clip_row.addWidget(self.fetch)

        self.soundfont = QComboBox()        # the banks found on the system (data: the path)
        self._list_soundfonts(settings.soundfont)
        sf_browse = QPushButton("Browse…")
        sf_browse.clicked.connect(self._soundfont)
        sf_row = QHBoxLayout()
        sf_row.addWidget(self.soundfont, 1)
        sf_row.addWidget(sf_browse)

        inst = QWidget()
        ilay = QHBoxLayout(inst)
        ilay.setContentsMargins(0, 0, 0, 0)
        self.instrument_boxes = {}
        for name in INSTRUMENTS:
            box = QCheckBox(name)
            box.setChecked(name in settings.instruments)
            ilay.addWidget(box)
            self.instrument_boxes[name] = box
        ilay.addStretch(1)

        self.theme = QComboBox()
        self.theme.addItems(["Follow the system", "Dark", "Light"])
        self.theme.setCurrentIndex(THEMES.index(settings.theme))

        self.level = QSlider(Qt.Orientation.Horizontal)
        self.level.setRange(0, 100)
        self.level.setValue(round(100 * settings.original_level))

        form = QFormLayout()
        form.addRow("Run the chord model on:", self.device)
        form.addRow("CLIP weights:", clip_row)
        form.addRow("", self.fetch_bar)
        form.addRow("", self.fetch_status)
        form.addRow("SoundFont:", sf_row)
        form.addRow("Instruments:", inst)
        form.addRow("Theme:", self.theme)
        form.addRow("Original sound level:", self.level)
        form_with_ok_cancel(self, form)
        self.worker: Worker | None = None

    def _folder(self, edit: QLineEdit, title: str) -> None:
        path = QFileDialog.getExistingDirectory(self, title, edit.text())
        if path:
            edit.setText(path)

    def _list_soundfonts(self, chosen: str) -> None:
        """The default bank (an empty setting: whichever core.soundfonts finds), then every bank
        in the bundle and the usual system folders, and the chosen one where it is elsewhere."""
        from v2m_desktop.core.soundfonts import default_soundfont, installed
        self.soundfont.addItem(f"Default: {default_soundfont().name}", "")
        for path in installed():
            self.add_soundfont(str(path))
        self.soundfont.setCurrentIndex(self.add_soundfont(chosen) if chosen else 0)

    def add_soundfont(self, path: str) -> int:
        """The list's row of the bank at `path` (added when it is not there yet)."""
        row = self.soundfont.findData(path)
        if row < 0:
            p = Path(path)
            self.soundfont.addItem(f"{p.name} ({p.parent})", path)
            row = self.soundfont.count() - 1
            self.soundfont.setItemData(row, path, Qt.ItemDataRole.ToolTipRole)
        return row

    def _soundfont(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "SoundFont", self.soundfont.currentData() or "",
                                              "SoundFont (*.sf2 *.sf3)")
        if path:
            self.soundfont.setCurrentIndex(self.add_soundfont(path))

    def fetch_clip(self) -> None:
        def job(progress):
            from v2m_desktop.core.video.vision import fetch_clip
            return str(fetch_clip(progress=progress))
        self.fetch.setEnabled(False)
        self.fetch_bar.setVisible(True)
        self.fetch_bar.setValue(0)
        self.fetch_status.setText("Downloading the CLIP weights…")
        self.worker = Worker(job, "fetch CLIP", self)
        self.worker.progress.connect(lambda _s, f: self.fetch_bar.setValue(round(100 * f)))
        self.worker.succeeded.connect(self._fetched)
        self.worker.failed.connect(lambda msg, _bug: self._fetch_done(f"Could not fetch: {msg}"))
        self.worker.cancelled.connect(lambda: self._fetch_done("Download cancelled"))
        self.worker.start()

    def _fetched(self, path: str) -> None:
        self.clip.setText(path)
        self._fetch_done("The CLIP weights are on disk; the next analysis uses them.")

    def _fetch_done(self, text: str) -> None:
        self.fetch.setEnabled(True)
        self.fetch_bar.setVisible(False)
        self.fetch_status.setText(text)

    def done(self, result: int) -> None:
        if self.worker is not None and self.worker.isRunning():
            self.worker.cancel()
            self.worker.wait(2000)
        super().done(result)

    def accept(self) -> None:
        s = self.settings
        s.device = DEVICES[self.device.currentIndex()]
        s.clip_folder = self.clip.text().strip()
        s.soundfont = str(self.soundfont.currentData() or "")
        s.instruments = tuple(n for n, b in self.instrument_boxes.items() if b.isChecked()) or INSTRUMENTS
        s.theme = THEMES[self.theme.currentIndex()]
        s.original_level = self.level.value() / 100
        s.sync()
        super().accept()
