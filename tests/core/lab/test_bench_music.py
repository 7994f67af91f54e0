"""The measurements behind `v2m bench music`."""
import numpy as np
import pytest

from v2m_desktop.core.arrange import stats
from v2m_desktop.core.lab.bench import audio_stats, cut_detection


def test_loudness_peak_and_high_share_of_tones():
    sr = 44100
    t = np.arange(3 * sr) / sr
    tone = 0.1 * np.sin(2 * np.pi * 997 * t)
    s = audio_stats(np.stack([tone, tone], 1).astype(np.float32), sr)
    assert s["lufs"] == pytest.approx(-20.0, abs=0.2)      # BS.1770: a 997-Hz sine in both channels
    assert s["peak_dbfs"] == pytest.approx(-20.0, abs=0.01) and s["above_2khz"] < 1e-3
    high = 0.1 * np.sin(2 * np.pi * 3000 * t)
    both = np.stack([high + tone, high + tone], 1)
    assert audio_stats(both, sr)["above_2khz"] == pytest.approx(0.5, abs=0.01)


def test_edit_similarity_and_cut_detection():
    assert stats.edit_similarity([1, 2, 3, 4], [1, 2, 3, 4]) == 1.0
    assert stats.edit_similarity([1, 2, 3, 4], [1, 2, 5, 4]) == 0.75
    assert stats.edit_similarity([1, 2], [3, 4, 5, 6]) == 0.0
    r = cut_detection([1.0, 5.1, 9.0], hard=[1.1, 2.0], ranges=[(5.0, 6.0)])
    assert r["recall_abrupt"] == 0.5 and r["recall_gradual"] == 1.0 and r["precision"] == pytest.approx(2 / 3)
    assert r["recall"] == pytest.approx(2 / 3)          # abrupt and gradual together


def test_style_measures_distance_clicks_gaps_and_clipping():
    from v2m_desktop.core.lab.bench_styles import audio_checks, style_distance
    flat = [1 / 16] * 16
    on_beats = [0.25 if k % 4 == 0 else 0.0 for k in range(16)]
    a = {"parts": [("piano", "Acoustic Grand Piano"), ("bass", "Contrabass")], "profile": flat}
    assert style_distance(a, a) == 0.0
    b = {"parts": [("piano", "Acoustic Grand Piano"), ("bass", "Acoustic Bass")], "profile": on_beats}
    assert style_distance(a, b) == pytest.approx(0.5 * (2 / 3) + 0.5 * 0.75)
    sr = 8000
    t = np.arange(4 * sr) / sr
    tone = 0.3 * np.sin(2 * np.pi * 220 * t)
    clean = np.stack([tone, tone], 1)
    assert audio_checks(clean, sr) == {"clipped": 0, "clicks": 0, "longest_silence_s": 0.0, "gaps": 0}
    bad = clean.copy()
    bad[sr // 2, :] += 0.6                       # one sample jumps: a click
    bad[sr:int(2.2 * sr)] = 0.0                  # 1.2 s of silence inside the piece: a gap
    bad[3 * sr:3 * sr + 5] = 1.0                 # clipped samples
    r = audio_checks(bad, sr)
    assert r["clicks"] >= 1 and r["gaps"] == 1 and r["longest_silence_s"] >= 1.15 and r["clipped"] == 10
