"""The picture of a video larger than Full HD, decoded at preview size (core.video.frames) in a
thread.  QMediaPlayer decodes such a clip at full size and converts each 4K frame on the CPU;
it fell behind the audio clock, and the clock's catch-up seeks restarted its decoding, so a 4K
clip froze for seconds and then jumped to the end.  Here each tick shows the newest frame that
is due by the clock and drops the older ones: a slow stretch costs frames, never a freeze."""
from __future__ import annotations

import logging
import threading
from collections import deque

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from v2m_desktop.core.video.frames import FrameReader, preview_fps, preview_size

log = logging.getLogger("v2m_desktop.app")

# Larger than this (pixels a frame), a video previews through DecodedVideo.
LARGE = 1920 * 1080
AHEAD = 12          # frames decoded ahead of the clock (at 960x540, 1.5 MB each)
# The decoder this far behind the clock (a stall, a slow stretch): it starts again at the clock
# (at most once a second of the clock: where decoding is slower than real time, a restart
# each tick would show nothing).
CATCH_UP_S = 0.5


def is_large(width: int, height: int) -> bool:
    return width * height > LARGE


def to_image(rgb: np.ndarray) -> QImage:
    h, w, _ = rgb.shape
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class DecodedVideo(QObject):
    """cue(t) while paused: the picture at t is shown, and the frames from t are decoded ahead
    (so play starts without a wait); play(t) then tick(clock) while playing; cue(t) again on
    pause or seek.  `frame` carries each picture to show (a QImage), in the window's thread."""

    frame = Signal(object)
    _first = Signal(object, float, int)     # a cue's first picture and its time, from its thread

    def __init__(self, path: str, width: int, height: int, fps: float, parent=None):
        super().__init__(parent)
        self.path = path
        self.size = preview_size(width, height)
        self.fps = preview_fps(fps)
        self.shown = 0                  # pictures shown
        self.shown_at: float | None = None      # the time of the one on screen
        self._queue: deque[tuple[float, np.ndarray]] = deque()
        self._room = threading.Condition()
        self._reader: FrameReader | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._cue = 0                   # the current cue: an older one's picture is dropped
        self._cued_at: float | None = None
        self._playing = False
        self._restarted_at = -2.0       # the clock's time of the last catch-up restart
        self._first.connect(self._show_first)

    def cue(self, t: float) -> None:
        """Show the frame at `t` and decode on from there (a newer cue replaces it)."""
        self.stop()
        self._cue += 1
        self._cued_at, self._playing = t, False
        self._stopping = threading.Event()
        self._reader = FrameReader(self.path, t, self.size, self.fps)
        self._thread = threading.Thread(target=self._decode, args=(self._reader, self._stopping, self._cue),
                                        name="v2m-preview", daemon=True)
        self._thread.start()

    def _decode(self, reader: FrameReader, stopping: threading.Event, cue: int) -> None:
        try:
            for i, item in enumerate(reader.frames()):
                if i == 0:
                    self._first.emit(to_image(item[1]), item[0], cue)
                with self._room:
                    while len(self._queue) >= AHEAD and not stopping.is_set():
                        self._room.wait(0.1)
                    if stopping.is_set():
                        return
                    self._queue.append(item)
        except Exception:  # noqa: BLE001 - the preview may stop, the app may not
            log.exception("preview decoding failed")

    def _show_first(self, image: QImage, t: float, cue: int) -> None:
        if cue == self._cue and not self._playing:      # not replaced, not already playing on
            self._show(image, t)

    def play(self, t: float) -> None:
        """Play from `t`: the cued frames when the cue is there, else a new cue."""
        if self._reader is None or self._cued_at is None or abs(self._cued_at - t) > 0.5 / self.fps:
            self.cue(t)
            self._cued_at = t
        self._playing = True

    def tick(self, clock: float) -> None:
        """Show the newest decoded frame due by `clock` (half a frame early: the nearest one);
        the older ones are dropped, and a decoder far behind starts again at the clock."""
        due = None
        with self._room:
            while self._queue and self._queue[0][0] <= clock + 0.5 / self.fps:
                due = self._queue.popleft()
            newest = self._queue[-1][0] if self._queue else (due[0] if due else self.shown_at)
            self._room.notify()
        if due is not None:
            self._show(to_image(due[1]), due[0])
        if (newest is not None and clock - newest > CATCH_UP_S
                and not self._restarted_at <= clock < self._restarted_at + 1.0):
            self._restarted_at = clock
            self.play(clock)

    def stop(self) -> None:
        self._stopping.set()
        with self._room:
            self._queue.clear()
            self._room.notify_all()
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None
        self._cued_at, self._playing = None, False

    def _show(self, image: QImage, t: float) -> None:
        self.shown, self.shown_at = self.shown + 1, t
        self.frame.emit(image)

    def close(self) -> None:
        self._cue += 1
        self.stop()
