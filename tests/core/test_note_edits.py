"""Note edits (core.notes, core.edits.ChangeNotes): exact undo over random note edits mixed with
chord edits, the rule for edited notes under a changed harmony (dropped, undo and takes bring
them back), the .v2m file (format 2, format 1 still opens), the engine's splice after a note
edit, and the DAW round trip through a MIDI file (core.midi_import)."""
from __future__ import annotations

import json
import random

import numpy as np
import pretty_midi
import pytest

from v2m_desktop.core import edits as E
from v2m_desktop.core.arrange import write_midi
from v2m_desktop.core.engine import Engine
from v2m_desktop.core.errors import V2MError
from v2m_desktop.core.notes import Note, NoteEdits, notes_of_part
from v2m_desktop.core.pipeline import ScoreSettings
from v2m_desktop.core.project import FORMAT, from_dict, open_project, to_dict
from v2m_desktop.core.scoring import score_video
from v2m_desktop.core.video.synthetic import make_test_video


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A 16-s clip and its score (basic vision, seed 5)."""
    d = tmp_path_factory.mktemp("notes")
    video = d / "clip.mp4"
    make_test_video(video, 16, fps=24, size=(160, 90), cuts=[4.0, 9.0])
    settings = ScoreSettings(vision="basic")
    settings.compose.sampling.seed = 5
    return video, score_video(video, settings)


@pytest.fixture
def project(made, tmp_path):
    p = from_dict(to_dict(made[1].project))
    p.save(tmp_path / "p.v2m")
    return p


def _arranged(engine: Engine, part: str) -> list[Note]:
    inst = next(i for i in engine.arrangement().midi.instruments if i.name == part)
    return notes_of_part(inst)


def _moved(n: Note, dt: float = 0.0, dp: int = 0, **kw) -> Note:
    return Note(**{"start": n.start + dt, "part": n.part, "pitch": n.pitch + dp, "end": n.end + dt,
                   "velocity": n.velocity, **kw})


def test_random_note_edits_undo_exactly(project, made):
    engine = Engine(project, analysis=made[1].analysis)
    rng = random.Random(1)
    pool = _arranged(engine, "piano") + _arranged(engine, "bass")
    before = project.state()
    inverses = []
    for _ in range(80):
        kind = rng.randrange(6)
        shown = list(project.notes.added) + [n for n in pool if n not in project.notes.removed]
        n = rng.choice(shown)
        if kind == 0:
            e = E.ChangeNotes((n,), (_moved(n, rng.choice([-0.5, 0.25, 1.0]), rng.randrange(-12, 13)),))
        elif kind == 1:
            e = E.ChangeNotes((n,), ())
        elif kind == 2:
            t = rng.uniform(0, 14)
            e = E.ChangeNotes((), (Note(t, rng.choice(["piano", "bass"]), rng.randrange(36, 84), t + 0.5,
                                        rng.randrange(1, 128)),))
        elif kind == 3:
            e = E.ChangeNotes((n,), (_moved(n, velocity=rng.randrange(1, 128)),))
        elif kind == 4:
            a = rng.randrange(15)
            e = E.SetChords(a, a + 1, rng.choice(["C", "Am", "F#m7", "N"]))
        else:
            e = E.Transpose(0, 16, rng.choice([-2, 3]))
        state = project.state()
        try:
            inverses.append(e.apply(project))
        except V2MError:            # a note moved out of the video: refused, nothing changed
            assert project.state() == state
    after = project.state()
    assert after != before and after["notes"]["added"]
    for inv in reversed(inverses):
        inv.apply(project)
    assert project.state() == before
    # the file keeps them exactly
    e = E.ChangeNotes((pool[3],), (_moved(pool[3], 0.5, 2),))
    e.apply(project)
    project.save()
    assert open_project(project.path).state() == project.state()


def test_a_changed_chord_drops_the_note_edits_on_it_and_undo_brings_them_back(project, made):
    engine = Engine(project, analysis=made[1].analysis)
    piano = _arranged(engine, "piano")
    n = next(x for x in piano if 6 <= x.start < 7)
    m = next(x for x in piano if 12 <= x.start < 13)
    E.ChangeNotes((n, m), (_moved(n, dp=1), _moved(m, dp=-1))).apply(project)
    assert len(project.notes) == 4
    same = project.symbol(project.tokens[6])
    E.SetChords(6, 7, same).apply(project)                      # the chord stays: kept
    assert len(project.notes) == 4
    other = "Am" if same != "Am" else "C"
    kept = project.notes
    inv = E.SetChords(6, 7, other).apply(project)               # it changes: n's edit goes, m's stays
    assert len(project.notes) == 2 and all(int(x.start) == 12 for x in project.notes.notes())
    assert E.dropped_notes(kept, project.notes) == 2
    inv.apply(project)
    assert project.notes == kept                                # undo brought them back
    # a regenerated range's take keeps the note edits it dropped; going back brings them back
    with_edits = project.notes
    E.Regenerate(10, 16, seed=7).apply(project, engine)
    assert all(int(x.start) < 10 for x in project.notes.notes())
    E.UseTake(10, 16, 0).apply(project)
    assert project.notes == with_edits
    E.UseTake(10, 16, 1).apply(project)
    assert all(int(x.start) < 10 for x in project.notes.notes())
    project.save()                                              # the takes' notes are in the file
    again = open_project(project.path)
    E.UseTake(10, 16, 0).apply(again)
    assert again.notes == with_edits
    # a key change moves every chord: the note edits go, the takes' too; undo brings them back
    state = again.state()
    shift = E.SetKey("Ab major" if again.key_name != "Ab major" else "D major").apply(again)
    assert again.notes == NoteEdits() and not any(len(n) for t in again.takes for n in t.notes)
    shift.apply(again)
    assert again.state() == state


def test_format_1_files_open_and_bad_notes_are_refused(project, tmp_path):
    d = to_dict(project)
    assert d["format"] == FORMAT == 2
    old = {k: v for k, v in d.items() if k != "notes"}
    old["format"] = 1
    (tmp_path / "old.v2m").write_text(json.dumps(old))
    assert open_project(tmp_path / "old.v2m").notes == NoteEdits()
    bad = dict(d, notes={"removed": [], "added": [{"part": "piano", "pitch": 200, "start": 1.0, "end": 2.0,
                                                    "velocity": 90}]})
    (tmp_path / "bad.v2m").write_text(json.dumps(bad))
    with pytest.raises(V2MError, match=r"notes.added\[0\].pitch must be a MIDI pitch from 0 to 127, not 200"):
        open_project(tmp_path / "bad.v2m")
    with pytest.raises(V2MError, match="inside the video"):
        E.ChangeNotes((), (Note(15.5, "piano", 60, 17.0, 80),)).apply(project)
    assert project.notes == NoteEdits()


def test_a_note_edit_is_heard_and_re_rendered_only_around_it(project, made):
    """The moved note is in the arrangement (so in every export) at its new pitch and time, and
    the engine's splice equals a full render (SNR >= 80 dB), leaving the audio before it alone."""
    engine = Engine(project, analysis=made[1].analysis)
    before = engine.score()
    n = next(x for x in _arranged(engine, "piano") if 8 <= x.start < 9)
    seen = []
    project.listeners.append(seen.append)
    E.ChangeNotes((n,), (_moved(n, 0.25, 5, velocity=110),)).apply(project)
    assert [c.what for c in seen] == ["notes"] and seen[0].start == 8
    after = engine.update(before, (seen[0].start, seen[0].end))
    piano = next(i for i in after.arrangement.midi.instruments if i.name == "piano")
    assert any(abs(x.start - n.start - 0.25) < 1e-9 and x.pitch == n.pitch + 5 and x.velocity == 110
               for x in piano.notes)
    assert not any(x.start == n.start and x.pitch == n.pitch for x in piano.notes)
    full = engine.score()
    err = after.audio - full.audio
    assert 10 * np.log10((full.audio ** 2).sum() / max((err ** 2).sum(), 1e-20)) >= 80
    from v2m_desktop.core.engine import around
    t0 = around((seen[0].start, seen[0].end), after.arrangement.bars(), made[1].analysis.info.duration)[0]
    assert t0 > 1.0
    c0 = int(t0 * after.sample_rate) - 1
    assert np.abs(after.audio[:c0] - before.audio[:c0]).max() < 1e-6        # (float sums' order)
    assert np.abs(after.audio[c0:] - before.audio[c0:]).max() > 1e-3


