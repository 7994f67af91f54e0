"""Export: MP4 with the video stream copied and an AAC soundtrack of the video's duration, the
original sound mixed under, WAV and stems, atomic writes, and each bad input."""
from __future__ import annotations

import json
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from v2m_desktop.core.errors import Cancelled, V2MError
from v2m_desktop.core.export import (
    Subtitles,
    export_delivery,
    export_mp4,
    ffmpeg_exe,
    has_audio,
    write_stems,
    write_wav,
)
from v2m_desktop.core.lab.bench import bench_export

SR = 44100
FPS = 24
BBB = Path(__file__).resolve().parents[3] / "shared" / "media" / "big_buck_bunny_360p_56s.mp4"
FFPROBE = shutil.which("ffprobe")


def _make_video(path: Path, seconds: float = 2.0, size=(160, 120)) -> Path:
    cv2 = pytest.importorskip("cv2")
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, size)
    assert w.isOpened()
    for i in range(int(seconds * FPS)):
        frame = np.zeros((size[1], size[0], 3), np.uint8)
        frame[:] = (40, 80, 160) if i < seconds * FPS / 2 else (160, 60, 30)   # a cut half-way
        frame[:, (i * 3) % size[0]] = 255
        w.write(frame)
    w.release()
    return path


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    d = tmp_path_factory.mktemp("media")
    silent = _make_video(d / "tiny.mp4")
    sound = d / "tiny_sound.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(silent), "-f", "lavfi", "-i",
                    "sine=frequency=440:sample_rate=44100:duration=2", "-map", "0:v", "-map", "1:a",
                    "-c:v", "copy", "-c:a", "aac", "-shortest", str(sound)], check=True)
    return {"silent": silent, "sound": sound, "duration": 2.0}


def _music(seconds: float, freq: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    s = 0.5 * np.sin(2 * np.pi * freq * t).astype(np.float32)
    return np.stack([s, s], 1)


def _framemd5(path: Path) -> list[str]:
    out = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:v", "-c", "copy",
                          "-f", "framemd5", "-"], capture_output=True, text=True, check=True).stdout
    return [ln for ln in out.splitlines() if ln and not ln.startswith("#")]


def _streams(path: Path) -> dict:
    if FFPROBE is None:
        pytest.skip("ffprobe not installed")
    out = subprocess.run([FFPROBE, "-v", "error", "-show_streams", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return {s["codec_type"]: s for s in json.loads(out)["streams"]}


def _decode(path: Path) -> np.ndarray:
    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:a:0", "-ac", "2",
                          "-ar", str(SR), "-f", "f32le", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, "<f4").reshape(-1, 2)


def _tone_level(audio: np.ndarray, freq: float) -> float:
    x = audio[:, 0]
    t = np.arange(len(x)) / SR
    return float(np.abs(np.mean(x * np.exp(-2j * np.pi * freq * t))) * 2)


def test_export_copies_video_and_adds_aac_of_the_right_duration(media, tmp_path):
    out = tmp_path / "out.mp4"
    seen = []
    export_mp4(media["silent"], _music(2.0), SR, out, duration=media["duration"],
               progress=lambda stage, f: seen.append(f))
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]          # no temp file left
    streams = _streams(out)
    assert streams["audio"]["codec_name"] == "aac"
    assert abs(float(streams["audio"]["duration"]) - media["duration"]) <= 1 / FPS
    assert abs(float(streams["video"]["duration"]) - media["duration"]) <= 1 / FPS
    assert _framemd5(out) == _framemd5(media["silent"])
    audio = _decode(out)
    assert np.sqrt((audio ** 2).mean()) > 0.1
    assert seen and seen[-1] == 1.0


def test_keep_original_audio_mixes_it_under(media, tmp_path):
    silence = np.zeros((2 * SR, 2), np.float32)
    music = _music(2.0, 220.0) * 0.5
    export_mp4(media["sound"], music + silence, SR, tmp_path / "mix.mp4", duration=2.0,
               keep_original_audio=0.5)
    export_mp4(media["sound"], music, SR, tmp_path / "plain.mp4", duration=2.0)
    mix, plain = _decode(tmp_path / "mix.mp4"), _decode(tmp_path / "plain.mp4")
    assert _tone_level(mix, 440) > 0.03 and _tone_level(plain, 440) < 0.01
    assert _tone_level(mix, 220) > 0.15          # the sine is at 1/8 full scale, here at 0.5
    assert np.abs(mix).max() <= 1.0
    assert _framemd5(tmp_path / "mix.mp4") == _framemd5(media["sound"])
    # a video without sound: the option is simply ignored
    export_mp4(media["silent"], music, SR, tmp_path / "nosound.mp4", duration=2.0, keep_original_audio=0.5)
    assert has_audio(media["sound"]) and not has_audio(media["silent"])


