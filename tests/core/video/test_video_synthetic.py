"""The synthetic video maker and the speed bench."""
from __future__ import annotations

import cv2
import pytest

from v2m_desktop.core.lab.bench_analysis import bench_analysis
from v2m_desktop.core.video.analysis import analyse
from v2m_desktop.core.video.probe import probe
from v2m_desktop.core.video.synthetic import make_test_video


def _count(path):
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.grab():
        n += 1
    cap.release()
    return n


def test_make_test_video_h264_and_mp4v(tmp_path):
    cuts = make_test_video(tmp_path / "a.mp4", 4, fps=25, size=(192, 108), cuts=[1.0, 2.6, 9.0, 0.0],
                           title="v2m demo")
    assert cuts == [25, 65]                    # out-of-range cuts dropped, frames = round(t * fps)
    info = probe(tmp_path / "a.mp4")
    assert (info.width, info.height, info.fps, info.frame_count) == (192, 108, 25.0, 100)
    assert not info.has_audio

    cuts = make_test_video(tmp_path / "b.mp4", 3, cuts=[1.5], codec="mp4v", motion_levels=4)
    assert cuts == [36]
    assert probe(tmp_path / "b.mp4").video_codec == "mpeg4"
    assert _count(tmp_path / "b.mp4") == 72
    a = analyse(tmp_path / "b.mp4", "basic", cache_dir=tmp_path / "c")
    assert [round(c * 24) for c in a.cuts] == [36]

    with pytest.raises(ValueError):
        make_test_video(tmp_path / "odd.mp4", 1, size=(161, 120))


def test_make_test_video_with_audio(make_video):
    path, _ = make_video("audio.mp4", 3, cuts=[1.5], with_audio=True)
    info = probe(path)
    assert info.has_audio and info.audio_codec == "aac"


def test_bench_analysis(make_video):
    path, _ = make_video("cuts.mp4", 8, cuts=[1.5, 3.0, 4.25, 6.5])
    r = bench_analysis(path, repeat=1)
    assert r["frames"] == 192 and r["repeat"] == 1
    assert r["grab_s"] > 0 and r["analyse_s"] > 0
    assert r["ratio"] == pytest.approx(r["analyse_s"] / r["grab_s"], rel=1e-2)
    assert r["hash_s"] > 0 and r["hash_gb_per_s"] > 0         # the cache key's whole-file hash
