"""Styles as data: every shipped style loads and plays its own instruments, patterns, registers,
groove and swing; Auto picks from the picture; a range's style plays only there and leaves the
rest of the piece as it was; the melody states its motif and brings it back, chord tones on the
strong beats, phrase ends held on chord tones."""
from __future__ import annotations

import numpy as np
import pytest
from arrange_plans import chord_plan, flat_dynamics, moderate, one_hot

from v2m_desktop.core.arrange import ArrangeOptions, arrange
from v2m_desktop.core.arrange.styles import (
    PATTERNS,
    StylePlan,
    all_styles,
    choose_style,
    load_style,
    parse_style,
    styles_dir,
)
from v2m_desktop.core.arrange.voicing import chord_pitch_classes
from v2m_desktop.core.errors import V2MError

CUTS = [7.3, 15.1, 22.0]


def _arrange(style, seconds=30, ranges=(), chords=None, tempo=100.0, **kw):
    c, dyn, motion, emo = moderate(seconds)
    return arrange(chords or c, dyn, duration=float(seconds), cuts=CUTS, motion=motion, emotion=emo,
                   options=ArrangeOptions(style=style, style_ranges=tuple(ranges), tempo=tempo, seed=3, **kw))


def _notes(inst):
    return [(round(n.start, 6), round(n.end, 6), n.pitch, n.velocity) for n in inst.notes]


def test_at_least_six_styles_each_a_file_with_every_field():
    styles = all_styles()
    assert len(styles) >= 6
    assert {"cinematic", "ambient", "lofi", "pop", "acoustic", "piano"} <= set(styles)
    for key, st in styles.items():
        assert st.key == key and st.name and st.summary and st.tempo[0] < st.tempo[1]
        for role, part in st.parts.items():
            assert part.pattern in PATTERNS[role]
    patterns = {p.pattern for st in styles.values() for role, p in st.parts.items() if role == "piano"}
    assert patterns == {"arpeggio", "strum", "ostinato"} | (patterns & {"sustained"})
    assert any(st.drums is None for st in styles.values()) and any(st.swing > 0 for st in styles.values())
    assert any("melody" in st.parts for st in styles.values())
    assert any("melody" not in st.parts for st in styles.values())


@pytest.mark.parametrize("key", sorted(all_styles()))
def test_each_style_plays_its_instruments_in_their_registers(key):
    st = all_styles()[key]
    arr = _arrange(key)
    assert arr.style == key
    names = [i.name for i in arr.midi.instruments]
    assert names == [r for r in ("piano", "bass", "pad", "drums", "melody") if st.has(r)]
    for inst in arr.midi.instruments:
        assert inst.program == st.program(inst.name) and inst.is_drum == (inst.name == "drums")
        volume = [c.value for c in inst.control_changes if c.number == 7]
        assert volume[0] == st.mix(inst.name)[0]
        assert all(0 <= n.start < n.end <= arr.duration + 1e-9 for n in inst.notes)
        if inst.name != "drums":
            lo, hi, _ = st.parts[inst.name].pitches
            top = hi + 12 if st.parts[inst.name].pattern == "arpeggio" else hi    # the top line
            assert inst.notes and all(lo <= n.pitch <= top for n in inst.notes)


def test_styles_sound_apart():
    """Different instruments, and different rhythms: notes a second of the harmony part."""
    arrs = {k: _arrange(k) for k in all_styles()}
    programs = {k: tuple((i.name, i.program) for i in a.midi.instruments) for k, a in arrs.items()}
    assert len(set(programs.values())) == len(programs)
    rate = {k: len(a.midi.instruments[0].notes) / a.duration for k, a in arrs.items()}
    assert rate["pop"] > 1.5 * rate["ambient"]


def test_swing_moves_the_off_beats_late():
    arr = _arrange("lofi")
    beats = arr.beat_times
    pos = np.interp([n.start for n in arr.midi.instruments[0].notes], beats, np.arange(len(beats)))
    frac = np.round(pos % 1, 2)
    swing = all_styles()["lofi"].swing
    assert np.any(np.isclose(frac, 0.5 + swing, atol=0.02))
    assert not np.any(np.isclose(frac, 0.5, atol=0.02))


