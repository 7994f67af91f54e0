"""Synthesis with FluidSynth: stereo, normalised, exact length, fade, stems, bad SoundFonts."""
from __future__ import annotations

import sys

import numpy as np
import pretty_midi
import pytest

from v2m_desktop.core.errors import V2MError
from v2m_desktop.core.render import default_soundfont, render, render_stems

SR = 22050


def _midi(seconds=3.0):
    m = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(0, name="piano")
    drums = pretty_midi.Instrument(0, is_drum=True, name="drums")
    for k in range(int(seconds * 2)):
        t = k * 0.5
        piano.notes.append(pretty_midi.Note(90, 60 + (k % 3) * 4, t, t + 0.6))
        drums.notes.append(pretty_midi.Note(100, 36 if k % 2 == 0 else 38, t, t + 0.1))
    m.instruments += [piano, drums]
    return m


class _Arr:          # the two fields render_stems reads
    def __init__(self, midi, duration):
        self.midi, self.duration = midi, duration


def test_default_soundfont_is_found():
    sf = default_soundfont()          # MuseScore General where installed, else TimGM6mb (test_soundfonts)
    assert sf.name in ("MuseScore_General_Lite.sf3", "MuseScore_General.sf3", "TimGM6mb.sf2") and sf.is_file()


def test_render_is_stereo_normalised_and_exact():
    audio = render(_midi(), sample_rate=SR, duration=2.5)
    assert audio.dtype == np.float32 and audio.shape == (int(2.5 * SR), 2)
    peak = np.abs(audio).max()
    assert 0.6 <= peak <= 0.9 + 1e-6          # a quiet arrangement is lifted, not to full
    assert np.sqrt((audio ** 2).mean()) > 0.02
    assert np.abs(audio[-int(0.01 * SR):]).max() < 0.02        # faded out, no chop
    assert np.abs(audio[int(0.5 * SR):int(1.5 * SR)]).max() > 0.3


def test_gain_brings_loud_pieces_to_the_peak_and_lifts_quiet_ones_half_way():
    from v2m_desktop.core.render import PEAK, PEAK_REF, choose_gain
    assert choose_gain(0.5) * 0.5 == pytest.approx(PEAK)
    assert choose_gain(PEAK_REF) * PEAK_REF == pytest.approx(PEAK)
    quiet = 0.1 * choose_gain(0.1)                     # 9.5 dB short of PEAK_REF: half lifted
    assert 0.5 < quiet < 0.6 and choose_gain(0.0) == 1.0


def test_render_without_duration_keeps_the_ring_out():
    audio = render(_midi(2.0), sample_rate=SR)
    assert len(audio) > 2.0 * SR


def test_explicit_soundfont_and_stems_add_up_to_the_mix():
    midi = _midi()
    mix = render(midi, soundfont=default_soundfont(), sample_rate=SR, duration=3.0)
    stems = render_stems(_Arr(midi, 3.0), sample_rate=SR)
    assert set(stems) == {"piano", "drums"}
    total = sum(stems.values())
    assert total.shape == mix.shape and np.abs(total).max() <= 0.9 + 1e-6
    assert np.corrcoef(total[:, 0], mix[:, 0])[0, 1] > 0.99
    for s in stems.values():
        assert np.sqrt((s ** 2).mean()) > 0.005


def test_long_audio_goes_to_a_temporary_file_with_the_same_result(monkeypatch, tmp_path):
    """Past MEMMAP_FRAMES the buffers are file-backed (an hour of music need not fit in memory):
    the mix, the stems and the exported WAV are the same as in memory."""
    from v2m_desktop.core import render as render_mod
    from v2m_desktop.core.export import write_wav
    midi = _midi()
    mix = render(midi, sample_rate=SR, duration=3.0)
    stems = render_stems(_Arr(midi, 3.0), sample_rate=SR)
    write_wav(mix, SR, tmp_path / "a.wav")
    monkeypatch.setattr(render_mod, "MEMMAP_FRAMES", SR)       # beyond 1 s
    monkeypatch.setattr(render_mod, "BLOCK", 1000)
    mapped = render(midi, sample_rate=SR, duration=3.0)
    mapped_stems = render_stems(_Arr(midi, 3.0), sample_rate=SR)
    write_wav(mapped, SR, tmp_path / "b.wav")
    assert isinstance(mapped, np.memmap) and isinstance(mapped_stems["piano"], np.memmap)
    assert np.array_equal(mapped, mix) and np.array_equal(mapped_stems["drums"], stems["drums"])
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()


