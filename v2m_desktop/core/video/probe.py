"""Probe a video file: duration, frame rate, size, rotation, streams; reject bad input in one line.

`probe(path)` uses ffprobe when it is on PATH and otherwise parses the banner of `ffmpeg -i` (the
binary of imageio-ffmpeg), then checks that OpenCV, which does the analysis, can decode the first
frame. Every problem with the input is a `V2MError` whose message names the file and says what is
wrong: missing, empty, not a video, audio only, a still image, truncated or damaged, or a codec
that this build's OpenCV cannot decode.
"""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import stat
import subprocess
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2

from v2m_desktop.core.errors import V2MError
from v2m_desktop.core.files import ffmpeg_exe, media_url, os_reason

# ffmpeg demuxers that only ever hold still pictures
_IMAGE_FORMATS = ("image2", "png_pipe", "jpeg_pipe", "bmp_pipe", "tiff_pipe", "webp_pipe", "gif_pipe",
                  "ppm_pipe", "pgm_pipe", "pam_pipe", "qoi_pipe", "psd_pipe", "svg_pipe", "jpegxl_pipe",
                  "j2k_pipe", "dpx_pipe", "exr_pipe", "sgi_pipe", "xbm_pipe", "xpm_pipe", "pcx_pipe",
                  "hdr_pipe", "phm_pipe", "pfm_pipe", "pgx_pipe", "photocd_pipe", "pictor_pipe",
                  "sunrast_pipe", "webp", "apng")
_IMAGE_CODECS = {"png", "mjpeg", "jpegls", "bmp", "tiff", "webp", "gif", "jpeg2000", "ppm", "pgm", "pam",
                 "qoi", "jpegxl", "apng"}
_TIMEOUT = 60


@dataclass
class VideoInfo:
    """What the analysis needs to know about a video file.

    `width`/`height` are the displayed size (the stored size turned by `rotation`, which is how
    OpenCV delivers the frames); `rotation` is the clockwise turn in degrees (0, 90, 180, 270) the
    player applies; `frame_count` is the container's frame count, or duration x fps estimated.
    """
    path: str
    duration: float
    fps: float
    width: int
    height: int
    rotation: int
    frame_count: int
    video_codec: str
    has_audio: bool
    audio_codec: str | None
    size_bytes: int

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> VideoInfo:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__})


def probe(path: str | os.PathLike) -> VideoInfo:
    """Describe the video at `path`, or raise V2MError saying in one line what is wrong with it."""
    info = probe_container(path)
    check_decodable(info)
    return info


# --------------------------------------------------------------------------------------------- #
# container level

def probe_container(path: str | os.PathLike) -> VideoInfo:
    """probe() without the decode check (the analysis pass decodes anyway)."""
    return start_probe(path).result()