def test_auto_picks_from_the_picture():
    T = 40
    chords = chord_plan(T)
    calm = arrange(chords, flat_dynamics(T, 4.0, 0.08), duration=T, cuts=[], motion=np.full(T, 0.5),
                   emotion=one_hot("relaxing", T), options=ArrangeOptions())
    cuts = [float(c) for c in np.arange(2.0, T, 2.0)]
    busy = arrange(chords, flat_dynamics(T, 22.0, 0.35), duration=T, cuts=cuts, motion=np.full(T, 30.0),
                   emotion=one_hot("exciting", T), options=ArrangeOptions())
    assert calm.style in ("ambient", "piano") and busy.style in ("pop", "cinematic")
    emo = one_hot("sad", 10)
    assert choose_style(emo, 0.2, 3.0) == choose_style(emo, 0.2, 3.0)          # the same every time


def test_names_and_bad_files(tmp_path):
    assert parse_style("Lo-fi") == parse_style("LOFI") == "lofi"
    assert parse_style("upbeat pop") == "pop" and parse_style(None) == "auto"
    with pytest.raises(V2MError, match="unknown style 'jazz'.*cinematic"):
        parse_style("jazz")
    with pytest.raises(V2MError):
        parse_style("auto", auto=False)
    bad = tmp_path / "bad.toml"
    src = (styles_dir() / "piano.toml").read_text()
    bad.write_text(src.replace('"Acoustic Grand Piano"', '"Kazoo"', 1))
    with pytest.raises(V2MError, match="bad.toml: parts.piano.program.*Kazoo"):
        load_style(bad)
    bad.write_text(src.replace('pattern = "arpeggio"', 'pattern = "waltz"'))
    with pytest.raises(V2MError, match="bad.toml: parts.*waltz"):
        load_style(bad)
    bad.write_text("name = [")
    with pytest.raises(V2MError, match="cannot read the style"):
        load_style(bad)


def test_style_plan_ranges():
    plan = StylePlan.build("band", [(5, 10, "lofi"), (8, 12, "ambient")], 20.0)
    assert plan.spans == ((0.0, 5.0, "band"), (5.0, 8.0, "lofi"), (8.0, 12.0, "ambient"),
                          (12.0, 20.0, "band"))
    assert plan.keys() == ["band", "lofi", "ambient"] and plan.at(9.0) == "ambient"
    assert StylePlan.build("band", [(0, 30, "pop")], 20.0).spans == ((0.0, 20.0, "pop"),)


def test_a_range_style_plays_only_in_its_range():
    whole = _arrange("acoustic", seconds=30)
    mixed = _arrange("acoustic", seconds=30, ranges=[(10, 20, "cinematic")])
    names = [i.name for i in mixed.midi.instruments]
    # the harmony part: cinematic's grand piano is another instrument than the nylon guitar
    assert "piano-cinematic" in names and names.count("piano") == 1
    by = {i.name: i for i in mixed.midi.instruments}
    assert all(10 <= n.start < 20 for n in by["piano-cinematic"].notes)
    assert not any(10 <= n.start < 20 for n in by["piano"].notes)
    assert all(n.end <= 10 + 1e-9 for n in by["piano"].notes if n.start < 10)
    # outside the range the piece is as it was, note for note
    ref = {i.name: i for i in whole.midi.instruments}
    for name in ("piano", "bass", "melody"):
        a = [n if n[0] >= 20 else (n[0], min(n[1], 10.0), *n[2:]) for n in _notes(ref[name])
             if not 10 <= n[0] < 20]             # (a note ringing into the range ends at its edge)
        b = [n for n in _notes(by[name]) if not 10 <= n[0] < 20]
        assert a == b and a
    # one instrument in both styles (lo-fi's bass is acoustic's): one track, its mixer following
    # the style at the range's edges
    lofi = _arrange("acoustic", seconds=30, ranges=[(10, 20, "lofi")])
    basses = [i for i in lofi.midi.instruments if i.name.startswith("bass")]
    assert [i.name for i in basses] == ["bass"]
    vol = [(c.time, c.value) for c in basses[0].control_changes if c.number == 7]
    mine, range_ = all_styles()["acoustic"].mix("bass")[0], all_styles()["lofi"].mix("bass")[0]
    assert vol == [(0.0, mine), (10.0, range_), (20.0, mine)]


