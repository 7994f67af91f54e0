"""`v2m bench app`: how the window starts and how it behaves while the model works (offscreen).

- launch: from starting the process to the main window shown, against a bare PySide6 window
  started the same way (best of 3 each, after a warm-up run);
- responsiveness: the longest gap between ticks of a 10-ms timer while a video is opened,
  analysed (empty cache) and scored, against the same timer on the idle window;
- cancel: from pressing Cancel to the window being idle again, during analysis, composition and
  rendering (the longest of them);
- edit to new audio in the player: on a 3-minute video, from the user's chord edit (Return in
  the chord dialog) to the player holding the re-rendered audio, against a full arrange + render
  of the same project (what an edit cost before only its seconds were rendered again);
- preview: a 3-s 4K testsrc2 clip and the shared 360p clip played in the window's player (its
  video view, a silent audio clock): pictures shown a second and the longest freeze between
  two, from Play to the clip's end (3 s of each)."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

BARE_WINDOW = ("import PySide6.QtWidgets as w; a = w.QApplication([]); m = w.QMainWindow(); "
               "m.resize(1280, 860); m.show(); a.processEvents(); print('window-shown', flush=True)")
SHARED_CLIP = Path(__file__).resolve().parents[3] / "shared" / "media" / "big_buck_bunny_360p_56s.mp4"


def _time_to_window(cmd: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True) as p:
        for line in p.stdout:
            if line.strip() == "window-shown":
                dt = time.perf_counter() - t0
                break
        else:
            raise RuntimeError(f"{cmd[:3]} did not show its window")
        p.wait(30)
    return dt


def bench_launch(repeats: int = 3) -> dict:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    with tempfile.TemporaryDirectory(prefix="v2m-bench-home-") as home:
        env.update(XDG_CONFIG_HOME=home, XDG_DATA_HOME=home)
        app = [sys.executable, "-m", "v2m_desktop.app.main", "--bench-launch"]
        bare = [sys.executable, "-c", BARE_WINDOW]
        _time_to_window(app, env)               # warm the disk cache
        app_s = min(_time_to_window(app, env) for _ in range(repeats))
        bare_s = min(_time_to_window(bare, env) for _ in range(repeats))
    return {"launch_s": app_s, "bare_qt_s": bare_s, "launch_ratio": app_s / bare_s}


class _Ticks:
    """A 10-ms QTimer's ticks: the longest gap between two is the longest event-loop stall."""

    def __init__(self):
        from PySide6.QtCore import QTimer
        self.times: list[float] = []
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(lambda: self.times.append(time.perf_counter()))

    def start(self):
        self.times = [time.perf_counter()]
        self.timer.start()

    def stop(self) -> float:
        self.timer.stop()
        self.times.append(time.perf_counter())
        return max(b - a for a, b in zip(self.times, self.times[1:]))


def _spin_until(app, done, timeout: float = 600.0) -> None:
    end = time.perf_counter() + timeout
    while not done():
        if time.perf_counter() > end:
            raise RuntimeError("the window did not finish in time")
        app.processEvents()
        time.sleep(0.001)


