"""Causal "what happened before" features of a chord sequence, for the decoder's input.

Songs repeat themselves: the chord that followed the last place where the recent chords looked
the same is a strong guess for the next one (README section 10: val hits@1 0.603 by itself).
For every position j these features depend only on chords 0..j, so they are computed one token
at a time, the same way for training (whole sequences) and for generation (token by token).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from v2m_desktop.core.chords import N_TOKENS, PAD_ID

NONE = N_TOKENS          # "no candidate" id for the candidate embeddings
MAX_RUN = 16             # run lengths are capped here
MAX_MATCH = 8            # match lengths are capped here (embedding buckets)
N_FEATURES = 5           # run, copy candidate, its match length, last two change targets


@dataclass
class ContextFeatures:
    """[T, N_FEATURES] int64 ids: run, copy, match, change1, change2."""
    ids: np.ndarray


class ChordContext:
    """Incremental computation of the context features; `push` one token, get its features."""

    def __init__(self, capacity: int = 512):
        self.seq = np.full(capacity, -1, dtype=np.int64)
        self.match = np.zeros(capacity, dtype=np.int64)     # suffix match length with each i < j
        self.n = 0
        self.run = 0
        self.changes: dict[int, list[int]] = {}             # chord -> chords it changed to, recent first

    def copy(self) -> ChordContext:
        new = ChordContext.__new__(ChordContext)
        new.seq, new.match, new.n, new.run = self.seq.copy(), self.match.copy(), self.n, self.run
        new.changes = {k: list(v) for k, v in self.changes.items()}
        return new

    def push(self, token: int) -> np.ndarray:
        token = int(token)
        j = self.n
        if j >= len(self.seq):
            self.seq = np.concatenate([self.seq, np.full(len(self.seq), -1, dtype=np.int64)])
            self.match = np.concatenate([self.match, np.zeros(len(self.match), dtype=np.int64)])
        prev = int(self.seq[j - 1]) if j else None
        self.run = self.run + 1 if token == prev else 1
        if prev is not None and token != prev:
            targets = self.changes.setdefault(prev, [])
            if token in targets:
                targets.remove(token)
            targets.insert(0, token)
        # match[i] for i < j: length of the common suffix of seq[..i] and seq[..j]
        if j:
            shifted = np.empty(j, dtype=np.int64)
            shifted[0] = 0
            shifted[1:] = self.match[:j - 1]
            new = np.where(self.seq[:j] == token, np.minimum(shifted + 1, 64), 0)
            self.match[:j] = new
        self.seq[j] = token
        self.n += 1
        copy, mlen = NONE, 0
        if j:
            # the most recent of the longest matches wins; the chord after it (i + 1 <= j) is known
            best = int(self.match[:j].max())
            if best > 0:
                i = j - 1 - int(np.argmax(self.match[j - 1::-1] == best))
                copy, mlen = int(self.seq[i + 1]), min(best, MAX_MATCH)
        ch = self.changes.get(token, ())
        c1 = ch[0] if len(ch) > 0 else NONE
        c2 = ch[1] if len(ch) > 1 else NONE
        return np.array([min(self.run, MAX_RUN), copy, mlen, c1, c2], dtype=np.int64)


def context_features(x: np.ndarray) -> np.ndarray:
    """[T, N_FEATURES] for a decoder input sequence; PAD positions get 'none' features."""
    out = np.zeros((len(x), N_FEATURES), dtype=np.int64)
    out[:, 1] = NONE
    out[:, 3:] = NONE
    ctx = ChordContext(len(x) + 1)
    for j, tok in enumerate(x):
        if tok == PAD_ID:
            break
        out[j] = ctx.push(tok)
    return out
