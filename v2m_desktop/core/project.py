"""The Project: everything a user made for one video, and the `.v2m` file that keeps it.

A project holds the video (path and a fingerprint that survives a copy), the analysis settings
(the analysis itself comes back from the cache, or is made again), the chord track (tokens in
the piece's key, locks), the emotion targets, the dynamics edits, the arrangement settings and
the takes of every regenerated range, the user's note edits (core.notes), and the splits
(seconds where a new chord block starts though the chord stays).  Everything derived (dynamics
where not edited, the meter, the arrangement, the audio) is recomputed from it, never stored as the truth.

Edits (core.edits) change a project and return their inverse; the project tells its listeners
which seconds changed (a plain callback list, no Qt)."""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from v2m_desktop.core.chords import N_CHORDS, chord_symbol, flat_key, key_name, parse_chord_symbol
from v2m_desktop.core.errors import V2MError
from v2m_desktop.core.notes import NoteEdits, edits_from_dict, edits_to_dict

FORMAT = 2                      # the .v2m format this version writes
SUFFIX = ".v2m"
MAX_BYTES = 16 << 20            # the largest file read (a 24-hour video edited every second: ~5 MB)


# --------------------------------------------------------------------------------------------- #
# parts of a project

def fingerprint(path: Path) -> str:
    """Size and a hash of the first and last MiB: the same for a copy or a moved file, different
    for another video (reads 2 MiB, whatever the file's size)."""
    p = Path(path)
    size = p.stat().st_size
    h = hashlib.blake2b(digest_size=16)
    h.update(str(size).encode())
    mib = 1 << 20
    with open(p, "rb") as f:
        h.update(f.read(mib))
        if size > mib:
            f.seek(max(mib, size - mib))
            h.update(f.read(mib))
    return f"{size}:{h.hexdigest()}"


@dataclass
class VideoRef:
    path: str
    fingerprint: str
    duration: float
    seconds: int


@dataclass
class Target:
    """An emotion the user asks for over seconds [start, end), blended with the detected one."""
    start: int
    end: int
    emotion: str
    intensity: float


@dataclass
class Takes:
    """The versions of one regenerated range: takes[0] is what it was before the first one.
    `notes`: the note edits inside the range that each take had when the user left it (a list as
    long as `takes`, or shorter: none for the rest)."""
    start: int
    end: int
    takes: list[list[int]]
    current: int
    notes: list[NoteEdits] = field(default_factory=list)

    def notes_of(self, n: int) -> NoteEdits:
        return self.notes[n] if n < len(self.notes) else NoteEdits()

    def copy(self) -> Takes:
        return Takes(self.start, self.end, [list(x) for x in self.takes], self.current, list(self.notes))


@dataclass
class Settings:
    """What the arrangement and rendering read (and how the analysis was made)."""
    vision: str = "basic"
    clip_model: str | None = None
    tempo: float | None = None            # None: auto (beats on the cuts)
    instruments: tuple = ("piano", "bass", "pad", "drums", "melody")
    soundfont: str | None = None
    seed: int = 0                         # the arrangement's seed (rhythms, voicings, fills)
    original_level: float = 0.0
    follow_picture: float = 1.5
    gain: float | None = None             # the render's gain, fixed by the first render
    chord_seed: int | None = None         # the chord sampler's seed of the first scoring (None: unknown)
    style: str = "auto"                   # the piece's style (core.arrange.styles) or auto
    style_ranges: tuple = ()              # ((start, end, style), ...): a scene's own style
    duck_db: float = 10.0                 # the music's duck under speech (0: off)
    duck_add: tuple = ()                  # ((start, end) s, ...) ducked though no speech is found
    duck_remove: tuple = ()               # ((start, end) s, ...) never ducked
    loudness: float = -14.0               # the delivery's loudness target (LUFS)


@dataclass
class Change:
    """What an edit changed: seconds [start, end) of `what` ('chords', 'splits', 'locks',
    'targets', 'dynamics', 'takes', 'settings'; and the settings that change no note: 'gain',
    'level'); a whole-piece change spans the whole video."""
    what: str
    start: int
    end: int


# --------------------------------------------------------------------------------------------- #
# the project

