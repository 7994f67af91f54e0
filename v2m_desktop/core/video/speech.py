"""Speech in a video's own sound: the spans (seconds) where someone talks, for the music to duck
under.

The detector is silero-vad (its model ships inside its wheel: nothing downloads).  Chosen over
webrtcvad-wheels by measurement: four espeak-ng sentences at known times over Big Buck Bunny's
own score (music and effects) at -30 and -24 dB RMS, and over noise and silence (the clips
tests/core/video/test_speech.py makes): silero found them with precision and recall 1.00 within
0.3 s on all four backgrounds and marked 0.0 s of the 56-s score alone as speech; webrtcvad
(aggressiveness 3, 30-ms frames, gaps under 0.3 s bridged) kept recall 1.00, but its precision
over the score was 0.44 and 0.37, and it marked 30 and 40 s of the score alone as speech (it
answers "voiced", and music is voiced).  webrtcvad costs 0.02 s a minute of sound, silero 0.5 s
window by window and 0.05 s as run here (speech_probabilities)."""
from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np

from v2m_desktop.core.errors import Cancelled, V2MError
from v2m_desktop.core.video.probe import ProbeJob, audio_skip, start_probe

SAMPLE_RATE = 16000         # silero's rate
THRESHOLD = 0.5             # silero's speech probability threshold (its default)
MIN_SPEECH_MS = 250         # shorter bursts (a cough, a door) are not speech
MIN_SILENCE_MS = 100        # a pause this long ends a span (the ducking bridges short pauses)
PAD_MS = 30                 # silero's default padding of each span

Span = tuple[float, float]   # seconds [start, end)


_loading = threading.Lock()     # one load of the model, whichever thread asks first


def load_detector() -> None:
    """Read silero's model now (0.06 s, 0.11-0.14 s of CPU), as the app's warm-up does, so that
    the first analysis of the process does not wait for it beside its decode."""
    with _loading:
        _model()
        _lstm()


@lru_cache(maxsize=1)
def _model():
    """silero's TorchScript model, loaded once per process from its wheel."""
    import torch
    threads = torch.get_num_threads()
    try:
        from silero_vad import load_silero_vad
    except ImportError as e:
        raise V2MError(f"the voice-activity detector is missing ({e}): pip install silero-vad") from None
    finally:
        # importing silero_vad sets torch to one thread for the whole process: the chord model
        # keeps the threads it had
        torch.set_num_threads(threads)
    with warnings.catch_warnings():     # torch.jit.load's deprecation: the wheel ships TorchScript
        warnings.simplefilter("ignore", DeprecationWarning)
        return load_silero_vad()


def find_speech(audio: np.ndarray, sample_rate: int = SAMPLE_RATE,
                progress: Callable[[float], None] | None = None) -> list[Span]:
    """The speech spans of mono float audio at 16 kHz.  `progress(fraction)` now and then (it
    may raise Cancelled)."""
    load_detector()     # first: importing silero_vad sets torch's threads, which _model restores
    from silero_vad.utils_vad import get_speech_timestamps_from_probs
    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"find_speech takes {SAMPLE_RATE}-Hz audio")
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError("find_speech takes mono audio")
    if len(x) < SAMPLE_RATE // 10 or not np.any(x):
        return []
    found = get_speech_timestamps_from_probs(
        speech_probabilities(x, progress).tolist(), sampling_rate=SAMPLE_RATE, threshold=THRESHOLD,
        min_speech_duration_ms=MIN_SPEECH_MS, min_silence_duration_ms=MIN_SILENCE_MS,
        speech_pad_ms=PAD_MS, audio_length_samples=len(x))
    return [(round(d["start"] / SAMPLE_RATE, 3), round(d["end"] / SAMPLE_RATE, 3)) for d in found]


WINDOW, CONTEXT = 512, 64   # silero's window at 16 kHz (32 ms) and the samples before it it reads
CHUNK = 4096                # windows through the encoder at once


