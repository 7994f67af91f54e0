"""Export: WAV, stems, and the MP4 with the video stream copied (not re-encoded) and the music as
AAC, exactly the video's duration, optionally over the original sound; the video's subtitle
streams go with it (text ones as mov_text; those an MP4 cannot hold are said, see Subtitles).

Every output goes to a temporary file in the destination folder and is renamed into place, so a
failed or cancelled export leaves nothing behind and never touches the input; the outputs of one
`files.output_set()` block are renamed together, all or none. ffmpeg runs in its own process
group through `cleanup.child`, ended and waited for when the export stops early.
"""
from __future__ import annotations

import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from v2m_desktop.core.cleanup import child, was_ended
from v2m_desktop.core.errors import Cancelled, V2MError
from v2m_desktop.core.files import (
    atomic_output,
    check_output,
    ffmpeg_exe,
    media_url,
    output_set,
    scratch_file,
)
from v2m_desktop.core.mix import Delivered, Loudness
from v2m_desktop.core.progress import Progress
from v2m_desktop.core.render import BLOCK, PEAK, audio_buffer, peak

AAC_BITRATE = "192k"
# ffmpeg's native AAC encoder: the "fast" coder encodes our music about 2x faster than the default
# "twoloop" (0.6 s against 1.2 s for 56 s here); at 192 kb/s its quality loss is small, and the
# AAC encoding is nearly the whole cost of an export once the video is copied.
AAC_CODER = "fast"


# Subtitles an MP4 can hold: text ones as mov_text (MP4's text format), DVD bitmaps as they are.
# Others (Blu-ray PGS, DVB bitmaps) have no place in an MP4: they are left out, said before.
TEXT_SUBTITLES = frozenset({"subrip", "srt", "ass", "ssa", "webvtt", "mov_text", "text"})
MP4_BITMAP_SUBTITLES = frozenset({"dvd_subtitle"})


@dataclass(frozen=True)
class Subtitles:
    """What the MP4 does with the video file's subtitle streams (by their order among them)."""
    video: Path
    codecs: tuple[str, ...]

    @classmethod
    def of(cls, video: Path) -> Subtitles:
        from v2m_desktop.core.video.probe import subtitle_codecs
        return cls(Path(video), tuple(subtitle_codecs(video)))

    @property
    def dropped(self) -> list[str]:
        return [c for c in self.codecs if c not in TEXT_SUBTITLES | MP4_BITMAP_SUBTITLES]

    def note(self) -> str | None:
        """One line for the user when some cannot be kept, else None."""
        if not self.dropped:
            return None
        n = len(self.dropped)
        return (f"{self.video.name}: {'its' if n == 1 else n} {', '.join(sorted(set(self.dropped)))} "
                f"subtitle stream{'s' if n > 1 else ''} cannot go into an MP4 and "
                f"{'is' if n == 1 else 'are'} left out")

    def ffmpeg_args(self) -> list[str]:
        """The -map and -c:s options that carry the kept ones into the MP4."""
        args: list[str] = []
        k = 0
        for i, codec in enumerate(self.codecs):
            if codec in TEXT_SUBTITLES or codec in MP4_BITMAP_SUBTITLES:
                args += ["-map", f"0:s:{i}", f"-c:s:{k}", "mov_text" if codec in TEXT_SUBTITLES else "copy"]
                k += 1
        return args


def _pcm16(audio: np.ndarray) -> np.ndarray:
    a = np.nan_to_num(np.asarray(audio, dtype=np.float32))
    return (np.clip(a, -1.0, 1.0) * 32767.0).round().astype("<i2")


def _write_wav_file(audio: np.ndarray, sr: int, path: Path) -> None:
    a = np.asarray(audio)
    channels = 1 if a.ndim == 1 else a.shape[1]
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(int(sr))
        for i in range(0, len(a), BLOCK):      # a block at a time: long audio needs no copy
            w.writeframes(_pcm16(a[i:i + BLOCK]).tobytes())


def write_wav(audio: np.ndarray, sr: int, path, *, source: Path | None = None) -> Path:
    """16-bit PCM WAV (mono [N] or stereo [N, 2]), written atomically."""
    path = check_output(Path(path), source)
    with atomic_output(path) as tmp:
        _write_wav_file(audio, sr, tmp)
    return path


def write_stems(stems: dict[str, np.ndarray], sr: int, folder) -> list[Path]:
    """One WAV per instrument, `<folder>/<name>.wav`, all or none (the folder is created, and
    removed again when they cannot all be written)."""
    with output_set() as outputs:
        folder = outputs.folder(Path(folder))
        return [write_wav(audio, sr, folder / f"{name}.wav") for name, audio in stems.items()]


def has_audio(video: Path) -> bool:
    """Whether the file has an audio stream (the probe's reading of its streams)."""
    from v2m_desktop.core.video.probe import probe_container
    return probe_container(video).has_audio


