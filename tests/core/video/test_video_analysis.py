"""analyse(): one pass gives the dataset's motion, cuts and seconds-since-cut; cache; cancel."""
from __future__ import annotations

import math
import os
import subprocess
import sys
import threading

import cv2
import numpy as np
import pytest

import v2m_desktop.core.video.analysis as analysis_mod
from v2m_desktop.core.chords import EMOTIONS
from v2m_desktop.core.errors import Cancelled, V2MError
from v2m_desktop.core.features import VideoFeatures
from v2m_desktop.core.files import ffmpeg_exe
from v2m_desktop.core.video.analysis import (
    AdaptiveCutDetector,
    Analysis,
    analyse,
    cache_key,
    detect_size,
    scene_offsets,
)

FPS = 24


def reference_motion(path) -> np.ndarray:
    """MuVi-Sync's motion script (README section 6), in its own OpenCV pass."""
    cap = cv2.VideoCapture(str(path))
    prev, prev_time, out = None, 0, {0: 0.0}
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        if prev is not None and t - prev_time >= 1:
            diff_rgb = cv2.cvtColor(cv2.absdiff(frame, prev), cv2.COLOR_BGR2RGB)
            out[int(t)] = float(format(diff_rgb.mean(), ".4f"))
            prev_time = int(t)
        prev = frame.copy()
    cap.release()
    return np.array([out[i] for i in range(len(out))], dtype=np.float32)


def reference_offsets(cut_frames, n_frames, fps=FPS) -> list[int]:
    """The dataset rule: scene i takes the unassigned seconds below ceil(its end time)."""
    ends = [c / fps for c in cut_frames] + [n_frames / fps]
    ids, sec = {}, 0
    for i, end in enumerate(ends):
        for s in range(sec, math.ceil(round(end, 6))):
            ids[s] = i
            sec += 1
    out, cur, off = [], ids[0], 0
    for s in range(len(ids)):
        if ids[s] != cur:
            cur, off = ids[s], 0
        out.append(off)
        off += 1
    return out


# --------------------------------------------------------------------------------------------- #
# synthetic videos: exact cuts, seconds-since-cut and motion

def test_cuts_and_scene_offset_exact(make_video, tmp_path):
    path, cut_frames = make_video("cuts.mp4", 8, cuts=[1.5, 3.0, 4.25, 6.5])
    assert cut_frames == [36, 72, 102, 156]
    a = analyse(path, "basic", cache_dir=tmp_path)
    assert a.seconds == 8
    assert a.cuts == pytest.approx([f / FPS for f in cut_frames], abs=1e-6)
    assert a.scene_offset.tolist() == [0, 1, 0, 0, 1, 0, 1, 0]
    assert a.scene_offset.tolist() == reference_offsets(cut_frames, 8 * FPS)
    assert a.scene_offset.dtype == np.float32
    assert a.thumbnails.shape == (8, 72, 96, 3) and a.thumbnails.dtype == np.uint8
    assert a.thumb_times.tolist() == pytest.approx(list(range(8)))
    assert a.vision == "basic" and a.semantic is None
    assert a.emotion.shape == (8, 6) and np.allclose(a.emotion.sum(1), 1, atol=1e-5)


def test_motion_ordering_and_reference(make_video, tmp_path):
    path, _ = make_video("motion.mp4", 9, cuts=[3, 6], motion_levels=[0, 2, 8])
    a = analyse(path, "basic", cache_dir=tmp_path)
    ref = reference_motion(path)
    assert len(ref) == a.seconds == 9
    np.testing.assert_allclose(a.motion, ref, atol=1e-4)
    assert a.motion[0] == 0
    still, slow, fast = a.motion[[1, 2]].mean(), a.motion[[4, 5]].mean(), a.motion[[7, 8]].mean()
    assert still < 0.5 < slow < fast
    assert fast > 2 * slow


def test_seconds_rule_short_videos(make_video, tmp_path):
    for name, secs, rows in [("one_frame.mp4", 1 / FPS, 1), ("half.mp4", 0.5, 1), ("two_half.mp4", 2.5, 3),
                             ("three.mp4", 3.0, 3)]:
        path, _ = make_video(name, secs)
        a = analyse(path, "basic", cache_dir=tmp_path)
        assert a.seconds == rows, name
        f = a.features()
        assert isinstance(f, VideoFeatures) and len(f) == rows
        assert f.emotion.shape == (rows, 6) and f.scene_offset.shape == (rows,) and f.semantic is None
        assert a.thumbnails.shape[0] == rows and a.cuts == []
        assert not a.scene_offset.any()


