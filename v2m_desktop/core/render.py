"""Synthesis: MIDI -> stereo float32 audio with FluidSynth (pyfluidsynth) and a General MIDI
SoundFont; peak-normalised to 0.9 (-1 dBFS), cut or padded to the video's duration, with a short
fade at the end."""
from __future__ import annotations

import ctypes
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pretty_midi

from v2m_desktop.core.errors import V2MError

PEAK = 0.9              # -0.9 dBFS
FADE_S = 0.6            # fade-out at the end (shorter for very short pieces)
MEMMAP_FRAMES = 10 * 60 * 44100     # longer audio buffers go to a temporary file
BLOCK = 1 << 20                     # frames per block for whole-buffer operations
TAIL_S = 1.5            # rendered after the last event so releases and reverb ring out
INSTALL_HINT = "install the system package libfluidsynth3 (apt-get install libfluidsynth3)"


def fluidsynth_module():
    try:
        import fluidsynth
    except (ImportError, OSError) as e:
        raise V2MError(f"the FluidSynth library is missing ({e}): {INSTALL_HINT}") from None
    if not hasattr(fluidsynth, "Synth"):
        raise V2MError(f"the fluidsynth module is not pyfluidsynth: {INSTALL_HINT} and "
                       "pip install pyfluidsynth")
    return fluidsynth


def default_soundfont() -> Path:
    """The General MIDI SoundFont bundled with pretty_midi (TimGM6mb, 6 MB)."""
    return Path(pretty_midi.__file__).resolve().parent / "TimGM6mb.sf2"


def check_soundfont(soundfont: Path | str | None) -> Path:
    """The SoundFont path to use; V2MError when it is missing or not a SoundFont file."""
    path = Path(soundfont) if soundfont else default_soundfont()
    if not path.is_file():
        raise V2MError(f"SoundFont not found: {path}")
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError as e:
        raise V2MError(f"cannot read the SoundFont {path}: {e.strerror or e}") from None
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
        raise V2MError(f"not a SoundFont (.sf2) file: {path}")
    # FluidSynth's own first check, made here before any work (and without its C-level noise)
    size, said = path.stat().st_size, int.from_bytes(head[4:8], "little") + 8
    if said != size:
        raise V2MError(f"the SoundFont {path} is truncated or damaged ({size} bytes, its header "
                       f"says {said})")
    return path


_stderr_lock = threading.Lock()


