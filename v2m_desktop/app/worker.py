"""Long work off the GUI thread: a QThread that runs one core job with the core's one protocol
(core.progress: the job reports progress(stage, fraction), and a report raises Cancelled once
the user has cancelled) and reports back through queued signals."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QThread, Signal

log = logging.getLogger("v2m_desktop.app")

# A task gets the core's progress and returns its result; the core's functions take exactly it.
Task = Callable[[Callable[[str, float], None]], object]


class Worker(QThread):
    """Runs `task` once.  Exactly one of succeeded / failed / cancelled is emitted, then finished."""

    progress = Signal(str, float)
    succeeded = Signal(object)
    failed = Signal(str, bool)          # message, unexpected (a bug: the message names the log)
    cancelled = Signal()

    # Progress reaches the GUI at most this often (per stage), so a chatty job cannot flood it.
    PROGRESS_INTERVAL = 0.05

    def __init__(self, task: Task, name: str = "task", parent=None):
        super().__init__(parent)
        from v2m_desktop.core.progress import Cancellable
        self.task, self.name = task, name
        self._progress = Cancellable(self._report)       # cancel() makes its next report raise
        self._last = ("", -1.0)
        self.done = False               # set before the final signal: a follow-up job need not cancel it

    def cancel(self) -> None:
        self._progress.cancel()

    def is_cancelled(self) -> bool:
        return self._progress.cancelled

    def _report(self, stage: str, fraction: float) -> None:
        now = time.monotonic()
        last_stage, last_time = self._last
        if stage != last_stage or fraction >= 1.0 or now - last_time >= self.PROGRESS_INTERVAL:
            self._last = (stage, now)
            self.progress.emit(stage, float(fraction))

    def run(self) -> None:
        from v2m_desktop.core.errors import Cancelled, V2MError
        try:
            result = self.task(self._progress)
        except Cancelled:
            self._end(self.cancelled.emit)
        except V2MError as err:
            message = str(err)
            self._end(self.cancelled.emit if self.is_cancelled() else
                      lambda: self.failed.emit(message, False))
        except Exception as err:  # noqa: BLE001 - a bug: logged with its traceback, shown with the log's path
            log.exception("unexpected error in %s", self.name)
            message = f"{err.__class__.__name__}: {err}"
            self._end(lambda: self.failed.emit(message, True))
        else:
            self._end(self.cancelled.emit if self.is_cancelled() else lambda: self.succeeded.emit(result))

    def _end(self, emit) -> None:
        self.done = True
        emit()
