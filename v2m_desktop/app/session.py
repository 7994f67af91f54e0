"""The one adapter between the window and the core: it holds the open video and its score, runs
the core's long jobs on a Worker, and tells the window what changed through Qt signals.

Today it drives `pipeline.score()` and `export_score()`; the core's Project replaces them when it
lands.  The core (and torch) is imported on the worker's thread, never at start-up."""
from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack

from v2m_desktop.app.settings import AppSettings
from v2m_desktop.app.timeline.models import LaneModels
from v2m_desktop.app.worker import Worker

log = logging.getLogger("v2m_desktop.app")

STABLE = ("empty", "ready", "scored")     # states a finished or cancelled job returns to


@dataclass
class Scored:
    """What a generation (or an opened project) hands the window."""
    score: object           # core.pipeline.Score
    timeline: object        # core.timeline.TimelineData
    soundtrack: object      # core.playback.Soundtrack
    seed: int
    project: object = None  # core.project.Project: what Save keeps


def _scored(result, project, video: Path, level: float, seed: int, progress) -> Scored:
    """A score ready for the window: its timeline data and the sound for playback."""
    from v2m_desktop.core.playback import Soundtrack
    from v2m_desktop.core.timeline import from_score
    progress("prepare playback", 0.0)
    sound = Soundtrack.for_video(result.audio, result.sample_rate, video, result.analysis.info.duration,
                                 result.analysis.info.has_audio, level)
    return Scored(result, from_score(result, project), sound, seed, project)


