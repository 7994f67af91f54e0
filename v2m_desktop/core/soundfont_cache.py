"""A decoded copy of a compressed SoundFont (.sf3), made once and kept in the user's cache.

FluidSynth decodes an .sf3's Ogg Vorbis samples at every load (MuseScore General: 1.6-3.5 s a
fresh process, against 0.05 s for a plain .sf2), so a fresh `v2m score` paid it in its render
stage (4.0x TimGM6mb's).  The .sf2 written here holds the same samples as 16-bit PCM: the bank's
other chunks are copied byte for byte, and the sample headers are given PCM offsets.

Written here because no maintained library serves: sf2utils and sf2_loader read .sf2 only, and
the converters that write .sf2 from .sf3 (Polyphone, MuseScore's sftools) are applications, not
libraries.  The samples are decoded by libsndfile (soundfile), the decoder FluidSynth itself
uses, and a test renders the copy against FluidSynth playing the .sf3.
"""
from __future__ import annotations

import io
import os
import struct
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

FORMAT = 1                  # in the cache's file name: a change of the writer rebuilds it
OGG_VORBIS = 0x10           # SoundFont sample type flag of a compressed (sf3) sample
_SHDR = struct.Struct("<20sIIIIIBbHH")      # a 46-byte sample header
_PAD = 46                   # zero frames after each sample, as the SoundFont 2 spec asks

_lock = threading.Lock()


class NotDecodable(Exception):
    """The .sf3 is not one this writer decodes (the caller plays the .sf3 itself)."""


@dataclass(frozen=True)
class _Chunk:
    cid: bytes
    start: int              # offset of the data
    size: int


