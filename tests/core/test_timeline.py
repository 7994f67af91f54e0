"""What the timeline shows (core.timeline) and what playback plays (core.playback)."""
from __future__ import annotations

import numpy as np
import pretty_midi
import pytest

from v2m_desktop.core.chords import chord_id, chord_symbol, parse_chord_symbol
from v2m_desktop.core.playback import Soundtrack
from v2m_desktop.core.timeline import chord_blocks, notes_of


def test_chord_symbols_read_back():
    for root in range(12):
        for q in ("maj", "min", "7", "maj7", "min7", "dim", "aug", "sus2", "sus4", "maj6", "min6",
                  "dim7", "hdim7"):
            assert parse_chord_symbol(chord_symbol(chord_id(root, q))) == (root, q)
    assert chord_symbol(chord_id(9, "min")) == "Am" and chord_symbol(0) == "N"


def test_chord_blocks_join_runs():
    C, Am = chord_id(0, "maj"), chord_id(9, "min")
    blocks = chord_blocks([(0, 2, C), (2, 3, C), (3, 5, Am), (5, 6, C)])
    assert [(b.start, b.end, b.symbol) for b in blocks] == [(0, 3, "C"), (3, 5, "Am"), (5, 6, "C")]
    assert blocks[1].quality == "min"


def test_notes_of_keeps_parts_and_order():
    midi = pretty_midi.PrettyMIDI()
    for name, drum, notes in (("piano", False, [(1.0, 60), (0.0, 64)]), ("drums", True, [(0.5, 36)])):
        inst = pretty_midi.Instrument(0, is_drum=drum, name=name)
        inst.notes = [pretty_midi.Note(90, p, s, s + 0.5) for s, p in notes]
        midi.instruments.append(inst)
    n = notes_of(midi)
    assert list(n.start) == [0.0, 0.5, 1.0] and list(n.pitch) == [64, 36, 60]
    assert [n.parts[k] for k in n.part] == ["piano", "drums", "piano"] and n.drums == (False, True)


def test_soundtrack_mixes_the_original_at_its_level():
    sr = 100
    music = np.full((300, 2), 0.25, np.float32)
    original = np.full(250, 0.5, np.float32)            # mono, shorter: padded with silence
    s = Soundtrack(music, sr, original, level=0.0)
    assert np.allclose(s.read(0, 10), 0.25)
    s.level = 0.5
    block = s.read(245, 10)
    assert np.allclose(block[:5], 0.5) and np.allclose(block[5:], 0.25)
    assert np.allclose(s.read(295, 10)[5:], 0.0)        # past the end: silence
    assert np.allclose(s.read(-5, 10)[:5], 0.0)
    s.level = 1.0
    s.music[:] = 0.9
    assert s.read(0, 4).max() == pytest.approx(1.0)     # kept within full scale
    with pytest.raises(Exception, match="between 0 and 1"):
        s.level = 1.5


def test_an_edit_patches_the_blocks_at_once_inside_its_seconds_only():
    """patch_chords: the arranged blocks outside the edit stay to the millisecond; inside, the
    project's chords a second each, joined."""
    import numpy as np

    from v2m_desktop.core import edits as E
    from v2m_desktop.core.project import Project, Settings, VideoRef
    from v2m_desktop.core.timeline import chord_blocks, patch_chords
    tokens = np.array([E.chord_token("C")] * 8 + [E.chord_token("Am")] * 12, dtype=np.int64)
    p = Project(VideoRef("v.mp4", "1:x", 20.0, 20), Settings(), tokens, 0, 0)
    arranged = chord_blocks([(0.0, 7.62, int(tokens[0])), (7.62, 20.0, int(tokens[8]))])
    E.SetChords(10, 13, "F").apply(p)
    E.Lock(10, 13).apply(p)
    got = [(round(b.start, 2), round(b.end, 2), b.symbol, b.locked)
           for b in patch_chords(arranged, p, 10, 13)]
    assert got == [(0.0, 7.62, "C", False), (7.62, 10.0, "Am", False), (10.0, 13.0, "F", True),
                   (13.0, 20.0, "Am", False)]
