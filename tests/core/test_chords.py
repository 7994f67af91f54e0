"""Chord vocabulary, emotion masks, chord-symbol and key parsing (README sections 3 and 4)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from v2m_desktop.core.chords import (
    EMOTION_MASKS,
    END_ID,
    N_ID,
    PAD_ID,
    QUAL_IDS,
    ROOT_IDS,
    VOCAB,
    chord_id,
    chord_name,
    parse_chord_symbol,
    parse_key,
    quality_of,
    root_of,
    token_of_name,
    transpose,
)
from v2m_desktop.core.errors import V2MError

# README section 3, written out independently of the code under test.
README_ROOTS = "C C# D D# E F F# G G# A A# B".split()
README_QUALITIES = "maj dim sus4 min7 min sus2 aug dim7 maj6 hdim7 7 min6 maj7".split()
# README section 4 table.
README_ALLOWED = [
    {"maj", "sus4", "7"},               # exciting
    {"dim", "min7", "dim7", "hdim7"},   # fearful
    {"dim", "sus4", "min7", "7"},       # tense
    {"min7", "min", "sus2"},            # sad
    {"maj", "maj6", "maj7"},            # relaxing
    set(),                              # neutral
]


@pytest.mark.parametrize("name, token", [
    ("N", 0), ("C", 1), ("C:dim", 2), ("C:maj7", 13), ("C#", 14), ("C#:min7", 17),
    ("A:min", 122), ("G:7", 102), ("B", 144), ("B:maj7", 156),
])
def test_token_ids(name, token):
    assert VOCAB[name] == token
    assert token_of_name(name) == token
    assert chord_name(token) == name


def test_special_ids():
    assert (N_ID, END_ID, PAD_ID) == (0, 157, 158)
    assert chord_name(157) == "END"
    assert chord_name(158) == "PAD"
    assert len(VOCAB) == 157


def test_every_id_follows_the_formula_and_round_trips():
    for r, root in enumerate(README_ROOTS):
        for q, qual in enumerate(README_QUALITIES, start=1):
            token = 1 + 13 * r + (q - 1)
            name = root if qual == "maj" else f"{root}:{qual}"
            assert chord_name(token) == name
            assert chord_id(r, qual) == token
            assert root_of(token) == r
            assert quality_of(token) == qual
    names = [chord_name(t) for t in range(157)]
    assert len(set(names)) == 157
    assert [token_of_name(n) for n in names] == list(range(157))
    for t in (N_ID, END_ID, PAD_ID):
        assert root_of(t) is None and quality_of(t) is None


def test_unknown_chord_name():
    with pytest.raises(V2MError, match="C:foo"):
        token_of_name("C:foo")
    with pytest.raises(V2MError):
        token_of_name("C:maj")          # major chords are the bare root


def test_vocab_equals_dataset_json(muvi_root):
    meta = muvi_root / "vevo_meta"
    assert VOCAB == json.loads((meta / "chord.json").read_text())
    inv = json.loads((meta / "chord_inv.json").read_text())
    assert {int(k): v for k, v in inv.items()} == {t: chord_name(t) for t in range(157)}


def test_root_and_quality_ids_match_dataset_json(muvi_root):
    meta = muvi_root / "vevo_meta"
    roots = json.loads((meta / "chord_root.json").read_text())
    attrs = json.loads((meta / "chord_attr.json").read_text())
    for name, token in VOCAB.items():
        root, _, qual = name.partition(":")
        assert ROOT_IDS[token] == roots[root]
        assert QUAL_IDS[token] == (0 if name == "N" else attrs[qual or "maj"])


@pytest.mark.parametrize("token, root_id, qual_id", [
    (N_ID, 0, 0), (END_ID, 13, 14), (PAD_ID, 14, 15),
    (1, 1, 1), (2, 1, 2), (14, 2, 1), (122, 10, 5), (156, 12, 13),
])
def test_root_and_quality_id_tables(token, root_id, qual_id):
    assert ROOT_IDS[token] == root_id
    assert QUAL_IDS[token] == qual_id


def test_id_tables_shape_and_range():
    assert ROOT_IDS.shape == QUAL_IDS.shape == (159,)
    assert ROOT_IDS.min() == 0 and ROOT_IDS.max() == 14
    assert QUAL_IDS.min() == 0 and QUAL_IDS.max() == 15


def test_emotion_masks_follow_readme_table():
    assert EMOTION_MASKS.shape == (6, 159)
    assert EMOTION_MASKS.dtype == np.float32
    for e, allowed in enumerate(README_ALLOWED):
        assert EMOTION_MASKS[e].sum() == 12 * len(allowed)
        for t in range(1, 157):
            qual = README_QUALITIES[(t - 1) % 13]
            assert EMOTION_MASKS[e, t] == (1.0 if qual in allowed else 0.0), (e, chord_name(t))
    assert not EMOTION_MASKS[5].any()                        # neutral allows nothing
    assert not EMOTION_MASKS[:, [N_ID, END_ID, PAD_ID]].any()
    assert list(EMOTION_MASKS.sum(axis=1)) == [36, 48, 48, 36, 36, 0]
    for qual in ("aug", "min6"):                             # allowed by no emotion
        cols = [t for t in range(1, 157) if quality_of(t) == qual]
        assert not EMOTION_MASKS[:, cols].any()


def test_emotion_mask_examples():
    assert EMOTION_MASKS[0, VOCAB["G:7"]] == 1          # exciting: 7
    assert EMOTION_MASKS[3, VOCAB["A:min"]] == 1        # sad: min
    assert EMOTION_MASKS[0, VOCAB["A:min"]] == 0
    assert EMOTION_MASKS[4, VOCAB["F:maj7"]] == 1       # relaxing: maj7
    assert EMOTION_MASKS[1, VOCAB["B:hdim7"]] == 1      # fearful: hdim7
    assert EMOTION_MASKS[2, VOCAB["C"]] == 0            # tense: no maj


@pytest.mark.parametrize("symbol, expected", [
    ("Am", (9, "min")), ("F#m7", (6, "min7")), ("Bb", (10, "maj")), ("G7", (7, "7")),
    ("Cmaj7", (0, "maj7")), ("Dsus4", (2, "sus4")), ("C:min", (0, "min")), ("C", (0, "maj")),
    ("Ebm", (3, "min")), ("Dbmaj7", (1, "maj7")), ("  am ", (9, "min")), ("B:hdim7", (11, "hdim7")),
])
def test_parse_chord_symbol(symbol, expected):
    assert parse_chord_symbol(symbol) == expected


@pytest.mark.parametrize("symbol", ["H", "Cxyz", "", "C:xyz", "Xm"])
def test_parse_chord_symbol_errors(symbol):
    with pytest.raises(V2MError) as err:
        parse_chord_symbol(symbol)
    assert repr(symbol) in str(err.value)


@pytest.mark.parametrize("text, expected", [
    ("D minor", (2, 1)), ("Eb major", (3, 0)), ("F#m", (6, 1)), ("C major", (0, 0)),
    ("A minor", (9, 1)), ("Bb", (10, 0)), ("g min", (7, 1)),
])
def test_parse_key(text, expected):
    assert parse_key(text) == expected


@pytest.mark.parametrize("text", ["G7", "H major", "C dorian", "", "C major extra"])
def test_parse_key_errors(text):
    with pytest.raises(V2MError):
        parse_key(text)


def test_transpose_examples():
    assert transpose(VOCAB["C"], 2) == VOCAB["D"]
    assert transpose(VOCAB["A:min"], 3) == VOCAB["C:min"]
    assert transpose(VOCAB["B:7"], 1) == VOCAB["C:7"]
    assert transpose(VOCAB["C:maj7"], -1) == VOCAB["B:maj7"]
    assert transpose(VOCAB["E:dim"], -16) == VOCAB["C:dim"]
    for t in (N_ID, END_ID, PAD_ID):
        assert transpose(t, 5) == t


def test_transpose_keeps_quality_and_inverts():
    for t in range(1, 157):
        for k in (-13, -5, 1, 7, 12):
            u = transpose(t, k)
            assert 1 <= u <= 156
            assert quality_of(u) == quality_of(t)
            assert root_of(u) == (root_of(t) + k) % 12
            assert transpose(u, -k) == t


def test_flat_keys_spell_their_chords_with_flats():
    from v2m_desktop.core.chords import chord_id, chord_symbol, flat_key
    from v2m_desktop.core.tracks import ChordTrack
    assert flat_key(5, 0) and flat_key(2, 1) and not flat_key(7, 0) and not flat_key(9, 1)
    assert chord_symbol(chord_id(10, "sus2"), flats=True) == "Bbsus2"
    assert chord_symbol(chord_id(10, "sus2")) == "A#sus2"
    assert ChordTrack(np.zeros(2, dtype=np.int64), 10, 0).key_name == "Bb major"
