"""Files are untrusted input: a crafted or damaged .v2m file, a crafted training state, FIFOs,
devices and symbolic-link loops all end in one line, a non-zero exit and nothing changed.

The fuzz test mutates every field of a real project (made by `v2m project new` on a real clip)
into wrong types, NaN, infinities, huge values and sizes and deep nesting, in process (fast), and
a handful of the same files go through the real command line."""
from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from v2m_desktop.cli import main
from v2m_desktop.core.errors import V2MError
from v2m_desktop.core.project import MAX_BYTES, Settings, from_dict, open_project, to_dict
from v2m_desktop.core.project_file import SettingsModel
from v2m_desktop.core.video.synthetic import make_test_video

NAME = Path("P.v2m")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A real project of a real 12-s clip, with a lock, a split, a target, dynamics edits and
    takes, so that every field of the file is there to be mutated."""
    d = tmp_path_factory.mktemp("untrusted")
    clip = d / "clip.mp4"
    make_test_video(clip, 12, fps=24, size=(192, 108), cuts=[4.0, 8.0])
    proj = d / "P.v2m"
    assert main(["project", "new", str(clip), "-o", str(proj), "--vision", "basic", "--seed", "1",
                 "--quiet"]) == 0
    assert main(["edit", str(proj), "--lock", "2-5", "--split", "3", "--target", "6-9=sad:0.5",
                 "--regenerate", "8-10:2", "--tempo", "100"]) == 0
    data = json.loads(proj.read_text())
    data["dynamics"] = {"density": {"1": 3.5, "2": 4.0}, "loudness": {"4": 0.25}}
    data["settings"]["soundfont"] = None
    proj.write_text(json.dumps(data))
    open_project(proj)                      # the base is valid
    return clip, proj, data


def _paths(value, prefix=()):
    """Every place in the data: (path, value), containers and leaves."""
    yield prefix, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:3]):       # the first items stand for the rest
            yield from _paths(v, (*prefix, i))


def _deep(n: int):
    v: object = 0
    for _ in range(n):
        v = [v]
    return v


def _bad_values(rng: random.Random) -> list:
    return ["fast", "", "x" * 100_000, True, False, None, 0, -1, 7, 1.5, -5.0, 2**70, -(2**70),
            math.nan, math.inf, -math.inf, 1e308, -1e308, 1e-320, [], [1, 2], {}, {"a": 1},
            list(range(200_000)), _deep(200), rng.random() * 1e12, "\x00", "../../etc/passwd"]


def _set(d, path, value):
    d = copy.deepcopy(d)
    target = d
    for k in path[:-1]:
        target = target[k]
    target[path[-1]] = value
    return d


def _mutations(data, rng):
    """Every field set to every bad value, every field removed, an unknown field added to every
    object."""
    for path, value in list(_paths(data)):
        if not path:
            continue
        for bad in _bad_values(rng):
            yield path, "set", _set(data, path, bad)
        parent = data
        for k in path[:-1]:
            parent = parent[k]
        removed = copy.deepcopy(data)
        target = removed
        for k in path[:-1]:
            target = target[k]
        del target[path[-1]]
        yield path, "removed", removed
        if isinstance(value, dict):
            yield path, "extra", _set(data, (*path, "colour"), "blue")


def _check_accepted(p) -> None:
    """A mutation that was accepted must be a sound project: finite, in range, round-trips."""
    assert p.seconds == p.video.seconds
    assert math.isfinite(p.video.duration) and 0 < p.video.duration
    for curve in p.dynamics.values():
        assert all(math.isfinite(v) and 0 <= s < p.seconds for s, v in curve.items())
    assert from_dict(json.loads(json.dumps(to_dict(p))), NAME).state() == p.state()


def test_fuzz_every_field_is_refused_in_one_line_or_sound(made):
    _, _, data = made
    rng = random.Random(25)
    counts = {"refused": 0, "accepted": 0}
    for path, how, d in _mutations(data, rng):
        try:
            p = from_dict(d, NAME)
        except V2MError as e:
            msg = str(e)
            assert "\n" not in msg and msg.startswith("P.v2m") and len(msg) < 400, (path, how, msg)
            counts["refused"] += 1
        else:
            _check_accepted(p)
            counts["accepted"] += 1
    assert counts["refused"] + counts["accepted"] >= 500
    assert counts["refused"] > 5 * counts["accepted"], counts
    print(counts)


@pytest.mark.parametrize("field, value, message", [
    (("settings", "tempo"), "fast",
     'P.v2m: settings.tempo must be a number of BPM (30-300) or "auto", not "fast"'),
    (("settings", "tempo"), [120], "settings.tempo must be a number of BPM"),
    (("settings", "original_level"), "loud", "settings.original_level must be a level from 0 to 1"),
    (("settings", "seed"), "x", "settings.seed must be a whole number"),
    (("settings", "soundfont"), 7, "settings.soundfont must be"),
    (("settings", "vision"), 3, "settings.vision must be"),
    (("locks",), [[0, 10**12]], "locks[0][1] must be"),
    (("locks",), [[5, 2]], "locks[0] must be a range inside the video"),
    (("dynamics", "loudness", "3"), 1e308, 'dynamics.loudness["3"] must be a loudness from 0 to 1'),
    (("dynamics", "density", "3"), math.nan, "not NaN"),
    (("video", "duration"), math.nan, "video.duration must be"),
    (("video", "duration"), -5, "video.duration must be"),
    (("video", "duration"), 1e30, "video.duration must be"),
    (("settings",), "s", "settings must be an object"),
    (("settings", "colour"), "blue", "settings.colour is not a field"),
])
def test_one_field_changed_is_one_line_naming_it(made, field, value, message):
    _, _, data = made
    with pytest.raises(V2MError) as err:
        from_dict(_set(data, field, value), NAME)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_schema_and_settings_agree():
    """A Settings field added to the dataclass needs its line in the schema, and the reverse."""
    assert set(SettingsModel.model_fields) == {f.name for f in dataclasses.fields(Settings)}
    as_file = json.loads(json.dumps(dataclasses.asdict(Settings())))      # tuples as lists
    assert as_file == SettingsModel.model_validate({}).model_dump()


def _refused(args, cwd, timeout=60) -> str:
    """Run `v2m ARGS`: a non-zero exit with one line on stderr; the line. (`timeout`: a hang
    fails the test; the time itself is not asserted, the machine may be busy.)"""
    proc = subprocess.run([sys.executable, "-m", "v2m_desktop.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, env={**os.environ, "PYTHONPATH": str(ROOT)})
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.startswith("v2m: ")]
    assert proc.returncode > 0, (proc.returncode, proc.stderr)
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def test_bad_files_through_the_command_line(made, tmp_path):
    """Deep nesting, NaN, a FIFO, a device, a folder, a symbolic-link loop and a file over the
    size limit: `v2m show` says one line, exits non-zero, changes nothing, in under 10 s."""
    _, _, data = made
    files = {"deep.v2m": "[" * 5000 + "]" * 5000,
             "nan.v2m": json.dumps(_set(data, ("dynamics", "loudness", "4"), math.nan)),
             "fast.v2m": json.dumps(_set(data, ("settings", "tempo"), "fast"))}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    os.mkfifo(tmp_path / "fifo.v2m")
    os.symlink("loop.v2m", tmp_path / "loop.v2m")
    with open(tmp_path / "big.v2m", "wb") as f:
        f.truncate(MAX_BYTES + 1)
    before = {p.name: (p.lstat().st_mtime_ns, p.lstat().st_size) for p in tmp_path.iterdir()}
    lines = {}
    for name in [*files, "fifo.v2m", "loop.v2m", "big.v2m", "/dev/zero", "/dev/urandom"]:
        with pytest.raises(V2MError) as err:
            open_project(tmp_path / name)
        lines[name] = str(err.value)
        assert "\n" not in lines[name]
    assert "nested too deep" in lines["deep.v2m"]
    assert 'dynamics.loudness["4"]' in lines["nan.v2m"] and "NaN" in lines["nan.v2m"]
    assert "settings.tempo" in lines["fast.v2m"]
    assert "not a regular file" in lines["fifo.v2m"] and "not a regular file" in lines["/dev/zero"]
    assert "loop" in lines["loop.v2m"] and "too large" in lines["big.v2m"]
    assert {p.name: (p.lstat().st_mtime_ns, p.lstat().st_size) for p in tmp_path.iterdir()} == before
    # show, edit and export: the same line, a non-zero exit, no blocking on the FIFO
    assert "nested too deep" in _refused(["show", "deep.v2m"], tmp_path)
    assert "not a regular file" in _refused(["edit", "fifo.v2m", "--lock", "1-2"], tmp_path)
    assert "not a regular file" in _refused(["export", "fifo.v2m", "-o", "o.mp4"], tmp_path)
    assert not (tmp_path / "o.mp4").exists()


class _Crafted:
    """Unpickling this runs code: it creates the file `marker`."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_crafted_training_state_runs_no_code(tmp_path, muvi_root):
    import torch
    out = tmp_path / "model.pt"
    marker = tmp_path / "pwned"
    torch.save({"kind": "dynamics", "x": _Crafted(str(marker))}, out.with_name("model.pt.state"))
    line = _refused(["train", "dynamics", "--tiny", "--limit", "3", "--batch-size", "3", "--no-semantic",
                     "--data", str(muvi_root), "--out", str(out), "--epochs", "1"], tmp_path, timeout=120)
    assert "cannot resume" in line and not marker.exists() and not out.exists()