def bench_window(video: Path) -> dict:
    """Responsiveness and cancellation on the real main window, offscreen, real models."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from v2m_desktop.app.window import MainWindow
    from v2m_desktop.core.model.checkpoint import load_models
    app = QApplication.instance() or QApplication([])
    load_models()           # the app loads them in the background at start-up
    old_cache = os.environ.get("V2M_CACHE_DIR")
    with tempfile.TemporaryDirectory(prefix="v2m-bench-app-") as d:
        os.environ["V2M_CACHE_DIR"] = d     # an empty analysis cache: the whole job is timed
        try:
            w = MainWindow()
            w.show()
            s = w.session
            ticks = _Ticks()

            def wait(ms):
                loop = QEventLoop()
                QTimer.singleShot(ms, loop.quit)
                loop.exec()
            ticks.start()
            wait(1000)
            idle_gap = ticks.stop()

            ticks.start()
            t0 = time.perf_counter()
            w.open_path(video)
            s.generate(0)
            _spin_until(app, lambda: s.music is not None and not s.busy)
            busy_gap, generate_s = ticks.stop(), time.perf_counter() - t0

            cancels = {}
            for stage in ("analyse", "compose", "render"):
                os.environ["V2M_CACHE_DIR"] = str(Path(d) / stage)   # analysis runs again
                seen = []
                conn = s.progress.connect(lambda st, f, seen=seen: seen.append(st))
                w.documents.modified = False            # the last music goes unasked
                w.open_path(video)                      # a new project: analyse, compose, render
                s.generate(1)
                _spin_until(app, lambda stage=stage, seen=seen: stage in seen or not s.busy)
                s.progress.disconnect(conn)
                if not s.busy:
                    continue
                t0 = time.perf_counter()
                s.cancel()
                _spin_until(app, lambda: not s.busy)
                cancels[stage] = time.perf_counter() - t0
            w.documents.modified = False
            w.close()
        finally:
            if old_cache is None:
                os.environ.pop("V2M_CACHE_DIR", None)
            else:
                os.environ["V2M_CACHE_DIR"] = old_cache
    return {"video": str(video), "generate_s": generate_s, "longest_gap_ms": 1000 * busy_gap,
            "idle_gap_ms": 1000 * idle_gap, "cancel_s": cancels,
            "cancel_max_s": max(cancels.values()) if cancels else float("nan")}


def edit_video(folder: Path, seconds: int = 180) -> Path:
    """A `seconds`-s clip with a cut every 6 to 9 s (small frames: the edit is what is timed)."""
    from v2m_desktop.core.video.synthetic import make_test_video
    video = Path(folder) / f"edit-{seconds}s.mp4"
    cuts, t = [], 0.0
    while t + 9 < seconds:
        t += 6 + (len(cuts) * 7) % 4
        cuts.append(t)
    make_test_video(video, seconds, fps=24, size=(320, 180), cuts=cuts)
    return video


@contextmanager
def _scored_window(video: Path | None, seconds: int):
    """(the application, a shown MainWindow whose `video` (or a made clip of `seconds`) is
    scored, the (when, soundtrack) list of what its player was given); closed after."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from v2m_desktop.app.audio import Output
    from v2m_desktop.app.window import MainWindow
    app = QApplication.instance() or QApplication([])
    held: list[tuple[float, object]] = []

    def output(soundtrack):
        held.append((time.perf_counter(), soundtrack))
        return Output(soundtrack), None
    with tempfile.TemporaryDirectory(prefix="v2m-bench-edit-") as d:
        w = MainWindow(output_factory=output)
        w.resize(1280, 860)
        w.show()
        s = w.session
        w.open_path(Path(video) if video is not None else edit_video(Path(d), seconds))
        s.generate(0)
        _spin_until(app, lambda: s.music is not None and not s.busy)
        s.wait_rendered()
        try:
            yield app, w, held
        finally:
            w.documents.modified = False
            w.close()
            w.deleteLater()
            app.processEvents()


def _paints(widget) -> list[float]:
    """The times `widget` is painted from now on (a list that grows; keep it while timing)."""
    from PySide6.QtCore import QEvent, QObject
    times: list[float] = []

    class Spy(QObject):
        def eventFilter(self, obj, e):  # noqa: N802 - Qt's name
            if e.type() == QEvent.Type.Paint:
                times.append(time.perf_counter())
            return False
    spy = Spy(widget)
    widget.installEventFilter(spy)
    return times


