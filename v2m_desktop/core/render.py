"""Synthesis: MIDI -> stereo float32 audio with FluidSynth (pyfluidsynth) and a General MIDI
SoundFont, cut or padded to the video's duration, with a short fade at the end.

Each part plays on a synthesiser of its own (side by side on the cores), dry; the reverb is
a fixed impulse response of ours convolved with the parts' sends (pedalboard's Convolution).
So the mix is exactly the sum of its parts and any stretch rendered on its own equals the whole
render there: a re-render after an edit joins in without a trace (FluidSynth's reverb and chorus
run modulators from the synthesiser's start, and in one synthesiser the parts' voices affected
each other).

The level: a gain chosen from the first render (`choose_gain`: a loud arrangement is brought to
-0.9 dBFS, a quiet one only part of the way, so a calm picture's music stays calmer) and then
kept for the piece, so an edit never moves the level of the untouched music; a soft limiter
catches an edit that plays louder.  It stays ours, a memoryless curve: pedalboard's
BrickwallLimiter remembers (a stretch limited on its own from 2 s before differed from the whole
there by up to 0.057 on a loud signal, and limiting a block at a time differed from one call by
up to 1.5), so a re-render could not join in without a trace, nor a long piece be limited a block
at a time.  The delivery's loudness and true-peak ceiling are core/mix.py's, on the whole mix.
`rerender` synthesises only the seconds an edit touched and joins them into the existing audio
(see there)."""
from __future__ import annotations

import ctypes
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np
import pretty_midi

from v2m_desktop.core.errors import Cancelled, V2MError
from v2m_desktop.core.progress import Progress
from v2m_desktop.core.soundfont_cache import playable
from v2m_desktop.core.soundfonts import default_soundfont

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
_synth_lock = threading.Lock()
_silenced = {"depth": 0, "saved": -1}


@contextmanager
def _c_stderr_silenced() -> Iterator[None]:
    """File descriptor 2 points at /dev/null inside the block: FluidSynth and GLib print their
    loading errors there themselves, and v2m reports in one line of its own.  Threads may be
    inside at once (the parts load their SoundFonts side by side): the first in silences, the
    last out restores."""
    with _stderr_lock:
        if _silenced["depth"] == 0:
            sys.stderr.flush()
            _silenced["saved"] = os.dup(2)
            with open(os.devnull, "wb") as null:
                os.dup2(null.fileno(), 2)
        _silenced["depth"] += 1
    try:
        yield
    finally:
        with _stderr_lock:
            _silenced["depth"] -= 1
            if _silenced["depth"] == 0:
                os.dup2(_silenced["saved"], 2)
                os.close(_silenced["saved"])


KEEP = 2                # banks kept loaded in a process (MuseScore General keeps 0.2 GB)


class _Synth(Protocol):
    """What the kept banks need of a pyfluidsynth Synth (the module has no type hints)."""
    def delete(self) -> None: ...


_kept: dict[str, _Synth] = {}
_keep_lock = threading.Lock()


def keep_loaded(soundfont: Path, quiet: bool = True) -> None:
    """Load the bank once in this process and keep it loaded: FluidSynth's sample cache then
    shares its samples with every later synthesiser that loads the same file, so a part's own
    synthesiser loads it in 0.02-0.05 s (MuseScore General's .sf3 decodes its Ogg samples in
    1.6 s at every load otherwise).  `quiet`: FluidSynth's own messages silenced (the process's
    stderr points at /dev/null meanwhile); the preload of the default bank, beside the analysis,
    is not quiet: for its second or two the analysis's progress and a "v2m: interrupted" were
    swallowed."""
    soundfont = playable(soundfont)     # an .sf3's decoded copy: made once, loads in 0.2 s
    key = str(soundfont)
    with _keep_lock:
        if key in _kept:
            return
        fluidsynth = fluidsynth_module()
        with _synth_lock:
            synth = fluidsynth.Synth(gain=0.4, samplerate=44100.0,
                                     **{"synth.chorus.active": 0, "synth.reverb.active": 0})
        if quiet:
            with _c_stderr_silenced():
                ok = synth.sfload(key) >= 0
        else:
            ok = synth.sfload(key) >= 0
        if not ok:                  # the part's own load says what is wrong with it
            synth.delete()
            return
        while len(_kept) >= KEEP:
            _kept.pop(next(iter(_kept))).delete()
        _kept[key] = synth