def test_a_daw_round_trip(project, made, tmp_path):
    """Export the MIDI, change it as a DAW would (pretty_midi: notes moved, deleted, added, new
    velocities), import it: one note edit, and the next export's notes are the changed file's."""
    engine = Engine(project, analysis=made[1].analysis)
    write_midi(engine.arrangement(), tmp_path / "out.mid")
    m = pretty_midi.PrettyMIDI(str(tmp_path / "out.mid"))
    piano = next(i for i in m.instruments if i.name == "piano")
    bass = next(i for i in m.instruments if i.name == "bass")
    beat = 60.0 / m.get_tempo_changes()[1][0]
    for x in piano.notes[:6]:
        x.pitch += 2
        x.start += beat / 2
        x.end += beat / 2
    del bass.notes[3:6]
    bass.notes.append(pretty_midi.Note(77, 40, 10.0, 10.5))
    for x in piano.notes[10:14]:
        x.velocity = 33
    m.write(str(tmp_path / "edited.mid"))
    want = pretty_midi.PrettyMIDI(str(tmp_path / "edited.mid"))

    seen = []
    project.listeners.append(seen.append)
    E.ImportMidi(tmp_path / "edited.mid").apply(project, engine)
    assert len(seen) == 1 and len(project.notes.added) == 6 + 1 + 4
    write_midi(engine.arrangement(), tmp_path / "again.mid")
    got = pretty_midi.PrettyMIDI(str(tmp_path / "again.mid"))

    def ticks(pm):
        return {i.name: sorted((n.pitch, pm.time_to_tick(n.start), pm.time_to_tick(n.end), n.velocity)
                               for n in i.notes) for i in pm.instruments}
    assert ticks(got) == ticks(want)
    # importing the same file again changes nothing
    state = project.state()
    E.ImportMidi(tmp_path / "edited.mid").apply(project, engine)
    assert project.state() == state


