"""Frames of a video at preview size, for playback: decoded and scaled by an ffmpeg child, so a
4K clip costs the preview a 640x360 picture per frame, not a 4K one converted and scaled by the
window.  Frames come at a constant rate from a start time (VFR input is sampled at that rate),
so each one's time is known without reading timestamps."""
from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import ExitStack

import numpy as np

from v2m_desktop.core.cleanup import child
from v2m_desktop.core.files import ffmpeg_exe, media_url

# The largest picture a preview needs (the window's video area is about this or smaller).
PREVIEW_BOX = (960, 540)
# The preview shows at most this many frames a second (a 60-fps clip previews at 30).
PREVIEW_FPS = 30.0


def preview_size(width: int, height: int, box: tuple[int, int] = PREVIEW_BOX) -> tuple[int, int]:
    """(w, h) that fits `box` with the picture's aspect (never larger than the picture), even."""
    s = min(box[0] / max(width, 1), box[1] / max(height, 1), 1.0)
    return max(2, int(width * s) // 2 * 2), max(2, int(height * s) // 2 * 2)


def preview_fps(fps: float) -> float:
    return min(float(fps) if fps and fps > 0 else 25.0, PREVIEW_FPS)


class FrameReader:
    """`frames()` yields (seconds, RGB uint8 [h, w, 3]) from `start` on, `fps` a second, at
    `size`; `close()` ends the decoder (from any thread)."""

    def __init__(self, path, start: float, size: tuple[int, int], fps: float, count: int | None = None):
        self.size, self.fps, self.start = size, float(fps), max(0.0, float(start))
        w, h = size
        cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error",
               # speed over exactness: the deblocking of frames shown small is not seen
               "-skip_loop_filter", "all", "-flags2", "fast",
               "-ss", f"{self.start:.3f}", "-i", media_url(path), "-map", "0:v:0", "-an", "-sn",
               "-vf", f"fps={self.fps:.6f},scale={w}:{h}:flags=fast_bilinear",
               *(["-frames:v", str(count)] if count else []),
               "-pix_fmt", "rgb24", "-f", "rawvideo", "pipe:1"]
        self._stack = ExitStack()
        self.proc = self._stack.enter_context(
            child(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL))

    def frames(self) -> Iterator[tuple[float, np.ndarray]]:
        w, h = self.size
        n = w * h * 3
        out = self.proc.stdout
        assert out is not None          # stdout=PIPE
        i = 0
        while True:
            try:
                data = out.read(n)
            except (OSError, ValueError):       # closed from another thread
                return
            if not data or len(data) < n:
                return
            yield self.start + i / self.fps, np.frombuffer(data, np.uint8).reshape(h, w, 3)
            i += 1

    def close(self) -> None:
        self._stack.close()             # the child ended and waited for, its pipe closed