def preload(soundfont: Path | str | None = None) -> None:
    """keep_loaded in the background (the video is analysed meanwhile), for the default bank
    only: a user's SoundFont may be damaged, and FluidSynth would print its errors from here
    (the render loads it and says what is wrong in one line)."""
    try:
        sf = check_soundfont(soundfont)
        if sf != check_soundfont(None):
            return
        fluidsynth_module()
    except V2MError:
        return
    threading.Thread(target=keep_loaded, args=(sf, False), daemon=True, name="v2m-soundfont").start()


def _float_writer(fs):
    """fluid_synth_write_float (no 16-bit clipping)."""
    fn = getattr(getattr(fs, "_fl", None), "fluid_synth_write_float", None)
    if fn is None:
        raise V2MError(f"this FluidSynth library lacks fluid_synth_write_float: {INSTALL_HINT}")
    fn.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
                   ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn


def _events(inst: pretty_midi.Instrument) -> list[tuple]:
    """A part's time-sorted (time, order, kind, a, b)."""
    events = [(cc.time, 0, "cc", cc.number, cc.value) for cc in inst.control_changes]
    events += [(bend.time, 0, "bend", bend.pitch, 0) for bend in inst.pitch_bends]
    for note in inst.notes:
        events.append((note.end, 1, "off", note.pitch, 0))
        events.append((note.start, 2, "on", note.pitch, note.velocity))
    events.sort(key=lambda e: (e[0], e[1]))
    return events


def _send(inst: pretty_midi.Instrument) -> float:
    """The part's reverb send: its first CC91 (0..1; General MIDI's 40 when it has none)."""
    first = min((c for c in inst.control_changes if c.number == 91), key=lambda c: c.time, default=None)
    return (40 if first is None else first.value) / 127


def _end_frame(instruments, sr: int) -> int:
    """Frames to the last event plus TAIL_S."""
    last = max([n.end for inst in instruments for n in inst.notes]
               + [c.time for inst in instruments for c in inst.control_changes]
               + [b.time for inst in instruments for b in inst.pitch_bends], default=0.0)
    return max(int(np.ceil((last + TAIL_S) * sr)), 0)


def _synthesize(instruments, soundfont: Path, sr: int, n_out: int | None,
                progress: Callable[[float], None] | None = None) -> np.ndarray:
    """Raw (un-normalised) stereo float32 [N, 2] with the reverb; N = n_out or the end of the
    last event + tail.  `progress(fraction)` is called about once per second of audio (it may
    raise Cancelled)."""
    n_total = _end_frame(instruments, sr) if n_out is None else int(n_out)
    out = audio_buffer(n_total)
    send = audio_buffer(n_total, 1)[:, 0]
    parts = [inst for inst in instruments if inst.notes]
    done = [0.0] * len(parts)

    def report(k: int, f: float) -> None:
        assert progress is not None     # report is handed on only when there is a progress
        done[k] = f
        progress(0.95 * sum(done) / len(parts))

    _synthesize_parts([(inst, 0, out, send) for inst in parts], soundfont, sr,
                      None if progress is None else report)
    add_reverb(out, send, sr)
    if progress is not None:
        progress(1.0)
    return out


_SYNTH_THREADS = 0      # parts synthesised at once (0: one a core); a batch worker gets its share


def set_synth_threads(n: int) -> None:
    """At most `n` parts synthesised at once in this process (a batch worker's share of the
    cores, as torch.set_num_threads gives it for the models)."""
    global _SYNTH_THREADS
    _SYNTH_THREADS = max(int(n), 1)


def _synthesize_parts(jobs, soundfont: Path, sr: int, progress=None) -> None:
    """_synthesize_part for each (part, first frame, out, send), side by side on the cores (the
    synthesiser runs outside the GIL); `progress(k, fraction)` per part, from its thread (a
    raise there, e.g. Cancelled, stops the rest and is raised here).  Each part renders into
    buffers of its own, added into `out` and `send` in the jobs' order, so the same parts give
    the same bytes however the threads interleave (float sums depend on their order)."""
    lock, stop = threading.Lock(), threading.Event()
    workers = max(1, min(len(jobs), _SYNTH_THREADS or os.cpu_count() or 1))

    def run(k, inst, first, out, send):
        def report(f):
            with lock:
                if stop.is_set():               # another part failed or was cancelled
                    raise Cancelled()
                if progress is not None:
                    try:
                        progress(k, f)
                    except BaseException:
                        stop.set()
                        raise
        own, own_send = audio_buffer(len(out)), audio_buffer(len(send), 1)[:, 0]
        try:
            _synthesize_part(inst, soundfont, sr, own, own_send, first, report)
        except BaseException:
            stop.set()
            raise
        return own, own_send

    def cost(job) -> float:
        """A rough guess at a part's synthesis time: its frames, and its voices' seconds."""
        inst, _, out, _ = job
        return len(out) + sr * sum(min(n.end - n.start, RELEASE_S) + 0.5 for n in inst.notes)

    with ThreadPoolExecutor(workers, thread_name_prefix="v2m-synth") as pool:
        # the longest parts first, so the last to finish is a short one (an edit's five parts on
        # two cores, by their measured times: done at 0.43 s, at 0.50 s in the piece's order);
        # still summed in the jobs' order
        longest = sorted(range(len(jobs)), key=lambda k: -cost(jobs[k]))
        started = {k: pool.submit(run, k, *jobs[k]) for k in longest}
        futures = [started[k] for k in range(len(jobs))]
        for f, (_, _, out, send) in zip(futures, jobs):
            if f.exception() is None:
                own, own_send = f.result()
                out += own
                send += own_send
                del own, own_send       # a 3-minute part is 60 MB: freed as soon as it is added
    errors = [e for e in (f.exception() for f in futures) if e is not None]
    if errors:
        raise next((e for e in errors if not isinstance(e, Cancelled)), errors[0])