# --------------------------------------------------------------------------------------------- #
# media names and outputs

def test_media_names_are_only_names(made, tmp_path, monkeypatch):
    """A file named '-report' is not an option (ffprobe writes no log), 'concat:inner.mp4' is
    that file, not the protocol reading inner.mp4; a FIFO named x.mp4 and a symbolic-link loop
    are refused at once."""
    monkeypatch.chdir(tmp_path)
    clip, _, _ = made
    (tmp_path / "-report").write_bytes(clip.read_bytes())
    make_test_video(tmp_path / "concat:inner.mp4", 6, fps=24, size=(192, 108), cuts=[3.0])
    (tmp_path / "inner.mp4").write_bytes(clip.read_bytes())      # 12 s: what the protocol would read
    from v2m_desktop.core.video.analysis import analyse
    from v2m_desktop.core.video.probe import probe
    assert probe(Path("-report")).duration == pytest.approx(12, abs=0.1)
    assert analyse(Path("-report"), "basic").seconds == 12
    assert not list(tmp_path.glob("*.log"))
    assert probe(Path("concat:inner.mp4")).duration == pytest.approx(6, abs=0.1)
    assert analyse(Path("concat:inner.mp4"), "basic").seconds == 6
    os.mkfifo(tmp_path / "x.mp4")
    os.symlink("loop.mp4", tmp_path / "loop.mp4")
    with pytest.raises(V2MError, match="not a regular file"):
        probe(Path("x.mp4"))
    with pytest.raises(V2MError, match="loop of symbolic links"):
        probe(Path("loop.mp4"))
    for args in (["score", "x.mp4", "-o", "o.mp4"], ["analyse", "x.mp4"],
                 ["score", "loop.mp4", "-o", "o.mp4"], ["project", "new", "x.mp4", "-o", "p.v2m"]):
        assert main(args) == 2
    assert not (tmp_path / "o.mp4").exists() and not (tmp_path / "p.v2m").exists()


