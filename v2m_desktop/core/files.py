"""Writing files safely and finding ffmpeg: shared by every stage that touches the disk."""
from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from v2m_desktop.core.errors import V2MError


def ffmpeg_exe(required: bool = True) -> str | None:
    """moviepy's ffmpeg (imageio-ffmpeg's bundled binary), else the system's; without one,
    V2MError when `required`, else None."""
    try:
        import imageio_ffmpeg
        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:  # noqa: BLE001 - no bundled binary for this platform
        exe = shutil.which("ffmpeg")
    if exe is None and required:
        raise V2MError("ffmpeg not found: pip install imageio-ffmpeg (or apt-get install ffmpeg)")
    return exe


def same_file(a: Path, b: Path) -> bool:
    try:
        if Path(a).resolve() == Path(b).resolve():
            return True
        return Path(a).exists() and Path(b).exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_output(out: Path, *inputs: Path | None) -> Path:
    """`out` as a Path; V2MError when it is one of the inputs (same path or same file) or a
    folder."""
    out = Path(out)
    for src in inputs:
        if src is not None and same_file(out, Path(src)):
            raise V2MError(f"the output {out} is the input file; choose another name")
    if out.is_dir():
        raise V2MError(f"the output {out} is a folder; give a file name")
    return out


def check_writable(out: Path, *inputs: Path | None) -> Path:
    """check_output, and a file can be made in its folder: fails now, not after the work."""
    out = check_output(out, *inputs)
    temp_next_to(out).unlink()
    return out


def temp_next_to(out: Path, suffix: str = ".part") -> Path:
    """Create a new empty hidden file next to `out` and return its path; V2MError when the
    folder is missing or not writable."""
    out = Path(out)
    folder = out.parent
    if not folder.exists():
        raise V2MError(f"output folder does not exist: {folder}")
    if not folder.is_dir():
        raise V2MError(f"cannot write to the folder {folder}: it is a file")
    for _ in range(100):
        tmp = folder / f".{out.name}.{uuid.uuid4().hex[:8]}{suffix}"
        try:
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            return tmp
        except FileExistsError:
            continue
        except OSError as e:
            raise V2MError(f"cannot write to the folder {folder}: {e.strerror or e}") from None
    raise V2MError(f"cannot create a temporary file in {folder}")


@contextmanager
def atomic_output(path: Path, suffix: str = ".part") -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success it replaces `path` in one step, on any
    failure it is removed, so a reader never sees half a file and an old file survives."""
    path = Path(path)
    tmp = temp_next_to(path, suffix)
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise V2MError(f"cannot write {path}: {e.strerror or e}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
