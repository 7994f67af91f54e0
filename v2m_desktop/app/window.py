"""The main window: video and transport on top, the timeline under it; menus, toolbar, status
bar with the running job's stage, progress and Cancel.  It owns one Session (the core adapter)
and one Player, and holds no music or video logic of its own."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
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

from v2m_desktop import __version__
from v2m_desktop.app.player import Player, VideoView
from v2m_desktop.app.session import Scored, Session
from v2m_desktop.app.settings import AppSettings, apply_theme
from v2m_desktop.app.timeline.axis import TimeAxis
from v2m_desktop.app.timeline.lanes import format_time
from v2m_desktop.app.timeline.view import TimelineView

log = logging.getLogger("v2m_desktop.app")

VIDEO_FILTER = ("Videos and projects (*.mp4 *.mov *.mkv *.avi *.webm *.m4v *.mpg *.mpeg *.wmv *.v2m);;"
                "All files (*)")
STATE_TEXT = {"opening": "Opening", "analysing": "Analysing the video", "generating": "Generating",
              "exporting": "Exporting", "cancelling": "Cancelling"}


def autosave_ms() -> int:
    """How often a modified project is autosaved: a minute, or V2M_AUTOSAVE_MS milliseconds (the
    recovery test's killed app autosaves at once)."""
    try:
        return max(100, int(os.environ.get("V2M_AUTOSAVE_MS", "")))
    except ValueError:
        return 60_000


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
        self.dialog: QMessageBox | None = None      # the last message box (non-blocking)
        self.project_path: Path | None = None       # the .v2m the window shows, once saved or opened
        self.export_dialog = None
        self.ask_for_videos = True                  # a project's moved video: ask where it is
        self.relinked_video: Path | None = None
        self.setAcceptDrops(True)
        self.resize(1280, 860)
        self._build_actions()
        self._build_history()
        self._build_arrangement()
        self._build_menus()
        self._build_toolbar()
        self._build_central()
        self._build_status()
        self._connect()
        self._update_title()
        self._state("empty")
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(autosave_ms())
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()

    # ------------------------------------------------------------------ construction
    def _action(self, text, slot, shortcut=None, tip=None) -> QAction:
        a = QAction(text, self)
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if tip:
            a.setStatusTip(tip)
        a.triggered.connect(slot)
        self.addAction(a)
        return a

    def _build_actions(self) -> None:
        A = self._action  # noqa: N806
        self.open_action = A("&Open Video…", self.open_dialog, QKeySequence.StandardKey.Open, "Open a video")
        self.export_action = A("&Export…", self.export, "Ctrl+E", "Export the video with its music")
        self.save_action = A("&Save Project", self.save_project, QKeySequence.StandardKey.Save,
                             "Keep the music to edit or export later (.v2m)")
        self.save_as_action = A("Save Project &As…", lambda: self.save_project(ask=True),
                                QKeySequence.StandardKey.SaveAs)
        self.quit_action = A("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.generate_action = A("&Generate", lambda: self.session.generate(), "Ctrl+G",
                                 "Write music for the whole video")
        self.cancel_action = A("&Cancel", self.session.cancel, "Esc", "Stop the running job")
        self.play_action = A("&Play", self.player.toggle, "Space", "Play or pause")
        self.back_action = A("Back 1 s", lambda: self.player.step(-1.0), "Left")
        self.forward_action = A("Forward 1 s", lambda: self.player.step(1.0), "Right")
        self.prev_frame_action = A("Previous Frame", lambda: self.player.step_frames(-1), ",")
        self.next_frame_action = A("Next Frame", lambda: self.player.step_frames(1), ".")
        self.home_action = A("Go to Start", lambda: self.player.seek(0.0), "Home")
        self.end_action = A("Go to End", lambda: self.player.seek(self.player.duration), "End")
        self.loop_action = A("&Loop Selection", self._loop_toggled, "L", "Loop the selected range")
        self.loop_action.setCheckable(True)
        self.zoom_in_action = A("Zoom &In", self.timeline.zoom_in, "+")
        self.zoom_in_action.setShortcuts([QKeySequence("+"), QKeySequence("="),
                                          QKeySequence.StandardKey.ZoomIn])
        self.zoom_out_action = A("Zoom &Out", self.timeline.zoom_out, "-")
        self.zoom_out_action.setShortcuts([QKeySequence("-"), QKeySequence.StandardKey.ZoomOut])
        self.fit_action = A("&Fit to Window", self.timeline.fit, "Ctrl+0")
        self.settings_action = A("&Preferences…", self.open_settings, QKeySequence.StandardKey.Preferences)
        # editing: each action one core edit on the selection, one undoable command
        self.undo_action = self.session.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo_action = self.session.undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence.StandardKey.Redo])
        for a in (self.undo_action, self.redo_action):
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            self.addAction(a)
        self.chord_action = A("Set &Chord…", self.pick_chord, "Return", "Set the chord of the selection")
        self.no_chord_action = A("&No Chord", lambda: self.set_chord("N"), "Del", "Rest over the selection")
        self.lock_action = A("&Lock / Unlock", self.toggle_lock, "K", "Keep the selected chords")
        self.merge_action = A("&Merge with Next", self.merge_next, "M",
                              "The next chord block takes the selected block's chord")
        self.split_action = A("&Split at Playhead", self.split_here, "S",
                              "Two chord blocks from the one under the playhead (the chord stays)")
        self.up_action = A("Transpose &Up", lambda: self.transpose(1), "Ctrl+Up")
        self.down_action = A("Transpose &Down", lambda: self.transpose(-1), "Ctrl+Down")
        self.regenerate_action = A("&Regenerate Selection", self.regenerate, "Ctrl+R",
                                   "New chords for the selection only (a new take)")
        self.prev_take_action = A("Previous Take", lambda: self.step_take(-1), "Alt+Left")
        self.next_take_action = A("Next Take", lambda: self.step_take(1), "Alt+Right")
        self.target_action = A("Set Emotion &Target…", self.pick_target, "E",
                               "Ask for an emotion over the selection")
        self.clear_target_action = A("Clear Emotion Target", self.clear_target, "Shift+E",
                                     "Back to the detected emotion over the selection")
        self.draw_action = A("&Draw Curves", self._draw_toggled, "D",
                             "Drag on the emotion, density or loudness lane to draw it (Shift+drag "
                             "clears); without draw mode, Ctrl+drag draws")
        self.draw_action.setCheckable(True)
        self.clear_dynamics_action = A("Clear Dynamics Edits", self.clear_dynamics, "Shift+D",
                                       "Back to the model's note density and loudness over the selection")
        self.copy_action = A("&Copy Chords", self.copy_chords, QKeySequence.StandardKey.Copy)
        self.paste_action = A("&Paste Chords at the Playhead", self.paste_chords,
                              QKeySequence.StandardKey.Paste)
        self.edit_actions = [self.chord_action, self.no_chord_action, self.lock_action, self.merge_action,
                             self.split_action, self.up_action,
                             self.down_action, self.regenerate_action, self.prev_take_action,
                             self.next_take_action, self.target_action, self.clear_target_action,
                             self.draw_action, self.clear_dynamics_action,
                             self.copy_action, self.paste_action]
        self.about_action = A("&About v2m-desktop", self.about)

    def _build_menus(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        f.addAction(self.open_action)
        self.recent_menu = f.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self._fill_recent()
        f.addSeparator()
        f.addAction(self.save_action)
        f.addAction(self.save_as_action)
        f.addAction(self.export_action)
        f.addSeparator()
        f.addAction(self.settings_action)
        f.addSeparator()
        f.addAction(self.quit_action)
        e = mb.addMenu("&Edit")
        e.addAction(self.undo_action)
        e.addAction(self.redo_action)
        e.addSeparator()
        for a in self.edit_actions:
            e.addAction(a)
        m = mb.addMenu("&Music")
        m.addAction(self.generate_action)
        m.addAction(self.cancel_action)
        p = mb.addMenu("&Playback")
        for a in (self.play_action, self.back_action, self.forward_action, self.prev_frame_action,
                  self.next_frame_action, self.home_action, self.end_action, self.loop_action):
            p.addAction(a)
        v = mb.addMenu("&View")
        for a in (self.zoom_in_action, self.zoom_out_action, self.fit_action):
            v.addAction(a)
        v.addSeparator()
        v.addAction(self.history_action)
        v.addAction(self.arrangement_action)
        theme = v.addMenu("&Theme")
        group = QActionGroup(self)
        for key, text in (("system", "Follow the System"), ("dark", "Dark"), ("light", "Light")):
            a = theme.addAction(text)
            a.setCheckable(True)
            a.setChecked(self.settings.theme == key)
            a.triggered.connect(lambda _=False, key=key: self.set_theme(key))
            group.addAction(a)
        h = mb.addMenu("&Help")
        h.addAction(self.about_action)

    def _build_toolbar(self) -> None:
        tb = QToolBar("Main")
        tb.setObjectName("main-toolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        icon = self.style().standardIcon
        SP = QStyle.StandardPixmap  # noqa: N806
        for a, sp in ((self.open_action, SP.SP_DialogOpenButton), (self.generate_action, SP.SP_BrowserReload),
                      (self.cancel_action, SP.SP_BrowserStop), (self.export_action, SP.SP_DialogSaveButton)):
            a.setIcon(icon(sp))
        tb.setIconSize(QSize(18, 18))
        for a in (self.open_action, self.generate_action, self.cancel_action, self.export_action):
            tb.addAction(a)
        self.addToolBar(tb)
        for w in tb.findChildren(QWidget):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    def _build_history(self) -> None:
        """Edit history: every command on the undo stack; clicking one goes back (or on) to it."""
        self.history = QUndoView(self.session.undo_stack)
        self.history.setEmptyLabel("Generated music")
        self.history_dock = QDockWidget("Edit History", self)
        self.history_dock.setObjectName("history")
        self.history_dock.setWidget(self.history)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.history_dock)
        self.history_dock.hide()
        self.history_action = self.history_dock.toggleViewAction()
        self.history_action.setText("Edit &History")

    def _build_arrangement(self) -> None:
        """Arrangement: the project's key, tempo, instruments, SoundFont, seed and original-sound
        level; each change one undoable edit."""
        from v2m_desktop.app.arrangement import ArrangementPanel
        self.arrangement = ArrangementPanel(self)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.arrangement)
        self.arrangement.hide()
        self.arrangement_action = self.arrangement.toggleViewAction()
        self.arrangement_action.setText("&Arrangement")
        self.arrangement.edit.connect(self._edit)
        self.arrangement.visibilityChanged.connect(lambda on: on and self._show_settings())

    def _settings_changed(self, what: str, _start: int, _end: int) -> None:
        if what == "settings":
            self._show_settings()

    def _show_settings(self) -> None:
        """The project's settings in the arrangement panel (while it is shown) and the
        transport's level."""
        p = self.session.project
        res = self.session.result
        if self.arrangement.isVisible() or p is None:
            self.arrangement.show_project(p, res.timeline.tempo if res is not None else None)
        if p is not None and self.level.value() != round(100 * p.settings.original_level):
            self.level.blockSignals(True)
            self.level.setValue(round(100 * p.settings.original_level))
            self.level.blockSignals(False)
            self.player.set_original_level(p.settings.original_level)

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
        self.level.sliderReleased.connect(self._level_edit)
        self.info_label = QLabel()
        transport.addWidget(self.play_button)
        transport.addWidget(self.time_label)
        transport.addSeparator()
        transport.addWidget(QLabel(" Original sound "))
        transport.addWidget(self.level)
        transport.addSeparator()
        transport.addWidget(self.info_label)
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
        sb = self.statusBar()
        self.stage_label = QLabel()
        self.progress_bar = QProgressBar()
        self.progress_bar.setFixedWidth(220)
        self.progress_bar.setRange(0, 100)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.cancel_button.clicked.connect(self.session.cancel)
        for w in (self.stage_label, self.progress_bar, self.cancel_button):
            sb.addPermanentWidget(w)
        self.show_message("Open a video to begin (Ctrl+O, or drop a file here)")

    @staticmethod
    def _cuts_text(cuts, transitions) -> str:
        """"12 cuts, 11 transitions": the shot changes the music follows, as the cut lane marks them."""
        n = len(transitions)
        return f"{len(cuts)} cuts" + (f", {n} transition{'s' * (n != 1)}" if n else "")

    def _connect(self) -> None:
        s = self.session
        s.stateChanged.connect(self._state)
        s.progress.connect(self._progress)
        s.videoOpened.connect(self._opened)
        s.analysed.connect(lambda: self.show_message(
            f"Analysed: {self._cuts_text(s.lanes.cuts.rows, s.lanes.transitions.rows)}, "
            f"vision {self.session.analysis.vision}"
            " — Generate (Ctrl+G) writes the music"))
        s.scored.connect(self._scored)
        s.failed.connect(self._failed)
        s.cancelled.connect(lambda: self.show_message("Cancelled: nothing changed"))
        s.exported.connect(lambda w: self.show_message(f"Exported {w.get('mp4', '')}"))
        self.player.positionChanged.connect(self._position)
        self.player.playingChanged.connect(self._playing_changed)
        self.player.notice.connect(self.show_message)
        self.timeline.seekRequested.connect(self.player.seek)
        self.timeline.chords.blockActivated.connect(lambda _b: self.pick_chord())
        self.timeline.chords.boundaryMoved.connect(self.move_boundary)
        self.timeline.emotion.sceneActivated.connect(self.pick_scene_target)
        self.timeline.emotion.curveDrawn.connect(self.draw_target)
        for lane in (self.timeline.density, self.timeline.loudness):
            lane.curveDrawn.connect(lambda start, values, clear, kind=lane.kind:
                                    self.draw_dynamics(kind, start, values, clear))
        s.videoMissing.connect(self._video_missing)
        s.rendered.connect(self._rendered)
        s.projectChanged.connect(self._settings_changed)
        s.undo_stack.cleanChanged.connect(self._clean_changed)
        self.axis.selectionChanged.connect(self._selection_changed)

    # ------------------------------------------------------------------ state
    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text)

    def _state(self, state: str) -> None:
        busy = state in STATE_TEXT
        has_video = self.session.video is not None
        self.generate_action.setEnabled(has_video and state not in ("opening", "exporting", "cancelling"))
        self.export_action.setEnabled(self.session.result is not None and not busy)
        for a in (self.save_action, self.save_as_action, *self.edit_actions):
            a.setEnabled(self.session.project is not None and not busy)
        self.cancel_action.setEnabled(busy and state != "cancelling")
        for w in (self.stage_label, self.progress_bar, self.cancel_button):
            w.setVisible(busy)
        self.cancel_button.setEnabled(state != "cancelling")
        self.arrangement.set_busy(busy)
        if busy:
            self.stage_label.setText(STATE_TEXT[state])
            if state != "cancelling":
                self.progress_bar.setValue(0)

    def _progress(self, stage: str, fraction: float) -> None:
        if self.session.state == "cancelling":
            return
        self.stage_label.setText(stage.capitalize())
        self.progress_bar.setValue(round(100 * min(max(fraction, 0.0), 1.0)))

    def _clean_changed(self, clean: bool) -> None:
        self._modified = not clean
        self._update_title()

    def _update_title(self) -> None:
        p, v = getattr(self, "project_path", None), self.session.video
        name = p.name if p else v.name if v else None
        modified = "*" if getattr(self, "_modified", False) else ""
        self.setWindowTitle(f"{name}{modified} — v2m-desktop" if name else "v2m-desktop")

    # ------------------------------------------------------------------ editing
    def selected_seconds(self) -> tuple[int, int] | None:
        """The selection in whole seconds (the chords' grid), or the block under the playhead."""
        sel = self.axis.selection
        if sel is None:
            b = self.timeline.chords.block_at(self.axis.playhead)
            if b is None:
                return None
            sel = (b.start, b.end)
        a, b = int(round(sel[0])), int(round(sel[1]))
        n = self.session.project.seconds if self.session.project else 0
        a, b = min(max(a, 0), n), min(max(b, 0), n)
        return (a, b) if b > a else ((a, a + 1) if a < n else None)

    def _span_text(self, span) -> str:
        return f"{format_time(span[0])}-{format_time(span[1])}"

    def _edit(self, edit, text: str) -> None:
        if self.session.apply(edit, text):
            self.show_message(text)

    def pick_chord(self) -> None:
        span = self.selected_seconds()
        if span is None or self.session.project is None:
            return
        from v2m_desktop.app.dialogs.edit import ChordDialog
        current = self._symbol(int(self.session.project.tokens[span[0]]))
        self.chord_dialog = ChordDialog(current, f"Seconds {self._span_text(span)}", self)
        self.chord_dialog.chosen.connect(lambda text, span=span: self.set_chord(text, span))
        self.chord_dialog.finished.connect(self.activateWindow)     # its keys are the window's again
        self.chord_dialog.open()

    def _symbol(self, token: int) -> str:
        """A chord as the lanes write it (flats in a flat key)."""
        return self.session.project.symbol(token)

    def set_chord(self, symbol: str, span=None) -> None:
        from v2m_desktop.core.edits import SetChords
        span = span or self.selected_seconds()
        if span:
            self._edit(SetChords(*span, symbol), f"Set chord {symbol} at {format_time(span[0])}")

    def move_boundary(self, old: float, new: float) -> None:
        from v2m_desktop.core.edits import SetChords
        p = self.session.project
        if p is None:
            return
        o, n = int(round(old)), int(round(min(max(new, 0), p.seconds)))
        if n == o:
            return
        if o in p.splits:                   # a split (one chord both sides) moves inside its run
            from v2m_desktop.core.edits import Batch, Merge, Split
            run = next(b for b in p.blocks() if b[0] <= o - 1 < b[1])[0], \
                next(b for b in p.blocks() if b[0] == o)[1]
            if not run[0] < n < run[1]:
                self.show_message("A split moves inside its chord: drop it between two seconds of it")
                return
            self._edit(Batch([Merge(o), Split(n)]), f"Move split {format_time(o)} to {format_time(n)}")
            return
        # the block on the side the boundary moves into takes the other block's chord
        a, b, src = (o, n, o - 1) if n > o else (n, o, o)
        symbol = self._symbol(int(p.tokens[min(max(src, 0), p.seconds - 1)]))
        self._edit(SetChords(a, b, symbol), f"Move chord boundary {format_time(o)} to {format_time(n)}")

    def merge_next(self) -> None:
        """The block after the selection takes its chord, and the boundary between them goes
        (also between two blocks of one chord, after a split)."""
        from v2m_desktop.core.edits import Merge
        p, span = self.session.project, self.selected_seconds()
        if p is None or span is None:
            return
        # the project's block boundary at the selection's end (the lanes show the arranged times)
        after = [a for a, _, _ in p.blocks() if a > span[0]]
        if not after:
            self.show_message("No chord block after the selection to merge with")
            return
        a = min(after, key=lambda s: (abs(s - span[1]), s))
        self._edit(Merge(a), f"Merge chords at {format_time(a)}")

    def split_here(self) -> None:
        """The block under the playhead becomes two at the playhead's second (the chord stays;
        each half can then be changed alone)."""
        from v2m_desktop.core.edits import Split
        p = self.session.project
        if p is None:
            return
        s = int(round(self.axis.playhead))
        if s in {a for a, _, _ in p.blocks()} or not 0 < s < p.seconds:
            self.show_message(f"A chord block starts at {format_time(s)} already: move the playhead "
                              "into a block to split it there")
            return
        self._edit(Split(s), f"Split at {format_time(s)}")

    def toggle_lock(self) -> None:
        from v2m_desktop.core.edits import Lock, Unlock
        span = self.selected_seconds()
        if span is None:
            return
        locked = all(s in self.session.project.locks for s in range(*span))
        edit = (Unlock if locked else Lock)(*span)
        self._edit(edit, f"{'Unlock' if locked else 'Lock'} {self._span_text(span)}")

    def transpose(self, semitones: int) -> None:
        from v2m_desktop.core.edits import Transpose
        span = self.selected_seconds()
        if span:
            self._edit(Transpose(*span, semitones), f"Transpose {self._span_text(span)} {semitones:+d}")

    def regenerate(self) -> None:
        span = self.selected_seconds()
        if span:
            self.show_message(f"Regenerating {self._span_text(span)}…")
            self.session.regenerate(*span)

    def step_take(self, step: int) -> None:
        from v2m_desktop.core.edits import UseTake
        p = self.session.project
        span = self.selected_seconds()
        takes = p.takes_of(*span) if p is not None and span else None
        if takes is None:
            self.show_message("No takes here: select a regenerated range (Ctrl+R makes one)")
            return
        n = takes.current + step
        if 0 <= n < len(takes.takes):
            self._edit(UseTake(*span, n), f"Take {n} of {len(takes.takes) - 1} at {self._span_text(span)}")

    def pick_target(self) -> None:
        span = self.selected_seconds()
        if span is None:
            return
        from v2m_desktop.app.dialogs.edit import TargetDialog
        self.target_dialog = TargetDialog(f"Seconds {self._span_text(span)}", self)
        self.target_dialog.chosen.connect(lambda emo, i, span=span: self.set_target(emo, i, span))
        self.target_dialog.finished.connect(self.activateWindow)
        self.target_dialog.open()

    def pick_scene_target(self, start: float, end: float) -> None:
        """A double-click on a scene of the emotion lane: the target dialog for its seconds."""
        p = self.session.project
        if p is None:
            self.show_message("Generate (Ctrl+G) first: a target steers the music")
            return
        a = min(max(int(round(start)), 0), p.seconds - 1)
        b = min(max(int(round(end)), a + 1), p.seconds)
        self.axis.set_selection(a, b)
        self.pick_target()

    def set_target(self, emotion: str, intensity: float, span=None) -> None:
        from v2m_desktop.core.edits import SetEmotionTarget
        span = span or self.selected_seconds()
        self.draw_emotion = emotion             # what a drawn curve asks for next
        if span:
            self._edit(SetEmotionTarget(*span, emotion, intensity),
                       f"Target {emotion} {intensity:.0%} at {self._span_text(span)}")

    def clear_target(self) -> None:
        from v2m_desktop.core.edits import ClearEmotionTarget
        span = self.selected_seconds()
        if span:
            self._edit(ClearEmotionTarget(*span), f"Clear target {self._span_text(span)}")

    def _can_draw(self) -> bool:
        if self.session.project is None:
            self.show_message("Generate (Ctrl+G) first: the drawn curves steer the music")
            return False
        if self.session.state in STATE_TEXT:
            self.show_message(f"{STATE_TEXT[self.session.state]}: draw when it is done")
            return False
        return True

    def _draw_toggled(self, on: bool) -> None:
        self.timeline.set_draw_mode(on)
        self.show_message("Draw mode: drag on the emotion, density or loudness lane; Shift+drag "
                          "clears" if on else "Draw mode off (Ctrl+drag still draws)")

    def _emotion_to_draw(self, start: int) -> str:
        """The target's emotion where the drawing starts; else the last one chosen; else the
        detected emotion there."""
        p = self.session.project
        here = next((t for t in p.targets if t.start <= start < t.end), None)
        if here is not None:
            return here.emotion
        if getattr(self, "draw_emotion", None):
            return self.draw_emotion
        from v2m_desktop.app.timeline.lanes import EMOTION_NAMES
        rows = self.session.lanes.emotion.rows
        if start < len(rows):
            return EMOTION_NAMES[max(range(len(rows[start])), key=rows[start].__getitem__)]
        return EMOTION_NAMES[-1]

    def draw_target(self, start: int, values: list, clear: bool) -> None:
        """A drag on the emotion lane: the target's intensity a second along it (one command), or
        those seconds back to the detected emotion."""
        from v2m_desktop.core.edits import ClearEmotionTarget, SetEmotionCurve
        if not self._can_draw():
            return
        span = (start, start + len(values))
        if clear:
            self._edit(ClearEmotionTarget(*span), f"Clear target {self._span_text(span)}")
            return
        emotion = self._emotion_to_draw(start)
        self._edit(SetEmotionCurve(start, emotion, [round(v, 2) for v in values]),
                   f"Draw {emotion} target {self._span_text(span)}")

    def draw_dynamics(self, kind: str, start: int, values: list, clear: bool) -> None:
        """A drag on the density or loudness lane: its value a second along it (one command), or
        those seconds back to the model's."""
        from v2m_desktop.core.edits import ClearDynamics, SetDynamics
        if not self._can_draw():
            return
        span = (start, start + len(values))
        if clear:
            self._edit(ClearDynamics(*span, kind), f"Clear {kind} {self._span_text(span)}")
        else:
            self._edit(SetDynamics(*span, kind, list(values)), f"Draw {kind} {self._span_text(span)}")

    def clear_dynamics(self) -> None:
        from v2m_desktop.core.edits import Batch, ClearDynamics
        span = self.selected_seconds()
        if span:
            self._edit(Batch([ClearDynamics(*span, "density"), ClearDynamics(*span, "loudness")]),
                       f"Clear dynamics {self._span_text(span)}")

    def copy_chords(self) -> None:
        self.clipboard = self.selected_seconds()
        if self.clipboard:
            self.show_message(f"Copied the chords of {self._span_text(self.clipboard)}")

    def paste_chords(self) -> None:
        from v2m_desktop.core.edits import CopyChords
        src = getattr(self, "clipboard", None)
        p = self.session.project
        if not src or p is None:
            return
        to = int(round(self.axis.playhead))
        n = min(src[1] - src[0], p.seconds - to)
        if n > 0:
            self._edit(CopyChords(src[0], src[0] + n, to), f"Paste chords at {format_time(to)}")

    # ------------------------------------------------------------------ unsaved work
    @property
    def modified(self) -> bool:
        return getattr(self, "_modified", False)

    def maybe_save(self) -> bool:
        """Ask before unsaved edits would be lost; False: the user cancelled."""
        if not self.modified or self.session.project is None:
            return True
        answer = QMessageBox.question(
            self, "Unsaved changes", "The project has unsaved changes. Save them first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Cancel:
            return False
        if answer == QMessageBox.StandardButton.Save:
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
        from v2m_desktop.core.project import recoverable
        found = recoverable()
        if not found:
            return
        copy, of = found[0]
        from datetime import datetime
        when = datetime.fromtimestamp(copy.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
        box = QMessageBox(QMessageBox.Icon.Question, "Recover unsaved work?",
                          f"v2m-desktop closed with unsaved changes to {of or 'an unsaved project'} "
                          f"(autosaved {when}). Recover them?", QMessageBox.StandardButton.NoButton, self)
        recover = box.addButton("Recover", QMessageBox.ButtonRole.AcceptRole)
        discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton("Later", QMessageBox.ButtonRole.RejectRole)

        def chosen(_result=None) -> None:
            if box.clickedButton() is recover:
                self.open_path(copy)
                self.recovered_from = (copy, of)
            elif box.clickedButton() is discard:
                copy.unlink(missing_ok=True)
        box.finished.connect(chosen)
        box.finished.connect(self.activateWindow)       # its keys are the window's again
        box.open()
        self.dialog = self.recovery_box = box

    def _rendered(self, res) -> None:
        self.player.set_soundtrack(res.soundtrack)
        self._show_settings()
        self.player.set_original_level(self.level.value() / 100)

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
            self.session.failed.emit("Cannot open the project", message, False)
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
        self.project_path = getattr(self, "_shown_project", self.project_path)
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

    def _opened(self, info) -> None:
        path = str(self.session.video)
        self.settings.add_recent(str(self.project_path or path))
        self._fill_recent()
        self._update_title()
        self.axis.set_duration(info.duration)
        self.axis.set_playhead(0.0)
        self.player.set_video(path, info.duration, info.fps)
        self.loop_action.setChecked(False)
        self.info_label.setText(f" {info.width}x{info.height}, {info.fps:.3g} fps, "
                                f"{format_time(info.duration)}")
        self._position(0.0)
        self.show_message(f"Opened {Path(path).name}; analysing…")

    def _scored(self, res: Scored) -> None:
        relinked, self.relinked_video = getattr(self, "relinked_video", None), None
        recovered = getattr(self, "recovered_from", None)
        if recovered is not None and res.project is not None:
            # a recovery copy opens as the project it belongs to, modified (saving goes there)
            self.recovered_from = None
            res.project.path = Path(recovered[1]) if recovered[1] else None
            self.project_path = res.project.path
            self._modified = True
            self._update_title()
        self.player.set_soundtrack(res.soundtrack)
        self._show_settings()
        self.player.set_original_level(self.level.value() / 100)
        t = res.timeline
        self.info_label.setText(f" {t.key}, {t.tempo:.0f} BPM, {len(t.chords)} chords, "
                                f"{self._cuts_text(t.cuts, t.transitions)}, seed {res.seed}")
        self.show_message("Music ready: Space plays it with the video; Ctrl+E exports")
        if relinked is not None and res.project is not None:
            # the project now points at the video's new place: modified until saved there
            self._modified = True
            self._update_title()
            self.show_message(f"Found the video at {relinked}: save the project to keep its new place")
        self._state(self.session.state)

    def _failed(self, title: str, message: str, unexpected: bool) -> None:
        if title == "Export failed" and self.export_dialog is not None and self.export_dialog.isVisible():
            return          # the export dialog says it
        if title == "Cannot open the project":
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
            saved_cleanly(self.session.project)
            self._modified = False          # also a recovered project (its undo stack was clean)
            self.project_path = saved
            self.settings.add_recent(str(saved))
            self._update_title()
            self.show_message(f"Saved {saved}")

    def export(self) -> None:
        if self.session.result is None:
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
        from v2m_desktop.app.main import model_description
        QMessageBox.about(self, "About v2m-desktop",
                          f"<h3>v2m-desktop {__version__}</h3>"
                          "<p>Original soundtracks that follow a video's cuts, motion and mood.</p>"
                          f"<p>{model_description()}</p>"
                          "<p>Built on the Affective Multimodal Transformer of <i>Video2Music</i> "
                          "(Kang, Poria, Herremans, 2024).</p>")

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
            self._level_edit()

    def _level_edit(self) -> None:
        from v2m_desktop.app.arrangement import level_edit
        edit = level_edit(self.session.project, self.level.value())
        if edit is not None and self.session.state not in STATE_TEXT:
            self._edit(*edit)

    def _selection_changed(self) -> None:
        self.timeline.overlay.loop = self.loop_action.isChecked()
        self.player.set_loop(self.axis.selection if self.loop_action.isChecked() else None)

    def _loop_toggled(self) -> None:
        on = self.loop_action.isChecked()
        if on and self.axis.selection is None:
            self.loop_action.setChecked(False)
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