class ProbeJob:
    """A probe running in the background (ffprobe or `ffmpeg -i` in a subprocess) so the analysis
    can decode meanwhile; `result()` waits and returns the VideoInfo or raises the V2MError.
    The cheap checks (missing, folder, unreadable, empty) raise at once, in start_probe().
    `result()` may be called from several threads (the analysis's and its speech search's)."""

    def __init__(self, p: Path, head: bytes, size: int):
        self.path, self.head, self.size = p, head, size
        self._info: VideoInfo | None = None
        self._error: V2MError | None = None
        self.streams: list[dict] = []       # every stream's codec_type and codec_name, once read
        self.start_time: float | None = None    # the file's (its earliest stream's), once read
        self._lock = threading.Lock()
        self._ffprobe = shutil.which("ffprobe") is not None
        if self._ffprobe:
            cmd = ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
                   media_url(p)]        # a file: URL: a name like '-report' is never an option
        else:
            exe = ffmpeg_exe(required=False)
            if exe is None:
                raise V2MError("neither ffprobe nor ffmpeg is available to read video files")
            cmd = [exe, "-hide_banner", "-nostdin", "-i", media_url(p)]
        self._proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      stdin=subprocess.DEVNULL)

    def result(self) -> VideoInfo:
        with self._lock:
            return self._result()

    def _result(self) -> VideoInfo:
        if self._info is None and self._error is None:
            try:
                out, err = self._proc.communicate(timeout=_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.communicate()
                self._error = V2MError(f"{self.path.name} could not be read: probing took over {_TIMEOUT} s")
            else:
                if self._ffprobe:
                    meta = _parse_ffprobe(self._proc.returncode, out, err)
                else:
                    meta = parse_ffmpeg_banner(err.decode("utf-8", "replace"))
                self.streams = meta.get("streams") or []
                self.start_time = (meta.get("format") or {}).get("start_time")
                try:
                    self._info = _info_from_meta(self.path, self.head, self.size, meta)
                except V2MError as e:
                    self._error = e
        if self._error is not None:
            raise self._error
        assert self._info is not None
        return self._info

    def done(self) -> bool:
        return self._info is not None or self._error is not None or self._proc.poll() is not None

    def cancel(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()       # (a result() waiting in another thread returns at once)
        with self._lock:
            self._proc.communicate()


def start_probe(path: str | os.PathLike) -> ProbeJob:
    return ProbeJob(*check_video_file(path))


def subtitle_codecs(path: str | os.PathLike) -> list[str]:
    """The codec of each subtitle stream of the file, in their order ('subrip', 'ass', ...)."""
    job = start_probe(path)
    job.result()
    return [s.get("codec_name") or "unknown" for s in job.streams if s.get("codec_type") == "subtitle"]


def video_offset(path: str | os.PathLike) -> float:
    """Seconds from the file's start to its video's (0 when the video starts it, or when
    unknown: ffmpeg's banner does not say).  The analysis counts time from the first frame (as
    OpenCV does), so the export moves the file's streams that much earlier: a VFR clip whose
    video began 0.133 s after its sound came out 0.133 s longer than its video, the music that
    much ahead of the picture."""
    return _offset(_read(start_probe(path)), "video")


def audio_skip(job: ProbeJob) -> float:
    """Seconds of the file's first audio stream, decoded from its own start, before the first
    frame: what decode_audio's cut at video_offset leaves out of it (ffmpeg's cut counts from the
    file's start, and the sound may start later than the file)."""
    offset = _offset(_read(job), "video")
    return max(0.0, offset - _offset(job, "audio")) if offset > 0 else 0.0


def _read(job: ProbeJob) -> ProbeJob:
    """The job, its streams read (a file without video has them all the same)."""
    try:
        job.result()
    except V2MError:
        pass
    return job


def _offset(job: ProbeJob, kind: str) -> float:
    """Seconds from the file's start to its first `kind` stream's (0 when unknown)."""
    s = next((s for s in job.streams if s.get("codec_type") == kind and not s.get("attached_pic")), None)
    start, first = job.start_time, (s or {}).get("start_time")
    if start is None or first is None:
        return 0.0
    return max(0.0, first - start)


def check_video_file(path: str | os.PathLike) -> tuple[Path, bytes, int]:
    """The cheap checks (missing, folder, unreadable, empty): (path, its first bytes, its size)."""
    p = Path(path)
    name = p.name or str(p)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise V2MError(f"{name} does not exist ({p})") from None
    except OSError as e:
        raise V2MError(f"{name} cannot be read ({os_reason(e)})") from None
    if stat.S_ISDIR(st.st_mode):
        raise V2MError(f"{name} is a folder, not a video file")
    if not stat.S_ISREG(st.st_mode):      # a FIFO would hang the probe, a device never end
        raise V2MError(f"{name} is not a regular file (a pipe or a device), not a video file")
    try:
        size = st.st_size
        # O_NONBLOCK: should it have become a FIFO since the stat, the open does not wait
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        try:
            head = os.read(fd, 64)
        finally:
            os.close(fd)
    except OSError as e:
        raise V2MError(f"{name} cannot be read ({e.strerror or e})") from None
    if size == 0:
        raise V2MError(f"{name} is empty (0 bytes)")
    return p, head, size


def _info_from_meta(p: Path, head: bytes, size: int, meta: dict) -> VideoInfo:
    name = p.name
    if meta.get("error") is not None:
        raise _container_error(p, head, meta["error"])

    streams = meta["streams"]
    fmt = meta["format"]
    videos = [s for s in streams if s.get("codec_type") == "video" and not s.get("attached_pic")]
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    fmt_name = fmt.get("format_name") or ""
    if not videos:
        if audios:
            raise V2MError(f"{name} has no video stream (audio only)")
        if any(s.get("attached_pic") for s in streams):
            raise V2MError(f"{name} has no video stream (only a cover picture)")
        raise V2MError(f"{name} has no video stream")
    v = videos[0]
    codec = v.get("codec_name") or "unknown"
    frames = v.get("nb_frames")
    if fmt_name in _IMAGE_FORMATS or fmt_name.endswith("_pipe") or (
            codec in _IMAGE_CODECS and not audios and (frames is None or frames <= 1)
            and not (fmt.get("duration") or 0) > 0.1):
        raise V2MError(f"{name} is a still image, not a video")
    if codec in ("unknown", "none", ""):
        tag = v.get("codec_tag") or "?"
        raise V2MError(f"{name} uses a codec this build cannot decode (unknown codec '{tag}')")

    if _mp4_truncated(p, head, size):
        raise V2MError(f"{name} looks truncated or damaged (the file ends early)")

    fps = v.get("fps") or 0.0
    if not (fps > 0 and math.isfinite(fps)):
        fps = 0.0
    duration = v.get("duration") or fmt.get("duration") or 0.0
    if (not duration or duration <= 0) and frames and fps:
        duration = frames / fps
    if not frames or frames <= 0:
        frames = int(round(duration * fps)) if duration and fps else 0
    rotation = int(v.get("rotation") or 0) % 360
    rotation = int(round(rotation / 90.0)) * 90 % 360
    w, h = int(v.get("width") or 0), int(v.get("height") or 0)
    if rotation in (90, 270):
        w, h = h, w
    return VideoInfo(path=str(p), duration=float(duration or 0.0), fps=float(fps), width=w, height=h,
                     rotation=rotation, frame_count=int(frames), video_codec=codec,
                     has_audio=bool(audios), audio_codec=(audios[0].get("codec_name") if audios else None),
                     size_bytes=int(size))


def _rate(s: str | None) -> float:
    if not s:
        return 0.0
    try:
        if "/" in s:
            a, b = s.split("/", 1)
            return float(a) / float(b) if float(b) else 0.0
        return float(s)
    except ValueError:
        return 0.0


def _float(s) -> float | None:
    try:
        x = float(s)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _parse_ffprobe(returncode: int, out: bytes, err_b: bytes) -> dict:
    err = err_b.decode("utf-8", "replace")
    try:
        data = json.loads(out.decode("utf-8", "replace") or "{}")
    except json.JSONDecodeError:
        data = {}
    if returncode != 0 or "format" not in data:
        return {"error": err or f"ffprobe exit status {returncode}"}
    streams = []
    for s in data.get("streams", []):
        d = {"codec_type": s.get("codec_type"), "codec_name": s.get("codec_name"),
             "codec_tag": s.get("codec_tag_string"),
             "attached_pic": bool((s.get("disposition") or {}).get("attached_pic")),
             "width": s.get("width"), "height": s.get("height"), "start_time": _float(s.get("start_time"))}
        if d["codec_type"] == "video":
            fps = _rate(s.get("avg_frame_rate"))
            if not fps or fps > 1000:
                fps = _rate(s.get("r_frame_rate"))
            d["fps"] = fps
            d["duration"] = _float(s.get("duration"))
            if d["duration"] is None:
                d["duration"] = _hms((s.get("tags") or {}).get("DURATION"))
            nb = s.get("nb_frames")
            d["nb_frames"] = int(nb) if nb and str(nb).isdigit() else None
            rot = None
            for sd in s.get("side_data_list") or []:
                if "rotation" in sd:
                    rot = -float(sd["rotation"])
            if rot is None and "rotate" in (s.get("tags") or {}):
                rot = _float(s["tags"]["rotate"])
            d["rotation"] = int(round(rot or 0)) % 360
        streams.append(d)
    fmt = data["format"]
    return {"error": None, "streams": streams,
            "format": {"format_name": fmt.get("format_name"), "duration": _float(fmt.get("duration")),
                       "start_time": _float(fmt.get("start_time"))}}


def _hms(s: str | None) -> float | None:
    if not s:
        return None
    m = re.match(r"\s*(\d+):(\d+):(\d+(?:\.\d+)?)", s)
    if not m:
        return None
    return int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])


