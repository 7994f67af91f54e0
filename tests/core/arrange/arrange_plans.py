"""Hand-made plans (no model) for the arrangement tests (a helper module, imported by them)."""
from __future__ import annotations

import numpy as np

from v2m_desktop.core.chords import EMOTIONS, chord_id
from v2m_desktop.core.tracks import ChordTrack, Dynamics

POP = [chord_id(0, "maj"), chord_id(9, "min"), chord_id(5, "maj"), chord_id(7, "maj")]   # C Am F G


def one_hot(emotion: str, seconds: int) -> np.ndarray:
    e = np.zeros((seconds, len(EMOTIONS)), dtype=np.float32)
    e[:, EMOTIONS.index(emotion)] = 1.0
    return e


def chord_plan(seconds: int, change_every: int = 2, progression=POP, key_root: int = 0,
               mode: int = 0, extra_changes=()) -> ChordTrack:
    """A progression changing every `change_every` s, plus changes at the given seconds."""
    idx, tokens = 0, []
    for s in range(seconds):
        if s and (s % change_every == 0 or s in extra_changes):
            idx += 1
        tokens.append(progression[idx % len(progression)])
    return ChordTrack(np.array(tokens, dtype=np.int64), key_root, mode)


def flat_dynamics(seconds: int, density: float = 10.0, loudness: float = 0.2) -> Dynamics:
    return Dynamics(np.full(seconds, density, dtype=np.float32),
                    np.full(seconds, loudness, dtype=np.float32))


def moderate(seconds: int = 20):
    """(chords, dynamics, motion, emotion) with moderate everything."""
    return chord_plan(seconds), flat_dynamics(seconds), np.full(seconds, 8.0), one_hot("neutral", seconds)
