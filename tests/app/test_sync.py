"""The picture follows the audio clock: over a 3-minute video the two stay within one frame,
with a video whose own clock runs off by 0.3 % and reports only whole frames (a fake clock and a
fake video player, the same VideoSync the Player uses)."""
from __future__ import annotations

import math

import pytest

from v2m_desktop.app.sync import VideoSync


class FakeVideo:
    """A player that shows frame floor(t * fps), its clock `skew` off the audio's."""

    def __init__(self, fps, skew):
        self.fps, self.skew, self.t, self.rate = fps, skew, 0.0, 1.0

    def advance(self, dt):
        self.t += dt * self.rate * (1 + self.skew)

    def position(self):
        return math.floor(self.t * self.fps + 1e-9) / self.fps


@pytest.mark.parametrize("fps,skew", [(24, 0.003), (30, -0.003), (25, 0.0)])
def test_picture_stays_within_a_frame_of_the_audio_for_three_minutes(fps, skew):
    sync = VideoSync(fps)
    video = FakeVideo(fps, skew)
    audio, tick, worst, seeks = 0.0, 0.015, 0.0, 0
    while audio < 180.0:
        audio += tick
        video.advance(tick)
        c = sync.correct(audio, video.position())
        if c.seek is not None:
            video.t, seeks = c.seek, seeks + 1
        video.rate = c.rate
        worst = max(worst, abs(audio - video.t))
    assert worst < 1.0 / fps
    assert seeks == 0                   # steady drift is absorbed by the rate, not by jumps


def test_a_stalled_picture_is_put_back_by_a_seek():
    sync = VideoSync(24)
    c = sync.correct(10.0, 9.5)         # the decoder fell half a second behind
    assert c.seek == pytest.approx(10.0) and c.rate == 1.0
    c = sync.correct(10.0, 10.0 - 0.5 / 24)
    assert c.seek is None and c.rate == pytest.approx(1.0)
