"""Video analysis in one decode pass: motion, scene cuts and seconds-since-cut, the frame of each
second for the vision backend (emotion, semantic) and timeline thumbnails; cached on disk.

Everything follows MuVi-Sync's feature extraction (README section 6) so the model sees what it was
trained on:

* Frames of the seconds: the first frame, then each frame whose timestamp is >= 1 s after the
  previously kept one (ffmpeg's `select` rule of the dataset); kept frame k <-> second k, and the
  number of per-second rows `seconds` is the number of kept frames (ceil(duration), at least 1).
* Motion: with t = OpenCV's position after each read and `last` = the last recorded whole second,
  when t - last >= 1 record at second int(t) the mean over all pixels and channels of
  |frame - previous frame| at native resolution; row 0 = 0 (4 decimals, as the dataset's files).
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
* Scene offset: scenes run from cut to cut, the last one to the end of the last frame; scene i
  takes the not yet assigned seconds below ceil(its end time in s); the offset counts seconds
  from the first second of the scene (0, 1, 2 ...). The model's input is offset + 1 (not here).

Only the current and previous frame are held, plus a small thumbnail and the vision backend's
per-second state, so memory does not grow with the frame size times the length.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import queue
import threading
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from v2m_desktop.core.data.muvisync import VideoFeatures
from v2m_desktop.core.errors import Cancelled, V2MError
from v2m_desktop.core.files import atomic_output
from v2m_desktop.core.video.probe import ProbeJob, VideoInfo, decode_failure, start_probe
from v2m_desktop.core.video.vision import DEFAULT_CLIP, make_vision, resolve_vision

ANALYSIS_VERSION = 1
THUMB_WIDTH = 96
DETECT_MIN_WIDTH = 256       # frames this wide or wider are subsampled for cut detection ...
DETECT_WIDTH = 128           # ... to this width (nearest neighbour)
_CANCEL_EVERY = 8            # frames between cancel() checks
_PROGRESS_EVERY = 12         # frames between progress() calls
_QUEUE = 2                   # batches of decoded frames buffered between reader and analysis
_BATCH_BYTES = 16 << 20      # frames per batch: as many as fit in 16 MB, 1 to 8
# Decode in a second thread, overlapping the analysis? On the 2-core test machine (busy with other
# work) one thread was faster (BBB: 1.42x vs 1.64x a grab-only pass) and used less CPU, as FFmpeg
# already decodes with its own threads; kept as an option for machines with idle cores.
THREADED = False


def _decoder_threads() -> int:
    """FFmpeg decoder threads for the pass: one more than the cores (OpenCV's default is the core
    count). With frame threading, the frames in flight all finish while this thread converts the
    current one to BGR and analyses it, and the decoder then waits for the next packet; a spare
    frame in flight keeps the cores busy. On the 2-core test machine 3 threads took BBB from ~1.9x
    to ~1.55x a grab-only pass and Sintel from ~2.0x to ~1.65x (4 or 6 were no better)."""
    return (os.cpu_count() or 1) + 1


def _open_capture(path: str) -> cv2.VideoCapture:
    cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, _decoder_threads()])
    if not cap.isOpened():      # not for FFmpeg (an image sequence, ...): OpenCV's own choice
        cap.release()
        cap = cv2.VideoCapture(path)
    return cap

ProgressFn = Callable[[str, float], None]
CancelFn = Callable[[], bool]


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

    def features(self) -> VideoFeatures:
        sem = None if self.semantic is None else self.semantic.astype(np.float32)
        return VideoFeatures(emotion=self.emotion.astype(np.float32), motion=self.motion.astype(np.float32),
                             scene_offset=self.scene_offset.astype(np.float32), semantic=sem)

    def to_npz(self, path: str | os.PathLike) -> None:
        """Write to `path` (atomically: a temporary file in the same folder, then a rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"version": ANALYSIS_VERSION, "info": self.info.to_dict(), "seconds": self.seconds,
                "vision": self.vision, "cuts": [float(c) for c in self.cuts]}
        arrays = {"meta": np.array(json.dumps(meta)), "motion": self.motion,
                  "scene_offset": self.scene_offset, "emotion": self.emotion,
                  "thumbnails": self.thumbnails, "thumb_times": self.thumb_times}
        if self.semantic is not None:
            arrays["semantic"] = self.semantic
        with atomic_output(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, **arrays)

    @classmethod
    def from_npz(cls, path: str | os.PathLike) -> Analysis:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            if meta.get("version") != ANALYSIS_VERSION:
                raise ValueError(f"analysis file version {meta.get('version')} != {ANALYSIS_VERSION}")
            return cls(info=VideoInfo.from_dict(meta["info"]), seconds=int(meta["seconds"]),
                       motion=z["motion"], scene_offset=z["scene_offset"], cuts=list(meta["cuts"]),
                       emotion=z["emotion"], semantic=z["semantic"] if "semantic" in z.files else None,
                       vision=meta["vision"], thumbnails=z["thumbnails"], thumb_times=z["thumb_times"])


# --------------------------------------------------------------------------------------------- #
# scene cuts