def _synthesize_part(inst: pretty_midi.Instrument, soundfont: Path, sr: int, out: np.ndarray,
                     send: np.ndarray, first_frame: int = 0,
                     progress: Callable[[float], None] | None = None) -> None:
    """Add one part's dry audio into `out` and its reverb send into `send` (frame 0 of both is
    `first_frame` of the piece).  Each part has a synthesiser of its own: in one shared by all
    parts, a part's sound depended on the other parts' notes (0.02 of raw difference, and an
    edit changed the mix 20 s after it, where no part's own notes changed)."""
    fluidsynth = fluidsynth_module()
    n_total = len(out)
    events = _events(inst)
    if not events or n_total == 0:
        return
    keep_loaded(soundfont)
    bank_file = playable(soundfont)
    # FluidSynth's own effects are off: their modulators run from the synthesiser's start, so a
    # stretch rendered on its own (rerender) would not match the whole piece there (the chorus
    # put the pad 100 % off, the reverb left 0.016 of raw residue); the reverb is ours
    with _synth_lock:       # FluidSynth sets up its default modulators on the first synthesiser
        #                     a process makes, unguarded: two made at once got broken ones
        # dynamic sample loading: only the part's own preset is read (an .sf3 played from its
        # decoded copy; decoded here, MuseScore General took 1.6 s to load whole, a preset 0.1 s)
        synth = fluidsynth.Synth(gain=0.4, samplerate=float(sr),
                                 **{"synth.chorus.active": 0, "synth.reverb.active": 0,
                                    "synth.dynamic-sample-loading": 1})
    ch = 9 if inst.is_drum else 0
    level = np.float32(_send(inst) * 0.5)
    try:
        with _c_stderr_silenced():
            sfid = synth.sfload(str(bank_file))
        if sfid < 0:
            raise V2MError(f"FluidSynth cannot load the SoundFont {soundfont} (damaged or not a "
                           "SoundFont 2 file)")
        bank = 128 if inst.is_drum else 0
        if synth.program_select(ch, sfid, bank, inst.program) < 0:
            synth.program_select(ch, sfid, bank, 0)
        write_float = _float_writer(fluidsynth)
        chunk = np.zeros((65536, 2), dtype=np.float32)
        pos = next_report = 0

        def render_to(target: int) -> None:
            nonlocal pos, next_report
            target = min(target, n_total)
            while pos < target:
                n = min(target - pos, len(chunk))
                write_float(synth.synth, n, chunk.ctypes.data, 0, 2, chunk.ctypes.data, 1, 2)
                out[pos:pos + n] += chunk[:n]
                send[pos:pos + n] += level * (chunk[:n, 0] + chunk[:n, 1])
                pos += n
                if progress is not None and pos >= next_report:
                    next_report = pos + sr
                    progress(pos / n_total)

        for t, _, kind, a, b in events:
            # on the synthesiser's 64-frame block grid, as it would play it anyway: asked for
            # whole blocks, it never renders ahead, so when an event sounds does not depend on
            # the events before it
            render_to(int(round(t * sr / 64)) * 64 - first_frame)
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
    finally:
        synth.delete()


REVERB_S = 1.6          # the impulse response's length: under PRE_ROLL_S, so a re-rendered
#                         stretch carries the whole reverb of what it renders
PREDELAY_S = 0.012
# decay (RT60, seconds) by band (Hz from): the highs die first, as in a real room
REVERB_BANDS = ((0, 1.6), (500, 1.3), (2000, 0.9), (6000, 0.5))
REVERB_WET = 0.25       # the tail's level: its energy is that of FluidSynth's reverb on BBB
REVERB_BLOCK = 1 << 17


