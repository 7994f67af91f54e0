"""`v2m bench edit`'s note figures (issue 26): a note edit to new audio through the project
engine (ChangeNotes then Engine.update around its seconds, as the app does) against a full
arrange + render, with the splice's SNR; and a DAW round trip on a 3-minute project: the
exported MIDI with 50 notes changed by pretty_midi (moved, deleted, added, new velocities),
imported as one note edit (the arrangement of the project included)."""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np


def bench_notes(video: Path, folder: Path) -> dict:
    """The note-edit figures on `video` and on a 3-minute clip made in `folder`."""
    from v2m_desktop.core.lab.bench import bench_video
    long, _ = bench_video(folder, seconds=180, size=(320, 180), texture=False)
    return {"short": _note_edit(Path(video)), "long": {**_note_edit(long), **_round_trip()}}


_LONG: dict = {}        # the 3-minute project's engine, kept for the round trip


def _note_edit(video: Path) -> dict:
    from v2m_desktop.core import edits as E
    from v2m_desktop.core.engine import Engine, changed_seconds
    from v2m_desktop.core.notes import Note, notes_of_part
    from v2m_desktop.core.pipeline import ScoreSettings
    from v2m_desktop.core.project import Change
    from v2m_desktop.core.scoring import score_video
    result = score_video(video, ScoreSettings(vision="basic"))
    project = result.project
    engine = Engine(project, analysis=result.analysis)
    before = engine.score()
    t = time.perf_counter()
    full = engine.score()
    full_s = time.perf_counter() - t
    piano = next(i for i in full.arrangement.midi.instruments if i.name == "piano")
    notes = [n for n in notes_of_part(piano) if n.start > project.seconds / 2][:1]
    moved = [Note(n.start + 0.25, n.part, n.pitch + 2, n.end + 0.25, n.velocity) for n in notes]
    seen: list[Change] = []
    project.listeners.append(seen.append)
    t = time.perf_counter()
    E.ChangeNotes(tuple(notes), tuple(moved)).apply(project)
    after = engine.update(before, changed_seconds(seen))
    took = time.perf_counter() - t
    ref = engine.score()
    err = after.audio - ref.audio
    snr = 10 * np.log10(float((ref.audio ** 2).sum()) / max(float((err ** 2).sum()), 1e-20))
    _LONG.update(project=project, engine=engine)
    return {"seconds": project.seconds, "note_edit_s": took, "full_s": full_s, "snr_db": snr}


def _round_trip(changed: int = 50) -> dict:
    """50 notes of the last project changed in its exported MIDI, imported back."""
    import pretty_midi

    from v2m_desktop.core.arrange import write_midi
    from v2m_desktop.core.midi_import import import_midi
    project, engine = _LONG["project"], _LONG["engine"]
    with tempfile.TemporaryDirectory(prefix="v2m-bench-notes-") as d:
        write_midi(engine.arrangement(), Path(d) / "out.mid")
        m = pretty_midi.PrettyMIDI(str(Path(d) / "out.mid"))
        pitched = [i for i in m.instruments if not i.is_drum and len(i.notes) > 40]
        rng = np.random.default_rng(0)
        k = 0
        for i, inst in enumerate(pitched):
            share = changed // len(pitched) + (i < changed % len(pitched))
            inside = len([n for n in inst.notes if n.end < m.get_end_time() - 2])     # not the last
            picks = sorted(rng.choice(inside, share, replace=False).tolist(), reverse=True)
            for j, p in enumerate(picks):
                n = inst.notes[p]
                kind = (k + j) % 4
                if kind == 0:
                    n.pitch, n.start, n.end = n.pitch + 1, n.start + 0.1, n.end + 0.1
                elif kind == 1:
                    del inst.notes[p]
                elif kind == 2:
                    inst.notes.append(pretty_midi.Note(80, n.pitch + 7, n.start, n.end))
                else:
                    n.velocity = max(1, n.velocity - 20)
            k += share
        m.write(str(Path(d) / "edited.mid"))
        t = time.perf_counter()
        edit = import_midi(engine, Path(d) / "edited.mid")
        edit.apply(project)
        took = time.perf_counter() - t
        write_midi(engine.arrangement(), Path(d) / "again.mid")
        exact = _ticks(pretty_midi.PrettyMIDI(str(Path(d) / "again.mid"))) == \
            _ticks(pretty_midi.PrettyMIDI(str(Path(d) / "edited.mid")))
    return {"import_s": took, "import_changed": k, "import_out": len(edit.before),
            "import_in": len(edit.after), "import_exact": exact}


def _ticks(m) -> dict:
    return {i.name: sorted((n.pitch, m.time_to_tick(n.start), m.time_to_tick(n.end), n.velocity)
                           for n in i.notes) for i in m.instruments}


def notes_lines(r: dict) -> list[str]:
    s, lg = r["short"], r["long"]
    return [f"note edit to new audio: {s['note_edit_s']:.2f} s on the {s['seconds']}-s clip "
            f"(target < 0.3 s), {lg['note_edit_s']:.2f} s on the {lg['seconds']}-s one (target < 1 s), "
            f"vs full arrange + render {s['full_s']:.2f} / {lg['full_s']:.2f} s; joined vs full render SNR "
            f"{s['snr_db']:.0f} / {lg['snr_db']:.0f} dB",
            f"DAW round trip: {lg['import_changed']} changed notes imported in {lg['import_s']:.2f} s on the "
            f"{lg['seconds']}-s project ({lg['import_out']} notes out, {lg['import_in']} in; target < 1 s); "
            f"the next export's notes are the file's: {'yes' if lg['import_exact'] else 'NO'}"]