class AdaptiveCutDetector:
    """PySceneDetect 0.7's AdaptiveDetector (defaults) without its per-frame object overhead.

    Feed every frame in order as an HSV uint8 image (`push`); it returns the index of a cut frame
    (the first frame of a new shot) when one is decided, which is `window_width` frames late.
    The frame score is ContentDetector's: the mean of the mean absolute differences of hue,
    saturation and value between consecutive frames (computed with cv2.absdiff + sumElems, the
    same sums as the library's numpy code).
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
        self.scores: list[float] | None = None   # set to [] to record every frame's score

    def score(self, hsv: np.ndarray) -> float:
        last = self._last_hsv
        self._last_hsv = hsv
        if last is None:
            return 0.0
        n = float(hsv.shape[0] * hsv.shape[1])
        sh, ss, sv, _ = cv2.sumElems(cv2.absdiff(hsv, last))
        # same operations, in the same order, as ContentDetector with weights (1, 1, 1, 0)
        return (sh / n * 1.0 + ss / n * 1.0 + sv / n * 1.0 + 0.0 * 0.0) / 3.0

    def push(self, idx: int, hsv: np.ndarray) -> int | None:
        s = self.score(hsv)
        if self.scores is not None:
            self.scores.append(s)
        if self._last_cut is None:
            self._last_cut = idx
        w = self.window_width
        self._buf.append((idx, s))
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


def content_hash(path: str | os.PathLike, samples: int = 16, chunk: int = 1 << 16) -> str:
    """A fast fingerprint of a file's content: its size, first and last MiB, and `samples` chunks
    spread over the rest (not the whole file)."""
    p = Path(path)
    size = p.stat().st_size
    h = hashlib.sha256()
    h.update(str(size).encode())
    mib = 1 << 20
    with open(p, "rb") as f:
        h.update(f.read(mib))
        if size > 2 * mib:
            for i in range(1, samples + 1):
                f.seek(int(size * i / (samples + 2)))
                h.update(f.read(chunk))
        if size > mib:
            f.seek(max(mib, size - mib))
            h.update(f.read(mib))
    return h.hexdigest()


def cache_key(path: str | os.PathLike, vision: str, clip_model: str | None) -> str:
    settings = f"v{ANALYSIS_VERSION}|vision={vision}|clip={clip_model if vision == 'clip' else '-'}"
    h = hashlib.sha256()
    h.update(content_hash(path).encode())
    h.update(settings.encode())
    return h.hexdigest()[:40]


# --------------------------------------------------------------------------------------------- #
# the pass

class _Reader(threading.Thread):
    """Reads frames with OpenCV in a thread (decoding releases the GIL) so decoding overlaps the
    analysis of the previous frames. Queues lists of (frame, t_msec) pairs (a few small frames at a
    time: fewer thread hand-offs), then an empty list at the end."""

    def __init__(self, cap: cv2.VideoCapture):
        super().__init__(daemon=True)
        self.cap = cap
        self.q: queue.Queue = queue.Queue(maxsize=_QUEUE)
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        batch: list = []
        size = 0
        try:
            while not self.stop.is_set():
                ok, frame = self.cap.read()
                if not ok:
                    break
                batch.append((frame, self.cap.get(cv2.CAP_PROP_POS_MSEC)))
                if not size:
                    size = max(1, min(8, _BATCH_BYTES // max(1, frame.nbytes)))
                if len(batch) >= size:
                    self._put(batch)
                    batch = []
        except BaseException as e:  # noqa: BLE001 - handed to the consumer
            self.error = e
        finally:
            if batch:
                self._put(batch)
            self._put([])

    def _put(self, item) -> None:
        while not self.stop.is_set():
            try:
                self.q.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        self.stop.set()
        while self.is_alive():
            try:
                while True:
                    self.q.get_nowait()
            except queue.Empty:
                pass
            self.join(timeout=0.05)


def _frames(cap: cv2.VideoCapture):
    """Every frame of `cap` once, in order, as (BGR frame, OpenCV position in ms after the read)."""
    if not THREADED:
        while True:
            ok, frame = cap.read()
            if not ok:
                return
            yield frame, cap.get(cv2.CAP_PROP_POS_MSEC)
    reader = _Reader(cap)
    reader.start()
    try:
        while True:
            batch = reader.q.get()
            if not batch:
                break
            yield from batch
        if reader.error is not None:
            raise reader.error
    finally:
        reader.close()


def analyse(path: str | os.PathLike, vision: str = "auto", *, clip_model: str | None = None,
            cache_dir: Path | None = None, progress: ProgressFn | None = None,
            cancel: CancelFn | None = None, device: str = "cpu") -> Analysis:
    """Analyse the video at `path` in one decode pass (or load the cached result).

    `vision`: "auto" (CLIP when its weights are on disk, else basic), "clip" or "basic".
    `progress(stage, fraction)` is called often: ("analyse", 0..1) through the decode pass (CLIP
    inference runs inside it), then ("vision", 0 and 1) while the backend finishes; a cached
    result reports ("analyse", 0) and ("analyse", 1).
    `cancel()` is polled every few frames and stops the work with `Cancelled`.
    Bad input raises V2MError (one line for the user).
    """
    report = progress or (lambda stage, frac: None)
    report("analyse", 0.0)
    job = start_probe(path)          # ffprobe runs in the background while we decode
    try:
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
        vis = make_vision(backend, model_id, device)
        res = _analyse_pass(job, vis, report, cancel)
    finally:
        job.cancel()
    try:
        res.to_npz(cfile)
    except (OSError, V2MError):
        pass            # a read-only or full cache folder must not fail the analysis
    return res


def _analyse_pass(job: ProbeJob, vis, report: ProgressFn, cancel: CancelFn | None) -> Analysis:
    path = str(job.path)
    cap = _open_capture(path)
    if not cap.isOpened():
        cap.release()
        raise decode_failure(job.result())
    fps = cap.get(cv2.CAP_PROP_FPS)
    if not (0 < fps < 1000):
        info = job.result()
        fps = info.fps if 0 < info.fps < 1000 else 25.0
    expected = max(1, int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0))

    det = AdaptiveCutDetector()
    cut_frames: list[int] = []
    motion: dict[int, float] = {0: 0.0}
    last_motion_sec = 0
    kept_t: float | None = None
    thumbs: list[np.ndarray] = []
    thumb_times: list[float] = []
    frame_times = array("d")
    prev: np.ndarray | None = None
    dsize = None
    tsize = None
    idx = 0
    t_prev = -1.0
    frames = _frames(cap)
    try:
        for frame, t_ms in frames:
            if idx == 0:
                h, w = frame.shape[:2]
                dsize = detect_size(w, h)
                tsize = (THUMB_WIDTH, max(2, int(round(h * THUMB_WIDTH / w / 2)) * 2))
            # timestamp of this frame (OpenCV's position after the read)
            t = t_ms / 1000.0 if (t_ms > 0 or idx == 0) and math.isfinite(t_ms) else idx / fps
            if t <= t_prev:
                t = t_prev + 1.0 / fps
            t = round(t, 9)
            frame_times.append(t)

            small = frame if dsize is None else cv2.resize(frame, dsize, interpolation=cv2.INTER_NEAREST)
            hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
            c = det.push(idx, hsv)
            if c is not None:
                cut_frames.append(c)

            if prev is not None and t - last_motion_sec >= 1:
                m = cv2.mean(cv2.absdiff(frame, prev))
                motion[int(t)] = round((m[0] + m[1] + m[2]) / 3.0, 4)
                last_motion_sec = int(t)

            if kept_t is None or t - kept_t >= 1 - 1e-9:
                kept_t = t
                thumbs.append(_thumbnail(frame, tsize))
                thumb_times.append(t)
                src = frame if vis.full_frames else small
                vis.add_frame(cv2.cvtColor(src, cv2.COLOR_BGR2RGB))

            prev = frame
            t_prev = t
            idx += 1
            if cancel is not None and idx % _CANCEL_EVERY == 0 and cancel():
                raise Cancelled()
            if idx % _PROGRESS_EVERY == 0:
                report("analyse", min(0.99, idx / expected))
                if job.done() and job.failed():
                    job.result()     # bad input found by the probe: stop early
    finally:
        frames.close()
        cap.release()

    n_frames = idx
    info = job.result()              # raises for a still image, audio only, ... (cv2 opens some)
    if n_frames == 0:
        raise decode_failure(info)
    if info.frame_count > 30 and n_frames < 0.5 * info.frame_count:
        raise V2MError(f"{Path(info.path).name} looks truncated or damaged "
                       f"(only {n_frames} of {info.frame_count} frames could be decoded)")
    report("analyse", 1.0)

    seconds = max(1, len(thumbs))
    mot = np.zeros(seconds, dtype=np.float32)
    for s, v in motion.items():
        if s < seconds:
            mot[s] = v
    # seconds the dataset's rule skipped (only with irregular timestamps): hold the previous value
    have = np.zeros(seconds, bool)
    have[[s for s in motion if s < seconds]] = True
    for s in range(1, seconds):
        if not have[s]:
            mot[s] = mot[s - 1]

    cut_times = [frame_times[c] for c in cut_frames]
    end_time = frame_times[-1] + 1.0 / fps
    offsets = scene_offsets(cut_times, end_time, seconds)

    report("vision", 0.0)
    emotion, semantic = vis.finish(mot, cut_times, seconds)
    report("vision", 1.0)

    info.frame_count = n_frames
    if not info.duration or abs(info.duration - end_time) > 2.0 / fps:
        # the container's figure is missing or counts a longer audio track: trust the frames
        info.duration = end_time
    return Analysis(info=info, seconds=seconds, motion=mot, scene_offset=offsets,
                    cuts=[round(c, 6) for c in cut_times], emotion=emotion.astype(np.float32),
                    semantic=None if semantic is None else semantic.astype(np.float32), vision=vis.name,
                    thumbnails=np.stack(thumbs).astype(np.uint8), thumb_times=np.asarray(thumb_times))
