"""The project engine: .v2m round trip, exact undo over random edits, bad files, a moved video,
regeneration that keeps what is outside its range and what is locked, emotion targets that steer
chords and dynamics (real models), recovery copies."""
from __future__ import annotations

import json
import random
import shutil

import numpy as np
import pytest

from v2m_desktop.core import edits as E
from v2m_desktop.core.chords import quality_of
from v2m_desktop.core.engine import Engine
from v2m_desktop.core.errors import V2MError
from v2m_desktop.core.pipeline import ScoreSettings
from v2m_desktop.core.project import (
    FORMAT,
    VideoMissing,
    autosave,
    from_dict,
    open_project,
    recoverable,
    saved_cleanly,
    to_dict,
)
from v2m_desktop.core.scoring import score_video
from v2m_desktop.core.video.synthetic import make_test_video


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A 20-s clip, its score and its project (basic vision, seed 3)."""
    d = tmp_path_factory.mktemp("proj")
    video = d / "clip.mp4"
    make_test_video(video, 20, fps=24, size=(192, 108), cuts=[5.0, 11.0, 15.5])
    settings = ScoreSettings(vision="basic")
    settings.compose.sampling.seed = 3
    result = score_video(video, settings)
    return video, result, settings


@pytest.fixture
def project(made, tmp_path):
    video, result, settings = made
    p = from_dict(to_dict(result.project))          # a fresh copy for each test
    p.save(tmp_path / "p.v2m")
    return p


def test_round_trip(project, tmp_path):
    again = open_project(tmp_path / "p.v2m")
    assert again.state() == project.state()
    d = json.loads((tmp_path / "p.v2m").read_text())
    assert d["format"] == FORMAT and d["program"].startswith("v2m-desktop")
    assert len(d["chords"]) == project.seconds and all(isinstance(c, str) for c in d["chords"])


class _AtRandom(E.Edit):
    """A Split or Merge at a second where it can be made, picked when applied."""

    def __init__(self, rng: random.Random, merge: bool):
        self.rng, self.merge = rng, merge

    def apply(self, p, engine=None):
        starts = {b[0] for b in p.blocks()}
        seconds = sorted(starts - {0} if self.merge else set(range(1, p.seconds)) - starts)
        return (E.Merge if self.merge else E.Split)(self.rng.choice(seconds)).apply(p)


def _random_edit(rng: random.Random, T: int):
    a = rng.randrange(T - 1)
    b = rng.randrange(a + 1, T + 1)
    kind = rng.randrange(17)
    if kind >= 14:
        return _AtRandom(rng, merge=kind == 16)     # splits twice as often as merges
    return [lambda: E.SetChords(a, b, rng.choice(["C", "Am", "F#m7", "Bbmaj7", "Csus4", "N"])),
            lambda: E.Transpose(a, b, rng.randrange(-5, 6)),
            lambda: E.Lock(a, b), lambda: E.Unlock(a, b),
            lambda: E.SetEmotionTarget(a, b, rng.choice(["sad", "exciting", "tense"]), rng.random()),
            lambda: E.ClearEmotionTarget(a, b),
            lambda: E.SetDynamics(a, b, "density", rng.uniform(0, 20)),
            lambda: E.ClearDynamics(a, b, "density"),
            lambda: E.CopyChords(0, 1, a),
            lambda: E.SetKey(rng.choice(["D minor", "Eb major", "F# minor"])),
            lambda: E.SetTempo(rng.choice([None, 96.0, 120.0])),
            lambda: E.SetSeed(rng.randrange(100)),
            lambda: E.SetOriginalLevel(rng.choice([0.0, 0.25, 1.0])),
            lambda: E.SetInstruments(rng.choice([("piano",), ("bass", "drums"), ("piano", "pad")]))][kind]()


def test_undo_is_exact_over_random_edits(project, made):
    engine = Engine(project, analysis=made[1].analysis)
    rng = random.Random(0)
    before = project.state()
    edits, inverses, split = [], [], 0
    for i in range(60):
        e = E.Regenerate(2, 9, seed=i) if i % 20 == 5 else _random_edit(rng, project.seconds)
        edits.append(e)
        inverses.append(e.apply(project, engine))
        split = max(split, len(project.splits))
    after = project.state()
    assert split >= 2                               # splits lived on through the other edits
    for inv in reversed(inverses):
        inv.apply(project)
    assert project.state() == before
    # apply, inverse, apply: the same project, bit for bit, for each kind of edit
    for e in [_random_edit(rng, project.seconds) for _ in range(30)]:
        s0 = project.state()
        inv = e.apply(project)
        s1 = project.state()
        again = inv.apply(project)
        assert project.state() == s0
        again.apply(project)
        assert project.state() == s1
    assert after != before


def test_edits_report_the_seconds_they_change(project):
    seen = []
    project.listeners.append(seen.append)
    E.SetChords(4, 7, "Am").apply(project)
    E.Lock(10, 12).apply(project)
    assert [(c.what, c.start, c.end) for c in seen] == [("chords", 4, 7), ("locks", 10, 12)]


def test_bad_edits_and_bad_files_change_nothing(project, tmp_path):
    path = tmp_path / "p.v2m"
    good = path.read_bytes()
    for bad in (E.SetChords(0, 99, "C"), E.SetChords(2, 4, "Hm"), E.SetEmotionTarget(0, 4, "angry"),
                E.SetEmotionTarget(0, 4, "sad", 1.5), E.UseTake(0, 4, 1), E.SetTempo(500),
                E.SetSeed(-1), E.SetSeed(1.5), E.SetOriginalLevel(1.2), E.SetOriginalLevel("loud"),
                E.SetInstruments(()), E.SetInstruments(("kazoo",)), E.SetSoundFont(str(tmp_path / "no.sf2")),
                E.SetSoundFont(str(path)), E.Batch([E.SetChords(0, 2, "Am"), E.Lock(0, 2), E.SetTempo(500)])):
        state = project.state()
        with pytest.raises(V2MError):
            bad.apply(project)
        assert project.state() == state
    with pytest.raises(V2MError, match="nearest chord there is Am7"):
        E.SetChords(1, 2, "Am7b13").apply(project)
    d = json.loads(good)
    cases = {"corrupt": b"{not json", "newer": json.dumps({**d, "format": FORMAT + 1}).encode(),
             "chord": json.dumps({**d, "chords": ["C"] * (len(d["chords"]) - 1) + ["Xq"]}).encode(),
             "emotion": json.dumps({**d, "targets": [{"start": 0, "end": 2, "emotion": "angry",
                                                      "intensity": 1}]}).encode(),
             "seconds": json.dumps({**d, "locks": [[0, 999]]}).encode(),
             "short": json.dumps({**d, "chords": d["chords"][:3]}).encode(),
             "gain": json.dumps({**d, "settings": {**d["settings"], "gain": -2}}).encode()}
    messages = {}
    for name, data in cases.items():
        f = tmp_path / f"{name}.v2m"
        f.write_bytes(data)
        with pytest.raises(V2MError) as err:
            open_project(f)
        messages[name] = str(err.value)
        assert f.read_bytes() == data and "\n" not in messages[name]
    assert "newer" in messages["newer"] and "angry" in messages["emotion"]
    assert "gain" in messages["gain"]


def test_a_moved_video_is_found_by_its_fingerprint(project, made, tmp_path):
    video = made[0]
    moved = tmp_path / "moved" / "renamed.mp4"
    moved.parent.mkdir()
    shutil.copy(video, moved)
    project.video.path = str(tmp_path / "gone.mp4")
    project.save()
    with pytest.raises(VideoMissing, match="missing"):       # the app asks for it then
        open_project(project.path)
    p = open_project(project.path, video=moved)
    assert p.video.path == str(moved)
    other = tmp_path / "other.mp4"
    make_test_video(other, 20, fps=24, size=(192, 108), cuts=[3.0])
    with pytest.raises(V2MError, match="not the project's video"):
        open_project(project.path, video=other)


def test_regenerate_keeps_outside_and_locks_and_keeps_takes(project, made):
    engine = Engine(project, analysis=made[1].analysis)
    E.SetChords(8, 10, "C#dim").apply(project)         # a chord the model would hardly write
    E.Lock(8, 10).apply(project)
    before = project.tokens.copy()
    changed = False
    for seed in range(4):
        E.Regenerate(4, 14, seed).apply(project, engine)
        outside = np.r_[0:4, 14:project.seconds]
        assert (project.tokens[outside] == before[outside]).all()
        assert (project.tokens[8:10] == before[8:10]).all()
        changed |= bool((project.tokens[4:14] != before[4:14]).any())
    assert changed
    takes = project.takes_of(4, 14)
    assert len(takes.takes) == 5 and takes.current == 4 and takes.takes[0] == before[4:14].tolist()
    E.UseTake(4, 14, 0).apply(project)
    assert (project.tokens == before).all()


def test_emotion_targets_steer_chords_and_density(bbb_project):
    project, engine = bbb_project
    a, b = 20, 40
    minor = {"min", "min7", "min6", "dim", "dim7", "hdim7"}

    def minor_share():
        shares = []
        for seed in range(20):
            toks = engine.regenerate(a, b, seed)
            shares.append(np.mean([quality_of(int(t)) in minor for t in toks]))
        return float(np.mean(shares))
    plain = minor_share()
    plain_density = notes_per_second(engine, a, b)
    E.SetEmotionTarget(a, b, "sad", 1.0).apply(project)
    sad = minor_share()
    E.SetEmotionTarget(a, b, "exciting", 1.0).apply(project)
    exciting_density = notes_per_second(engine, a, b)
    assert sad > plain + 0.3, (plain, sad)          # measured: 0.16 -> 0.65 on 20 seeds
    assert exciting_density > plain_density * 1.05, (plain_density, exciting_density)
    print(f"minor share {plain:.3f} -> {sad:.3f}; density {plain_density:.2f} -> {exciting_density:.2f}")


def test_regenerating_a_repeated_phrase_writes_it_anew(bbb_project):
    """A stretch of a scene that repeats its first phrase gets new chords when regenerated (it
    came back unchanged when its slots still copied the phrase before it)."""
    project, engine = bbb_project
    copy = engine.meter().rules(project.seconds).copy
    repeats = [s for s in range(project.seconds) if copy[s] >= 0]
    a = next(s for s in repeats if copy[s] < s - 4)          # a slot repeating one of a bar ago or more
    b = max(repeats) + 1
    assert b - a >= 8
    before = project.tokens.copy()
    changed = [float(np.mean(engine.regenerate(a, b, seed) != before[a:b])) for seed in range(4)]
    assert np.mean(changed) > 0.2, changed          # measured: 0.00 before, 0.49 after (BBB 30-45 s)


def notes_per_second(engine, a, b) -> float:
    """Notes starting in [a, b) of the arrangement, a second (what the listener hears)."""
    midi = engine.arrangement().midi
    return sum(a <= n.start < b for i in midi.instruments for n in i.notes) / (b - a)


@pytest.fixture(scope="module")
def bbb_project(tmp_path_factory):
    from pathlib import Path
    clip = Path(__file__).resolve().parents[3] / "shared" / "media" / "big_buck_bunny_360p_56s.mp4"
    if not clip.is_file():
        pytest.skip("shared clip missing")
    settings = ScoreSettings(vision="basic")
    settings.compose.sampling.seed = 0
    result = score_video(clip, settings)
    return result.project, Engine(result.project, analysis=result.analysis)


def test_recovery_copies(project, tmp_path, monkeypatch):
    monkeypatch.setenv("V2M_RECOVERY_DIR", str(tmp_path / "rec"))
    E.SetChords(0, 2, "Am").apply(project)
    copy = autosave(project)
    assert copy.parent == tmp_path / "rec" and project.path.read_bytes() != copy.read_bytes()
    assert [c for c, _ in recoverable()] == [copy]
    assert open_project(copy).tokens[0] == project.tokens[0]
    project.save()
    saved_cleanly(project)
    assert recoverable() == []


def test_an_edit_re_renders_only_its_seconds_at_the_project_gain(project, made):
    """Engine.update after a chord edit: the audio before the edit is untouched, the edited
    seconds sound the new chord, and the whole equals a full render of the edited project there
    (measured SNR); the gain stays the one the first render fixed."""
    engine = Engine(project, analysis=made[1].analysis)
    before = engine.score()
    gain = project.settings.gain
    assert gain is not None and gain > 0
    E.SetChords(12, 14, "F#m7").apply(project)
    after = engine.update(before)
    full = engine.score()
    assert project.settings.gain == gain
    sr = after.sample_rate
    first = min(n.start for i in after.arrangement.midi.instruments for n in i.notes
                if (n.start, n.end, n.pitch, n.velocity) not in
                {(m.start, m.end, m.pitch, m.velocity) for j in before.arrangement.midi.instruments
                 for m in j.notes})
    c0 = int((first - 0.1) * sr)
    assert np.array_equal(after.audio[:c0], before.audio[:c0])
    assert not np.array_equal(after.audio, before.audio)
    err = after.audio - full.audio
    snr = 10 * np.log10((full.audio ** 2).sum() / max((err ** 2).sum(), 1e-20))
    assert snr > 20


@pytest.mark.parametrize("edit", [E.SetChords(8, 10, "Dbmaj7"), E.Transpose(12, 16, 3), E.Merge(11)],
                         ids=["chord", "transpose", "merge"])
def test_the_engine_re_renders_around_the_edits_seconds_as_a_full_render_would(project, made, edit):
    """Engine.update with the seconds the edit reported (its Changes, as the app passes them):
    only those seconds widened by LOCAL_BARS bars are synthesised again, and the joined audio
    equals a full render of the edited project (SNR of at least 80 dB)."""
    from v2m_desktop.core.engine import around
    engine = Engine(project, analysis=made[1].analysis)
    before = engine.score()
    seen = []
    project.listeners.append(seen.append)
    try:
        edit.apply(project)
    except V2MError:
        pytest.skip("no block starts at 11 s in this piece")
    changed = (min(c.start for c in seen), max(c.end for c in seen))
    after = engine.update(before, changed)
    full = engine.score()
    duration = made[1].analysis.info.duration
    span = around(changed, after.arrangement.bars(), duration)
    assert span[0] <= changed[0] and span[1] >= min(changed[1], duration)
    assert span[1] - span[0] < duration                     # not the whole piece
    assert not np.array_equal(after.audio, before.audio)
    err = after.audio - full.audio
    snr = 10 * np.log10((full.audio ** 2).sum() / max((err ** 2).sum(), 1e-20))
    assert snr >= 80


def test_arrangement_settings_edits(project, made, tmp_path):
    """The arrangement panel's edits: each sets its setting and its inverse restores it; a new
    SoundFont is rendered whole at a gain measured for it, and undo gives the old one's gain back."""
    from v2m_desktop.core.render import default_soundfont
    engine = Engine(project, analysis=made[1].analysis)
    before = engine.score()
    gain = project.settings.gain
    s0 = project.state()
    seen = []
    project.listeners.append(seen.append)
    undo = [E.SetSeed(9).apply(project), E.SetOriginalLevel(0.4).apply(project)]
    assert (project.settings.seed, project.settings.original_level) == (9, 0.4)
    sf = tmp_path / "my font.sf2"
    shutil.copy(default_soundfont(), sf)
    undo.append(E.SetSoundFont(str(sf)).apply(project))
    assert project.settings.soundfont == str(sf.resolve()) and project.settings.gain is None
    assert [c.what for c in seen] == ["settings", "level", "settings"]
    after = engine.update(before)                  # another SoundFont: the whole piece, a new gain
    assert after.soundfont == str(sf.resolve()) and after.gain is not None
    undo.append(E.SetGain(after.gain).apply(project))      # its owner keeps the gain, by an edit
    assert project.settings.gain == after.gain and seen[-1].what == "gain"
    assert len(after.audio) == len(before.audio)
    for inv in reversed(undo):
        inv.apply(project)
    assert project.state() == s0 and project.settings.gain == gain
    E.SetSoundFont(None).apply(project)
    assert project.settings.soundfont is None


