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