def test_outputs_never_name_the_project_or_a_device(made, tmp_path, capsys):
    """The project being exported, a project named like another output, a .txt project, a FIFO
    or a device: refused before any work, nothing written, the project unchanged."""
    clip, proj, _ = made
    p = tmp_path / "P.v2m"
    p.write_bytes(proj.read_bytes())
    good = p.read_bytes()
    fifo = tmp_path / "fifo.mp4"
    os.mkfifo(fifo)
    cases = [
        (["export", str(p), "-o", str(p)], "is the input file"),
        (["export", str(p), "--wav", str(p)], "is the input file"),
        (["export", str(p), "--midi", str(tmp_path / "." / "P.v2m")], "is the input file"),
        # an output named as the project: refused by its name already (a project ends in .v2m)
        (["score", str(clip), "-o", str(tmp_path / "same.v2m"), "--project", str(tmp_path / "same.v2m")],
         "the MP4 needs a name ending in .mp4"),
        (["score", str(clip), "--wav", str(tmp_path / "p2.v2m"), "--project", str(tmp_path / "p2.v2m")],
         "the WAV file needs a name ending in .wav"),
        (["score", str(clip), "-o", str(tmp_path / "out.mp4"), "--project", str(tmp_path / "p.txt")],
         "ends in .v2m"),
        (["score", str(clip), "-o", str(fifo)], "not a regular file"),
        (["score", str(clip), "-o", "/dev/null"], "not a regular file"),
        (["export", str(p), "-o", "/dev/full"], "not a regular file"),
        (["project", "new", str(clip), "-o", "/dev/full"], "ends in .v2m"),
    ]
    for args, message in cases:
        capsys.readouterr()
        assert main([*args, "--quiet"] if args[0] != "project" else [*args, "--quiet"]) == 2, args
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1, (args, err)
    assert p.read_bytes() == good
    assert sorted(f.name for f in tmp_path.iterdir()) == ["P.v2m", "fifo.mp4"]