@contextmanager
def _c_stderr_silenced() -> Iterator[None]:
    """File descriptor 2 points at /dev/null inside the block: FluidSynth and GLib print their
    loading errors there themselves, and v2m reports in one line of its own."""
    with _stderr_lock:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            with open(os.devnull, "wb") as null:
                os.dup2(null.fileno(), 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _float_writer(fs):
    """fluid_synth_write_float (no 16-bit clipping) when the library exposes it."""
    fn = getattr(getattr(fs, "_fl", None), "fluid_synth_write_float", None)
    if fn is None:
        return None
    fn.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
                   ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn


def _events(instruments: list[pretty_midi.Instrument]) -> tuple[list[tuple], dict[int, tuple]]:
    """Time-sorted (time, order, kind, channel, a, b) and channel -> (program, is_drum)."""
    free = [c for c in range(16) if c != 9]
    programs: dict[int, tuple] = {}
    events = []
    for n, inst in enumerate(instruments):
        ch = 9 if inst.is_drum else free[n % len(free)]
        programs[ch] = (inst.program, inst.is_drum)
        for cc in inst.control_changes:
            events.append((cc.time, 0, "cc", ch, cc.number, cc.value))
        for bend in inst.pitch_bends:
            events.append((bend.time, 0, "bend", ch, bend.pitch, 0))
        for note in inst.notes:
            events.append((note.end, 1, "off", ch, note.pitch, 0))
            events.append((note.start, 2, "on", ch, note.pitch, note.velocity))
    events.sort(key=lambda e: (e[0], e[1]))
    return events, programs


def _synthesize(instruments, soundfont: Path, sr: int, n_out: int | None,
                progress: Callable[[float], None] | None = None) -> np.ndarray:
    """Raw (un-normalised) stereo float32 [N, 2]; N = n_out or the end of the last event + tail.
    `progress(fraction)` is called about once per second of audio (it may raise Cancelled)."""
    fluidsynth = fluidsynth_module()
    events, programs = _events(instruments)
    last = max((e[0] for e in events), default=0.0)
    n_total = int(np.ceil((last + TAIL_S) * sr)) if n_out is None else int(n_out)
    out = audio_buffer(n_total)
    if not events or n_total == 0:
        return out
    synth = fluidsynth.Synth(gain=0.4, samplerate=float(sr))
    try:
        with _c_stderr_silenced():
            sfid = synth.sfload(str(soundfont))
        if sfid < 0:
            raise V2MError(f"FluidSynth cannot load the SoundFont {soundfont} (damaged or not a "
                           "SoundFont 2 file)")
        for ch, (program, is_drum) in programs.items():
            if synth.program_select(ch, sfid, 128 if is_drum else 0, program) < 0:
                synth.program_select(ch, sfid, 128 if is_drum else 0, 0)
        write_float = _float_writer(fluidsynth)
        pos = next_report = 0

        def render_to(target: int) -> None:
            nonlocal pos, next_report
            target = min(target, n_total)
            while pos < target:
                n = min(target - pos, 65536)
                if write_float is not None:
                    ptr = out.ctypes.data + pos * 8
                    write_float(synth.synth, n, ptr, 0, 2, ptr, 1, 2)
                else:
                    s16 = synth.get_samples(n).astype(np.float32) / 32768.0
                    out[pos:pos + n] = s16.reshape(-1, 2)
                pos += n
                if progress is not None and pos >= next_report:
                    next_report = pos + sr
                    progress(pos / n_total)

        for t, _, kind, ch, a, b in events:
            render_to(int(round(t * sr)))
            if pos >= n_total:
                break
            if kind == "on":
                synth.noteon(ch, a, b)
            elif kind == "off":
                synth.noteoff(ch, a)
            elif kind == "cc":
                synth.cc(ch, a, b)
            else:
                synth.pitch_bend(ch, a)
        render_to(n_total)
        if progress is not None:
            progress(1.0)
    finally:
        synth.delete()
    return out


def audio_buffer(frames: int, channels: int = 2) -> np.ndarray:
    """Zeroed float32 [frames, channels]; past MEMMAP_FRAMES it lives in an unnamed temporary
    file, so an hour of music (1.3 GB) does not have to fit in memory."""
    if frames <= MEMMAP_FRAMES:
        return np.zeros((frames, channels), dtype=np.float32)
    with tempfile.TemporaryFile(prefix="v2m-audio-") as f:     # the mapping outlives the file
        return np.memmap(f, dtype=np.float32, mode="w+", shape=(frames, channels))


def peak(audio: np.ndarray) -> float:
    """Largest absolute sample, a block at a time (no full-size temporary)."""
    return max((float(np.abs(audio[i:i + BLOCK]).max()) for i in range(0, len(audio), BLOCK)),
               default=0.0)


def _fade(audio: np.ndarray, sr: int, seconds: float) -> np.ndarray:
    n = min(len(audio), int(round(seconds * sr)))
    if n > 1:
        ramp = np.cos(np.linspace(0, np.pi / 2, n)) ** 2
        audio[-n:] *= ramp.astype(np.float32)[:, None] if audio.ndim == 2 else ramp.astype(np.float32)
    return audio


def _fade_seconds(duration: float) -> float:
    return min(FADE_S, 0.15 * duration)


def _gain(top: float) -> float:
    """The factor that brings a peak of `top` to PEAK (silence stays as it is)."""
    return PEAK / top if top > 1e-9 else 1.0


def render(midi: pretty_midi.PrettyMIDI, *, soundfont: Path | None = None, sample_rate: int = 44100,
           duration: float | None = None, progress: Callable[[float], None] | None = None) -> np.ndarray:
    """Stereo float32 [N, 2] at `sample_rate`: N = duration (or the music plus its ring-out),
    peak 0.9, a short fade at the end.  `progress(fraction)` as in _synthesize (a cancel point)."""
    sf = check_soundfont(soundfont)
    n = None if duration is None else int(round(duration * sample_rate))
    audio = _synthesize(midi.instruments, sf, sample_rate, n, progress)
    audio *= _gain(peak(audio))
    return _fade(audio, sample_rate, _fade_seconds(len(audio) / sample_rate))


def render_stems(arr, *, soundfont: Path | None = None, sample_rate: int = 44100,
                 duration: float | None = None) -> dict[str, np.ndarray]:
    """One stereo track per instrument of an Arrangement, all with the gain that normalises
    their sum, so the stems add up to the mix."""
    sf = check_soundfont(soundfont)
    dur = arr.duration if duration is None else duration
    n = int(round(dur * sample_rate))
    stems = {}
    for inst in arr.midi.instruments:
        name = inst.name or f"track{len(stems) + 1}"
        stems[name] = _synthesize([inst], sf, sample_rate, n)
    if stems:
        # the peak of their sum, a block at a time (no mix buffer: only its peak is wanted)
        g = _gain(max((float(np.abs(sum(s[i:i + BLOCK] for s in stems.values())).max())
                       for i in range(0, n, BLOCK)), default=0.0))
        for k in stems:
            stems[k] *= g
            stems[k] = _fade(stems[k], sample_rate, _fade_seconds(dur))
    return stems
