"""Tempo and the beat grid: a tempo suited to the emotion whose beats land on the scene cuts.

Auto tempo: a base tempo is searched in a range that depends on the mean emotion, and the grid
is a *tempo map*: beat 0 is the first frame, and between two consecutive anchors (the start, the
cuts that can be reached, the end of the video) the beats are evenly spaced, the spacing staying
within ``MAX_DEV`` (6 %) of the base period when the anchors are 4 s or more apart, up to
``FAST_DEV`` (30 %) when they are under 2 s apart: in a fast montage the beat bends to hit
the cuts.  Every cut reached this way falls
exactly on a beat; the tempo moves by a few percent at cuts only, where the picture changes.  A cut too close
to the previous anchor to be reached without a larger change is left between beats.

Fixed tempo (``--tempo BPM``): the beats are evenly spaced at exactly that tempo; only their phase
is chosen so that as many cuts as possible fall within 50 ms of a beat, and the music starts with
a pickup beat (between a quarter and one and a quarter of a beat long) at the first frame.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from v2m_desktop.core.chords import EMOTIONS

# BPM range per emotion (EMOTIONS order); the range used is their average weighted by the mean
# emotion of the video.
TEMPO_RANGES = {
    "exciting": (110.0, 140.0),
    "fearful": (70.0, 100.0),
    "tense": (95.0, 125.0),
    "sad": (60.0, 85.0),
    "relaxing": (65.0, 95.0),
    "neutral": (80.0, 115.0),
}
MAX_DEV = 0.06          # largest local change of the beat period used to reach a cut (6 %)
FAST_DEV, FAST_S = 0.3, (2.0, 4.0)   # between cuts under 2 s apart (a montage): up to 30 %,
#                                      down to MAX_DEV at 4 s
WINDOW_ANCHORS = 64     # earlier anchors the tempo map search weighs first for each cut
CUT_TOL = 0.1           # a beat this close to a cut is on it (chord changes, accents, fills)
HIT_TOL = 0.05          # a cut within this of a beat counts as on the beat (fixed tempo search)


@dataclass
class BeatGrid:
    """Beat times (seconds, increasing, ``beats[0] == 0``) running a few beats past the end.
    Beat positions are floats: 2.5 is half-way between beats 2 and 3."""
    beats: np.ndarray
    anchored: list[float]           # the cuts that fall exactly on a beat

    def time(self, pos):
        """Seconds of a beat position (scalar or array); linear beyond the last beat."""
        b = self.beats
        if isinstance(pos, (int, float)) and 0 <= pos < len(b) - 1:     # the hot scalar case
            i = int(pos)
            return float(b[i] + (pos - i) * (b[i + 1] - b[i]))
        pos = np.asarray(pos, dtype=np.float64)
        last = len(b) - 1
        period = b[-1] - b[-2]
        out = np.interp(pos, np.arange(len(b)), b)
        out = np.where(pos > last, b[-1] + (pos - last) * period, out)
        return float(out) if out.ndim == 0 else out

    def pos(self, t):
        """Beat position of a time in seconds (inverse of ``time``)."""
        b = self.beats
        t = np.asarray(t, dtype=np.float64)
        last = len(b) - 1
        period = b[-1] - b[-2]
        out = np.interp(t, b, np.arange(len(b)))
        out = np.where(t > b[-1], last + (t - b[-1]) / period, out)
        return float(out) if out.ndim == 0 else out

    def nearest(self, t: float) -> int:
        """Index of the beat nearest to time t."""
        return int(np.argmin(np.abs(self.beats - t)))

    def cut_beats(self, cuts, tol: float = CUT_TOL) -> set[int]:
        """The beats that fall on a cut (within `tol` seconds of one)."""
        near = ((self.nearest(c), c) for c in cuts)
        return {k for k, c in near if abs(self.beats[k] - c) <= tol}


def tempo_range(emotion: np.ndarray | None) -> tuple[float, float]:
    """(lo, hi) BPM for an emotion track [T, 6] (probabilities, EMOTIONS order)."""
    if emotion is None or len(emotion) == 0:
        return TEMPO_RANGES["neutral"]
    w = np.clip(np.asarray(emotion, dtype=np.float64).reshape(-1, len(EMOTIONS)).mean(0), 0, None)
    w = w / w.sum() if w.sum() > 0 else np.eye(len(EMOTIONS))[EMOTIONS.index("neutral")]
    lo = sum(wi * TEMPO_RANGES[e][0] for wi, e in zip(w, EMOTIONS))
    hi = sum(wi * TEMPO_RANGES[e][1] for wi, e in zip(w, EMOTIONS))
    return float(lo), float(hi)


def _usable_cuts(cuts, duration: float) -> list[float]:
    return sorted(float(c) for c in cuts if 0.0 < c < duration)


def _warp(cuts: list[float], duration: float, period: float, max_dev: float = MAX_DEV):
    """The tempo map reaching the most cuts (then the end, then the smallest changes), by dynamic
    programming over the last anchor.  Returns (anchor times incl. 0 and maybe the end, beats
    per segment, relative period deviation per reached cut, end reached)."""
    x = np.asarray([0.0] + [c for c in cuts if 0.75 * period <= c <= duration - 0.75 * period]
                   + [duration])
    m = len(x) - 1                                   # index of the end
    count = np.full(m + 1, -np.inf)
    cost = np.zeros(m + 1)
    back = np.full(m + 1, -1)
    beats = np.zeros(m + 1, dtype=np.int64)
    count[0] = 0
    for j in range(1, m + 1):
        # the best previous anchor is nearly always among the last few (the count only grows
        # along a chain), so look there first: linear, not quadratic, in the number of cuts
        for lo in (max(0, j - WINDOW_ANCHORS), 0):
            L = x[j] - x[lo:j]
            n = np.maximum(np.round(L / period), 1)
            dev = np.abs(L / n / period - 1.0)
            fast = np.clip((FAST_S[1] - L) / (FAST_S[1] - FAST_S[0]), 0.0, 1.0)
            limit = max_dev + fast * max(FAST_DEV - max_dev, 0.0)
            ok = (L >= 0.75 * period) & (dev <= limit) & np.isfinite(count[lo:j])
            if ok.any() or lo == 0:
                break
        if not ok.any():
            continue
        key = np.where(ok, count[lo:j] - 1e-3 * (cost[lo:j] + dev), -np.inf)
        i = int(np.argmax(key))
        count[j] = count[lo + i] + (j < m)
        cost[j] = cost[lo + i] + dev[i]
        back[j] = lo + i
        beats[j] = int(n[i])
    end_reached = np.isfinite(count[m]) and count[m] >= np.max(count[:m])
    j = m if end_reached else int(np.argmax(np.where(np.isfinite(count[:m]),
                                                     count[:m] - 1e-3 * cost[:m], -np.inf)))
    chain = []
    while j > 0:
        chain.append(j)
        j = int(back[j])
    chain.reverse()
    anchors = [0.0] + [float(x[k]) for k in chain]
    counts = [int(beats[k]) for k in chain]
    prev = [0] + chain[:-1]
    devs = [abs((x[k] - x[p]) / beats[k] / period - 1.0) for k, p in zip(chain, prev) if k < m]
    return anchors, counts, devs, bool(end_reached)


def warp_grid(cuts, duration: float, bpm: float, max_dev: float = MAX_DEV) -> BeatGrid:
    """The tempo map of the auto tempo (see the module text)."""
    period = 60.0 / bpm
    cuts = _usable_cuts(cuts, duration)
    anchors, counts, _, end_reached = _warp(cuts, duration, period, max_dev)
    beats = [0.0]
    for a, b, n in zip(anchors[:-1], anchors[1:], counts):
        beats.extend(a + (b - a) * np.arange(1, n + 1) / n)
    last_period = (beats[-1] - beats[-2]) if len(beats) > 1 else period
    if not end_reached:
        last_period = period
    while beats[-1] < duration + 4 * last_period:
        beats.append(beats[-1] + last_period)
    reached = [a for a in anchors[1:] if a < duration]
    return BeatGrid(np.asarray(beats), reached)


def constant_grid(cuts, duration: float, bpm: float, tol: float = HIT_TOL) -> BeatGrid:
    """Evenly spaced beats at exactly ``bpm``, phase chosen to put cuts on beats; a pickup beat of
    0.25-1.25 beats at time 0."""
    period = 60.0 / bpm
    cuts = np.asarray(_usable_cuts(cuts, duration))
    phase = 0.0
    if len(cuts):
        phases = np.arange(0.0, period, 0.005)
        d = (cuts[None, :] - phases[:, None]) % period
        d = np.minimum(d, period - d)
        score = (d <= tol).sum(1) + 0.5 * (d <= 2 * tol).sum(1) - 1e-3 * d.mean(1)
        phase = float(phases[int(np.argmax(score))])
    if phase < 0.25 * period:
        phase += period
    n = int(np.ceil((duration - phase) / period)) + 5
    beats = np.concatenate([[0.0], phase + period * np.arange(n)])
    d = np.abs(beats[None, :] - cuts[:, None]).min(1) if len(cuts) else np.zeros(0)
    return BeatGrid(beats, [float(c) for c, dd in zip(cuts, d) if dd < 1e-3])


def _reach(cuts, duration: float, bpm: float) -> float:
    """How well a tempo's grid meets the picture: the cuts it reaches, and a half for the end."""
    _, _, devs, end_reached = _warp(cuts, duration, 60.0 / bpm)
    return len(devs) + 0.5 * end_reached


