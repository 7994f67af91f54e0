"""Video analysis in one decode pass: motion, scene cuts and seconds-since-cut, the frame of each
second for the vision backend (emotion, semantic) and timeline thumbnails; cached on disk.

Everything follows MuVi-Sync's feature extraction (README section 6) so the model sees what it was
trained on:

* Frames of the seconds: the first frame of each whole second (frame 0, then each frame whose
  timestamp's whole second is past the previous frame's). For constant integer frame rates these
  are the frames of the dataset's rule (ffmpeg's `select`: each frame >= 1 s after the previously
  kept one), which at 23.976 fps drifts a second late per ~1000 s. Kept frame k <-> second k, and
  the number of per-second rows `seconds` is the number of kept frames (ceil(duration), at least 1).
* Motion: with t = OpenCV's position after each read, at each frame whose int(t) is past the
  previous frame's, record at second int(t) the mean over all pixels and channels of
  |frame - previous frame| at native resolution; row 0 = 0 (4 decimals, as the dataset's files).
  (The same frames as MuVi-Sync's "t - last recorded second >= 1".)
* Cuts: PySceneDetect's AdaptiveDetector with its defaults (adaptive_threshold 3, min_scene_len 15
  frames, window_width 2, min_content_val 15, HSV weights 1/1/1), computed here on the frames of
  this pass by `AdaptiveCutDetector`, which gives the same cuts (the test suite checks it against
  the library fed the same frames). Frames at least 256 px wide are first subsampled (nearest
  neighbour) to 128 px wide: the frame score is a mean over pixels, which a subsample estimates
  without bias. Against the score at native resolution (which the dataset's PySceneDetect 0.6,
  taking every k-th pixel, also approximates closely) the mean absolute error is 0.04 on BBB and
  0.05 on BBB upscaled to 720p (threshold 15), smaller than that of PySceneDetect 0.7's bilinear
  shrink to 256 px (0.45 on BBB), and the cuts on BBB, Sintel and the synthetic videos are the
  library's, frame for frame; it costs a third of the 256-px version.
* Shot changes (for the music, not the model): the cuts above, plus what that detector misses by
  design: hard cuts inside a fast montage (the HSV histogram jumps against its +-2-frame
  neighbours, which camera motion within a shot does not do; steady brightness ramps, i.e. fades,
  are left out), abrupt cuts to or from black (a large frame score into or out of a black frame,
  however soon after the previous cut), the end of a fade to black (a frame turning black after
  half a second of steady darkening) and the start of a fade in (the last black frame before half
  a second of steady brightening), and cards of small text on black appearing, changing or
  going (the bright pixels of a dark frame change in one step). Changes within two frames of
  each other count once (at the adaptive detector's frame when it has one). On the Sintel
  trailer this finds every hand-checked abrupt change (17) and 7 of its 9 fades and dissolves,
  with no false change; on Big Buck Bunny
  the four cuts plus the first frame of the fade-in.
* Scene offset: scenes run from cut to cut, the last one to the end of the last frame; scene i
  takes the not yet assigned seconds below ceil(its end time in s); the offset counts seconds
  from the first second of the scene (0, 1, 2 ...). The model's input is offset + 1 (not here).

Every rule above looks only at a frame and the one before it (the cut detector's adaptive
decision runs afterwards over the frames' scores), so a long file is decoded as two halves at once,
each by its own capture in its own thread: the second half starts one frame early, and that frame
must be the first half's last one, bit for bit and at the same time, or the second half's work is
dropped and the first half's capture decodes on to the end (a seek that does not land exactly:
variable frame rate, open GOP, ...).

Only the current and previous frame of each half are held, plus a small thumbnail and the vision
backend's per-second state (the second half holds its frames for the backend, reduced to what the
backend keeps, until the first half's are in), so memory does not grow with the frame size times
the length.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import threading
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from v2m_desktop.core.cleanup import signals_deferred
from v2m_desktop.core.errors import V2MError
from v2m_desktop.core.features import VideoFeatures
from v2m_desktop.core.files import atomic_output, media_url
from v2m_desktop.core.progress import Progress
from v2m_desktop.core.video.probe import ProbeJob, VideoInfo, check_video_file, decode_failure
from v2m_desktop.core.video.speech import SpeechJob
from v2m_desktop.core.video.vision import (
    DEFAULT_CLIP,
    make_vision,
    resolve_vision,
)

ANALYSIS_VERSION = 6    # 2: the kept frame of a second is its first frame (was: 1 s after the
#                         last); 3: shot changes for the music; 4: and fades to black; 5: speech;
#                         6: shot changes that re-encoding does not fake
THUMB_WIDTH = 96
DETECT_MIN_WIDTH = 256       # frames this wide or wider are subsampled for cut detection ...
DETECT_WIDTH = 128           # ... to this width (nearest neighbour)
_CHECK_EVERY = 8             # frames between progress calls, the cancel points (one pass)
_POLL_S = 0.02               # seconds between them while the two halves decode
# Decode the two halves of the file at once, each with its own capture and one FFmpeg decoder
# thread (False: always one pass). On the 2-core test machine one capture with frame threads
# spends much of its time in `retrieve` waiting on the decoder threads (BBB: `read` 1.4-1.7x
# `grab`); two single-threaded captures keep both cores decoding (see core/lab/bench_analysis.py).
PARALLEL = True
_MIN_SPLIT_FRAMES = 200      # shorter videos: one pass (the second capture's start-up is not worth it)
_SPLIT_DECODER_THREADS = max(1, (os.cpu_count() or 1) // 2)   # per half: the cores between them


def _decoder_threads() -> int:
    """FFmpeg decoder threads for one sequential pass: one more than the cores (OpenCV's default is
    the core count). With frame threading, the frames in flight all finish while this thread
    converts the current one to BGR and analyses it, and the decoder then waits for the next
    packet; a spare frame in flight keeps the cores busy. On the 2-core test machine 3 threads took
    BBB from ~1.9x to ~1.55x a grab-only pass and Sintel from ~2.0x to ~1.65x (4 or 6 were no
    better)."""
    return (os.cpu_count() or 1) + 1


# --------------------------------------------------------------------------------------------- #
# result

@dataclass
class Analysis:
    """Per-second features of one video (all arrays have `seconds` rows) plus cuts and thumbnails."""
    info: VideoInfo
    seconds: int
    motion: np.ndarray           # [T] float32, mean |frame difference| (pixel units)
    scene_offset: np.ndarray     # [T] float32, whole seconds since the start of the shot
    cuts: list[float]            # seconds of the first frame of each new shot
    emotion: np.ndarray          # [T, 6] float32 probabilities, order chords.EMOTIONS
    semantic: np.ndarray | None  # [T, 768] float32 CLIP image embedding, or None (basic)
    vision: str                  # "clip" or "basic"
    thumbnails: np.ndarray       # [N, h, 96, 3] uint8 RGB, one per second
    thumb_times: np.ndarray      # [N] float64 seconds of the thumbnails' frames
    shots: list[float] | None = None   # every abrupt shot change (the cuts but flashes, and more; None: cuts)
    speech: list[tuple[float, float]] = field(default_factory=list)   # spans of talk in its sound
    coarse_motion: np.ndarray | None = None   # [T] float32, what the music reads (None: motion)

    @property
    def picture_motion(self) -> np.ndarray:
        """The motion the music's choices read (the picture's energy, the Auto style, the basic
        vision's emotion): `coarse_motion` (see coarse_motion_of), else the model's `motion`."""
        return self.motion if self.coarse_motion is None else self.coarse_motion

    @property
    def shot_changes(self) -> list[float]:
        """What the music follows: every abrupt shot change (see the module text)."""
        return list(self.cuts if self.shots is None else self.shots)

    @property
    def transitions(self) -> list[float]:
        """The shot changes that are not cuts: fades, dissolves, title cards."""
        return [float(s) for s in self.shot_changes
                if min((abs(s - c) for c in self.cuts), default=1.0) > 1e-3]

    def features(self) -> VideoFeatures:
        sem = None if self.semantic is None else self.semantic.astype(np.float32)
        return VideoFeatures(emotion=self.emotion.astype(np.float32), motion=self.motion.astype(np.float32),
                             scene_offset=self.scene_offset.astype(np.float32), semantic=sem)

    def to_npz(self, path: str | os.PathLike) -> None:
        """Write to `path` (atomically: a temporary file in the same folder, then a rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"version": ANALYSIS_VERSION, "info": self.info.to_dict(), "seconds": self.seconds,
                "vision": self.vision, "cuts": [float(c) for c in self.cuts],
                "shots": None if self.shots is None else [float(c) for c in self.shots],
                "speech": [[float(a), float(b)] for a, b in self.speech]}
        arrays = {"meta": np.array(json.dumps(meta)), "motion": self.motion,
                  "scene_offset": self.scene_offset, "emotion": self.emotion,
                  "thumbnails": self.thumbnails, "thumb_times": self.thumb_times}
        if self.semantic is not None:
            arrays["semantic"] = self.semantic
        if self.coarse_motion is not None:
            arrays["coarse_motion"] = self.coarse_motion
        with atomic_output(path) as tmp, open(tmp, "wb") as f:
            # numpy's stub reads a ** mapping as if it could hold allow_pickle
            np.savez(f, **arrays)  # type: ignore[arg-type]

    @classmethod
    def from_npz(cls, path: str | os.PathLike) -> Analysis:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            if meta.get("version") != ANALYSIS_VERSION:
                raise ValueError(f"analysis file version {meta.get('version')} != {ANALYSIS_VERSION}")
            return cls(info=VideoInfo.from_dict(meta["info"]), seconds=int(meta["seconds"]),
                       motion=z["motion"], scene_offset=z["scene_offset"], cuts=list(meta["cuts"]),
                       emotion=z["emotion"], semantic=z["semantic"] if "semantic" in z.files else None,
                       vision=meta["vision"], thumbnails=z["thumbnails"], thumb_times=z["thumb_times"],
                       shots=meta.get("shots"),
                       speech=[(float(a), float(b)) for a, b in meta.get("speech", [])],
                       coarse_motion=z["coarse_motion"] if "coarse_motion" in z.files else None)