def test_long_video_is_analysed_whole(make_video, tmp_path):
    cuts = [30.0 * k for k in range(1, 11)]
    path, cut_frames = make_video("long.mp4", 330, fps=6, cuts=cuts)
    a = analyse(path, "basic", cache_dir=tmp_path)
    assert a.seconds == 330
    assert a.cuts == pytest.approx(cuts)
    assert a.scene_offset.tolist() == reference_offsets(cut_frames, 330 * 6, fps=6)
    assert a.scene_offset.max() == 29


def test_detector_matches_pyscenedetect(make_video):
    """AdaptiveCutDetector gives the cuts of PySceneDetect's AdaptiveDetector fed the same frames,
    including the minimum scene length (a cut before frame 15 or 15 frames after the last)."""
    sd = pytest.importorskip("scenedetect")
    from scenedetect.common import FrameTimecode
    path, cut_frames = make_video("det.mp4", 6, cuts=[0.25, 1.0, 1.3, 2.0, 2.1, 3.5, 4.0, 5.9],
                                  motion_levels=[3, 12, 0, 25, 6])
    lib, mine = sd.detectors.AdaptiveDetector(), AdaptiveCutDetector()
    got_lib, got_mine = [], []
    cap = cv2.VideoCapture(str(path))
    i = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        got_lib += [c.frame_num for c in lib.process_frame(FrameTimecode(i, float(FPS)), frame)]
        c = mine.push(i, cv2.cvtColor(frame, cv2.COLOR_BGR2HSV))
        if c is not None:
            got_mine.append(c)
        i += 1
    cap.release()
    assert got_mine == got_lib
    assert 6 not in got_mine and 48 in got_mine and 31 not in got_mine   # too early / too close


def test_detect_size():
    assert detect_size(160, 120) is None and detect_size(255, 144) is None
    assert detect_size(640, 360) == (128, 72)
    assert detect_size(480, 204) == (128, 54)
    assert detect_size(1920, 1080) == (128, 72)


def test_scene_offsets_rule():
    assert scene_offsets([], 5.0, 5).tolist() == [0] * 5
    assert scene_offsets([2.0], 5.0, 5).tolist() == [0, 1, 0, 1, 2]
    assert scene_offsets([1.5, 1.9], 4.0, 4).tolist() == [0, 1, 0, 1]    # second scene owns no second
    assert scene_offsets([2.0000000001], 3.0, 3).tolist() == [0, 1, 0]


# --------------------------------------------------------------------------------------------- #
# real footage

def test_bbb_cuts_match_cuts_json(bbb_analysis, cuts_ref):
    ref = cuts_ref["big_buck_bunny_360p_56s.mp4"]
    a = bbb_analysis
    got = [round(c * FPS) for c in a.cuts]
    hard = ref["hard_cuts_checked_by_eye"]["frames"]
    assert len(got) == len(hard)
    assert all(abs(g - h) <= 1 for g, h in zip(got, hard))
    assert got == ref["pyscenedetect_0.7.2_AdaptiveDetector_default"]["frames"]
    assert a.seconds == 57 == math.ceil(1346 / FPS)
    assert a.scene_offset.tolist() == reference_offsets(got, 1346)
    assert a.thumbnails.shape == (57, 54, 96, 3)
    assert a.info.frame_count == 1346
    assert EMOTIONS[int(a.emotion.mean(0).argmax())] == "relaxing"     # basic backend, pastoral opening


def test_bbb_motion_matches_reference(bbb, bbb_analysis):
    np.testing.assert_allclose(bbb_analysis.motion, reference_motion(bbb), atol=1.5e-4)


def test_sintel_cuts_match_adaptive_detector(sintel, cuts_ref, tmp_path):
    ref = cuts_ref["sintel_trailer_480x204.mp4"]
    a = analyse(sintel, "basic", cache_dir=tmp_path)
    got = [round(c * FPS) for c in a.cuts]
    assert got == ref["pyscenedetect_0.7.2_AdaptiveDetector_default"]["frames"]
    hard = ref["hard_cuts_picture_to_picture_by_eye"]["frames"]
    found = [h for h in hard if any(abs(g - h) <= 1 for g in got)]
    assert len(found) >= 5          # 406 and 411 (fight montage) are missed by every default detector
    assert a.seconds == 53


