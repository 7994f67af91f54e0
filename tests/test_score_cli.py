"""`v2m score` and `v2m analyse` end to end with the shipped models, and every bad input."""
import json
import subprocess
import sys

import pretty_midi
import pytest

from v2m_desktop.cli import main
from v2m_desktop.core.video.probe import probe
from v2m_desktop.core.video.synthetic import make_test_video

CUTS = [3.0, 7.5, 11.0]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    make_test_video(path, 14, fps=24, size=(320, 180), cuts=CUTS)
    return path


def ffprobe(path, entries, streams=None):
    select = [] if streams is None else ["-select_streams", streams]
    cmd = ["ffprobe", "-v", "error", *select, "-show_entries", entries, "-of", "json", str(path)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def test_score_writes_mp4_midi_wav_and_stems(clip, tmp_path, capsys):
    out, mid, wav, stems = tmp_path / "o.mp4", tmp_path / "o.mid", tmp_path / "o.wav", tmp_path / "stems"
    assert main(["score", str(clip), "-o", str(out), "--midi", str(mid), "--wav", str(wav),
                 "--stems", str(stems), "--seed", "3", "--vision", "basic", "--quiet",
                 "--key", "E minor", "--primer", "Em C"]) == 0
    summary = capsys.readouterr().out
    assert "key        E minor" in summary and "cuts       3" in summary and "BPM" in summary
    streams = ffprobe(out, "stream=codec_type,codec_name,duration")["streams"]
    kinds = {s["codec_type"]: s for s in streams}
    assert kinds["audio"]["codec_name"] == "aac" and kinds["video"]["codec_name"] == "h264"
    assert abs(float(kinds["audio"]["duration"]) - 14.0) < 0.05
    midi = pretty_midi.PrettyMIDI(str(mid))
    assert {i.name for i in midi.instruments} >= {"piano"}      # the parts the style (auto) has
    assert [k.key_number for k in midi.key_signature_changes] == [12 + 4]      # E minor
    assert midi.lyrics[0].text == "Em" and midi.lyrics[1].text == "C"       # the primer
    assert wav.stat().st_size > 14 * 44100 * 2
    assert sorted(p.stem for p in stems.glob("*.wav")) == sorted(i.name for i in midi.instruments)


def test_analyse_json(clip, capsys):
    assert main(["analyse", str(clip), "--json", "--vision", "basic"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["vision"] == "basic" and res["semantic"] is False and res["seconds"] == 14
    assert [round(c, 2) for c in res["cuts"]] == CUTS and res["transitions"] == []     # hard cuts only
    assert res["scene_offset"][:5] == [0, 1, 2, 0, 1]


def test_score_keeps_a_rotated_video_rotated(clip, tmp_path, rotated_copy):
    """A phone video stored sideways with a display rotation: the copied stream keeps the
    rotation (it plays upright), the packets are the input's, the soundtrack has its length."""
    rot = tmp_path / "rot.mp4"
    rotation = rotated_copy(clip, rot, 90)
    if rotation == 0:
        pytest.skip("this ffmpeg wrote no rotation")
    out = tmp_path / "o.mp4"
    assert main(["score", str(rot), "-o", str(out), "--seed", "1", "--vision", "basic", "--quiet"]) == 0
    info = probe(out)
    assert (info.rotation, info.width, info.height) == (rotation, 180, 320)
    assert ffprobe(out, "packet=size,pts", "v")["packets"] == ffprobe(rot, "packet=size,pts", "v")["packets"]
    assert abs(info.duration - 14.0) < 0.05 and info.has_audio


def _bad_inputs(tmp_path, clip):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    truncated = tmp_path / "cut.mp4"
    truncated.write_bytes(clip.read_bytes()[: clip.stat().st_size // 3])
    audio = tmp_path / "tone.m4a"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=2",
                    "-c:a", "aac", str(audio)], check=True)
    still = tmp_path / "still.png"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=red:s=64x64", "-frames:v", "1",
                    str(still)], check=True)
    out = str(tmp_path / "out.mp4")
    return [
        (["score", str(tmp_path / "missing.mp4"), "-o", out], "missing.mp4"),
        (["score", str(text), "-o", out], "notes.mp4"),
        (["score", str(empty), "-o", out], "empty"),
        (["score", str(truncated), "-o", out], "cut.mp4"),
        (["score", str(audio), "-o", out], "no video"),
        (["score", str(still), "-o", out], "still image"),
        (["score", str(clip), "-o", str(clip)], "input"),
        (["score", str(clip), "-o", "/proc/out.mp4"], "/proc"),
        (["score", str(clip), "-o", str(tmp_path / "no" / "such" / "dir" / "o.mp4")], "does not exist"),
        (["score", str(clip), "-o", out, "--soundfont", str(tmp_path / "none.sf2")], "none.sf2"),
        (["score", str(clip), "-o", out, "--tempo", "fast"], "the tempo is 'auto' or beats per minute"),
        (["score", str(clip), "-o", out, "--instruments", "piano,kazoo"], "kazoo"),
        (["score", str(clip), "-o", out, "--key", "H major"], "key"),
        (["score", str(clip)], "nothing to write"),
        (["score", str(clip), "-o", out, "--seed", "-1"], "seed"),
        # every output is checked before the first is written: no MP4 when the stems cannot be
        (["score", str(clip), "-o", out, "--stems", str(text / "stems")], "stems folder"),
        (["score", str(clip), "-o", out, "--midi", str(tmp_path / "none" / "o.mid")], "does not exist"),
        # a name that says another kind of file (`-o song.wav` wrote an MP4 under that name)
        (["score", str(clip), "-o", str(tmp_path / "song.wav")], "song.wav: the MP4 needs a name"),
        (["score", str(clip), "-o", out, "--wav", str(tmp_path / "o.mp4")], "the WAV file needs a name"),
        (["score", str(clip), "--midi", str(tmp_path / "o.txt")], "the MIDI file needs a name"),
    ]


def test_bad_inputs_one_clear_line_and_no_output(clip, tmp_path, capfd):
    before = clip.read_bytes()
    for argv, needle in _bad_inputs(tmp_path, clip):
        capfd.readouterr()
        assert main([*argv, "--quiet", "--vision", "basic"]) == 2, argv
        err = capfd.readouterr().err.strip()        # file-descriptor level: FFmpeg's noise too
        assert needle in err and "Traceback" not in err and len(err.splitlines()) == 1, (argv, err)
        assert not (tmp_path / "out.mp4").exists(), argv
        assert not list(tmp_path.glob("*.part")) and not list(tmp_path.glob(".*.part")), argv
    assert not [p for p in ("song.wav", "o.mp4", "o.txt") if (tmp_path / p).exists()]
    assert clip.read_bytes() == before


def test_subprocess_has_no_traceback_and_debug_shows_it(tmp_path):
    cmd = [sys.executable, "-m", "v2m_desktop.cli"]
    proc = subprocess.run([*cmd, "score", str(tmp_path / "x.mp4"), "-o", str(tmp_path / "o.mp4")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "x.mp4" in proc.stderr
    proc = subprocess.run([*cmd, "--debug", "score", str(tmp_path / "x.mp4"), "-o", str(tmp_path / "o.mp4")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" in proc.stderr


def test_long_video_is_scored_whole(tmp_path):
    """Over 300 s: the analysis and the chords cover every second (windows that continue)."""
    from v2m_desktop.core.compose import ComposeSettings
    from v2m_desktop.core.model.generate import SamplingOptions
    from v2m_desktop.core.pipeline import ScoreSettings
    from v2m_desktop.core.scoring import score_video
    video = tmp_path / "long.mp4"
    make_test_video(video, 320, fps=12, size=(64, 48), cuts=[100.0, 250.0, 310.0])
    settings = ScoreSettings(vision="basic", cache_dir=tmp_path,
                             compose=ComposeSettings(sampling=SamplingOptions(seed=1)))
    result = score_video(video, settings)
    assert result.analysis.seconds == 320 and len(result.chords) == 320
    assert len(result.audio) == round(320 * result.sample_rate)
    assert result.arrangement.chord_times[-1][1] == pytest.approx(320, abs=0.05)
    tail = result.audio[-30 * result.sample_rate:-3 * result.sample_rate]
    assert abs(tail).max() > 0.01              # the music goes on past 300 s
