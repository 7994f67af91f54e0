"""The mix that sits under the video: the music ducked under the speech of the original sound,
and the whole brought to a delivery loudness with a true-peak ceiling.

Ducking (when the original sound is kept): broadcast practice's envelope, DUCK_DB deep by
default; a ramp down of ATTACK_S that ends at the first syllable, a hold of HOLD_S after the last
word, a ramp up of RELEASE_S (linear in dB).  Spans closer than the whole envelope
(ATTACK_S + HOLD_S + RELEASE_S) are joined, so the music stays down between phrases instead of
pumping.  The envelope is a gain on the finished music, a pure function of time, so a re-render
after an edit (render.rerender) is ducked exactly as a full render.

Loudness: the mix's integrated loudness is measured by ITU-R BS.1770-4 (pyloudnorm) and a gain
brings it to the target (-14 LUFS for online video by default); pedalboard's BrickwallLimiter with
its 4x-oversampled true-peak sidechain keeps the peaks under the ceiling, checked afterwards by
our own 4x-oversampled true-peak reading (BS.1770-4 annex 2; a reading, not a processor), and
any overshoot the limiter left is taken off with a plain gain.  The level follows the picture:
the dynamics model sets the arrangement's loudness from the picture, and render.choose_gain
withholds part of the lift from a quiet (calm) arrangement; up to CALM_LU of what it withheld
is kept under the target here, so a calm piece sits up to 4 LU under it by design."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from v2m_desktop.core.errors import V2MError

DUCK_DB = 10.0          # how far the music goes down under speech (0: no ducking)
MAX_DUCK_DB = 40.0
ATTACK_S = 0.15         # the ramp down, ending at the first syllable
HOLD_S = 0.2            # held down after the last word
RELEASE_S = 0.5         # the ramp back up
BRIDGE_S = ATTACK_S + HOLD_S + RELEASE_S   # pauses shorter than the whole envelope stay ducked

TARGETS = {"youtube": -14.0, "podcast": -16.0, "broadcast": -23.0}   # LUFS; broadcast: EBU R 128
DEFAULT_LOUDNESS = TARGETS["youtube"]
CEILING_DBTP = -1.0     # the true-peak ceiling of every delivery
LIMIT_DB = -1.5         # the limiter's ceiling: under CEILING_DBTP (its true-peak sidechain is not exact)
CALM_LU = 4.0           # at most this far under the target for a calm piece
BLOCK = 1 << 18

Span = tuple[float, float]


# --------------------------------------------------------------------------------------------- #
# settings

def parse_loudness(value) -> float:
    """A delivery target: 'youtube' (-14), 'podcast' (-16), 'broadcast' (-23) or LUFS."""
    if isinstance(value, str) and value.strip().lower() in TARGETS:
        return TARGETS[value.strip().lower()]
    try:
        lufs = float(value)
    except (TypeError, ValueError):
        raise V2MError(f"the loudness target is youtube, podcast, broadcast or a number of LUFS "
                       f"(e.g. -14), not {value!r}") from None
    if not -40.0 <= lufs <= -5.0:
        raise V2MError(f"a loudness target must be between -40 and -5 LUFS, not {lufs:g}")
    return lufs


def check_duck_db(value) -> float:
    """The duck depth in dB, 0 (off) to MAX_DUCK_DB."""
    try:
        db = float(value)
    except (TypeError, ValueError):
        raise V2MError(f"the duck depth is a number of dB (0: off), not {value!r}") from None
    if not 0.0 <= db <= MAX_DUCK_DB:
        raise V2MError(f"the duck depth must be between 0 and {MAX_DUCK_DB:g} dB, not {db:g}")
    return db


def check_spans(spans, duration: float, what: str = "a duck range") -> list[Span]:
    """[(start, end)] as floats, each inside [0, duration] and not empty."""
    out = []
    for span in spans:
        try:
            a, b = (float(x) for x in span)
        except (TypeError, ValueError):
            raise V2MError(f"{what} is START-END in seconds, not {span!r}") from None
        if not 0.0 <= a < b <= duration + 1e-6:
            raise V2MError(f"{what} ({a:g}-{b:g} s) lies outside the video's {duration:g} s")
        out.append((a, b))
    return out


# --------------------------------------------------------------------------------------------- #
# spans

def union(spans) -> list[Span]:
    """The spans merged where they overlap or touch, in order."""
    out: list[list[float]] = []
    for a, b in sorted((float(a), float(b)) for a, b in spans if b > a):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def subtract(spans, cut) -> list[Span]:
    """`spans` without any time in `cut`."""
    out = []
    for a, b in union(spans):
        pieces = [(a, b)]
        for c, d in union(cut):
            pieces = [p for x, y in pieces
                      for p in ((x, min(y, c)), (max(x, d), y)) if p[1] > p[0]]
        out += pieces
    return out


def duck_spans(speech, added=(), removed=()) -> list[Span]:
    """What the music ducks under: the speech and the user's added ranges, without the user's
    removed ranges, and pauses shorter than the envelope joined."""
    spans = subtract(union([*speech, *added]), removed)
    out: list[Span] = []
    for a, b in spans:
        if out and a - out[-1][1] < BRIDGE_S:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def duck_gain(spans, depth_db: float, sr: int, n: int, first: int = 0) -> np.ndarray:
    """[n] float32: the music's gain for frames [first, first + n) of the piece under `spans`
    (already joined by duck_spans, so no two envelopes overlap)."""
    t = (first + np.arange(n)) / float(sr)
    if depth_db <= 0 or not spans:
        return np.ones(n, dtype=np.float32)
    times, dbs = [], []
    for a, b in spans:
        times += [a - ATTACK_S, a, b + HOLD_S, b + HOLD_S + RELEASE_S]
        dbs += [0.0, -depth_db, -depth_db, 0.0]
    db = np.interp(t, times, dbs, left=0.0, right=0.0)
    return (10.0 ** (db / 20.0)).astype(np.float32)


def apply_gain(audio: np.ndarray, spans, depth_db: float, sr: int, gain: float = 1.0) -> np.ndarray:
    """audio *= gain x the duck envelope, in place, a block at a time."""
    for i in range(0, len(audio), BLOCK):
        block = audio[i:i + BLOCK]
        block *= (np.float32(gain) * duck_gain(spans, depth_db, sr, len(block), i))[:, None]
    return audio


# --------------------------------------------------------------------------------------------- #
# loudness

@dataclass
class Loudness:
    integrated_lufs: float      # ITU-R BS.1770-4, gated (-inf: silence)
    true_peak_dbtp: float       # 4x oversampled


def integrated_loudness(audio: np.ndarray, sr: int) -> float:
    """BS.1770-4 integrated loudness in LUFS (pyloudnorm); -inf for silence or under 0.4 s.
    Read in float32: the same reading as float64's to 1e-7 LU, in half the time and memory."""
    import pyloudnorm
    a = np.asarray(audio, dtype=np.float32)
    if len(a) < int(0.4 * sr) + 1 or not np.any(a):
        return float("-inf")
    with np.errstate(divide="ignore"):
        return float(pyloudnorm.Meter(sr).integrated_loudness(a))