# --------------------------------------------------------------------------------------------- #
# cache, npz, progress, cancel

def test_cache_skips_second_run(make_video, tmp_path, monkeypatch):
    path, _ = make_video("cuts.mp4", 8, cuts=[1.5, 3.0, 4.25, 6.5])
    cache = tmp_path / "cache"
    a1 = analyse(path, "basic", cache_dir=cache)
    files = os.listdir(cache)
    assert len(files) == 1 and files[0].endswith(".npz")

    def boom(*a, **k):
        raise AssertionError("analysed again")
    monkeypatch.setattr(analysis_mod, "_analyse_pass", boom)
    a2 = analyse(path, "basic", cache_dir=cache)
    for k in ("motion", "scene_offset", "emotion", "thumbnails", "thumb_times"):
        np.testing.assert_array_equal(getattr(a1, k), getattr(a2, k))
    assert a2.cuts == a1.cuts and a2.seconds == a1.seconds and a2.info == a1.info

    copy = tmp_path / "renamed.mp4"           # same content elsewhere: still a hit
    copy.write_bytes(path.read_bytes())
    assert analyse(copy, "basic", cache_dir=cache).info.path == str(copy)
    copy.write_bytes(path.read_bytes() + b"\0")   # other content: a miss
    with pytest.raises(AssertionError, match="analysed again"):
        analyse(copy, "basic", cache_dir=cache)

    (cache / files[0]).write_bytes(b"garbage")    # damaged entry: analysed again
    with pytest.raises(AssertionError, match="analysed again"):
        analyse(path, "basic", cache_dir=cache)


def test_a_damaged_copy_is_not_taken_from_the_cache(sintel, tmp_path):
    """A copy of Sintel damaged in the middle, same size: with the intact file's analysis in the
    cache it is still analysed, and refused. The damage is in the bytes the old sampled key never
    read (between its first and last MiB, outside its 16 chunks of 64 KiB)."""
    data = bytearray(sintel.read_bytes())
    size, mib = len(data), 1 << 20
    sampled = [(int(size * i / 18), int(size * i / 18) + (1 << 16)) for i in range(1, 17)]
    for start, stop in zip([0, *(b for _, b in sampled)], [*(a for a, _ in sampled), size]):
        start, stop = max(start, mib), min(stop, size - mib)
        if stop > start:
            data[start:stop] = bytes(stop - start)
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    cache = tmp_path / "cache"
    analyse(sintel, "basic", cache_dir=cache)
    with pytest.raises(V2MError, match="damaged.mp4 looks truncated or damaged"):
        analyse(damaged, "basic", cache_dir=cache)


def test_cache_key_depends_on_settings(make_video):
    path, _ = make_video("cuts.mp4", 8, cuts=[1.5, 3.0, 4.25, 6.5])
    keys = {cache_key(path, "basic", None), cache_key(path, "clip", "a/b"), cache_key(path, "clip", "c/d")}
    assert len(keys) == 3
    assert cache_key(path, "basic", "a/b") == cache_key(path, "basic", None)


def test_default_cache_dir_from_env(make_video, tmp_path, monkeypatch):
    path, _ = make_video("half.mp4", 0.5)
    monkeypatch.setenv("V2M_CACHE_DIR", str(tmp_path / "envcache"))
    analyse(path, "basic")
    assert len(list((tmp_path / "envcache").glob("*.npz"))) == 1
    assert not list((tmp_path / "envcache").glob("*.tmp"))


def test_npz_round_trip(make_video, tmp_path):
    path, _ = make_video("cuts.mp4", 8, cuts=[1.5, 3.0, 4.25, 6.5])
    a = analyse(path, "basic", cache_dir=tmp_path / "c")
    a.semantic = np.random.default_rng(0).normal(size=(a.seconds, 768)).astype(np.float32)
    a.vision = "clip"
    a.to_npz(tmp_path / "x.npz")
    b = Analysis.from_npz(tmp_path / "x.npz")
    assert b.info == a.info and b.cuts == a.cuts and b.vision == "clip" and b.seconds == a.seconds
    np.testing.assert_array_equal(b.semantic, a.semantic)
    np.testing.assert_array_equal(b.thumbnails, a.thumbnails)
    assert b.features().semantic.shape == (a.seconds, 768)


