"""The mix under the video (core.mix): the duck envelope's shape, music that ducks under real
speech (espeak-ng at known times) and not under a film score, loudness to a target within 1 LU
with the true peak under -1 dBTP (real FluidSynth music), and the duck-range edits' exact undo."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from tests.speech_clips import narration, rms_db
from v2m_desktop.core import mix
from v2m_desktop.core.errors import V2MError

SR = 44100
BBB = Path(__file__).resolve().parents[3] / "shared" / "media" / "big_buck_bunny_360p_56s.mp4"


@pytest.fixture(scope="module")
def bbb() -> Path:
    if not BBB.is_file():
        pytest.skip(f"shared test media not found at {BBB}")
    return BBB


def _piece(seconds: float, velocity: int, program: int = 0) -> pretty_midi.PrettyMIDI:
    """Chords a beat and a line over them, `velocity` loud."""
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program)
    chords = ([60, 64, 67], [57, 60, 64], [53, 57, 60], [55, 59, 62])
    for k, t in enumerate(np.arange(0, seconds - 1, 0.5)):
        for p in chords[(k // 4) % 4]:
            inst.notes.append(pretty_midi.Note(velocity, p, float(t), float(t) + 0.45))
        inst.notes.append(pretty_midi.Note(velocity, 72 + (k * 5) % 12, float(t), float(t) + 0.3))
    pm.instruments.append(inst)
    return pm


@pytest.fixture(scope="module")
def music():
    """{'loud': ..., 'soft': ...}: 40 s of FluidSynth music each, [N, 2] at the render's gain."""
    from v2m_desktop.core.render import render_with_gain
    return {name: render_with_gain(_piece(40, vel, prog), duration=40.0)[0]
            for name, vel, prog in (("loud", 110, 0), ("soft", 45, 48))}


def test_the_envelope_ends_its_ramp_at_the_first_syllable_and_bridges_short_pauses():
    spans = mix.duck_spans([(2.0, 4.0), (4.5, 6.0), (9.0, 10.0)])
    assert spans == [(2.0, 6.0), (9.0, 10.0)]          # a 0.5-s pause stays ducked; 3 s does not
    g = 20 * np.log10(mix.duck_gain(spans, 10.0, 1000, 12000))
    at = {t: g[int(t * 1000)] for t in (1.8, 1.925, 2.0, 5.0, 6.2, 6.45, 6.7, 7.0)}
    assert at[1.8] == pytest.approx(0) and at[1.925] == pytest.approx(-5, abs=0.1)
    assert at[2.0] == pytest.approx(-10) and at[5.0] == pytest.approx(-10)
    assert at[6.2] == pytest.approx(-10, abs=0.1)       # held 200 ms after the last word
    assert at[6.45] == pytest.approx(-5, abs=0.1) and at[6.7] == pytest.approx(0, abs=0.05)
    assert mix.duck_gain([], 10.0, 1000, 100).min() == 1.0
    assert mix.duck_gain(spans, 0.0, 1000, 12000).min() == 1.0


def test_added_and_removed_ranges():
    assert mix.duck_spans([(2, 4)], added=[(10, 11)], removed=[(3, 4)]) == [(2, 3), (10, 11)]
    assert mix.subtract([(0, 10)], [(2, 3), (5, 6)]) == [(0, 2), (3, 5), (6, 10)]


def _under_and_between(x: np.ndarray, truth, duration: float) -> tuple[float, float]:
    """RMS dB of x inside the sentences and in the pauses (0.9 s clear of any sentence)."""
    t = np.arange(len(x)) / SR
    inside = np.zeros(len(x), bool)
    near = np.zeros(len(x), bool)
    for a, b in truth:
        inside |= (t >= a) & (t < b)
        near |= (t >= a - 0.9) & (t < b + 0.9)
    return rms_db(x[inside]), rms_db(x[~near & (t > 0.5) & (t < duration - 1)])


def test_music_ducks_at_least_8_db_under_real_speech(music):
    from scipy.signal import resample_poly

    from v2m_desktop.core.video.speech import find_speech
    voice, truth = narration((3.0, 14.0, 27.5), 40.0, SR)
    speech = find_speech(resample_poly(voice, 160, 441).astype(np.float32))     # at 16 kHz
    original = np.repeat(voice[:, None], 2, axis=1)
    out = mix.deliver(music["loud"], SR, original=original, level=1.0, speech=speech)
    under, between = _under_and_between(out.music, truth, 40.0)
    before_under, before_between = _under_and_between(music["loud"], truth, 40.0)
    assert between - under >= 8.0, (under, between, before_under, before_between)
    assert (between - under) - (before_between - before_under) == pytest.approx(10, abs=1.0)
    # the original sound is not ducked: the speech sits in the mix as loud against the music
    assert out.mix.shape == music["loud"].shape
    # no original sound kept: nothing ducks
    plain = mix.deliver(music["loud"], SR, original=original, level=0.0, speech=speech)
    assert plain.ducked == [] and plain.music is plain.mix


def test_a_score_without_speech_is_hardly_ducked(music, bbb):
    from v2m_desktop.core.export import decode_audio
    from v2m_desktop.core.video.speech import SAMPLE_RATE, find_speech
    speech = find_speech(decode_audio(bbb, SAMPLE_RATE, 40.0).mean(axis=1))
    out = mix.deliver(music["soft"], SR, original=decode_audio(bbb, SR, 40.0), level=0.5, speech=speech)
    assert sum(b - a for a, b in out.ducked) < 0.05 * 40