@dataclass
class Project:
    video: VideoRef
    settings: Settings
    tokens: np.ndarray                     # [T] chord token per second, in the piece's key
    key_root: int
    mode: int
    locks: set[int] = field(default_factory=set)
    targets: list[Target] = field(default_factory=list)
    dynamics: dict[str, dict[int, float]] = field(default_factory=lambda: {"density": {}, "loudness": {}})
    takes: list[Takes] = field(default_factory=list)
    splits: set[int] = field(default_factory=set)   # seconds where a block starts, the chord kept
    notes: NoteEdits = field(default_factory=NoteEdits)     # the user's note edits (immutable)
    path: Path | None = None               # where it was last saved or opened
    listeners: list[Callable[[Change], None]] = field(default_factory=list, repr=False, compare=False)

    def copy(self) -> Project:
        """An independent copy of the project's state, without listeners (what a worker reads
        while the user edits on)."""
        return dataclasses.replace(
            self, video=dataclasses.replace(self.video), settings=dataclasses.replace(self.settings),
            tokens=self.tokens.copy(), locks=set(self.locks),
            targets=[dataclasses.replace(t) for t in self.targets],
            dynamics={k: dict(v) for k, v in self.dynamics.items()},
            takes=[t.copy() for t in self.takes],
            splits=set(self.splits), listeners=[])

    # -- queries
    @property
    def seconds(self) -> int:
        return len(self.tokens)

    @property
    def key_name(self) -> str:
        return key_name(self.key_root, self.mode)

    def symbol(self, token: int) -> str:
        """A chord as musicians write it in the piece's key (Bbsus2 in F major, not A#sus2): the
        app, `v2m show` and the .v2m file spell it alike."""
        return chord_symbol(int(token), flat_key(self.key_root, self.mode))

    def blocks(self) -> list[tuple[int, int, int]]:
        """The chord blocks: runs of one chord, a run cut in two at each split; (start, end,
        token), end exclusive."""
        out: list[tuple[int, int, int]] = []
        for s, t in enumerate(self.tokens.tolist()):
            if out and out[-1][2] == t and s not in self.splits:
                out[-1] = (out[-1][0], s + 1, t)
            else:
                out.append((s, s + 1, t))
        return out

    def check_range(self, start: int, end: int) -> tuple[int, int]:
        start, end = int(start), int(end)
        if not 0 <= start < end <= self.seconds:
            raise V2MError(f"the range {start}-{end} s is outside the video's {self.seconds} s")
        return start, end

    def takes_of(self, start: int, end: int) -> Takes | None:
        return next((t for t in self.takes if (t.start, t.end) == (start, end)), None)

    # -- change notification
    def changed(self, what: str, start: int = 0, end: int | None = None) -> None:
        change = Change(what, int(start), self.seconds if end is None else int(end))
        for fn in list(self.listeners):
            fn(change)

    # -- comparison (undo exactness is checked with it)
    def state(self) -> dict:
        """Everything the file keeps, as plain data."""
        return to_dict(self)

    # -- files
    def save(self, path: Path | None = None) -> Path:
        """Write the .v2m atomically (temporary file in the same folder, flush, fsync, rename);
        never touches the video."""
        from v2m_desktop.core.files import atomic_output, output_set
        path = check_save_path(path or self.path or "", Path(self.video.path))
        data = json.dumps(to_dict(self), indent=1, ensure_ascii=False).encode("utf-8")
        with _saving(path) as expected:
            if expected is not None and _digest_of(path) != expected:
                raise Conflict(f"{path.name} was changed by another program since it was opened "
                               "(open it again, or save under another name)")
            with output_set():          # its own set: renamed while the lock is held
                with atomic_output(path) as tmp:
                    with open(tmp, "wb") as f:
                        f.write(data)
                        f.flush()
                        os.fsync(f.fileno())
            _seen(path, data)
        self.path = path
        return path


class Conflict(V2MError):
    """The file changed on disk since this process read or wrote it: saving would lose that."""


# Compare-and-swap on save: the digest of each project file as this process last read or wrote
# it. A save checks the file still holds that, under a lock on the folder (every v2m saving there
# waits its turn), so two `v2m edit`s, or the app and the command line, never lose an edit.
_digests: dict[str, bytes] = {}


def _key_of(path: Path) -> str:
    try:
        return str(Path(path).resolve())
    except (OSError, RuntimeError):
        return os.path.abspath(path)


def _seen(path: Path, raw: bytes) -> None:
    _digests[_key_of(path)] = hashlib.blake2b(raw, digest_size=16).digest()


def _digest_of(path: Path) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return hashlib.blake2b(f.read(), digest_size=16).digest()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise V2MError(f"cannot read {path}: {e.strerror or e}") from None


@contextlib.contextmanager
def _saving(path: Path) -> Iterator[bytes | None]:
    """An exclusive lock on the project's folder (flock; a no-op where there is none), yielding
    the digest the file must still have (None: no check: never read here)."""
    expected = _digests.get(_key_of(path))
    try:
        import fcntl
    except ImportError:         # Windows: the check without the lock
        yield expected
        return
    try:
        fd = os.open(Path(path).parent, os.O_RDONLY)
    except OSError:
        yield expected          # the save's own error says what is wrong with the folder
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield expected
    finally:
        os.close(fd)            # releases the lock