# --------------------------------------------------------------------------------------------- #
# edits serialised on the file

def test_a_save_over_a_changed_file_is_refused(made, tmp_path):
    """The app and the command line: a project saved over a file another program changed since
    it was read is refused in one line (compare-and-swap), the other program's edit kept."""
    from v2m_desktop.core import edits as E
    from v2m_desktop.core.project import Conflict
    _, proj, _ = made
    p = tmp_path / "P.v2m"
    p.write_bytes(proj.read_bytes())
    first = open_project(p)
    subprocess.run([sys.executable, "-m", "v2m_desktop.cli", "edit", str(p), "--lock", "0-1"], check=True,
                   capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    E.Lock(10, 11).apply(first)
    with pytest.raises(Conflict, match="changed by another program"):
        first.save()
    assert 0 in open_project(p).locks and 10 not in open_project(p).locks
    first.save(tmp_path / "other.v2m")          # saving elsewhere is fine


def test_concurrent_edits_all_land(made, tmp_path):
    _, proj, _ = made
    p = tmp_path / "P.v2m"
    p.write_bytes(proj.read_bytes())
    edits = [["--lock", "0-1"], ["--unlock", "2-5"], ["--chord", "5-6=Am"], ["--target", "10-12=tense:0.5"]]
    procs = [subprocess.Popen([sys.executable, "-m", "v2m_desktop.cli", "edit", str(p), *e],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}) for e in edits]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    got = open_project(p)
    assert 0 in got.locks and not {2, 3, 4} & got.locks
    assert got.symbol(got.tokens[5]) == "Am"
    assert [(t.start, t.end, t.emotion) for t in got.targets] == [(6, 9, "sad"), (10, 12, "tense")]


@pytest.mark.parametrize("args, message", [
    (["edit", "{p}", "--chord", "nan-3=Am"], "whole seconds"),
    (["edit", "{p}", "--chord", "0-inf=Am"], "whole seconds"),
    (["edit", "{p}", "--chord", "0-1e400=Am"], "whole seconds"),
    (["score", "{clip}", "-o", "{o}", "--follow-picture", "1e300"], "--follow-picture"),
    (["score", "{clip}", "-o", "{o}", "--follow-picture", "nan"], "--follow-picture"),
    (["score", "{clip}", "-o", "{o}", "--temperature", "inf"], "temperature"),
])
def test_bad_numbers_in_options_are_one_line(made, tmp_path, capsys, args, message):
    clip, proj, _ = made
    p = tmp_path / "P.v2m"
    p.write_bytes(proj.read_bytes())
    capsys.readouterr()
    argv = [a.format(p=p, clip=clip, o=tmp_path / "o.mp4") for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and err.startswith("v2m: ")
    assert p.read_bytes() == proj.read_bytes() and not (tmp_path / "o.mp4").exists()