# --------------------------------------------------------------------------------------------- #
# scene cuts

class AdaptiveCutDetector:
    """PySceneDetect 0.7's AdaptiveDetector (defaults) without its per-frame object overhead.

    Feed every frame in order as an HSV uint8 image (`push`); it returns the index of a cut frame
    (the first frame of a new shot) when one is decided, which is `window_width` frames late.
    The frame score is ContentDetector's: the mean of the mean absolute differences of hue,
    saturation and value between consecutive frames (computed with cv2.absdiff + sumElems, the
    same sums as the library's numpy code). A score needs only the frame and the one before it
    (`frame_score`); the adaptive decision runs over the scores in order (`decide`, or `cuts`
    for a whole sequence), so the scores can be computed on parts of the video decoded apart.
    """

    def __init__(self, adaptive_threshold: float = 3.0, min_scene_len: int = 15, window_width: int = 2,
                 min_content_val: float = 15.0):
        self.adaptive_threshold = adaptive_threshold
        self.min_scene_len = min_scene_len
        self.window_width = window_width
        self.min_content_val = min_content_val
        self._last_hsv: np.ndarray | None = None
        self._buf: list[tuple[int, float]] = []
        self._last_cut: int | None = None

    @staticmethod
    def frame_score(hsv: np.ndarray, last_hsv: np.ndarray) -> float:
        """The score of a frame against the previous one (both HSV uint8)."""
        n = float(hsv.shape[0] * hsv.shape[1])
        sh, ss, sv, _ = cv2.sumElems(cv2.absdiff(hsv, last_hsv))
        # same operations, in the same order, as ContentDetector with weights (1, 1, 1, 0)
        return (sh / n * 1.0 + ss / n * 1.0 + sv / n * 1.0 + 0.0 * 0.0) / 3.0

    def push(self, idx: int, hsv: np.ndarray) -> int | None:
        """Take frame `idx` (frames in order); the cut frame decided, if any."""
        last, self._last_hsv = self._last_hsv, hsv
        return self.decide(idx, 0.0 if last is None else self.frame_score(hsv, last))

    def cuts(self, scores) -> list[int]:
        """The cut frames of a whole video from its frames' scores (frame 0's is 0)."""
        return [c for c in (self.decide(i, s) for i, s in enumerate(scores)) if c is not None]

    def decide(self, idx: int, score: float) -> int | None:
        """Take the score of frame `idx` (frames in order); the cut frame decided, if any."""
        if self._last_cut is None:
            self._last_cut = idx
        w = self.window_width
        self._buf.append((idx, score))
        if len(self._buf) < 2 * w + 1:
            return None
        del self._buf[:-(2 * w + 1)]
        target, target_score = self._buf[w]
        avg = sum(sc for i, (_, sc) in enumerate(self._buf) if i != w) / (2.0 * w)
        if abs(avg) >= 0.00001:
            ratio = min(target_score / avg, 255.0)
        elif target_score >= self.min_content_val:
            ratio = 255.0
        else:
            ratio = 0.0
        if ratio >= self.adaptive_threshold and target_score >= self.min_content_val and \
                target - self._last_cut >= self.min_scene_len:
            self._last_cut = target
            return target
        return None


