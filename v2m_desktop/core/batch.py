"""Scoring a whole library: `v2m batch`.

Inputs (videos, folders searched recursively, list files) become one job per video, written
under OUTDIR with the input's relative path kept.  A manifest in OUTDIR (JSON lines) gets a
record as each video ends, so a second run skips what is done and unchanged and retries what
failed.  Videos run in worker processes that load the models once (`run_local`), or as Ray
tasks on a cluster (`core.batch_ray`); one failing video never stops the others."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from v2m_desktop.core.errors import Cancelled, V2MError
from v2m_desktop.core.pipeline import ScoreSettings
from v2m_desktop.core.progress import Progress
from v2m_desktop.core.video.analysis import content_hash

VIDEO_EXTS = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".wmv", ".ts", ".mts"}
LIST_EXTS = {".txt", ".lst", ".list", ".m3u"}
MANIFEST = "v2m-batch.jsonl"
MANIFEST_MAX = 256 << 20        # ~1 M records


@dataclass(frozen=True)
class Item:
    video: Path        # the input file
    rel: Path          # where its outputs go under OUTDIR, without suffix (e.g. trips/day1/beach)


@dataclass
class Request:
    """What to write for each video (the flags of `v2m score`) and how to score it."""
    outdir: Path
    settings: ScoreSettings
    midi: bool = False
    wav: bool = False
    stems: bool = False
    project: bool = False                # also a .v2m project per video (to edit it later)
    keep_original_audio: float = 0.0
    duck_db: float | None = None         # Outputs' duck depth and loudness target
    loudness: float | None = None

    def project_path(self, item: Item) -> Path | None:
        base = self.outdir / item.rel
        return base.with_name(base.name + ".v2m") if self.project else None

    def outputs(self, item: Item):
        from v2m_desktop.core.pipeline import Outputs
        base = self.outdir / item.rel
        return Outputs(mp4=base.with_name(base.name + ".mp4"),
                       midi=base.with_name(base.name + ".mid") if self.midi else None,
                       wav=base.with_name(base.name + ".wav") if self.wav else None,
                       stems=base.with_name(base.name + " stems") if self.stems else None,
                       keep_original_audio=self.keep_original_audio, duck_db=self.duck_db,
                       loudness=self.loudness)

    def settings_key(self) -> str:
        """What makes two runs' outputs differ, besides the video."""
        d = dataclasses.asdict(self.settings)
        d.pop("device", None)
        d.pop("cache_dir", None)
        d["outputs"] = (self.midi, self.wav, self.stems, self.project, self.keep_original_audio)
        if (self.duck_db, self.loudness) != (None, None):      # a manifest from before keeps its key
            d["mix"] = (self.duck_db, self.loudness)
        return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass
class Record:
    """One manifest line: how one video ended."""
    input: str
    content_hash: str                    # of the whole file (an edited video runs again)
    settings: str
    status: str                          # "done" or "failed"
    outputs: dict = field(default_factory=dict)
    seconds: float = 0.0
    error: str = ""
    ended: float = 0.0


# --------------------------------------------------------------------------------------------- #
# inputs

def collect(inputs: Iterable[str | os.PathLike], outdir: Path | None = None) -> list[Item]:
    """Videos, folders (recursively, by video extension) and list files (one path a line,
    relative to the list's folder; '#' starts a comment) -> items, each video once. A folder's
    videos inside `outdir` are the batch's own outputs: never read. An item's place under
    OUTDIR never climbs out of it ('..' in a list line is dropped from it)."""
    items: list[Item] = []
    seen: set[Path] = set()
    own = _resolved(outdir) if outdir is not None else None

    def add(video: Path, rel: Path) -> None:
        key = video.resolve()
        if key not in seen:
            seen.add(key)
            items.append(Item(video, rel.with_suffix("")))

    for raw in inputs:
        p = Path(raw)
        if p.is_dir():
            videos = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in VIDEO_EXTS
                            and not (own is not None and _inside(_resolved(f), own)))
            if not videos:
                raise V2MError(f"no videos in the folder {p}")
            base = p.resolve().name or "videos"
            for f in videos:
                add(f, Path(base) / f.relative_to(p))
        elif p.is_file() and p.suffix.lower() in LIST_EXTS:
            for line in _list_lines(p):
                entry = Path(line)
                video = entry if entry.is_absolute() else p.parent / entry
                if not video.is_file():
                    raise V2MError(f"{p}: no such video: {line}")
                add(video, Path(entry.name) if entry.is_absolute() else _contained(entry))
        elif p.is_file():
            add(p, Path(p.name))
        else:
            raise V2MError(f"no such video, folder or list: {p}")
    if not items:
        raise V2MError("no videos to score")
    _check_unique([i.rel for i in items])
    return items


