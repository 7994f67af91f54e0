"""Playback: the video (QMediaPlayer into a QVideoSink drawn by VideoView) and the soundtrack
(an audio output that is also the clock).  The audio clock leads; the picture and the playhead
follow it.  Pause, seek and loop move both."""
from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QRectF, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtMultimedia import QMediaPlayer, QVideoSink
from PySide6.QtWidgets import QSizePolicy, QWidget

from v2m_desktop.app.audio import Output, open_output
from v2m_desktop.app.preview import DecodedVideo, is_large
from v2m_desktop.app.sync import VideoSync

log = logging.getLogger("v2m_desktop.app")


class VideoView(QWidget):
    """Draws the sink's latest frame, letterboxed on black; a hint when there is no video."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.sink = QVideoSink(self)
        self.sink.videoFrameChanged.connect(self._frame)
        self.image: QImage | None = None
        self.hint = "Open a video: File > Open (Ctrl+O), or drop one here"
        self.setMinimumSize(320, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def _frame(self, frame) -> None:
        if frame.isValid():
            self.show_image(frame.toImage())

    def show_image(self, image: QImage) -> None:
        self.image = image
        self.update()

    def clear(self) -> None:
        self.image = None
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("black"))
        if self.image is not None and not self.image.isNull():
            iw, ih = self.image.width(), self.image.height()
            s = min(self.width() / iw, self.height() / ih)
            w, h = iw * s, ih * s
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            p.drawImage(QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h), self.image)
        elif self.hint:
            p.setPen(QColor("#bbbbbb"))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.hint)
        p.end()


class Player(QObject):
    positionChanged = Signal(float)
    playingChanged = Signal(bool)
    notice = Signal(str)            # something the user should know once (no audio device)

    TICK_MS = 15

    def __init__(self, view: VideoView, output_factory=open_output, parent=None):
        super().__init__(parent)
        self.view = view
        self.media = QMediaPlayer(self)
        self.media.setVideoSink(view.sink)
        self.media.errorOccurred.connect(self._media_error)
        self.output_factory = output_factory
        self.output: Output = Output()
        self.soundtrack = None
        self.duration = 0.0
        self.fps = 25.0
        self.sync = VideoSync(self.fps)
        self.loop: tuple[float, float] | None = None
        self.decoded: DecodedVideo | None = None      # a video larger than Full HD: see app.preview
        self.playing = False
        self._told: set[str] = set()
        self.timer = QTimer(self)
        self.timer.setInterval(self.TICK_MS)
        self.timer.timeout.connect(self.tick)

    # -- content
    def set_video(self, path: str | None, duration: float = 0.0, fps: float = 25.0,
                  size: tuple[int, int] = (0, 0)) -> None:
        """`size`: the displayed width and height (a large video is decoded at preview size)."""
        self.pause()
        self.duration, self.fps = float(duration), float(fps or 25.0)
        self.sync = VideoSync(self.fps)
        self.loop = None
        self.view.clear()
        if self.decoded is not None:
            self.decoded.close()
            self.decoded = None
        if path and is_large(*size):
            self.decoded = DecodedVideo(str(path), *size, self.fps, self)
            self.decoded.frame.connect(self.view.show_image)
            self.media.setSource(QUrl())
        else:
            self.media.setSource(QUrl.fromLocalFile(str(path)) if path else QUrl())
        self.set_soundtrack(None)
        if path:
            self.seek(0.0)

    def set_soundtrack(self, soundtrack) -> None:
        """A core.playback.Soundtrack (None: the picture alone); keeps the position."""
        was_playing, pos = self.playing, self.position()
        self.pause()
        self.output.close()
        self.soundtrack = soundtrack
        try:
            self.output, message = self.output_factory(soundtrack)
        except Exception:  # noqa: BLE001 - nothing about audio may crash the app
            log.exception("audio output failed")
            self.output, message = Output(soundtrack), "Audio output failed: playing without sound"
        if message:
            self._tell(message)
        self.output.move_to(pos)
        if was_playing:
            self.play()

    def set_original_level(self, level: float) -> None:
        if self.soundtrack is not None:
            self.soundtrack.level = level

    # -- transport
    def position(self) -> float:
        return self.output.position()

    def play(self) -> None:
        if self.playing or self.duration <= 0:
            return
        pos = self.position()
        if pos >= self.duration - 1e-3:
            pos = self.loop[0] if self.loop else 0.0
        self._start_at(pos)
        self.playing = True
        self.timer.start()
        self.playingChanged.emit(True)

    def _start_at(self, pos: float) -> None:
        if self.decoded is not None:
            self.decoded.play(pos)
        else:
            self.sync.reset()
            self.media.setPlaybackRate(1.0)
            self.media.setPosition(int(round(pos * 1000)))
        try:
            self.output.start(pos)
        except Exception:  # noqa: BLE001 - a device that fails or went away: play silently
            log.exception("audio output %s failed to start", self.output.name)
            self.output = Output(self.soundtrack)
            self.output.start(pos)
            self._tell("The sound device failed: playing without sound")
        if self.decoded is None:
            self.media.play()

    def _tell(self, message: str) -> None:
        if message not in self._told:
            self._told.add(message)
            self.notice.emit(message)

    def pause(self) -> None:
        if not self.playing:
            return
        self.playing = False
        self.timer.stop()
        self.output.stop()
        pos = self.position()
        if self.decoded is not None:
            self.decoded.cue(pos)
        else:
            self.media.pause()
            self.media.setPosition(int(round(pos * 1000)))
        self.positionChanged.emit(pos)
        self.playingChanged.emit(False)

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def seek(self, t: float) -> None:
        t = min(max(float(t), 0.0), self.duration)
        if self.playing:
            self._start_at(t)
        else:
            self.output.move_to(t)
            if self.decoded is not None:
                self.decoded.cue(t)
            else:
                self.media.setPosition(int(round(t * 1000)))
                if self.media.playbackState() != QMediaPlayer.PlaybackState.PausedState:
                    self.media.pause()      # shows the frame at t
        self.positionChanged.emit(t)

    def seek_end(self) -> None:
        self.seek(self.duration)

    def step(self, seconds: float) -> None:
        self.seek(self.position() + seconds)

    def step_frames(self, n: int) -> None:
        self.pause()
        self.seek(self.position() + n / self.fps)

    def set_loop(self, span: tuple[float, float] | None) -> None:
        self.loop = span

    # -- the clock's tick: the picture follows the audio
    def tick(self) -> None:
        t = self.output.position()
        if self.loop and t >= self.loop[1]:
            self._start_at(self.loop[0])
            t = self.loop[0]
        elif t >= self.duration:
            self.pause()
            self.seek(self.duration)
            return
        if self.decoded is not None:
            self.decoded.tick(t)
        elif self.media.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            c = self.sync.correct(t, self.media.position() / 1000.0)
            if c.seek is not None:
                self.media.setPosition(int(round(c.seek * 1000)))
            if abs(self.media.playbackRate() - c.rate) > 1e-3:
                self.media.setPlaybackRate(c.rate)
        self.positionChanged.emit(t)

    def _media_error(self, error, text: str) -> None:
        log.warning("video playback: %s", text)
        self._tell(f"Video playback problem: {text}")

    def close(self) -> None:
        self.pause()
        self.output.close()
        self.media.stop()
        if self.decoded is not None:
            self.decoded.close()