HIST_BINS = (8, 4, 4)        # HSV histogram of the shot-change rules
FADE_FRAMES = 12             # a fade to black: the frame value falls steadily from 10 or more ...
#                              ... to black (under 3) over the last this many frames
BRIGHT = 96                  # value above which a pixel is bright (text on a card)
FLIP_MARGIN = 32             # a pixel turns bright or dark only by crossing BRIGHT by this much
#                              both ways: compression's ringing around a bright logo crosses
#                              BRIGHT alone (Sintel at half size, CRF 35: a "card" at 42.17 s)
MIN_SCORE = 20.0             # a histogram jump is a shot change only with this frame score too:
#                              alone, it is what a blocky encode, a dissolve's dark noisy hues or
#                              a frame-rate conversion's blended frames fake (measured: fakes
#                              score <= 15.5 on Sintel and Big Buck Bunny copies, the montage's
#                              real cuts >= 26)
MERGE_S = 0.1                # changes this close count once (two frames at 24 fps)


def shot_features(hsv: np.ndarray, last_hsv: np.ndarray | None) -> tuple[float, float, float, float]:
    """(mean value, histogram distance to the previous frame (0..1), share of pixels that turned
    bright or dark by more than FLIP_MARGIN across BRIGHT, share of bright pixels) of a frame
    (HSV uint8)."""
    v = hsv[..., 2]
    bright = v > BRIGHT
    if last_hsv is None:
        return float(v.mean()), 0.0, 0.0, float(bright.mean())

    def hist(x):
        h = cv2.calcHist([x], [0, 1, 2], None, list(HIST_BINS), [0, 180, 0, 256, 0, 256]).ravel()
        return h / max(h.sum(), 1.0)
    dist = 0.5 * float(np.abs(hist(hsv) - hist(last_hsv)).sum())
    lv = last_hsv[..., 2]
    hi, lo = BRIGHT + FLIP_MARGIN, BRIGHT - FLIP_MARGIN
    flip = float((((v > hi) & (lv < lo)) | ((v < lo) & (lv > hi))).mean())
    return float(v.mean()), dist, flip, float(bright.mean())


