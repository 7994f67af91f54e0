"""The main window: video and transport on top, the timeline under it; menus, toolbar and a status
bar with the running job's stage, progress and Cancel.  It only wires: the actions are data
(app.actions), the edits are app.editing's, the open project and its music the Session's."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSlider,
    QSplitter,
    QStyle,
    QToolBar,
    QUndoView,
    QVBoxLayout,
    QWidget,
)

from v2m_desktop.app import actions as A
from v2m_desktop.app.arrangement import ArrangementPanel
from v2m_desktop.app.editing import Editing
from v2m_desktop.app.player import Player, VideoView
from v2m_desktop.app.session import BUSY_TEXT, Music, Session, State
from v2m_desktop.app.settings import AppSettings, apply_theme
from v2m_desktop.app.timeline.axis import TimeAxis
from v2m_desktop.app.timeline.lanes import format_time
from v2m_desktop.app.timeline.view import TimelineView

log = logging.getLogger("v2m_desktop.app")

VIDEO_FILTER = ("Videos and projects (*.mp4 *.mov *.mkv *.avi *.webm *.m4v *.mpg *.mpeg *.wmv *.v2m);;"
                "All files (*)")


def autosave_ms() -> int:
    """How often a modified project is autosaved: a minute, or V2M_AUTOSAVE_MS milliseconds (the
    recovery test's killed app autosaves at once)."""
    try:
        return max(100, int(os.environ.get("V2M_AUTOSAVE_MS", "")))
    except ValueError:
        return 60_000


def cuts_text(cuts, transitions) -> str:
    """"12 cuts, 11 transitions": the shot changes the music follows, as the cut lane marks them."""
    n = len(transitions)
    return f"{len(cuts)} cuts" + (f", {n} transition{'s' * (n != 1)}" if n else "")


class MainWindow(QMainWindow):
    def __init__(self, settings: AppSettings | None = None, log_path: Path | None = None,
                 output_factory=None):
        super().__init__()
        self.setObjectName("main-window")
        self.settings = settings or AppSettings()
        self.log_path = log_path
        self.session = Session(self.settings, self)
        self.axis = TimeAxis(self)
        self.video_view = VideoView()
        self.player = Player(self.video_view, **({"output_factory": output_factory} if output_factory else {}))
        self.timeline = TimelineView(self.axis, self.session.lanes)
        self.editing = Editing(self.session, self.axis, self.timeline, self)
        self.dialog: QMessageBox | None = None      # the last message box (non-blocking)
        self.recovery_box: QMessageBox | None = None
        self.export_dialog = None
        self.settings_dialog = None
        self.project_path: Path | None = None       # the .v2m the window shows, once saved or opened
        self._shown_project: Path | None = None     # what it showed before a project that may not open
        self._modified = False
        self.ask_for_videos = True                  # a project's moved video: ask where it is
        self.relinked_video: Path | None = None
        self.recovered_from: tuple[Path, str | None] | None = None
        self.setAcceptDrops(True)
        self.resize(1280, 860)
        self.actions = A.build(self, {"window": self, "editing": self.editing, "player": self.player,
                                      "timeline": self.timeline, "session": self.session})
        self.undo_action, self.redo_action = A.undo_actions(self, self.session.undo_stack)
        self._build_docks()
        self._build_menus()
        self._build_toolbar()
        self._build_central()
        self._build_status()
        self._connect()
        self._update_title()
        self._state(State.EMPTY)
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(autosave_ms())
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()

    # ------------------------------------------------------------------ construction
    def _build_docks(self) -> None:
        """Edit History (every command; clicking one goes back or on to it) and Arrangement (the
        project's key, tempo, instruments, SoundFont, seed and level; each change one edit)."""
        self.history = QUndoView(self.session.undo_stack)
        self.history.setEmptyLabel("Generated music")
        self.history_dock = QDockWidget("Edit History", self)
        self.history_dock.setObjectName("history")
        self.history_dock.setWidget(self.history)
        self.arrangement = ArrangementPanel(self)
        for dock in (self.history_dock, self.arrangement):
            self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
            dock.hide()
        self.history_action = self.history_dock.toggleViewAction()
        self.history_action.setText("Edit &History")
        self.arrangement_action = self.arrangement.toggleViewAction()
        self.arrangement_action.setText("&Arrangement")

    def _build_menus(self) -> None:
        extra: dict[str, QAction] = {"undo": self.undo_action, "redo": self.redo_action,
                                     "history": self.history_action, "arrangement": self.arrangement_action}
        for title, names in A.MENUS:
            menu = self.menuBar().addMenu(title)
            for name in names:
                if name == "-":
                    menu.addSeparator()
                elif name == "recent":
                    self.recent_menu = menu.addMenu("Open &Recent")
                    self.recent_menu.aboutToShow.connect(self._fill_recent)
                    self._fill_recent()
                elif name == "theme":
                    self._build_theme_menu(menu.addMenu("&Theme"))
                else:
                    menu.addAction(extra.get(name) or self.actions[name])

    def _build_theme_menu(self, menu) -> None:
        group = QActionGroup(self)
        for key, text in (("system", "Follow the System"), ("dark", "Dark"), ("light", "Light")):
            a = menu.addAction(text)
            a.setCheckable(True)
            a.setChecked(self.settings.theme == key)
            a.triggered.connect(lambda _=False, key=key: self.set_theme(key))
            group.addAction(a)

    def _build_toolbar(self) -> None:
        tb = QToolBar("Main")
        tb.setObjectName("main-toolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tb.setIconSize(QSize(18, 18))
        SP = QStyle.StandardPixmap  # noqa: N806
        icons = {"open": SP.SP_DialogOpenButton, "generate": SP.SP_BrowserReload, "cancel": SP.SP_BrowserStop,
                 "export": SP.SP_DialogSaveButton}
        for name in A.TOOLBAR:
            self.actions[name].setIcon(self.style().standardIcon(icons[name]))
            tb.addAction(self.actions[name])
        self.addToolBar(tb)
        for w in tb.findChildren(QWidget):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    def _build_central(self) -> None:
        transport = QToolBar("Transport")
        transport.setObjectName("transport")
        self.play_button = QPushButton(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Play")
        self.play_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.play_button.clicked.connect(self.player.toggle)
        self.time_label = QLabel("0:00.0 / 0:00.0")
        self.time_label.setMinimumWidth(130)
        self.level = QSlider(Qt.Orientation.Horizontal)
        self.level.setRange(0, 100)
        self.level.setFixedWidth(120)
        self.level.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.level.setValue(round(100 * self.settings.original_level))
        self.level.setToolTip("Level of the video's own sound under the music")
        self.level.valueChanged.connect(self._level_changed)
        self.level.sliderReleased.connect(lambda: self.editing.set_level(self.level.value()))
        self.info_label = QLabel()
        for w in (self.play_button, self.time_label, None, QLabel(" Original sound "), self.level, None,
                  self.info_label):
            transport.addSeparator() if w is None else transport.addWidget(w)
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.setSpacing(0)
        tl.addWidget(self.video_view, 1)
        tl.addWidget(transport)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.timeline)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([380, 440])
        self.setCentralWidget(self.splitter)

    def _build_status(self) -> None:
        self.stage_label = QLabel()
        self.progress_bar = QProgressBar()
        self.progress_bar.setFixedWidth(220)
        self.progress_bar.setRange(0, 100)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.cancel_button.clicked.connect(self.session.cancel)
        for w in (self.stage_label, self.progress_bar, self.cancel_button):
            self.statusBar().addPermanentWidget(w)
        self.show_message("Open a video to begin (Ctrl+O, or drop a file here)")

    def _connect(self) -> None:
        s, t = self.session, self.timeline
        s.stateChanged.connect(self._state)
        s.progress.connect(self._progress)
        s.videoOpened.connect(self._opened)
        s.analysed.connect(lambda: self.show_message(
            f"Analysed: {cuts_text(s.lanes.cuts.rows, s.lanes.transitions.rows)}, vision {s.analysis.vision}"
            " — Generate (Ctrl+G) writes the music"))
        s.projectOpened.connect(self._project_opened)
        s.failed.connect(self._failed)
        s.cancelled.connect(lambda: self.show_message("Cancelled: nothing changed"))
        s.exported.connect(lambda w: self.show_message(f"Exported {w.get('mp4', '')}"))
        s.videoMissing.connect(self._video_missing)
        s.rendered.connect(self._rendered)
        s.projectChanged.connect(self._project_changed)
        s.undo_stack.cleanChanged.connect(self._clean_changed)
        self.editing.message.connect(self.show_message)
        self.arrangement.edit.connect(self.editing.apply)
        self.arrangement.visibilityChanged.connect(lambda on: on and self._show_settings())
        self.player.positionChanged.connect(self._position)
        self.player.playingChanged.connect(self._playing_changed)
        self.player.notice.connect(self.show_message)
        t.seekRequested.connect(self.player.seek)
        t.chords.blockActivated.connect(lambda _b: self.editing.pick_chord())
        t.chords.boundaryMoved.connect(self.editing.move_boundary)
        t.emotion.sceneActivated.connect(self.editing.pick_scene_target)
        t.emotion.curveDrawn.connect(self.editing.draw_target)
        for lane in (t.density, t.loudness):
            lane.curveDrawn.connect(lambda start, values, clear, kind=lane.kind:
                                    self.editing.draw_dynamics(kind, start, values, clear))
        self.axis.selectionChanged.connect(self._selection_changed)

    # ------------------------------------------------------------------ state
    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text)

    def _state(self, state: str) -> None:
        busy = state in BUSY_TEXT
        has_project = self.session.project is not None
        self.actions["generate"].setEnabled(self.session.video is not None and state not in (
            State.OPENING, State.EXPORTING, State.CANCELLING))
        self.actions["export"].setEnabled(has_project and not busy)
        for spec in A.ACTIONS:
            if spec.editing or spec.name in ("save", "save_as"):
                self.actions[spec.name].setEnabled(has_project and not busy)
        self.actions["cancel"].setEnabled(busy and state != State.CANCELLING)
        for w in (self.stage_label, self.progress_bar, self.cancel_button):
            w.setVisible(busy)
        self.cancel_button.setEnabled(state != State.CANCELLING)
        self.arrangement.set_busy(busy)
        if busy:
            self.stage_label.setText(BUSY_TEXT[State(state)])
            if state != State.CANCELLING:
                self.progress_bar.setValue(0)

    def _progress(self, stage: str, fraction: float) -> None:
        if self.session.state == State.CANCELLING:
            return
        self.stage_label.setText(stage.capitalize())
        self.progress_bar.setValue(round(100 * min(max(fraction, 0.0), 1.0)))

    def _clean_changed(self, clean: bool) -> None:
        self._modified = not clean
        self._update_title()

    def _update_title(self) -> None:
        p, v = self.project_path, self.session.video
        name = p.name if p else v.name if v else None
        self.setWindowTitle(f"{name}{'*' * self._modified} — v2m-desktop" if name else "v2m-desktop")

    def _project_changed(self, what: str, _start: int, _end: int) -> None:
        if what in ("settings", "level"):
            self._show_settings()

    def _show_settings(self) -> None:
        """The project's settings in the arrangement panel (while it is shown) and the transport's level."""
        p, music = self.session.project, self.session.music
        if self.arrangement.isVisible() or p is None:
            self.arrangement.show_project(p, music.timeline.tempo if music is not None else None)
        if p is not None and self.level.value() != round(100 * p.settings.original_level):
            self.level.blockSignals(True)
            self.level.setValue(round(100 * p.settings.original_level))
            self.level.blockSignals(False)
            self.player.set_original_level(p.settings.original_level)

    # ------------------------------------------------------------------ the session's news
    def _opened(self, info) -> None:
        path = str(self.session.video)
        self.settings.add_recent(str(self.project_path or path))
        self._fill_recent()
        self._update_title()
        self.axis.set_duration(info.duration)
        self.axis.set_playhead(0.0)
        self.player.set_video(path, info.duration, info.fps)
        self.actions["loop"].setChecked(False)
        self.info_label.setText(f" {info.width}x{info.height}, {info.fps:.3g} fps, {format_time(info.duration)}")
        self._position(0.0)
        self.show_message(f"Opened {Path(path).name}; analysing…")

    def _project_opened(self, music: Music) -> None:
        p = music.project
        if self.recovered_from is not None:
            # a recovery copy opens as the project it belongs to, modified (saving goes there)
            of, self.recovered_from = self.recovered_from[1], None
            p.path = Path(of) if of else None
            self.project_path = p.path
            self._modified = True
        self._rendered(music)
        t, s = music.timeline, p.settings
        self.info_label.setText(f" {t.key}, {t.tempo:.0f} BPM, {len(t.chords)} chords, "
                                f"{cuts_text(t.cuts, t.transitions)}, seed {s.chord_seed}/{s.seed}")
        self.show_message("Music ready: Space plays it with the video; Ctrl+E exports")
        if self.relinked_video is not None:
            # the project now points at the video's new place: modified until saved there
            self.show_message(f"Found the video at {self.relinked_video}: save the project to keep its new place")
            self._modified, self.relinked_video = True, None
        self._update_title()
        self._state(self.session.state)

    def _rendered(self, music: Music) -> None:
        self.player.set_soundtrack(music.soundtrack)
        self._show_settings()
        self.player.set_original_level(self.level.value() / 100)

    def _failed(self, title: str, message: str, unexpected: bool, job: str) -> None:
        if job == "export" and self.export_dialog is not None and self.export_dialog.isVisible():
            return          # the export dialog says it
        if job == "open project":
            self._not_opened()
        if unexpected:
            message = f"Something went wrong: {message}\n\nThe details are in the log file:\n{self.log_path}"
        self.show_message(f"{title}: {message.splitlines()[0]}")
        self.message(title, message, QMessageBox.Icon.Critical if unexpected else QMessageBox.Icon.Warning)

    def message(self, title: str, text: str, icon=QMessageBox.Icon.Information) -> QMessageBox:
        """A non-blocking message box (the window keeps running; tests can read and close it)."""
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(self.activateWindow)       # its keys are the window's again
        box.open()
        self.dialog = box
        return box

    # ------------------------------------------------------------------ unsaved work
    @property
    def modified(self) -> bool:
        return self._modified

    def maybe_save(self) -> bool:
        """Ask before unsaved edits would be lost; False: the user cancelled."""
        if not self.modified or self.session.project is None:
            return True
        B = QMessageBox.StandardButton  # noqa: N806
        answer = QMessageBox.question(self, "Unsaved changes", "The project has unsaved changes. Save them first?",
                                      B.Save | B.Discard | B.Cancel, B.Save)
        if answer == B.Cancel:
            return False
        if answer == B.Save:
            self.save_project()
            return not self.modified
        return True

    def autosave(self) -> None:
        """Every minute (autosave_ms) while modified: a recovery copy (never over the project itself)."""
        from v2m_desktop.core.errors import V2MError
        from v2m_desktop.core.project import autosave
        if self.modified and self.session.project is not None:
            try:
                autosave(self.session.project)
            except (OSError, V2MError):
                log.warning("autosave failed", exc_info=True)

    def offer_recovery(self) -> None:
        """After a crash: offer the recovery copies newer than their saved projects."""
        from v2m_desktop.app.dialogs.recovery import recovery_box
        box = recovery_box(self, self._recover)
        if box is not None:
            self.dialog = self.recovery_box = box

    def _recover(self, copy: Path, of: str | None) -> None:
        self.open_path(copy)
        self.recovered_from = (copy, of)

    # ------------------------------------------------------------------ files
    def open_dialog(self) -> None:
        start = str(self.session.video.parent) if self.session.video else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open Video", start, VIDEO_FILTER)
        if path:
            self.open_path(path)

    def open_path(self, path, video=None) -> None:
        """Open a video or a project (`video`: a project's moved video, its new place)."""
        if not self.maybe_save():
            return
        self._modified = False
        if Path(path).suffix.lower() == ".v2m":
            self.show_message(f"Opening the project {Path(path).name}…")
            self._shown_project = self.project_path     # back to it when the project cannot open
            self.project_path = Path(path)
            self.relinked_video = Path(video) if video is not None else None
            self.session.open_project(Path(path), video)
            return
        self.project_path = None
        self.show_message(f"Opening {Path(path).name}…")
        self.session.open_video(Path(path))

    def _video_missing(self, path: Path, message: str) -> None:
        """A project whose video moved: ask where it is now (after the job has finished)."""
        if not self.ask_for_videos:             # --screenshot: nobody to ask
            self.session.failed.emit("Cannot open the project", message, False, "open project")
            return
        QTimer.singleShot(0, lambda: self._ask_for_video(path, message))

    def _ask_for_video(self, path: Path, message: str) -> None:
        self.show_message(message[:1].upper() + message[1:])
        video, _ = QFileDialog.getOpenFileName(
            self, f"Where is the video of {path.name} now?", str(path.parent), VIDEO_FILTER)
        if not video:
            self._not_opened()
            self.show_message(f"Not opened: {message}")
            return
        self.relinked_video = Path(video)
        self.show_message(f"Opening the project {path.name} with {Path(video).name}…")
        self.session.open_project(path, video)

    def _not_opened(self) -> None:
        """A project that did not open leaves the window as it was."""
        self.relinked_video = None
        self.project_path = self._shown_project
        self._update_title()

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        items = self.settings.recent
        for p in items:
            a = self.recent_menu.addAction(p)
            a.triggered.connect(lambda _=False, p=p: self.open_path(p))
        if items:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear Menu", self.settings.clear_recent)
        self.recent_menu.setEnabled(bool(items))

    def save_project_as(self) -> None:
        self.save_project(ask=True)

    def save_project(self, ask: bool = False) -> None:
        p = self.session.project
        if p is None:
            return
        path = p.path
        if ask or path is None:
            start = str(p.path or Path(p.video.path).with_suffix(".v2m"))
            name, _ = QFileDialog.getSaveFileName(self, "Save Project", start, "v2m project (*.v2m)")
            if not name:
                return
            path = Path(name if name.lower().endswith(".v2m") else name + ".v2m")
        saved = self.session.save_project(path)
        if saved is not None:
            from v2m_desktop.core.project import saved_cleanly
            saved_cleanly(p)
            self._modified = False          # also a recovered project (its undo stack was clean)
            self.project_path = saved
            self.settings.add_recent(str(saved))
            self._update_title()
            self.show_message(f"Saved {saved}")

    def export(self) -> None:
        if self.session.music is None:
            return
        from v2m_desktop.app.dialogs.export import ExportDialog
        self.player.pause()
        self.export_dialog = ExportDialog(self.session, self)
        self.export_dialog.open()

    def open_settings(self) -> None:
        from v2m_desktop.app.dialogs.settings import SettingsDialog
        dlg = SettingsDialog(self.settings, self)
        dlg.accepted.connect(lambda: self.set_theme(self.settings.theme))
        dlg.accepted.connect(lambda: self.level.setValue(round(100 * self.settings.original_level)))
        dlg.open()
        self.settings_dialog = dlg

    def set_theme(self, theme: str) -> None:
        self.settings.theme = theme
        apply_theme(QApplication.instance(), theme)

    def about(self) -> None:
        from v2m_desktop.app.about import show_about
        show_about(self)

    # ------------------------------------------------------------------ playback
    def _position(self, t: float) -> None:
        self.axis.set_playhead(t, follow=self.player.playing)
        self.time_label.setText(f"{format_time(t, 0.1)} / {format_time(self.player.duration, 0.1)}")

    def _playing_changed(self, on: bool) -> None:
        self.play_button.setText("Pause" if on else "Play")
        self.play_button.setIcon(self.style().standardIcon(
            QStyle.StandardPixmap.SP_MediaPause if on else QStyle.StandardPixmap.SP_MediaPlay))

    def _level_changed(self, value: int) -> None:
        """The transport's level: heard at once; with a project open, one undoable edit of its
        level when the drag ends (or at once from the keys or the wheel)."""
        self.settings.original_level = value / 100
        self.player.set_original_level(value / 100)
        if not self.level.isSliderDown():
            self.editing.set_level(value)

    def _selection_changed(self) -> None:
        looping = self.actions["loop"].isChecked()
        self.timeline.overlay.loop = looping
        self.player.set_loop(self.axis.selection if looping else None)

    def loop_toggled(self, on: bool) -> None:
        if on and self.axis.selection is None:
            self.actions["loop"].setChecked(False)
            self.show_message("Select a range first: drag across a lane, then press L")
            return
        self._selection_changed()
        self.show_message("Looping the selection" if on else "Loop off")

    # ------------------------------------------------------------------ drag and drop, closing
    def dragEnterEvent(self, e) -> None:  # noqa: N802
        if e.mimeData().hasUrls() and any(u.isLocalFile() for u in e.mimeData().urls()):
            e.acceptProposedAction()

    def dropEvent(self, e) -> None:  # noqa: N802
        files = [u.toLocalFile() for u in e.mimeData().urls() if u.isLocalFile()]
        if files:
            e.acceptProposedAction()
            self.open_path(files[0])

    def closeEvent(self, e) -> None:  # noqa: N802
        if not self.maybe_save():
            e.ignore()
            return
        from v2m_desktop.core.project import saved_cleanly
        if self.session.project is not None and not self.modified:
            saved_cleanly(self.session.project)         # closed cleanly: no recovery needed
        self.session.undo_stack.cleanChanged.disconnect(self._clean_changed)
        self.session.shut_down()
        self.player.close()
        self.settings.sync()
        super().closeEvent(e)

    def when_idle(self, fn, poll_ms: int = 50) -> None:
        """Call fn once no job runs (used by --generate --screenshot)."""
        if self.session.busy:
            QTimer.singleShot(poll_ms, lambda: self.when_idle(fn, poll_ms))
        else:
            fn()