_STREAM_RE = re.compile(r"^\s*Stream #\d+:(\d+)[^:]*:\s*(Video|Audio|Subtitle|Data|Attachment):\s*(.*)$")


def parse_ffmpeg_banner(text: str) -> dict:
    """Turn the stderr of `ffmpeg -i FILE` into the same dict as the ffprobe path."""
    m = re.search(r"^Input #0, ([^ ]+), from", text, re.M)
    if not m:
        return {"error": text.strip() or "ffmpeg could not read the file"}
    fmt_name = m[1].rstrip(",")
    md = re.search(r"Duration: (\d+:\d+:\d+(?:\.\d+)?)", text)
    duration = _hms(md[1]) if md else None
    streams: list[dict] = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        sm = _STREAM_RE.match(line)
        if not sm:
            continue
        kind, desc = sm[2].lower(), sm[3]
        codec = desc.split(",")[0].split()[0].strip() if desc.strip() else "unknown"
        tag = None
        mt = re.search(r"\((\w{1,4}) / 0x[0-9A-Fa-f]+\)", desc)
        if mt:
            tag = mt[1]
        d = {"codec_type": kind, "codec_name": codec, "codec_tag": tag,
             "attached_pic": "(attached pic)" in desc}
        if kind == "video":
            ms = re.search(r",\s*(\d{2,5})x(\d{2,5})", desc)
            d["width"], d["height"] = (int(ms[1]), int(ms[2])) if ms else (0, 0)
            mf = re.search(r"([\d.]+)(k?) fps", desc)
            mr = re.search(r"([\d.]+)(k?) tbr", desc)
            fps = 0.0
            for mm in (mf, mr):
                if mm and not fps:
                    fps = float(mm[1]) * (1000 if mm[2] else 1)
            d["fps"] = fps
            d["duration"] = None
            d["nb_frames"] = None
            rot = 0.0
            for nxt in lines[i + 1:i + 12]:
                if _STREAM_RE.match(nxt):
                    break
                mrot = re.search(r"rotation of (-?[\d.]+) degrees", nxt)
                if mrot:
                    rot = -float(mrot[1])
                mrot = re.search(r"^\s*rotate\s*:\s*(-?\d+)", nxt)
                if mrot:
                    rot = float(mrot[1])
            d["rotation"] = int(round(rot)) % 360
        streams.append(d)
    return {"error": None, "streams": streams, "format": {"format_name": fmt_name, "duration": duration}}


