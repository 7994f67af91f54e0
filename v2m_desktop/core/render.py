"""Synthesis: MIDI -> stereo float32 audio with FluidSynth (pyfluidsynth) and a General MIDI
SoundFont, cut or padded to the video's duration, with a short fade at the end.

The level: a gain chosen from the first render (`choose_gain`: a loud arrangement is brought to
-0.9 dBFS, a quiet one only part of the way, so a calm picture's music stays calmer) and then
kept for the piece, so an edit never moves the level of the untouched music; a soft limiter
catches an edit that plays louder.  `rerender` synthesises only the seconds an edit touched
and joins them into the existing audio (see there)."""
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
LIMIT_FROM, CEILING = 0.8, 0.98     # the soft limiter: samples above LIMIT_FROM bend toward CEILING
PEAK_REF = 0.3          # a raw (gain-1) peak this high or higher is normalised fully; ...
QUIET_LIFT = 0.5        # ... below it, only this share of the extra dB is applied
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
                progress: Callable[[float], None] | None = None, first_frame: int = 0) -> np.ndarray:
    """Raw (un-normalised) stereo float32 [N, 2]; N = n_out or the end of the last event + tail.
    `progress(fraction)` is called about once per second of audio (it may raise Cancelled).
    `first_frame`: the audio starts there (events before it are sent at once); a multiple of
    the synthesiser's 64-frame block keeps every event on the block it has in a whole render."""
    fluidsynth = fluidsynth_module()
    events, programs = _events(instruments)
    last = max((e[0] for e in events), default=0.0)
    n_total = int(np.ceil((last + TAIL_S) * sr)) - first_frame if n_out is None else int(n_out)
    out = audio_buffer(n_total)
    if not events or n_total == 0:
        return out
    # no chorus: its one modulator runs from the synthesiser's start, so a stretch rendered on
    # its own (rerender) would not match the whole piece there (the pad differed by 100 %)
    synth = fluidsynth.Synth(gain=0.4, samplerate=float(sr), **{"synth.chorus.active": 0})
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
            render_to(int(round(t * sr)) - first_frame)
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


def _fade_seconds(duration: float) -> float:
    return min(FADE_S, 0.15 * duration)


def choose_gain(raw_peak: float) -> float:
    """The piece's gain from its first render's raw peak: a peak of PEAK_REF or more is brought
    to PEAK; a quieter arrangement (a calm scene plays softer and sparser) gets only QUIET_LIFT
    of the dB it lacks beyond that, so it stays audibly calmer than an energetic one."""
    if raw_peak <= 1e-9:
        return 1.0
    full = PEAK / raw_peak
    ref = PEAK / PEAK_REF
    return full if full <= ref else ref * (full / ref) ** QUIET_LIFT


def finish(audio: np.ndarray, gain: float, sr: int, first_frame: int = 0,
           total: int | None = None) -> np.ndarray:
    """Gain, the soft limiter and the end fade, in place, a block at a time.  `audio` holds
    frames [first_frame, first_frame + len) of a piece `total` frames long (default: all of it),
    so a re-rendered stretch is finished exactly as the whole piece is."""
    total = len(audio) + first_frame if total is None else total
    for i in range(0, len(audio), BLOCK):
        block = audio[i:i + BLOCK]
        block *= np.float32(gain)
        big = np.abs(block) > LIMIT_FROM
        if big.any():
            x = np.abs(block[big])
            room = CEILING - LIMIT_FROM
            block[big] = np.sign(block[big]) * (LIMIT_FROM + room * np.tanh((x - LIMIT_FROM) / room))
    n = min(total, int(round(_fade_seconds(total / sr) * sr)))
    f0 = total - n                        # the fade's first frame in the piece
    if n > 1 and first_frame + len(audio) > f0:
        ramp = (np.cos(np.linspace(0, np.pi / 2, n)) ** 2).astype(np.float32)
        a = max(f0 - first_frame, 0)
        audio[a:] *= ramp[a + first_frame - f0:a + first_frame - f0 + len(audio) - a][:, None]
    return audio


def render(midi: pretty_midi.PrettyMIDI, *, soundfont: Path | None = None, sample_rate: int = 44100,
           duration: float | None = None, progress: Callable[[float], None] | None = None,
           gain: float | None = None) -> np.ndarray:
    """Stereo float32 [N, 2] at `sample_rate`: N = duration (or the music plus its ring-out),
    at `gain` (None: choose_gain of this render), limited, a short fade at the end.
    `progress(fraction)` as in _synthesize (a cancel point)."""
    return render_with_gain(midi, soundfont=soundfont, sample_rate=sample_rate, duration=duration,
                            progress=progress, gain=gain)[0]


def render_with_gain(midi, *, soundfont=None, sample_rate: int = 44100, duration: float | None = None,
                     progress=None, gain: float | None = None) -> tuple[np.ndarray, float]:
    """render(), and the gain it used (the one to keep for the piece's later renders)."""
    audio, chosen = render_raw(midi, soundfont=soundfont, sample_rate=sample_rate, duration=duration,
                               progress=progress)
    gain = chosen if gain is None else gain
    return finish(audio, gain, sample_rate), gain


