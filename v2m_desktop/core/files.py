"""Writing files safely and finding ffmpeg: shared by every stage that touches the disk.

Every output is written to a temporary file next to it and renamed into place. Several outputs
of one run form an `OutputSet`: all are renamed when all are written, none otherwise, and the
folders the run made go too. The temporary files and folders are registered with `cleanup`.
"""
from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Literal, overload

from v2m_desktop.core import cleanup
from v2m_desktop.core.errors import Cancelled, V2MError


@overload
def ffmpeg_exe(required: Literal[True] = ...) -> str: ...
@overload
def ffmpeg_exe(required: bool) -> str | None: ...
def ffmpeg_exe(required: bool = True) -> str | None:
    """moviepy's ffmpeg (imageio-ffmpeg's bundled binary), else the system's; without one,
    V2MError when `required`, else None."""
    try:
        import imageio_ffmpeg
        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:  # noqa: BLE001 - no bundled binary for this platform
        exe = shutil.which("ffmpeg")
    if exe is None and required:
        raise V2MError("ffmpeg not found: pip install imageio-ffmpeg (or apt-get install ffmpeg)")
    return exe


def same_file(a: Path, b: Path) -> bool:
    """Do `a` and `b` name one file: the same resolved path (symlinks, './', '..'), the same
    existing file (hard links), or names that differ only in case or Unicode form in a folder
    whose file system does not tell them apart?"""
    try:
        ra, rb = Path(a).resolve(), Path(b).resolve()
        if ra == rb:
            return True
        if ra.exists() and rb.exists():
            return os.path.samefile(ra, rb)
        if ra.name == rb.name or _folded(ra.name) != _folded(rb.name):
            return False
        if ra.parent != rb.parent and not (ra.parent.exists() and rb.parent.exists()
                                           and os.path.samefile(ra.parent, rb.parent)):
            return False
        return _folder_folds(ra.parent, ra.name, rb.name)
    except (OSError, RuntimeError):     # RuntimeError: a symbolic-link loop (Python < 3.13)
        return False