def test_mono_audio_and_exact_duration_padding(media, tmp_path):
    mono = _music(1.2)[:, 0]                                  # shorter than the video: padded
    out = export_mp4(media["silent"], mono, SR, tmp_path / "m.mp4", duration=2.0)
    assert abs(float(_streams(out)["audio"]["duration"]) - 2.0) <= 1 / FPS


def test_output_equal_to_input_is_refused(media, tmp_path):
    src = tmp_path / "in.mp4"
    shutil.copy(media["silent"], src)
    before = src.read_bytes()
    with pytest.raises(V2MError, match="is the input"):
        export_mp4(src, _music(2.0), SR, src, duration=2.0)
    with pytest.raises(V2MError, match="is the input"):
        export_mp4(src, _music(2.0), SR, tmp_path / "." / "in.mp4", duration=2.0)
    link = tmp_path / "hard.mp4"
    link.hardlink_to(src)
    with pytest.raises(V2MError, match="is the input"):
        export_mp4(src, _music(2.0), SR, link, duration=2.0)
    assert src.read_bytes() == before


def test_unwritable_folder(media, tmp_path):
    with pytest.raises(V2MError, match="folder"):
        export_mp4(media["silent"], _music(2.0), SR, tmp_path / "missing" / "o.mp4", duration=2.0)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(V2MError):
        export_mp4(media["silent"], _music(2.0), SR, blocker / "o.mp4", duration=2.0)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if _can_write(ro):
            pytest.skip("running as root: permissions do not stop writes")
        with pytest.raises(V2MError, match="cannot write"):
            export_mp4(media["silent"], _music(2.0), SR, ro / "o.mp4", duration=2.0)
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o700)


def test_folder_nobody_can_write(media):
    if not Path("/proc/self").is_dir():
        pytest.skip("no /proc")
    with pytest.raises(V2MError, match="cannot write to the folder"):     # even as root
        export_mp4(media["silent"], _music(2.0), SR, Path("/proc/o.mp4"), duration=2.0)


def _can_write(folder: Path) -> bool:
    try:
        (folder / ".w").write_text("x")
        (folder / ".w").unlink()
        return True
    except OSError:
        return False


def test_failed_ffmpeg_leaves_nothing(tmp_path):
    fake = tmp_path / "notavideo.mp4"
    fake.write_text("this is not a video")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(V2MError, match="notavideo.mp4 is not a video file"):     # its probe says
        export_mp4(fake, _music(1.0), SR, out_dir / "o.mp4", duration=1.0)
    assert list(out_dir.iterdir()) == []
    with pytest.raises(V2MError, match="video not found"):
        export_mp4(tmp_path / "none.mp4", _music(1.0), SR, out_dir / "o.mp4", duration=1.0)


def test_cancel_through_progress_leaves_nothing(media, tmp_path):
    def cancel(_stage, _fraction):
        raise Cancelled()
    with pytest.raises(Cancelled):
        export_mp4(media["silent"], _music(2.0), SR, tmp_path / "c.mp4", duration=2.0, progress=cancel)
    assert list(tmp_path.iterdir()) == []


def test_bad_level(media, tmp_path):
    with pytest.raises(V2MError, match="between 0 and 1"):
        export_mp4(media["sound"], _music(2.0), SR, tmp_path / "o.mp4", duration=2.0,
                   keep_original_audio=2.0)


def test_wav_and_stems(tmp_path):
    audio = _music(0.5)
    path = write_wav(audio, SR, tmp_path / "a.wav")
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getframerate(), w.getsampwidth()) == (2, SR, 2)
        assert w.getnframes() == len(audio)
        data = np.frombuffer(w.readframes(len(audio)), "<i2").reshape(-1, 2) / 32767
    assert np.abs(data - audio).max() < 1e-3
    files = write_stems({"piano": audio, "bass": audio[:, 0]}, SR, tmp_path / "stems" / "x")
    assert sorted(p.name for p in files) == ["bass.wav", "piano.wav"]
    assert sorted(p.name for p in (tmp_path / "stems" / "x").iterdir()) == ["bass.wav", "piano.wav"]
    with pytest.raises(V2MError, match="folder"):
        write_wav(audio, SR, tmp_path / "nope" / "a.wav")
    with pytest.raises(V2MError, match="is the input"):
        write_wav(audio, SR, path, source=path)


def test_bench_export_on_a_tiny_video(media):
    res = bench_export(media["silent"])
    assert res["export_s"] > 0 and res["moviepy_reencode_s"] > 0
    assert res["speedup"] == pytest.approx(res["moviepy_reencode_s"] / res["export_s"])