def _resolved(path: Path) -> Path:
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):        # RuntimeError: a symbolic-link loop (Python < 3.13)
        return Path(os.path.abspath(path))


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _contained(rel: Path) -> Path:
    """A relative place without '..' or '.' parts: 'a/../../in/clip.mkv' -> 'a/in/clip.mkv'."""
    parts = [p for p in rel.parts if p not in ("..", ".", "")]
    return Path(*parts) if parts else Path(rel.name or "video")


def check_inside(outdir: Path, outputs) -> None:
    """V2MError unless every output lies inside OUTDIR once links are followed (a symbolic link
    in OUTDIR pointing elsewhere must not carry the batch's writes there)."""
    root = _resolved(outdir)
    for path in (outputs.mp4, outputs.midi, outputs.wav, outputs.stems):
        if path is not None and not _inside(_resolved(path), root):
            raise V2MError(f"{path} is outside the output folder {outdir}; not written")


def _list_lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise V2MError(f"cannot read the list {path}: {getattr(e, 'strerror', None) or e}") from None
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def _check_unique(rels: list[Path]) -> None:
    seen: dict[str, Path] = {}
    for r in rels:
        key = str(r).lower()            # two names that differ in case collide on some disks
        if key in seen:
            raise V2MError(f"two inputs would write the same outputs ({seen[key]} and {r}): "
                           "rename one or score them in separate batches")
        seen[key] = r


# --------------------------------------------------------------------------------------------- #
# the manifest

class Manifest:
    """OUTDIR/v2m-batch.jsonl: a record appended (and synced) as each video ends; the last
    record of an input is its state."""

    def __init__(self, outdir: Path):
        from v2m_desktop.core.files import read_regular
        self.path = Path(outdir) / MANIFEST
        self.records: dict[str, Record] = {}
        self.damaged = 0            # lines skipped: cut short by a crash, or edited by hand
        if not (self.path.exists() or self.path.is_symlink()):
            return
        text = read_regular(self.path, MANIFEST_MAX, "manifest").decode("utf-8", errors="replace")
        for line in text.splitlines():
            rec = _record(line)
            if rec is None:
                self.damaged += 1   # that video runs again
                continue
            self.records[rec.input] = rec

    def append(self, rec: Record) -> None:
        line = json.dumps(dataclasses.asdict(rec)) + "\n"
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
            try:
                os.write(fd, line.encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as e:
            raise V2MError(f"cannot write the manifest {self.path}: {e.strerror or e} (the videos "
                           "recorded so far are kept; run again to go on)") from None
        self.records[rec.input] = rec

    def done(self, item: Item, digest: str, settings: str) -> bool:
        rec = self.records.get(str(item.video.resolve()))
        if rec is None or rec.status != "done" or rec.content_hash != digest or rec.settings != settings:
            return False
        return all(Path(p).exists() for p in _paths(rec.outputs))


def _record(line: str) -> Record | None:
    """A manifest line as a Record, or None when it is not one (wrong types included)."""
    try:
        d = json.loads(line)
        rec = Record(**{k: d[k] for k in Record.__dataclass_fields__ if k in d})
    except (ValueError, TypeError, RecursionError):
        return None
    texts = (rec.input, rec.content_hash, rec.settings, rec.status, rec.error)
    if not all(isinstance(t, str) for t in texts) or not isinstance(rec.outputs, dict) \
            or not all(isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v))
                       for v in rec.outputs.values()):
        return None
    return rec


def _paths(outputs: dict) -> list[str]:
    out = []
    for v in outputs.values():
        out.extend(v if isinstance(v, list) else [v])
    return out


# --------------------------------------------------------------------------------------------- #
# one video: the same in a worker process, in the calling process and in a Ray task