def test_progress_and_cancel(make_video, tmp_path):
    path, _ = make_video("cuts.mp4", 8, cuts=[1.5, 3.0, 4.25, 6.5])
    seen = []
    analyse(path, "basic", cache_dir=tmp_path / "a", progress=lambda s, f: seen.append((s, f)))
    stages = [s for s, _ in seen]
    assert set(stages) == {"analyse", "vision"} and stages[-1] == "vision"
    assert seen[-1] == ("vision", 1.0)
    fr = [f for s, f in seen if s == "analyse"]
    assert len(fr) >= 10 and fr == sorted(fr) and 0 <= fr[0] and fr[-1] == 1.0
    hit = []
    analyse(path, "basic", cache_dir=tmp_path / "a", progress=lambda s, f: hit.append((s, f)))
    assert hit[-1] == ("analyse", 1.0)

    before = set(threading.enumerate())
    calls = []

    def progress(stage, fraction):           # the one protocol: a report raises to cancel
        calls.append(1)
        if len(calls) >= 3:
            raise Cancelled()
    with pytest.raises(Cancelled):
        analyse(path, "basic", cache_dir=tmp_path / "b", progress=progress)
    assert len(calls) == 3
    assert _new_threads(before) == []
    assert not (tmp_path / "b").exists() or not list((tmp_path / "b").glob("*.npz"))


def test_peak_memory_basic(bbb, tmp_path):
    # VmHWM, the peak of this process's own memory: ru_maxrss would carry the forking pytest
    # process's size across exec (Linux keeps it), which grows with the tests run before
    code = ("import sys; from v2m_desktop.core.video.analysis import analyse; "
            "analyse(sys.argv[1], 'basic', cache_dir=sys.argv[2]); "
            "print(next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')))")
    out = subprocess.run([sys.executable, "-c", code, str(bbb), str(tmp_path)], capture_output=True,
                         text=True, check=True)
    peak_mb = int(out.stdout.strip().splitlines()[-1]) / 1024
    assert peak_mb < 1500


# --------------------------------------------------------------------------------------------- #
# the two halves decoded at once

ARRAYS = ("motion", "scene_offset", "emotion", "thumbnails", "thumb_times")


def _new_threads(before: set) -> list:
    """Threads started since `before` that are still alive (other tests' threads may end meanwhile,
    so the count alone can drop)."""
    return [t for t in threading.enumerate() if t not in before]


def _assert_same(a, b):
    assert a.cuts == b.cuts and a.shots == b.shots and a.seconds == b.seconds and a.info == b.info
    for k in ARRAYS:
        np.testing.assert_array_equal(getattr(a, k), getattr(b, k), err_msg=k)
    if a.semantic is not None or b.semantic is not None:
        np.testing.assert_array_equal(a.semantic, b.semantic)


@pytest.fixture
def split_video(make_video):
    """288 frames, split at 144 = 6.0 s: a cut, a motion second and a kept frame at the first
    frame of the second half."""
    path, cut_frames = make_video("split.mp4", 12, cuts=[1.5, 3.0, 4.25, 6.0, 9.0])
    assert 144 in cut_frames
    return path, cut_frames


@pytest.fixture
def joins(monkeypatch):
    """Records whether each split pass found its halves joined."""
    seen: list[bool] = []
    orig = analysis_mod._Span.continues_into

    def spy(self, nxt):
        seen.append(orig(self, nxt))
        return seen[-1]
    monkeypatch.setattr(analysis_mod._Span, "continues_into", spy)
    return seen


def _sequential(path, cache, monkeypatch):
    monkeypatch.setattr(analysis_mod, "PARALLEL", False)
    a = analyse(path, "basic", cache_dir=cache)
    monkeypatch.setattr(analysis_mod, "PARALLEL", True)
    return a