def check_save_path(path: Path | str, *others: Path | None) -> Path:
    """Where a project may be saved: a name ending in .v2m, a regular file or nothing (never a
    pipe or a device), not the video nor any of `others` (the run's other outputs); V2MError
    otherwise. Creates nothing, so callers check it before any work."""
    from v2m_desktop.core.files import check_output
    path = Path(path)
    if not path.name:
        raise V2MError("give the project a file name")
    if path.suffix.lower() != SUFFIX:
        raise V2MError(f"a project file ends in {SUFFIX}, not {path.name!r}")
    return check_output(path, *others)


# --------------------------------------------------------------------------------------------- #
# the file format

def to_dict(p: Project) -> dict:
    from v2m_desktop import __version__
    return {
        "format": FORMAT, "program": f"v2m-desktop {__version__}",
        "video": dataclasses.asdict(p.video),
        "settings": {**dataclasses.asdict(p.settings), "instruments": list(p.settings.instruments)},
        "key": p.key_name,
        "chords": [p.symbol(t) for t in p.tokens],
        "locks": _ranges(sorted(p.locks)),
        "splits": sorted(int(s) for s in p.splits),     # optional (absent: none); older programs ignore it
        "targets": [dataclasses.asdict(t) for t in p.targets],
        "dynamics": {k: {str(s): float(v) for s, v in sorted(d.items())} for k, d in p.dynamics.items()},
        "takes": [{"start": t.start, "end": t.end, "current": t.current,
                   "takes": [[p.symbol(x) for x in take] for take in t.takes],
                   **({"notes": [edits_to_dict(t.notes_of(i)) for i in range(len(t.takes))]}
                      if any(len(n) for n in t.notes) else {})} for t in p.takes],
        "notes": edits_to_dict(p.notes),
    }


def _ranges(seconds: list[int]) -> list[list[int]]:
    """[1, 2, 3, 7] -> [[1, 4], [7, 8]] (half-open)."""
    out: list[list[int]] = []
    for s in seconds:
        if out and out[-1][1] == s:
            out[-1][1] = s + 1
        else:
            out.append([s, s + 1])
    return out


# One step per format number: MIGRATIONS[n] turns a format-n dict into a format-(n+1) one, so files
# of every earlier format keep opening.
MIGRATIONS: dict[int, Callable[[dict], dict]] = {
    1: lambda d: {**d, "notes": {"removed": [], "added": []}},     # 2 adds the note edits
}


def migrate(d: dict) -> dict:
    fmt = d.get("format")
    if not isinstance(fmt, int) or fmt < 1:
        raise V2MError("not a v2m project (no format number)")
    if fmt > FORMAT:
        raise V2MError(f"this project was written by a newer v2m-desktop (format {fmt}; this version "
                       f"reads up to {FORMAT}): update v2m-desktop to open it")
    while fmt < FORMAT:
        d = MIGRATIONS[fmt](d)
        fmt = d["format"] = fmt + 1
    return d


def from_dict(d: dict, path: Path | None = None) -> Project:
    """A project from its file's data, every value checked against the file's schema
    (core.project_file); V2MError names the first bad field in one line."""
    from v2m_desktop.core.project_file import check
    name = path.name if path is not None else "the project"
    if not isinstance(d, dict):
        raise V2MError(f"{name} is not a v2m project")
    try:
        d = migrate(d)
    except V2MError as e:
        raise V2MError(f"{name}: {e}") from None
    m = check(d, name)
    s = m.settings.model_dump()
    settings = Settings(**{**s, "instruments": tuple(s["instruments"]),
                           **{k: tuple((a, b) for a, b in s[k]) for k in ("duck_add", "duck_remove")},
                           "style_ranges": tuple(tuple(r) for r in s["style_ranges"])})
    from v2m_desktop.core.arrange.styles import check_ranges, parse_style
    try:        # a style is read from the styles' own files: checked by them
        settings.style = parse_style(settings.style)
        settings.style_ranges = check_ranges(settings.style_ranges, m.video.seconds)
    except V2MError as e:
        raise V2MError(f"{name}: settings: {e}") from None
    key_root, mode = _key(m.key)
    tokens = np.array([_token(c) for c in m.chords], dtype=np.int64)
    locks = {sec for a, b in m.locks for sec in range(a, b)}
    targets = [Target(**t.model_dump()) for t in m.targets]
    dyn = {k: {int(s): v for s, v in getattr(m.dynamics, k).items()} for k in ("density", "loudness")}
    takes = [Takes(t.start, t.end, [[_token(c) for c in take] for take in t.takes], t.current,
                   [edits_from_dict(n.model_dump()) for n in t.notes or ()]) for t in m.takes]
    return Project(VideoRef(**m.video.model_dump()), settings, tokens, key_root, mode, locks, targets,
                   dyn, takes, set(m.splits), edits_from_dict(m.notes.model_dump()), path)