def score_one(video: Path, outputs, settings, models=None, progress: Progress | None = None,
              project: Path | None = None) -> dict:
    """Score `video` into `outputs` (and its .v2m `project`) with preloaded `models` (amt,
    dynamics); returns {"outputs": {kind: path}, "seconds": s}.  Raises V2MError for a video that
    cannot be scored."""
    from v2m_desktop.core.pipeline import export_score
    from v2m_desktop.core.scoring import score_video
    t0 = time.perf_counter()
    made = _make_folders(Path(outputs.mp4).parent)
    try:
        outputs.check(video, settings.arrange.instruments)
        result = score_video(video, settings, models=models, progress=progress)
        outputs.keep_mix_in(result.project)
        written = export_score(result, video, outputs, soundfont=settings.soundfont, progress=progress)
        if project is not None:
            written["project"] = result.project.save(project)
    except BaseException:
        for folder in reversed(made):       # a failed video leaves no empty folders behind
            try:
                folder.rmdir()
            except OSError:
                break
        raise
    paths = {k: ([str(p) for p in v] if isinstance(v, list) else str(v)) for k, v in written.items()}
    return {"outputs": paths, "seconds": time.perf_counter() - t0}


def _make_folders(folder: Path) -> list[Path]:
    """Create `folder` and its missing parents; returns those it created, outermost first."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    missing.reverse()
    for f in missing:
        try:
            f.mkdir()
        except FileExistsError:
            pass
        except OSError as e:
            raise V2MError(f"cannot create the folder {f}: {e.strerror or e}") from None
    return missing


def error_line(err: BaseException) -> str:
    """A failure as one line for the manifest and the summary."""
    if isinstance(err, V2MError):
        return str(err).splitlines()[0] if str(err) else "error"
    return f"{err.__class__.__name__}: {err}".splitlines()[0]


# --------------------------------------------------------------------------------------------- #
# local worker processes

_MODELS = None
_STOPPING = False       # a worker told to stop starts no further video
_PARENT = 0             # the batch's process id (0: not known)


def _orphaned() -> bool:
    """Has the batch that started this worker died (its pool's queues then never answer)?"""
    return bool(_PARENT) and os.getppid() != _PARENT


def _die_with(parent: int) -> None:
    """SIGTERM this worker when its parent dies (even by SIGKILL): it stops its video and removes
    its temporary files instead of finishing a video no manifest records. Linux's parent-death
    signal; elsewhere the pool's pipe closing ends an idle worker."""
    import ctypes
    import signal
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)      # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:          # it died before the signal was asked for
        os._exit(1)


def _worker_init(chords_model, dynamics_model, device: str, threads: int, parent: int = 0) -> None:
    """Each worker process loads the models once, with its share of the cores."""
    import signal
    import sys
    if parent and sys.platform.startswith("linux"):
        _die_with(parent)

    import torch

    from v2m_desktop.core.device import pick_device
    from v2m_desktop.core.model.checkpoint import load_models
    global _MODELS, _PARENT
    _PARENT = parent

    def stop(_signum, _frame) -> None:
        global _STOPPING
        if _orphaned():         # between videos, nothing to clean up: go now
            os._exit(1)
        _STOPPING = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # the parent decides when a batch stops
    signal.signal(signal.SIGTERM, stop)
    from v2m_desktop.core.render import set_synth_threads
    torch.set_num_threads(max(int(threads), 1))
    set_synth_threads(threads)
    _MODELS = load_models(chords_model, dynamics_model, pick_device(device))


def _worker_score(video: str, outputs, settings, project: Path | None = None) -> dict:
    from v2m_desktop.core.cleanup import Terminated, handling_signals
    global _STOPPING
    if _STOPPING:
        raise Cancelled()
    try:
        with handling_signals():        # SIGTERM from the parent: temporary files removed
            return score_one(Path(video), outputs, settings, models=_MODELS, project=project)
    except Terminated:
        if _orphaned():                 # the batch died: its files are removed, nobody waits
            os._exit(1)
        _STOPPING = True
        raise Cancelled() from None


