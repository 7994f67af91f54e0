"""The bundle's one program (packaging/v2m_entry.py) is the app, or the `v2m` command line when
started under that name or given a v2m command."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from v2m_desktop import __version__

ROOT = Path(__file__).resolve().parents[2]
ENTRY = ROOT / "packaging" / "v2m_entry.py"


def run(program: Path, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    r = subprocess.run([sys.executable, str(program), *args], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_the_app_by_default():
    assert run(ENTRY, "--version").strip() == f"v2m-desktop {__version__}"


def test_the_command_line_for_a_v2m_command():
    out = run(ENTRY, "score", "--help")
    assert out.startswith("usage: v2m score") and "--soundfont" in out


def test_the_command_line_under_the_name_v2m(tmp_path):
    link = tmp_path / "v2m"
    link.symlink_to(ENTRY)
    assert run(link, "--version").strip() == f"v2m {__version__}"