def _flash(sc: np.ndarray, luma: np.ndarray, bright: np.ndarray, i: int) -> bool:
    """Is frame i a one-frame flash: the frame after it as far from it as it is from the one
    before, and back to the one before (mean value within 1, bright share within 1 %)?"""
    if not 0 < i < len(sc) - 1:
        return False
    return sc[i + 1] >= 0.5 * sc[i] and abs(luma[i + 1] - luma[i - 1]) <= 1.0 and \
        abs(bright[i + 1] - bright[i - 1]) <= 0.01


def _in_fade(luma: np.ndarray, i: int) -> bool:
    """Is frame i's change of mean value a step of a steady ramp (a fade), not a jump? The steps
    two frames either side go the same way, and are not much smaller than this one. (A blocky
    encode's fade moves in uneven steps: any one step against its two neighbours is not enough.)"""
    if i < 3 or i + 3 > len(luma):
        return False
    steps = np.diff(luma[i - 3:i + 3])          # steps[2] is this frame's
    d0 = steps[2]
    return abs(d0) >= 1 and bool((np.sign(steps) == np.sign(d0)).all()) and \
        float(np.median(np.abs(np.delete(steps, 2)))) >= 0.4 * abs(d0)


def shot_changes(scores, feats, cuts: list[int], fps: float = 24.0) -> list[int]:
    """Every abrupt shot change (frame indices): `cuts` (the adaptive detector's) and the rules of
    the module text over the frames' scores and `shot_features` rows; changes within MERGE_S of
    each other count once (in seconds, so that a 30-fps copy merges what the 24-fps original
    does)."""
    merge = max(2, int(round(MERGE_S * fps)))
    sc = np.asarray(scores, dtype=np.float64)
    f = np.asarray(feats, dtype=np.float64).reshape(-1, 4)
    luma, hist, flip, bright = f.T if len(f) else (np.zeros(0),) * 4
    found = set(cuts)
    for i in range(2, len(sc) - 2):
        around = (hist[i - 2] + hist[i - 1] + hist[i + 1] + hist[i + 2]) / 4
        if hist[i] >= 0.3 and hist[i] >= 2 * around and sc[i] >= MIN_SCORE and not _in_fade(luma, i):
            found.add(i)                                  # a hard cut, also in a fast montage
        if sc[i] >= 40 and min(luma[i], luma[i - 1]) < 3:
            found.add(i)                                  # to or from black
        if luma[i] < 3 <= luma[i - 1] and i >= FADE_FRAMES and luma[i - FADE_FRAMES] >= 10 and \
                (np.diff(luma[i - FADE_FRAMES:i + 1]) <= 0.5).all():
            found.add(i)                                  # the end of a fade to black
        if luma[i] < 3 <= luma[i + 1] and i + FADE_FRAMES < len(luma) and luma[i + FADE_FRAMES] >= 10 and \
                (np.diff(luma[i:i + FADE_FRAMES + 1]) >= -0.5).all():
            found.add(i)                                  # the start of a fade in from black
        step = abs(bright[i + 1] - bright[i]) <= 0.2 * abs(bright[i] - bright[i - 1])
        if max(luma[i], luma[i - 1]) < 15 and step and flip[i] >= 0.001 and \
                flip[i] >= 5 * max(flip[i - 3:i].max(), 1e-4):
            found.add(i)                                  # a card of text on black
    # a flash (one frame unlike both neighbours: a lightning strike, or an encoder's glitch, a
    # VP9 copy of Big Buck Bunny has two) is no change of shot, whichever detector saw it
    found = {i for i in found if not _flash(sc, luma, bright, i)}
    out: list[int] = []
    for i in sorted(found):
        if not out or i - out[-1] > merge:
            out.append(i)
        elif i in cuts and out[-1] not in cuts:
            out[-1] = i                                   # the adaptive detector's frame wins
    return out


