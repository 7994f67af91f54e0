"""probe(): facts of good files, one clear line for each kind of bad input."""
from __future__ import annotations

import shutil
import subprocess
import wave

import cv2
import numpy as np
import pytest

import v2m_desktop.core.video.probe as probe_mod
from v2m_desktop.core.errors import V2MError
from v2m_desktop.core.video.analysis import analyse
from v2m_desktop.core.video.probe import parse_ffmpeg_banner, probe

FFMPEG = probe_mod.ffmpeg_exe()


def _err(path, fn=probe) -> str:
    with pytest.raises(V2MError) as ei:
        fn(path)
    msg = str(ei.value)
    assert "\n" not in msg
    assert path.name in msg
    return msg


# --------------------------------------------------------------------------------------------- #
# good files

def test_probe_synthetic_with_audio(make_video):
    path, _ = make_video("audio.mp4", 3, cuts=[1.5], with_audio=True)
    info = probe(path)
    assert (info.width, info.height, info.rotation) == (160, 120, 0)
    assert info.fps == pytest.approx(24.0)
    assert info.frame_count == 72
    assert info.duration == pytest.approx(3.0, abs=0.05)
    assert info.video_codec == "h264"
    assert info.has_audio and info.audio_codec == "aac"
    assert info.size_bytes == path.stat().st_size
    assert info.path == str(path)


def test_probe_real_clips(bbb, sintel):
    b = probe(bbb)
    assert (b.width, b.height, b.frame_count, b.video_codec, b.audio_codec) == (640, 360, 1346, "h264", "aac")
    assert b.duration == pytest.approx(56.083, abs=0.01) and b.fps == 24.0
    s = probe(sintel)        # stream 0 is the audio there
    assert (s.width, s.height, s.frame_count, s.video_codec, s.has_audio) == (480, 204, 1252, "h264", True)


def test_probe_without_ffprobe_parses_ffmpeg(make_video, bbb, monkeypatch):
    path, _ = make_video("audio.mp4", 3, cuts=[1.5], with_audio=True)
    want = [probe(path), probe(bbb)]
    real_which = shutil.which
    monkeypatch.setattr(probe_mod.shutil, "which",
                        lambda n, *a, **k: None if n == "ffprobe" else real_which(n))
    for w, p in zip(want, [path, bbb]):
        got = probe(p)
        assert (got.width, got.height, got.video_codec, got.has_audio, got.audio_codec, got.rotation) == \
            (w.width, w.height, w.video_codec, w.has_audio, w.audio_codec, w.rotation)
        assert got.fps == pytest.approx(w.fps)
        assert got.duration == pytest.approx(w.duration, abs=0.02)
        assert abs(got.frame_count - w.frame_count) <= 1


def test_parse_ffmpeg_banner_rotation_and_cover_art():
    text = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'x.mp4':
  Duration: 00:00:06.02, start: 0.000000, bitrate: 104 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 160x120, 32 kb/s, \
29.97 fps, 29.97 tbr, 30k tbn (default)
    Side data:
      displaymatrix: rotation of -90.00 degrees
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, stereo, fltp, 64 kb/s (default)
  Stream #0:2: Video: mjpeg (Baseline), yuvj420p(pc), 300x300, 90k tbr, 90k tbn (attached pic)
