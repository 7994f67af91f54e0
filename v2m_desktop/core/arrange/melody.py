"""The melody: a lead part that states a motif and brings it back, varied, in every phrase.

A phrase is the meter's (``Context.phrase_bars`` bars from a scene's start, closed by the
chords' cadence), cut into four units: the motif (a bar's rhythm and contour, drawn from the
seed, stretched over the unit), the motif sequenced a step, the motif again (varied from phrase
to phrase: shifted, inverted), and the cadence: the motif's head, then a long chord tone to the
phrase's end.  Notes on the strong beats (a unit's first and middle beat) are tones of the chord
sounding; the others are tones of the key's scale (with the chord's own tones) along the
contour.  Every note is found from the seed, its unit's place in its phrase and the chords around
it alone (no line is carried from note to note), so a chord edit changes the melody over that
chord's units only."""
from __future__ import annotations

import bisect

import pretty_midi

from v2m_desktop.core.arrange.feel import velocity
from v2m_desktop.core.arrange.parts import Context, _instrument, _no_overlaps, _note, hash_ints
from v2m_desktop.core.arrange.voicing import chord_pitch_classes

# one bar: (onset in beats, length in beats, scale steps from the unit's anchor)
MOTIFS = (
    ((0, 1.5, 0), (1.5, .5, 1), (2, 1, 2), (3, 1, 1)),
    ((0, 1, 0), (1, 1, 2), (2, 1.5, 4), (3.5, .5, 3)),
    ((0, .5, 0), (.5, .5, -1), (1, 1, 0), (2, 2, 2)),
    ((0, 2, 0), (2, .5, 1), (2.5, .5, 2), (3, 1, 4)),
    ((0, 1, 4), (1, 1, 2), (2, 1, 1), (3, 1, 0)),
    ((0, .5, 0), (.5, .5, 1), (1, .5, 2), (1.5, 1.5, 4), (3, 1, 2)),
)
# per phrase (cycling): (steps the second unit moves the motif, whether the third inverts it)
VARIATIONS = ((1, False), (-1, False), (2, True), (1, True))
SCALES = ((0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10))     # major, natural minor
LEAD_ACCENT = 6         # the melody sits a little over the accompaniment


def chord_scale(key: tuple[int, int], token: int) -> set[int]:
    """The key's scale with the chord's own tones in it: a chord tone the key lacks (the B of
    Asus2 in F major) replaces the scale tones a semitone from it (the Bb), so no passing note
    rubs against the chord."""
    root, mode = key
    scale = {(root + d) % 12 for d in SCALES[mode]}
    for pc in chord_pitch_classes(token) or ():
        if pc not in scale:
            scale = {x for x in scale if (x - pc) % 12 not in (1, 11)} | {pc}
    return scale


def _scale_pitch(ctx: Context, anchor: int, steps: int, token: int) -> int:
    """The chord scale's tone `steps` steps from `anchor` (itself moved onto the scale)."""
    scale = chord_scale(ctx.key, token)
    ups = sorted({p for p in range(anchor - 24, anchor + 25) if p % 12 in scale})
    i = min(range(len(ups)), key=lambda k: (abs(ups[k] - anchor), ups[k]))
    return ups[min(max(i + steps, 0), len(ups) - 1)]


def _chord_tone(token: int, target: int, lo: int, hi: int) -> int | None:
    pcs = chord_pitch_classes(token)
    if pcs is None:
        return None
    cands = [p for p in range(lo, hi + 1) if p % 12 in pcs]
    return min(cands, key=lambda p: (abs(p - target), p)) if cands else None


def _fold(p: int, lo: int, hi: int) -> int:
    while p > hi:
        p -= 12
    while p < lo:
        p += 12
    return p


def _units(ctx: Context, stop: float) -> list[tuple[float, float, int, int]]:
    """(start, end, unit 0-3, phrase number in its scene) of the melody's units before `stop`."""
    bars = [b for b in (ctx.bars or [0.0]) if b < stop]
    step = max(ctx.phrase_bars // 4, 1)
    out = []
    first = 0
    for i, b in enumerate(bars):
        if i == 0 or int(round(b)) in ctx.cut_beats:
            first = i
        k = i - first
        if k % step:
            continue
        nxt = i + step
        scene_end = next((j for j in range(i + 1, min(nxt, len(bars)))
                          if int(round(bars[j])) in ctx.cut_beats), None)
        end_i = scene_end if scene_end is not None else nxt
        end = bars[end_i] if end_i < len(bars) else stop
        out.append((b, min(end, stop), (k // step) % 4, k // ctx.phrase_bars))
    return out


def melody(ctx: Context) -> pretty_midi.Instrument:
    spec = ctx.part("melody")
    inst = _instrument(ctx, "melody")
    lo, hi, centre = spec.pitches
    segs = ctx.segments
    if not segs:
        return inst
    starts = [s.start for s in segs]

    def token_at(pos: float) -> int:
        return segs[max(bisect.bisect_right(starts, pos + 1e-6) - 1, 0)].token

    last = segs[-1]
    stop = last.start if len(segs) > 1 else ctx.end_pos
    motif = MOTIFS[hash_ints(ctx.seed, 0x4D0) % len(MOTIFS)]
    for u0, u1, unit, phrase in _units(ctx, stop):
        scale = max(ctx.phrase_bars // 4, 1)
        shift, invert = VARIATIONS[phrase % len(VARIATIONS)] if phrase else (0, False)
        anchor = _chord_tone(token_at(u0), int(centre), lo, hi)
        if anchor is None:
            continue                            # no chord (N): the melody rests
        notes = list(motif)
        if unit == 1:
            notes = [(o, d, s + (shift or 1)) for o, d, s in notes]
        elif unit == 2 and invert:
            notes = [(o, d, -s) for o, d, s in notes]
        elif unit == 3:                         # the cadence: the head, then a held chord tone
            head = [n for n in notes if n[0] < 2]
            notes = head + [(2.0, 2.0, 0)]
        level = ctx.level(ctx.t(u0), ctx.t(u1))
        for k, (off, length, steps) in enumerate(notes):
            b = u0 + off * scale
            if b >= u1 - 1e-6 or (level == 0 and off % 1):
                continue                        # a calm scene: the line's long notes only
            end = min(b + length * scale, u1)
            if unit == 3 and k == len(notes) - 1:
                end = u1                        # the phrase's last note holds to its end
            strong = (off * scale) % (2 * scale) == 0
            target = _fold(_scale_pitch(ctx, anchor, steps, token_at(b)), lo, hi)
            pitch = _chord_tone(token_at(b), target, lo, hi) if strong or unit == 3 else target
            if pitch is None:
                continue
            t0 = ctx.t(b)
            accent = LEAD_ACCENT + (4 if off == 0 else 0)
            _note(inst, ctx, pitch, velocity(ctx.feel.loud(t0)) + accent, t0, ctx.t(end) - 0.02)
    if len(segs) > 1:                           # the final tonic, held to the last frame
        tone = _chord_tone(last.token, int(centre), lo, hi)
        if tone is not None:
            t0 = ctx.t(last.start)
            _note(inst, ctx, tone, velocity(ctx.feel.loud(t0)) + LEAD_ACCENT, t0, ctx.duration)
    return _no_overlaps(inst)
