"""The MIDI file (tracks, tempo map, key, chord symbols, cut markers) and cut alignment."""
from __future__ import annotations

import mido
import numpy as np
import pretty_midi
import pytest
from arrange_plans import chord_plan, flat_dynamics, one_hot

from v2m_desktop.core.arrange import ArrangeOptions, arrange, cut_alignment, write_midi
from v2m_desktop.core.chords import chord_symbol, flat_key
from v2m_desktop.core.errors import V2MError

CUTS = [2.9, 7.35, 11.1, 16.4, 21.8, 26.05]


def _plan(T=30, key_root=2, mode=1):
    # the chord track changes at the seconds of the cuts, as a model that sees cuts tends to
    extra = {int(c) for c in CUTS}
    return chord_plan(T, change_every=3, key_root=key_root, mode=mode, extra_changes=extra)


@pytest.fixture
def arr():
    T = 30
    return arrange(_plan(T), flat_dynamics(T, density=12), duration=29.5, cuts=CUTS,
                   motion=np.full(T, 10.0), emotion=one_hot("tense", T), options=ArrangeOptions(style="band"))


def test_midi_file_contents(arr, tmp_path):
    path = write_midi(arr, tmp_path / "song.mid")
    assert [p.name for p in tmp_path.iterdir()] == ["song.mid"]       # no temp file left
    m = pretty_midi.PrettyMIDI(str(path))
    assert [(i.name, i.program, i.is_drum) for i in m.instruments] == \
        [("piano", 1, False), ("bass", 33, False), ("pad", 89, False), ("drums", 0, True)]
    for a, b in zip(m.instruments, arr.midi.instruments):
        assert len(a.notes) == len(b.notes)
    # tempo map: the file's beats are the arrangement's beats
    beats = m.get_beats()
    n = min(len(beats), len(arr.beat_times))
    assert n >= len(arr.beat_times) - 1
    assert np.abs(beats[:n] - arr.beat_times[:n]).max() < 2e-3
    _, tempi = m.get_tempo_changes()
    assert np.all(np.abs(tempi / arr.tempo - 1) <= 0.1)     # the first cut, 2.9 s in, bends it 9 %
    assert [k.key_number for k in m.key_signature_changes] == [12 + 2]        # D minor
    flats = flat_key(arr.key_root, arr.mode)
    assert [ly.text for ly in m.lyrics] == [chord_symbol(t, flats) for _, _, t in arr.chord_times]
    assert np.allclose([ly.time for ly in m.lyrics], [s for s, _, _ in arr.chord_times], atol=2e-3)
    # markers at the cuts
    mid = mido.MidiFile(str(path))
    tick, markers = 0, []
    for msg in mid.tracks[0]:
        tick += msg.time
        if msg.type == "marker":
            markers.append(m.tick_to_time(tick))
    assert np.allclose(markers, CUTS, atol=2e-3)
    assert mid.tracks[0][-1].type == "end_of_track"


def test_write_midi_bad_folder(arr, tmp_path):
    with pytest.raises(V2MError, match="folder"):
        write_midi(arr, tmp_path / "missing" / "song.mid")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(V2MError):
        write_midi(arr, blocker / "song.mid")
    with pytest.raises(V2MError, match="is the input"):
        write_midi(arr, blocker, source=blocker)
    assert blocker.read_text() == "x"


def test_cut_alignment_beats_random(arr):
    res = cut_alignment(arr, tol=0.1, seed=0)
    assert res["cuts"] == len(CUTS)
    assert res["beat"] >= 0.8 and res["chord"] >= 0.8
    assert res["random_chord"] < res["chord"] - 0.3
    assert res["chord_changes"] == len(arr.chord_times) - 1


def test_cut_alignment_without_cuts():
    T = 6
    a = arrange(chord_plan(T), flat_dynamics(T), duration=6.0, cuts=[], motion=np.zeros(T),
                emotion=one_hot("neutral", T), options=ArrangeOptions(style="band"))
    res = cut_alignment(a)
    assert res["cuts"] == 0 and np.isnan(res["beat"])