@functools.lru_cache(maxsize=4096)
def _token(symbol: str) -> int:
    from v2m_desktop.core.chords import chord_id
    if symbol == "N":
        return 0
    root, quality = parse_chord_symbol(str(symbol))
    return chord_id(root, quality)


def _key(text: str) -> tuple[int, int]:
    from v2m_desktop.core.chords import parse_key
    return parse_key(str(text))


def validate(p: Project) -> None:
    """The project as its file would hold it, checked against the file's schema: chords in the
    vocabulary, seconds inside the video, known emotions, every setting in range."""
    from v2m_desktop.core.project_file import check
    if ((p.tokens < 0) | (p.tokens >= N_CHORDS)).any():
        raise V2MError("the project has a chord outside the vocabulary")
    check(json.loads(json.dumps(to_dict(p))))        # as the file holds it (tuples as lists)


def open_project(path: Path, video: Path | None = None) -> Project:
    """Read a .v2m file.  A corrupt, newer or out-of-range file fails with one line and changes
    nothing.  When the video is no longer where the project says, `video` points at its new
    place: accepted when its fingerprint matches (a different video is refused)."""
    path = Path(path)
    d, raw = _read_json(path)
    p = from_dict(d, path)
    where = relink(p, video)
    if where != p.video.path:       # the video's new place: the project as it now is, made anew
        p = dataclasses.replace(p, video=dataclasses.replace(p.video, path=where))
    _seen(path, raw)
    return p


def _read_json(path: Path) -> tuple[dict, bytes]:
    """The JSON object in `path` and the file's bytes: a regular file of at most MAX_BYTES, not
    nested too deep; V2MError (one line) otherwise."""
    from v2m_desktop.core.files import read_regular
    raw = read_regular(Path(path), MAX_BYTES, "project")
    name = Path(path).name
    try:
        d = json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise V2MError(f"{name} is not a v2m project (nested too deep)") from None
    except (UnicodeDecodeError, ValueError):
        raise V2MError(f"{name} is not a v2m project (not JSON) or is damaged") from None
    if not isinstance(d, dict):
        raise V2MError(f"{name} is not a v2m project")
    return d, raw


class VideoMissing(V2MError):
    """The project's video is not where the project (or the caller) says: ask for its new place.
    `video`: where it was looked for; `what`: the sentence without the command line's hint."""

    def __init__(self, video: str):
        self.video = video
        self.what = f"the project's video is missing: {video}"
        super().__init__(f"{self.what} (moved? give its new place with --video)")


def relink(p: Project, video: Path | None = None) -> str:
    """Check the project's video is there and is the same video; `video`: its new place.
    Returns where it is."""
    where = Path(video) if video is not None else Path(p.video.path)
    if not where.is_file():
        raise VideoMissing(p.video.path)
    try:
        same = fingerprint(where) == p.video.fingerprint
    except OSError as e:
        raise V2MError(f"cannot read {where}: {e.strerror or e}") from None
    if not same:
        raise V2MError(f"{where} is not the project's video (its content differs)")
    return str(where)


# --------------------------------------------------------------------------------------------- #
# recovery

def recovery_dir() -> Path:
    env = os.environ.get("V2M_RECOVERY_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "v2m-desktop" / "recovery"


def _recovery_file(p: Project) -> Path:
    ident = str(p.path.resolve()) if p.path else f"unsaved:{p.video.fingerprint}"
    return recovery_dir() / (hashlib.sha1(ident.encode()).hexdigest()[:16] + SUFFIX)


def autosave(p: Project) -> Path:
    """A recovery copy beside the user's data (never over the project itself)."""
    from v2m_desktop.core.files import atomic_output
    f = _recovery_file(p)
    f.parent.mkdir(parents=True, exist_ok=True)
    d = to_dict(p)
    d["recovery_of"] = str(p.path) if p.path else None
    with atomic_output(f) as tmp:
        tmp.write_text(json.dumps(d), encoding="utf-8")
    return f


def recoverable() -> list[tuple[Path, str | None]]:
    """Recovery copies newer than their saved project: (copy, the project it belongs to)."""
    out = []
    folder = recovery_dir()
    for f in sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []:
        try:
            of = json.loads(f.read_text(encoding="utf-8")).get("recovery_of")
        except (OSError, ValueError):
            continue
        if of is None or not Path(of).is_file() or Path(of).stat().st_mtime < f.stat().st_mtime:
            out.append((f, of))
    return out


def saved_cleanly(p: Project) -> None:
    """After a clean save: its recovery copies are not needed any more."""
    for f in {_recovery_file(p), recovery_dir() / (hashlib.sha1(
            f"unsaved:{p.video.fingerprint}".encode()).hexdigest()[:16] + SUFFIX)}:
        f.unlink(missing_ok=True)
