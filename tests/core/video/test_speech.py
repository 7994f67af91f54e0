"""Speech in a video's own sound (silero-vad): espeak-ng sentences at known times are found with
precision and recall of at least 0.9 within 0.3 s, over Big Buck Bunny's own score and over
noise; the score alone holds no speech; the batched model equals the library's own loop; the
spans are in the analysis and its cache; the search's own decode hears what decode_audio does."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest

from tests.speech_clips import narration, precision_recall, with_sound
from v2m_desktop.core.export import decode_audio
from v2m_desktop.core.video.speech import SAMPLE_RATE, find_speech, speech_probabilities

TIMES = (3.0, 14.0, 27.5, 41.0)


@pytest.fixture(scope="module")
def bbb_sound(bbb):
    return decode_audio(bbb, SAMPLE_RATE, 56.0).mean(axis=1)


@pytest.mark.parametrize("background", ["bbb-30", "bbb-24", "noise-40"])
def test_sentences_are_found_at_their_times(bbb_sound, background):
    name, db = background.rsplit("-", 1)
    back = bbb_sound if name == "bbb" else np.random.default_rng(0).standard_normal(56 * SAMPLE_RATE)
    x, truth = narration(TIMES, 56.0, SAMPLE_RATE, back, -float(db))
    found = find_speech(x)
    p, r = precision_recall(found, truth)
    assert p >= 0.9 and r >= 0.9, (found, truth)
    assert len(found) == len(truth)


def test_a_film_score_alone_holds_no_speech(bbb_sound):
    found = find_speech(bbb_sound)
    assert sum(e - s for s, e in found) < 0.05 * 56


def test_silence_and_short_sound_hold_no_speech():
    assert find_speech(np.zeros(5 * SAMPLE_RATE, dtype=np.float32)) == []
    assert find_speech(np.ones(100, dtype=np.float32)) == []


@pytest.mark.parametrize("video_late, sound_late", [(0.5, 0.0), (0.9, 0.2), (0.0, 0.7)])
def test_the_search_hears_the_sound_from_the_first_frame(sintel, tmp_path, video_late, sound_late):
    """The search reads mono 16-kHz sound from the stream's start and leaves out the part before
    the first frame itself (probe.audio_skip): the samples of decode_audio, mixed to mono."""
    from v2m_desktop.core.export import decode_mono
    from v2m_desktop.core.files import ffmpeg_exe
    from v2m_desktop.core.video.probe import audio_skip, start_probe
    clip = tmp_path / "late.mp4"
    late = [a for t in (video_late, sound_late) for a in ("-itsoffset", str(t), "-t", "6", "-i", str(sintel))]
    subprocess.run([ffmpeg_exe(), "-y", "-v", "error", *late, "-map", "0:v:0", "-map", "1:a:0", "-c", "copy",
                    str(clip)], check=True, capture_output=True)
    skip = audio_skip(start_probe(clip))
    assert skip == pytest.approx(max(0.0, video_late - sound_late), abs=0.01)
    mine = decode_mono(clip, SAMPLE_RATE)[round(skip * SAMPLE_RATE):]
    theirs = decode_audio(clip, SAMPLE_RATE).mean(axis=1)
    assert len(mine) == len(theirs) > 5 * SAMPLE_RATE
    assert np.abs(mine - theirs).max() < 1e-5


def test_the_batched_model_reads_as_the_library_does(bbb_sound):
    """speech_probabilities runs silero's layers on many windows at once: the probabilities are
    the library's window-by-window ones."""
    import torch

    from v2m_desktop.core.video.speech import WINDOW, _model
    x, _ = narration(TIMES[:2], 20.0, SAMPLE_RATE, bbb_sound, -30.0)
    model = _model()
    model.reset_states()
    with torch.inference_mode():
        ref = np.array([float(model(torch.from_numpy(x[i:i + WINDOW].copy()), SAMPLE_RATE))
                        for i in range(0, len(x) - WINDOW + 1, WINDOW)])
    model.reset_states()
    mine = speech_probabilities(x)[:len(ref)]
    assert np.abs(mine - ref).max() < 1e-4
    assert (ref > 0.5).sum() > 50           # it did hear the speech


def test_the_analysis_keeps_the_speech_and_caches_it(tmp_path, make_video):
    from v2m_desktop.core.video.analysis import analyse
    synthetic_video, _ = make_video("speech-20s.mp4", 20)
    x, truth = narration(TIMES[:2], 20.0, 44100)
    video = with_sound(synthetic_video, x, 44100, tmp_path / "narrated.mp4")
    stages = []
    a = analyse(video, "basic", cache_dir=tmp_path / "cache", progress=lambda s, f: stages.append(s))
    assert "speech" in stages
    p, r = precision_recall(a.speech, truth)
    assert p >= 0.9 and r >= 0.9, (a.speech, truth)
    again = analyse(video, "basic", cache_dir=tmp_path / "cache")
    assert again.speech == a.speech
    silent = analyse(synthetic_video, "basic", cache_dir=tmp_path / "cache")
    assert silent.speech == [] and not silent.info.has_audio
