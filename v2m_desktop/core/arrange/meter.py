"""The meter, known before the chords are written: tempo map, bars, and the slots where the harmony
may change, with the phrase and cadence plan the chord sampler honours.

Bars are four beats from the first frame, and every cut the beat grid reaches starts a new bar (a
bar cut short by a cut keeps its beats when it has two or more, else it joins the bar before).
The harmony may change only at a *slot*: a bar start, or every second bar start when bars are
shorter than ``MIN_SLOT`` seconds (fast tempi would otherwise change chord faster than songs do),
or a cut (on its beat, or at the cut itself when no beat reaches it), and the half of a bar of
``HALF_BAR_S`` or more where the picture is aroused (a slow tempo under an exciting, tense or
fearful scene). Each slot is tied to the
second whose chord token starts it, so the model samples one chord a second as it was trained
and the arranger places each change exactly on its bar line or cut.

Phrases: a scene of at least ``PHRASE_SLOTS`` * 2 slots is cut into phrases of ``PHRASE_SLOTS``
slots from its start. The first phrase (A) is the model's, drawn under one rule: it closes on a
cadence (a subdominant or dominant chord, then the tonic). The next phrases repeat it, the second
slot varied on every fourth phrase (A A A A' ...; the variation itself repeated), so the model
writes the phrase and the sampler keeps it; the slots after the last whole phrase begin A again
and close the scene on a cadence. One slot left over: A also opens on its closing tonic, and the
slot holds it, so the scene repeats its phrase to the end. A shorter scene of ``CADENCE_S``
seconds or more (and the last scene, whatever its length) ends on the same kind of cadence.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from v2m_desktop.core.arrange.feel import AROUSED
from v2m_desktop.core.arrange.tempo import CUT_TOL, BeatGrid, choose_tempo, constant_grid, warp_grid
from v2m_desktop.core.chords import EMOTIONS
from v2m_desktop.core.model.generate import ChordRules

MIN_SLOT = 2.0        # seconds: bars shorter than this change chord every other bar
PHRASE_SLOTS = 4      # slots in a phrase
CADENCE_S = 8.0       # seconds: scenes this long end on a cadence
MAX_HOLD = 2          # slots one chord may last unless a phrase repeats it
HALF_BAR_S = 3.0      # seconds: bars this long may change chord at their half in an aroused scene
AROUSAL = 0.5         # share of exciting + fearful + tense over the bar that calls for it


@dataclass
class Slot:
    time: float       # seconds where the chord starts
    pos: float        # its beat position
    second: int       # the model's second that carries the change
    kind: str         # "start", "bar", "half" (a half bar) or "cut"
    scene: int
    cut: float | None = None    # the cut it follows


@dataclass
class Meter:
    grid: BeatGrid
    bpm: float
    duration: float
    bars: list[float]             # beat positions of the bar starts
    slots: list[Slot]
    cuts: list[float]             # the cuts the harmony follows (of two closer than a beat, one)

    @property
    def bar_times(self) -> np.ndarray:
        return np.asarray(self.grid.time(np.asarray(self.bars, dtype=np.float64)),
                          dtype=np.float64).reshape(-1)

    def slot_at(self, second: int) -> Slot | None:
        for s in self.slots:
            if s.second == second:
                return s
        return None

    def rules(self, seconds: int) -> ChordRules:
        """What the chord sampler must honour for `seconds` chords."""
        change = np.zeros(seconds, dtype=bool)
        fresh = np.zeros(seconds, dtype=bool)
        copy = np.full(seconds, -1, dtype=np.int64)
        cadence = np.zeros(seconds, dtype=np.int8)
        slots = [s for s in self.slots if s.second < seconds]
        for s in slots:
            change[s.second] = True
            fresh[s.second] = s.kind == "cut"
        for scene in sorted({s.scene for s in slots}):
            own = [s for s in slots if s.scene == scene]
            end = next((s.time for s in self.slots if s.scene > scene), self.duration)
            last = scene == slots[-1].scene
            n = len(own)
            if n >= 2 * PHRASE_SLOTS:
                # phrases from the scene's start, each closing on a cadence
                for i in range(n):
                    block, p = divmod(i, PHRASE_SLOTS)
                    if p >= PHRASE_SLOTS - 2:
                        cadence[own[i].second] = p - PHRASE_SLOTS + 3
                    if block == 0:
                        continue
                    src: int | None = p
                    if p == 1 and block % 4 == 3:     # A A A A': the variation, then its repeat
                        src = None if block == 3 else 3 * PHRASE_SLOTS + 1
                    if src is not None:
                        copy[own[i].second] = own[src].second
                # after the last whole phrase, A begins again and the scene closes on its cadence
                tail = n % PHRASE_SLOTS
                if tail == 1:
                    # one slot left: the phrase opens on the tonic it closes on (I . V I), and
                    # the slot (which opens a phrase, so repeats that tonic) holds it: the scene
                    # stays periodic to its end and still closes on the phrase's cadence
                    first = own[0].second
                    cadence[first], copy[own[PHRASE_SLOTS - 1].second] = 2, first
                roles = (1, 2)[-tail:] if tail > 1 else ()
                for s, role in zip(own[n - len(roles):], roles):
                    copy[s.second], cadence[s.second] = -1, role
            elif end - own[0].time >= CADENCE_S or last:
                # the piece ends on the tonic whatever the last scene's length
                roles = (1, 2) if n >= 2 else (2,)
                for s, role in zip(own[-len(roles):], roles):
                    cadence[s.second] = role
        return ChordRules(change, fresh, copy, cadence, MAX_HOLD)

    def change_time(self, second: int) -> float | None:
        """Beat position of a change carried by `second` (None: no slot there)."""
        s = self.slot_at(second)
        return None if s is None else s.pos


def _aroused(emotion, t0: float, t1: float) -> bool:
    """Is the picture aroused (exciting, fearful, tense) over [t0, t1)?"""
    if emotion is None or len(emotion) == 0:
        return False
    e = np.asarray(emotion, dtype=np.float64).reshape(-1, len(EMOTIONS))
    rows = e[int(t0):max(int(t0) + 1, int(np.ceil(t1)))]
    if len(rows) == 0:
        return False
    share = rows[:, [EMOTIONS.index(k) for k in AROUSED]].sum(1) / rows.sum(1).clip(1e-9)
    return float(share.mean()) >= AROUSAL


def _bars(grid: BeatGrid, cut_beats: list[int], end_pos: float) -> list[float]:
    """Bar starts: every four beats, restarting at each cut beat."""
    bars: list[float] = []
    anchors = sorted({0, *cut_beats})
    for a, b in zip(anchors, anchors[1:] + [end_pos]):
        starts = list(np.arange(a, b - 1e-9, 4.0))
        if len(starts) > 1 and b - starts[-1] < 2 and b < end_pos:
            starts.pop()                  # a bar of one beat before a cut joins the bar before
        bars += [float(x) for x in starts]
    return bars


def meter_signatures(bars: list[float], end_pos: float) -> list[tuple[float, int]]:
    """(bar position, beats in the bar) wherever the bar length changes; the last bar, which
    the video's end cuts off, keeps the signature before it."""
    out: list[tuple[float, int]] = []
    for a, b in zip(bars, bars[1:]):
        n = int(round(b - a))
        if not out or out[-1][1] != n:
            out.append((a, n))
    return out or [(0.0, 4)]