TP_UP = 4                   # the true peak's oversampling
TP_HALF = 10 * TP_UP        # resample_poly's filter half-length for it (its default)


@lru_cache(maxsize=1)
def _tp_bound() -> float:
    """How far the oversampled signal can rise above its samples' peak: the largest sum of the
    interpolation filter's magnitudes over one phase (resample_poly's own filter)."""
    from scipy.signal import firwin
    h = firwin(2 * TP_HALF + 1, 1.0 / TP_UP, window=("kaiser", 5.0)) * TP_UP
    return float(max(np.abs(h[p::TP_UP]).sum() for p in range(TP_UP)))


def true_peak(audio: np.ndarray) -> float:
    """The true peak in dBTP: the largest sample of the audio oversampled 4x (BS.1770-4 annex
    2's reading), a block at a time; blocks whose samples are too low to rise past the largest
    reading so far (by _tp_bound) are not oversampled, the loudest first."""
    from scipy.signal import resample_poly
    pad = 64
    peaks = [(float(np.abs(audio[i:i + BLOCK]).max()), i) for i in range(0, len(audio), BLOCK)]
    top = 0.0
    for sample_peak, i in sorted(peaks, reverse=True):
        if sample_peak * _tp_bound() <= top:
            break
        lo = max(i - pad, 0)
        up = resample_poly(np.asarray(audio[lo:i + BLOCK + pad], dtype=np.float32), TP_UP, 1, axis=0)
        n = min(BLOCK, len(audio) - i)
        top = max(top, float(np.abs(up[TP_UP * (i - lo):TP_UP * (i - lo + n)]).max()))
    return float(20.0 * np.log10(top)) if top > 0 else float("-inf")


def measure(audio: np.ndarray, sr: int) -> Loudness:
    return Loudness(integrated_loudness(audio, sr), true_peak(audio))


def limit(audio: np.ndarray, sr: int) -> tuple[np.ndarray, float]:
    """The audio under CEILING_DBTP (a new array) and its true peak: pedalboard's true-peak
    brick-wall limiter, then a plain gain for any overshoot it left (its sidechain is not
    exact)."""
    import pedalboard
    limiter = pedalboard.BrickwallLimiter(ceiling_db=LIMIT_DB, true_peak=True)
    out = limiter(np.asarray(audio, dtype=np.float32), sr)        # [N, 2] in, [N, 2] out
    tp = true_peak(out)
    over = tp - (CEILING_DBTP - 0.05)
    if over > 0:
        out *= np.float32(10.0 ** (-over / 20.0))
        tp -= over
    return out, tp


