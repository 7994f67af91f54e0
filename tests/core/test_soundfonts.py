"""The default SoundFont: MuseScore General found without any setting, TimGM6mb without it; the
bank kept loaded renders exactly what a fresh load renders."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from v2m_desktop.core import render as R
from v2m_desktop.core import soundfonts as S

MUSESCORE = Path("/usr/share/sounds/sf3/MuseScore_General_Lite.sf3")
needs_musescore = pytest.mark.skipif(not MUSESCORE.is_file(), reason="musescore-general-soundfont-small "
                                     "not installed (scripts/setup.sh installs it)")


def _fresh(monkeypatch, bundled: Path, system: tuple) -> Path:
    monkeypatch.setattr(S, "bundled_folder", lambda: bundled)
    monkeypatch.setattr(S, "SYSTEM_FOLDERS", system)
    S.default_soundfont.cache_clear()
    try:
        return S.default_soundfont()
    finally:
        S.default_soundfont.cache_clear()


def test_fallback_is_timgm6mb_and_the_bundle_comes_first(monkeypatch, tmp_path):
    assert _fresh(monkeypatch, tmp_path / "none", ()) == S.timgm6mb()
    assert S.timgm6mb().is_file() and S.timgm6mb().name == "TimGM6mb.sf2"
    (tmp_path / "sys").mkdir()
    (tmp_path / "bundle").mkdir()
    sys_bank = tmp_path / "sys" / "MuseScore_General_Lite.sf3"
    sys_bank.write_bytes(S.timgm6mb().read_bytes())
    assert _fresh(monkeypatch, tmp_path / "none", (tmp_path / "sys",)) == sys_bank
    ours = tmp_path / "bundle" / "MuseScore_General.sf3"
    ours.write_bytes(S.timgm6mb().read_bytes())
    assert _fresh(monkeypatch, tmp_path / "bundle", (tmp_path / "sys",)) == ours


@needs_musescore
def test_musescore_general_is_the_default_and_listed():
    assert S.default_soundfont() == MUSESCORE.resolve()
    found = S.installed()
    assert found[0] == MUSESCORE.resolve() and found[-1] == S.timgm6mb()
    assert len(found) == len(set(found))


@needs_musescore
def test_kept_bank_renders_as_a_fresh_load(monkeypatch):
    midi = pretty_midi.PrettyMIDI()
    parts = ((0, False, (60, 64, 67)), (48, False, (55, 62)), (0, True, (36, 38, 42)))
    for program, is_drum, pitches in parts:
        inst = pretty_midi.Instrument(program, is_drum=is_drum)
        for k in range(8):
            for p in pitches:
                inst.notes.append(pretty_midi.Note(90, p, 0.25 * k, 0.25 * k + 0.6))
        midi.instruments.append(inst)
    with monkeypatch.context() as m:     # each part loads (and decodes) the bank afresh
        m.setattr(R, "keep_loaded", lambda sf: None)
        first = R.render_raw(midi, soundfont=MUSESCORE, sample_rate=22050, duration=3.0)[0]
    again = R.render_raw(midi, soundfont=MUSESCORE, sample_rate=22050, duration=3.0)[0]
    assert str(R.playable(MUSESCORE)) in R._kept     # its decoded copy, kept for the process now
    assert np.abs(first).max() > 0.05
    np.testing.assert_allclose(first, again, rtol=0, atol=1e-6)     # (the parts add up in any order)