def test_empty_midi_renders_silence():
    audio = render(pretty_midi.PrettyMIDI(), sample_rate=SR, duration=1.0)
    assert audio.shape == (SR, 2) and not audio.any()


def test_missing_soundfont(tmp_path):
    with pytest.raises(V2MError, match="SoundFont not found"):
        render(_midi(), soundfont=tmp_path / "nope.sf2", sample_rate=SR, duration=1.0)


def test_invalid_soundfont(tmp_path):
    bad = tmp_path / "bad.sf2"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" * 10)
    with pytest.raises(V2MError, match="not a SoundFont"):
        render(_midi(), soundfont=bad, sample_rate=SR, duration=1.0)
    fake = tmp_path / "fake.sf2"           # right magic, broken inside: FluidSynth refuses it
    fake.write_bytes(b"RIFF\x10\x00\x00\x00sfbk" + b"\x00" * 16)
    with pytest.raises(V2MError, match="SoundFont"):
        render(_midi(), soundfont=fake, sample_rate=SR, duration=1.0)


def test_libfluidsynth_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "fluidsynth", None)      # import fluidsynth -> ImportError
    with pytest.raises(V2MError, match="libfluidsynth3"):
        render(_midi(), sample_rate=SR, duration=1.0)


def test_render_reports_progress_and_stops_when_cancelled():
    from v2m_desktop.core.errors import Cancelled
    seen = []
    audio = render(_midi(10.0), sample_rate=SR, duration=10.0, progress=lambda stage, f: seen.append(f))
    assert len(seen) >= 9 and seen == sorted(seen) and seen[-1] == pytest.approx(1.0)
    calls = []

    def cancel_at_second_report(stage, f):
        assert stage == "render"
        calls.append(f)
        if len(calls) == 2:
            raise Cancelled()
    with pytest.raises(Cancelled):
        render(_midi(10.0), sample_rate=SR, duration=10.0, progress=cancel_at_second_report)
    assert len(calls) == 2 and calls[-1] < 0.5
    assert audio.shape == (10 * SR, 2)


def _three_parts(edit: bool, only: int | None = None) -> pretty_midi.PrettyMIDI:
    """Piano, pad and drums (a crash cymbal that rings past its note) over 20 s; `edit` moves
    the piano at 8-10 s and the pad's third chord; `only`: that part's notes alone."""
    m = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(0, name="piano")
    pad = pretty_midi.Instrument(89, name="pad")
    drums = pretty_midi.Instrument(0, is_drum=True, name="drums")
    for k in range(40):
        t = k * 0.5
        pitch = 60 + (k % 4) * 3 + (5 if edit and 8 <= t < 10 else 0)
        piano.notes.append(pretty_midi.Note(80, pitch, t, t + 0.45))
        drums.notes.append(pretty_midi.Note(60, 42, t, t + 0.1))
    for t in (0.0, 4.0, 12.0):
        drums.notes.append(pretty_midi.Note(100, 49, t, t + 0.2))
    for k in range(5):
        root = 48 + (2 if edit and k == 2 else 0)
        pad.notes += [pretty_midi.Note(70, root + i, 4.0 * k, 4.0 * k + 4.0) for i in (0, 4, 7)]
    for j, inst in enumerate((piano, pad, drums)):
        inst.control_changes.append(pretty_midi.ControlChange(91, 60, 0.0))
        if only is not None and j != only:
            inst.notes = []
        m.instruments.append(inst)
    return m


