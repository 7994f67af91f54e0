"""The one owner of the open video and project: it holds the video's analysis, the project and its
one long-lived Engine, runs the core's long work on Workers, and tells the views what changed
through Qt signals (a project's Change as it happens; its new music when it is rendered).

The core (and torch) is imported on the workers' threads, never at start-up."""
from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack

from v2m_desktop.app.settings import AppSettings
from v2m_desktop.app.timeline.models import LaneModels
from v2m_desktop.app.worker import Worker

if TYPE_CHECKING:
    import numpy as np

    from v2m_desktop.core.edits import Edit
    from v2m_desktop.core.engine import Engine, Score
    from v2m_desktop.core.playback import Soundtrack
    from v2m_desktop.core.project import Change, Project
    from v2m_desktop.core.timeline import TimelineData
    from v2m_desktop.core.video.analysis import Analysis
    from v2m_desktop.core.video.probe import VideoInfo

log = logging.getLogger("v2m_desktop.app")


class State(StrEnum):
    EMPTY = "empty"             # no video
    OPENING = "opening"
    ANALYSING = "analysing"
    READY = "ready"             # a video, analysed, no music yet
    GENERATING = "generating"
    EXPORTING = "exporting"
    CANCELLING = "cancelling"
    EDITING = "editing"         # a project with its music


STABLE = (State.EMPTY, State.READY, State.EDITING)     # what a finished or cancelled job returns to
BUSY_TEXT = {State.OPENING: "Opening", State.ANALYSING: "Analysing the video", State.GENERATING: "Generating",
             State.EXPORTING: "Exporting", State.CANCELLING: "Cancelling"}
FAILURE_TITLES = {"open": "Cannot open the video", "open project": "Cannot open the project",
                  "analyse": "Cannot analyse the video", "generate": "Generation failed",
                  "export": "Export failed", "regenerate": "Regeneration failed",
                  "render": "Cannot render the edited music", "edit": "Cannot edit",
                  "save": "Cannot save the project", "import MIDI": "Cannot import the MIDI file"}


@dataclass
class Music:
    """A project's music as the window shows it: the Score, its timeline and its soundtrack."""
    score: Score
    timeline: TimelineData
    soundtrack: Soundtrack

    @property
    def project(self) -> Project:
        return self.score.project


