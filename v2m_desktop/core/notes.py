"""The user's note edits: notes taken out of the arrangement and notes put in, kept in the
project and laid over every arrangement (core.engine), so they survive each re-render.

Every note edit a user makes (move, resize, delete, draw, paste, velocity) is one replacement:
some notes go, others come.  A note that goes is either one the user put in (it leaves `added`)
or an arranged one (it joins `removed`, matched by part, pitch and start).

What happens to them when the harmony under them changes (core.edits): edited notes belong to
the chord they were made under.  An edit that changes the chord of some seconds (a chord edit, a
transpose, a key change, Generate, a regeneration, a take) drops the note edits that start in
those seconds; the app and `v2m edit` say how many, undo brings them back, and a regenerated
range's take keeps the note edits it dropped, so going back to that take brings them back.
Edits of anything else (tempo, style, instruments) keep them as they are."""
from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from dataclasses import dataclass

import pretty_midi

from v2m_desktop.core.errors import V2MError

MAX_NOTES = 200_000        # note edits a project may hold (a file's bound)


@dataclass(frozen=True, order=True)
class Note:
    """One note of a part (the arrangement's track name: 'piano', 'pad-ambient'), in seconds."""
    start: float
    part: str
    pitch: int
    end: float
    velocity: int

    @property
    def key(self) -> tuple[str, int, float]:
        """What matches an arranged note: its part, pitch and start."""
        return self.part, self.pitch, self.start

    def check(self, duration: float) -> None:
        """V2MError unless a note a MIDI file can hold, inside a video of `duration` s."""
        if not (isinstance(self.pitch, int) and 0 <= self.pitch <= 127):
            raise V2MError(f"a note's pitch must be 0-127, not {self.pitch!r}")
        if not (isinstance(self.velocity, int) and 1 <= self.velocity <= 127):
            raise V2MError(f"a note's velocity must be 1-127, not {self.velocity!r}")
        if not (math.isfinite(self.start) and math.isfinite(self.end)
                and 0 <= self.start < self.end <= duration + 1e-6):
            raise V2MError(f"a note must lie inside the video's {duration:g} s, "
                           f"not {self.start:g}-{self.end:g} s")
        if not self.part or len(self.part) > 64:
            raise V2MError(f"a note's part must be a track name, not {self.part!r}")


NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def note_name(pitch: int) -> str:
    """60 -> 'C4' (scientific pitch, as DAWs and MuseScore name it)."""
    return f"{NAMES[pitch % 12]}{pitch // 12 - 1}"


def notes_of_part(inst: pretty_midi.Instrument) -> list[Note]:
    return [Note(float(n.start), inst.name, int(n.pitch), float(n.end), int(n.velocity)) for n in inst.notes]


@dataclass(frozen=True)
class NoteEdits:
    """The note edits of a project: arranged notes `removed`, the user's notes `added`."""
    removed: frozenset[Note] = frozenset()
    added: tuple[Note, ...] = ()

    def __len__(self) -> int:
        return len(self.removed) + len(self.added)

    def replace(self, before: Iterable[Note], after: Iterable[Note]) -> NoteEdits:
        """These edits with the notes `before` gone (the user's own leave `added`, arranged ones
        join `removed`) and the notes `after` put in."""
        added = list(self.added)
        removed = set(self.removed)
        for n in before:
            if n in added:
                added.remove(n)
            else:
                removed.add(n)
        added += after
        return NoteEdits(frozenset(removed), tuple(sorted(added)))

    def split(self, seconds: Iterable[int]) -> tuple[NoteEdits, NoteEdits]:
        """(the edits whose notes start in these whole seconds, the others)."""
        inside = set(seconds)
        def within(n: Note) -> bool:
            return int(n.start) in inside
        return (NoteEdits(frozenset(n for n in self.removed if within(n)),
                          tuple(n for n in self.added if within(n))),
                NoteEdits(frozenset(n for n in self.removed if not within(n)),
                          tuple(n for n in self.added if not within(n))))

    def joined(self, other: NoteEdits) -> NoteEdits:
        return NoteEdits(self.removed | other.removed, tuple(sorted(set(self.added) | set(other.added))))

    def notes(self) -> list[Note]:
        """Every note these edits name (removed and added)."""
        return [*self.removed, *self.added]

    def over(self, midi: pretty_midi.PrettyMIDI) -> None:
        """Lay the edits over an arrangement's MIDI (in place): the removed notes out of their
        tracks, the added ones in (a part the arrangement no longer has is left silent)."""
        _patch(midi, self.removed, self.added)


def repatched(midi: pretty_midi.PrettyMIDI, old: NoteEdits, new: NoteEdits) -> pretty_midi.PrettyMIDI:
    """A copy of `midi`, an arrangement with the note edits `old` laid over it, with `new` laid
    over instead (the same notes as laying `new` over the bare arrangement; no arranging)."""
    out = copy.copy(midi)
    out.instruments = [copy.copy(i) for i in midi.instruments]
    for inst in out.instruments:
        inst.notes = list(inst.notes)
    gone = (new.removed - old.removed) | (set(old.added) - set(new.added))
    come = (old.removed - new.removed) | (set(new.added) - set(old.added))
    _patch(out, gone, come)
    return out


def _patch(midi: pretty_midi.PrettyMIDI, gone: Iterable[Note], come: Iterable[Note]) -> None:
    """Take the notes `gone` (by part, pitch and start) out of `midi`'s tracks and put `come` in;
    every track's notes end sorted by start and pitch (so one piece has one MIDI file)."""
    out: dict[str, set[tuple[int, float]]] = {}
    for n in gone:
        out.setdefault(n.part, set()).add((n.pitch, n.start))
    new: dict[str, list[Note]] = {}
    for n in come:
        new.setdefault(n.part, []).append(n)
    for inst in midi.instruments:
        if inst.name in out:
            keys = out[inst.name]
            inst.notes = [n for n in inst.notes if (int(n.pitch), float(n.start)) not in keys]
        inst.notes += [pretty_midi.Note(n.velocity, n.pitch, n.start, n.end) for n in new.get(inst.name, ())]
        inst.notes.sort(key=lambda n: (n.start, n.pitch))


def seconds_of(notes: Iterable[Note]) -> tuple[int, int] | None:
    """The whole seconds these notes sound in (None: no note)."""
    notes = list(notes)
    if not notes:
        return None
    return int(min(n.start for n in notes)), int(math.ceil(max(n.end for n in notes)))


def changed_notes(a: NoteEdits, b: NoteEdits) -> list[Note]:
    """The notes whose sound differs between two sets of edits."""
    return [*(a.removed ^ b.removed), *(set(a.added) ^ set(b.added))]


def note_to_dict(n: Note) -> dict:
    return {"part": n.part, "pitch": n.pitch, "start": n.start, "end": n.end, "velocity": n.velocity}


def edits_to_dict(e: NoteEdits) -> dict:
    return {"removed": [note_to_dict(n) for n in sorted(e.removed)],
            "added": [note_to_dict(n) for n in e.added]}


def edits_from_dict(d: dict) -> NoteEdits:
    """From the file's (schema-checked) data."""
    return NoteEdits(frozenset(Note(**{**n, "start": float(n["start"]), "end": float(n["end"])})
                               for n in d.get("removed", ())),
                     tuple(sorted(Note(**{**n, "start": float(n["start"]), "end": float(n["end"])})
                                  for n in d.get("added", ()))))