def loudness_gain(audio: np.ndarray, sr: int, target: float) -> float:
    """The gain that brings the audio's integrated loudness to `target` LUFS (1 for silence)."""
    lufs = integrated_loudness(audio, sr)
    return 1.0 if not np.isfinite(lufs) else float(10.0 ** ((target - lufs) / 20.0))


def calm_lu(withheld_db: float) -> float:
    """How far under the target a piece sits: what the render's gain withheld from a calm
    arrangement (render.withheld_db), at most CALM_LU."""
    return float(min(max(withheld_db, 0.0), CALM_LU))


@dataclass
class MixReport:
    """What a delivery did, for the export summary: the mix's loudness and true peak, the
    loudness aimed at, and the ranges the music ducked under (and how deep)."""
    loudness: Loudness
    target: float
    ducked: list[Span]
    duck_db: float

    def summary(self) -> list[tuple[str, str]]:
        """(what, said) for the export summaries (the command line's and the app's)."""
        out = [("loudness", f"{self.loudness.integrated_lufs:.1f} LUFS integrated (aimed at "
                            f"{self.target:.1f}), true peak {self.loudness.true_peak_dbtp:.1f} dBTP")]
        if self.ducked:
            total = sum(b - a for a, b in self.ducked)
            out.append(("ducked", f"{self.duck_db:g} dB under speech: {len(self.ducked)} "
                                  f"range{'s' * (len(self.ducked) != 1)}, {total:.1f} s"))
        return out


@dataclass
class Delivered:
    """The delivered sound: the mix (what the MP4 carries), the music as mixed (the WAV), the
    gain on both sounds (the stems take it with the duck envelope), and the mix's loudness."""
    mix: np.ndarray
    music: np.ndarray
    gain: float
    target: float               # the loudness aimed at (the delivery target less the calm part)
    loudness: Loudness
    ducked: list[Span]
    duck_db: float

    def report(self) -> MixReport:
        return MixReport(self.loudness, self.target, list(self.ducked), self.duck_db)


def _mixed(music: np.ndarray, sr: int, original: np.ndarray | None, level: float, spans,
           duck_db: float) -> tuple[np.ndarray, np.ndarray]:
    """(the music ducked under `spans`, a new array; the mix with the original at `level`, the
    ducked music itself when there is no original)."""
    ducked = apply_gain(np.array(music, dtype=np.float32), spans, duck_db, sr)
    if original is None or level <= 0:
        return ducked, ducked
    return ducked, ducked + np.float32(level) * np.asarray(original, dtype=np.float32)


def delivery_gain(music: np.ndarray, sr: int, *, original: np.ndarray | None = None,
                  level: float = 0.0, spans=(), duck_db: float = DUCK_DB,
                  aim: float = DEFAULT_LOUDNESS) -> float:
    """The gain `deliver` puts on the mix of the music ducked under `spans` and the original
    at `level` to bring it to `aim` LUFS, before its limiter: what playback applies, so that
    what the user hears is what the export delivers."""
    return loudness_gain(_mixed(music, sr, original, level, list(spans), duck_db)[1], sr, aim)


def deliver(music: np.ndarray, sr: int, *, original: np.ndarray | None = None, level: float = 0.0,
            speech=(), added=(), removed=(), duck_db: float = DUCK_DB,
            target: float = DEFAULT_LOUDNESS, calm: float = 0.0) -> Delivered:
    """The music ([N, 2]) ducked under the speech of `original` (kept at `level`; ducking only
    when it is), mixed, at `target` - `calm` LUFS, limited to CEILING_DBTP."""
    keep = original is not None and level > 0
    spans = duck_spans(speech, added, removed) if keep and duck_db > 0 else []
    ducked, mix = _mixed(music, sr, original if keep else None, level, spans, duck_db)
    aim = target - calm
    gain = loudness_gain(mix, sr, aim)
    if keep:
        mix *= np.float32(gain)         # our own sum: scaled in place (a long mix is large)
    else:
        mix = ducked * np.float32(gain)
    out, tp = limit(mix, sr)
    lufs = integrated_loudness(out, sr)
    # the limiter takes a little loudness off the loudest mixes: made up once, then limited again
    if np.isfinite(lufs) and aim - lufs > 0.3:
        more = 10.0 ** ((aim - lufs) / 20.0)
        gain *= more
        mix *= np.float32(more)
        out, tp = limit(mix, sr)
        lufs = integrated_loudness(out, sr)
    del mix
    music_out = out if not keep else limit(ducked * np.float32(gain), sr)[0]
    return Delivered(out, music_out, gain, aim, Loudness(lufs, tp), spans, duck_db)
