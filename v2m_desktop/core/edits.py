"""Edits of a Project: each is a value that applies itself and returns its inverse, so undo and
redo are exact (apply, inverse, apply gives the same project).  The app wraps each in a
QUndoCommand; the command line applies them in order.  Every edit tells the project's listeners
which seconds it changed.

Only the few "set the whole field" edits (SetTokens, SetSplits, SetLocks, SetTargets,
SetDynamicsMap, SetTakes, SetNoteEdits, SetSettings, SetPath) touch the project directly; every
other edit is made of them, so each inverse is one of those with the old value.

Splits (a new chord block where the chord stays) are kept where they still split something:
every chord edit goes through _set_chords, which removes the splits strictly inside the seconds
it rewrites (setting one chord over a range, deleting it, regenerating it, using a take: one
block there) and drops a split where the chord now changes anyway.  Transposing a range (or the
key) keeps the splits inside it; copying chords brings the source's splits along.  A split at a
range's edge stays while the chords on both sides of it are still the same.

_set_chords also drops the note edits (core.notes) that start in a second whose chord changes:
they belonged to the old chord (the rule, and why: core.notes)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from v2m_desktop.core.chords import EMOTIONS, chord_id, parse_chord_symbol, parse_key, transpose
from v2m_desktop.core.errors import V2MError
from v2m_desktop.core.notes import MAX_NOTES, Note, NoteEdits, changed_notes, seconds_of
from v2m_desktop.core.project import Project, Takes, Target


class Edit:
    def apply(self, p: Project, engine=None) -> Edit:
        """Change `p`; return the edit that undoes this one.  `engine` (core.engine.Engine) is
        needed only by edits that run the models."""
        raise NotImplementedError


def chord_token(symbol: str) -> int:
    """A chord symbol as musicians type it ('F#m7', 'Bbmaj7', 'N'); one the vocabulary lacks is
    refused with the nearest it has."""
    s = symbol.strip()
    if s.upper() in ("N", "NC", "N.C."):
        return 0
    try:
        root, quality = parse_chord_symbol(s)
    except V2MError:
        raise V2MError(f"unknown chord {symbol!r}{_nearest(s)}") from None
    return chord_id(root, quality)


def _nearest(s: str) -> str:
    """' (nearest: Am7)' for a symbol with extensions the vocabulary lacks, e.g. 'Am9'."""
    for cut in range(len(s) - 1, 0, -1):
        try:
            root, quality = parse_chord_symbol(s[:cut])
        except V2MError:
            continue
        from v2m_desktop.core.chords import chord_symbol
        return f"; the nearest chord there is {chord_symbol(chord_id(root, quality))}"
    return " (try e.g. C, Am, F#m7, Bb, G7, Csus4, N)"


# --------------------------------------------------------------------------------------------- #
# the primitive edits

@dataclass
class SetTokens(Edit):
    start: int
    tokens: list[int]

    def apply(self, p, engine=None):
        end = self.start + len(self.tokens)
        p.check_range(self.start, end)
        old = p.tokens[self.start:end].tolist()
        p.tokens[self.start:end] = np.asarray(self.tokens, dtype=np.int64)
        p.changed("chords", self.start, end)
        return SetTokens(self.start, old)


@dataclass
class SetSplits(Edit):
    """The seconds where a chord block starts though the chord stays."""
    splits: frozenset

    def apply(self, p, engine=None):
        return SetSplits(_swap_seconds(p, "splits", "chords", self.splits))


@dataclass
class SetLocks(Edit):
    locks: frozenset

    def apply(self, p, engine=None):
        return SetLocks(_swap_seconds(p, "locks", "locks", self.locks))


def _swap_seconds(p, attr: str, what: str, new: frozenset) -> frozenset:
    """Set the project's set of seconds `attr`, tell the seconds that changed (as `what`) and
    return the old set (the inverse's value)."""
    old = frozenset(getattr(p, attr))
    setattr(p, attr, set(new))
    diff = old ^ frozenset(new)
    p.changed(what, min(diff, default=0), max(diff, default=-1) + 1)
    return old


@dataclass
class SetTargets(Edit):
    targets: tuple

    def apply(self, p, engine=None):
        old = tuple(dataclasses.replace(t) for t in p.targets)
        p.targets = [dataclasses.replace(t) for t in self.targets]
        spans = [(t.start, t.end) for t in (*old, *self.targets)]
        p.changed("targets", min((a for a, _ in spans), default=0), max((b for _, b in spans), default=0))
        return SetTargets(old)


@dataclass
class SetDynamicsMap(Edit):
    kind: str
    values: dict

    def apply(self, p, engine=None):
        if self.kind not in p.dynamics:
            raise V2MError(f"unknown dynamics curve {self.kind!r} (density or loudness)")
        old = dict(p.dynamics[self.kind])
        p.dynamics[self.kind] = dict(self.values)
        keys = set(old) | set(self.values)
        p.changed("dynamics", min(keys, default=0), max(keys, default=-1) + 1)
        return SetDynamicsMap(self.kind, old)


@dataclass
class SetTakes(Edit):
    takes: tuple

    def apply(self, p, engine=None):
        old = tuple(_copy_takes(t) for t in p.takes)
        p.takes = [_copy_takes(t) for t in self.takes]
        p.changed("takes", 0, p.seconds)
        return SetTakes(old)


def _copy_takes(t: Takes) -> Takes:
    return t.copy()


@dataclass
class SetNoteEdits(Edit):
    """The project's note edits, whole (the notes whose sound changes are told as 'notes')."""
    notes: NoteEdits

    def apply(self, p, engine=None):
        old = p.notes
        p.notes = self.notes
        span = seconds_of(changed_notes(old, self.notes))
        if span is not None:
            p.changed("notes", span[0], min(max(span[1], span[0] + 1), p.seconds))
        return SetNoteEdits(old)


@dataclass
class SetSettings(Edit):
    """Settings fields and the key (key_root, mode) by name."""
    values: dict

    def apply(self, p, engine=None):
        old = {}
        for k, v in self.values.items():
            if k in ("key_root", "mode"):
                old[k] = getattr(p, k)
                setattr(p, k, v)
            else:
                old[k] = getattr(p.settings, k)
                setattr(p.settings, k, v)
        p.changed(_settings_change(self.values), 0, p.seconds)
        return SetSettings(old)


# settings that change no note: a listener need not arrange or render again for them
_QUIET = {"gain": "gain", "original_level": "level"}


def _settings_change(values: dict) -> str:
    kinds = {_QUIET.get(k, "settings") for k in values}
    return kinds.pop() if len(kinds) == 1 else "settings"


@dataclass
class Batch(Edit):
    """Several edits as one (undone in reverse order); all or nothing: when one is refused,
    those before it are undone and the refusal goes on."""
    edits: list = field(default_factory=list)

    def apply(self, p, engine=None):
        inverses = []
        try:
            for e in self.edits:
                inverses.append(e.apply(p, engine))
        except V2MError:
            for inv in reversed(inverses):
                inv.apply(p)
            raise
        return Batch(inverses[::-1])


def _set_chords(p: Project, start: int, tokens, inside=(), drop=(), notes: NoteEdits | None = None) -> Edit:
    """Chords `tokens` from second `start` on, the splits kept consistent (the module's rule):
    those strictly inside the range are replaced by `inside`, those in `drop` go, and a split
    where the chord changes (before or after) is dropped; the note edits in seconds whose chord
    changes go too (`notes`: the note edits after it instead).  Returns the inverse."""
    tokens = [int(t) for t in tokens]
    end = start + len(tokens)
    new = p.tokens.copy()
    new[start:end] = tokens
    old = p.tokens
    keep = {s for s in p.splits if not start < s < end and s not in drop and old[s - 1] == old[s]}
    keep |= {int(s) for s in inside if start < s < end}
    splits = frozenset(s for s in keep if new[s - 1] == new[s])
    if notes is None and len(p.notes):
        notes = p.notes.split((start + np.flatnonzero(new[start:end] != old[start:end])).tolist())[1]
    edits: list[Edit] = [SetTokens(start, tokens)]
    if splits != p.splits:
        edits.append(SetSplits(splits))
    if notes is not None and notes != p.notes:
        edits.append(SetNoteEdits(notes))
    return Batch(edits).apply(p)


def _inside(p: Project, start: int, end: int, shift: int = 0) -> set[int]:
    return {s + shift for s in p.splits if start < s < end}


@dataclass
class _Chords(Edit):
    """_set_chords as an edit (inside a Batch); `keep`: the splits inside stay; `notes`: the
    note edits after it (None: the rule's)."""
    start: int
    tokens: list
    keep: bool = False
    notes: NoteEdits | None = None

    def apply(self, p, engine=None):
        start, end = p.check_range(self.start, self.start + len(self.tokens))
        inside = _inside(p, start, end) if self.keep else ()
        return _set_chords(p, start, self.tokens, inside, notes=self.notes)


@dataclass
class ChangeNotes(Edit):
    """The user's note edit: the notes `before` go, the notes `after` come (a move, a resize,
    a deletion, a drawn or pasted note, a new velocity; the parts are the arrangement's track
    names)."""
    before: tuple[Note, ...]
    after: tuple[Note, ...]

    def apply(self, p, engine=None):
        for n in self.after:
            n.check(p.video.duration)
        new = p.notes.replace(self.before, self.after)
        if len(new) > MAX_NOTES:
            raise V2MError(f"a project holds at most {MAX_NOTES} note edits")
        return SetNoteEdits(new).apply(p)


# --------------------------------------------------------------------------------------------- #
# what users do

@dataclass
class SetChords(Edit):
    """The chord of seconds [start, end): a block's chord, a moved boundary (each is setting a
    range to one chord: one block there, its inner splits gone); 'N' rests there."""
    start: int
    end: int
    chord: str

    def apply(self, p, engine=None):
        start, end = p.check_range(self.start, self.end)
        return _set_chords(p, start, [chord_token(self.chord)] * (end - start))


@dataclass
class Split(Edit):
    """A new chord block from `second` on, the chord kept (nothing sounds different until one of
    the two blocks changes)."""
    second: int

    def apply(self, p, engine=None):
        s = _second(p, self.second)
        if s in {b[0] for b in p.blocks()}:
            raise V2MError(f"a chord block starts at {s} s already")
        return SetSplits(frozenset(p.splits | {s})).apply(p)


@dataclass
class Merge(Edit):
    """The chord blocks either side of `second` become one: the block starting there takes the
    chord of the one before it, and the boundary goes (also between two blocks of one chord)."""
    second: int

    def apply(self, p, engine=None):
        s = _second(p, self.second)
        block = next((b for b in p.blocks() if b[0] == s), None)
        if block is None:
            raise V2MError(f"no chord block starts at {s} s to merge with the one before")
        return _set_chords(p, s, [int(p.tokens[s - 1])] * (block[1] - s), drop={s})


@dataclass
class MergeNext(Edit):
    """The block after seconds [start, end) (a selection) takes the chord of the block before
    it: the boundary nearest the selection's end that lies after its start goes."""
    start: int
    end: int

    def boundary(self, p: Project) -> int:
        """The second whose boundary goes."""
        after = [a for a, _, _ in p.blocks() if a > self.start]
        if not after:
            raise V2MError("no chord block after the selection to merge with")
        return min(after, key=lambda s: (abs(s - self.end), s))

    def apply(self, p, engine=None):
        return Merge(self.boundary(p)).apply(p)


@dataclass
class MoveBoundary(Edit):
    """The boundary between two chord blocks from second `old` to `new`: the block it moves into
    gives those seconds to the other block's chord.  A split (one chord both sides) moves only
    inside its chord's run."""
    old: int
    new: int

    def apply(self, p, engine=None):
        o = _second(p, self.old)
        n = min(max(int(self.new), 0), p.seconds)
        if o not in {a for a, _, _ in p.blocks()}:
            raise V2MError(f"no chord block starts at {o} s")
        if n == o:
            return Batch([])
        if o in p.splits:
            run = (next(b for b in p.blocks() if b[0] <= o - 1 < b[1])[0],
                   next(b for b in p.blocks() if b[0] == o)[1])
            if not run[0] < n < run[1]:
                raise V2MError("a split moves inside its chord: drop it between two seconds of it")
            return Batch([Merge(o), Split(n)]).apply(p)
        a, b, src = (o, n, o - 1) if n > o else (n, o, o)
        return _set_chords(p, a, [int(p.tokens[src])] * (b - a))


def _second(p: Project, second) -> int:
    """A second strictly inside the video (where a block can start after another)."""
    if isinstance(second, bool) or not isinstance(second, (int, np.integer)) or not 0 < second < p.seconds:
        raise V2MError(f"{second!r} s is not inside the video (a block boundary is a whole second "
                       f"from 1 to {p.seconds - 1})")
    return int(second)


@dataclass
class CopyChords(Edit):
    """The chords of [start, end) also at [to, to + end - start)."""
    start: int
    end: int
    to: int

    def apply(self, p, engine=None):
        start, end = p.check_range(self.start, self.end)
        p.check_range(self.to, self.to + end - start)
        return _set_chords(p, self.to, p.tokens[start:end].tolist(), _inside(p, start, end, self.to - start))


@dataclass
class Transpose(Edit):
    start: int
    end: int
    semitones: int

    def apply(self, p, engine=None):
        start, end = p.check_range(self.start, self.end)
        return _set_chords(p, start, [transpose(int(t), self.semitones) for t in p.tokens[start:end]],
                           _inside(p, start, end))


@dataclass
class Lock(Edit):
    start: int
    end: int

    def apply(self, p, engine=None):
        start, end = p.check_range(self.start, self.end)
        return SetLocks(frozenset(p.locks | set(range(start, end)))).apply(p)


@dataclass
class Unlock(Edit):
    start: int
    end: int

    def apply(self, p, engine=None):
        start, end = p.check_range(self.start, self.end)
        return SetLocks(frozenset(p.locks - set(range(start, end)))).apply(p)


def _without(targets, start: int, end: int) -> list[Target]:
    """The targets with [start, end) cut out of them."""
    out = []
    for t in targets:
        if t.end <= start or t.start >= end:
            out.append(dataclasses.replace(t))
            continue
        if t.start < start:
            out.append(dataclasses.replace(t, end=start))
        if t.end > end:
            out.append(dataclasses.replace(t, start=end))
    return out


@dataclass
class SetEmotionTarget(Edit):
    start: int
    end: int
    emotion: str
    intensity: float = 1.0

    def apply(self, p, engine=None):
        start, end = p.check_range(self.start, self.end)
        if self.emotion not in EMOTIONS:
            raise V2MError(f"unknown emotion {self.emotion!r} (choose from {', '.join(EMOTIONS)})")
        if not 0.0 <= float(self.intensity) <= 1.0:
            raise V2MError(f"the intensity must be between 0 and 1, not {self.intensity:g}")
        new = _without(p.targets, start, end) + [Target(start, end, self.emotion, float(self.intensity))]
        return SetTargets(tuple(sorted(new, key=lambda t: t.start))).apply(p)


@dataclass
class ClearEmotionTarget(Edit):
    start: int
    end: int

    def apply(self, p, engine=None):
        start, end = p.check_range(self.start, self.end)
        return SetTargets(tuple(_without(p.targets, start, end))).apply(p)


@dataclass
class SetEmotionCurve(Edit):
    """A drawn target: `emotion` over seconds [start, start + len(intensities)), one intensity a
    second (0..1); seconds of one intensity in a row become one target."""
    start: int
    emotion: str
    intensities: list

    def apply(self, p, engine=None):
        start, end = p.check_range(self.start, self.start + len(self.intensities))
        if self.emotion not in EMOTIONS:
            raise V2MError(f"unknown emotion {self.emotion!r} (choose from {', '.join(EMOTIONS)})")
        values = [float(v) for v in self.intensities]
        if any(not 0.0 <= v <= 1.0 for v in values):
            raise V2MError("the intensities must be between 0 and 1")
        runs: list[Target] = []
        for s, v in zip(range(start, end), values):
            if runs and runs[-1].intensity == v:
                runs[-1].end = s + 1
            else:
                runs.append(Target(s, s + 1, self.emotion, v))
        new = _without(p.targets, start, end) + runs
        return SetTargets(tuple(sorted(new, key=lambda t: t.start))).apply(p)


@dataclass
class SetDynamics(Edit):
    """Note density (notes a second) or loudness (linear RMS) over [start, end): one value, or
    one per second."""
    start: int
    end: int
    kind: str
    values: list | float

    def apply(self, p, engine=None):
        start, end = p.check_range(self.start, self.end)
        vals = self.values if isinstance(self.values, list) else [float(self.values)] * (end - start)
        if len(vals) != end - start:
            raise V2MError(f"{end - start} values are needed for {start}-{end} s, not {len(vals)}")
        top = {"density": 40.0, "loudness": 1.0}.get(self.kind)
        if top is None:
            raise V2MError(f"unknown dynamics curve {self.kind!r} (density or loudness)")
        if any(not 0.0 <= float(v) <= top for v in vals):
            raise V2MError(f"{self.kind} values must be between 0 and {top:g}")
        new = dict(p.dynamics[self.kind])
        new.update({s: float(v) for s, v in zip(range(start, end), vals)})
        return SetDynamicsMap(self.kind, new).apply(p)


@dataclass
class ClearDynamics(Edit):
    start: int
    end: int
    kind: str

    def apply(self, p, engine=None):
        start, end = p.check_range(self.start, self.end)
        if self.kind not in p.dynamics:
            raise V2MError(f"unknown dynamics curve {self.kind!r} (density or loudness)")
        new = {s: v for s, v in p.dynamics[self.kind].items() if not start <= s < end}
        return SetDynamicsMap(self.kind, new).apply(p)


@dataclass
class Regenerate(Edit):
    """New chords for [start, end) from the model; each regeneration adds a take of the range."""
    start: int
    end: int
    seed: int = 0

    def apply(self, p, engine=None):
        if engine is None:
            raise V2MError("regenerating needs the models (an Engine)")
        start, end = p.check_range(self.start, self.end)
        new = engine.regenerate(start, end, self.seed).tolist()
        takes = [_copy_takes(t) for t in p.takes]
        mine = next((t for t in takes if (t.start, t.end) == (start, end)), None)
        if mine is None:
            mine = Takes(start, end, [p.tokens[start:end].tolist()], 0)
            takes.append(mine)
        inside, outside = p.notes.split(range(start, end))
        _keep_notes(mine, inside)
        mine.takes.append(new)
        mine.current = len(mine.takes) - 1
        return Batch([SetTakes(tuple(takes)), _Chords(start, new, notes=outside)]).apply(p)


def _keep_notes(takes: Takes, notes: NoteEdits) -> None:
    """The current take keeps the range's note edits as the user leaves it."""
    takes.notes = [takes.notes_of(i) for i in range(len(takes.takes))]
    takes.notes[takes.current] = notes


@dataclass
class UseTake(Edit):
    """Go back (or forward) to take `n` of a regenerated range."""
    start: int
    end: int
    n: int

    def apply(self, p, engine=None):
        start, end = p.check_range(self.start, self.end)
        takes = [_copy_takes(t) for t in p.takes]
        mine = next((t for t in takes if (t.start, t.end) == (start, end)), None)
        if mine is None:
            raise V2MError(f"no takes of {start}-{end} s (regenerate that range first)")
        if not 0 <= self.n < len(mine.takes):
            raise V2MError(f"{start}-{end} s has takes 0 to {len(mine.takes) - 1}, not {self.n}")
        inside, outside = p.notes.split(range(start, end))
        _keep_notes(mine, inside)
        mine.current = self.n
        notes = outside.joined(mine.notes_of(self.n))
        return Batch([SetTakes(tuple(takes)), _Chords(start, list(mine.takes[self.n]), notes=notes)]).apply(p)


@dataclass
class Rewrite(Edit):
    """New chords for the whole piece from the model (Generate on an open project), in its key,
    its locked chords kept (unless `keep_locks` is False) and its emotion targets steering; the
    splits, targets, drawn dynamics and takes stay.  Undo brings the old chords back exactly."""
    seed: int = 0
    keep_locks: bool = True         # False: "replace everything": the locks go first

    def apply(self, p, engine=None):
        if engine is None:
            raise V2MError("writing new chords needs the models (an Engine)")
        unlocked = [] if self.keep_locks or not p.locks else [SetLocks(frozenset()).apply(p)]
        try:
            new = [int(t) for t in engine.rewrite(self.seed)]
            if len(new) != p.seconds:
                raise V2MError(f"new chords for {len(new)} s do not fit the project's {p.seconds} s")
            seed = SetSettings({"chord_seed": int(self.seed)})
            written = Batch([_Chords(0, new, keep=True), seed]).apply(p)
        except V2MError:
            for inv in unlocked:
                inv.apply(p)
            raise
        return Batch([written, *unlocked])


@dataclass
class ImportMidi(Edit):
    """The notes of a MIDI file that a DAW changed (core.midi_import) as one note edit."""
    path: Path

    def apply(self, p, engine=None):
        from v2m_desktop.core.midi_import import import_midi
        if engine is None:
            raise V2MError("importing MIDI needs the project's music (an Engine)")
        return import_midi(engine, self.path).apply(p)


def dropped_notes(before: NoteEdits, after: NoteEdits) -> int:
    """How many note edits an edit of the harmony dropped (the rule: core.notes)."""
    return len(before.removed - after.removed) + len(set(before.added) - set(after.added))


@dataclass
class SetKey(Edit):
    """Move the piece to another key: the chords (and their takes) move with it."""
    key: str

    def apply(self, p, engine=None):
        root, mode = parse_key(self.key)
        shift = root - p.key_root
        # (a take's kept note edits were made under its old chords: they go with them, as the
        # piece's own do; undo brings both back)
        takes = tuple(Takes(t.start, t.end, [[transpose(x, shift) for x in tk] for tk in t.takes], t.current,
                            list(t.notes) if shift % 12 == 0 else []) for t in p.takes)
        return Batch([_Chords(0, [transpose(int(t), shift) for t in p.tokens], keep=True), SetTakes(takes),
                      SetSettings({"key_root": root, "mode": mode})]).apply(p)


@dataclass
class SetTempo(Edit):
    """A fixed tempo in BPM, or None for the automatic one (beats on the cuts)."""
    bpm: float | None

    def apply(self, p, engine=None):
        if self.bpm is not None:
            from v2m_desktop.core.arrange.arranger import check_tempo
            check_tempo(self.bpm)
        return SetSettings({"tempo": None if self.bpm is None else float(self.bpm)}).apply(p)


@dataclass
class SetInstruments(Edit):
    instruments: tuple

    def apply(self, p, engine=None):
        from v2m_desktop.core.arrange import parse_instruments
        return SetSettings({"instruments": parse_instruments(self.instruments)}).apply(p)


@dataclass
class SetSoundFont(Edit):
    """The SoundFont the music is rendered with (None: the bundled one).  Its render gain is
    measured again by the next render (another SoundFont plays at another level); undo brings the
    old SoundFont back with its gain."""
    path: str | None

    def apply(self, p, engine=None):
        path = None
        if self.path:
            from v2m_desktop.core.render import check_soundfont
            path = str(check_soundfont(Path(self.path)).resolve())
        return SetSettings({"soundfont": path, "gain": None}).apply(p)


@dataclass
class SetSeed(Edit):
    """The arrangement's seed (its random choices: rhythms, voicings, fills)."""
    seed: int

    def apply(self, p, engine=None):
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) \
                or not 0 <= int(self.seed) < 1 << 31:
            raise V2MError(f"the seed must be a whole number from 0 to {(1 << 31) - 1}, not {self.seed!r}")
        return SetSettings({"seed": int(self.seed)}).apply(p)