class Session(QObject):
    stateChanged = Signal(str)
    progress = Signal(str, float)
    videoOpened = Signal(object)        # core VideoInfo
    analysed = Signal()
    scored = Signal(object)             # Scored
    exported = Signal(dict)             # {kind: path or [paths]}
    failed = Signal(str, str, bool)     # title, message, unexpected
    cancelled = Signal()
    rendered = Signal(object)           # Scored: the edited project's new music
    projectChanged = Signal(str, int, int)   # what, start, end (seconds) of an edit
    videoMissing = Signal(object, str)  # a project whose video is not where it says: path, message

    RERENDER_MS = 120                   # edits within this time re-render once

    def __init__(self, settings: AppSettings | None = None, parent=None):
        super().__init__(parent)
        self.settings = settings or AppSettings()
        self.lanes = LaneModels(self)
        self.video: Path | None = None
        self.info = None
        self.analysis = None
        self.result: Scored | None = None
        self.state = "empty"
        self.worker: Worker | None = None
        self._stable = "empty"
        self._queued = None             # a job asked for while another was being cancelled
        self._generate_after_analysis = False
        self._pending_seed: int | None = None
        self.undo_stack = QUndoStack(self)
        self._models = None             # loaded by the first re-render or regeneration
        self._render_worker: Worker | None = None
        self._render_again = False
        self._shut = False          # closing: no re-render starts any more
        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.setInterval(self.RERENDER_MS)
        self._render_timer.timeout.connect(self._rerender)

    # -- start-up
    @staticmethod
    def warm_up() -> threading.Thread:
        """Import torch and the core and read the models in the background, so the first
        Generate does not wait for them (the window is already up)."""
        def load():
            try:
                from v2m_desktop.core.model.checkpoint import load_models
                from v2m_desktop.core.scoring import score_video  # noqa: F401 - the import is the work
                load_models()
            except Exception:  # noqa: BLE001 - Generate reports any real problem itself
                log.warning("warm-up failed", exc_info=True)
        thread = threading.Thread(target=load, name="v2m-warm-up", daemon=True)
        thread.start()
        return thread

    # -- state
    @property
    def busy(self) -> bool:
        return self.worker is not None

    def _set_state(self, state: str) -> None:
        if state in STABLE:
            self._stable = state
        self.state = state
        self.stateChanged.emit(state)

    def _run(self, job, name: str, state: str, on_success) -> None:
        if self.worker is not None:           # one job at a time: the new one waits for the old
            self._queued = (job, name, state, on_success)
            if not self.worker.done:
                self.cancel()
            return
        w = Worker(job, name, self)
        w.progress.connect(self.progress)
        w.succeeded.connect(on_success)
        w.failed.connect(lambda msg, bug, name=name: self._failed(name, msg, bug))
        w.cancelled.connect(self.cancelled)
        w.finished.connect(self._finished)
        self.worker = w
        self._set_state(state)
        w.start()

    def _finished(self) -> None:
        w, self.worker = self.worker, None
        if w is not None:
            w.deleteLater()
        queued, self._queued = self._queued, None
        if queued is not None:
            self._run(*queued)
            return
        if self.state not in STABLE:
            self._set_state(self._stable)
        if self._generate_after_analysis and self._stable == "ready":
            self._generate_after_analysis = False
            self.generate(self._pending_seed)

    def _failed(self, name: str, message: str, unexpected: bool) -> None:
        self._generate_after_analysis = False
        titles = {"open": "Cannot open the video", "open project": "Cannot open the project",
                  "analyse": "Cannot analyse the video",
                  "generate": "Generation failed", "export": "Export failed",
                  "regenerate": "Regeneration failed", "render": "Cannot render the edited music"}
        self.failed.emit(titles.get(name, "Error"), message, unexpected)

    def cancel(self) -> None:
        """Stop the running job; the window keeps what it had before the job."""
        self._generate_after_analysis = False
        if self.worker is not None:
            self.worker.cancel()
            if self.state != "cancelling":
                self._set_state("cancelling")

    # -- jobs
    def open_video(self, path) -> None:
        path = Path(path)

        def job(progress):
            from v2m_desktop.core.video.probe import probe
            progress("open", 0.0)
            return probe(path)

        def opened(info):
            self.video, self.info, self.analysis, self.result = path, info, None, None
            self.lanes.show(None)
            self._stable = "ready"
            self.videoOpened.emit(info)
            self._analyse()
        self._run(job, "open", "opening", opened)

    def _score_settings(self, seed: int):
        from v2m_desktop.core.pipeline import ScoreSettings
        s = self.settings
        return ScoreSettings.build(clip_model=s.clip_folder, device=s.device, soundfont=s.soundfont,
                                   seed=seed, instruments=s.instruments)

    def _analyse(self) -> None:
        video, clip = self.video, self.settings.clip_folder or None

        def job(progress):
            from v2m_desktop.core.timeline import from_analysis
            from v2m_desktop.core.video.analysis import analyse
            a = analyse(video, "auto", clip_model=clip, progress=progress)
            return a, from_analysis(a)

        def done(res):
            if video != self.video:
                return
            self.analysis = res[0]
            self.lanes.show(res[1])
            self.analysed.emit()
        self._run(job, "analyse", "analysing", done)

    def generate(self, seed: int | None = None) -> None:
        """Analyse (cached), compose, arrange and render; the lanes and the player get the result."""
        if self.state in ("opening", "analysing"):
            self._generate_after_analysis, self._pending_seed = True, seed
            return
        if self.video is None:
            return
        video = self.video
        seed = random.randrange(1 << 20) if seed is None else int(seed)
        level = self.settings.original_level

        def job(progress):
            from v2m_desktop.core.scoring import score_video
            settings = self._score_settings(seed)
            result = score_video(video, settings, progress=progress)
            project = result.project
            project.settings.original_level = level
            return _scored(result, project, video, level, seed, progress)

        def done(res: Scored):
            if video != self.video:
                return
            self._show(res)
        self._run(job, "generate", "generating", done)

    def _show(self, res: Scored) -> None:
        self.result, self.analysis = res, res.score.analysis
        self._stable = "scored"
        self.undo_stack.clear()
        if res.project is not None:
            res.project.listeners.append(self._project_changed)
        self.lanes.show(res.timeline)
        self.scored.emit(res)

    # -- editing: every edit an undoable command; the music re-rendered in the background
    def apply(self, edit, text: str, engine=None) -> bool:
        """Push a core edit as one undoable command; a refused edit shows its one line."""
        from v2m_desktop.app.commands import EditCommand
        from v2m_desktop.core.errors import V2MError
        if self.project is None:
            return False
        try:
            inverse = edit.apply(self.project, engine)
        except V2MError as err:         # refused: nothing changed, nothing on the stack
            self.failed.emit("Cannot edit", str(err), False)
            return False
        self.undo_stack.push(EditCommand(self.project, inverse, text))
        return True

    def _project_changed(self, change) -> None:
        self.projectChanged.emit(change.what, change.start, change.end)
        if not self._shut:
            self._render_timer.start()

    def _snapshot(self):
        from v2m_desktop.core.project import from_dict, to_dict
        p = self.project
        return from_dict(to_dict(p), p.path)

    def _engine(self, project, progress=None):
        """An Engine over a snapshot of the project, sharing the analysis and the models (the GUI
        thread keeps editing the project itself while a worker reads the snapshot)."""
        from v2m_desktop.core.engine import Engine
        engine = Engine(project, analysis=self.analysis, models=self._models, device=self.settings.device,
                        progress=progress)
        return engine

    def _rerender(self) -> None:
        if self.project is None or self._shut:
            return
        if self._render_worker is not None:
            self._render_again = True
            return
        snapshot, level = self._snapshot(), self.settings.original_level
        seed, before = self.result.seed, self.result.score

        def job(progress):
            engine = self._engine(snapshot, progress)
            result = engine.update(before)          # only the seconds the edits touched
            self._models = engine.models
            return _scored(result, snapshot, Path(snapshot.video.path), level, seed, progress)

        def done(res: Scored):
            live = self.project.settings
            if live.gain is None and live.soundfont == snapshot.settings.soundfont:
                live.gain = snapshot.settings.gain      # fixed by the first render (of this SoundFont)
            res.project = self.project          # the live project, not the snapshot
            self.result = res
            self.lanes.show(res.timeline)
            self.rendered.emit(res)

        def finished():
            self._render_worker = None
            if self._render_again:
                self._render_again = False
                self._rerender()
        w = Worker(job, "re-render", self)
        w.succeeded.connect(done)
        w.failed.connect(lambda msg, bug: self._failed("render", msg, bug))
        w.finished.connect(finished)
        self._render_worker = w
        w.start()

    def regenerate(self, start: int, end: int, seed: int | None = None) -> None:
        """New chords for seconds [start, end) from the model (on the worker), then one undoable
        Regenerate edit with them: a new take of that range."""
        from v2m_desktop.core.edits import Regenerate
        if self.project is None:
            return
        seed = random.randrange(1 << 20) if seed is None else int(seed)
        snapshot = self._snapshot()

        def job(progress):
            progress("regenerate", 0.0)
            engine = self._engine(snapshot, progress)
            tokens = engine.regenerate(start, end, seed)
            self._models = engine.models
            return tokens

        def done(tokens):
            from v2m_desktop.app.commands import Precomputed
            from v2m_desktop.app.timeline.lanes import format_time
            self.apply(Regenerate(start, end, seed), f"Regenerate {format_time(start)}-{format_time(end)}",
                       engine=Precomputed(tokens))
        self._run(job, "regenerate", "generating", done)

    def wait_rendered(self, timeout_ms: int = 30000) -> bool:
        """Block until no re-render is pending or running (tests, closing)."""
        import time

        from PySide6.QtCore import QCoreApplication
        end = time.monotonic() + timeout_ms / 1000
        while self._render_timer.isActive() or self._render_worker is not None:
            if time.monotonic() > end:
                return False
            QCoreApplication.processEvents()
            time.sleep(0.005)
        return True

    @property
    def project(self):
        return None if self.result is None else self.result.project

    def open_project(self, path, video=None) -> None:
        """Open a .v2m project: its video, and its music as edited (the analysis from the cache,
        or made again).  A project whose video moved emits videoMissing (nothing changes); open
        it again with `video`, the video's new place: the same video (by its fingerprint) is
        accepted, another one refused with the core's one line."""
        path = Path(path)
        moved = None if video is None else Path(video)

        def job(progress):
            from v2m_desktop.core.engine import Engine
            from v2m_desktop.core.project import VideoMissing, open_project
            from v2m_desktop.core.video.probe import probe
            progress("open", 0.0)
            try:
                project = open_project(path, moved)
            except VideoMissing as err:
                if moved is not None:
                    raise
                return "missing", err.what
            video = Path(project.video.path)
            info = probe(video)
            engine = Engine(project, device=self.settings.device, progress=progress)
            result = engine.score()
            level = project.settings.original_level
            return info, _scored(result, project, video, level, project.settings.seed, progress)

        def opened(res):
            if res[0] == "missing":             # ask for the video; nothing changes
                self.videoMissing.emit(path, res[1])
                return
            info, scored = res
            self.video, self.info = Path(scored.project.video.path), info
            self.videoOpened.emit(info)
            self._show(scored)
        self._run(job, "open project", "opening", opened)

    def save_project(self, path=None) -> Path | None:
        """Save the project (atomically; the video is never touched).  Fast: on the GUI thread."""
        if self.project is None:
            return None
        from v2m_desktop.core.errors import V2MError
        try:
            saved = self.project.save(path)
            self.undo_stack.setClean()
            return saved
        except V2MError as err:
            self.failed.emit("Cannot save the project", str(err), False)
            return None

    def export(self, outputs) -> None:
        """Write a core.pipeline.Outputs for the current score."""
        if self.result is None or self.video is None:
            return
        video, result = self.video, self.result.score
        soundfont = Path(self.settings.soundfont) if self.settings.soundfont else None

        def job(progress):
            from v2m_desktop.core.pipeline import export_score
            outputs.check(video, tuple(i.name for i in result.arrangement.midi.instruments) or None)
            return export_score(result, video, outputs, soundfont=soundfont, progress=progress)
        self._run(job, "export", "exporting", self.exported.emit)

    def wait(self, timeout_ms: int = 10000) -> bool:
        """Block until the running job and re-render have stopped (for closing the window: a
        QThread destroyed while it runs aborts the process)."""
        return all(w is None or w.wait(timeout_ms) for w in (self.worker, self._render_worker))

    def shut_down(self, timeout_ms: int = 5000) -> None:
        """Closing: cancel the job and the re-render, end their child processes and remove their
        temporary files at once (the core's one clean-up), then wait for their threads."""
        self._shut = True       # a re-render asked for again when the running one ends, stays undone
        self._render_timer.stop()
        if self.worker is None and self._render_worker is None:
            return
        self.cancel()
        if self._render_worker is not None:
            self._render_worker.cancel()
        from v2m_desktop.core.cleanup import clean_up
        clean_up()
        self.wait(timeout_ms)