def test_a_midi_file_that_does_not_match_is_refused(project, made, tmp_path):
    engine = Engine(project, analysis=made[1].analysis)
    write_midi(engine.arrangement(), tmp_path / "out.mid")
    m = pretty_midi.PrettyMIDI(str(tmp_path / "out.mid"))
    m.instruments.append(pretty_midi.Instrument(48, name="strings"))
    m.instruments[-1].notes.append(pretty_midi.Note(80, 60, 1.0, 2.0))
    m.write(str(tmp_path / "other.mid"))
    state = project.state()
    with pytest.raises(V2MError, match="has a track 'strings' that the project has no part for"):
        E.ImportMidi(tmp_path / "other.mid").apply(project, engine)
    other = pretty_midi.PrettyMIDI(initial_tempo=150.0)
    for inst in pretty_midi.PrettyMIDI(str(tmp_path / "out.mid")).instruments:
        other.instruments.append(inst)
    other.write(str(tmp_path / "tempo.mid"))
    with pytest.raises(V2MError, match="another tempo map than the project"):
        E.ImportMidi(tmp_path / "tempo.mid").apply(project, engine)
    late = pretty_midi.PrettyMIDI(str(tmp_path / "out.mid"))
    next(i for i in late.instruments if i.name == "piano").notes.append(pretty_midi.Note(90, 60, 16.5, 17.0))
    late.write(str(tmp_path / "late.mid"))
    with pytest.raises(V2MError, match="a piano note at 16.50 s, after the video's end"):
        E.ImportMidi(tmp_path / "late.mid").apply(project, engine)
    (tmp_path / "junk.mid").write_bytes(b"MThd not really")
    with pytest.raises(V2MError, match="junk.mid is not a MIDI file"):
        E.ImportMidi(tmp_path / "junk.mid").apply(project, engine)
    assert project.state() == state


def test_a_part_without_notes_may_be_absent_from_the_imported_file():
    """A calm piece's drums play nothing, and the project's export has no track for them: the
    file read back is imported (it was refused: 'has no track drums'); a part with notes that
    the file lacks is still refused."""
    from v2m_desktop.core.midi_import import note_changes
    current = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    piano = pretty_midi.Instrument(0, name="piano")
    piano.notes = [pretty_midi.Note(80, 60, 0.5, 1.0), pretty_midi.Note(80, 64, 1.0, 1.5)]
    current.instruments += [piano, pretty_midi.Instrument(0, is_drum=True, name="drums")]
    edited = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    moved = pretty_midi.Instrument(0, name="piano")
    moved.notes = [pretty_midi.Note(80, 62, 0.5, 1.0), pretty_midi.Note(80, 64, 1.0, 1.5)]
    edited.instruments.append(moved)
    gone, new = note_changes(current, edited)
    assert [(n.pitch, n.part) for n in gone] == [(60, "piano")]
    assert [(n.pitch, n.part) for n in new] == [(62, "piano")]
    current.instruments[1].notes.append(pretty_midi.Note(90, 36, 0.0, 0.1))
    with pytest.raises(V2MError, match="has no track 'drums'"):
        note_changes(current, edited)