COARSE_WIDTH = 64            # the coarse motion's frames: this wide, area-averaged
COARSE_SCALE = 1.5           # ... and its difference times this, near the native motion's scale
#                              (native / coarse: 2.9 on Big Buck Bunny, 1.15 on Sintel and on the
#                              synthetic calm clip, whose music stays without drums under 1.5)


def coarse_motion_of(frame: np.ndarray, prev: np.ndarray) -> float:
    """The mean |difference| of two BGR frames shrunk to COARSE_WIDTH px wide (area-averaged),
    times COARSE_SCALE. The native motion (the dataset's rule, the model's input) is mostly fine
    texture, which a re-encode takes away: Big Buck Bunny's is 4.00 and a half-size CRF-35 copy's
    1.86; this reads 1.38 and 1.29 (a 2x upscale, 3/4 size at CRF 30, 30 fps, MPEG-4: 1.35-1.40)."""
    h, w = frame.shape[:2]
    size = (COARSE_WIDTH, max(1, round(h * COARSE_WIDTH / w)))
    a = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    b = cv2.resize(prev, size, interpolation=cv2.INTER_AREA)
    m = cv2.mean(cv2.absdiff(a, b))
    return round(COARSE_SCALE * (m[0] + m[1] + m[2]) / 3.0, 4)


def detect_size(width: int, height: int) -> tuple[int, int] | None:
    """The (w, h) frames are subsampled to for cut detection, or None (native size)."""
    if width < DETECT_MIN_WIDTH:
        return None
    return DETECT_WIDTH, max(1, round(height * DETECT_WIDTH / width))