def default_jobs() -> int:
    """About one worker per two cores."""
    return max((os.cpu_count() or 2) // 2, 1)


def run_local(todo: list[Item], request: Request, jobs: int,
              on_end: Callable[[Item, Record], None], hashes: dict[Item, str]) -> None:
    """Score `todo` in `jobs` worker processes; `on_end(item, record)` as each ends.  On
    KeyboardInterrupt (or the core's Terminated) the running videos are stopped, their
    temporary files removed, and the exception goes on."""
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool
    s = request.settings
    threads = max((os.cpu_count() or 2) // jobs, 1)
    ctx = mp.get_context("spawn")       # torch and threads do not survive fork
    # typeshed types initializer as taking no arguments; it is called with initargs
    pool = ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_worker_init,  # type: ignore[arg-type]
                               initargs=(s.chords_model, s.dynamics_model, s.device, threads,  # type: ignore[arg-type]
                                         os.getpid()))
    key = request.settings_key()
    pending = {}

    def record(f, item: Item) -> Record | None:
        try:
            res = f.result()
        except Cancelled:
            return None
        except BrokenProcessPool:
            raise V2MError("a worker process died (out of memory?); run again to go on with the "
                           "rest") from None
        except Exception as err:  # noqa: BLE001 - one video's failure is its record
            return Record(str(item.video.resolve()), hashes[item], key, "failed",
                          error=error_line(err), ended=time.time())
        return Record(str(item.video.resolve()), hashes[item], key, "done", res["outputs"],
                      res["seconds"], ended=time.time())

    try:
        for item in todo:
            f = pool.submit(_worker_score, str(item.video), request.outputs(item), s,
                            request.project_path(item))
            pending[f] = item
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for f in finished:
                rec = record(f, item := pending.pop(f))
                if rec is not None:
                    on_end(item, rec)
    except BaseException:
        for f in pending:
            f.cancel()
        _stop_workers(pool)
        pool.shutdown(wait=True, cancel_futures=True)
        for f, item in pending.items():         # a video that ended meanwhile is kept and recorded
            if f.done() and not f.cancelled() and f.exception() is None:
                rec = record(f, item)
                if rec is not None:
                    on_end(item, rec)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _stop_workers(pool) -> None:
    """SIGTERM each worker: inside a video it ends its ffmpeg and removes its temporary files."""
    import signal
    for proc in list(getattr(pool, "_processes", {}).values()):
        try:
            os.kill(proc.pid, signal.SIGTERM)
        except OSError:
            pass


# --------------------------------------------------------------------------------------------- #
# the batch

@dataclass
class Summary:
    done: list[tuple[Item, Record]] = field(default_factory=list)
    skipped: list[Item] = field(default_factory=list)
    failed: list[tuple[Item, Record]] = field(default_factory=list)
    damaged: int = 0            # manifest lines skipped (not records): those videos ran again


def run_batch(items: list[Item], request: Request, *, jobs: int | None = None, ray: str | None = None,
              on_plan: Callable[[int, int], None] | None = None,
              on_end: Callable[[Item, Record], None] | None = None) -> Summary:
    """Score every item not done yet; returns what happened.  `on_plan(todo, skipped)` once the
    manifest is read, `on_end(item, record)` as each video ends."""
    outdir = Path(request.outdir)
    if ray:     # an address where nothing answers: its one line before OUTDIR is made
        from v2m_desktop.core.batch_ray import reachable
        reachable(ray)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise V2MError(f"cannot create the output folder {outdir}: {e.strerror or e}") from None
    manifest = Manifest(outdir)
    key = request.settings_key()
    summary = Summary(damaged=manifest.damaged)
    todo, hashes = [], {}
    for item in items:
        try:
            check_inside(outdir, request.outputs(item))
        except V2MError as e:
            rec = Record(str(item.video.resolve()), "", key, "failed", error=str(e), ended=time.time())
            manifest.append(rec)
            summary.failed.append((item, rec))
            continue
        try:
            hashes[item] = content_hash(item.video)   # the whole file: an edited one runs again
        except OSError as e:
            rec = Record(str(item.video.resolve()), "", key, "failed",
                         error=f"cannot read {item.video}: {e.strerror or e}", ended=time.time())
            manifest.append(rec)
            summary.failed.append((item, rec))
            continue
        if manifest.done(item, hashes[item], key):
            summary.skipped.append(item)
        else:
            todo.append(item)
    if on_plan is not None:
        on_plan(len(todo), len(summary.skipped))

    def ended(item: Item, rec: Record) -> None:
        manifest.append(rec)
        (summary.done if rec.status == "done" else summary.failed).append((item, rec))
        if on_end is not None:
            on_end(item, rec)

    if todo:
        if ray:
            from v2m_desktop.core.batch_ray import run_ray
            run_ray(todo, request, ray, ended, hashes)
        else:
            run_local(todo, request, jobs or default_jobs(), ended, hashes)
    return summary

