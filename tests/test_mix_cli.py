"""The mix end to end: a clip narrated by espeak-ng at known times is scored with its own sound
kept; the WAV's music sits at least 8 dB lower under the sentences than between them, the MP4 is
at its aimed loudness (read by ffmpeg's ebur128) with its true peak under -1 dBTP, the stems carry
the ducking, and a project's duck edits (depth 0, a removed range) change the next export."""
from __future__ import annotations

import json
import re
import subprocess
import wave

import numpy as np
import pytest

from tests.speech_clips import narration, rms_db, with_sound
from v2m_desktop.cli import main
from v2m_desktop.core.files import ffmpeg_exe
from v2m_desktop.core.video.synthetic import make_test_video

TIMES = (2.0, 11.0)
SECONDS = 20.0


@pytest.fixture(scope="module")
def narrated(tmp_path_factory):
    d = tmp_path_factory.mktemp("narrated")
    picture = d / "picture.mp4"
    make_test_video(picture, SECONDS, fps=24, size=(192, 108), cuts=[6.0, 14.0])
    voice, truth = narration(TIMES, SECONDS, 44100)
    return with_sound(picture, voice, 44100, d / "narrated.mp4"), truth


def _wav(path):
    with wave.open(str(path)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, w.getnchannels()) / 32768.0


def _duck_db(x: np.ndarray, truth) -> float:
    """How much lower the music is inside the sentences than 0.9 s or more away from them."""
    t = np.arange(len(x)) / 44100
    inside = np.zeros(len(x), bool)
    near = np.zeros(len(x), bool)
    for a, b in truth:
        inside |= (t >= a) & (t < b)
        near |= (t >= a - 0.9) & (t < b + 0.9)
    return rms_db(x[~near & (t > 0.5) & (t < SECONDS - 1)]) - rms_db(x[inside])


def _ebur128(path) -> tuple[float, float]:
    err = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostats", "-i", str(path), "-af",
                          "ebur128=peak=true", "-f", "null", "-"], capture_output=True, text=True).stderr
    summary = err[err.rindex("Summary:"):]
    return (float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1)),
            float(re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary).group(1)))


@pytest.mark.slow
def test_narrated_clip_ducks_and_meets_its_loudness(narrated, tmp_path, capsys):
    video, truth = narrated
    out, wav, stems, proj = tmp_path / "o.mp4", tmp_path / "o.wav", tmp_path / "stems", tmp_path / "p.v2m"
    assert main(["score", str(video), "-o", str(out), "--wav", str(wav), "--stems", str(stems),
                 "--keep-original-audio", "1", "--seed", "2", "--vision", "basic", "--quiet",
                 "--project", str(proj), "--loudness", "podcast"]) == 0
    summary = capsys.readouterr().out
    aimed = float(re.search(r"aimed at (-?[\d.]+)\), true peak (-?[\d.]+) dBTP", summary).group(1))
    assert -20.0 - 0.05 <= aimed <= -16.0 + 0.05          # podcast, a calm piece up to 4 LU under
    assert "ducked     10 dB under speech: 2 ranges" in summary
    lufs, peak = _ebur128(out)
    assert lufs == pytest.approx(aimed, abs=1.0) and peak <= -1.0
    assert _duck_db(_wav(wav), truth) >= 8.0
    stem_sum = sum(_wav(p) for p in stems.glob("*.wav"))
    assert _duck_db(stem_sum, truth) >= 8.0
    # the project keeps the level and the target; duck depth 0 then: no ducking in the next export
    assert main(["edit", str(proj), "--duck", "0"]) == 0
    assert main(["export", str(proj), "--wav", str(tmp_path / "flat.wav"), "--quiet"]) == 0
    flat = capsys.readouterr().out
    assert "ducked" not in flat and f"aimed at {aimed:.1f}" in flat
    assert abs(_duck_db(_wav(tmp_path / "flat.wav"), truth)) < 4.0
    # depth back, the first sentence's range removed: only the second ducks
    assert main(["edit", str(proj), "--duck", "10", "--duck-remove", f"0-{TIMES[1] - 2}"]) == 0
    assert main(["export", str(proj), "--wav", str(tmp_path / "one.wav"), "--quiet"]) == 0
    assert "ducked     10 dB under speech: 1 range" in capsys.readouterr().out
    one = _wav(tmp_path / "one.wav")
    assert _duck_db(one, truth[1:]) >= 8.0
    assert main(["show", str(proj), "--json"]) == 0
    mix = json.loads(capsys.readouterr().out)["mix"]
    assert mix == {"original_level": 1.0, "duck_db": 10.0, "loudness": -16.0, "duck_add": [],
                   "duck_remove": [[0.0, TIMES[1] - 2]]}


def test_bad_mix_options_get_one_line(narrated, tmp_path, capsys):
    video, _ = narrated
    for opts, said in ((["--duck", "-2"], "duck depth"), (["--loudness", "loud"], "loudness target")):
        assert main(["score", str(video), "-o", str(tmp_path / "x.mp4"), "--quiet", *opts]) == 2
        assert said in capsys.readouterr().err
        assert not (tmp_path / "x.mp4").exists()