def test_the_mix_is_the_sum_of_its_parts():
    """Each part has a synthesiser of its own and the reverb is linear: the mix is its stems'
    sum (in one synthesiser for all, a part's sound depended on the others: 0.005 off here)."""
    from v2m_desktop.core.render import render_raw
    mix = render_raw(_three_parts(False), sample_rate=SR, duration=22.0)[0]
    parts = sum(render_raw(_three_parts(False, k), sample_rate=SR, duration=22.0)[0] for k in range(3))
    assert np.abs(mix - parts).max() < 1e-5
    assert np.abs(mix).max() > 0.05


def test_the_same_parts_give_the_same_bytes_whatever_the_threads_do(monkeypatch):
    """The parts are summed in a fixed order: one thread or three, and run after run, the raw
    mix is byte-identical (summed as the threads finished, 1-LSB differences came and went)."""
    from v2m_desktop.core import render as R
    midi = _three_parts(False)
    runs = []
    for threads in (3, 1, 3, 2):
        monkeypatch.setattr(R, "_SYNTH_THREADS", threads)
        runs.append(R.render_raw(midi, sample_rate=SR, duration=22.0)[0].tobytes())
    assert all(r == runs[0] for r in runs[1:])


def test_rerender_replaces_only_the_edited_stretch_and_matches_a_full_render():
    """After an edit at 8-10 s, rerender joins a new stretch into the old audio: outside the
    frames it reports nothing moves, inside it matches a full render of the edited piece (each
    part has its own synthesiser and the reverb is time-invariant, so what is left is below
    the join-out's agreement, 1e-3), with a pad, and a crash cymbal that rings past its note."""
    from v2m_desktop.core.render import render_raw, rerender

    def piece(edit):
        return _three_parts(edit)

    old, gain = render_raw(piece(False), sample_rate=SR, duration=22.0)
    from v2m_desktop.core.render import finish
    finish(old, gain, SR)
    before = old.copy()
    full, _ = render_raw(piece(True), sample_rate=SR, duration=22.0)
    finish(full, gain, SR)
    c0, stop = rerender(old, piece(True).instruments, 8.0, 10.0, gain=gain, sample_rate=SR)
    assert c0 == pytest.approx(7.95 * SR, abs=2) and 10.0 * SR < stop <= 18.0 * SR, (c0, stop)
    assert np.array_equal(old[:c0], before[:c0]) and np.array_equal(old[stop:], before[stop:])
    assert not np.array_equal(old[c0:stop], before[c0:stop])
    err = old[c0:stop] - full[c0:stop]
    snr = 10 * np.log10((full[c0:stop] ** 2).sum() / (err ** 2).sum())
    assert snr > 60 and np.abs(err).max() < 2e-3, (snr, np.abs(err).max())
    # no click at the joins: no sample step there beyond the music's own largest
    steps = np.abs(np.diff(old[:, 0]))
    ordinary = np.percentile(steps, 99.9)
    assert steps[c0 - 10:c0 + 10].max() < ordinary and steps[stop - 10:stop + 10].max() < ordinary


def test_the_reverb_plays_its_impulse_response_at_its_own_level():
    """add_reverb runs pedalboard's Convolution (which normalises a response): an impulse sent in
    comes out as the response itself, and a stretch convolved on its own from 2 s before equals
    the whole there (what a re-render's join needs)."""
    from v2m_desktop.core.render import REVERB_BLOCK, _reverb_ir, add_reverb
    sr = 44100
    ir = _reverb_ir(sr).T
    send = np.zeros(len(ir) + 1000, dtype=np.float32)
    send[500] = 1.0
    out = add_reverb(np.zeros((len(send), 2), dtype=np.float32), send, sr)
    assert np.abs(out[500:500 + len(ir)] - ir).max() < 1e-4 * np.abs(ir).max()
    rng = np.random.default_rng(0)
    noise = (0.1 * rng.standard_normal(REVERB_BLOCK + 6 * sr)).astype(np.float32)   # two blocks
    whole = add_reverb(np.zeros((len(noise), 2), dtype=np.float32), noise, sr)
    part = add_reverb(np.zeros((len(noise) - 3 * sr, 2), dtype=np.float32), noise[3 * sr:], sr)
    err = part[2 * sr:] - whole[5 * sr:]
    assert 10 * np.log10((whole[5 * sr:] ** 2).sum() / (err ** 2).sum()) > 100