def choose_tempo(cuts, duration: float, emotion: np.ndarray | None, lo: float | None = None,
                 hi: float | None = None) -> float:
    """BPM in the emotion's range (or [lo, hi]) whose beat grid, and its neighbours' at +-1 BPM,
    reach the most cuts: the middle of the widest run of whole tempi that do (the run nearest
    the range centre among equals); the range centre when there are no cuts.

    Not the tempo of the smallest local tempo changes: many tempi reach the same cuts, their
    changes differ by hundredths, and a cut moved by one frame (a 25-fps copy) or a range moved by
    a tenth (a re-encode's colours) picked another tempo 5 BPM away (Sintel: 102.5 and 107.4),
    and every bar line with it. The middle of the run moves by as little as its ends do."""
    r_lo, r_hi = tempo_range(emotion)
    lo = r_lo if lo is None else float(lo)
    hi = r_hi if hi is None else float(hi)
    if hi < lo:
        lo, hi = hi, lo
    cuts = _usable_cuts(cuts, duration)
    centre = (lo + hi) / 2
    candidates = np.arange(np.ceil(lo), np.floor(hi) + 1e-9, 1.0)   # whole BPM: the same for
    if not cuts or len(candidates) == 0:                             # nearby ranges
        return round(centre, 1)
    reach = np.array([_reach(cuts, duration, b) for b in candidates])
    # what a tempo and its neighbours (+-1 BPM) all reach: a lone tempo that catches one cut more
    # (Sintel as MPEG-4: 108 at the range's edge) is a frame's accident, not a plateau
    reach = np.array([reach[max(i - 1, 0):i + 2].min() for i in range(len(reach))])
    best = reach == reach.max()
    runs: list[tuple[int, int]] = []         # [first, last] indices of each run of the best
    for i in np.flatnonzero(best):
        if runs and runs[-1][1] == i - 1:
            runs[-1] = (runs[-1][0], int(i))
        else:
            runs.append((int(i), int(i)))
    a, b = max(runs, key=lambda r: (r[1] - r[0], -abs((candidates[r[0]] + candidates[r[1]]) / 2 - centre)))
    return round(float(candidates[a] + candidates[b]) / 2, 2)
