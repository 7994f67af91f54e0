"""Reader for the MuVi-Sync feature layout (see shared/muvi-sync/README.md, section 2).

One second per row.  The chord file defines a video's length L; the other modalities may be one
row short or long (as in the original release) and are aligned to L by repeating their last row
or dropping the extra one.  Anything else (a missing file, a malformed row, a gap in the time
column, a larger length mismatch) raises V2MError naming the file: nothing is zero-filled.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from v2m_desktop.core.chords import VOCAB
from v2m_desktop.core.errors import V2MError
from v2m_desktop.core.features import SEMANTIC_DIM, VideoFeatures

WINDOW = 300            # the reference only ever looks at the first 300 s
SPLITS = ("train", "val", "test")


@dataclass
class MuviVideo:
    """One MuVi-Sync video: inputs aligned to the chord rows, targets at their own length."""
    vid: str
    mode: int                           # 0 = major key (C major), 1 = minor key (A minor)
    chords: np.ndarray                  # [L] int64 token ids, key-normalised
    features: VideoFeatures             # L rows
    note_density: np.ndarray            # [<= L+1] float32 target
    loudness: np.ndarray                # float32 target
    emotion_rows: int = 0               # rows of the emotion file before alignment

    def emotion_argmax(self, start: int = 0, window: int = WINDOW) -> np.ndarray:
        """Most probable emotion of second start+j+1 for each decoder position j of a window
        (window - 1 of them), -1 where the emotion file has no row for that second."""
        sec = start + 1 + np.arange(window - 1)
        arg = self.features.emotion.argmax(axis=1)
        return np.where(sec < self.emotion_rows, arg[np.minimum(sec, len(arg) - 1)], -1)

    def __len__(self) -> int:
        return len(self.chords)


def _split(path: Path) -> list[list[str]]:
    try:
        with open(path, encoding="utf-8") as fh:
            return [ln.split() for ln in fh if ln.strip()]
    except FileNotFoundError:
        raise V2MError(f"missing file {path}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise V2MError(f"cannot read {path}: {err}") from None


def _timed(path: Path, lines: list[list[str]]) -> list[list[str]]:
    """The rows, checked to start at second 0 and follow one another."""
    for t, ln in enumerate(lines):
        if ln[0] != str(t):
            raise V2MError(f"malformed file {path}: row {t} has time {ln[0]!r}")
    return lines


def _rows(path: Path) -> list[list[str]]:
    return _timed(path, _split(path))


def _header_rows(path: Path, word: str) -> tuple[list[str], list[list[str]]]:
    """(the header line's words, the rows) of a file whose first line starts with `word`."""
    lines = _split(path)
    if not lines or lines[0][0] != word:
        raise V2MError(f"malformed file {path}: the first line should start with {word!r}")
    return lines[0], _timed(path, lines[1:])


def _numbers(path: Path, lines: list[list[str]], width: int) -> np.ndarray:
    try:
        arr = np.array([[float(v) for v in ln[1:]] for ln in lines], dtype=np.float32)
    except ValueError as err:
        raise V2MError(f"malformed file {path}: {err}") from None
    if arr.ndim != 2 or arr.shape[1] != width or not np.isfinite(arr).all():
        raise V2MError(f"malformed file {path}: expected {width} finite number(s) per row")
    return arr if width > 1 else arr[:, 0]


def _align(arr: np.ndarray, length: int, path: Path) -> np.ndarray:
    """Pad by repeating the last row, or drop extra rows; at most one row either way."""
    if len(arr) == length:
        return arr
    if abs(len(arr) - length) > 1 or len(arr) == 0:
        raise V2MError(f"malformed file {path}: {len(arr)} rows where the chord file has {length}")
    if len(arr) > length:
        return arr[:length]
    return np.concatenate([arr, arr[-1:]], axis=0)


class MuviSync:
    """A MuVi-Sync root folder (train and val splits, and test where present)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        if not (self.root / "vevo_chord").is_dir():
            raise V2MError(f"{self.root} is not a MuVi-Sync folder (no vevo_chord/ inside)")

    def split(self, name: str) -> list[str]:
        path = self.root / "vevo_meta" / "split" / "v1" / f"{name}.txt"
        if name not in SPLITS:
            raise V2MError(f"unknown split {name!r} (expected one of {', '.join(SPLITS)})")
        if not path.is_file():
            raise V2MError(f"no {name} split in {self.root} (missing {path})")
        return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]

    def _lab(self, folder: str, vid: str) -> Path:
        return self.root / folder / "all" / f"{vid}.lab"

    def chords(self, vid: str) -> tuple[int, np.ndarray]:
        path = self.root / "vevo_chord" / "lab_v2_norm" / "all" / f"{vid}.lab"
        key_line, lines = _header_rows(path, "key")
        if not lines:
            raise V2MError(f"malformed file {path}: no chord rows")
        mode = 0 if "major" in key_line else 1
        try:
            seq = np.array([VOCAB[ln[1]] for ln in lines], dtype=np.int64)
        except (KeyError, IndexError) as err:
            raise V2MError(f"malformed file {path}: unknown chord {err}") from None
        return mode, seq

    def _semantic_path(self, vid: str) -> Path:
        base = self.root / "vevo_semantic" / "all" / "2d"
        for folder in ("clip_l14p", "clip_l14p_int8"):
            path = base / folder / f"{vid}.npy"
            if path.is_file():
                return path
        raise V2MError(f"missing file {base / 'clip_l14p_int8' / (vid + '.npy')}")

    def semantic(self, vid: str) -> np.ndarray:
        """[T, 768] float32 from float32/float16 arrays or int8 + scale.npy."""
        path = self._semantic_path(vid)
        try:
            arr = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as err:
            raise V2MError(f"cannot read {path}: {err}") from None
        if arr.ndim != 2 or arr.shape[1] != SEMANTIC_DIM:
            raise V2MError(f"malformed file {path}: shape {arr.shape}, expected [T, {SEMANTIC_DIM}]")
        if arr.dtype == np.int8:
            scale_path = path.parent / "scale.npy"
            try:
                scale = np.load(scale_path, allow_pickle=False).astype(np.float32)
            except (OSError, ValueError) as err:
                raise V2MError(f"cannot read {scale_path}: {err}") from None
            if scale.shape != (SEMANTIC_DIM,):
                raise V2MError(f"malformed file {scale_path}: shape {scale.shape}")
            return arr.astype(np.float32) * (scale / 127.0)
        if arr.dtype not in (np.float16, np.float32):
            raise V2MError(f"malformed file {path}: dtype {arr.dtype}")
        return arr.astype(np.float32)

    def video(self, vid: str, *, semantic: bool = True) -> MuviVideo:
        mode, chords = self.chords(vid)
        n = len(chords)
        emo_path = self.root / "vevo_emotion" / "6c_l14p" / "all" / f"{vid}.lab"
        emotion_raw = _numbers(emo_path, _header_rows(emo_path, "time")[1], 6)
        emotion = _align(emotion_raw, n, emo_path)
        series = {}
        for name, folder in (("motion", "vevo_motion"), ("offset", "vevo_scene_offset"),
                             ("density", "vevo_note_density"), ("loudness", "vevo_loudness")):
            path = self._lab(folder, vid)
            series[name] = (path, _numbers(path, _rows(path), 1))
        motion = _align(series["motion"][1], n, series["motion"][0])
        offset = _align(series["offset"][1], n, series["offset"][0])
        sem = None
        if semantic:
            sem_raw = self.semantic(vid)
            sem = _align(sem_raw, n, self._semantic_path(vid))
        return MuviVideo(vid, mode, chords, VideoFeatures(emotion, motion, offset, sem),
                         series["density"][1], series["loudness"][1], len(emotion_raw))

    def load(self, split: str, *, semantic: bool = True, limit: int | None = None) -> list[MuviVideo]:
        ids = self.split(split)
        return [self.video(v, semantic=semantic) for v in ids[:limit]]


def teacher_forcing(chords: np.ndarray, window: int = WINDOW, *, end: bool = True
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Decoder input x and target y of the reference (README section 3), each window-1 long.

    Slot j of x holds chord j; y[j] is the chord of second j+1, END right after the last chord
    of a video shorter than the window (when ``end``), PAD after that.
    """
    from v2m_desktop.core.chords import END_ID, PAD_ID
    slots = np.full(window + 1, PAD_ID, dtype=np.int64)
    n = min(len(chords), window)
    slots[:n] = chords[:n]
    if end and len(chords) < window:
        slots[n] = END_ID
    x = slots[:window - 1].copy()
    x[n:] = PAD_ID                  # the reference leaks END into x[L]; harmless, but keep x clean
    return x, slots[1:window].copy()
