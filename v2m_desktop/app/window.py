"""The main window: video and transport on top, the timeline under it; menus, toolbar and a status
bar with the running job's stage, progress and Cancel.  It only wires: the actions are data
(app.actions), the edits are app.editing's, the open project and its music the Session's."""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QActionGroup
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QUndoView,
    QVBoxLayout,
    QWidget,
)

from v2m_desktop.app import actions as A
from v2m_desktop.app.arrangement import ArrangementPanel
from v2m_desktop.app.documents import Documents
from v2m_desktop.app.editing import Editing
from v2m_desktop.app.player import Player, VideoView
from v2m_desktop.app.session import BUSY_TEXT, Music, Session, State
from v2m_desktop.app.settings import AppSettings, apply_theme
from v2m_desktop.app.timeline.axis import TimeAxis
from v2m_desktop.app.timeline.lanes import format_time
from v2m_desktop.app.timeline.view import TimelineView
from v2m_desktop.app.transport import Transport

log = logging.getLogger("v2m_desktop.app")


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
        self.player = Player(self.video_view,
                             **({"output_factory": output_factory} if output_factory else {}))
        self.timeline = TimelineView(self.axis, self.session.lanes)
        self.editing = Editing(self.session, self.axis, self.timeline, self)
        self.documents = Documents(self, self.session, self.settings)
        self.dialog: QMessageBox | None = None      # the last message box (non-blocking)
        self.export_dialog = None
        self.settings_dialog = None
        self.shortcuts_dialog = None
        self.setAcceptDrops(True)
        self.resize(1280, 860)
        self.actions = A.build(self, {"window": self, "editing": self.editing, "documents": self.documents,
                                      "player": self.player, "timeline": self.timeline,
                                      "session": self.session})
        self.actions["undo"], self.actions["redo"] = A.undo_actions(self, self.session.undo_stack)
        self.undo_action, self.redo_action = self.actions["undo"], self.actions["redo"]
        self._build_docks()
        A.install_menus(self, self.actions, {"recent": self._recent_menu, "theme": self._theme_menu})
        A.install_toolbar(self, self.actions)
        self._build_central()
        self._build_status()
        self._connect()
        self.documents.update_title()
        self._state(State.EMPTY)

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
        self.actions["history"] = self.history_action = self.history_dock.toggleViewAction()
        self.history_action.setText("Edit &History")
        self.actions["arrangement"] = self.arrangement_action = self.arrangement.toggleViewAction()
        self.arrangement_action.setText("&Arrangement")

    def _recent_menu(self, menu) -> None:
        self.documents.recent_menu = menu.addMenu("Open &Recent")
        self.documents.recent_menu.aboutToShow.connect(self.documents.fill_recent)
        self.documents.fill_recent()

    def _theme_menu(self, menu) -> None:
        group = QActionGroup(self)
        theme = menu.addMenu("&Theme")
        for key, text in (("system", "Follow the System"), ("dark", "Dark"), ("light", "Light")):
            a = theme.addAction(text)
            a.setCheckable(True)
            a.setChecked(self.settings.theme == key)
            a.triggered.connect(lambda _=False, key=key: self.set_theme(key))
            group.addAction(a)

    def _build_central(self) -> None:
        self.transport = Transport(self.settings.original_level, self)
        self.transport.play_button.clicked.connect(self.player.toggle)
        self.transport.level.valueChanged.connect(self._level_changed)
        level = self.transport.level
        level.sliderReleased.connect(lambda: self.editing.set_level(level.value()))
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.setSpacing(0)
        tl.addWidget(self.video_view, 1)
        tl.addWidget(self.transport)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.timeline)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([350, 470])
        self.setCentralWidget(self.splitter)

    def _build_status(self) -> None:
        self.stage_label = QLabel()
        self.progress_bar = QProgressBar()
        self.progress_bar.setFixedWidth(220)
        self.progress_bar.setRange(0, 100)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.cancel_button.clicked.connect(self.session.cancel)
        self.rendering_label = QLabel("Rendering the edit…")
        self.rendering_label.setToolTip("The edited music is on its way to the player")
        self.rendering_label.hide()
        self.sound_label = QLabel()
        self.sound_label.hide()
        for w in (self.sound_label, self.rendering_label, self.stage_label, self.progress_bar,
                  self.cancel_button):
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
        s.rendered.connect(self._rendered)
        s.projectChanged.connect(self._project_changed)
        t.styles.attach(s)
        s.notice.connect(self.show_message)
        s.renderingChanged.connect(self.rendering_label.setVisible)
        self.undo_action.triggered.connect(lambda: self.show_message(f"Undid {s.undo_stack.redoText()}"))
        self.redo_action.triggered.connect(lambda: self.show_message(f"Redid {s.undo_stack.undoText()}"))
        self.editing.message.connect(self.show_message)
        self.documents.message.connect(self.show_message)
        self.arrangement.edit.connect(self.editing.apply)
        self.arrangement.visibilityChanged.connect(lambda on: on and self._show_settings())
        self.player.positionChanged.connect(self._position)
        self.player.playingChanged.connect(self.transport.show_playing)
        self.player.notice.connect(self._sound_notice)
        t.seekRequested.connect(self.player.seek)
        t.chords.blockActivated.connect(lambda _b: self.editing.pick_chord())
        t.chords.boundaryMoved.connect(self.editing.move_boundary)
        t.piano_roll.notesEdited.connect(self.editing.change_notes)
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
        elif self.statusBar().currentMessage().endswith("…"):
            self.statusBar().clearMessage()     # what was going on has ended

    def _progress(self, stage: str, fraction: float) -> None:
        if self.session.state == State.CANCELLING:
            return
        self.stage_label.setText(stage.capitalize())
        self.progress_bar.setValue(round(100 * min(max(fraction, 0.0), 1.0)))

    def _project_changed(self, what: str, _start: int, _end: int) -> None:
        if what in ("settings", "level"):
            self._show_settings()

    def _show_settings(self) -> None:
        """The project's settings in the arrangement panel (while it is shown) and the transport's level."""
        p, music = self.session.project, self.session.music
        if self.arrangement.isVisible() or p is None:
            self.arrangement.show_project(p, music.timeline.tempo if music is not None else None)
        if p is not None:
            self.transport.show_level(p.settings.original_level)
            self.player.set_original_level(p.settings.original_level)

    # ------------------------------------------------------------------ the session's news
    def _opened(self, info) -> None:
        self.documents.video_opened()
        self.axis.set_duration(info.duration)
        self.axis.set_playhead(0.0)
        self.player.set_video(str(self.session.video), info.duration, info.fps, (info.width, info.height))
        self.actions["loop"].setChecked(False)
        self.transport.info_label.setText(f" {info.width}x{info.height}, {info.fps:.3g} fps, "
                                          f"{format_time(info.duration)}")
        self._position(0.0)
        self.show_message(f"Opened {self.session.video.name}; analysing…")

    def _project_opened(self, music: Music) -> None:
        self._rendered(music)
        self.show_message("Music ready: Space plays it with the video; Ctrl+E exports")
        self.documents.project_opened(music)
        self._state(self.session.state)

    def _rendered(self, music: Music) -> None:
        """New music: to the player, and the info line from what the lanes now show."""
        self.player.set_soundtrack(music.soundtrack)
        self._show_settings()
        self.player.set_original_level(self.transport.level.value() / 100)
        t, s = music.timeline, music.project.settings
        self.transport.info_label.setText(f" {t.key}, {t.tempo:.0f} BPM, {len(t.chords)} chord blocks, "
                                          f"{cuts_text(t.cuts, t.transitions)}, "
                                          f"seeds: chords {s.chord_seed}, arrangement {s.seed}")

    def _failed(self, title: str, message: str, unexpected: bool, job: str) -> None:
        if job == "export" and self.export_dialog is not None and self.export_dialog.isVisible():
            return          # the export dialog says it
        if job == "open project":
            self.documents.not_opened()
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

    # ------------------------------------------------------------------ files and dialogs
    def open_path(self, path, video=None) -> None:
        """Open a video or a project (`video`: a project's moved video, its new place)."""
        self.documents.open_path(path, video)

    def offer_recovery(self) -> None:
        box = self.documents.offer_recovery()
        if box is not None:
            self.dialog = box

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
        dlg.accepted.connect(lambda: self.transport.level.setValue(round(100 * self.settings.original_level)))
        dlg.open()
        self.settings_dialog = dlg

    def set_theme(self, theme: str) -> None:
        self.settings.theme = theme
        apply_theme(QApplication.instance(), theme)

    def show_shortcuts(self) -> None:
        from v2m_desktop.app.dialogs.shortcuts import ShortcutsDialog
        self.shortcuts_dialog = ShortcutsDialog(self.actions, self)
        self.shortcuts_dialog.open()

    def about(self) -> None:
        from v2m_desktop.app.about import show_about
        show_about(self)

    # ------------------------------------------------------------------ playback
    def _position(self, t: float) -> None:
        self.axis.set_playhead(t, follow=self.player.playing)
        self.transport.show_time(t, self.player.duration)

    def _sound_notice(self, message: str) -> None:
        """No sound can be heard: said once in the status bar, kept beside it and on Play."""
        self.show_message(message)
        self.sound_label.setText("No sound")
        self.sound_label.setToolTip(message)
        self.sound_label.show()
        self.transport.play_button.setToolTip(message)

    def _level_changed(self, value: int) -> None:
        """The transport's level: heard at once; with a project open, one undoable edit of its
        level when the drag ends (or at once from the keys or the wheel)."""
        self.settings.original_level = value / 100
        self.player.set_original_level(value / 100)
        if not self.transport.level.isSliderDown():
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
        if not self.documents.maybe_save():
            e.ignore()
            return
        self.documents.closing()
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