_CONTAINER_MAGIC = (b"\x1a\x45\xdf\xa3", b"RIFF", b"FLV", b"OggS", b"\x00\x00\x01\xba", b"\x30\x26\xb2\x75")
_MP4_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot", b"uuid", b"junk")


def _looks_like_video_container(head: bytes) -> bool:
    return head[4:8] in _MP4_BOXES or head.startswith(_CONTAINER_MAGIC)


def _container_error(p: Path, head: bytes, err: str) -> V2MError:
    name = p.name
    if not _looks_like_video_container(head):
        return V2MError(f"{name} is not a video file (format not recognised)")
    low = err.lower()
    if "moov atom not found" in low or "truncat" in low or "end of file" in low:
        return V2MError(f"{name} looks truncated or damaged (incomplete file)")
    return V2MError(f"{name} looks truncated or damaged ({_short(err, p)})")


def _short(err: str, p: Path) -> str:
    """The last line of an ffmpeg error, without its "[demuxer @ 0x...]" or "FILE:" prefix."""
    lines = [ln.strip() for ln in err.strip().splitlines() if ln.strip()]
    s = lines[-1] if lines else "unreadable"
    s = re.sub(r"^\[[^\]]*\]\s*", "", s)
    for prefix in (str(p) + ":", p.name + ":"):
        if s.startswith(prefix):
            s = s[len(prefix):].strip()
    return s[:120]


def _mp4_truncated(p: Path, head: bytes, size: int) -> bool:
    """True when the top-level boxes of an MP4/MOV file run past its end (cut-off download)."""
    if head[4:8] not in _MP4_BOXES:
        return False
    pos = 0
    try:
        with open(p, "rb") as f:
            for _ in range(10000):
                if pos >= size:
                    return False
                f.seek(pos)
                hdr = f.read(16)
                if len(hdr) < 8:
                    return True
                box = int.from_bytes(hdr[:4], "big")
                if box == 1:
                    if len(hdr) < 16:
                        return True
                    box = int.from_bytes(hdr[8:16], "big")
                elif box == 0:   # box runs to the end of the file
                    return False
                if box < 8:
                    return True
                if pos + box > size:
                    return True
                pos += box
    except OSError:
        return False
    return False


# --------------------------------------------------------------------------------------------- #
# decoder level

def check_decodable(info: VideoInfo) -> None:
    """Raise V2MError unless OpenCV decodes the first frame of the video."""
    cap = cv2.VideoCapture(media_url(info.path), cv2.CAP_FFMPEG)
    try:
        ok = cap.isOpened() and cap.read()[0]
    finally:
        cap.release()
    if not ok:
        raise decode_failure(info)


def decode_failure(info: VideoInfo) -> V2MError:
    """The error for a file that probes fine but whose first frame OpenCV cannot decode: an
    unsupported codec when ffmpeg can decode it (or has no decoder either), else damage."""
    name = Path(info.path).name
    exe = ffmpeg_exe(required=False)
    if exe is not None:
        try:
            r = subprocess.run([exe, "-v", "error", "-nostdin", "-i", media_url(info.path), "-map", "0:v:0",
                                "-frames:v", "1", "-f", "null", "-"],
                               capture_output=True, timeout=_TIMEOUT, stdin=subprocess.DEVNULL)
            err = r.stderr.decode("utf-8", "replace").lower()
            if ("decoder" in err and ("not found" in err or "unknown" in err)) or "no decoder" in err or \
                    "unsupported codec" in err:
                return V2MError(f"{name} uses a codec this build cannot decode ({info.video_codec})")
            if r.returncode == 0 and "error" not in err:
                return V2MError(f"{name} uses a codec this build cannot decode ({info.video_codec})")
        except (OSError, subprocess.TimeoutExpired):
            pass
    return V2MError(f"{name} looks truncated or damaged (no frame can be decoded)")