def _thumbnail(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """RGB thumbnail: bilinear to twice the size, then 2x2 averaging (fast and not aliased)."""
    tw, th = size
    big = frame
    if frame.shape[1] > 2 * tw:
        big = cv2.resize(frame, (2 * tw, 2 * th), interpolation=cv2.INTER_LINEAR)
    return cv2.cvtColor(cv2.resize(big, (tw, th), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)


def scene_offsets(cut_times: list[float], end_time: float, seconds: int) -> np.ndarray:
    """Seconds since the start of the current shot for each of `seconds` rows (dataset rule)."""
    out = np.zeros(seconds, dtype=np.float32)
    if not cut_times:
        # the reference's scene list is empty without cuts; its app writes zeros
        return out
    ends = [*cut_times, end_time]
    sec = 0
    for end in ends:
        stop = math.ceil(round(end, 6))
        start = sec
        while sec < stop and sec < seconds:
            out[sec] = sec - start
            sec += 1
    if sec < seconds:   # rows past the last scene's end (only with odd timestamps): keep counting
        base = out[sec - 1] + 1 if sec > 0 else 0
        out[sec:] = base + np.arange(seconds - sec)
    return out


# --------------------------------------------------------------------------------------------- #
# cache

def default_cache_dir() -> Path:
    env = os.environ.get("V2M_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "v2m-desktop" / "analysis"


def content_hash(path: str | os.PathLike) -> str:
    """A fingerprint of the whole content of a file (BLAKE2b), so that a copy changed anywhere,
    even in the middle and keeping its size, is never taken for a cached one. BLAKE2b runs at
    ~0.9 GB/s on one core of the test machine, two orders of magnitude faster than a decode
    pass reads a file (`v2m bench analysis` reports the time)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, lambda: hashlib.blake2b(digest_size=20)).hexdigest()


def cache_key(path: str | os.PathLike, vision: str, clip_model: str | None) -> str:
    # "whole": keys of the old sampled fingerprint can never match
    settings = f"v{ANALYSIS_VERSION}|whole|vision={vision}|clip={clip_model if vision == 'clip' else '-'}"
    h = hashlib.sha256()
    h.update(content_hash(path).encode())
    h.update(settings.encode())
    return h.hexdigest()[:40]


# --------------------------------------------------------------------------------------------- #
# the pass

def analyse(path: str | os.PathLike, vision: str = "auto", *, clip_model: str | None = None,
            cache_dir: Path | None = None, progress: Progress | None = None,
            device: str = "cpu") -> Analysis:
    """Analyse the video at `path` in one decode pass (or load the cached result).

    `vision`: "auto" (CLIP when its weights are on disk, else basic), "clip" or "basic".
    `progress(stage, fraction)` is called often: ("analyse", 0..1) through the decode pass (CLIP
    inference runs inside it), then ("vision", 0 and 1) while the backend finishes and ("speech",
    0..1) while the search for speech in its sound (on a thread of its own) ends; a cached
    result reports ("analyse", 0) and ("analyse", 1).  A report comes every few frames (or every
    few ms), only from the calling thread; raising Cancelled from it stops the work (the one
    protocol of core.progress).
    Bad input raises V2MError (one line for the user).
    """
    report = progress or (lambda stage, frac: None)
    report("analyse", 0.0)
    checked = check_video_file(path)     # missing, empty, ... fail before any work
    backend = resolve_vision(vision, clip_model)
    model_id = str(clip_model or DEFAULT_CLIP)
    cdir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cfile = cdir / f"{cache_key(path, backend, model_id)}.npz"
    if cfile.is_file():
        try:
            res = Analysis.from_npz(cfile)
        except Exception:  # noqa: BLE001 - unreadable or old cache entry: analyse again
            res = None
        if res is not None:
            res.info.path = str(Path(path))
            report("analyse", 1.0)
            return res
    job = ProbeJob(*checked)         # ffprobe runs in the background while we decode ...
    speech = SpeechJob(Path(path), job)   # ... and the sound is searched for speech
    try:
        vis = make_vision(backend, model_id, device)
        res = _analyse_pass(job, vis, report)
        res.speech = speech.result(res.info.has_audio, report)
    finally:
        job.cancel()
        speech.cancel()
    try:
        res.to_npz(cfile)
    except (OSError, V2MError):
        pass            # a read-only or full cache folder must not fail the analysis
    return res


def _frame_time(t_ms: float, idx: int, t_prev: float | None, fps: float) -> float:
    """Time in s of frame `idx`: OpenCV's position after its read (idx / fps where that is
    missing), kept increasing over the previous frame's time `t_prev`."""
    t = t_ms / 1000.0 if (t_ms > 0 or idx == 0) and math.isfinite(t_ms) else idx / fps
    if t_prev is not None and t <= t_prev:
        t = t_prev + 1.0 / fps
    return round(t, 9)


def _starts_second(t: float, t_prev: float | None) -> bool:
    """Is this frame (time t, previous frame at t_prev) the first of a whole second? The 1e-9
    tolerates timestamps a hair below the second."""
    return t_prev is None or math.floor(t + 1e-9) > math.floor(t_prev + 1e-9)


class _Span:
    """Frames `start` .. `stop` - 1 (`stop` None: to the end) read from one capture and analysed
    with rules that look only at a frame and the one before it, so that spans decoded apart join
    into the result of one sequential pass: times, detector scores, motion at the first frame of
    each second (MuVi-Sync's rule), and the first frame of each whole second (thumbnail and the
    vision backend's frame: fed to `feed_vision`, or held in `held_vision` when it is None).

    A span that starts after frame 0 seeks to frame start - 1 and reads it as the previous frame
    only (`context`: frame and time), to check against the span before it."""

    def __init__(self, cap: cv2.VideoCapture, fps: float, vis, start: int = 0, stop: int | None = None,
                 feed_vision: Callable[[np.ndarray], None] | None = None):
        self.cap, self.fps, self.vis = cap, fps, vis
        self.start, self.stop = start, stop
        self.feed_vision = feed_vision
        self.idx = max(0, start - 1)              # index of the next frame read
        self._seek = start > 0
        self.times = array("d")
        self.scores = array("d")
        self.shot_rows = array("d")               # shot_features, four values a frame
        self.motion: dict[int, float] = {}
        self.coarse: dict[int, float] = {}
        self.thumbs: list[np.ndarray] = []
        self.thumb_times: list[float] = []
        self.held_vision: list[np.ndarray] = []
        self.context: tuple[np.ndarray, float] | None = None
        self.prev: np.ndarray | None = None
        self.prev_hsv: np.ndarray | None = None
        self.t_prev: float | None = None
        self.error: BaseException | None = None
        self._sizes: tuple | None = None

    def run(self, halt: threading.Event | None = None, tick: Callable[[int], None] | None = None) -> None:
        """Read and analyse frames up to `stop` or the end; `tick(frames done)` after each frame."""
        if self._seek:
            self._seek = False
            self.cap.set(cv2.CAP_PROP_POS_FRAMES, self.idx)
        while (self.stop is None or self.idx < self.stop) and not (halt is not None and halt.is_set()):
            ok, frame = self.cap.read()
            if not ok:
                return
            self.add(frame, self.cap.get(cv2.CAP_PROP_POS_MSEC))
            if tick is not None:
                tick(len(self.times))

    def run_in_thread(self, halt: threading.Event) -> None:
        try:
            self.run(halt)
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            self.error = e
            halt.set()

    def add(self, frame: np.ndarray, t_ms: float) -> None:
        """Analyse the next frame (BGR, read at OpenCV position t_ms)."""
        if self._sizes is None:
            h, w = frame.shape[:2]
            self._sizes = detect_size(w, h), (THUMB_WIDTH, max(2, int(round(h * THUMB_WIDTH / w / 2)) * 2))
        dsize, tsize = self._sizes
        t = _frame_time(t_ms, self.idx, self.t_prev, self.fps)
        small = frame if dsize is None else cv2.resize(frame, dsize, interpolation=cv2.INTER_NEAREST)
        hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
        if self.idx >= self.start:
            self._record(frame, small, hsv, t, tsize)
        else:
            self.context = (frame, t)
        self.prev, self.prev_hsv, self.t_prev = frame, hsv, t
        self.idx += 1

    def _record(self, frame: np.ndarray, small: np.ndarray, hsv: np.ndarray, t: float,
                tsize: tuple[int, int]) -> None:
        self.times.append(t)
        last_hsv = self.prev_hsv
        self.scores.append(0.0 if last_hsv is None else AdaptiveCutDetector.frame_score(hsv, last_hsv))
        self.shot_rows.extend(shot_features(hsv, last_hsv))
        if self.prev is not None and self.t_prev is not None and int(t) > int(self.t_prev):
            m = cv2.mean(cv2.absdiff(frame, self.prev))
            self.motion[int(t)] = round((m[0] + m[1] + m[2]) / 3.0, 4)
            self.coarse[int(t)] = coarse_motion_of(frame, self.prev)
        if _starts_second(t, self.t_prev):
            self.thumbs.append(_thumbnail(frame, tsize))
            self.thumb_times.append(t)
            rgb = cv2.cvtColor(frame if self.vis.full_frames else small, cv2.COLOR_BGR2RGB)
            if self.feed_vision is not None:
                self.feed_vision(rgb)
            else:
                self.held_vision.append(self.vis.hold(rgb))

    def continues_into(self, nxt: _Span) -> bool:
        """Did `nxt` start right after this span: is its context frame this span's last frame, bit
        for bit and at the same time? (A seek can land elsewhere: variable frame rate, open GOP.)"""
        if nxt.context is None or self.prev is None or self.idx != nxt.start:
            return False
        frame, t = nxt.context
        return t == self.t_prev and frame.shape == self.prev.shape and np.array_equal(frame, self.prev)

    def extend(self, nxt: _Span, poll: Callable[[], None]) -> None:
        """Append the results of `nxt` (which continues this span), feeding its held frames
        (with CLIP the longest part of a CPU analysis: poll() may cancel between them)."""
        self.times.extend(nxt.times)
        self.scores.extend(nxt.scores)
        self.shot_rows.extend(nxt.shot_rows)
        self.motion.update(nxt.motion)
        self.coarse.update(nxt.coarse)
        self.thumbs += nxt.thumbs
        self.thumb_times += nxt.thumb_times
        feed = self.feed_vision
        assert feed is not None or not nxt.held_vision      # frames are held only for a feeder
        for rgb in nxt.held_vision:
            poll()
            if feed is not None:
                feed(rgb)
        self.idx, self.prev, self.t_prev = nxt.idx, nxt.prev, nxt.t_prev


class _Watch:
    """The caller's side of a pass: progress (the cancel point) and the probe's verdict."""

    def __init__(self, job: ProbeJob, report: Progress):
        self.job, self.report = job, report
        self.expected = 1               # frames, once the capture says
        self.fraction = 0.0

    def poll(self) -> None:
        """A report at the last fraction: the caller may cancel here (Cancelled)."""
        self.report("analyse", self.fraction)

    def check(self, done: int) -> None:
        self.fraction = min(0.99, done / self.expected)
        self.report("analyse", self.fraction)
        if self.job.done():
            self.job.result()     # raises when the probe found bad input: stop early

    def every_few_frames(self, done: int) -> None:
        if done % _CHECK_EVERY == 0:
            self.check(done)


def _open_capture(path: str, threads: int) -> cv2.VideoCapture:
    """A capture with `threads` FFmpeg decoder threads."""
    log = cv2.utils.logging
    level = log.getLogLevel()
    log.setLogLevel(log.LOG_LEVEL_ERROR)    # no warning on stderr when FFmpeg cannot open it
    try:
        # a file: URL, so that FFmpeg reads 'concat:a.mp4' or '-x' as a name, not a protocol
        cap = cv2.VideoCapture(media_url(path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, threads])
    finally:
        log.setLogLevel(level)
    if not cap.isOpened():      # not for FFmpeg (an image sequence, ...): OpenCV's own choice
        cap.release()
        cap = cv2.VideoCapture(media_url(path))
    return cap


def _run_parallel(spans: list[_Span], watch: _Watch) -> None:
    """Run each span in its own thread (OpenCV releases the GIL while it decodes and converts);
    this thread reports progress (the cancel point). Stops them all on cancel or an error."""
    halt = threading.Event()
    # Waited for through events, not Thread.join: a join that a signal interrupts marks a thread
    # that is still running as stopped (CPython 3.11's bpo-45274 handling), so a later join
    # returned at once and the caller released a capture the thread was reading (SIGSEGV).
    finished = [threading.Event() for _ in spans]

    def run(span: _Span, done: threading.Event) -> None:
        try:
            span.run_in_thread(halt)
        finally:
            done.set()
    threads = [threading.Thread(target=run, args=(s, done), daemon=True) for s, done in zip(spans, finished)]
    try:
        with signals_deferred():        # a signal waits until every thread is started
            for th in threads:
                th.start()
        while True:     # at least one check, however fast the spans are
            running = [done for done in finished if not done.is_set()]
            if running:
                running[0].wait(_POLL_S)
            watch.check(sum(len(s.times) for s in spans))
            if not running:
                break
    finally:
        halt.set()
        for th, done in zip(threads, finished):
            if th.ident is not None:        # started
                done.wait()
    for s in spans:
        if s.error is not None:
            raise s.error


def _frame_rate(cap: cv2.VideoCapture, job: ProbeJob) -> tuple[float, bool]:
    """(frames per second, whether OpenCV knew it): else the probe's figure, or 25."""
    fps = cap.get(cv2.CAP_PROP_FPS)
    if 0 < fps < 1000:
        return fps, True
    info = job.result()
    return (info.fps if 0 < info.fps < 1000 else 25.0), False


def _decode(path: str, vis, watch: _Watch) -> _Span:
    """Every frame of the file analysed: the two halves at once where the file is long enough and
    OpenCV knows its frame count and rate, else in one sequential pass."""
    caps = [_open_capture(path, _SPLIT_DECODER_THREADS)]
    try:
        if not caps[0].isOpened():
            raise decode_failure(watch.job.result())
        n = int(caps[0].get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        fps, fps_known = _frame_rate(caps[0], watch.job)
        watch.expected = max(1, n)
        if not (PARALLEL and fps_known and n >= _MIN_SPLIT_FRAMES):
            if n >= _MIN_SPLIT_FRAMES or n <= 0:     # long or unknown: FFmpeg's frame threads pay off
                caps.pop(0).release()                # (the first capture only told n and fps)
                caps.append(_open_capture(path, _decoder_threads()))
            span = _Span(caps[-1], fps, vis, feed_vision=vis.add_frame)
            span.run(tick=watch.every_few_frames)
            return span
        caps.append(_open_capture(path, _SPLIT_DECODER_THREADS))
        head = _Span(caps[0], fps, vis, 0, n // 2, feed_vision=vis.add_frame)
        tail = _Span(caps[1], fps, vis, n // 2)
        _run_parallel([head, tail], watch)
        if head.continues_into(tail):
            head.extend(tail, watch.poll)
        else:   # the second half did not start where the first stopped: decode on from there
            head.stop = None
            head.run(tick=watch.every_few_frames)
        return head
    finally:
        for cap in caps:
            cap.release()


def _analyse_pass(job: ProbeJob, vis, report: Progress) -> Analysis:
    span = _decode(str(job.path), vis, _Watch(job, report))
    fps = span.fps

    frame_times = span.times
    n_frames = len(frame_times)
    info = job.result()              # raises for a still image, audio only, ... (cv2 opens some)
    if n_frames == 0:
        raise decode_failure(info)
    if info.frame_count > 30 and n_frames < 0.5 * info.frame_count:
        raise V2MError(f"{Path(info.path).name} looks truncated or damaged "
                       f"(only {n_frames} of {info.frame_count} frames could be decoded)")
    report("analyse", 1.0)

    seconds = max(1, len(span.thumbs))
    mot, coarse = _per_second(span.motion, seconds), _per_second(span.coarse, seconds)

    cut_frames = AdaptiveCutDetector().cuts(span.scores)
    cut_times = [frame_times[c] for c in cut_frames]
    shot_times = [frame_times[c] for c in shot_changes(span.scores, span.shot_rows, cut_frames, fps)]
    end_time = frame_times[-1] + 1.0 / fps
    offsets = scene_offsets(cut_times, end_time, seconds)

    report("vision", 0.0)
    emotion, semantic = vis.finish(coarse, cut_times, seconds)
    report("vision", 1.0)

    info.frame_count = n_frames
    if not info.duration or abs(info.duration - end_time) > 2.0 / fps:
        # the container's figure is missing or counts a longer audio track: trust the frames
        info.duration = end_time
    return Analysis(info=info, seconds=seconds, motion=mot, scene_offset=offsets,
                    cuts=[round(c, 6) for c in cut_times], emotion=emotion.astype(np.float32),
                    semantic=None if semantic is None else semantic.astype(np.float32), vision=vis.name,
                    thumbnails=np.stack(span.thumbs).astype(np.uint8),
                    thumb_times=np.asarray(span.thumb_times), shots=[round(c, 6) for c in shot_times],
                    coarse_motion=coarse)


def _per_second(values: dict[int, float], seconds: int) -> np.ndarray:
    """[seconds] float32 of the values recorded at whole seconds: 0 at second 0 when none, and a
    second the dataset's rule skipped (only with irregular timestamps) holds the last value."""
    out = np.zeros(seconds, dtype=np.float32)
    out[0] = values.get(0, 0.0)
    for s in range(1, seconds):
        out[s] = values.get(s, out[s - 1])
    return out
