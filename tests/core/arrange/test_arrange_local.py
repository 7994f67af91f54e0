"""Edits stay local: arranging after a chord edit changes no note that starts more than a bar
away from the edited seconds (no random stream or voice leading runs through the piece)."""
from __future__ import annotations

import numpy as np
from arrange_plans import chord_plan, one_hot

from v2m_desktop.core.arrange import ArrangeOptions, arrange
from v2m_desktop.core.arrange.meter import plan_meter
from v2m_desktop.core.chords import chord_id
from v2m_desktop.core.tracks import ChordTrack, Dynamics

SECONDS = 180


def _notes(arr):
    return {(i.name, round(n.start, 6), round(n.end, 6), n.pitch, n.velocity)
            for i in arr.midi.instruments for n in i.notes}


def _arrange(chords, meter, dyn, motion, emotion):
    return arrange(chords, dyn, duration=float(SECONDS), cuts=list(meter.cuts), motion=motion,
                   emotion=emotion, options=ArrangeOptions(seed=7), meter=meter)


def test_a_chord_edit_at_0_30_leaves_notes_a_bar_away_identical():
    rng = np.random.default_rng(3)
    cuts = sorted(set(np.cumsum(rng.uniform(4, 14, 30)).round(2)))
    cuts = [c for c in cuts if c < SECONDS - 2]
    emotion = one_hot("exciting", SECONDS) * 0.5 + one_hot("relaxing", SECONDS) * 0.5
    meter = plan_meter(cuts, float(SECONDS), emotion)
    rules = meter.rules(SECONDS)
    base = chord_plan(SECONDS, change_every=1)
    # the plan's chords change only where the meter allows (as the sampler writes them)
    tokens = base.tokens.copy()
    for s in range(1, SECONDS):
        if not rules.change[s]:
            tokens[s] = tokens[s - 1]
    before = ChordTrack(tokens, 0, 0)
    dyn = Dynamics(np.abs(np.sin(np.arange(SECONDS) / 7.0)).astype(np.float32) * 14 + 4,
                   np.full(SECONDS, 0.25, dtype=np.float32))
    motion = rng.gamma(2.0, 4.0, SECONDS)
    a = _arrange(before, meter, dyn, motion, emotion)

    edited = tokens.copy()
    e0, e1 = 30, 34
    edited[e0:e1] = chord_id(2, "min7")
    b = _arrange(ChordTrack(edited, 0, 0), meter, dyn, motion, emotion)

    bar_s = 4 * 60.0 / meter.bpm * 1.5            # a bar, with room for a slower stretch
    t0, t1 = e0 - bar_s, e1 + bar_s
    outside = {n for n in _notes(a) if not t0 <= n[1] < t1}
    outside_b = {n for n in _notes(b) if not t0 <= n[1] < t1}
    assert len(outside) > 500
    assert outside == outside_b
    # and the edit did change the music inside
    assert {n for n in _notes(a) if e0 <= n[1] < e1} != {n for n in _notes(b) if e0 <= n[1] < e1}
