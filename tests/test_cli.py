"""The `v2m` command line end to end on tiny models: train, resume, evaluate, bench, errors."""
import json
import os
import subprocess
import sys

import pytest

from v2m_desktop.cli import main

TRAIN = ["train", "--tiny", "--limit", "6", "--batch-size", "3", "--no-semantic"]


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory, muvi_root):
    out = tmp_path_factory.mktemp("models")
    for kind, name in (("chords", "c.pt"), ("dynamics", "d.pt")):
        assert main([*TRAIN, kind, "--data", str(muvi_root), "--out", str(out / name), "--epochs", "1"]) == 0
    return out


def test_train_writes_checkpoint_and_resumes(tiny_models, muvi_root, capsys):
    assert (tiny_models / "c.pt").is_file() and (tiny_models / "c.pt.state").is_file()
    capsys.readouterr()
    args = [*TRAIN, "chords", "--data", str(muvi_root), "--out", str(tiny_models / "c2.pt")]
    assert main([*args, "--epochs", "1"]) == 0
    assert main([*args, "--epochs", "2"]) == 0
    err = capsys.readouterr().err
    assert "resuming after epoch 1" in err
    assert "epoch   2" in err and "epoch   1  " in err       # the second run trained epoch 2 only
    assert err.count("resuming") == 1


def test_evaluate_json(tiny_models, muvi_root, capsys):
    capsys.readouterr()
    assert main(["evaluate", "--data", str(muvi_root), "--split", "val", "--no-semantic", "--json",
                 "--chords", str(tiny_models / "c.pt"), "--dynamics", str(tiny_models / "d.pt")]) == 0
    res = json.loads(capsys.readouterr().out)
    for key in ("hits@1", "hits@3", "hits@5", "change_hits@1", "change_hits@3", "change_hits@5",
                "emotion_loss", "affective_correspondence", "note_density_rmse", "loudness_rmse"):
        assert isinstance(res[key], float), key
    assert res["videos"] == 75
    assert 0 <= res["hits@1"] <= res["hits@3"] <= res["hits@5"] <= 1
    assert 0 < res["emotion_loss"] < 1 and res["note_density_rmse"] > 0


def test_bench_generate(tiny_models, capsys):
    capsys.readouterr()
    assert main(["bench", "generate", "--json", "--model", str(tiny_models / "c.pt")]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["chords"] == 300 and res["same_chords"] is True
    assert res["kv_cache_s"] > 0
    assert res["speedup"] == pytest.approx(res["full_recompute_s"] / res["kv_cache_s"])


@pytest.mark.parametrize("argv, message", [
    (["evaluate", "--data", "/nonexistent", "--split", "val", "--chords", "/nonexistent/c.pt"],
     "model file not found"),
    (["train", "chords", "--data", "/nonexistent", "--out", "x.pt"], "not a MuVi-Sync folder"),
    (["bench", "generate", "--model", "/nonexistent.pt"], "model file not found"),
    # checked before the data is read or an epoch trained
    (["train", "chords", "--data", "/nonexistent", "--out", "/nonexistent/x.pt"],
     "output folder does not exist"),
    (["bench", "export", "notes.mp4"], "is not a video file"),
    (["bench", "analysis", "notes.mp4"], "is not a video file"),
])
def test_errors_are_one_line_without_traceback(argv, message, tmp_path):
    (tmp_path / "notes.mp4").write_text("not a video")
    proc = subprocess.run([sys.executable, "-m", "v2m_desktop.cli", *argv], capture_output=True,
                          text=True, cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.pt").exists()


def test_test_split_absent_is_a_clear_error(tiny_models, muvi_root, capsys):
    if (muvi_root / "vevo_meta" / "split" / "v1" / "test.txt").exists():
        pytest.skip("this copy has the test split")
    assert main(["evaluate", "--data", str(muvi_root), "--split", "test", "--no-semantic",
                 "--chords", str(tiny_models / "c.pt"), "--dynamics", str(tiny_models / "d.pt")]) == 2
    assert "no test split" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["train", "chords", "--data", "x", "--out", "x.pt", "--epochs", "0"],
    ["evaluate", "--data", "x", "--split", "val", "--emotion-control", "-3"],
    ["bench", "analysis", "--seconds", "0"],
])
def test_counts_out_of_range_are_usage_errors(argv, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2 and "must be at least" in capsys.readouterr().err
    assert not (tmp_path / "x.pt").exists()


def test_the_lab_loads_only_for_its_commands():
    """The command line imports the lab (training, evaluation, benchmarks) inside its train,
    evaluate and bench commands only: importing it, the app or the scorer loads no lab module
    (import-linter sees every import, not when one runs). With CI set (pyfluidsynth then prints
    where it found its library when imported) the output still holds nothing else."""
    code = ("import sys\n"
            "import v2m_desktop.app.window, v2m_desktop.cli, v2m_desktop.core.batch\n"
            "import v2m_desktop.core.engine, v2m_desktop.core.pipeline\n"
            "print(sorted(m for m in sys.modules if m.startswith('v2m_desktop.core.lab')))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, "CI": "1"})
    assert proc.stdout.strip() == "[]"


def test_an_interrupted_bar_line_is_ended_before_the_last_line(capfd):
    """A signal while a bar is being made leaves its line open with no bar listed to close it
    ('analyse 0% 00:00v2m: interrupted' was seen): the line is ended all the same."""
    from v2m_desktop import cli
    capfd.readouterr()
    cli._BarStream().write("\ranalyse    0%  00:00")       # the half-made bar's first display
    cli._end_bars()
    print("v2m: interrupted", file=sys.stderr)
    assert capfd.readouterr().err.splitlines()[-1] == "v2m: interrupted"
