"""Keeping the picture on the audio clock (pure logic, tested with a fake clock).

The audio clock leads; the video follows.  Small drift is absorbed by nudging the video's
playback rate (no visible jump), a large one (a stall, a late start) by seeking the video."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Correction:
    rate: float                     # the video's playback rate from now on
    seek: float | None = None       # seek the video here first (seconds), or None


class VideoSync:
    """`correct(clock, video)` each tick while playing.  `video` is the player's reported position:
    the start of the frame on screen, so the frame's middle is compared with the clock."""

    def __init__(self, fps: float, gain: float = 0.8, max_nudge: float = 0.05, seek_frames: float = 1.5):
        self.frame = 1.0 / max(float(fps), 1.0)
        self.gain, self.max_nudge = gain, max_nudge
        self.seek_after = seek_frames * self.frame
        self.rate = 1.0

    def reset(self) -> None:
        self.rate = 1.0

    def correct(self, clock: float, video: float) -> Correction:
        drift = clock - (video + 0.5 * self.frame)         # > 0: the picture is late
        if abs(drift) > self.seek_after:
            self.rate = 1.0
            return Correction(1.0, seek=clock)
        nudge = min(max(self.gain * drift, -self.max_nudge), self.max_nudge)
        self.rate = 1.0 + nudge
        return Correction(self.rate)
