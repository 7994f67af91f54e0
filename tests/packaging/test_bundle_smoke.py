"""The built bundle (dist/v2m-desktop-*-linux-*.tar.xz or .tar.gz, or V2M_BUNDLE=PATH) on this
machine as on a user's: packaging/smoke.sh (installed under a fresh HOME in an empty environment,
it prints its version, scores the demo clip and takes a screenshot), and CLIP loads in it.
Skipped where no bundle has been built (CI does not build one)."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from v2m_desktop import __version__
from v2m_desktop.core.video.synthetic import make_test_video

ROOT = Path(__file__).resolve().parents[2]


def built_bundle() -> Path | None:
    if os.environ.get("V2M_BUNDLE"):
        return Path(os.environ["V2M_BUNDLE"])
    found = sorted(p for ext in ("xz", "gz")
                   for p in (ROOT / "dist").glob(f"v2m-desktop-{__version__}-linux-*.tar.{ext}"))
    return found[-1] if found else None


pytestmark = [pytest.mark.slow, pytest.mark.skipif(built_bundle() is None,
                                                  reason="no bundle built (bash packaging/build-linux.sh)")]


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed")
def test_smoke_on_the_built_bundle(tmp_path):
    r = subprocess.run(["bash", str(ROOT / "packaging" / "smoke.sh"), str(built_bundle())],
                       capture_output=True, text=True, timeout=600,
                       env={**os.environ, "V2M_SMOKE_KEEP": str(tmp_path)})
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert f"smoke: v2m {__version__} / v2m-desktop {__version__}" in out
    assert re.search(r"streams: aac,audio h264,video", out), out
    assert re.search(r"PNG \d{3,4} x \d{3,4}", out), out
    assert re.search(r"launch to window under Xvfb: \d+ ms \(first run\), \d+ ms", out), out
    assert "smoke: install.sh --uninstall removed it all" in out
    assert out.rstrip().endswith("smoke: OK")
    # the video's first frame (blue) is in the player at the top of the window, not the black
    # "Open a video" placeholder that a player without its multimedia backend leaves
    from PySide6.QtGui import QColor, QImage
    shot = QImage(str(tmp_path / "shot.png"))
    assert shot.width() >= 800
    top = [QColor(shot.pixel(x, y)) for x in range(0, shot.width(), 16) for y in range(60, 300, 16)]
    assert sum(c.lightness() for c in top) / len(top) > 20
    assert sum(c.blue() > 2 * c.red() + 20 for c in top) > len(top) // 5


def test_the_bundle_reads_a_video_with_clip(tmp_path, tiny_clip_dir):
    """transformers' CLIP code is in the bundle (it imports its model code by name at run time)."""
    with tarfile.open(built_bundle()) as tar:
        tar.extractall(tmp_path / "unpacked", filter="tar")
    (v2m,) = (tmp_path / "unpacked").glob("*/v2m")
    video = tmp_path / "clip.mp4"
    make_test_video(video, 4.0)
    (tmp_path / "home").mkdir()
    (tmp_path / "empty").mkdir()
    r = subprocess.run([str(v2m), "analyse", str(video), "--vision", "clip", "--clip-model",
                        str(tiny_clip_dir), "--json"], capture_output=True, text=True, timeout=300,
                       env={"HOME": str(tmp_path / "home"), "PATH": str(tmp_path / "empty")})
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["vision"] == "clip" and res["semantic"] is True
    assert res["seconds"] == 4 and len(res["emotion"]) == 4
