"""The project commands end to end: score --project, project new, edit (all or nothing), show
--json, export."""
from __future__ import annotations

import json

import pytest

from v2m_desktop.cli import main
from v2m_desktop.core.video.synthetic import make_test_video


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("pclip") / "clip.mp4"
    make_test_video(path, 12, fps=24, size=(192, 108), cuts=[4.0, 8.0])
    return path


def _show(capsys, project):
    capsys.readouterr()
    assert main(["show", str(project), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_score_with_project_then_edit_show_and_export(clip, tmp_path, capsys):
    proj = tmp_path / "p.v2m"
    assert main(["score", str(clip), "-o", str(tmp_path / "s.mp4"), "--project", str(proj), "--seed", "4",
                 "--vision", "basic", "--quiet"]) == 0
    shown = _show(capsys, proj)
    assert sum(b["end"] - b["start"] for b in shown["blocks"]) == 12 and shown["targets"] == []
    from v2m_desktop.core.chords import chord_id, chord_symbol, parse_key, transpose
    shift = parse_key("D minor")[0] - parse_key(shown["key"])[0]
    moved = chord_symbol(transpose(chord_id(9, "min"), shift))            # Am, moved with the key
    assert main(["edit", str(proj), "--chord", "2-5=Am", "--lock", "2-5", "--target", "0:06-0:10=sad:0.8",
                 "--regenerate", "6-10:3", "--key", "D minor"]) == 0
    shown = _show(capsys, proj)
    assert shown["key"] == "D minor"
    # chords are spelt in the key, in `show` and in the file, as the app and the MIDI spell them
    assert main(["edit", str(proj), "--chord", "10-12=A#"]) == 0
    assert [b["chord"] for b in _show(capsys, proj)["blocks"] if b["start"] == 10] == ["Bb"]
    saved = json.loads(proj.read_text())
    assert saved["chords"][10:12] == ["Bb", "Bb"] and not any("#" in c for c in saved["chords"])
    am = [b for b in shown["blocks"] if b["start"] <= 2 and b["end"] >= 5]
    assert am and am[0]["chord"] == moved and am[0]["locked"]
    # split the Am block at 3: two blocks of one chord; merge joins them again
    assert main(["edit", str(proj), "--split", "3"]) == 0
    blocks = _show(capsys, proj)["blocks"]
    assert [b["chord"] for b in blocks if 3 in (b["start"], b["end"])] == [moved, moved]
    assert main(["edit", str(proj), "--merge", "3"]) == 0
    assert not any(b["start"] == 3 for b in _show(capsys, proj)["blocks"])
    assert shown["targets"] == [{"start": 6, "end": 10, "emotion": "sad", "intensity": 0.8}]
    assert shown["takes"] == [{"start": 6, "end": 10, "count": 2, "current": 1}]
    out = tmp_path / "e.mp4"
    assert main(["export", str(proj), "-o", str(out), "--midi", str(tmp_path / "e.mid"), "--quiet"]) == 0
    assert out.stat().st_size > 1000
    import pretty_midi
    lyrics = [(round(ly.time, 2), ly.text) for ly in pretty_midi.PrettyMIDI(str(tmp_path / "e.mid")).lyrics]
    assert any(t == moved for _, t in lyrics)


def test_a_bad_edit_anywhere_leaves_the_file_unchanged(clip, tmp_path, capsys):
    proj = tmp_path / "p.v2m"
    assert main(["project", "new", str(clip), "-o", str(proj), "--seed", "1", "--vision", "basic",
                 "--quiet"]) == 0
    before = proj.read_bytes()
    for bad in (["--chord", "2-5=Am", "--chord", "3-99=C"], ["--lock", "2-5", "--target", "1-3=angry"],
                ["--target", "1-3=sad:1.4"], ["--chord", "1-2=Hmaj"], ["--take", "1-3=2"],
                ["--tempo", "fast"], ["--split", "0"], ["--split", "2.5"]):
        assert main(["edit", str(proj), *bad]) == 2
        err = capsys.readouterr().err
        assert err.startswith("v2m: ") and err.count("\n") == 1, err
        assert proj.read_bytes() == before
    (tmp_path / "damaged.v2m").write_text("{")
    assert main(["show", str(tmp_path / "damaged.v2m")]) == 2


def test_styles_on_the_command_line(clip, tmp_path, capsys):
    """`v2m styles` lists them; `score --style` plays it and says so (and the SoundFont); `edit
    --style` sets the piece's style or a range's; a bad one changes nothing."""
    assert main(["styles"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) >= 7 and lines[-1].startswith("auto")
    assert any(line.startswith("lofi") and "Lo-fi" in line for line in lines)
    proj = tmp_path / "p.v2m"
    assert main(["score", str(clip), "--midi", str(tmp_path / "s.mid"), "--project", str(proj), "--seed", "2",
                 "--vision", "basic", "--style", "Lo-fi", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "style      Lo-fi\n" in out and "soundfont  " in out
    import pretty_midi

    from v2m_desktop.core.arrange.styles import all_styles
    programs = {i.name: i.program for i in pretty_midi.PrettyMIDI(str(tmp_path / "s.mid")).instruments}
    assert programs["piano"] == all_styles()["lofi"].program("piano") and "melody" in programs
    assert main(["edit", str(proj), "--style", "ambient", "--style", "4-8=Upbeat pop"]) == 0
    saved = json.loads(proj.read_text())["settings"]
    assert saved["style"] == "ambient" and saved["style_ranges"] == [[4, 8, "pop"]]
    before = proj.read_bytes()
    for bad in (["--style", "polka"], ["--style", "4-99=lofi"], ["--style", "4-8="]):
        assert main(["edit", str(proj), *bad]) == 2
        err = capsys.readouterr().err
        assert err.startswith("v2m: ") and err.count("\n") == 1, err
        assert proj.read_bytes() == before
    assert main(["export", str(proj), "--midi", str(tmp_path / "e.mid"), "--quiet"]) == 0
    assert "style      Ambient; 4-8 s Upbeat pop" in capsys.readouterr().out


def test_a_daw_round_trip_on_the_command_line(clip, tmp_path, capsys):
    """export --midi, a DAW's changes (pretty_midi), edit --import-midi, show lists the note
    edits; a chord change under an edited note drops it, and says so; a file that does not match
    is one line and the project stays as it was."""
    import pretty_midi
    proj = tmp_path / "p.v2m"
    assert main(["project", "new", str(clip), "-o", str(proj), "--seed", "2", "--vision", "basic",
                 "--quiet"]) == 0
    assert main(["export", str(proj), "--midi", str(tmp_path / "out.mid"), "--quiet"]) == 0
    m = pretty_midi.PrettyMIDI(str(tmp_path / "out.mid"))
    piano = next(i for i in m.instruments if i.name == "piano")
    moved = next(n for n in piano.notes if 5.0 <= n.start < 6.0)
    moved.pitch += 3
    m.write(str(tmp_path / "daw.mid"))
    capsys.readouterr()
    assert main(["edit", str(proj), "--import-midi", str(tmp_path / "daw.mid")]) == 0
    assert "daw.mid: +2 note edits" in capsys.readouterr().out
    notes = _show(capsys, proj)["notes"]
    assert len(notes["removed"]) == 1 and notes["added"][0]["pitch"] == moved.pitch
    assert main(["show", str(proj)]) == 0
    out = capsys.readouterr().out
    assert "note edits: 1 notes put in, 1 taken out" in out and "+ piano" in out
    assert main(["export", str(proj), "--midi", str(tmp_path / "again.mid"), "--quiet"]) == 0
    again = pretty_midi.PrettyMIDI(str(tmp_path / "again.mid"))
    assert any(n.pitch == moved.pitch and abs(n.start - moved.start) < 0.002
               for n in next(i for i in again.instruments if i.name == "piano").notes)
    # another tempo map: refused in one line, the file unchanged
    saved = proj.read_bytes()
    other = pretty_midi.PrettyMIDI(initial_tempo=170.0)
    other.instruments = pretty_midi.PrettyMIDI(str(tmp_path / "out.mid")).instruments
    other.write(str(tmp_path / "other.mid"))
    assert main(["edit", str(proj), "--import-midi", str(tmp_path / "other.mid")]) == 2
    err = capsys.readouterr().err
    assert "another tempo map than the project" in err and err.count("\n") == 1
    assert proj.read_bytes() == saved
    # a new chord under the edited note drops its edit, and says so
    second = int(moved.start)
    shown = _show(capsys, proj)
    chord = next(b["chord"] for b in shown["blocks"] if b["start"] <= second < b["end"])
    other = "Am" if chord != "Am" else "C"
    assert main(["edit", str(proj), "--chord", f"{second}-{second + 1}={other}"]) == 0
    assert "2 note edits dropped: the chords under them changed" in capsys.readouterr().out
    assert _show(capsys, proj)["notes"] == {"removed": [], "added": []}


def _no_room(kind: str, tmp_path):
    """(the folder to write into, the child's preexec_fn): a full tmpfs (ENOSPC; mounting needs
    root), or a file size limit (EFBIG: what a full disk does to a write, anywhere)."""
    import resource
    import signal
    import subprocess
    if kind == "file size limit":
        def limit():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)       # the write fails instead
            resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))
        (tmp_path / "out").mkdir()
        return tmp_path / "out", limit, None
    disk = tmp_path / "disk"
    disk.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(disk)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
    (disk / "filler").write_bytes(b"\0" * 16384)
    return disk, None, lambda: subprocess.run(["umount", "-l", str(disk)], check=True)


@pytest.mark.parametrize("kind", ["full tmpfs", "file size limit"])
def test_project_new_onto_a_full_disk_is_one_line_and_no_file(tmp_path, kind):
    import os
    import subprocess
    import sys
    video = tmp_path / "clip.mp4"
    make_test_video(video, 4, fps=12, size=(96, 64), cuts=[2.0])
    folder, preexec, unmount = _no_room(kind, tmp_path)
    before = sorted(p.name for p in folder.iterdir())
    try:
        r = subprocess.run([sys.executable, "-m", "v2m_desktop.cli", "project", "new", str(video),
                            "-o", str(folder / "P.v2m"), "--quiet"], capture_output=True, text=True,
                           preexec_fn=preexec, env={**os.environ, "V2M_CACHE_DIR": str(tmp_path / "cache")},
                           timeout=120)
        after = sorted(p.name for p in folder.iterdir())
    finally:
        if unmount:
            unmount()
    reason = "No space left on device" if kind == "full tmpfs" else "File too large"
    assert r.returncode != 0
    assert r.stderr.strip().splitlines() == [f"v2m: cannot write {folder / 'P.v2m'}: {reason}"]
    assert after == before          # no P.v2m, no temporary file
