"""Shared fixtures of the test suite."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

# Under pytest-xdist each worker gets its share of the cores for torch's threads (and so do the
# processes it starts): two workers with two threads each on two cores made torch's tests 8x
# slower whenever a third process was busy (OpenMP's threads spin while they wait for a core)
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _WORKERS > 1:
    os.environ.setdefault("OMP_NUM_THREADS", str(max((os.cpu_count() or 1) // _WORKERS, 1)))

# The repository sits at <work>/main and the shared data at <work>/shared; V2M_TEST_MUVI points
# elsewhere (a machine without ../shared, e.g. a GPU box given a few videos).
MUVI_ROOT = Path(os.environ.get("V2M_TEST_MUVI")
                 or Path(__file__).resolve().parents[2] / "shared" / "muvi-sync")


@pytest.fixture(scope="session")
def muvi_root() -> Path:
    """Path of the shared MuVi-Sync copy; the test is skipped when it is absent."""
    if not (MUVI_ROOT / "vevo_chord").is_dir():
        pytest.skip(f"shared MuVi-Sync data not found at {MUVI_ROOT}")
    return MUVI_ROOT


@pytest.fixture(scope="session")
def _session_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("v2m-cache")


@pytest.fixture(scope="session", autouse=True)
def _soundfont_cache(tmp_path_factory):
    """The decoded copies of .sf3 banks go to the run's own folder (not the user's cache), one
    for all of the run's workers and the processes they start: the bank is decoded once a run."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    os.environ["V2M_SOUNDFONT_CACHE"] = str(root / "soundfonts")


@pytest.fixture(autouse=True)
def _isolated_cache(monkeypatch, _session_cache):
    """No test reads or writes the user's analysis cache (a stale entry would hide a bug): the
    run has one of its own, made empty at its start and warm after a clip's first analysis (the
    tests of the cache itself give theirs)."""
    monkeypatch.setenv("V2M_CACHE_DIR", str(_session_cache))


@pytest.fixture(scope="session")
def rotated_copy():
    """rotated_copy(src, dst, degrees): see _rotated_copy."""
    return _rotated_copy


def _rotated_copy(src: Path, dst: Path, degrees: int = 90) -> int:
    """Copy a video with a display rotation (stream copy); returns the rotation the copy carries
    as v2m's probe reads it, 0 when this ffmpeg could not write one."""
    import subprocess

    from v2m_desktop.core.files import ffmpeg_exe
    from v2m_desktop.core.video.probe import probe
    r = subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-display_rotation", str(degrees), "-i", str(src),
                        "-c", "copy", str(dst)], capture_output=True)
    if r.returncode != 0:       # ffmpeg < 6 has no -display_rotation; the old tag still works there
        subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(src), "-c", "copy", "-metadata:s:v:0",
                        f"rotate={degrees}", str(dst)], check=True, capture_output=True)
    return probe(dst).rotation



def pytest_collection_modifyitems(items):
    """The long end-to-end modules first, then the app's, then the rest (each module's tests in
    their order): run on a worker each (pytest-xdist, --dist loadscope), the short modules then
    fill the end evenly instead of one worker finishing a long module alone."""
    slow = {item.module.__name__ for item in items if item.get_closest_marker("slow")}

    def weight(item) -> int:
        if item.module.__name__ in slow:
            return 0
        return 1 if "/tests/app/" in str(item.path) else 2
    items.sort(key=weight)