def pick_cuts(cuts: list[float], period: float) -> list[float]:
    """Of cuts closer than a beat (or a second: the model writes a chord a second), the first:
    the music cannot change on both."""
    out: list[float] = []
    for c in cuts:
        if not out or c - out[-1] >= max(period, 1.0) - 1e-6:
            out.append(c)
    return out


def plan_meter(cuts, duration: float, emotion, tempo: float | None = None) -> Meter:
    """The meter for a video: tempo map (auto or fixed), bars and the harmony's slots."""
    cuts = sorted(float(c) for c in cuts if 0 < float(c) < duration)
    bpm = choose_tempo(cuts, duration, emotion) if tempo is None else float(tempo)
    cuts = pick_cuts(cuts, 60.0 / bpm)
    grid = warp_grid(cuts, duration, bpm) if tempo is None else constant_grid(cuts, duration, bpm)
    end_pos = float(grid.pos(duration))
    on_beat: dict[int, float] = {}
    for c in cuts:
        k = grid.nearest(c)
        if abs(grid.beats[k] - c) <= CUT_TOL and 0 < k < end_pos - 0.5:
            on_beat.setdefault(k, c)          # two cuts on one beat: the music follows the first
    bars = _bars(grid, sorted(on_beat), end_pos)
    bar_s = 4 * 60.0 / bpm
    step = 1 if bar_s >= MIN_SLOT else 2
    starts: list[tuple[float, str, float | None]] = []
    scene_first = {0.0, *map(float, on_beat)}
    count = 0
    for b in bars:
        if b in scene_first:
            count = 0
        if count % step == 0:
            kind = "cut" if b in on_beat else ("start" if b == 0 else "bar")
            starts.append((b, kind, on_beat.get(int(b)) if kind == "cut" else None))
        count += 1
    # a slow bar in an aroused scene may change at its half: two beats of at least HALF_BAR_S/2
    ends = bars[1:] + [end_pos]
    for b, e in zip(bars, ends):
        t0, t1 = float(grid.time(b)), float(grid.time(b + 2))
        if e - b >= 4 and float(grid.time(b + 4)) - t0 >= HALF_BAR_S and _aroused(emotion, t0, t1):
            starts.append((b + 2, "half", None))
    # cuts no beat reaches: the chord changes at the cut itself
    off = [c for c in cuts if not any(abs(c - t) < 1e-9 for t in on_beat.values())]
    starts += [(float(grid.pos(c)), "cut", c) for c in off]
    starts.sort()
    # a bar line that would leave a chord shorter than MIN_SLOT (before a cut) carries no change
    times = [float(grid.time(p)) for p, _, _ in starts] + [duration]
    starts = [x for i, x in enumerate(starts) if x[1] not in ("bar", "half")
              or times[i + 1] - times[i] >= (MIN_SLOT if x[1] == "bar" else HALF_BAR_S / 2)]
    slots: list[Slot] = []
    scene = 0
    T = max(1, int(np.ceil(duration - 1e-9)))
    for pos, kind, cut in starts:
        t = float(grid.time(pos))
        sec = int(round(t))
        if kind == "cut" and pos > 0:
            scene += 1
        if sec >= T or (slots and sec <= slots[-1].second):
            if kind == "cut" and slots and sec == slots[-1].second and slots[-1].kind in ("bar", "half"):
                slots[-1] = Slot(t, pos, sec, kind, scene, cut)    # a cut outranks a bar line
            elif kind == "cut" and slots:
                slots[-1].scene = scene
            continue
        slots.append(Slot(t, pos, sec, kind, scene, cut))
    return Meter(grid, float(bpm), float(duration), bars, slots,
                 [s.cut for s in slots if s.cut is not None])
