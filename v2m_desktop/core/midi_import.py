"""A DAW round trip: a MIDI file that `v2m export --midi` wrote and a DAW then changed (notes
moved, added, deleted, new velocities) read back as one note edit (core.edits.ChangeNotes).

Tracks are matched by name, notes compared on the file's ticks (a DAW writes whole ticks, and
may save at another resolution).  A file that does not match the project's music (tracks it
does not have, another tempo map) is refused in one line, and nothing changes."""
from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import numpy as np
import pretty_midi

from v2m_desktop.core.arrange.midi_file import midi_bytes
from v2m_desktop.core.errors import V2MError
from v2m_desktop.core.notes import Note, notes_of_part

MAX_BYTES = 64 << 20            # the largest MIDI file read
TEMPO_TOLERANCE = 0.002         # s: how far the file's beats may lie from the project's


def read_midi(path: Path) -> pretty_midi.PrettyMIDI:
    """The MIDI file at `path`; V2MError (one line) for anything that is not one."""
    from v2m_desktop.core.files import read_regular
    raw = read_regular(Path(path), MAX_BYTES, "MIDI")
    try:
        return pretty_midi.PrettyMIDI(io.BytesIO(raw))
    except Exception as e:          # mido and pretty_midi raise many kinds for a damaged file
        raise V2MError(f"{Path(path).name} is not a MIDI file that can be read "
                       f"({type(e).__name__})") from None


def note_changes(current: pretty_midi.PrettyMIDI, edited: pretty_midi.PrettyMIDI,
                 name: str = "the MIDI file") -> tuple[tuple[Note, ...], tuple[Note, ...]]:
    """(the project's notes the file no longer has, the file's notes the project lacks): the
    ChangeNotes that makes the project's music the file's.  `current`: the project's
    arrangement with its note edits, as export writes it."""
    ours = {inst.name: inst for inst in current.instruments}
    theirs = [inst for inst in edited.instruments if inst.notes or inst.name]
    names = [inst.name for inst in theirs]
    strange = [n for n in names if n not in ours]
    if strange:
        raise V2MError(f"{name} has a track {strange[0]!r} that the project has no part for "
                       f"(its parts: {', '.join(ours)}); nothing was imported")
    if len(set(names)) != len(names):
        raise V2MError(f"{name} has two tracks named {_first_repeat(names)!r}; nothing was imported")
    # a part with no notes here (a calm piece's drums) has no track in the project's export
    missing = [n for n, inst in ours.items() if inst.notes and n not in names]
    if missing:
        raise V2MError(f"{name} has no track {missing[0]!r} (a part of the project); nothing was imported")
    _check_tempo(current, edited, name)

    def ticks(n) -> tuple[int, int, int, int]:
        return (int(n.pitch), int(edited.time_to_tick(n.start)), int(edited.time_to_tick(n.end)),
                int(n.velocity))
    # the project's notes as its own export reads back: a file pairs the note-ons and -offs of
    # one pitch that overlap its own way, so the file is compared with that, not with the notes
    written = {i.name: i for i in pretty_midi.PrettyMIDI(io.BytesIO(midi_bytes(current, []))).instruments}
    before: list[Note] = []
    after: list[Note] = []
    for inst in theirs:
        mine = written[inst.name].notes if inst.name in written else []
        have = Counter(ticks(n) for n in mine)
        want = Counter(ticks(n) for n in inst.notes)
        gone, new = have - want, want - have
        by_start: dict[tuple[int, int], list[Note]] = {}
        for n in notes_of_part(ours[inst.name]):
            by_start.setdefault((n.pitch, int(current.time_to_tick(n.start))), []).append(n)
        for n in mine:
            k = ticks(n)
            if gone[k] > 0:
                gone[k] -= 1
                same = by_start.get((int(n.pitch), int(current.time_to_tick(n.start))))
                if same:
                    before.append(same.pop())
        for n in inst.notes:
            k = ticks(n)
            if new[k] > 0:
                new[k] -= 1
                after.append(Note(float(n.start), inst.name, int(n.pitch), float(n.end), int(n.velocity)))
    return tuple(before), tuple(sorted(after))


def _first_repeat(names: list[str]) -> str:
    seen: set[str] = set()
    for n in names:
        if n in seen:
            return n
        seen.add(n)
    return ""


def _check_tempo(current: pretty_midi.PrettyMIDI, edited: pretty_midi.PrettyMIDI, name: str) -> None:
    """The file's beats must fall where the project's do (a DAW that kept the tempo map)."""
    end = max(current.get_end_time(), 1.0)
    n = int(current.time_to_tick(end) // current.resolution) + 1
    ours = np.array([current.tick_to_time(k * current.resolution) for k in range(n)])
    theirs = np.array([edited.tick_to_time(k * edited.resolution) for k in range(n)])
    off = np.abs(ours - theirs)
    if off.max(initial=0.0) > TEMPO_TOLERANCE:
        k = int(np.argmax(off))
        raise V2MError(f"{name} has another tempo map than the project (beat {k + 1} falls at "
                       f"{theirs[k]:.3f} s, not {ours[k]:.3f} s); nothing was imported")


def import_midi(engine, path: Path):
    """The one note edit (core.edits.ChangeNotes) that makes the engine's project sound as the
    MIDI file at `path` does."""
    from dataclasses import replace

    from v2m_desktop.core.edits import ChangeNotes
    name = Path(path).name
    before, after = note_changes(engine.arrangement().midi, read_midi(path), name)
    duration = float(engine.analysis.info.duration)
    late = [n for n in after if n.start >= duration]
    if late:
        raise V2MError(f"{name} has a {late[0].part} note at {late[0].start:.2f} s, after the video's end "
                       f"({duration:.2f} s); nothing was imported")
    # a note held past the video's end (a DAW's last note) ends with the video, as the export does
    return ChangeNotes(before, tuple(replace(n, end=min(n.end, duration)) for n in after))
