"""Real speech at known times for the speech and mix tests: espeak-ng's voice (a Debian package,
scripts/setup.sh installs it), trimmed to its first and last sound, placed on a background."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
import pytest

from v2m_desktop.core.files import ffmpeg_exe

SENTENCES = ("The bunny wakes up early and walks out of his burrow into the morning sun.",
             "Three small rodents watch him from a tree, and they are planning something.",
             "Nobody expected what happened next, least of all the butterflies.",
             "This is a short narrated clip for testing.")


def espeak() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng; scripts/setup.sh does)")
    return exe


def say(text: str, sr: int) -> np.ndarray:
    """espeak-ng speaking `text`, mono float32 at `sr`, from its first sound to its last."""
    with tempfile.TemporaryDirectory() as d:
        raw = Path(d) / "s.wav"
        subprocess.run([espeak(), "-v", "en", "-s", "160", "-w", str(raw), text], check=True,
                       capture_output=True)
        pcm = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(raw), "-ac", "1", "-ar", str(sr),
                              "-f", "f32le", "-"], check=True, capture_output=True).stdout
    x = np.frombuffer(pcm, "<f4").copy()
    loud = np.flatnonzero(np.abs(x) > 0.02 * np.abs(x).max())
    return x[loud[0]:loud[-1] + 1]


def rms_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


def narration(times, duration: float, sr: int, background: np.ndarray | None = None,
              background_db: float = -30.0, speech_db: float = -20.0):
    """(mono float32 [duration * sr], [(start, end)] of each sentence): the sentences from
    `times` on, at speech_db RMS, over `background` scaled to background_db RMS."""
    n = int(round(duration * sr))
    out = np.zeros(n, dtype=np.float32)
    if background is not None:
        b = np.asarray(background, dtype=np.float32)[:n]
        out[:len(b)] = b * np.float32(10 ** ((background_db - rms_db(b)) / 20))
    truth = []
    for t, text in zip(times, SENTENCES):
        x = say(text, sr)
        x *= np.float32(10 ** ((speech_db - rms_db(x)) / 20))
        i = int(round(t * sr))
        out[i:i + len(x)] += x[:n - i]
        truth.append((float(t), float(t) + len(x) / sr))
    return out, truth


def write_wav(path: Path, mono: np.ndarray, sr: int) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes((np.clip(mono, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def with_sound(video: Path, mono: np.ndarray, sr: int, out: Path) -> Path:
    """`video`'s picture (copied) with `mono` as its sound (AAC)."""
    wav = write_wav(out.with_suffix(".sound.wav"), mono, sr)
    subprocess.run([ffmpeg_exe(), "-y", "-v", "error", "-i", str(video), "-i", str(wav), "-map", "0:v:0",
                    "-map", "1:a:0", "-c:v", "copy", "-c:a", "aac", "-b:a", "160k", "-shortest", str(out)],
                   check=True, capture_output=True)
    return out


def overlap(a, b) -> float:
    return sum(max(0.0, min(x1, y1) - max(x0, y0)) for x0, x1 in a for y0, y1 in b)


def precision_recall(found, truth, tol: float = 0.3) -> tuple[float, float]:
    """Time-based, within `tol` s: the share of found speech within tol of a true span, and the
    share of true speech within tol of a found span."""
    def grow(spans):
        return [(s - tol, e + tol) for s, e in spans]
    length = sum(e - s for s, e in found)
    p = overlap(found, grow(truth)) / length if length else 1.0
    r = overlap(truth, grow(found)) / sum(e - s for s, e in truth)
    return p, r
