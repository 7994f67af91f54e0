"""From one chord a second to chord segments on the beat grid, with a cadence at the end.

Each per-second chord boundary moves to the nearest beat, or to the beat of a scene cut when one
lies within ``REACH`` seconds (so the harmony changes with the picture); runs of the same chord
merge.  The last bars become a cadence to the tonic (V7-I, or the softer IV-I for calm and sad
videos) ending exactly at the video's end, unless the user locked chords there.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from v2m_desktop.core.arrange.tempo import BeatGrid
from v2m_desktop.core.chords import chord_id

REACH = 1.0     # seconds: a chord boundary this close to a cut's beat moves onto it


@dataclass
class Segment:
    """A chord from beat position `start` to `end` (end may be fractional at the very end)."""
    start: float
    end: float
    token: int


def second_runs(tokens, duration: float) -> list[tuple[float, float, int]]:
    """Runs of identical per-second tokens as (start s, end s, token), clipped to the duration;
    the last chord is held when the track is shorter than the video."""
    tokens = [int(t) for t in np.asarray(tokens).reshape(-1)]
    if not tokens:
        return []
    n = max(1, min(len(tokens), math.ceil(duration - 1e-9)))
    runs: list[list] = []
    for s in range(n):
        if runs and runs[-1][2] == tokens[s]:
            runs[-1][1] = s + 1
        else:
            runs.append([float(s), float(s + 1), tokens[s]])
    runs[-1][1] = duration
    return [tuple(r) for r in runs if r[0] < duration]


def merge(segs: list[Segment]) -> list[Segment]:
    out: list[Segment] = []
    for s in segs:
        if s.end - s.start <= 1e-9:
            continue
        if out and out[-1].token == s.token:
            out[-1].end = s.end
        else:
            out.append(Segment(s.start, s.end, s.token))
    return out


def snap(runs, grid: BeatGrid, cuts, duration: float, reach: float = REACH) -> list[Segment]:
    """Chord runs (seconds) -> segments (beat positions) with boundaries on beats, preferring
    the beats of cuts."""
    end_pos = grid.pos(duration)
    if not runs:
        return []
    cut_beats = sorted(grid.cut_beats([c for c in cuts if 0 < c < duration]))
    used: set[int] = set()
    bounds = [r[0] for r in runs[1:]]
    natural = [grid.nearest(b) for b in bounds]
    idx: list[int | None] = []
    prev = 0
    for i, b in enumerate(bounds):
        hi = natural[i + 1] - 1 if i + 1 < len(natural) else math.floor(end_pos - 0.5)
        near = [c for c in cut_beats if c not in used and prev < c <= hi
                and abs(grid.beats[c] - b) <= reach]
        if near:
            k = min(near, key=lambda c: abs(grid.beats[c] - b))
            used.add(k)
        elif natural[i] > prev:
            k = natural[i]
        else:
            k = None        # under a beat long at this tempo: the chord before it goes on
        idx.append(k)
        prev = prev if k is None else k
    starts = [0.0] + [None if k is None else float(k) for k in idx]
    kept = [(s, r) for s, r in zip(starts, runs) if s is not None]
    ends = [s for s, _ in kept[1:]] + [end_pos]
    segs = [Segment(s, min(e, end_pos), r[2]) for (s, r), e in zip(kept, ends)
            if s < end_pos - 0.5 or s == 0.0]
    if segs:
        segs[-1].end = end_pos
    return merge(segs)


def place(runs, slots: dict[int, float], grid: BeatGrid, duration: float) -> list[Segment]:
    """Chord runs (seconds) -> segments whose changes sit exactly on the beat positions of their
    slots (`slots`: second -> position); a change at a second without a slot (a user's lock
    inside a bar) goes to its nearest beat."""
    end_pos = grid.pos(duration)
    segs: list[Segment] = []
    for start, _, token in runs:
        s = int(round(start))
        pos = 0.0 if s == 0 else slots.get(s, float(grid.nearest(start)))
        if segs and pos <= segs[-1].start:
            continue                       # no room: the chord before goes on
        if pos >= end_pos - 1e-6:
            break
        if segs:
            segs[-1].end = pos
        segs.append(Segment(pos, end_pos, token))
    return merge(segs)


def cadence(segs: list[Segment], end_pos: float, key_root: int, mode: int,
            plagal: bool = False) -> list[Segment]:
    """Replace the last ~4 beats by (IV or V7) - I ending at end_pos (I alone when short)."""
    if not segs:
        return segs
    tonic = chord_id(key_root, "min" if mode else "maj")
    if plagal:
        pre = chord_id(key_root + 5, "min" if mode else "maj")
    else:
        pre = chord_id(key_root + 7, "7")
    t_start = math.floor(end_pos + 0.25) - 2
    if t_start < 1:
        return merge([Segment(s.start, s.end, tonic) for s in segs])
    p_start = t_start - 2 if t_start >= 3 else None
    cut_at = p_start if p_start is not None else t_start
    out = []
    for s in segs:
        if s.start >= cut_at:
            continue
        out.append(Segment(s.start, min(s.end, cut_at), s.token))
    if p_start is not None:
        out.append(Segment(p_start, t_start, pre))
    out.append(Segment(t_start, end_pos, tonic))
    return merge(out)