def test_halves_give_the_sequential_result(split_video, joins, tmp_path, monkeypatch):
    path, cut_frames = split_video
    seq = _sequential(path, tmp_path / "seq", monkeypatch)
    assert joins == []
    par = analyse(path, "basic", cache_dir=tmp_path / "par")
    assert joins == [True]
    _assert_same(par, seq)
    assert par.cuts == pytest.approx([f / FPS for f in cut_frames], abs=1e-6)
    assert par.thumb_times.tolist() == pytest.approx(list(range(12)))
    np.testing.assert_allclose(par.motion, reference_motion(path), atol=1e-4)


@pytest.mark.parametrize("encoding", [
    # variable frame rate (timestamps jitter), and open GOPs with B-frames and one keyframe:
    # where a seek may land elsewhere; split or not, the result must be the same
    (["-f", "lavfi", "-i", "testsrc=size=160x120:rate=30:duration=14", "-vf",
     "setpts='(N/30+0.02*mod(N,7))/TB'", "-fps_mode", "vfr", "-g", "250", "-bf", "3"]),
    (["-f", "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=10", "-g", "1000", "-bf", "3",
     "-x264-params", "open-gop=1"]),
])
def test_awkward_encodings_split_or_not_agree(encoding, joins, tmp_path, monkeypatch):
    path = tmp_path / "awkward.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", *encoding, "-c:v", "libx264",
                    "-pix_fmt", "yuv420p", str(path)], check=True)
    seq = _sequential(path, tmp_path / "seq", monkeypatch)
    _assert_same(analyse(path, "basic", cache_dir=tmp_path / "par"), seq)
    assert len(joins) == 1          # the split pass ran (joined, or fell back)


def test_halves_that_do_not_join_fall_back(split_video, tmp_path, monkeypatch):
    """An inexact seek (simulated): the second half's work is dropped and the first half's
    capture decodes on to the end."""
    path, _ = split_video
    seq = _sequential(path, tmp_path / "seq", monkeypatch)
    monkeypatch.setattr(analysis_mod._Span, "continues_into", lambda self, nxt: False)
    seen = []
    par = analyse(path, "basic", cache_dir=tmp_path / "par", progress=lambda s, f: seen.append((s, f)))
    _assert_same(par, seq)
    fr = [f for s, f in seen if s == "analyse"]
    assert fr[-1] == 1.0 and max(fr[:-1]) <= 0.99


def test_halves_with_clip_backend(split_video, tiny_clip_dir, joins, tmp_path, monkeypatch):
    """The second half holds CLIP's crops until the first half's frames are in: same embeddings."""
    path, _ = split_video
    monkeypatch.setattr(analysis_mod, "PARALLEL", False)
    seq = analyse(path, "clip", clip_model=str(tiny_clip_dir), cache_dir=tmp_path / "seq")
    monkeypatch.setattr(analysis_mod, "PARALLEL", True)
    par = analyse(path, "clip", clip_model=str(tiny_clip_dir), cache_dir=tmp_path / "par")
    assert joins == [True]
    _assert_same(par, seq)


def test_halves_cancel_and_errors(split_video, tmp_path, monkeypatch):
    path, _ = split_video
    before = set(threading.enumerate())
    reports = []

    def cancel_while_decoding(stage, fraction):
        reports.append(fraction)
        if len(reports) > 1:                    # the first report comes before the decoding
            raise Cancelled()
    with pytest.raises(Cancelled):
        analyse(path, "basic", cache_dir=tmp_path / "a", progress=cancel_while_decoding)
    assert _new_threads(before) == []

    def boom(self, frame, t_ms):
        raise RuntimeError("decoder exploded")
    monkeypatch.setattr(analysis_mod._Span, "add", boom)
    with pytest.raises(RuntimeError, match="decoder exploded"):
        analyse(path, "basic", cache_dir=tmp_path / "b")
    assert _new_threads(before) == []
    assert not list((tmp_path).glob("*/*.npz"))


def test_first_frame_of_each_second_is_kept(make_video, tmp_path):
    """At 23.976 fps the frame of second k is the first at or after k s (no drift: a rule chained
    on the previously kept frame, 24 frames = 1.001 s apart, would be 1 s late after ~1000 s)."""
    fps = 24000 / 1001
    path, _ = make_video("ntsc.mp4", 10, fps=fps)
    a = analyse(path, "basic", cache_dir=tmp_path)
    assert a.seconds == 10
    frames = [math.ceil(k * fps - 1e-6) for k in range(10)]
    assert a.thumb_times.tolist() == pytest.approx([f / fps for f in frames], abs=1e-6)


