"""A plain (non-editable) install finds the shipped models and resources: build the wheel from a
copy of the checkout, install it alone into a fresh folder, and score the demo clip with that
copy from a folder outside the repository, so only the wheel's files can be found."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow      # end to end, in processes of their own (CI runs them; -m 'not slow' skips)

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "v2m_desktop", "models", "resources")


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert r.returncode == 0, f"{cmd[:4]} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a clean copy (no stale build/ of the checkout can leak into it)."""
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("wheel")
    try:      # setuptools as new as pyproject.toml asks for: build with it, offline
        import setuptools
        isolation = ["--no-build-isolation"] if int(setuptools.__version__.split(".")[0]) >= 68 else []
    except ImportError:
        isolation = []
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-q", "-w", str(out), str(src)])
    (whl,) = out.glob("v2m_desktop-*.whl")
    return whl


def test_wheel_carries_models_and_resources(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in ("models/chords.pt", "models/dynamics.pt", "resources/v2m-desktop.desktop",
              "resources/v2m-desktop-mime.xml", "resources/icons/v2m-desktop.svg",
              "resources/icons/v2m-desktop-256.png"):
        assert f"v2m_desktop/{f}" in names, f
    assert (ROOT / "models" / "chords.pt").stat().st_size == \
        zipfile.ZipFile(wheel).getinfo("v2m_desktop/models/chords.pt").file_size
    assert not any(n.startswith(("models/", "resources/")) for n in names)   # nothing at the top


@pytest.mark.slow
def test_installed_wheel_scores_the_demo_clip(wheel, tmp_path):
    target = tmp_path / "site"
    _run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", str(target),
          str(wheel)])
    work = tmp_path / "elsewhere"
    work.mkdir()
    # the dependencies come from this environment; v2m_desktop only from the installed wheel
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(target)
    where = _run([sys.executable, "-c", "import json, v2m_desktop; "
                  "from v2m_desktop.core.resources import models_dir, resource; "
                  "from v2m_desktop.core.model.checkpoint import SHIPPED; "
                  "print(json.dumps([v2m_desktop.__file__, str(models_dir()), str(SHIPPED['chords']), "
                  "str(resource('icons/v2m-desktop.svg'))]))"], cwd=work, env=env)
    pkg, models, chords, icon = (Path(p) for p in json.loads(where.stdout))
    installed = target / "v2m_desktop"
    assert pkg.parent == installed
    assert models == installed / "models" and chords.is_file()
    assert icon == installed / "resources" / "icons" / "v2m-desktop.svg" and icon.is_file()

    r = _run([sys.executable, "-m", "v2m_desktop.cli", "demo", "--folder", str(work / "demo")],
             cwd=work, env=env)
    mp4 = work / "demo" / "demo_scored.mp4"
    assert mp4.is_file(), r.stderr
    from v2m_desktop.core.video.probe import probe
    info = probe(mp4)
    assert info.duration == pytest.approx(30.0, abs=0.5)
    assert info.has_audio and info.audio_codec == "aac"