@lru_cache(maxsize=8)
def _reverb_ir(sr: int) -> np.ndarray:
    """[2, n] float32: a fixed stereo impulse response (seeded noise in four bands, each decaying
    at its own rate, after a short pre-delay): time-invariant and the same on every run, unlike
    FluidSynth's modulated reverb."""
    n = int(REVERB_S * sr)
    rng = np.random.default_rng(0x5EED)
    t = np.arange(n) / sr
    noise = rng.standard_normal((n, 2))
    spec = np.fft.rfft(noise, axis=0)
    freqs = np.fft.rfftfreq(n, 1 / sr)
    ir = np.zeros((n, 2))
    edges = [f for f, _ in REVERB_BANDS[1:]] + [sr]
    for (lo, rt60), hi in zip(REVERB_BANDS, edges):
        band = np.fft.irfft(spec * ((freqs >= lo) & (freqs < hi))[:, None], n=n, axis=0)
        ir += band * np.exp(-6.91 * t / rt60)[:, None]
    ir *= np.clip((t - PREDELAY_S) / 0.01, 0, 1)[:, None]       # pre-delay, then a 10-ms onset
    ir *= np.clip((REVERB_S - t) / 0.1, 0, 1)[:, None]          # no step at the end
    ir *= REVERB_WET / np.sqrt((ir ** 2).sum(0, keepdims=True))
    return np.ascontiguousarray(ir.T, dtype=np.float32)


def _convolution(sr: int):
    import pedalboard
    return pedalboard.Convolution(_reverb_ir(sr), sample_rate=sr, mix=1.0)


@lru_cache(maxsize=8)
def _reverb_scale(sr: int) -> float:
    """pedalboard's Convolution (JUCE's) normalises the response it is given: the factor that
    brings its output back to the response's own level, measured on an impulse."""
    ir = _reverb_ir(sr)
    impulse = np.zeros_like(ir)
    impulse[:, 0] = 1.0
    heard = _convolution(sr)(impulse, sr)
    return float(np.sqrt((ir.astype(np.float64) ** 2).sum() / (heard.astype(np.float64) ** 2).sum()))


def add_reverb(out: np.ndarray, send: np.ndarray, sr: int) -> np.ndarray:
    """out += send convolved with the reverb's impulse response, in place (pedalboard's
    Convolution, a block at a time with its state carried on: the same as one call); the tail
    past the end of `out` is dropped.  A stretch convolved on its own from 2 s before matches
    the whole there to 132 dB, as our FFT overlap-add it replaces did (and to -86 dB of it)."""
    conv, scale = _convolution(sr), np.float32(_reverb_scale(sr))
    for i in range(0, len(send), REVERB_BLOCK):
        x = np.asarray(send[i:i + REVERB_BLOCK], dtype=np.float32)
        wet = conv(np.stack([x, x]), sr, reset=i == 0)
        out[i:i + len(x)] += scale * wet.T
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


def withheld_db(gain: float | None) -> float:
    """The dB choose_gain withheld from a quiet arrangement's full lift (0 for a loud one): with
    gain = ref * (full / ref) ** QUIET_LIFT, full / gain = (gain / ref) ** (1 / QUIET_LIFT - 1).
    The delivery keeps part of it (mix.calm_lu), so a calm picture's music stays calmer."""
    ref = PEAK / PEAK_REF
    if gain is None or gain <= ref:
        return 0.0
    return float(20.0 * np.log10(gain / ref) * (1.0 / QUIET_LIFT - 1.0))


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
           duration: float | None = None, progress: Progress | None = None,
           gain: float | None = None) -> np.ndarray:
    """Stereo float32 [N, 2] at `sample_rate`: N = duration (or the music plus its ring-out),
    at `gain` (None: choose_gain of this render), limited, a short fade at the end.
    `progress("render", fraction)` about once per second of audio (core.progress: it may raise
    Cancelled)."""
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
    audio = _synthesize(midi.instruments, sf, sample_rate, n,
                        None if progress is None else (lambda f: progress("render", f)))
    return audio, choose_gain(peak(audio))


