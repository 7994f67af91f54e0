"""`v2m bench app`'s edit figure on a short clip: a chord set in the chord dialog reaches the
player as new audio, timed from the user's Return (the re-render's wait included)."""
from __future__ import annotations

from v2m_desktop.app.bench import bench_edit_in_player, edit_line
from v2m_desktop.app.session import Session


def test_edit_to_new_audio_in_the_player(qapp, tmp_path):
    r = bench_edit_in_player(seconds=20, repeats=1)
    assert r["edit_video_s"] == 20 and r["edit_audio_changed"]
    assert Session.RERENDER_MS / 1000 <= r["edit_to_player_s"] <= r["edit_to_player_max_s"] < 30
    assert r["edit_full_render_s"] > 0
    line = edit_line(r)
    assert line.startswith("app edit to new audio in the player (20 s video): chord edit ")
    assert "target < 1 s" in line and "full arrange + render" in line and "in its lane within" in line
    assert 0 < r["edit_to_lane_max_s"] < r["edit_to_player_s"]


def test_a_note_drag_reaches_the_player(qapp):
    from v2m_desktop.app.bench import bench_note_drag, note_lines
    r = bench_note_drag(seconds=20, repeats=1)
    assert r["video_s"] == 20 and 0 < r["to_lane_max_s"] < r["to_player_s"] <= r["to_player_max_s"] < 30
    assert "app note drag on the piano-roll (20 s video)" in note_lines(r, r)
