"""Bounds a user's values are checked against, in a light module (no torch, no OpenCV): the
composer checks its options against them, and the .v2m file's schema (core.project_file)."""
from __future__ import annotations

FOLLOW_PICTURE_MAX = 10.0               # far above it the guided logits overflow to NaN