At least one output file must be specified
"""
    meta = parse_ffmpeg_banner(text)
    assert meta["error"] is None
    v, a, pic = meta["streams"]
    assert (v["codec_name"], v["width"], v["height"], v["rotation"]) == ("h264", 160, 120, 90)
    assert v["fps"] == pytest.approx(29.97)
    assert a["codec_type"] == "audio" and a["codec_name"] == "aac"
    assert pic["attached_pic"]
    assert meta["format"]["duration"] == pytest.approx(6.02)
    assert parse_ffmpeg_banner("x.txt: Invalid data found when processing input\n")["error"]


def test_probe_rotation(make_video, tmp_path):
    path, _ = make_video("plain.mp4", 2)
    rot = tmp_path / "rot.mp4"
    if FFMPEG is None:
        pytest.skip("no ffmpeg")
    r = subprocess.run([FFMPEG, "-v", "error", "-y", "-display_rotation", "90", "-i", str(path), "-c", "copy",
                        str(rot)], capture_output=True)
    if r.returncode != 0:       # ffmpeg < 6 has no -display_rotation; the old tag still works there
        subprocess.run([FFMPEG, "-v", "error", "-y", "-i", str(path), "-c", "copy", "-metadata:s:v:0",
                        "rotate=90", str(rot)], check=True, capture_output=True)
    info = probe(rot)
    if info.rotation == 0:
        pytest.skip("this ffmpeg wrote no rotation")
    assert info.rotation in (90, 270)
    assert (info.width, info.height) == (120, 160)
    a = analyse(rot, "basic", cache_dir=tmp_path / "c")
    assert a.thumbnails.shape[1] > a.thumbnails.shape[2]     # portrait thumbnails, as displayed


# --------------------------------------------------------------------------------------------- #
# bad input: one line naming the file

def test_missing_file(tmp_path):
    assert "does not exist" in _err(tmp_path / "nope.mp4")


def test_folder(tmp_path):
    d = tmp_path / "clip.mp4"
    d.mkdir()
    assert "folder" in _err(d)


def test_zero_length(tmp_path):
    p = tmp_path / "x.mp4"
    p.write_bytes(b"")
    assert _err(p) == "x.mp4 is empty (0 bytes)"
    assert _err(p, lambda q: analyse(q, "basic")) == "x.mp4 is empty (0 bytes)"


def test_not_a_video(tmp_path):
    p = tmp_path / "notes.mp4"
    p.write_text("just some text, not a movie\n" * 20)
    assert "is not a video file" in _err(p)


def test_truncated_moov_at_end(make_video, tmp_path):
    path, _ = make_video("plain.mp4", 2)
    data = path.read_bytes()
    assert data[4:8] == b"ftyp" and data.find(b"moov") > len(data) // 2   # moov written last
    p = tmp_path / "cut.mp4"
    p.write_bytes(data[: len(data) // 2])
    assert "looks truncated or damaged" in _err(p)
    assert "looks truncated or damaged" in _err(p, lambda q: analyse(q, "basic"))


def test_truncated_faststart(make_video, tmp_path):
    if FFMPEG is None:
        pytest.skip("no ffmpeg")
    path, _ = make_video("plain.mp4", 2)
    fs = tmp_path / "fs.mp4"
    subprocess.run([FFMPEG, "-v", "error", "-y", "-i", str(path), "-c", "copy", "-movflags", "+faststart",
                    str(fs)], check=True, capture_output=True)
    data = fs.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")
    p = tmp_path / "half.mp4"
    p.write_bytes(data[: int(len(data) * 0.6)])
    assert "looks truncated or damaged" in _err(p)


def test_audio_only_wav(tmp_path):
    p = tmp_path / "tone.wav"
    with wave.open(str(p), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        t = np.arange(8000) / 8000
        w.writeframes((np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2").tobytes())
    assert _err(p) == "tone.wav has no video stream (audio only)"
    assert _err(p, lambda q: analyse(q, "basic")) == "tone.wav has no video stream (audio only)"


def test_audio_only_m4a(tmp_path):
    if FFMPEG is None:
        pytest.skip("no ffmpeg")
    p = tmp_path / "song.m4a"
    subprocess.run([FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac",
                    str(p)], check=True, capture_output=True)
    assert "has no video stream (audio only)" in _err(p)


@pytest.mark.parametrize("ext", ["png", "jpg"])
def test_still_image(tmp_path, ext):
    p = tmp_path / f"photo.{ext}"
    img = np.zeros((120, 160, 3), np.uint8)
    cv2.rectangle(img, (20, 20), (100, 90), (0, 200, 255), -1)
    assert cv2.imwrite(str(p), img)
    assert _err(p) == f"photo.{ext} is a still image, not a video"
    assert _err(p, lambda q: analyse(q, "basic")) == f"photo.{ext} is a still image, not a video"


def test_unknown_codec(tmp_path):
    mj = tmp_path / "mj.avi"
    w = cv2.VideoWriter(str(mj), cv2.VideoWriter_fourcc(*"MJPG"), 24, (160, 120))
    for i in range(24):
        w.write(np.full((120, 160, 3), i * 10, np.uint8))
    w.release()
    p = tmp_path / "odd.avi"
    p.write_bytes(mj.read_bytes().replace(b"MJPG", b"ZZZZ"))
    msg = _err(p)
    assert "uses a codec this build cannot decode" in msg and "ZZZZ" in msg


def test_codec_opencv_cannot_decode(tmp_path):
    """AV1: ffmpeg (libaom) can write it, OpenCV's bundled FFmpeg has no AV1 software decoder."""
    if FFMPEG is None:
        pytest.skip("no ffmpeg")
    p = tmp_path / "clip.mkv"
    r = subprocess.run([FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i",
                        "testsrc=size=64x48:rate=12:duration=0.5", "-c:v", "libaom-av1", "-cpu-used", "8",
                        "-crf", "50", str(p)], capture_output=True)
    if r.returncode != 0:
        pytest.skip("no AV1 encoder")
    cap = cv2.VideoCapture(str(p))
    ok = cap.isOpened() and cap.read()[0]
    cap.release()
    if ok:
        pytest.skip("this OpenCV decodes AV1")
    assert _err(p) == "clip.mkv uses a codec this build cannot decode (av1)"
    assert _err(p, lambda q: analyse(q, "basic")) == "clip.mkv uses a codec this build cannot decode (av1)"


def test_bad_inputs_without_ffprobe(make_video, tmp_path, monkeypatch):
    """The `ffmpeg -i` fallback gives the same one-line answers."""
    path, _ = make_video("plain.mp4", 2)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n")
    png = tmp_path / "photo.png"
    cv2.imwrite(str(png), np.full((40, 60, 3), 90, np.uint8))
    wav = tmp_path / "tone.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * 4000)
    real_which = shutil.which
    monkeypatch.setattr(probe_mod.shutil, "which",
                        lambda n, *a, **k: None if n == "ffprobe" else real_which(n))
    assert _err(cut) == "cut.mp4 looks truncated or damaged (incomplete file)"
    assert _err(text) == "notes.mp4 is not a video file (format not recognised)"
    assert _err(png) == "photo.png is a still image, not a video"
    assert _err(wav) == "tone.wav has no video stream (audio only)"
