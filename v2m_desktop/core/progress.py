"""One protocol for long work, everywhere in the core: the work calls `progress(stage,
fraction)` often (fraction 0..1 within the stage), and the caller stops it by raising
`Cancelled` from that call.  `Cancellable` is a caller's side with a cancel flag (a Cancel button: the
next report raises)."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

from v2m_desktop.core.errors import Cancelled

Progress = Callable[[str, float], None]


def report(progress: Progress | None, stage: str, fraction: float) -> None:
    """progress(stage, fraction) when there is one (it may raise Cancelled)."""
    if progress is not None:
        progress(stage, fraction)


class Cancellable:
    """A Progress with a cancel flag: after cancel(), the work's next report raises Cancelled.
    `on_progress(stage, fraction)` hears every report before that."""

    def __init__(self, on_progress: Progress | None = None):
        self.on_progress = on_progress
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def __call__(self, stage: str, fraction: float) -> None:
        if self._cancelled.is_set():
            raise Cancelled()
        if self.on_progress is not None:
            self.on_progress(stage, fraction)


class Run:
    """A run's stage bookkeeping: each stage timed, its start and end reported by the one
    protocol (a report may raise Cancelled)."""

    def __init__(self, progress: Progress | None):
        self.progress = progress
        self.timings: dict[str, float] = {}

    def report(self, stage: str, fraction: float) -> None:
        report(self.progress, stage, fraction)

    def stage(self, name: str, fn, *args, **kwargs):
        self.report(name, 0.0)
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        self.timings[name] = time.perf_counter() - t0
        self.report(name, 1.0)
        return out
