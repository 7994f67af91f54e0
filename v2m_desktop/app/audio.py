"""Audio outputs for playback.  Each one is also the playback clock: its position is what the
listener hears now, and the picture follows it.

sounddevice where there is an output device, else QtMultimedia's audio sink, else a silent clock
(the picture plays without sound, and the app says so once).  Nothing here may crash the app:
every failure of an audio library falls back to the next output."""
from __future__ import annotations

import logging
import time

from PySide6.QtCore import QIODevice

log = logging.getLogger("v2m_desktop.app")


class Output:
    """A clock that plays a core.playback.Soundtrack (or nothing) from a given frame."""

    name = "silent"

    def __init__(self, soundtrack=None, sample_rate: int = 44100):
        self.soundtrack = soundtrack
        self.sample_rate = soundtrack.sample_rate if soundtrack is not None else sample_rate
        self._start = 0.0               # seconds at the last start / seek
        self._t0: float | None = None   # monotonic time of the last start, None while stopped

    def start(self, at: float) -> None:
        self._start, self._t0 = at, time.monotonic()

    def stop(self) -> None:
        self._start, self._t0 = self.position(), None

    def move_to(self, at: float) -> None:
        """Set the position while stopped (the next start plays from here)."""
        self._start = at

    def position(self) -> float:
        return self._start if self._t0 is None else self._start + time.monotonic() - self._t0

    def close(self) -> None:
        self.stop()


class SoundDeviceOutput(Output):
    name = "sounddevice"

    def __init__(self, soundtrack, sd):
        super().__init__(soundtrack)
        self._sd = sd
        self._frame = 0
        self._stream = None

    def _callback(self, outdata, frames, time_info, status) -> None:
        outdata[:] = self.soundtrack.read(self._frame, frames)
        self._frame += frames

    def start(self, at: float) -> None:
        self.stop()
        self._start = at
        self._frame = int(round(at * self.sample_rate))
        self._stream = self._sd.OutputStream(samplerate=self.sample_rate, channels=2, dtype="float32",
                                             callback=self._callback)
        self._stream.start()
        self._t0 = time.monotonic()

    def stop(self) -> None:
        if self._stream is not None:
            pos = self.position()
            try:
                self._stream.stop()
                self._stream.close()
            except Exception:  # noqa: BLE001 - a device that went away
                log.warning("could not stop the audio stream", exc_info=True)
            self._stream, self._start = None, pos
        self._t0 = None

    def position(self) -> float:
        if self._stream is None:
            return self._start
        try:     # what the device has taken, less what is still in its buffer
            heard = self._frame / self.sample_rate - float(self._stream.latency)
        except Exception:  # noqa: BLE001
            return super().position()
        return max(heard, self._start)


class _PullDevice(QIODevice):
    """QAudioSink pulls the soundtrack's bytes from here."""

    def __init__(self, soundtrack, frame: int):
        super().__init__()
        self.soundtrack, self.frame = soundtrack, frame

    def readData(self, maxlen: int):  # noqa: N802 - Qt's name
        frames = max(int(maxlen) // 8, 0)
        block = self.soundtrack.read(self.frame, frames)
        self.frame += frames
        return block.tobytes()

    def writeData(self, data) -> int:  # noqa: N802
        return -1

    def bytesAvailable(self) -> int:  # noqa: N802
        return 1 << 20

    def isSequential(self) -> bool:  # noqa: N802
        return True


class QtAudioOutput(Output):
    name = "QtMultimedia"

    def __init__(self, soundtrack, device):
        super().__init__(soundtrack)
        from PySide6.QtMultimedia import QAudioFormat
        self._device = device
        fmt = QAudioFormat()
        fmt.setSampleRate(self.sample_rate)
        fmt.setChannelCount(2)
        fmt.setSampleFormat(QAudioFormat.SampleFormat.Float)
        self._format = fmt
        self._sink = None
        self._pull = None

    def start(self, at: float) -> None:
        from PySide6.QtMultimedia import QAudioSink
        self.stop()
        self._start = at
        self._pull = _PullDevice(self.soundtrack, int(round(at * self.sample_rate)))
        self._pull.open(QIODevice.OpenModeFlag.ReadOnly)
        self._sink = QAudioSink(self._device, self._format)
        self._sink.start(self._pull)
        self._t0 = time.monotonic()

    def stop(self) -> None:
        if self._sink is not None:
            pos = self.position()
            self._sink.stop()
            self._sink, self._pull, self._start = None, None, pos
        self._t0 = None

    def position(self) -> float:
        if self._sink is None:
            return self._start
        return self._start + self._sink.processedUSecs() / 1e6


def open_output(soundtrack) -> tuple[Output, str | None]:
    """The best output for `soundtrack` (None: a silent clock), and a message for the user when
    the sound cannot be heard."""
    if soundtrack is None:
        return Output(), None
    try:
        import sounddevice as sd  # raises OSError without PortAudio
        sd.query_devices(kind="output")     # raises without an output device
        return SoundDeviceOutput(soundtrack, sd), None
    except Exception as err:  # noqa: BLE001 - no PortAudio, no device: try Qt's output
        log.info("sounddevice unavailable: %s", err)
    try:
        from PySide6.QtMultimedia import QMediaDevices
        device = QMediaDevices.defaultAudioOutput()
        if not device.isNull():
            return QtAudioOutput(soundtrack, device), None
    except Exception as err:  # noqa: BLE001
        log.info("QtMultimedia audio unavailable: %s", err)
    return Output(soundtrack), "No audio output device: the picture plays without sound"

