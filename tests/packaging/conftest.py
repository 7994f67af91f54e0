"""The tiny CLIP of the video tests, for checking that the bundle loads CLIP."""
from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "_v2m_video_conftest", Path(__file__).resolve().parents[1] / "core" / "video" / "conftest.py")
_video = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_video)
tiny_clip_dir = _video.tiny_clip_dir