class Session(QObject):
    stateChanged = Signal(str)
    progress = Signal(str, float)
    videoOpened = Signal(object)        # core VideoInfo
    analysed = Signal()
    projectOpened = Signal(object)      # Music: a new project (Generate, Open Project)
    exported = Signal(dict)             # {kind: path or [paths]}
    failed = Signal(str, str, bool, str)     # title, message, unexpected, the job's name
    cancelled = Signal()
    rendered = Signal(object)           # Music: the edited project's new music
    projectChanged = Signal(str, int, int)   # what, start, end (seconds) of an edit
    notice = Signal(str)                # what a finished job has to say (the status bar)
    renderingChanged = Signal(bool)     # the edited music is being rendered (not yet in the player)
    videoMissing = Signal(object, str)  # a project whose video is not where it says: path, message

    RERENDER_MS = 120                   # edits within this time re-render once
    NOTE_RERENDER_MS = 20               # a note edit (a mouse release): heard sooner; a burst of
                                        # them still renders once more at most (_render_again)

    def __init__(self, settings: AppSettings | None = None, parent=None):
        super().__init__(parent)
        self.settings = settings or AppSettings()
        self.lanes = LaneModels(self)
        self.video: Path | None = None
        self.info: VideoInfo | None = None
        self.analysis: Analysis | None = None
        self.music: Music | None = None
        self.engine: Engine | None = None       # the open project's, long-lived
        self.state = State.EMPTY
        self.worker: Worker | None = None
        self._stable = State.EMPTY
        self._queued = None             # a job asked for while another was being cancelled
        self._generate_after_analysis = False
        self._pending_seed: int | None = None
        self._original: tuple[Path, np.ndarray | None] | None = None   # the video's own sound, decoded once
        self.undo_stack = QUndoStack(self)
        self.seeds = random.Random()    # Generate's and Regenerate's seeds (a test seeds it)
        self._render_worker: Worker | None = None
        self._gain_workers: list[Worker] = []     # loudness gains measured after a local re-render
        self._render_again = False
        self.rendering = False          # an edit's music is on its way to the player
        # the seconds the edits since the last render began touched; None: not only local ones
        self._changed: tuple[int, int] | None = None
        self._changed_any = False
        self._shut = False          # closing: no re-render starts any more
        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.setInterval(self.RERENDER_MS)
        self._render_timer.timeout.connect(self._rerender)

    # -- start-up
    @staticmethod
    def warm_up() -> threading.Thread:
        """Import torch and the core and read the models in the background, so the first
        Generate does not wait for them (the window is already up); the speech detector's
        model too, so the first analysis does not read it beside its decode."""
        def load():
            try:
                from v2m_desktop.core.model.checkpoint import load_models
                from v2m_desktop.core.scoring import score_with_engine  # noqa: F401 - the import is the work
                from v2m_desktop.core.video.speech import load_detector
                load_models()
                load_detector()
            except Exception:  # noqa: BLE001 - Generate reports any real problem itself
                log.warning("warm-up failed", exc_info=True)
        thread = threading.Thread(target=load, name="v2m-warm-up", daemon=True)
        thread.start()
        return thread

    # -- state
    @property
    def busy(self) -> bool:
        return self.worker is not None

    @property
    def project(self) -> Project | None:
        return None if self.music is None else self.music.project

    def _set_state(self, state: State) -> None:
        if state in STABLE:
            self._stable = state
        self.state = state
        self.stateChanged.emit(str(state))

    def _run(self, task, name: str, state: State, on_success) -> None:
        if self.worker is not None:           # one job at a time: the new one waits for the old
            self._queued = (task, name, state, on_success)
            if not self.worker.done:
                self.cancel()
            return
        w = Worker(task, name, self)
        w.progress.connect(self.progress)
        w.succeeded.connect(on_success)
        w.failed.connect(lambda msg, bug, name=name: self._failed(name, msg, bug))
        w.cancelled.connect(self._cancelled)
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
        if self._generate_after_analysis and self._stable == State.READY:
            self._generate_after_analysis = False
            self.generate(self._pending_seed)

    def _cancelled(self) -> None:
        if self._queued is None:        # a job cancelled for the next one asked for: that one runs
            self.cancelled.emit()

    def _failed(self, name: str, message: str, unexpected: bool) -> None:
        self._generate_after_analysis = False
        self.failed.emit(FAILURE_TITLES.get(name, "Error"), message, unexpected, name)

    def cancel(self) -> None:
        """Stop the running job; the window keeps what it had before the job."""
        self._generate_after_analysis = False
        if self.worker is not None:
            self.worker.cancel()
            if self.state != State.CANCELLING:
                self._set_state(State.CANCELLING)

    # -- the video's own sound: decoded once per open video, on a worker
    def _original_sound(self, video: Path, info: VideoInfo, sample_rate: int) -> np.ndarray | None:
        held = self._original
        if held is not None and held[0] == video:
            return held[1]
        from v2m_desktop.core.export import decode_audio
        sound = decode_audio(video, sample_rate, info.duration) if info.has_audio else None
        self._original = (video, sound)
        return sound

    def _music(self, score: Score, info: VideoInfo, progress, gain: float | None = None) -> Music:
        """A score ready for the window: its timeline data and the sound for playback (`gain`:
        the loudness gain to play it at for now; None: measured here)."""
        from v2m_desktop.core.playback import Soundtrack
        from v2m_desktop.core.timeline import from_score
        progress("prepare playback", 0.0)
        p = score.project
        original = self._original_sound(Path(p.video.path), info, score.sample_rate)
        sound = Soundtrack(score.audio, score.sample_rate, original, p.settings.original_level)
        music = Music(score, from_score(score, p), sound)
        self._mix(music, p, gain)
        return music

    @staticmethod
    def _mix(music: Music, p: Project, gain: float | None = None) -> None:
        """Playback as the export mixes it: the original sound at its level, the music ducked
        under its speech (and the user's duck ranges), the whole at the delivery's loudness
        (`gain`: that loudness gain, when known; None: measured)."""
        s, sound = p.settings, music.soundtrack
        sound.level = s.original_level
        sound.duck(Session._duck_spans(music, s), s.duck_db)
        sound.gain = Session._loudness_gain(music, s) if gain is None else gain

    @staticmethod
    def _duck_spans(music: Music, s) -> list:
        from v2m_desktop.core.mix import duck_spans
        return duck_spans(music.score.analysis.speech, s.duck_add, s.duck_remove) if s.duck_db > 0 else []

    @staticmethod
    def _loudness_gain(music: Music, s) -> float:
        """The delivery's gain on this music's mix (core.mix.delivery_gain: 0.2 s on a 56-s
        clip, 0.6 s on a 3-minute one)."""
        from v2m_desktop.core.mix import delivery_gain
        from v2m_desktop.core.pipeline import delivery_aim
        sound = music.soundtrack
        target, calm = delivery_aim(music.score)
        return delivery_gain(sound.music, sound.sample_rate, original=sound.original, level=s.original_level,
                             spans=Session._duck_spans(music, s), duck_db=s.duck_db, aim=target - calm)

    def _measure_gain(self, music: Music) -> None:
        """The loudness gain of a locally re-rendered music, measured on a worker after its audio
        is in the player (it played at the gain before the edit meanwhile: a few notes move
        the integrated loudness by tenths of a dB at most); set when it is still the music."""
        import dataclasses
        settings = dataclasses.replace(music.project.settings)

        def set_gain(gain: float) -> None:
            if self.music is music:
                music.soundtrack.gain = gain

        def finished() -> None:
            self._gain_workers.remove(w)
            w.deleteLater()
        w = Worker(lambda progress: Session._loudness_gain(music, settings), "loudness", self)
        w.succeeded.connect(set_gain)
        w.failed.connect(lambda msg, bug: log.warning("loudness gain: %s", msg))
        w.finished.connect(finished)
        self._gain_workers.append(w)
        w.start()

    # -- jobs
    def open_video(self, path) -> None:
        path = Path(path)

        def task(progress):
            from v2m_desktop.core.video.probe import probe
            progress("open", 0.0)
            return probe(path)

        def opened(info):
            self._close_project()
            self.video, self.info, self.analysis, self._original = path, info, None, None
            self.lanes.show(None)
            self._stable = State.READY
            self.videoOpened.emit(info)
            self._analyse()
        self._run(task, "open", State.OPENING, opened)

    def _score_settings(self, seed: int):
        from v2m_desktop.core.pipeline import ScoreSettings
        s = self.settings
        return ScoreSettings.build(clip_model=s.clip_folder, device=s.device, soundfont=s.soundfont,
                                   seed=seed, instruments=s.instruments)

    def _analyse(self) -> None:
        video, clip = self.video, self.settings.clip_folder or None

        def task(progress):
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
        self._run(task, "analyse", State.ANALYSING, done)

    def generate(self, seed: int | None = None, keep_locks: bool = True) -> None:
        """Compose, arrange and render the video (its analysis the session holds); the lanes and
        the player get the new project's music.  With a project open: new chords for it, one
        undoable command (its locks kept, its targets steering)."""
        if self.state in (State.OPENING, State.ANALYSING):
            self._generate_after_analysis, self._pending_seed = True, seed
            return
        if self.project is not None:
            self._rewrite(seed, keep_locks)
            return
        if self.video is None or self.info is None:
            return
        video, info, analysis = self.video, self.info, self.analysis
        seed = self.seeds.randrange(1 << 20) if seed is None else int(seed)
        level = self.settings.original_level
        settings = self._score_settings(seed)

        def task(progress):
            from v2m_desktop.core.device import pick_device
            from v2m_desktop.core.edits import SetOriginalLevel
            from v2m_desktop.core.model.checkpoint import load_models
            from v2m_desktop.core.scoring import score_with_engine
            models = load_models(settings.chords_model, settings.dynamics_model, pick_device(settings.device))
            engine, score = score_with_engine(video, settings, progress=progress, models=models,
                                              analysis=analysis)
            SetOriginalLevel(level).apply(score.project)    # the new project is nobody else's yet
            return engine, self._music(score, info, progress)

        def done(res):
            if video != self.video:
                return
            self._show(*res)
        self._run(task, "generate", State.GENERATING, done)

    def _show(self, engine: Engine, music: Music) -> None:
        self._close_project()
        self.engine, self.music, self.analysis = engine, music, music.score.analysis
        engine.progress = None
        self._stable = State.EDITING
        music.project.listeners.append(self._project_changed)
        self.lanes.show(music.timeline)
        self.projectOpened.emit(music)

    def _close_project(self) -> None:
        """The open project goes (another video or project opens): its history with it."""
        if self.music is not None:
            listeners = self.music.project.listeners
            if self._project_changed in listeners:
                listeners.remove(self._project_changed)
        self.undo_stack.clear()
        self.music = self.engine = None
        self._render_timer.stop()
        self._changed, self._changed_any = None, False
        if self._render_worker is None:
            self._rendering(False)

    # -- editing: every edit an undoable command; the music re-rendered in the background
    def apply(self, edit: Edit, text: str, engine=None) -> bool:
        """Push a core edit as one undoable command; a refused edit shows its one line."""
        from v2m_desktop.app.commands import EditCommand
        from v2m_desktop.core.errors import V2MError
        if self.project is None:
            return False
        try:
            inverse = edit.apply(self.project, engine)
        except V2MError as err:         # refused: nothing changed, nothing on the stack
            self._failed("edit", str(err), False)
            return False
        self.undo_stack.push(EditCommand(self.project, inverse, text))
        return True

    def _project_changed(self, change: Change) -> None:
        self.projectChanged.emit(change.what, change.start, change.end)
        if change.what in ("notes", "chords") and self.project is not None:
            # the piano-roll and the chord blocks' custom mark show a note edit at once
            from v2m_desktop.core.timeline import mark_custom
            self.lanes.notes.patch(self.project.notes)
            if change.what == "notes":
                self.lanes.chords.update_rows(mark_custom(self.lanes.chords.rows, self.project.notes))
        if change.what in ("chords", "splits", "locks") and self.project is not None:
            # the lane shows the edit at once; the arranged blocks replace it when rendered
            from v2m_desktop.core.timeline import patch_chords
            self.lanes.chords.update_rows(patch_chords(self.lanes.chords.rows, self.project,
                                                       change.start, change.end))
        if change.what == "level" and self.music is not None:     # the level, the ducking
            from v2m_desktop.core.timeline import voice_spans
            p = self.music.project
            self._mix(self.music, p)
            self.lanes.voice.update_rows(voice_spans(self.music.score.analysis.speech, p.settings.duck_add,
                                                     p.settings.duck_remove))
        from v2m_desktop.core.engine import SOUNDLESS_CHANGES, changed_seconds
        if change.what in SOUNDLESS_CHANGES or self._shut:
            return
        span = changed_seconds([change])
        if span is not None and (self._changed is not None or not self._changed_any):
            c = self._changed
            self._changed = span if c is None else (min(c[0], span[0]), max(c[1], span[1]))
        else:
            self._changed = None            # the engine compares the arrangements
        self._changed_any = True
        self._render_timer.start(self.NOTE_RERENDER_MS if change.what == "notes" else self.RERENDER_MS)
        self._rendering(True)

    def _rendering(self, on: bool) -> None:
        if on != self.rendering:
            self.rendering = on
            self.renderingChanged.emit(on)

    def _rerender(self) -> None:
        if self.project is None or self.engine is None or self.music is None or self._shut:
            self._rendering(False)
            return
        if self._render_worker is not None:
            self._render_again = True
            return
        live, engine, before, info = self.project, self.engine, self.music.score, self.info
        state = live.copy()         # the worker reads this while the user edits on
        changed, self._changed, self._changed_any = self._changed, None, False
        # a local edit plays at once at the gain before it; its own is measured after (_measure_gain)
        quick = self.music.soundtrack.gain if changed is not None else None

        def task(progress):
            with engine.reading(state, progress):
                score = engine.update(before, changed)      # only around the seconds the edits touched
            return self._music(score, info, progress, gain=quick)

        def done(music: Music):
            from v2m_desktop.core.edits import SetGain
            if self.project is not live:
                return                              # another project opened meanwhile
            if live.settings.gain is None and live.settings.soundfont == state.settings.soundfont \
                    and music.score.gain is not None:
                SetGain(music.score.gain).apply(live)   # fixed by the first render of this SoundFont
            music.score.project = live          # the live project, not the worker's copy
            self.music = music
            self.lanes.update(music.timeline)
            self.lanes.notes.patch(live.notes)      # note edits made while it rendered, at once
            self.rendered.emit(music)
            if quick is not None and not self._shut:     # (never a thread after closing)
                self._measure_gain(music)

        def finished():
            self._render_worker = None
            if self._render_again:
                self._render_again = False
                self._rerender()
            elif not self._render_timer.isActive():
                self._rendering(False)
        w = Worker(task, "re-render", self)
        w.succeeded.connect(done)
        w.failed.connect(lambda msg, bug: self._render_failed(msg, bug))
        w.finished.connect(finished)
        self._render_worker = w
        w.start()

    def _rewrite(self, seed: int | None, keep_locks: bool = True) -> None:
        """Generate on the open project: the model writes every chord again on a worker, then
        one Rewrite edit takes them (undo gives the old ones back); `keep_locks` False: the
        locked chords are written anew too."""
        from v2m_desktop.core.edits import Rewrite
        if self.project is None or self.engine is None:
            return
        seed = self.seeds.randrange(1 << 20) if seed is None else int(seed)
        engine, state = self.engine, self.project.copy()
        if not keep_locks:
            state.locks = set()

        def task(progress):
            progress("compose", 0.0)
            with engine.reading(state, progress):
                return engine.rewrite(seed)

        def done(tokens):
            from v2m_desktop.app.commands import Precomputed
            self.apply(Rewrite(seed, keep_locks), f"Generate (chord seed {seed})", engine=Precomputed(tokens))
        self._run(task, "generate", State.GENERATING, done)

    def _render_failed(self, message: str, unexpected: bool) -> None:
        self._changed, self._changed_any = None, True   # the next render compares the arrangements
        self._failed("render", message, unexpected)

    def regenerate(self, start: int, end: int, seed: int | None = None) -> None:
        """New chords for seconds [start, end) from the model (on the worker), then one undoable
        Regenerate edit with them: a new take of that range."""
        from v2m_desktop.core.edits import Regenerate
        if self.project is None or self.engine is None:
            return
        seed = self.seeds.randrange(1 << 20) if seed is None else int(seed)
        engine, state = self.engine, self.project.copy()

        def task(progress):
            progress("regenerate", 0.0)
            with engine.reading(state, progress):
                return engine.regenerate(start, end, seed)

        def done(tokens):
            from v2m_desktop.app.commands import Precomputed
            from v2m_desktop.app.timeline.lanes import format_time
            span = f"{format_time(start)}-{format_time(end)}"
            if self.apply(Regenerate(start, end, seed), f"Regenerate {span}", engine=Precomputed(tokens)) \
                    and self.project is not None:
                takes = self.project.takes_of(start, end)
                n = len(takes.takes) - 1 if takes is not None else 1
                self.notice.emit(f"Regenerated {span}: take {n} of {n} "
                                 "(Alt+Left and Alt+Right step through them)")
        self._run(task, "regenerate", State.GENERATING, done)

    def import_midi(self, path) -> None:
        """The notes of a MIDI file a DAW changed (core.midi_import), read on the worker against
        the project's music, then one undoable note edit; a file that does not match is told in
        one line and changes nothing."""
        from pathlib import Path
        if self.project is None or self.engine is None:
            return
        engine, state, path = self.engine, self.project.copy(), Path(path)

        def task(progress):
            from v2m_desktop.core.midi_import import import_midi
            progress("import MIDI", 0.0)
            with engine.reading(state, progress):
                return import_midi(engine, path)

        def done(edit):
            n = len(edit.before) + len(edit.after)
            if not n:
                self.notice.emit(f"{path.name}: the same notes as the project, nothing to import")
            elif self.apply(edit, f"Import MIDI {path.name}"):
                self.notice.emit(f"Imported {path.name}: {len(edit.before)} notes out, {len(edit.after)} in "
                                 "(Ctrl+Z undoes it)")
        self._run(task, "import MIDI", State.GENERATING, done)

    def wait_rendered(self, timeout_ms: int = 30000) -> bool:
        """Block until no re-render is pending or running (tests, closing)."""
        import time

        from PySide6.QtCore import QCoreApplication
        end = time.monotonic() + timeout_ms / 1000
        while self._render_timer.isActive() or self._render_worker is not None or self._gain_workers:
            if time.monotonic() > end:
                return False
            QCoreApplication.processEvents()
            time.sleep(0.005)
        return True

    def open_project(self, path, video=None) -> None:
        """Open a .v2m project: its video, and its music as edited (the analysis from the cache,
        or made again).  A project whose video moved emits videoMissing (nothing changes); open
        it again with `video`, the video's new place: the same video (by its fingerprint) is
        accepted, another one refused with the core's one line."""
        path = Path(path)
        moved = None if video is None else Path(video)

        def task(progress):
            from v2m_desktop.core.device import pick_device
            from v2m_desktop.core.edits import SetGain
            from v2m_desktop.core.engine import Engine
            from v2m_desktop.core.model.checkpoint import load_models
            from v2m_desktop.core.project import VideoMissing, open_project
            from v2m_desktop.core.video.probe import probe
            progress("open", 0.0)
            try:
                project = open_project(path, moved)
            except VideoMissing as err:
                if moved is not None:
                    raise
                return "missing", err.what
            info = probe(Path(project.video.path))
            device = pick_device(self.settings.device)
            engine = Engine(project, models=load_models(device=device), device=str(device), progress=progress)
            score = engine.score()
            if project.settings.gain is None and score.gain is not None:
                SetGain(score.gain).apply(project)      # nobody else's yet
            return info, engine, self._music(score, info, progress)

        def opened(res):
            if res[0] == "missing":             # ask for the video; nothing changes
                self.videoMissing.emit(path, res[1])
                return
            info, engine, music = res
            video = Path(music.project.video.path)
            if video != self.video:
                self._original = None
            self.video, self.info = video, info
            self.videoOpened.emit(info)
            self._show(engine, music)
        self._run(task, "open project", State.OPENING, opened)

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
            self._failed("save", str(err), False)
            return None

    def export(self, outputs) -> None:
        """Write a core.pipeline.Outputs for the current score."""
        if self.music is None or self.video is None:
            return
        video, score = self.video, self.music.score
        soundfont = Path(self.settings.soundfont) if self.settings.soundfont else None

        def task(progress):
            from v2m_desktop.core.pipeline import export_score
            outputs.check(video, tuple(i.name for i in score.arrangement.midi.instruments) or None)
            return export_score(score, video, outputs, soundfont=soundfont, progress=progress)
        self._run(task, "export", State.EXPORTING, self.exported.emit)

    def wait(self, timeout_ms: int = 10000) -> bool:
        """Block until the running job and re-render have stopped (for closing the window: a
        QThread destroyed while it runs aborts the process)."""
        return all(w is None or w.wait(timeout_ms) for w in (self.worker, self._render_worker,
                                                               *self._gain_workers))

    def shut_down(self, timeout_ms: int = 5000) -> None:
        """Closing: cancel the job and the re-render, end their child processes and remove their
        temporary files at once (the core's one clean-up), then wait for their threads."""
        self._shut = True       # a re-render asked for again when the running one ends, stays undone
        self._render_timer.stop()
        if self.worker is None and self._render_worker is None and not self._gain_workers:
            return
        self.cancel()
        if self._render_worker is not None:
            self._render_worker.cancel()
        from v2m_desktop.core.cleanup import clean_up
        clean_up()
        self.wait(timeout_ms)