def cache_dir() -> Path:
    """V2M_SOUNDFONT_CACHE, else ~/.cache/v2m-desktop/soundfonts.  Not under V2M_CACHE_DIR: the
    benches point that at an empty folder per run to time a whole analysis, and a bank decoded
    again there would be timed as if a user paid it every time."""
    env = os.environ.get("V2M_SOUNDFONT_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "v2m-desktop" / "soundfonts"


def _chunks(buf: bytes, off: int, end: int) -> list[_Chunk]:
    out = []
    while off + 8 <= end:
        cid, size = struct.unpack_from("<4sI", buf, off)
        if off + 8 + size > end:
            raise NotDecodable(f"chunk {cid!r} runs past its parent")
        out.append(_Chunk(cid, off + 8, size))
        off += 8 + size
        # RIFF pads odd chunks to even, but MuseScore's .sf3 writer does not: take what parses
        if size & 1 and not buf[off:off + 4].isalnum():
            off += 1
    return out


def _lists(buf: bytes) -> dict[bytes, list[_Chunk]]:
    if buf[:4] != b"RIFF" or buf[8:12] != b"sfbk":
        raise NotDecodable("not a SoundFont")
    lists = {}
    for c in _chunks(buf, 12, len(buf)):
        if c.cid == b"LIST":
            lists[buf[c.start:c.start + 4]] = _chunks(buf, c.start + 4, c.start + c.size)
    if not {b"INFO", b"sdta", b"pdta"} <= lists.keys():
        raise NotDecodable("a SoundFont's INFO, sdta or pdta list is missing")
    return lists


def _chunk(cid: bytes, data: bytes) -> bytes:
    return struct.pack("<4sI", cid, len(data)) + data + (b"\0" if len(data) & 1 else b"")


def _list(kind: bytes, parts: list[bytes]) -> bytes:
    return _chunk(b"LIST", kind + b"".join(parts))


def decode_sf3(buf: bytes, out: BinaryIO) -> None:
    """Write the .sf2 of the .sf3 `buf` into `out` (raises NotDecodable).  In an .sf3 a sample
    header's start and end are byte offsets of its Ogg stream in smpl, and its loop points count
    frames from the sample's own start; in the .sf2 all four are frame offsets into the PCM.
    Each sample is written as it is decoded, and the lengths are filled in after: the whole PCM
    (MuseScore General: 216 MB) is never held in memory."""
    import soundfile
    lists = _lists(buf)
    smpl = next((c for c in lists[b"sdta"] if c.cid == b"smpl"), None)
    shdr = next((c for c in lists[b"pdta"] if c.cid == b"shdr"), None)
    if smpl is None or shdr is None or shdr.size % _SHDR.size:
        raise NotDecodable("no sample data or sample headers")
    ogg = buf[smpl.start:smpl.start + smpl.size]
    info = [_chunk(b"ifil", struct.pack("<HH", 2, 1)) if c.cid == b"ifil"
            else _chunk(c.cid, buf[c.start:c.start + c.size]) for c in lists[b"INFO"]]
    out.write(b"RIFF\0\0\0\0sfbk" + _list(b"INFO", info) + b"LIST\0\0\0\0sdtasmpl\0\0\0\0")
    sdta_at = out.tell() - 20       # where LIST sdta begins
    headers = []
    pos = 0
    n = shdr.size // _SHDR.size
    for i in range(n):
        name, start, end, loop0, loop1, rate, pitch, corr, link, kind = _SHDR.unpack_from(
            buf, shdr.start + i * _SHDR.size)
        if i == n - 1:                          # the terminal "EOS" record
            headers.append(_SHDR.pack(name, 0, 0, 0, 0, 0, 0, 0, 0, 0))
            continue
        if not kind & OGG_VORBIS or end < start or end > len(ogg):
            raise NotDecodable(f"sample {i} is not an Ogg Vorbis stream")
        try:
            data, _ = soundfile.read(io.BytesIO(ogg[start:end]), dtype="int16", always_2d=True)
        except (RuntimeError, soundfile.LibsndfileError) as e:
            raise NotDecodable(f"sample {i}: {e}") from e
        frames = np.ascontiguousarray(data[:, 0], dtype="<i2")
        headers.append(_SHDR.pack(name, pos, pos + len(frames), pos + loop0, pos + loop1, rate,
                                  pitch, corr, link, kind & ~OGG_VORBIS))
        out.write(frames.tobytes() + bytes(2 * _PAD))
        pos += len(frames) + _PAD
    pdta = [_chunk(c.cid, b"".join(headers) if c.cid == b"shdr" else buf[c.start:c.start + c.size])
            for c in lists[b"pdta"]]
    out.write(_list(b"pdta", pdta))
    total = out.tell()
    for at, value in ((4, total - 8), (sdta_at + 4, 12 + 2 * pos), (sdta_at + 16, 2 * pos)):
        out.seek(at)
        out.write(struct.pack("<I", value))
    out.seek(total)


def _cache_path(source: Path) -> Path:
    st = source.stat()
    return cache_dir() / f"{source.stem}-{st.st_size}-{st.st_mtime_ns}-v{FORMAT}.sf2"


def _whole(path: Path) -> bool:
    """A cache file that is whole: its RIFF length is its size (a write cut short is not)."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
        return (len(head) == 12 and head[:4] == b"RIFF" and head[8:12] == b"sfbk"
                and struct.unpack_from("<I", head, 4)[0] + 8 == path.stat().st_size)
    except OSError:
        return False


STALE_S = 3600              # a build's temporary file this old was left by a killed process


def _sweep(folder: Path) -> None:
    """Remove the temporary files of builds that were killed (a build takes seconds)."""
    import time
    for tmp in folder.glob(".*.tmp"):
        try:
            if time.time() - tmp.stat().st_mtime > STALE_S:
                tmp.unlink()
        except OSError:
            pass


def playable(soundfont: Path) -> Path:
    """The file FluidSynth should load for `soundfont`: for an .sf3, its decoded copy in the
    cache (made now if missing, damaged or of another version of the source: the name carries
    the source's size and modification time); the .sf3 itself where no copy can be made (it
    does not decode, or the cache cannot be written), so playing never depends on the cache."""
    if soundfont.suffix.lower() != ".sf3":
        return soundfont
    with _lock:
        try:
            target = _cache_path(soundfont)
            if _whole(target):
                return target
            source = soundfont.read_bytes()
            target.parent.mkdir(parents=True, exist_ok=True)
            _sweep(target.parent)
            # written beside its place and renamed: another process never reads half a file
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as f:
                    decode_sf3(source, f)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            for old in target.parent.glob(f"{soundfont.stem}-*.sf2"):    # older versions' copies
                if old != target:
                    old.unlink(missing_ok=True)
            return target
        except (OSError, NotDecodable, MemoryError, ImportError):
            return soundfont