def decode_audio(video: Path, sr: int, duration: float | None = None, *,
                 from_first_frame: bool = True) -> np.ndarray:
    """The video's first audio stream as stereo float32 [N, 2] at sr, padded/cut to duration
    (None: as long as the stream is), from the video's first frame on (probe.video_offset: the
    sound before it is left out, as the export leaves it out; `from_first_frame` False: from the
    file's start, for a file of sound alone)."""
    from v2m_desktop.core.video.probe import video_offset
    offset = video_offset(video) if from_first_frame else 0.0
    skip = ["-ss", f"{offset:.6f}"] if offset > 0 else []       # after -i: sample-exact
    cut = [] if duration is None else ["-t", f"{duration:.6f}"]
    sound = _decode(video, ["-ac", "2", "-ar", str(sr), *skip, *cut]).reshape(-1, 2)
    return sound if duration is None else fit_length(sound, int(round(duration * sr)))


def decode_mono(video: Path, sr: int) -> np.ndarray:
    """The video's first audio stream as mono float32 [N] at sr, the mean of decode_audio's two
    channels (to 2e-7), from the stream's own start: the caller leaves out the sound before the
    first frame (probe.audio_skip), so no probe runs here.  For the speech search, which runs
    beside the picture decode: ffmpeg mixes to mono before it resamples, and the probe that
    decode_audio runs first (0.07 s of a core) is the analysis's own."""
    return _decode(video, ["-af", f"aformat=channel_layouts=stereo,pan=mono|c0=0.5*c0+0.5*c1,"
                                  f"aresample={sr}"])