def _folded(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


def _folder_folds(folder: Path, a: str, b: str) -> bool:
    """Whether `folder` takes names `a` and `b` (equal once case-folded and normalised) for one
    file: a probe file is looked up under a name that differs the same way."""
    probes = []
    if unicodedata.normalize("NFC", a) != unicodedata.normalize("NFC", b):
        probes.append(("x", "X"))                       # they differ in case
    if a.casefold() != b.casefold():
        probes.append(("\u00e9", "e\u0301"))            # in Unicode form (NFC, NFD)
    return all(_same_name(folder, x, y) for x, y in probes)


def _same_name(folder: Path, x: str, y: str) -> bool:
    tag = cleanup.temp_tag(".part")
    probe = folder / f".v2m-probe-{x}{tag}"
    try:
        os.close(os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except OSError:
        return True             # cannot tell: take them for one file (refusing is the safe side)
    try:
        return (folder / f".v2m-probe-{y}{tag}").exists()
    finally:
        probe.unlink(missing_ok=True)


def os_reason(e: OSError) -> str:
    """An OSError's reason as a message says it (ELOOP's own text is obscure)."""
    if e.errno == errno.ELOOP:
        return "a loop of symbolic links"
    return e.strerror or str(e)


def check_output(out: Path, *inputs: Path | None) -> Path:
    """`out` as a Path; V2MError when it is one of the inputs (same path or same file), a
    folder, or anything but a regular file or nothing (a FIFO, a device, a socket: writing
    there would block or go nowhere), or a symbolic-link loop."""
    out = Path(out)
    for src in inputs:
        if src is not None and same_file(out, Path(src)):
            raise V2MError(f"the output {out} is the input file; choose another name")
    try:
        mode = os.stat(out).st_mode
    except FileNotFoundError:
        return out
    except OSError as e:
        raise V2MError(f"cannot write {out}: {os_reason(e)}") from None
    if stat.S_ISDIR(mode):
        raise V2MError(f"the output {out} is a folder; give a file name")
    if not stat.S_ISREG(mode):
        raise V2MError(f"the output {out} is not a regular file (a pipe or a device); give a file name")
    return out


def read_regular(path: Path, limit: int, what: str = "file") -> bytes:
    """The bytes of `path`, a regular file of at most `limit` bytes; V2MError (one line) for a
    missing file, a folder, a FIFO or a device (opened without blocking, never read), a
    symbolic-link loop, or a file too large."""
    path = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise V2MError(f"{what} not found: {path}") from None
    except IsADirectoryError:
        raise V2MError(f"the {what} {path} is a folder") from None
    except OSError as e:
        raise V2MError(f"cannot read the {what} {path}: {os_reason(e)}") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise V2MError(f"the {what} {path} is a folder")
        if not stat.S_ISREG(st.st_mode):
            raise V2MError(f"the {what} {path} is not a regular file (a pipe or a device)")
        if st.st_size > limit:
            raise V2MError(f"the {what} {path} is too large ({st.st_size / 2**20:.0f} MiB; "
                           f"at most {limit / 2**20:.0f} MiB)")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:        # it grew while read
            raise V2MError(f"the {what} {path} is too large (at most {limit / 2**20:.0f} MiB)")
        return b"".join(chunks)
    except OSError as e:
        raise V2MError(f"cannot read the {what} {path}: {os_reason(e)}") from None
    finally:
        os.close(fd)


def media_url(path: str | os.PathLike[str]) -> str:
    """`path` as ffmpeg and ffprobe must read it: a `file:` URL of its absolute path, so a name
    such as '-report' or 'concat:a.mp4' is only a name, never an option or a protocol."""
    return "file:" + os.path.abspath(os.fspath(path))


def check_writable(out: Path, *inputs: Path | None) -> Path:
    """check_output, and a file can be made in its folder: fails now, not after the work."""
    out = check_output(out, *inputs)
    check_folder_writable(out.parent)
    return out


def check_folder_writable(folder: Path) -> None:
    """V2MError unless a file can be made in `folder` (missing, a file, read-only, ...)."""
    cleanup.remove(temp_next_to(Path(folder) / "probe"))


def creatable_folder(folder: Path, what: str = "folder") -> None:
    """V2MError unless `folder` exists or can be made: its nearest existing ancestor is a
    folder where files can be made. Makes nothing."""
    folder = Path(folder)
    if folder.is_dir():
        return check_folder_writable(folder)
    for parent in (folder, *folder.parents):
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise V2MError(f"cannot create the {what} {folder}: {parent} is a file")
            return check_folder_writable(parent)
    raise V2MError(f"cannot create the {what} {folder}")


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        return 255


def _cut(name: str, limit: int) -> str:
    """`name` cut to at most `limit` bytes on disk, on a character boundary."""
    while len(os.fsencode(name)) > max(0, limit):
        name = name[:-1]
    return name


def new_temp(folder: Path, name: str, suffix: str = ".part") -> Path:
    """Create a new empty hidden file '.NAME.v2m-PID-RANDOM.SUFFIX' in `folder` (NAME cut so the
    whole fits the folder's name limit) and register it with cleanup; first, stale ones a killed
    run left there are swept. V2MError when the folder is missing or not writable."""
    folder = Path(folder)
    if not folder.exists():
        raise V2MError(f"output folder does not exist: {folder}")
    if not folder.is_dir():
        raise V2MError(f"cannot write to the folder {folder}: it is a file")
    cleanup.sweep(folder)
    for _ in range(100):
        tag = cleanup.temp_tag(suffix)
        tmp = folder / f".{_cut(name, _name_max(folder) - 1 - len(tag))}{tag}"
        try:
            with cleanup.signals_deferred():       # never a file made but not registered
                os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
                cleanup.track(tmp)
            return tmp
        except FileExistsError:
            continue
        except OSError as e:
            raise V2MError(f"cannot write to the folder {folder}: {e.strerror or e}") from None
    raise V2MError(f"cannot create a temporary file in {folder}")


def temp_next_to(out: Path, suffix: str = ".part") -> Path:
    """A new temporary file next to `out` (see new_temp)."""
    out = Path(out)
    return new_temp(out.parent, out.name, suffix)


@contextmanager
def scratch_file(suffix: str) -> Iterator[Path]:
    """A temporary file in the temporary folder (TMPDIR), removed when the block ends. An
    OSError inside the block is reported as the temporary folder's problem."""
    folder = Path(tempfile.gettempdir())
    path = new_temp(folder, "v2m", suffix)
    try:
        yield path
    except OSError as e:
        raise V2MError(f"cannot write a temporary file in {folder}: {e.strerror or e} "
                       "(free some space there, or set TMPDIR to another folder)") from None
    finally:
        cleanup.remove(path)


_current: ContextVar[OutputSet | None] = ContextVar("v2m_output_set", default=None)


class OutputSet:
    """Outputs written all or nothing: inside `with OutputSet():` (or `output_set()`) each
    `atomic_output` of this thread writes its temporary file and leaves it there; when the block
    ends normally they are all renamed into place at once, otherwise they are all removed, with
    the folders that `folder()` made."""

    def __init__(self):
        self._files: list[tuple[Path, Path]] = []      # (temporary, final)
        self._folders: list[Path] = []                 # made by this set, outermost first
        self._token = None

    def __enter__(self) -> OutputSet:
        self._token = _current.set(self)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        _current.reset(self._token)
        if exc_type is not None:
            self.abort()
            return
        try:
            self.commit()
        except BaseException:
            self.abort()
            raise

    def temp(self, path: Path) -> Path:
        tmp = temp_next_to(path)
        self._files.append((tmp, Path(path)))
        return tmp

    def folder(self, path: Path) -> Path:
        """Make `path` and its missing parents; they are removed again if the set fails."""
        path = Path(path)
        missing = [p for p in (path, *path.parents) if not p.exists()][::-1]
        for p in missing:
            try:
                with cleanup.signals_deferred():
                    p.mkdir()
                    cleanup.track(p, folder=True)
            except FileExistsError:
                continue
            except OSError as e:
                raise V2MError(f"cannot create the folder {path}: {e.strerror or e}") from None
            self._folders.append(p)
        if not path.is_dir():
            raise V2MError(f"cannot create the folder {path}: it is a file")
        return path

    def commit(self) -> None:
        """Rename every temporary file into place (no signal can stop it half-way)."""
        with cleanup.signals_deferred():
            if not all(cleanup.tracked(tmp) for tmp, _ in self._files):
                raise Cancelled()       # clean_up() (another thread) removed one: a job abandoned
            for tmp, final in self._files:
                try:
                    os.replace(tmp, final)
                except OSError as e:
                    raise V2MError(f"cannot write {final}: {e.strerror or e}") from None
                cleanup.untrack(tmp)
            for p in self._folders:
                cleanup.untrack(p)
            self._files, self._folders = [], []

    def abort(self) -> None:
        for tmp, _ in self._files:
            cleanup.remove(tmp)
        for p in reversed(self._folders):
            cleanup.remove(p, folder=True)
        self._files, self._folders = [], []


@contextmanager
def output_set() -> Iterator[OutputSet]:
    """The OutputSet open in this thread, or a new one for the block: outputs written inside
    join the outermost set, so a run's outputs are all renamed into place together."""
    outputs = _current.get()
    if outputs is not None:
        yield outputs
        return
    with OutputSet() as outputs:
        yield outputs


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to `path`, to be written; it replaces `path` in one step when
    its OutputSet ends (output_set), and is removed on any failure, so a reader never sees half
    a file and an old file survives."""
    path = Path(path)
    with output_set() as outputs:
        tmp = outputs.temp(path)
        try:
            yield tmp
        except OSError as e:
            raise V2MError(f"cannot write {path}: {e.strerror or e}") from None