@dataclass
class SetGain(Edit):
    """The render's gain, fixed by the project's first render (so an edit never moves the level
    of the rest); None: measured again by the next render."""
    gain: float | None

    def apply(self, p, engine=None):
        if self.gain is not None and not (isinstance(self.gain, (int, float)) and 0 < self.gain < 1e3):
            raise V2MError(f"the render gain must be a positive number, not {self.gain!r}")
        return SetSettings({"gain": None if self.gain is None else float(self.gain)}).apply(p)


@dataclass
class SetPath(Edit):
    """Where the project is saved (None: not yet): a recovered copy belongs to its project's file."""
    path: Path | None

    def apply(self, p, engine=None):
        old, p.path = p.path, None if self.path is None else Path(self.path)
        p.changed("path", 0, p.seconds)
        return SetPath(old)


@dataclass
class SetOriginalLevel(Edit):
    """The level of the video's own sound under the music, 0 (off) to 1."""
    level: float

    def apply(self, p, engine=None):
        from v2m_desktop.core.export import check_original_level
        try:
            level = check_original_level(self.level)
        except (TypeError, ValueError):
            raise V2MError(f"the original-audio level is a number from 0 to 1, not {self.level!r}") from None
        return SetSettings({"original_level": level}).apply(p)


# --------------------------------------------------------------------------------------------- #
# the mix: ducking under speech and the delivery loudness (core.mix)

