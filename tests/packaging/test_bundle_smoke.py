"""packaging/smoke.sh on a built bundle (dist/v2m-desktop-*-linux-*.tar.gz, or V2M_BUNDLE=PATH):
installed under a fresh HOME in an empty environment, it prints its version, scores the demo clip
and takes a screenshot. Skipped where no bundle has been built (CI does not build one)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from v2m_desktop import __version__

ROOT = Path(__file__).resolve().parents[2]


def built_bundle() -> Path | None:
    if os.environ.get("V2M_BUNDLE"):
        return Path(os.environ["V2M_BUNDLE"])
    found = sorted((ROOT / "dist").glob(f"v2m-desktop-{__version__}-linux-*.tar.gz"))
    return found[-1] if found else None


@pytest.mark.slow
@pytest.mark.skipif(built_bundle() is None, reason="no bundle built (bash packaging/build-linux.sh)")
@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed")
def test_smoke_on_the_built_bundle():
    r = subprocess.run(["bash", str(ROOT / "packaging" / "smoke.sh"), str(built_bundle())],
                       capture_output=True, text=True, timeout=600)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert f"smoke: v2m {__version__} / v2m-desktop {__version__}" in out
    assert re.search(r"streams: aac,audio h264,video", out), out
    assert re.search(r"PNG \d{3,4} x \d{3,4}", out), out
    assert out.rstrip().endswith("smoke: OK")
