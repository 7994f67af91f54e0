"""Shared fixtures of the test suite."""
from __future__ import annotations

from pathlib import Path

import pytest

# The repository sits at <work>/main and the shared data at <work>/shared.
MUVI_ROOT = Path(__file__).resolve().parents[2] / "shared" / "muvi-sync"


@pytest.fixture(scope="session")
def muvi_root() -> Path:
    """Path of the shared MuVi-Sync copy; the test is skipped when it is absent."""
    if not (MUVI_ROOT / "vevo_chord").is_dir():
        pytest.skip(f"shared MuVi-Sync data not found at {MUVI_ROOT}")
    return MUVI_ROOT


@pytest.fixture(autouse=True)
def _isolated_cache(monkeypatch, tmp_path):
    """No test reads or writes the user's analysis cache (a stale entry would hide a bug)."""
    monkeypatch.setenv("V2M_CACHE_DIR", str(tmp_path / "v2m-cache"))
