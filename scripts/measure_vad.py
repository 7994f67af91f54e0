"""Measure the two voice-activity detectors the project weighed (core/video/speech.py says why it
uses silero-vad): espeak-ng sentences at known times over Big Buck Bunny's own score, noise and
silence, and the score alone.  Needs espeak-ng, the shared media and `pip install webrtcvad-wheels`
(not a dependency of the project).  Run from the repository root:

    PYTHONPATH=$PWD .venv/bin/python scripts/measure_vad.py
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from tests.speech_clips import narration, precision_recall
from v2m_desktop.core.export import decode_audio
from v2m_desktop.core.video.speech import SAMPLE_RATE, find_speech

BBB = Path(__file__).resolve().parents[2] / "shared" / "media" / "big_buck_bunny_360p_56s.mp4"
TIMES = (3.0, 14.0, 27.5, 41.0)


def webrtc(x: np.ndarray, mode: int = 3, frame_ms: int = 30, bridge_s: float = 0.3) -> list:
    """webrtcvad's speech frames as spans: gaps under bridge_s joined, spans under 0.25 s dropped."""
    import webrtcvad
    vad = webrtcvad.Vad(mode)
    pcm = (np.clip(x, -1, 1) * 32767).astype("<i2")
    n = SAMPLE_RATE * frame_ms // 1000
    spans: list[tuple[float, float]] = []
    for k, i in enumerate(range(0, len(pcm) - n + 1, n)):
        if vad.is_speech(pcm[i:i + n].tobytes(), SAMPLE_RATE):
            t = k * frame_ms / 1000
            if spans and t - spans[-1][1] < bridge_s:
                spans[-1] = (spans[-1][0], t + frame_ms / 1000)
            else:
                spans.append((t, t + frame_ms / 1000))
    return [s for s in spans if s[1] - s[0] >= 0.25]


def main() -> None:
    score = decode_audio(BBB, SAMPLE_RATE, 56.0).mean(axis=1)
    noise = np.random.default_rng(0).standard_normal(56 * SAMPLE_RATE)
    for name, back, db in (("BBB score -30 dB", score, -30.0), ("BBB score -24 dB", score, -24.0),
                           ("noise -40 dB", noise, -40.0), ("silence", None, 0.0)):
        x, truth = narration(TIMES, 56.0, SAMPLE_RATE, back, db)
        for vad_name, vad in (("silero-vad", find_speech), ("webrtcvad 3", webrtc)):
            t0 = time.perf_counter()
            found = vad(x)
            took = time.perf_counter() - t0
            p, r = precision_recall(found, truth)
            print(f"{name:17s} {vad_name:12s} precision {p:.2f} recall {r:.2f} "
                  f"({len(found)} spans, {took:.3f} s)")
    for vad_name, vad in (("silero-vad", find_speech), ("webrtcvad 3", webrtc)):
        found = vad(score.astype(np.float32))
        marked = sum(e - s for s, e in found)
        print(f"BBB score alone   {vad_name:12s} {marked:.1f} s of 56 s marked as speech")


if __name__ == "__main__":
    main()
