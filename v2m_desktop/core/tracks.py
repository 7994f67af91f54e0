"""The musical plan between the models and the arrangement: one chord and one dynamics value
per second of video, in the piece's real key."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from v2m_desktop.core.chords import chord_name, key_name, transpose


@dataclass
class ChordTrack:
    """Chord tokens (ids of core/chords.py) for seconds 0..T-1, already transposed to the key."""
    tokens: np.ndarray                     # [T] int64
    key_root: int = 0                      # 0 = C .. 11 = B
    mode: int = 0                          # 0 major, 1 minor
    locks: set[int] = field(default_factory=set)   # seconds the user fixed

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def key_name(self) -> str:
        return key_name(self.key_root, self.mode)

    def names(self) -> list[str]:
        return [chord_name(t) for t in self.tokens]

    @staticmethod
    def shift_for(key_root: int, mode: int) -> int:
        """Semitones from the model's normalised key (C major / A minor) to the real key."""
        return (key_root - (9 if mode else 0)) % 12

    @classmethod
    def from_normalised(cls, tokens: Iterable[int], key_root: int, mode: int,
                        locks: Iterable[int] = ()) -> ChordTrack:
        shift = cls.shift_for(key_root, mode)
        return cls(np.array([transpose(t, shift) for t in tokens], dtype=np.int64), key_root, mode,
                   set(locks))

    def normalised(self) -> np.ndarray:
        """Tokens moved back to C major / A minor, as the model reads them."""
        shift = -self.shift_for(self.key_root, self.mode)
        return np.array([transpose(t, shift) for t in self.tokens], dtype=np.int64)


@dataclass
class Dynamics:
    """Per-second predictions of the dynamics model."""
    note_density: np.ndarray               # [T] notes sounding per second (0..~40)
    loudness: np.ndarray                   # [T] linear RMS re full scale (0..~0.5)

    def __len__(self) -> int:
        return len(self.note_density)