def test_shot_changes_find_the_hand_checked_ones(sintel, bbb_analysis, media_dir, tmp_path):
    """The music's shot changes: every abrupt change of the Sintel trailer (montage cuts, to and
    from black, title cards) within 0.25 s and, with its fades and dissolves, 88 % of all its
    changes (23 of 26: the fade to black at 15.8-16.3 s is one; the dissolve through white at
    5.1-6.0 s is not, its one histogram jump is weak evidence that a 25-fps copy does not show),
    nothing else outside its gradual transitions; BBB's
    four cuts kept. The model's cuts (and scene offsets) stay the adaptive detector's."""
    from v2m_desktop.core.lab.bench import _sintel_reference, cut_detection
    a = analyse(sintel, "basic", cache_dir=tmp_path)
    hard, ranges = _sintel_reference(media_dir)
    r = cut_detection(a.shot_changes, hard, ranges)
    assert r["recall_abrupt"] >= 0.9 and r["precision"] >= 0.9 and r["recall"] >= 0.88
    assert any(15.8 <= c <= 16.3 for c in a.shot_changes)
    assert set(a.cuts) <= set(a.shot_changes)
    # what the timeline marks apart from the cuts: the rest of the shot changes
    assert len(a.transitions) >= 5 and sorted(a.transitions + list(a.cuts)) == pytest.approx(a.shot_changes)
    b = bbb_analysis.shot_changes
    assert all(any(abs(c - s) < 1e-6 for s in b) for c in bbb_analysis.cuts) and len(b) <= 5


@pytest.mark.slow
@pytest.mark.parametrize("copy", [["-vf", "scale=iw/2:-2", "-crf", "35"], ["-vf", "fps=25", "-crf", "23"]],
                         ids=["half-crf35", "25fps"])
def test_a_re_encoded_copy_has_the_same_shot_changes_motion_and_tempo(copy, sintel, tmp_path):
    """What the music follows is the picture, not its encoding: a half-size CRF-35 copy of the
    Sintel trailer (blocky fades, hues of dark frames changed) and a 25-fps copy (every 24th
    frame doubled) have the original's shot changes (each within 0.1 s), its coarse motion
    (within 10 %, where the dataset's motion halves at half size) and its tempo (within 1 BPM)."""
    from v2m_desktop.core.arrange.tempo import choose_tempo
    dst = tmp_path / "copy.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(sintel), *copy, "-c:v", "libx264",
                    "-pix_fmt", "yuv420p", "-an", str(dst)], check=True)
    a = analyse(sintel, "basic", cache_dir=tmp_path / "a")
    b = analyse(dst, "basic", cache_dir=tmp_path / "b")
    assert len(a.shot_changes) == len(b.shot_changes)
    assert np.abs(np.array(a.shot_changes) - np.array(b.shot_changes)).max() <= 0.1
    assert abs(b.picture_motion.mean() / a.picture_motion.mean() - 1) < 0.1
    tempo = [choose_tempo(x.shot_changes, x.info.duration, x.emotion) for x in (a, b)]
    assert abs(tempo[0] - tempo[1]) <= 1.0


def test_a_one_frame_flash_is_no_shot_change():
    """A frame unlike both its neighbours (an encoder's glitch, a lightning strike) is a cut to the
    adaptive detector, but the music does not follow it; a real cut (the next frame stays) it
    does."""
    from v2m_desktop.core.video.analysis import shot_changes
    n = 60
    scores, feats = np.full(n, 2.0), np.tile([150.0, 0.01, 0.0, 0.8], (n, 1))
    scores[20] = scores[21] = 25.0                   # frame 20 differs, frame 21 is frame 19 again
    feats[20] = [149.0, 0.24, 0.002, 0.83]
    scores[40] = 60.0                                # a cut: frame 40 on is another shot
    feats[40:, 0], feats[40:, 3], feats[40, 1] = 90.0, 0.3, 0.8
    cuts = AdaptiveCutDetector().cuts(scores)
    assert cuts == [20, 40]
    assert shot_changes(scores, feats.ravel(), cuts) == [40]
