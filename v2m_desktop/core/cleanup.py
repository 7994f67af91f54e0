"""Clean-up in one place: the temporary files, the folders and the child processes a run owns,
removed and ended whether the run succeeds, fails, is cancelled or is signalled.

The core registers each temporary path as it makes it (`track`, `untrack` once it is renamed
into place or removed) and starts each child process with `child()`: in its own process group
(a terminal's Ctrl-C or hang-up reaches only v2m, which decides), ended and waited for when its
block exits. Ordinary unwinding (a `finally`, the `Cancelled` of the app's cancel flag, the
`Terminated` of a signal) removes each as it goes; `clean_up()` is the net under it and is
thread-safe, for a caller that abandons a job (the app quitting while its worker runs).

`handling_signals()` (the command line and the batch command) makes SIGTERM and SIGHUP raise
`Terminated` in the main thread, as SIGINT raises KeyboardInterrupt, so the same unwinding runs.
While a few bookkeeping steps must not be cut in two (a child started but not yet registered,
outputs half renamed into place) the signal waits: `signals_deferred()`.

A run killed with SIGKILL cannot clean up. Temporary names carry the owner's process id
(`temp_tag`), and `sweep(folder)` removes those whose owner is gone and that are older than
STALE_S, the next time a run writes to that folder.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
import uuid
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from v2m_desktop.core.errors import Terminated

STALE_S = 300                    # a dead owner's temporary file is removed after 5 minutes
_END_WAIT_S = 5.0                # SIGKILL is immediate; this only bounds the wait for the reaping
_TAG_RE = re.compile(r"\.v2m-(\d+)-[0-9a-f]{8}\.(part|wav|m4a)$")

_lock = threading.RLock()
_paths: dict[Path, bool] = {}            # temporary path -> is a folder (removed only when empty)
_children: set[subprocess.Popen] = set()
_ended: weakref.WeakSet = weakref.WeakSet()   # children end() killed (their failure is ours)
_swept: set[Path] = set()

# signal state (the handler always runs in the main thread)
_defer_depth = 0
_pending: int | None = None
_stopping = False
_SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None),
                             signal.SIGINT) if s is not None)


# --------------------------------------------------------------------------------------------- #
# temporary paths

def temp_tag(suffix: str) -> str:
    """The end of a temporary name: '.v2m-PID-RANDOM' + suffix ('.part', '.wav', '.m4a'); `sweep`
    recognises it and reads the owner from it."""
    return f".v2m-{os.getpid()}-{uuid.uuid4().hex[:8]}{suffix}"


def track(path: Path, *, folder: bool = False) -> Path:
    """Remember a temporary file (or a folder the run made) until `untrack`."""
    with _lock:
        _paths[Path(path)] = folder
    return Path(path)


def untrack(path: Path) -> None:
    with _lock:
        _paths.pop(Path(path), None)


def tracked(path: Path) -> bool:
    """Is `path` still registered (clean_up() has not removed it)?"""
    with _lock:
        return Path(path) in _paths


def remove(path: Path, *, folder: bool | None = None) -> None:
    """Remove a temporary path now (a folder only when empty) and forget it; `folder` None:
    as it was registered."""
    path = Path(path)
    with _lock:
        was_folder = _paths.pop(path, False)
    folder = was_folder if folder is None else folder
    try:
        if folder:
            path.rmdir()
        else:
            path.unlink(missing_ok=True)
    except OSError:
        pass            # a folder someone else has put files in stays, with them


def sweep(folder: Path) -> list[Path]:
    """Remove the temporary files in `folder` whose owner (the pid in the name) is not running
    and that are older than STALE_S; the removed paths. Once per folder per process."""
    folder = Path(folder)
    with _lock:
        if folder in _swept:
            return []
        _swept.add(folder)
    removed: list[Path] = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _TAG_RE.search(entry.name)
        if m is None or not entry.name.startswith("."):
            continue
        try:
            if not entry.is_file(follow_symlinks=False) or now - entry.stat().st_mtime < STALE_S \
                    or _alive(int(m[1])):
                continue
            os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            pass
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":     # Windows' os.kill(pid, 0) would signal it
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True             # someone else's live process: not ours to judge
    return True


# --------------------------------------------------------------------------------------------- #
# child processes

@contextmanager
def child(cmd: list[str], **popen_kwargs) -> Iterator[subprocess.Popen]:
    """A child process in its own process group, registered; when the block exits it is ended
    (if still running: the block failed or was cancelled) and waited for."""
    with signals_deferred():            # never a child that is running but not registered
        proc = subprocess.Popen(cmd, start_new_session=True, **popen_kwargs)
        with _lock:
            _children.add(proc)
    try:
        yield proc
    finally:
        end(proc)


def end(proc: subprocess.Popen) -> None:
    """Kill `proc`'s process group when it is still running, wait for it, close its pipes and
    forget it. Safe to call from any thread, and more than once."""
    if proc.poll() is None:
        with _lock:
            _ended.add(proc)
        try:
            if hasattr(os, "killpg"):
                os.killpg(proc.pid, signal.SIGKILL)    # the output is thrown away: no grace needed
            else:
                proc.kill()
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(_END_WAIT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            try:
                pipe.close()
            except OSError:
                pass
    with _lock:
        _children.discard(proc)


def was_ended(proc: subprocess.Popen) -> bool:
    """Did `end()` (clean-up, cancel) kill it, rather than it failing by itself?"""
    with _lock:
        return proc in _ended


# --------------------------------------------------------------------------------------------- #
# the net

def clean_up() -> None:
    """End every registered child process and remove every registered temporary file and every
    folder a run made (when empty). Thread-safe; for a job that is abandoned (the app closing
    while its worker runs) and as the command line's last step. A job still running then ends
    with Cancelled (its child killed, its outputs not renamed into place) and leaves nothing."""
    with _lock:
        children = list(_children)
        paths = sorted(_paths, key=lambda p: len(p.parts), reverse=True)   # files before folders
    for proc in children:
        end(proc)
    for path in paths:
        remove(path)


# --------------------------------------------------------------------------------------------- #
# signals

@contextmanager
def signals_deferred() -> Iterator[None]:
    """A signal that arrives inside the block is raised when the block ends (main thread only:
    signals are handled there)."""
    global _defer_depth, _pending
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _defer_depth += 1
    try:
        yield
    finally:
        _defer_depth -= 1
        if _defer_depth == 0 and _pending is not None:
            signum, _pending = _pending, None
            _raise(signum)


def _raise(signum: int) -> None:
    global _stopping
    _stopping = True
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(signum)


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    global _pending
    if _stopping:
        return          # already stopping: a second signal must not cut the clean-up short
    if _defer_depth:
        _pending = signum
        return
    _raise(signum)


@contextmanager
def handling_signals(then_ignore: bool = False) -> Iterator[None]:
    """Inside the block SIGTERM and SIGHUP raise Terminated and SIGINT KeyboardInterrupt (at a
    point where the clean-up can run); on the way out everything registered is cleaned up and
    the previous handlers come back, or, with `then_ignore` (a program whose work is over),
    the signals are ignored from then on: one arriving as it exits must not print a traceback
    from the interpreter's shutdown. Outside the main thread it only cleans up."""
    global _stopping, _pending
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for s in _SIGNALS:
            previous[s] = signal.signal(s, _on_signal)
    try:
        yield
    finally:
        _stopping = True            # leaving: a signal now must not cut the clean-up short
        try:
            clean_up()
        finally:
            for s, handler in previous.items():
                signal.signal(s, signal.SIG_IGN if then_ignore else handler)
            _stopping, _pending = False, None


__all__ = ["STALE_S", "child", "clean_up", "end", "handling_signals", "remove", "signals_deferred",
           "sweep", "temp_tag", "track", "tracked", "untrack", "was_ended"]