# they change no note, as the original sound's level does: a listener need not arrange or render
_QUIET.update({k: "level" for k in ("duck_db", "duck_add", "duck_remove", "loudness")})

def _duck_ranges(p: Project, start: float, end: float, into: str, out_of: str) -> Edit:
    """[start, end) seconds joined into the settings' span list `into` and cut out of `out_of`
    (duck_add / duck_remove): the inverse is SetSettings with both lists as they were."""
    from v2m_desktop.core.mix import check_spans, subtract, union
    (a, b), = check_spans([(start, end)], p.video.duration)
    s = p.settings
    return SetSettings({into: tuple(union([*getattr(s, into), (a, b)])),
                        out_of: tuple(subtract(getattr(s, out_of), [(a, b)]))}).apply(p)


@dataclass
class AddDuckRange(Edit):
    """Duck the music over [start, end) seconds though no speech was found there."""
    start: float
    end: float

    def apply(self, p, engine=None):
        return _duck_ranges(p, self.start, self.end, "duck_add", "duck_remove")


@dataclass
class RemoveDuckRange(Edit):
    """Never duck the music over [start, end) seconds, whatever speech was found there."""
    start: float
    end: float

    def apply(self, p, engine=None):
        return _duck_ranges(p, self.start, self.end, "duck_remove", "duck_add")


