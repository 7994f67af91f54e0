"""The bounds a user's values are checked against, in one light module (no torch, no OpenCV):
the arranger and the composer check their options against them, and the .v2m file's schema
(core.project_file) reads them without importing the models just to open a project."""
from __future__ import annotations

INSTRUMENTS = ("piano", "bass", "pad", "drums")
TEMPO_LIMITS = (30.0, 300.0)            # a fixed tempo, BPM
FOLLOW_PICTURE_MAX = 10.0               # far above it the guided logits overflow to NaN
