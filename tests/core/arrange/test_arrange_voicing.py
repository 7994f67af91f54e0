"""Chord notes of every quality, voicings round the centre of C3-C5, bass roots in E1-B2."""
from __future__ import annotations

import pytest

from v2m_desktop.core.arrange.voicing import (
    QUALITY_INTERVALS,
    BassLine,
    Voicer,
    candidate_voicings,
    chord_pitch_classes,
)
from v2m_desktop.core.chords import N_ID, QUALITIES, chord_id

EXPECTED = {   # semitones above the root, written out independently
    "maj": {0, 4, 7}, "min": {0, 3, 7}, "dim": {0, 3, 6}, "aug": {0, 4, 8}, "sus2": {0, 2, 7},
    "sus4": {0, 5, 7}, "7": {0, 4, 7, 10}, "maj7": {0, 4, 7, 11}, "min7": {0, 3, 7, 10},
    "dim7": {0, 3, 6, 9}, "hdim7": {0, 3, 6, 10}, "maj6": {0, 4, 7, 9}, "min6": {0, 3, 7, 9},
}


@pytest.mark.parametrize("quality", QUALITIES)
def test_every_quality_has_the_right_notes(quality):
    assert set(QUALITY_INTERVALS[quality]) == EXPECTED[quality]
    pcs = chord_pitch_classes(chord_id(2, quality))          # D
    assert {(p - 2) % 12 for p in pcs} == EXPECTED[quality]
    for v in candidate_voicings(pcs):
        assert len(v) == 4 and 48 <= min(v) and max(v) <= 72
        assert {p % 12 for p in v} == set(pcs)
        assert list(v) == sorted(v)


def test_no_chord_has_no_notes():
    assert chord_pitch_classes(N_ID) is None
    assert Voicer().voice(N_ID) is None
    assert BassLine().root(N_ID) is None


def test_neighbouring_chords_move_little_without_state():
    vl = Voicer()
    seq = [chord_id(r, q) for r, q in [(0, "maj"), (9, "min"), (5, "maj"), (7, "7"), (0, "maj")]]
    voicings = [vl.voice(t) for t in seq]
    assert voicings[0] == voicings[-1]                 # the same chord, the same voicing, always
    for a, b in zip(voicings, voicings[1:]):
        assert max(abs(x - y) for x, y in zip(a, b)) <= 6    # no voice leaps past a tritone
        assert len(set(a) & set(b)) >= 1 or a == voicings[3] or b == voicings[3]
    assert all(48 <= p <= 72 for v in voicings for p in v)
    # any two chords of the vocabulary: every voice moves a tritone at most
    tokens = [chord_id(r, q) for r in range(12) for q in QUALITIES]
    vs = {t: vl.voice(t) for t in tokens}
    assert max(max(abs(x - y) for x, y in zip(vs[a], vs[b])) for a in tokens for b in tokens) <= 6


def test_bass_roots_stay_in_range_and_near():
    line = BassLine()
    prev = None
    for r in [0, 9, 5, 7, 0, 11, 4, 2, 6, 1]:
        p = line.root(chord_id(r, "maj"))
        assert 28 <= p <= 47 and p % 12 == r
        if prev is not None:
            assert abs(p - prev) <= 11
        prev = p