def speech_probabilities(x: np.ndarray, progress: Callable[[float], None] | None = None) -> np.ndarray:
    """silero's speech probability of each 32-ms window of `x` (16 kHz mono float32), as its
    own window-by-window loop gives them (to 1e-5: tests/core/video/test_speech.py).

    The library feeds its model a window at a time, 1,600 calls for Sintel's 52 s (0.41 s, more
    than its whole basic analysis), though only one layer of the model, an LSTM cell, carries
    anything from a window to the next: here the front end (STFT and encoder, which read a window
    and the 64 samples before it) runs on thousands of windows at once, the LSTM over the whole
    sequence in one call, and the decoder on all its outputs at once (0.05 s)."""
    import torch
    load_detector()
    model = _model()._model
    n = -(-len(x) // WINDOW)
    padded = np.zeros(n * WINDOW, dtype=np.float32)
    padded[:len(x)] = x
    windows = torch.from_numpy(padded.reshape(n, WINDOW))
    lstm = _lstm()
    out = np.zeros(n, dtype=np.float32)
    threads = torch.get_num_threads()
    # one thread (OpenMP's count is the calling thread's own: the chord model's is untouched):
    # Sintel's 52 s took 0.06 s of CPU so, and 1.6 s (4 s of wall time) with two threads on the
    # 2-core machine under load, its small layers' threads spinning
    torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            _run(model, lstm, windows, out, progress)
    finally:
        torch.set_num_threads(threads)
    return out


def _run(model, lstm, windows, out: np.ndarray, progress) -> None:
    """speech_probabilities' pass: the front end a chunk of windows at a time, the LSTM's state
    carried from chunk to chunk."""
    import torch
    n, state = len(windows), None
    for a in range(0, n, CHUNK):
        if progress is not None:
            progress(a / n)
        w = windows[a:a + CHUNK]
        before = windows[a - 1:a, -CONTEXT:] if a else torch.zeros(1, CONTEXT)
        ctx = torch.cat([before, w[:-1, -CONTEXT:]], 0)
        feats = model.encoder(_spectra(model.stft, torch.cat([ctx, w], 1))).squeeze(-1)
        h, state = lstm(feats.unsqueeze(1), state)
        y = model.decoder.decoder(h.squeeze(1).unsqueeze(-1))
        out[a:a + len(w)] = torch.mean(torch.squeeze(y, 1), [1]).numpy()


def _spectra(stft, x):
    """silero's STFT magnitudes of each row of `x` (its extractor's output, to 1e-6).

    Its extractor is a convolution with a Hann-windowed DFT basis (258 rows, 256 taps, hop 128)
    that also takes the phase it throws away: an FFT of the windowed frames gives the same
    magnitudes in a fifth of its time (0.016 -> 0.003 s of CPU for Sintel's 52 s)."""
    import torch
    window = stft.forward_basis_buffer[0, 0]      # the basis's row for frequency 0: the window
    frames = stft.padding(x).unfold(1, stft.filter_length, stft.hop_length)
    spectra = torch.view_as_real(torch.fft.rfft(frames * window, dim=-1))
    # hypot: a complex abs takes twice its time; contiguous: the encoder's convolutions read it faster
    return torch.hypot(spectra[..., 0], spectra[..., 1]).transpose(1, 2).contiguous()


@lru_cache(maxsize=1)
def _lstm():
    """silero's LSTM cell as a torch LSTM layer (the same weights), to run a whole sequence in
    one call."""
    import torch
    cell = _model()._model.decoder.rnn
    lstm = torch.nn.LSTM(cell.weight_ih.shape[1], cell.weight_hh.shape[1])
    with torch.no_grad():
        for mine, theirs in (("weight_ih_l0", "weight_ih"), ("weight_hh_l0", "weight_hh"),
                             ("bias_ih_l0", "bias_ih"), ("bias_hh_l0", "bias_hh")):
            getattr(lstm, mine).copy_(getattr(cell, theirs))
    return lstm.eval()


class SpeechJob:
    """The speech spans of a video's sound, found on a thread of its own while the picture is
    decoded (the caller's thread keeps the progress reports and the cancel point).  `probe`: the
    analysis's own probe of the file, which says where its first frame is (None: one of its own).

    It reads the sound from the stream's start and leaves out the part before the first frame
    itself (probe.audio_skip, from the analysis's probe): decode_audio's own probe cost 0.07 s of
    a core before ffmpeg started, and its stereo, mixed in numpy, 0.013 s more.  The search alone
    (bench analysis's speech_s, 2-core VM) went from 0.23-0.27 s to 0.14 s so, and what it adds to
    the analysis beside the decode (speech_added_share) from 0.20-0.22 to 0.14-0.19 of Sintel's and
    from 0.09 to 0.07-0.09 of Big Buck Bunny's.  What is left is mostly ffmpeg's AAC decode
    (0.075 s of a core for 52 s alone, more beside the picture decode, which keeps both cores busy)
    and silero's 0.03 s."""

    def __init__(self, video: Path, probe: ProbeJob | None = None):
        self.video = Path(video)
        self._probe = probe
        self.fraction = 0.0
        self._halt = threading.Event()
        self._spans: list[Span] = []
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="v2m-speech", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from v2m_desktop.core.export import decode_mono
        try:
            sound = decode_mono(self.video, SAMPLE_RATE)
            probe = self._probe or start_probe(self.video)    # done by now (it started first)
            skip = int(round(audio_skip(probe) * SAMPLE_RATE))
            self._spans = find_speech(sound[skip:], SAMPLE_RATE, self._tick)
        except BaseException as e:  # noqa: BLE001 - raised in the caller's thread by result()
            self._error = e

    def _tick(self, fraction: float) -> None:
        if self._halt.is_set():
            raise Cancelled()
        self.fraction = fraction

    def result(self, has_audio: bool, report: Callable[[str, float], None]) -> list[Span]:
        """The spans (none when the video has no sound), reporting ("speech", 0..1) while it
        waits; a report that raises Cancelled stops the thread."""
        if not has_audio:
            self.cancel()
            return []
        try:
            while self._thread.is_alive():
                report("speech", min(self.fraction, 0.99))
                self._thread.join(0.02)
        finally:
            self.cancel()
        if self._error is not None:
            raise self._error
        report("speech", 1.0)
        return self._spans

    def cancel(self) -> None:
        self._halt.set()
        self._thread.join()


def speech_seconds(spans: list[Span]) -> float:
    return float(sum(e - s for s, e in spans))
