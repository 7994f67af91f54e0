"""The window's files: opening a video or a project (and finding a project's moved video), saving,
Open Recent, the title with its unsaved mark, autosave and recovery after a crash."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu, QMessageBox

from v2m_desktop.app.session import Music, Session
from v2m_desktop.app.settings import AppSettings

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


class Documents(QObject):
    """Which file the window shows and whether it is saved; `message` is for the status bar."""

    message = Signal(str)

    def __init__(self, window: QMainWindow, session: Session, settings: AppSettings):
        super().__init__(window)
        self.window, self.session, self.settings = window, session, settings
        self.project_path: Path | None = None       # the .v2m the window shows, once saved or opened
        self._shown_project: Path | None = None     # what it showed before a project that may not open
        self.modified = False
        self.ask_for_videos = True                  # a project's moved video: ask where it is
        self.relinked_video: Path | None = None
        self.recovered_from: tuple[Path, str | None] | None = None
        self.recovery_box: QMessageBox | None = None
        self.recent_menu: QMenu | None = None
        session.undo_stack.cleanChanged.connect(self._clean_changed)
        session.videoMissing.connect(self._video_missing)
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(autosave_ms())
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()

    def _clean_changed(self, clean: bool) -> None:
        self.modified = not clean or self._never_saved()
        self.update_title()

    def _never_saved(self) -> bool:
        """Music made here and not yet saved anywhere: unsaved, whatever the undo stack says."""
        return self.session.project is not None and self.project_path is None

    def update_title(self) -> None:
        p, v = self.project_path, self.session.video
        name = p.name if p else v.name if v else None
        self.window.setWindowTitle(f"{name}{'*' * self.modified} — v2m-desktop" if name else "v2m-desktop")

    # -- opening
    def open_dialog(self) -> None:
        start = str(self.session.video.parent) if self.session.video else ""
        path, _ = QFileDialog.getOpenFileName(self.window, "Open Video", start, VIDEO_FILTER)
        if path:
            self.open_path(path)

    def open_path(self, path, video=None) -> None:
        """Open a video or a project (`video`: a project's moved video, its new place)."""
        if not self.maybe_save():
            return
        self.modified = False
        if Path(path).suffix.lower() == ".v2m":
            self.message.emit(f"Opening the project {Path(path).name}…")
            self._shown_project = self.project_path     # back to it when the project cannot open
            self.project_path = Path(path)
            self.relinked_video = Path(video) if video is not None else None
            self.session.open_project(Path(path), video)
            return
        self.project_path = None
        self.message.emit(f"Opening {Path(path).name}…")
        self.session.open_video(Path(path))

    def video_opened(self) -> None:
        from v2m_desktop.core.project import recovery_dir
        shown = self.project_path or self.session.video
        if shown is not None and recovery_dir().resolve() not in Path(shown).resolve().parents:
            self.settings.add_recent(str(shown))     # a recovery copy is no file of the user's
        self.fill_recent()
        self.update_title()

    def project_opened(self, music: Music) -> None:
        """Generated music is unsaved until saved; a recovery copy opens as the project it
        belongs to, modified (saving goes there); a relinked project is modified until saved
        with its video's new place."""
        self.modified = self._never_saved()
        if self.recovered_from is not None:
            from v2m_desktop.core.edits import SetPath
            of, self.recovered_from = self.recovered_from[1], None
            SetPath(Path(of) if of else None).apply(music.project)    # saving goes there, not to the copy
            self.project_path = music.project.path
            self.modified = True
            if of:
                self.settings.add_recent(of)
                self.fill_recent()
        if self.relinked_video is not None:
            self.message.emit(f"Found the video at {self.relinked_video}: "
                              "save the project to keep its new place")
            self.modified, self.relinked_video = True, None
        self.update_title()

    def _video_missing(self, path: Path, message: str) -> None:
        """A project whose video moved: ask where it is now (after the job has finished)."""
        if not self.ask_for_videos:             # --screenshot: nobody to ask
            self.session.failed.emit("Cannot open the project", message, False, "open project")
            return
        QTimer.singleShot(0, lambda: self._ask_for_video(path, message))

    def _ask_for_video(self, path: Path, message: str) -> None:
        self.message.emit(message[:1].upper() + message[1:])
        video, _ = QFileDialog.getOpenFileName(
            self.window, f"Where is the video of {path.name} now?", str(path.parent), VIDEO_FILTER)
        if not video:
            self.not_opened()
            self.message.emit(f"Not opened: {message}")
            return
        self.relinked_video = Path(video)
        self.message.emit(f"Opening the project {path.name} with {Path(video).name}…")
        self.session.open_project(path, video)

    def not_opened(self) -> None:
        """A project that did not open leaves the window as it was."""
        self.relinked_video = None
        self.project_path = self._shown_project
        self.update_title()

    def fill_recent(self) -> None:
        menu = self.recent_menu
        if menu is None:
            return
        menu.clear()
        items = self.settings.recent
        for p in items:
            a = menu.addAction(p)
            a.triggered.connect(lambda _=False, p=p: self.open_path(p))
        if items:
            menu.addSeparator()
            menu.addAction("Clear Menu", self.settings.clear_recent)
        menu.setEnabled(bool(items))

    # -- saving
    def save_project_as(self) -> None:
        self.save_project(ask=True)

    def save_project(self, ask: bool = False) -> None:
        p = self.session.project
        if p is None:
            return
        path = self.project_path
        if ask or path is None:
            start = str(path or Path(p.video.path).with_suffix(".v2m"))
            name, _ = QFileDialog.getSaveFileName(self.window, "Save Project", start, "v2m project (*.v2m)")
            if not name:
                return
            path = Path(name if name.lower().endswith(".v2m") else name + ".v2m")
        saved = self.session.save_project(path)
        if saved is not None:
            from v2m_desktop.core.project import saved_cleanly
            saved_cleanly(p)
            self.modified = False          # also a recovered project (its undo stack was clean)
            self.project_path = saved
            self.settings.add_recent(str(saved))
            self.update_title()
            self.message.emit(f"Saved {saved}")

    def maybe_save(self) -> bool:
        """Ask before unsaved edits would be lost; False: the user cancelled."""
        if not self.modified or self.session.project is None:
            return True
        B = QMessageBox.StandardButton  # noqa: N806
        answer = QMessageBox.question(self.window, "Unsaved changes",
                                      "The project has unsaved changes. Save them first?",
                                      B.Save | B.Discard | B.Cancel, B.Save)
        if answer == B.Cancel:
            return False
        if answer == B.Save:
            self.save_project()
            return not self.modified
        self.discard_recovery()         # discarded: nothing to recover next time
        return True

    def discard_recovery(self) -> None:
        from v2m_desktop.core.project import saved_cleanly
        if self.session.project is not None:
            saved_cleanly(self.session.project)

    def closing(self) -> None:
        """The window closes (after maybe_save): a project left unmodified needs no recovery."""
        from v2m_desktop.core.project import saved_cleanly
        if self.session.project is not None and not self.modified:
            saved_cleanly(self.session.project)
        self.session.undo_stack.cleanChanged.disconnect(self._clean_changed)

    # -- recovery
    def autosave(self) -> None:
        """Every minute (autosave_ms) while modified: a recovery copy (never over the project itself)."""
        from v2m_desktop.core.errors import V2MError
        from v2m_desktop.core.project import autosave
        if self.modified and self.session.project is not None:
            try:
                autosave(self.session.project)
            except (OSError, V2MError):
                log.warning("autosave failed", exc_info=True)

    def offer_recovery(self) -> QMessageBox | None:
        """After a crash: offer the recovery copies newer than their saved projects."""
        from v2m_desktop.app.dialogs.recovery import recovery_box
        self.recovery_box = recovery_box(self.window, self._recover)
        return self.recovery_box

    def _recover(self, copy: Path, of: str | None) -> None:
        self.open_path(copy)
        self.recovered_from = (copy, of)
