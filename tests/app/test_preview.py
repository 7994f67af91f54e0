"""Every video that opens previews: a 4K clip is decoded at preview size and follows the audio
clock, dropping frames rather than falling behind (QMediaPlayer decoded it at full size and
fell seconds behind).  The real window, a fake audio clock the test moves."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from v2m_desktop.app.bench import make_4k_clip


@pytest.fixture(scope="module")
def clip_4k(tmp_path_factory):
    return make_4k_clip(tmp_path_factory.mktemp("4k") / "testsrc2_4k.mp4", seconds=2.0)


def test_a_4k_clip_previews_at_preview_size_on_the_audio_clock(qtbot, window, clocks, clip_4k):
    with qtbot.waitSignal(window.session.analysed, timeout=120000):
        window.open_path(clip_4k)
    player, view = window.player, window.video_view
    decoded = player.decoded
    assert decoded is not None
    # paused at 0: the first frame, 960x540 (not 3840x2160)
    qtbot.waitUntil(lambda: decoded.shown_at == 0.0, timeout=20000)
    assert (view.image.width(), view.image.height()) == (960, 540)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    clock = clocks[-1]
    assert player.playing and clock.running
    # each frame the clock reaches is the one shown, the nearest to the clock
    for t in (0.1, 0.4, 0.43):
        clock.now = t
        qtbot.waitUntil(lambda t=t: decoded.shown_at == pytest.approx(t, abs=0.5 / 30 + 1e-6), timeout=20000)
    # a jump of the clock (a stall) is caught up by dropping the frames between
    before = decoded.shown
    clock.now = 1.5
    qtbot.waitUntil(lambda: decoded.shown_at == pytest.approx(1.5, abs=0.5 / 30 + 1e-6), timeout=20000)
    assert decoded.shown - before <= 3          # the 32 frames between dropped
    # paused and sought: the frame there
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not player.playing
    player.seek(0.8)
    qtbot.waitUntil(lambda: decoded.shown_at == pytest.approx(0.8, abs=0.5 / 30 + 1e-6), timeout=20000)
    assert (view.image.width(), view.image.height()) == (960, 540)


def test_the_bench_measures_the_4k_preview(qapp, clip_4k):
    from v2m_desktop.app.bench import bench_preview_clip
    r = bench_preview_clip(clip_4k, seconds=1.0)
    assert r["large"] and r["frames_per_s"] > 0 and r["longest_gap_ms"] > 0
