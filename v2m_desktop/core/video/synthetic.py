"""Synthetic test videos with known cuts and motion (tests and the demo command).

Each shot is a vertical colour gradient of its own hue and brightness with a disc and a square
moving across it at constant speed, so the frame-to-frame motion of a shot is set by its speed and
the change of background at each cut is a hard cut that PySceneDetect's detectors see. An optional
title is drawn (static) in the top-left corner. The file is H.264 (ffmpeg, the system one or the
one that comes with imageio-ffmpeg), or MPEG-4 part 2 (`mp4v`, OpenCV) when no ffmpeg can encode.
"""
from __future__ import annotations

import math
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np

from v2m_desktop.core.files import ffmpeg_exe

# (hue 0-179, saturation, value) of successive shots: neighbours differ in hue and brightness.
_PALETTE = [(105, 190, 200), (15, 210, 235), (60, 170, 120), (150, 160, 215), (28, 90, 70),
            (90, 200, 240), (0, 200, 150), (125, 120, 95), (40, 220, 250), (170, 130, 60)]
_DEFAULT_SPEEDS = (2.0, 6.0, 1.0, 10.0, 4.0, 0.5, 8.0, 3.0)


def _hsv_to_bgr(h: float, s: float, v: float) -> np.ndarray:
    px = np.array([[[h % 180, np.clip(s, 0, 255), np.clip(v, 0, 255)]]], dtype=np.uint8)
    return cv2.cvtColor(px, cv2.COLOR_HSV2BGR)[0, 0].astype(np.float32)


def _background(w: int, h: int, hsv: tuple[int, int, int]) -> np.ndarray:
    top = _hsv_to_bgr(*hsv)
    bottom = _hsv_to_bgr(hsv[0] + 12, hsv[1], hsv[2] * 0.45)
    a = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    img = (1 - a) * top + a * bottom
    # a soft horizontal vignette so the picture is not flat
    x = np.linspace(-1.0, 1.0, w, dtype=np.float32)[None, :, None]
    img = img * (1.0 - 0.18 * x * x)
    return np.broadcast_to(img, (h, w, 3)).clip(0, 255).astype(np.uint8)


def _shot_bounds(n_frames: int, cut_frames: list[int]) -> list[tuple[int, int]]:
    edges = [0, *cut_frames, n_frames]
    return [(edges[i], edges[i + 1]) for i in range(len(edges) - 1)]


