"""File > Export: the MP4 with the soundtrack, and optionally the MIDI, the WAV and the stems;
progress with Cancel; an existing file is replaced only after the user confirms; when done, an
offer to show the file in the file manager."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)


def side_paths(mp4: Path) -> dict[str, Path]:
    """The MIDI, WAV and stems folder that go with an MP4 path (same name, beside it)."""
    return {"midi": mp4.with_suffix(".mid"), "wav": mp4.with_suffix(".wav"),
            "stems": mp4.with_name(f"{mp4.stem} stems")}


class ExportDialog(QDialog):
    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("Export")
        self.setMinimumWidth(680)          # a whole path shows in the field
        video, project = session.video, session.project
        # beside a saved project (the user's own folder), else beside the video
        folder = project.path.parent if project is not None and project.path is not None else \
            (video.parent if video else Path())
        default = folder / f"{video.stem if video else 'video'} scored.mp4"
        self.path = QLineEdit(str(default))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self.browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        self.midi = QCheckBox("MIDI (.mid)")
        self.wav = QCheckBox("WAV (.wav)")
        self.stems = QCheckBox("Stems (a WAV per instrument, in a folder)")
        extras = session.settings.export_extras             # what the last export also wrote
        for kind, box in (("midi", self.midi), ("wav", self.wav), ("stems", self.stems)):
            box.setChecked(kind in extras)
        self.level = QSlider(Qt.Orientation.Horizontal)
        self.level.setRange(0, 100)
        self.level.setValue(round(100 * session.settings.original_level))
        self.level_label = QLabel()
        self.level.valueChanged.connect(lambda v: self.level_label.setText(f"{v} %"))
        self.level.valueChanged.emit(self.level.value())
        lrow = QHBoxLayout()
        lrow.addWidget(self.level, 1)
        lrow.addWidget(self.level_label)
        self.side_note = QLabel()
        self.side_note.setWordWrap(True)
        self.side_note.setEnabled(False)
        for w in (self.path,):
            w.textChanged.connect(self._describe)
        for box in (self.midi, self.wav, self.stems):
            box.toggled.connect(self._describe)

        form = QFormLayout()
        form.addRow("Video with music:", row)
        also = QWidget()
        alay = QVBoxLayout(also)
        alay.setContentsMargins(0, 0, 0, 0)
        for box in (self.midi, self.wav, self.stems):
            alay.addWidget(box)
        alay.addWidget(self.side_note)
        form.addRow("Also write:", also)
        form.addRow("Original sound under the music:", lrow)

        self.bar = QProgressBar()
        self.bar.setVisible(False)
        self.status = QLabel()
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.export_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.bar)
        lay.addWidget(self.status)
        lay.addWidget(self.buttons)
        self.confirm: QMessageBox | None = None
        self.done_box: QMessageBox | None = None
        self.folder_box: QMessageBox | None = None
        self.running = False
        session.progress.connect(self._progress)
        session.exported.connect(self._exported)
        session.failed.connect(self._failed)
        session.cancelled.connect(self._cancelled)
        self._describe()
        self.status.setText(self._subtitle_note(video))

    @staticmethod
    def _subtitle_note(video: Path | None) -> str:
        """Said before the export: the video's subtitles that an MP4 cannot hold."""
        from v2m_desktop.core.errors import V2MError
        from v2m_desktop.core.export import Subtitles
        try:
            return (Subtitles.of(video).note() or "") if video else ""
        except V2MError:            # the video is gone: the export says so
            return ""

    def browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export video with music", self.path.text(),
                                              "MP4 video (*.mp4)",
                                              options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.path.setText(path if path.lower().endswith(".mp4") else path + ".mp4")

    def mp4_path(self) -> Path:
        """The typed name, with .mp4 added when it has no suffix (as a save dialog adds one)."""
        path = Path(self.path.text().strip()).expanduser()
        return path.with_name(path.name + ".mp4") if path.name and not path.suffix else path

    def chosen(self) -> dict[str, Path]:
        """{kind: path} of what the dialog would write ({} while the name is empty)."""
        mp4 = self.mp4_path()
        if not self.path.text().strip() or not mp4.name or mp4.name in (".", ".."):
            return {}
        side = side_paths(mp4)
        out = {"mp4": mp4}
        for kind, box in (("midi", self.midi), ("wav", self.wav), ("stems", self.stems)):
            if box.isChecked():
                out[kind] = side[kind]
        return out

    def _describe(self) -> None:
        names = [p.name for k, p in self.chosen().items() if k != "mp4"]
        self.side_note.setText("beside it: " + ", ".join(names) if names else "")

    # -- run
    def start(self) -> None:
        if not self.chosen():
            self.status.setText("Give the exported video a file name.")
            return
        existing = [p for p in self.chosen().values() if p.exists()]
        if existing:
            self.confirm = QMessageBox(QMessageBox.Icon.Question, "Replace files?",
                                       "These exist already and will be replaced:\n"
                                       + "\n".join(str(p) for p in existing),
                                       QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
            self.confirm.button(QMessageBox.StandardButton.Yes).setText("Replace")
            self.confirm.finished.connect(self._confirmed)
            self.confirm.open()
            return
        self._run()

    def _confirmed(self, result: int) -> None:
        if result == QMessageBox.StandardButton.Yes:
            self._run()
        else:
            self.status.setText("Nothing was exported.")

    def _run(self) -> None:
        from v2m_desktop.core.pipeline import Outputs  # already imported by the generation
        paths = self.chosen()
        self.session.settings.export_extras = {k for k in ("midi", "wav", "stems") if k in paths}
        outputs = Outputs(mp4=paths["mp4"], midi=paths.get("midi"), wav=paths.get("wav"),
                          stems=paths.get("stems"), keep_original_audio=self.level.value() / 100)
        self.running = True
        self.export_button.setEnabled(False)
        self.bar.setVisible(True)
        self.bar.setValue(0)
        self.status.setText("Exporting…")
        self.session.export(outputs)

    def cancel(self) -> None:
        if self.running:
            self.session.cancel()
            self.status.setText("Cancelling…")
        else:
            self.reject()

    def _progress(self, stage: str, fraction: float) -> None:
        if self.running:
            self.bar.setValue(round(100 * fraction))
            self.status.setText(f"{stage.capitalize()}… {round(100 * fraction)} %")

    def _finish(self, text: str) -> None:
        self.running = False
        self.export_button.setEnabled(True)
        self.bar.setVisible(False)
        self.status.setText(text)

    def _exported(self, written: dict) -> None:
        if not self.running:
            return
        self._finish("Exported.")
        mp4 = Path(written.get("mp4") or next(iter(written.values())))
        music = self.session.music
        mixed = music.score.delivered if music is not None else None
        heard = [f"{what.capitalize()}: {said}" for what, said in mixed.summary()] if mixed else []
        self.done_box = QMessageBox(QMessageBox.Icon.Information, "Export finished",
                                    "Written:\n" + "\n".join(
                                        str(v[0].parent if isinstance(v, list) else v)
                                        for v in written.values()) + "".join(f"\n\n{h}" for h in heard),
                                    QMessageBox.StandardButton.Close, self)
        show = self.done_box.addButton("Show in Folder", QMessageBox.ButtonRole.ActionRole)
        show.clicked.connect(lambda: self.show_in_folder(mp4))
        self.done_box.finished.connect(self.accept)
        self.done_box.open()

    def show_in_folder(self, path: Path) -> None:
        """The file manager at the export's folder; where none is registered, the path to copy."""
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(path.parent))):
            self.folder_box = QMessageBox(QMessageBox.Icon.Information, "Show in Folder",
                                          f"No file manager is set up here. The video is in:\n{path.parent}",
                                          QMessageBox.StandardButton.Ok, self)
            self.folder_box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.folder_box.open()

    def _failed(self, title: str, message: str, unexpected: bool, job: str = "") -> None:
        if self.running:
            self._finish(f"Export failed: {message}")

    def _cancelled(self) -> None:
        if self.running:
            self._finish("Export cancelled: nothing was written.")