def _decode(video: Path, output: list[str]) -> np.ndarray:
    """The video's first audio stream through ffmpeg's `output` options, as raw float32."""
    with child([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error",
                "-vn", "-sn", "-dn", "-i", media_url(video), "-map", "0:a:0", *output,
                "-f", "f32le", "pipe:1"],
               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        out, err = proc.communicate()
    if proc.returncode != 0:
        raise V2MError(f"cannot read the original sound of {video}: {_last_line(err)}")
    return np.frombuffer(out, dtype="<f4")


def _last_line(stderr: bytes | str) -> str:
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else "no message"


def stereo(audio: np.ndarray) -> np.ndarray:
    """[N, 2] float32: the audio itself when it already is (no copy), else a converted copy."""
    a = np.asarray(audio, dtype=np.float32)
    return np.repeat(a[:, None], 2, axis=1) if a.ndim == 1 else a[:, :2]


def fit_length(audio: np.ndarray, n: int) -> np.ndarray:
    """Cut or zero-pad to n frames; the audio itself when it has n (no copy: do not modify)."""
    if len(audio) == n:
        return audio
    out = audio_buffer(n, audio.shape[1])
    out[:min(n, len(audio))] = audio[:n]
    return out


def check_original_level(level: float | None) -> float:
    """The level of the original sound under the music, 0 (off) to 1."""
    level = float(level or 0.0)
    if not 0.0 <= level <= 1.0:
        raise V2MError(f"the original-audio level must be between 0 and 1, not {level:g}")
    return level


def deliver_mix(music: np.ndarray, sr: int, video: Path, *, duration: float, level: float,
                has_sound: bool | None = None, speech=(), added=(), removed=(),
                duck_db: float, target: float, calm: float = 0.0) -> Delivered:
    """mix.deliver for a video: its original sound decoded when it is kept (and it has any)."""
    from v2m_desktop.core.mix import deliver
    level = check_original_level(level)
    n = int(round(duration * sr))
    original = None
    if level > 0 and (has_audio(video) if has_sound is None else has_sound):
        original = decode_audio(Path(video), sr, duration)
    return deliver(fit_length(stereo(music), n), sr, original=original, level=level, speech=speech,
                   added=added, removed=removed, duck_db=duck_db, target=target, calm=calm)


def export_mp4(video: Path, audio: np.ndarray, sr: int, out: Path, *, duration: float,
               keep_original_audio: float = 0.0, has_sound: bool | None = None,
               progress: Progress | None = None) -> Path:
    """Mux `audio` (float, [N] or [N, 2]) as AAC with the video stream of `video` copied,
    `duration` seconds exactly; `keep_original_audio` (0..1) mixes the original sound under the
    music at that level (`has_sound`: whether the video has sound, when the caller's probe knows;
    else it is looked up).  `progress("export", fraction)` (core.progress: it may raise
    Cancelled)."""
    video, out = _checked(video, out, duration)
    subtitles = Subtitles.of(video)
    level = check_original_level(keep_original_audio)
    n = int(round(duration * sr))
    music = fit_length(stereo(audio), n)
    if level > 0 and (has_audio(video) if has_sound is None else has_sound):
        original = decode_audio(video, sr, duration)
        mixed = audio_buffer(n)         # a block at a time: no full-size temporaries
        for i in range(0, n, BLOCK):
            b = slice(i, i + BLOCK)
            np.multiply(original[b], level, out=mixed[b])
            mixed[b] += music[b]
        music = mixed
        top = peak(music)
        if top > PEAK:
            music *= PEAK / top
    with scratch_file(".wav") as wav:
        _write_wav_file(music, sr, wav)     # a full temporary folder is named as such
        with atomic_output(out) as tmp:
            cmd = [ffmpeg_exe(), "-y", "-hide_banner", "-nostdin", "-loglevel", "error",
                   *_video_input(video), "-i", media_url(wav),
                   "-map", "0:v:0", "-map", "1:a:0", *subtitles.ffmpeg_args(), "-c:v", "copy",
                   "-c:a", "aac", "-aac_coder", AAC_CODER, "-b:a", AAC_BITRATE, "-ar", str(sr),
                   "-t", f"{duration:.6f}", "-movflags", "+faststart",
                   "-progress", "pipe:1", "-nostats", "-f", "mp4", str(tmp)]
            _run_ffmpeg(cmd, duration, progress)
    return out


def _video_input(video: Path) -> list[str]:
    """ffmpeg's input options for the video: its streams moved earlier by the video's offset in
    the file (probe.video_offset), so its first frame is at 0, where the music starts."""
    from v2m_desktop.core.video.probe import video_offset
    offset = video_offset(video)
    return [*(["-itsoffset", f"{-offset:.6f}"] if offset > 0 else []), "-i", media_url(video)]


def _checked(video, out, duration: float) -> tuple[Path, Path]:
    """The export's video and output paths, checked before any work."""
    video, out = Path(video), Path(out)
    if not video.is_file():
        raise V2MError(f"video not found: {video}")
    out = check_output(out, video)
    if not duration or duration <= 0:
        raise V2MError("the video has no duration")
    return video, out


def export_delivery(video: Path, mix: np.ndarray, sr: int, out: Path, *, duration: float,
                    ceiling_dbtp: float, progress: Progress | None = None) -> tuple[Path, Loudness]:
    """export_mp4 for a delivered mix: its AAC is encoded first and read back, and when the
    encoder's overshoot took its true peak over `ceiling_dbtp` (Sintel's mix, at -1.5 dBTP as
    PCM, read -0.8 dBTP as AAC) it is encoded again that much quieter; then it is muxed with the
    video stream, both copied.  Returns (the MP4, the core.mix.Loudness of its AAC as decoded)."""
    from v2m_desktop.core.mix import integrated_loudness, true_peak
    video, out = _checked(video, out, duration)
    subtitles = Subtitles.of(video)
    music = fit_length(stereo(mix), int(round(duration * sr)))

    def share(a: float, b: float):        # the encodes' reports as shares of the export's
        return None if progress is None else (lambda stage, f: progress(stage, a + (b - a) * f))
    with scratch_file(".wav") as wav, scratch_file(".m4a") as aac:
        _write_wav_file(music, sr, wav)     # a full temporary folder is named as such
        with atomic_output(out) as tmp:
            tmp.touch()         # the output is claimed (and swept if this process dies) from now
            trim = 0.0
            for _ in range(3):
                cmd = [ffmpeg_exe(), "-y", "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(wav),
                       *(["-af", f"volume={trim:.2f}dB"] if trim else []),
                       "-c:a", "aac", "-aac_coder", AAC_CODER, "-b:a", AAC_BITRATE, "-ar", str(sr),
                       "-progress", "pipe:1", "-nostats", "-f", "mp4", str(aac)]
                _run_ffmpeg(cmd, duration, share(0.0, 0.8))
                heard = decode_audio(aac, sr, duration, from_first_frame=False)
                peak_db = true_peak(heard)
                if peak_db <= ceiling_dbtp:
                    break
                trim -= peak_db - ceiling_dbtp + 0.1
            loudness = Loudness(integrated_loudness(heard, sr), peak_db)
            cmd = [ffmpeg_exe(), "-y", "-hide_banner", "-nostdin", "-loglevel", "error",
                   *_video_input(video), "-i", str(aac), "-map", "0:v:0", "-map", "1:a:0", "-c", "copy",
                   *subtitles.ffmpeg_args(),
                   "-t", f"{duration:.6f}", "-movflags", "+faststart",
                   "-progress", "pipe:1", "-nostats", "-f", "mp4", str(tmp)]
            _run_ffmpeg(cmd, duration, share(0.8, 1.0))
    return out, loudness


def _run_ffmpeg(cmd: list[str], duration: float, progress) -> None:
    with tempfile.TemporaryFile() as err:
        with child(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
                   text=True) as proc:
            assert proc.stdout is not None          # stdout=PIPE
            for line in proc.stdout:
                if progress is not None and line.startswith("out_time_us="):
                    try:
                        progress("export", min(1.0, int(line.split("=", 1)[1]) / 1e6 / duration))
                    except ValueError:
                        pass
            proc.wait()
        if proc.returncode != 0:
            if was_ended(proc):         # cleanup.clean_up() stopped it: not ffmpeg's failure
                raise Cancelled()
            err.seek(0)
            raise V2MError(f"ffmpeg failed: {_last_line(err.read())}")
    if progress is not None:
        progress("export", 1.0)


__all__ = ["Subtitles", "check_original_level", "export_mp4", "ffmpeg_exe", "has_audio", "write_stems",
           "write_wav"]