def render_raw(midi, *, soundfont=None, sample_rate: int = 44100, duration: float | None = None,
               progress=None) -> tuple[np.ndarray, float]:
    """The synthesiser's output at gain 1 and the gain choose_gain gives it (to keep)."""
    sf = check_soundfont(soundfont)
    n = None if duration is None else int(round(duration * sample_rate))
    audio = _synthesize(midi.instruments, sf, sample_rate, n, progress)
    return audio, choose_gain(peak(audio))


def render_stems(arr, *, soundfont: Path | None = None, sample_rate: int = 44100,
                 duration: float | None = None, gain: float | None = None) -> dict[str, np.ndarray]:
    """One stereo track per instrument of an Arrangement, all at the mix's gain (None: the one
    choose_gain gives their sum), so the stems add up to the mix (where the limiter rests)."""
    sf = check_soundfont(soundfont)
    dur = arr.duration if duration is None else duration
    n = int(round(dur * sample_rate))
    stems = {}
    for inst in arr.midi.instruments:
        name = inst.name or f"track{len(stems) + 1}"
        stems[name] = _synthesize([inst], sf, sample_rate, n)
    if stems:
        # the peak of their sum, a block at a time (no mix buffer: only its peak is wanted)
        if gain is None:
            gain = choose_gain(max((float(np.abs(sum(s[i:i + BLOCK] for s in stems.values())).max())
                                    for i in range(0, n, BLOCK)), default=0.0))
        for k in stems:
            finish(stems[k], gain, sample_rate)
    return stems


PRE_ROLL_S = 2.0        # rendered before a join and thrown away: the voices settle
RING_S = 4.0            # the longest ring-out looked for before the join out
RELEASE_S = 4.0         # notes that ended this long before the pre-roll are rendered too
JOIN_S = 0.05           # cross-fade at each join
AGREE = 1e-3            # the join out goes where the new stretch and the old audio agree this well


def rerender(audio: np.ndarray, instruments, start: float, end: float, *, gain: float,
             soundfont: Path | None = None, sample_rate: int = 44100) -> tuple[int, int]:
    """Replace, in place, the music of seconds [start, end) (every note that changed starts and
    ends in there) by synthesising only a stretch of `instruments` (the whole edited piece's
    parts, in the piece's order) at the piece's `gain`.  The stretch starts PRE_ROLL_S early,
    from the start of every note still sounding or releasing then, on the whole render's block
    grid, with each channel's controllers as they stand; it is cross-faded in over JOIN_S before
    `start`, and out after `end` where it agrees with the old audio (the old and new notes'
    releases have died away; at most RING_S on).  Returns the frames replaced."""
    sr, total = sample_rate, len(audio)
    sf = check_soundfont(soundfont)
    c0 = max(int(round((start - JOIN_S) * sr)), 0)              # the join in
    stop = min(int(round((end + RING_S) * sr)), total)
    if stop <= c0:
        return c0, c0
    t_from = c0 / sr - PRE_ROLL_S
    t_from = min([t_from] + [n.start for inst in instruments for n in inst.notes
                             if n.start < t_from < n.end + RELEASE_S])
    first = max(int(np.floor(t_from * sr / 64)) * 64, 0) if t_from > 0 else 0
    t_first, t_stop = first / sr, stop / sr
    parts = [_window(inst, t_first, t_stop) for inst in instruments]
    new = _synthesize(parts, sf, sr, stop - first, None, first)
    finish(new, gain, sr, first, total)
    new = new[c0 - first:]
    j = int(round(JOIN_S * sr))
    if c0 > 0:                             # no join needed from the very start
        w = np.linspace(0.0, 1.0, min(j, len(new)), dtype=np.float32)[:, None]
        new[:len(w)] = audio[c0:c0 + len(w)] * (1 - w) + new[:len(w)] * w
    if stop < total:                       # the join out: the first block after `end` from
        e = min(max(int(round(end * sr)), c0), stop)        # which the two agree to the end
        step = 1024
        diff = np.abs(new[e - c0:] - audio[e:stop]).max(axis=1)
        blocks = [float(diff[i:i + step].max()) for i in range(0, len(diff), step)]
        k = len(blocks)
        while k > 0 and blocks[k - 1] < AGREE:
            k -= 1
        c1 = min(e + k * step, stop - j)
        stop = min(c1 + j, stop)
        w = np.linspace(1.0, 0.0, stop - c1, dtype=np.float32)[:, None]
        new = new[:stop - c0]
        new[c1 - c0:] = new[c1 - c0:] * w + audio[c1:stop] * (1 - w)
    audio[c0:stop] = new
    return c0, stop


def _window(inst: pretty_midi.Instrument, t0: float, t1: float) -> pretty_midi.Instrument:
    """The part's events for a render of [t0, t1): its notes that start in there, and each
    controller's last value before t0 sent at t0."""
    out = pretty_midi.Instrument(inst.program, is_drum=inst.is_drum, name=inst.name)
    state: dict[int, pretty_midi.ControlChange] = {}
    for cc in sorted(inst.control_changes, key=lambda c: c.time):
        if cc.time <= t0:
            state[cc.number] = cc
        elif cc.time < t1:
            out.control_changes.append(cc)
    out.control_changes[:0] = [pretty_midi.ControlChange(c.number, c.value, t0) for c in state.values()]
    out.notes = [n for n in inst.notes if t0 <= n.start < t1]
    out.pitch_bends = [b for b in inst.pitch_bends if t0 <= b.time < t1]
    return out