def test_a_target_moves_the_dynamics_only_inside_it(project, made):
    """The model reads the whole video, so a target would nudge its dynamics everywhere: the
    engine takes the targeted prediction inside the target's seconds only."""
    engine = Engine(project, analysis=made[1].analysis)
    plain = engine.dynamics()
    E.SetEmotionTarget(6, 12, "exciting", 1.0).apply(project)
    aimed = engine.dynamics()
    outside = np.r_[0:6, 12:project.seconds]
    assert np.array_equal(aimed.note_density[outside], plain.note_density[outside])
    assert np.array_equal(aimed.loudness[outside], plain.loudness[outside])
    assert not np.allclose(aimed.note_density[6:12], plain.note_density[6:12])


def test_style_edits_are_exact_kept_in_the_file_and_re_render_their_range(project, made, tmp_path):
    """The piece's style and a range's style: exact undo, kept in the .v2m (a file without them
    opens as Auto), and a range's style re-renders only around its seconds."""
    s0 = project.state()
    undo = [E.SetStyle("Lo-fi").apply(project), E.SetStyle("ambient", 4, 9).apply(project),
            E.SetStyle("pop", 7, 12).apply(project)]
    assert project.settings.style == "lofi"
    assert project.settings.style_ranges == ((4, 7, "ambient"), (7, 12, "pop"))
    s1 = project.state()
    back = from_dict(json.loads(json.dumps(to_dict(project))))
    assert back.state() == s1
    redo = [inv.apply(project) for inv in reversed(undo)]
    assert project.state() == s0
    for e in reversed(redo):
        e.apply(project)
    assert project.state() == s1
    E.SetStyle("auto", 0, 20).apply(project)                 # the piece's style everywhere again
    assert project.settings.style_ranges == ()
    with pytest.raises(V2MError, match="unknown style"):
        E.SetStyle("polka", 2, 4).apply(project)
    old = to_dict(project)
    del old["settings"]["style"], old["settings"]["style_ranges"]
    assert from_dict(old).settings.style == "auto" and from_dict(old).settings.style_ranges == ()
    # a range's style: the music before it is untouched, the range plays the new style
    E.SetStyle("acoustic").apply(project)
    engine = Engine(project, analysis=made[1].analysis)
    before = engine.score()
    E.SetStyle("lofi", 12, 16).apply(project)
    after = engine.update(before)
    assert after.arrangement.style == "acoustic"
    sr = after.sample_rate
    c0 = int(10.9 * sr)          # a note ringing into the range ends at 12: the join in is before it
    assert np.array_equal(after.audio[:c0], before.audio[:c0])
    assert not np.array_equal(after.audio, before.audio)
    drums = [i for i in after.arrangement.midi.instruments if i.is_drum]
    lofi_kit = [i for i in drums if i.name == "drums-lofi"]
    assert lofi_kit and all(12 <= n.start < 16 for n in lofi_kit[0].notes)


def test_generate_on_an_open_project_is_one_edit_that_keeps_locks_and_undoes_exactly(project, made):
    """Rewrite (Generate on an open project): new chords in the project's key, the locked
    seconds kept, the targets and drawn dynamics untouched; its inverse gives the old project
    back exactly, and the inverse's inverse the new chords again without the models."""
    engine = Engine(project, analysis=made[1].analysis)
    E.SetChords(4, 8, "Ebmaj7").apply(project)
    E.Lock(4, 8).apply(project)
    E.SetEmotionTarget(10, 16, "sad", 0.8).apply(project)
    E.SetDynamics(12, 14, "density", [3.0, 3.0]).apply(project)
    before = project.state()
    undo = E.Rewrite(seed=5).apply(project, engine)
    after = project.state()
    assert after["chords"] != before["chords"]
    assert after["chords"][4:8] == before["chords"][4:8] == [before["chords"][4]] * 4
    assert (after["targets"], after["dynamics"], after["locks"], after["key"]) == \
        (before["targets"], before["dynamics"], before["locks"], before["key"])
    assert project.settings.chord_seed == 5
    redo = undo.apply(project)
    assert project.state() == before
    redo.apply(project)
    assert project.state() == after
