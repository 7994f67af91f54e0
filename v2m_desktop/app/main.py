"""Entry point of `v2m-desktop`: the QApplication, logging to the user's data folder, a dialog for
unexpected errors, and the command-line flags (--generate, --screenshot)."""
from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import traceback
from pathlib import Path

log = logging.getLogger("v2m_desktop.app")

def parse_args(argv):
    p = argparse.ArgumentParser(prog="v2m-desktop", description="Score videos: the desktop app.")
    p.add_argument("path", nargs="?", help="a video to open")
    p.add_argument("--generate", action="store_true", help="generate music for the video once it opens")
    p.add_argument("--screenshot", type=Path, metavar="OUT.png",
                   help="save a picture of the window when done (after --generate: when the music "
                        "is ready), then exit")
    p.add_argument("--seed", type=int, help="the seed of --generate (default: a new one)")
    p.add_argument("--video", type=Path, metavar="NEW_PLACE",
                   help="with a project whose video moved: the video's new place (the same video)")
    p.add_argument("--bench-launch", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--version", action="version", version=_version())
    return p.parse_args(argv)


def _version() -> str:
    from v2m_desktop import __version__
    return f"v2m-desktop {__version__}"


def setup_logging() -> Path:
    """Log to <user data>/v2m-desktop.log (QStandardPaths); returns the file's path."""
    from PySide6.QtCore import QStandardPaths
    folder = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation))
    path = folder / "v2m-desktop.log"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("v2m_desktop")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    return path


def install_excepthook(window_ref: list, log_path: Path) -> None:
    """An unexpected exception anywhere is logged and shown in a dialog naming the log file;
    the app keeps running."""
    def show(exc_type, exc, tb) -> None:
        log.critical("unexpected error:\n%s", "".join(traceback.format_exception(exc_type, exc, tb)))
        w = window_ref[0] if window_ref else None
        if w is not None:
            from PySide6.QtCore import QTimer
            from PySide6.QtWidgets import QMessageBox
            text = (f"Something went wrong: {exc_type.__name__}: {exc}\n\n"
                    f"The details are in the log file:\n{log_path}")
            QTimer.singleShot(0, lambda: w.message("Unexpected error", text, QMessageBox.Icon.Critical))

    sys.excepthook = show
    threading.excepthook = lambda a: show(a.exc_type, a.exc_value, a.exc_traceback)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.screenshot is not None and not args.screenshot.parent.is_dir():
        print(f"v2m-desktop: the folder for --screenshot does not exist: {args.screenshot.parent}",
              file=sys.stderr)
        return 2
    if args.video is not None and not (args.path and Path(args.path).suffix.lower() == ".v2m"):
        print("v2m-desktop: --video goes with a project (.v2m) whose video moved", file=sys.stderr)
        return 2
    if args.generate and not args.path:
        print("v2m-desktop: --generate needs a video", file=sys.stderr)
        return 2
    from PySide6.QtWidgets import QApplication

    from v2m_desktop import __version__
    from v2m_desktop.app.settings import APP, ORG, AppSettings, apply_theme
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setOrganizationName(ORG)
    app.setApplicationName(APP)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("v2m-desktop")
    log_path = setup_logging()
    from PySide6.QtGui import QIcon

    from v2m_desktop.core.resources import resource
    app.setWindowIcon(QIcon(str(resource("icons/v2m-desktop.svg"))))
    settings = AppSettings()
    apply_theme(app, settings.theme)

    from v2m_desktop.app.window import MainWindow
    window_ref: list = []
    install_excepthook(window_ref, log_path)
    window = MainWindow(settings, log_path)
    window_ref.append(window)
    window.show()
    if args.bench_launch:       # `v2m bench app` times the start-up to here
        app.processEvents()
        print("window-shown", flush=True)
        return 0
    if not args.path and args.screenshot is None:
        # after a crash, the unsaved work: asked before the window takes a key (and before the
        # models' warm-up holds the interpreter), so no key meant for the window answers it
        window.offer_recovery()
    warming = window.session.warm_up()
    status = {"code": 0}
    window.documents.ask_for_videos = args.screenshot is None     # a moved video: say so, ask nobody
    if args.path:
        window.open_path(args.path, video=args.video)
        if args.generate:
            window.session.generate(args.seed)
    if args.screenshot is not None:
        _exit_with_screenshot(app, window, args.screenshot, args.generate, status)
    code = app.exec()
    # a quit while the warm-up still imports torch: the interpreter's teardown under that import
    # aborted the process ("terminate called without an active exception", a damaged project
    # refused within a second of the start)
    warming.join(timeout=60)
    return status["code"] or code


def _exit_with_screenshot(app, window, out: Path, generate: bool, status: dict) -> None:
    """Save the window once the asked-for work is done, then quit (1 when it failed)."""
    from PySide6.QtCore import QTimer

    def shoot() -> None:
        window.when_idle(lambda: QTimer.singleShot(800, save))

    def save() -> None:
        window.documents.modified = False            # nothing to ask about on the way out
        ok = window.grab().save(str(out))
        if not ok:
            print(f"v2m-desktop: could not save the screenshot {out}", file=sys.stderr)
            status["code"] = 1
        app.quit()

    def failed(title, message, unexpected, _job="") -> None:
        window.documents.modified = False
        print(f"v2m-desktop: {title}: {message}", file=sys.stderr)
        status["code"] = 1
        app.quit()

    window.session.failed.connect(failed)
    if generate or (window.documents.project_path is not None):       # a project opens with its music
        window.session.projectOpened.connect(lambda _music: shoot())
    elif window.session.video is not None or window.session.busy:
        window.session.analysed.connect(shoot)
    else:
        QTimer.singleShot(300, shoot)


if __name__ == "__main__":
    os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia.symbolsresolver=false")
    sys.exit(main())