@pytest.mark.parametrize("name,target", [("loud", -14.0), ("soft", -14.0), ("loud", -23.0)])
def test_loudness_meets_the_target_with_the_true_peak_under_minus_1(music, name, target):
    out = mix.deliver(music[name], SR, target=target)
    assert out.loudness.integrated_lufs == pytest.approx(target, abs=1.0)
    assert out.loudness.true_peak_dbtp <= -1.0
    # pyloudnorm's reading of what was delivered, and the true peak read again
    assert mix.integrated_loudness(out.mix, SR) == pytest.approx(out.loudness.integrated_lufs, abs=1e-6)


def test_a_calm_piece_sits_under_the_target_by_what_the_render_withheld(music):
    from v2m_desktop.core.render import choose_gain, withheld_db
    assert withheld_db(choose_gain(0.5)) == 0.0
    assert withheld_db(choose_gain(0.3 / 4)) == pytest.approx(20 * np.log10(2), abs=1e-6)
    assert mix.calm_lu(9.0) == mix.CALM_LU
    out = mix.deliver(music["soft"], SR, target=-14.0, calm=mix.calm_lu(3.0))
    assert out.loudness.integrated_lufs == pytest.approx(-17.0, abs=1.0)


def test_settings_are_checked():
    assert mix.parse_loudness("podcast") == -16.0 and mix.parse_loudness("-18.5") == -18.5
    for bad in ("loud", "3", None):
        with pytest.raises(V2MError):
            mix.parse_loudness(bad)
    with pytest.raises(V2MError):
        mix.check_duck_db(-3)
    with pytest.raises(V2MError):
        mix.check_spans([(5, 2)], 10.0)


def test_duck_range_edits_undo_exactly_and_keep_in_the_file(tmp_path):
    from v2m_desktop.core import edits as E
    from v2m_desktop.core.project import Project, Settings, VideoRef, from_dict, to_dict
    ref = VideoRef("/nowhere.mp4", "1:" + "0" * 32, 30.0, 30)
    p = Project(ref, Settings(), np.zeros(30, dtype=np.int64), 0, 1)
    old = to_dict(p)
    heard = []
    p.listeners.append(heard.append)
    undo = E.AddDuckRange(2.5, 4.0).apply(p)
    assert p.settings.duck_add == ((2.5, 4.0),) and heard
    undo2 = E.RemoveDuckRange(3.0, 10.0).apply(p)
    assert p.settings.duck_add == ((2.5, 3.0),) and p.settings.duck_remove == ((3.0, 10.0),)
    undo3 = E.SetDuckDepth(6).apply(p)
    assert p.settings.duck_db == 6.0
    saved = to_dict(p)
    assert to_dict(from_dict(saved)) == saved           # kept in the file
    undo3.apply(p)
    undo2.apply(p)
    undo.apply(p)
    assert to_dict(p) == old
    with pytest.raises(V2MError):
        E.AddDuckRange(25, 31).apply(p)
    with pytest.raises(V2MError):
        E.SetDuckDepth(99).apply(p)
    assert to_dict(p) == old
    # a file from before these settings opens with the defaults
    legacy = dict(old, settings={k: v for k, v in old["settings"].items()
                                 if k not in ("duck_db", "duck_add", "duck_remove", "loudness")})
    s = from_dict(legacy).settings
    assert (s.duck_db, s.duck_add, s.duck_remove, s.loudness) == (10.0, (), (), -14.0)


def test_playback_ducks_as_the_export_does():
    from v2m_desktop.core.playback import Soundtrack
    sr = 1000
    music = np.full((10 * sr, 2), 0.5, np.float32)
    s = Soundtrack(music, sr, np.zeros(10 * sr, np.float32), level=0.0)
    s.duck([(4.0, 6.0)], 10.0)
    assert np.allclose(s.read(5000, 10), 0.5)           # the original sound off: no ducking
    s.level = 1.0
    assert np.allclose(s.read(5000, 10), 0.5 * 10 ** (-10 / 20))
    assert np.allclose(s.read(1000, 10), 0.5)
    exported = mix.apply_gain(music.copy(), [(4.0, 6.0)], 10.0, sr)
    assert np.allclose(s.read(3800, 3000), exported[3800:6800])


@pytest.mark.parametrize("name,level", [("loud", 0.0), ("soft", 0.6)])
def test_playback_is_as_loud_as_the_export(music, bbb, name, level):
    """The player's sound at the delivery's gain: within 0.5 LU of the delivered mix (real
    FluidSynth music, Big Buck Bunny's own sound kept or not, ducked under its speech)."""
    from v2m_desktop.core.export import decode_audio
    from v2m_desktop.core.playback import Soundtrack
    original = decode_audio(bbb, SR, 40.0)
    speech = [(10.0, 12.0)]
    out = mix.deliver(music[name], SR, original=original, level=level, speech=speech, target=-23.0)
    s = Soundtrack(music[name], SR, original, level)
    s.duck(out.ducked, out.duck_db)
    before = mix.integrated_loudness(s.read(0, s.frames), SR)
    assert abs(before - out.loudness.integrated_lufs) > 1.0         # the render's level differs
    s.gain = mix.delivery_gain(s.music, SR, original=s.original, level=level, spans=out.ducked,
                               duck_db=out.duck_db, aim=-23.0)
    heard = s.read(0, s.frames)
    assert mix.integrated_loudness(heard, SR) == pytest.approx(out.loudness.integrated_lufs, abs=0.5)
    assert np.abs(heard).max() <= 1.0