def _beat_pos(arr, t):
    return float(np.interp(t, arr.beat_times, np.arange(len(arr.beat_times))))


def test_melody_motif_chord_tones_and_cadences():
    arr = _arrange("cinematic", seconds=48, tempo=90.0)
    mel = next(i for i in arr.midi.instruments if i.name == "melody")
    assert len(mel.notes) > 20
    bars = [_beat_pos(arr, t) for t in arr.bars()]
    chords = arr.chord_times

    def chord_at(t):
        return next(tok for a, b, tok in chords if a - 1e-6 <= t < b)

    strong = off = 0
    for n in mel.notes:
        p = _beat_pos(arr, n.start)
        bar = max(b for b in bars if b <= p + 1e-6)
        if abs((p - bar) % 2) < 1e-3 or abs((p - bar) % 2 - 2) < 1e-3:
            strong += 1
            off += n.pitch % 12 not in chord_pitch_classes(chord_at(n.start))
    assert strong > 8 and off == 0                     # chord tones on the strong beats
    # the motif comes back: the rhythm of the first unit of each phrase, in beats, recurs
    starts = [b for i, b in enumerate(bars) if i % 4 == 0]
    heads = []
    for b0 in starts:
        ns = [n for n in mel.notes if b0 - 1e-6 <= _beat_pos(arr, n.start) < b0 + 1 - 1e-6 + 3]
        heads.append(tuple(round(_beat_pos(arr, n.start) - b0, 2) for n in ns))
    assert max(heads.count(h) for h in heads) >= 2
    # ... varied: not every phrase plays the same pitches
    firsts = [tuple(n.pitch for n in mel.notes if b0 - 1e-6 <= _beat_pos(arr, n.start) < b0 + 16 - 1e-6)
              for b0 in starts]
    assert len(set(firsts)) >= 2
    # the last note holds the final chord to the end, a chord tone
    last = max(mel.notes, key=lambda n: n.start)
    assert abs(last.end - arr.duration) < 1e-6 and last.pitch % 12 in chord_pitch_classes(chords[-1][2])


def test_passing_notes_never_rub_against_the_chord():
    """No melody note, strong beat or not, rubs a semitone against a chord tone the key lacks
    (no Bb over the B of Asus2 in F major, no F over the F# of D major)."""
    from v2m_desktop.core.arrange.melody import chord_scale
    from v2m_desktop.core.chords import chord_id
    asus2 = chord_id(9, "sus2")
    assert 11 in chord_scale((5, 0), asus2) and 10 not in chord_scale((5, 0), asus2)
    chords = chord_plan(40, progression=[chord_id(5, "maj"), asus2, chord_id(2, "maj"), chord_id(0, "7")],
                        key_root=5)
    arr = _arrange("lofi", seconds=40, chords=chords)
    mel = next(i for i in arr.midi.instruments if i.name == "melody")
    checked = 0
    for n in mel.notes:
        token = next(tok for a, b, tok in arr.chord_times if a - 1e-6 <= n.start < b)
        foreign = set(chord_pitch_classes(token)) - {(5 + d) % 12 for d in (0, 2, 4, 5, 7, 9, 11)}
        assert all((n.pitch - pc) % 12 not in (1, 11) for pc in foreign), (n, token)
        checked += bool(foreign)
    assert checked > 5


def test_auto_keeps_the_sparse_styles_for_calm_pictures():
    """Solo piano and Ambient (no bass or no drums) only where the picture is clearly calm."""
    sad = one_hot("sad", 10)
    assert choose_style(sad, 0.2, 4.0) == "piano"
    assert choose_style(sad, 0.45, 4.0) not in ("piano", "ambient")
    assert all_styles()["piano"].auto.max_energy < 0.4 and all_styles()["pop"].auto.max_energy == 1.0