def bench_edit_in_player(video: Path | None = None, seconds: int = 180, repeats: int = 3) -> dict:
    """Edit to new audio in the player on the real window (offscreen, real models): a chord set
    in the chord dialog by the keyboard, timed from its Return to the player's new soundtrack
    (the re-render's wait included); the median of `repeats` edits after one untimed (it loads
    the models).  Baseline: a full arrange + render of the same project."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    with _scored_window(video, seconds) as (app, w, held):
        s = w.session
        p = s.project
        chords = ("F#m7", "Bbmaj7", "C#dim", "Ebsus4")
        times, changed, lane_times = [], [], []
        repainted = _paints(w.timeline.chords)
        for i, chord in enumerate(chords[:repeats + 1]):
            a = p.seconds * (i + 2) // (repeats + 3)
            w.axis.set_selection(a, a + 2)
            w.editing.pick_chord()
            dlg = w.editing.chord_dialog
            dlg.symbol.setText(chord)
            before = s.music.soundtrack
            n = len(held)
            repainted.clear()
            t0 = time.perf_counter()
            QTest.keyClick(dlg.symbol, Qt.Key.Key_Return)            # the user's action
            _spin_until(app, lambda: bool(repainted), timeout=10)
            lane_times.append(repainted[0] - t0)
            _spin_until(app, lambda n=n, b=before: len(held) > n and held[-1][1] is not b, timeout=120)
            if i:
                times.append(held[-1][0] - t0)
            new = held[-1][1]
            changed.append(bool(np.abs(new.music - before.music).max() > 1e-4))
            s.wait_rendered()
        t0 = time.perf_counter()
        with s.engine.reading(s.project.copy()) as engine:
            engine.score()
        full_s = time.perf_counter() - t0
    times.sort()
    return {"edit_video_s": p.seconds, "edit_to_lane_max_s": max(lane_times),
            "edit_to_player_s": times[len(times) // 2],
            "edit_to_player_max_s": times[-1], "edit_full_render_s": full_s,
            "edit_audio_changed": all(changed)}


def edit_line(r: dict) -> str:
    """The edit figure as `v2m bench app` prints it."""
    return (f"app edit to new audio in the player ({r['edit_video_s']} s video): chord edit "
            f"{r['edit_to_player_s']:.2f} s (max {r['edit_to_player_max_s']:.2f} s; target < 1 s) vs a "
            f"full arrange + render {r['edit_full_render_s']:.2f} s; the edit in its lane within "
            f"{1000 * r['edit_to_lane_max_s']:.0f} ms (target < 20 ms)")


def bench_note_drag(video: Path | None = None, seconds: int = 180, repeats: int = 3) -> dict:
    """A note dragged on the piano-roll by the mouse (a beat later, two semitones up), timed
    from the release to the lane's repaint and to the player's new soundtrack; the median of
    `repeats` drags after one untimed.  `video`: a clip, or a made one of `seconds`."""
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest
    with _scored_window(video, seconds) as (app, w, held):
        s = w.session
        lane = w.timeline.piano_roll
        repainted = _paints(lane)
        times, lane_times = [], []
        for i in range(repeats + 1):
            t0 = s.project.seconds * (i + 1) / (repeats + 2)
            w.axis.zoom(w.axis.width / 8.0 / w.axis.pps)
            w.axis.scroll_to(t0)
            app.processEvents()
            shown = map(lane.note, range(len(lane.model.notes)))
            at = next(lane.rect_of(n, False).center() for n in shown if n.start >= t0 + 1
                      and not lane.is_drum(n.part) and lane.note_at(lane.rect_of(n, False).center()) == n)
            beat = float(np.median(np.diff(lane.model.beats)))
            src = QPoint(int(at.x()), int(at.y()))
            dst = QPoint(src.x() + int(beat * w.axis.pps), src.y() - int(2 * lane.row_height()))
            QTest.mousePress(lane, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, src)
            QTest.mouseMove(lane, QPoint(src.x() + 10, src.y()))
            QTest.mouseMove(lane, dst)
            before, n = s.music.soundtrack, len(held)
            repainted.clear()
            t_release = time.perf_counter()
            QTest.mouseRelease(lane, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, dst)
            _spin_until(app, lambda: bool(repainted), timeout=10)
            lane_times.append(repainted[0] - t_release)
            _spin_until(app, lambda n=n, b=before: len(held) > n and held[-1][1] is not b, timeout=120)
            if i:
                times.append(held[-1][0] - t_release)
            s.wait_rendered()
        seconds_long = s.project.seconds
    times.sort()
    return {"video_s": seconds_long, "to_lane_max_s": max(lane_times), "to_player_s": times[len(times) // 2],
            "to_player_max_s": times[-1]}


def note_lines(short: dict, long: dict) -> str:
    return "\n".join(
        f"app note drag on the piano-roll ({r['video_s']} s video): release to the lane repainted "
        f"{1000 * r['to_lane_max_s']:.0f} ms (max; target < 20 ms), to the new audio in the player "
        f"{r['to_player_s']:.2f} s (max {r['to_player_max_s']:.2f} s; target < {target})"
        for r, target in ((short, "0.3 s"), (long, "1 s")))


def make_4k_clip(path: Path, seconds: float = 3.0) -> Path:
    """A `seconds`-s 3840x2160 30-fps testsrc2 clip (H.264, one keyframe: the hardest seek)."""
    from v2m_desktop.core.files import ffmpeg_exe
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=3840x2160:rate=30",
                    "-t", f"{seconds}", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                    str(path)], check=True)
    return path


def bench_preview_clip(video: Path, seconds: float = 3.0) -> dict:
    """Play `seconds` of `video` in the window's Player and VideoView (offscreen, a silent
    clock), after the paused first frame is shown: {frames_per_s, longest_gap_ms, large}."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from v2m_desktop.app.audio import Output
    from v2m_desktop.app.player import Player, VideoView
    from v2m_desktop.core.video.probe import probe
    app = QApplication.instance() or QApplication([])
    info = probe(video)
    view = VideoView()
    view.resize(960, 540)
    view.show()
    player = Player(view, output_factory=lambda soundtrack: (Output(soundtrack), None))
    shown: list[float] = []
    view.sink.videoFrameChanged.connect(lambda _f: shown.append(time.perf_counter()))
    player.set_video(str(video), min(info.duration, seconds), info.fps, (info.width, info.height))
    if player.decoded is not None:
        player.decoded.frame.connect(lambda _image: shown.append(time.perf_counter()))

    def wait(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()
    _spin_until(app, lambda: bool(shown), timeout=30)     # the first picture, paused
    wait(500)
    shown.clear()
    t0 = time.perf_counter()
    player.play()
    _spin_until(app, lambda: not player.playing, timeout=60)
    t1 = time.perf_counter()
    player.close()
    view.close()
    times = [t0, *shown, t1]
    return {"frames_per_s": len(shown) / (t1 - t0),
            "longest_gap_ms": 1000 * max(b - a for a, b in zip(times, times[1:])),
            "large": player.decoded is not None}


def bench_preview(small: Path = SHARED_CLIP) -> dict:
    """The preview of a 4K clip against the 360p clip's (each played for 3 s)."""
    with tempfile.TemporaryDirectory(prefix="v2m-bench-4k-") as d:
        big = bench_preview_clip(make_4k_clip(Path(d) / "4k.mp4"))
    little = bench_preview_clip(small)
    return {"preview_4k_fps": big["frames_per_s"], "preview_4k_gap_ms": big["longest_gap_ms"],
            "preview_360p_fps": little["frames_per_s"], "preview_360p_gap_ms": little["longest_gap_ms"]}


def preview_line(r: dict) -> str:
    """The preview figure as `v2m bench app` prints it."""
    return (f"app preview of a 3-s 4K (3840x2160, 30 fps) clip: {r['preview_4k_fps']:.1f} pictures a second, "
            f"longest freeze {r['preview_4k_gap_ms']:.0f} ms (target < 100 ms) vs the 360p clip "
            f"{r['preview_360p_fps']:.1f} a second, {r['preview_360p_gap_ms']:.0f} ms")


def bench_app(video: Path | None = None) -> dict:
    if video is None:
        if not SHARED_CLIP.is_file():
            from v2m_desktop.core.errors import V2MError
            raise V2MError(f"bench app needs a video: the shared clip {SHARED_CLIP} is not here")
        video = SHARED_CLIP
    return {**bench_launch(), **bench_window(Path(video)), **bench_edit_in_player(), **bench_preview(),
            "notes_short": bench_note_drag(Path(video)), "notes_long": bench_note_drag()}


if __name__ == "__main__":          # the edit, note-drag and preview figures alone
    print(edit_line(bench_edit_in_player()))
    print(note_lines(bench_note_drag(SHARED_CLIP), bench_note_drag()))
    print(preview_line(bench_preview()))