@dataclass
class SetDuckDepth(Edit):
    """How far the music ducks under speech, in dB (0: off)."""
    db: float

    def apply(self, p, engine=None):
        from v2m_desktop.core.mix import check_duck_db
        return SetSettings({"duck_db": check_duck_db(self.db)}).apply(p)


@dataclass
class SetLoudnessTarget(Edit):
    """The delivery's loudness: 'youtube' (-14 LUFS), 'podcast' (-16), 'broadcast' (-23) or LUFS."""
    target: str | float

    def apply(self, p, engine=None):
        from v2m_desktop.core.mix import parse_loudness
        return SetSettings({"loudness": parse_loudness(self.target)}).apply(p)

@dataclass
class SetStyle(Edit):
    """The style of the whole piece (start None), or of seconds [start, end) over it ('auto' there:
    the piece's style again).  A range's style replaces the ranges it overlaps there."""
    style: str
    start: int | None = None
    end: int | None = None

    def apply(self, p, engine=None):
        from v2m_desktop.core.arrange.styles import AUTO, parse_style
        if self.start is None:
            return SetSettings({"style": parse_style(self.style)}).apply(p)
        start, end = p.check_range(self.start, self.end)
        key = parse_style(self.style)
        kept = []
        for a, b, k in p.settings.style_ranges:     # the parts of other ranges outside this one
            kept += [(x, y, k) for x, y in ((a, min(b, start)), (max(a, end), b)) if x < y]
        if key != AUTO:
            kept.append((start, end, key))
        return SetSettings({"style_ranges": tuple(sorted(kept))}).apply(p)

