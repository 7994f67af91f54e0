"""The decoded copy of an .sf3: plays as FluidSynth plays the .sf3, rebuilt when its source
changes or the copy is damaged, and never in the way of playing (the .sf3 itself is the
fallback)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from v2m_desktop.core import render as render_module
from v2m_desktop.core import soundfont_cache
from v2m_desktop.core.errors import V2MError
from v2m_desktop.core.soundfont_cache import playable

SF3 = next((p.resolve() for p in (Path("/usr/share/sounds/sf3/MuseScore_General.sf3"),
                                  Path("/usr/share/sounds/sf3/MuseScore_General_Lite.sf3"))
            if p.is_file()), None)
needs_sf3 = pytest.mark.skipif(SF3 is None, reason="no MuseScore General .sf3 installed")


def _midi() -> pretty_midi.PrettyMIDI:
    m = pretty_midi.PrettyMIDI()
    for program, drum, pitches in ((0, False, (60, 64, 67, 72)), (48, False, (55, 62)),
                                   (33, False, (36, 43)), (0, True, (36, 38, 42))):
        inst = pretty_midi.Instrument(program, is_drum=drum)
        for k, p in enumerate(pitches * 2):
            inst.notes.append(pretty_midi.Note(90, p, 0.2 * k, 0.2 * k + 1.0))
        m.instruments.append(inst)
    return m


@needs_sf3
def test_the_decoded_copy_plays_as_fluidsynth_plays_the_sf3(monkeypatch):
    assert SF3 is not None
    copy = playable(SF3)
    assert copy.suffix == ".sf2" and copy.parent == soundfont_cache.cache_dir()
    via_copy = render_module.render_raw(_midi(), soundfont=SF3, sample_rate=22050)
    monkeypatch.setattr(render_module, "playable", lambda sf: sf)     # FluidSynth decodes it
    render_module._kept.clear()
    direct = render_module.render_raw(_midi(), soundfont=SF3, sample_rate=22050)
    render_module._kept.clear()
    a = via_copy[0] if isinstance(via_copy, tuple) else via_copy
    b = direct[0] if isinstance(direct, tuple) else direct
    assert a.shape == b.shape and np.abs(b).max() > 0.05
    assert np.abs(a - b).max() < 1e-4


def test_a_bank_that_is_not_sf3_or_does_not_decode_is_played_as_it_is(tmp_path, monkeypatch):
    monkeypatch.setenv("V2M_SOUNDFONT_CACHE", str(tmp_path / "cache"))
    sf2 = tmp_path / "a.sf2"
    sf2.write_bytes(b"x")
    assert playable(sf2) == sf2
    junk = tmp_path / "junk.sf3"
    junk.write_bytes(b"RIFF\x10\x00\x00\x00sfbk" + b"\x00" * 16)
    assert playable(junk) == junk
    assert not list((tmp_path / "cache").glob("*.sf2"))
    with pytest.raises(V2MError, match="SoundFont"):      # FluidSynth's refusal, one message
        render_module.render(_midi(), soundfont=junk, sample_rate=22050, duration=1.0)


@pytest.mark.slow
@needs_sf3
def test_a_damaged_copy_or_a_changed_source_is_decoded_again(tmp_path, monkeypatch):
    assert SF3 is not None
    monkeypatch.setenv("V2M_SOUNDFONT_CACHE", str(tmp_path / "cache"))
    source = tmp_path / "bank.sf3"
    shutil.copyfile(SF3, source)
    decoded = []
    real = soundfont_cache.decode_sf3
    monkeypatch.setattr(soundfont_cache, "decode_sf3", lambda b, f: decoded.append(1) or real(b, f))
    first = playable(source)
    assert playable(source) == first and len(decoded) == 1          # reused
    size = first.stat().st_size
    with open(first, "r+b") as f:                                     # a write cut short
        f.truncate(size // 3)
    assert playable(source) == first and len(decoded) == 2
    assert first.stat().st_size == size
    st = source.stat()
    os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))    # the bank was replaced
    second = playable(source)
    assert second != first and len(decoded) == 3
    assert not first.exists() and second.exists()                     # the old copy is gone
    assert not list(second.parent.glob("*.tmp"))
    # a killed build's temporary file: an old one is swept by the next build, a fresh one kept
    old, fresh = second.parent / ".x.sf2.1.tmp", second.parent / ".x.sf2.2.tmp"
    for f in (old, fresh):
        f.write_bytes(b"half")
    os.utime(old, (0, 0))
    second.unlink()
    assert playable(source) == second and len(decoded) == 4
    assert not old.exists() and fresh.exists()
