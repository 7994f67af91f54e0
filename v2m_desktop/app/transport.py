"""The transport bar under the video: Play, the time, the original sound's level and a line about
the video and its music."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QSlider, QStyle, QToolBar, QWidget

from v2m_desktop.app.timeline.lanes import format_time


class Transport(QToolBar):
    def __init__(self, level: float, parent: QWidget | None = None):
        super().__init__("Transport", parent)
        self.setObjectName("transport")
        self.play_button = QPushButton(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Play")
        self.play_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.time_label = QLabel("0:00.0 / 0:00.0")
        self.time_label.setMinimumWidth(130)
        self.level = QSlider(Qt.Orientation.Horizontal)
        self.level.setRange(0, 100)
        self.level.setFixedWidth(120)
        self.level.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.level.setValue(round(100 * level))
        self.level.setToolTip("Level of the video's own sound under the music")
        self.info_label = QLabel()
        for w in (self.play_button, self.time_label, None, QLabel(" Original sound "), self.level, None,
                  self.info_label):
            self.addSeparator() if w is None else self.addWidget(w)

    def show_time(self, t: float, duration: float) -> None:
        self.time_label.setText(f"{format_time(t, 0.1)} / {format_time(duration, 0.1)}")

    def show_playing(self, on: bool) -> None:
        self.play_button.setText("Pause" if on else "Play")
        self.play_button.setIcon(self.style().standardIcon(
            QStyle.StandardPixmap.SP_MediaPause if on else QStyle.StandardPixmap.SP_MediaPlay))

    def show_level(self, level: float) -> None:
        """The project's level, without sending it back as a change."""
        if self.level.value() != round(100 * level):
            self.level.blockSignals(True)
            self.level.setValue(round(100 * level))
            self.level.blockSignals(False)