def _draw_frame(bg: np.ndarray, hsv: tuple[int, int, int], speed: float, j: int,
                title: str | None, scale: float) -> np.ndarray:
    h, w = bg.shape[:2]
    img = bg.copy()
    r = max(3, int(round(h / 6)))
    fg = tuple(int(c) for c in _hsv_to_bgr(hsv[0] + 90, 60, 255 if hsv[2] < 160 else 40))
    span = w + 2 * r
    x = int(round((w * 0.3 + speed * scale * j) % span)) - r
    y = h // 2 + r // 2
    cv2.circle(img, (x, y), r, fg, -1, lineType=cv2.LINE_AA)
    # a smaller square at half the speed, moving the other way
    s = max(2, r // 2)
    xs = int(round((w * 0.8 - 0.5 * speed * scale * j) % (w + 2 * s))) - s
    ys = h // 4 + s
    col2 = tuple(int(c) for c in _hsv_to_bgr(hsv[0] + 45, 200, 230))
    cv2.rectangle(img, (xs - s, ys - s), (xs + s, ys + s), col2, -1, lineType=cv2.LINE_AA)
    if title:
        fs = max(0.3, h / 300)
        th = max(1, int(round(h / 240)))
        org = (max(2, w // 40), max(10, int(h * 0.09)))
        cv2.putText(img, title, (org[0] + 1, org[1] + 1), cv2.FONT_HERSHEY_SIMPLEX, fs, (0, 0, 0), th + 1,
                    cv2.LINE_AA)
        cv2.putText(img, title, org, cv2.FONT_HERSHEY_SIMPLEX, fs, (255, 255, 255), th, cv2.LINE_AA)
    return img


def make_test_video(path: str | Path, seconds: float, fps: float = 24, size: tuple[int, int] = (160, 120),
                    cuts: Sequence[float] = (), motion_levels: float | Sequence[float] | None = None,
                    with_audio: bool = False, title: str | None = None, codec: str = "auto",
                    texture: bool = False, palette: Sequence[tuple[int, int, int]] | None = None
                    ) -> list[int]:
    """Write a video of `seconds` s at `fps` and `size` = (width, height) with hard cuts at the
    times in `cuts` (seconds) and return the cut frame indices (first frame of each new shot,
    round(t * fps)).

    `motion_levels`: speed of the moving shapes of each shot in pixels per frame at 160 px width
    (scaled with the width): one number for all shots or one per shot (len(cuts) + 1), cycled if
    shorter. Default: 2, 6, 1, 10, 4, 0.5, 8, 3, ... 0 gives a still shot.
    `texture` lays a grainy texture that moves with the shot over the picture, so the clip costs
    what real footage costs to encode and decode (for benchmarks; flat pictures decode at
    thousands of frames a second).
    `palette`: (hue 0-179, saturation, value) of each shot, cycled (default: a fixed palette whose
    neighbours differ in hue and brightness).
    `with_audio` adds a quiet stereo AAC tone (needs ffmpeg). `codec`: "auto" (H.264 through ffmpeg
    if it can, else mp4v), "h264" or "mp4v".

    Note for detection: PySceneDetect's detectors (min_scene_len 15 frames) cannot report a cut in
    the first 15 frames, within 15 frames of the previous cut, or in the last 2 frames.
    """
    path = Path(path)
    w, h = int(size[0]), int(size[1])
    if w % 2 or h % 2:
        raise ValueError("width and height must be even")
    n_frames = max(1, int(round(seconds * fps)))
    cut_frames = sorted({int(round(c * fps)) for c in cuts if 0 < int(round(c * fps)) < n_frames})
    shots = _shot_bounds(n_frames, cut_frames)
    if motion_levels is None:
        speeds = [_DEFAULT_SPEEDS[i % len(_DEFAULT_SPEEDS)] for i in range(len(shots))]
    elif isinstance(motion_levels, (int, float)):
        speeds = [float(motion_levels)] * len(shots)
    else:
        levels = list(motion_levels)
        speeds = [float(levels[i % len(levels)]) for i in range(len(shots))]
    scale = w / 160.0

    ffmpeg = ffmpeg_exe(required=False) if codec in ("auto", "h264") else None
    if codec == "h264" and ffmpeg is None:
        raise RuntimeError("no ffmpeg found to encode H.264")
    if with_audio and ffmpeg is None:
        raise RuntimeError("no ffmpeg found to add an audio track")
    path.parent.mkdir(parents=True, exist_ok=True)

    rng = np.random.default_rng(0)
    colours = list(palette) if palette else _PALETTE

    def frames() -> Iterator[np.ndarray]:
        for k, (a, b) in enumerate(shots):
            hue, sat, val = colours[k % len(colours)]
            hsv = (hue, sat, val)
            bg = _background(w, h, hsv)
            grain = rng.integers(-40, 41, (h, 2 * w, 3), dtype=np.int16) if texture else None
            for j in range(b - a):
                base = bg
                if grain is not None:
                    off = int(speeds[k] * scale * j) % w
                    base = (bg + grain[:, off:off + w]).clip(0, 255).astype(np.uint8)
                yield _draw_frame(base, hsv, speeds[k], j, title, scale)

    if ffmpeg is not None:
        cmd = [ffmpeg, "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{w}x{h}",
               "-r", f"{fps}", "-i", "-"]
        if with_audio:
            dur = n_frames / fps
            cmd += ["-f", "lavfi", "-i", f"sine=frequency=220:sample_rate=44100:duration={dur:.6f}"]
        cmd += ["-map", "0:v:0", "-c:v", "libx264", "-preset", "veryfast", "-crf", "18",
                "-pix_fmt", "yuv420p", "-g", str(max(1, int(math.ceil(fps * 2))))]
        if with_audio:
            cmd += ["-map", "1:a:0", "-c:a", "aac", "-b:a", "64k", "-ac", "2", "-af", "volume=0.2"]
        cmd += [str(path)]
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdin is not None and proc.stderr is not None      # both asked as pipes
        try:
            for img in frames():
                proc.stdin.write(img.tobytes())
            proc.stdin.close()
        except BrokenPipeError:
            pass
        err = proc.stderr.read().decode("utf-8", "replace")
        proc.stderr.close()
        if proc.wait() == 0:
            return cut_frames
        if codec == "h264" or with_audio:
            raise RuntimeError(f"ffmpeg could not write {path.name}: {err.strip()[-300:]}")
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), float(fps), (w, h))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {path.name}")
    try:
        for img in frames():
            writer.write(img)
    finally:
        writer.release()
    return cut_frames


# The mood clips of the music benchmark and tests: calm = dark, cool, slow, long shots; energetic
# = bright, warm, fast, a cut every 2-3 s (irregular, so no single tempo fits them all).
_CALM = dict(palette=[(112, 150, 70), (100, 130, 55), (120, 110, 80)], shot=(12.0, 10.5, 13.0), speed=0.5)
_ENERGETIC = dict(palette=[(12, 230, 250), (25, 210, 235), (170, 220, 245), (5, 180, 220)],
                  shot=(2.4, 2.9, 2.2, 2.7, 3.1, 2.5), speed=12.0)
MOODS = ("calm", "energetic", "alternating")
ALTERNATING_SCENE = 12.0      # seconds of each calm or energetic scene of the alternating clip


def _shots(kind: dict, start: float, stop: float) -> list[tuple[float, tuple, float]]:
    """(start s, hsv, speed) of the shots of one mood from `start` to `stop`."""
    out, t, k = [], start, 0
    while t < stop - 0.5:
        out.append((t, kind["palette"][k % len(kind["palette"])], kind["speed"]))
        t += kind["shot"][k % len(kind["shot"])]
        k += 1
    return out


def mood_scenes(mood: str, seconds: float) -> list[tuple[float, float, float]]:
    """(start, end, energy 0 calm / 1 energetic) of the scenes of a mood clip."""
    if mood not in MOODS:
        raise ValueError(f"unknown mood {mood!r} (choose from {', '.join(MOODS)})")
    if mood != "alternating":
        return [(0.0, float(seconds), float(mood == "energetic"))]
    edges = list(np.arange(0.0, seconds, ALTERNATING_SCENE)) + [float(seconds)]
    return [(float(a), float(b), float(i % 2)) for i, (a, b) in enumerate(zip(edges, edges[1:]))]


def make_mood_video(path: str | Path, mood: str, seconds: float = 48.0, fps: float = 24,
                    size: tuple[int, int] = (320, 180)) -> list[float]:
    """A calm, energetic or alternating (calm and energetic scenes of ALTERNATING_SCENE s) clip;
    returns its cut times (seconds)."""
    shots = []
    for a, b, energy in mood_scenes(mood, seconds):
        shots += _shots(_ENERGETIC if energy else _CALM, a, b)
    cuts = [s[0] for s in shots[1:]]
    make_test_video(path, seconds, fps=fps, size=size, cuts=cuts,
                    motion_levels=[s[2] for s in shots], palette=[s[1] for s in shots])
    return [round(round(c * fps) / fps, 6) for c in cuts]