def render_stems(arr, *, soundfont: Path | None = None, sample_rate: int = 44100,
                 duration: float | None = None, gain: float | None = None) -> dict[str, np.ndarray]:
    """One stereo track per instrument of an Arrangement, all at the mix's gain (None: the one
    choose_gain gives their sum), so the stems add up to the mix (where the limiter rests)."""
    sf = check_soundfont(soundfont)
    dur = arr.duration if duration is None else duration
    n = int(round(dur * sample_rate))
    parts = arr.midi.instruments
    outs = [(audio_buffer(n), audio_buffer(n, 1)[:, 0]) for _ in parts]
    # the parts side by side on the cores, each with its own reverb (as _synthesize does one)
    _synthesize_parts([(inst, 0, out, send) for inst, (out, send) in zip(parts, outs) if inst.notes],
                      sf, sample_rate)
    stems: dict[str, np.ndarray] = {}
    for inst, (out, send) in zip(parts, outs):
        add_reverb(out, send, sample_rate)
        stems[inst.name or f"track{len(stems) + 1}"] = out
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
# ... drums this long: a kit ignores note-offs, and MuseScore General's crash cymbal rings on until
# its next hit (a stretch rendered from 12 s before missed one: 8e-3 off at the hit that cut it,
# 82 dB; from 20 s or more, 3e-8 at three places of a 180-s piece)
DRUM_RING_S = 30.0
JOIN_S = 0.05           # cross-fade at each join
AGREE = 1e-5            # the join out goes where the new stretch and the old audio agree this well


def rerender(audio: np.ndarray, instruments, start: float, end: float, *, gain: float,
             soundfont: Path | None = None, sample_rate: int = 44100) -> tuple[int, int]:
    """Replace, in place, the music of seconds [start, end) (every note that changed starts and
    ends in there) by synthesising only a stretch of `instruments` (the whole edited piece's
    parts, in the piece's order) at the piece's `gain`.  The stretch starts PRE_ROLL_S early
    (each part from the start of its notes still sounding or ringing then), on the whole
    render's block grid, with each part's controllers as they stand; it is cross-faded in over JOIN_S before
    `start`, and out after `end` where it agrees with the old audio (the old and new notes'
    releases have died away: RING_S on, or up to 4 RING_S where they still differ).  Returns
    the frames replaced."""
    sr, total = sample_rate, len(audio)
    sf = check_soundfont(soundfont)
    c0 = max(int(round((start - JOIN_S) * sr)), 0)              # the join in
    if min(int(round((end + RING_S) * sr)), total) <= c0:
        return c0, c0
    # the reverb's input is needed from `base` (its response is shorter than the pre-roll); each
    # part renders from there, or from the start of a note of it still sounding or ringing then
    base = max(int(np.floor((c0 / sr - PRE_ROLL_S) * sr / 64)) * 64, 0)
    firsts = []
    for inst in instruments:
        ring = DRUM_RING_S if inst.is_drum else RELEASE_S
        t_from = min([base / sr] + [n.start for n in inst.notes if n.start < base / sr < n.end + ring])
        firsts.append(max(int(np.floor(t_from * sr / 64)) * 64, 0))
    lo = min(firsts + [base])

    def stretch(stop: int) -> np.ndarray:
        """The finished music of frames [c0, stop)."""
        dry, send = audio_buffer(stop - lo), audio_buffer(stop - lo, 1)[:, 0]
        windows = [(_window(inst, first / sr, stop / sr), first) for inst, first in zip(instruments, firsts)]
        _synthesize_parts([(w, first, dry[first - lo:], send[first - lo:]) for w, first in windows
                           if w.notes], sf, sr)            # a part silent there adds nothing
        new = add_reverb(dry[base - lo:], send[base - lo:], sr)
        finish(new, gain, sr, base, total)
        return new[c0 - base:]

    # rendered on RING_S past `end`, and longer where the old and new audio still differ there
    # (a pad's release outlasts RING_S: joined at its end anyway, 1e-4 stayed off, 80 dB)
    for ring in (RING_S, 2 * RING_S, 4 * RING_S):
        stop = min(int(round((end + ring) * sr)), total)
        new = stretch(stop)
        if stop == total:
            break
        e = min(max(int(round(end * sr)), c0), stop)            # the join out: the first block
        step = 1024                                             # after `end` from which the two
        diff = np.abs(new[e - c0:] - audio[e:stop]).max(axis=1)  # agree to the end
        blocks = [float(diff[i:i + step].max()) for i in range(0, len(diff), step)]
        k = len(blocks)
        while k > 0 and blocks[k - 1] < AGREE:
            k -= 1
        if k < len(blocks):
            break
    j = int(round(JOIN_S * sr))
    if c0 > 0:                             # no join needed from the very start
        w = np.linspace(0.0, 1.0, min(j, len(new)), dtype=np.float32)[:, None]
        new[:len(w)] = audio[c0:c0 + len(w)] * (1 - w) + new[:len(w)] * w
    if stop < total:
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