@pytest.mark.slow
def test_big_buck_bunny_full_chain(tmp_path):
    if not BBB.is_file():
        pytest.skip(f"test clip not found at {BBB}")
    from v2m_desktop.core.arrange import ArrangeOptions, arrange, cut_alignment, write_midi
    from v2m_desktop.core.chords import chord_id
    from v2m_desktop.core.render import render, render_stems
    from v2m_desktop.core.tracks import ChordTrack, Dynamics

    duration = 1346 / 24
    cuts = [11.875, 15.75, 23.042, 47.708]
    T = int(np.ceil(duration))
    prog = [chord_id(0, "maj"), chord_id(9, "min"), chord_id(5, "maj"), chord_id(7, "maj")]
    tokens = np.array([prog[(s // 2) % 4] for s in range(T)])
    emo = np.tile([0.1, 0.05, 0.15, 0.1, 0.5, 0.1], (T, 1))
    arr = arrange(ChordTrack(tokens), Dynamics(np.linspace(4, 22, T), np.linspace(0.05, 0.3, T)),
                  duration=duration, cuts=cuts, motion=np.linspace(1, 20, T), emotion=emo,
                  options=ArrangeOptions())
    align = cut_alignment(arr)
    assert align["beat"] == 1.0 and align["chord"] >= 0.75
    audio = render(arr.midi, sample_rate=SR, duration=duration)
    out = export_mp4(BBB, audio, SR, tmp_path / "bbb.mp4", duration=duration)
    write_midi(arr, tmp_path / "bbb.mid")
    write_stems(render_stems(arr, sample_rate=SR), SR, tmp_path / "stems")
    streams = _streams(out)
    assert streams["audio"]["codec_name"] == "aac"
    assert abs(float(streams["audio"]["duration"]) - duration) <= 1 / 24
    assert _framemd5(out) == _framemd5(BBB)
    assert np.sqrt((_decode(out) ** 2).mean()) > 0.03
    stems = sorted(p.stem for p in (tmp_path / "stems").iterdir())
    assert stems == sorted(i.name for i in arr.midi.instruments)
    assert len(arr.midi.instruments) >= 4


SRT = "1\n00:00:00,200 --> 00:00:01,000\nHello there\n\n2\n00:00:01,100 --> 00:00:01,800\nSecond line\n"


def test_an_mkvs_subtitles_go_into_the_mp4_as_mov_text(media, tmp_path):
    """An MKV with an .srt muxed in (English): the export's MP4 carries it as mov_text, the same
    cues and language; the original MP4s' tracks are untouched."""
    (tmp_path / "subs.srt").write_text(SRT)
    mkv = tmp_path / "clip.mkv"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(media["silent"]),
                    "-i", str(tmp_path / "subs.srt"), "-map", "0:v", "-map", "1:s", "-c:v", "copy",
                    "-c:s", "srt", "-metadata:s:s:0", "language=eng", str(mkv)], check=True)
    assert Subtitles.of(mkv).codecs == ("subrip",) and Subtitles.of(mkv).note() is None
    for name, export in (("delivery", lambda out: export_delivery(mkv, _music(2.0), SR, out, duration=2.0,
                                                                    ceiling_dbtp=-1.0)),
                         ("mp4", lambda out: export_mp4(mkv, _music(2.0), SR, out, duration=2.0))):
        out = tmp_path / f"{name}.mp4"
        export(out)
        sub = _streams(out)["subtitle"]
        assert (sub["codec_name"], sub["tags"]["language"]) == ("mov_text", "eng")
        cues = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(out), "-map", "0:s:0",
                               "-f", "srt", "-"], capture_output=True, text=True, check=True).stdout
        assert "Hello there" in cues and "Second line" in cues
        assert "00:00:00,200 --> 00:00:01,000" in cues
    assert Subtitles.of(media["silent"]).ffmpeg_args() == []        # none: nothing mapped


def test_subtitles_an_mp4_cannot_hold_are_said():
    """Blu-ray and DVB bitmaps have no place in an MP4 (ffmpeg cannot make them to test with:
    the rule is checked on the codecs ffprobe names)."""
    s = Subtitles(Path("film.mkv"), ("subrip", "hdmv_pgs_subtitle", "dvd_subtitle"))
    assert s.dropped == ["hdmv_pgs_subtitle"]
    assert s.note() == "film.mkv: its hdmv_pgs_subtitle subtitle stream cannot go into an MP4 and is left out"
    assert s.ffmpeg_args() == ["-map", "0:s:0", "-c:s:0", "mov_text", "-map", "0:s:2", "-c:s:1", "copy"]
