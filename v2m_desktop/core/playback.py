"""Live playback's sound: the rendered music with the video's own sound mixed under it at a level
that may change while playing, read a block at a time from any position (the audio callback's
side of `export_mp4`'s mix)."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from v2m_desktop.core.export import check_original_level, decode_audio, fit_length, stereo
from v2m_desktop.core.mix import duck_gain


class Soundtrack:
    """Stereo float32 frames at `sample_rate`: music, plus the original sound at `level`."""

    def __init__(self, music: np.ndarray, sample_rate: int, original: np.ndarray | None = None,
                 level: float = 0.0):
        self.sample_rate = int(sample_rate)
        self.music = np.ascontiguousarray(stereo(music), dtype=np.float32)
        self.original = None if original is None else \
            fit_length(stereo(original), len(self.music)).astype(np.float32, copy=False)
        self._level = check_original_level(level)
        self._duck: tuple[list, float] = ([], 0.0)
        self._gain = 1.0                     # the delivery's loudness gain (core.mix.delivery_gain)
        self._lock = threading.Lock()        # the audio callback reads while the GUI sets the level

    @classmethod
    def for_video(cls, music: np.ndarray, sample_rate: int, video: Path, duration: float,
                  has_sound: bool, level: float = 0.0) -> Soundtrack:
        """The music, with the video's sound decoded for mixing when it has any."""
        original = decode_audio(Path(video), sample_rate, duration) if has_sound else None
        return cls(music, sample_rate, original, level)

    @property
    def frames(self) -> int:
        return len(self.music)

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate

    @property
    def has_original(self) -> bool:
        return self.original is not None

    @property
    def level(self) -> float:
        return self._level

    @level.setter
    def level(self, value: float) -> None:
        with self._lock:
            self._level = check_original_level(value)

    def duck(self, spans, depth_db: float) -> None:
        """The music ducks `depth_db` under `spans` (core.mix.duck_spans) while the original
        sound plays, as the export mixes it."""
        with self._lock:
            self._duck = (list(spans), float(depth_db))

    @property
    def gain(self) -> float:
        return self._gain

    @gain.setter
    def gain(self, value: float) -> None:
        """The gain on the whole mix: the delivery's (core.mix.delivery_gain), so that playback
        is as loud as the export (whose limiter keeps its true peak under -1 dBTP; here the sum
        is clipped at full scale)."""
        with self._lock:
            self._gain = float(value)

    def read(self, start: int, count: int) -> np.ndarray:
        """Frames [start, start + count) as float32 [count, 2], silence past either end, the sum
        kept within [-1, 1]."""
        out = np.zeros((count, 2), dtype=np.float32)
        lo, hi = max(start, 0), min(start + count, self.frames)
        if hi <= lo:
            return out
        dst = slice(lo - start, hi - start)
        out[dst] = self.music[lo:hi]
        with self._lock:
            level, (spans, depth), gain = self._level, self._duck, self._gain
        if level > 0 and self.original is not None:
            if spans and depth > 0:
                out[dst] *= duck_gain(spans, depth, self.sample_rate, hi - lo, lo)[:, None]
            out[dst] += level * self.original[lo:hi]
        if gain != 1.0:
            out *= np.float32(gain)
        if gain != 1.0 or level > 0:
            np.clip(out, -1.0, 1.0, out=out)
        return out
