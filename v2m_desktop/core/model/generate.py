"""Chord generation with the AMT: prefill once, then one token at a time with a KV cache.

Second j's chord is decoder position j; the logits there give the chord of second j + 1.
Constraints: seed, temperature, top-k / top-p, primer chords, "no N", a cap on how many seconds
one chord may repeat, chords locked at given seconds, and a join rule: a chord placed right
before a locked one (or before the chord that follows a regenerated span) is chosen with the
model's own probability of moving on to that chord, so the seam stays plausible.

With `ChordRules` (the meter, from the arranger's plan) the chord may change only at the seconds
that carry a bar line or a cut, must change at a cut, repeats the chord of an earlier second where
a phrase repeats, and is drawn among the subdominant / dominant chords and then the tonic at a
scene's cadence; the hold cap then counts slots, not seconds. The model reads what was really
played, so its next chord follows the constrained past.
"""
from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

import numpy as np
import torch

from v2m_desktop.core.chords import EMOTION_MASKS, N_CHORDS, N_ID, chord_id, quality_of, root_of
from v2m_desktop.core.errors import V2MError
from v2m_desktop.core.features import VideoFeatures
from v2m_desktop.core.model.amt import AMT, KVCache
from v2m_desktop.core.model.context import ChordContext
from v2m_desktop.core.model.inputs import batch_video
from v2m_desktop.core.progress import Progress, report

JOIN_CANDIDATES = 8      # chords weighed by the join rule before a fixed chord
STEER_RANGE = math.log(100.0)   # emotion steering acts on chords within this of the best logit


@dataclass
class SamplingOptions:
    temperature: float = 1.0
    top_k: int = 0               # 0 = off
    top_p: float = 1.0           # 1.0 = off
    seed: int | None = None
    allow_n: bool = False        # False: never draw N (no chord)
    max_repeat: int = 4          # the longest run of one chord, in seconds (0 = no cap)
    emotion_steer: float = 1.0   # logit bonus for the qualities the second's emotions allow
    out_of_key: float = 0.6      # logit penalty for chords whose root is outside the key's scale
    guidance: float = 0.0        # follow the picture: logits pushed away from a neutral video's (0 = off)

    def check(self) -> None:
        if not 0 < self.temperature <= 100:        # NaN and inf fail too
            raise V2MError(f"the temperature must be above 0 and at most 100, not {self.temperature:g}")
        if not 0 < self.top_p <= 1:
            raise V2MError("top-p must be in (0, 1]")
        if self.seed is not None and not 0 <= self.seed < 2**32:
            raise V2MError(f"the seed must be a whole number from 0 to {2**32 - 1}, not {self.seed}")
        if min(self.top_k, self.max_repeat, self.emotion_steer, self.out_of_key, self.guidance) < 0:
            raise V2MError("top-k, the repeat cap and the steering strengths must not be negative")


@dataclass
class ChordRules:
    """Per second: where the chord may change and what it must be there (see the module text)."""
    change: np.ndarray       # [T] bool: a slot starts at this second
    fresh: np.ndarray        # [T] bool: the chord must change here (a cut)
    copy: np.ndarray         # [T] int: an earlier second whose chord this slot repeats, or -1
    cadence: np.ndarray      # [T] int: 1 the cadence's first chord (IV or V), 2 its tonic, else 0
    max_hold: int = 2        # slots one chord may last (0 = no cap)

    def window(self, start: int, stop: int) -> ChordRules:
        copy = self.copy[start:stop] - start
        return ChordRules(self.change[start:stop], self.fresh[start:stop], np.where(copy >= 0, copy, -1),
                          self.cadence[start:stop], self.max_hold)

    def anew(self, start: int, stop: int) -> ChordRules:
        """The rules for writing [start, stop) anew: its slots no longer repeat chords from before
        `start` (regenerating a stretch of a repeating phrase would otherwise give it back
        unchanged); repeats inside the stretch, cadences and slots hold."""
        copy = self.copy.copy()
        span = copy[start:stop]
        span[span < start] = -1
        return ChordRules(self.change, self.fresh, copy, self.cadence, self.max_hold)


# the tonic a cadence resolves to, by mode: in a major key a major or minor triad (or its sixth,
# seventh or sus2: a sad stretch may close on i), in a minor key a minor one (a D minor scene
# closing on D major at every cut sounded undecided); never I7, a diminished or a sus4 chord
TONIC_QUALITIES = ({"maj", "maj7", "maj6", "sus2", "min", "min7", "min6"}, {"min", "min7", "min6", "sus2"})


@functools.cache
def _cadence_mask(role: int, mode: int) -> torch.Tensor:
    """[157] bool: the chords a cadence allows (roots relative to the normalised tonic: 5 or 7 for
    its first chord, a resolving chord on the tonic for its second); shared, never to be changed."""
    home = 0 if mode == 0 else 9
    if role == 2:
        return torch.tensor([root_of(t) == home and quality_of(t) in TONIC_QUALITIES[mode != 0]
                             for t in range(N_CHORDS)])
    roots = ((home + 5) % 12, (home + 7) % 12)
    return torch.tensor([root_of(t) in roots for t in range(N_CHORDS)])


def tonic(mode: int) -> int:
    """C for a major key, A minor for a minor key (the normalised keys of the dataset)."""
    return chord_id(0, "maj") if mode == 0 else chord_id(9, "min")


def _host(t: torch.Tensor) -> torch.Tensor:
    """Logits for the sampler, which works on the CPU (its masks and biases live there)."""
    return t if t.device.type == "cpu" else t.float().cpu()


class _Decoder:
    """The state of one generation: encoded video, KV cache, context features, tokens so far."""

    def __init__(self, model: AMT, features: VideoFeatures, mode: int, semantic: bool,
                 device: torch.device | str, recompute: bool, half: bool = False):
        self.model, self.device, self.recompute = model, device, recompute
        self.video = batch_video([features], len(features), semantic=semantic).to(device)
        self.mode = torch.tensor([mode], device=device)
        self.memory, self.mask = model.encode(self.video)
        self.cache = KVCache.new(model, half)
        self.threads = _StepThreads(torch.get_num_threads())
        self.ctx = ChordContext(len(features) + 1)
        self.tokens: list[int] = []
        self.ctx_rows: list[np.ndarray] = []

    def feed(self, tokens: list[int]) -> torch.Tensor:
        """Append tokens; returns the logits [159] at the last one (predicting the next second)."""
        start = len(self.tokens)
        rows = [self.ctx.push(t) for t in tokens]
        self.tokens.extend(tokens)
        self.ctx_rows.extend(rows)
        if self.recompute:
            # the reference's way, kept for the benchmark and the tests: the whole model on
            # the whole prefix for every token
            tok = torch.tensor([self.tokens], device=self.device)
            ctx = torch.from_numpy(np.stack(self.ctx_rows))[None].to(self.device)
            return _host(self.model(self.video, tok, ctx, self.mode)[0, -1])
        tok = torch.tensor([tokens], device=self.device)
        ctx = torch.from_numpy(np.stack(rows))[None].to(self.device)
        if start and len(tokens) == 1:
            return _host(self.threads.run(lambda: self.model.step(
                tok, ctx, self.mode, self.memory, self.mask, self.cache, start, self.video)[0, -1]))
        return _host(self.model.decode(tok, ctx, self.mode, self.memory, self.mask, self.cache, start,
                                       self.video)[0, -1])

    def lookahead(self, candidates: list[int], target: int) -> torch.Tensor:
        """log P(target at the following second | candidate here), for each candidate."""
        m, start = len(candidates), len(self.tokens)
        rows = [self.ctx.copy().push(c) for c in candidates]
        if self.recompute:
            tok = torch.tensor([self.tokens + [c] for c in candidates], device=self.device)
            ctx = torch.from_numpy(np.stack([np.stack(self.ctx_rows + [r]) for r in rows])).to(self.device)
            logits = self.model(self.video.expand(m), tok, ctx, self.mode.expand(m))[:, -1]
            return _host(torch.log_softmax(logits.float(), dim=-1)[:, target])
        cache = KVCache([{kind: {k: layer[kind][k].expand(m, *layer[kind][k].shape[1:]) for k in ("k", "v")}
                          for kind in ("self", "cross")} for layer in self.cache.layers])
        logits = self.model.decode(
            torch.tensor(candidates, device=self.device)[:, None],
            torch.from_numpy(np.stack(rows))[:, None].to(self.device), self.mode.expand(m),
            self.memory.expand(m, -1, -1), self.mask.expand(m, -1, -1, -1), cache, start,
            self.video.expand(m))[:, -1]
        return _host(torch.log_softmax(logits.float(), dim=-1)[:, target])


NEUTRAL_MOTION = 8.4      # MuVi-Sync's mean motion


def neutral(features: VideoFeatures) -> VideoFeatures:
    """The same length of video with nothing in it: even emotions, average motion, one shot,
    no semantic features (what guidance pushes away from)."""
    n = len(features)
    return VideoFeatures(np.full((n, 6), 1 / 6, dtype=np.float32), np.full(n, NEUTRAL_MOTION, np.float32),
                         np.arange(n, dtype=np.float32), None)


def emotion_bias(emotion: np.ndarray, strength: float | np.ndarray) -> torch.Tensor:
    """[T, 157] logit bonus: each chord gets `strength` (one, or one a second) times the
    probability that the second's emotion allows its quality (the paper's affective mapping).
    The model learns the mapping only softly (the affective loss); this makes the emotion curve a
    user edits audible."""
    strength = np.asarray(strength, dtype=np.float32).reshape(-1, 1)
    return torch.from_numpy((strength * (emotion[:, :6] @ EMOTION_MASKS[:, :N_CHORDS])).astype(np.float32))


# Roots of the normalised keys' scale (C major, and A minor's same notes).  The soundtracks keep
# 97 % of their chords on these roots (most of the rest on B-flat, the borrowed bVII), but the
# sampled model puts 8-11 % outside them: the affective loss lifts every chord of an allowed
# quality, whatever its root, so the tail of the distribution is too heavy there.  The default
# penalty brings the sampled share back to the data's (val: 97.3 %).
IN_SCALE = torch.tensor([root_of(t) in (0, 2, 4, 5, 7, 9, 11) for t in range(N_CHORDS)])


def _prior(opts: SamplingOptions) -> torch.Tensor:
    """[157] logit offsets that hold for every second: the out-of-key penalty (N left alone) and
    N's ban."""
    prior = -opts.out_of_key * (~IN_SCALE).float()
    prior[N_ID] = 0.0 if opts.allow_n else -torch.inf
    return prior


def _filtered_logprobs(logits: torch.Tensor, opts: SamplingOptions, banned: list[int],
                       bias: torch.Tensor | None, prior: torch.Tensor) -> torch.Tensor:
    z = logits[:N_CHORDS].float() + prior                  # END and PAD are never drawn
    for b in banned:
        z[b] = -torch.inf
    if torch.isinf(z).all():                               # everything banned: fall back
        z = logits[:N_CHORDS].float().clone()
    if bias is not None:
        # only chords the model finds plausible here (within 1/100 of its favourite) are
        # favoured: steering picks among sensible chords, it does not invent odd ones
        z = z + bias * (z >= z.max() - STEER_RANGE)
    z = z / opts.temperature
    if opts.top_k:
        kth = torch.topk(z, min(opts.top_k, N_CHORDS)).values[-1]
        z[z < kth] = -torch.inf
    if opts.top_p < 1:
        p, idx = torch.sort(torch.softmax(z, -1), descending=True)
        drop = (p.cumsum(0) - p) >= opts.top_p             # keep the smallest head reaching top_p
        z[idx[drop]] = -torch.inf
    return torch.log_softmax(z, -1)


def _run_length(tokens: list[int]) -> int:
    n = 0
    for t in reversed(tokens):
        if t != tokens[-1]:
            break
        n += 1
    return n


_P = ParamSpec("_P")
_R = TypeVar("_R")


class _StepThreads:
    """The intra-op thread count for the one-token steps, chosen by timing them.  On an idle
    machine two threads beat one (0.47 s against 0.61 s for 300 chords on 2 cores); when
    another process holds a core, every kernel waits for the descheduled thread and one thread
    is ten to a hundred times faster.  So one and then two threads are timed for a few steps
    (two given up at once when clearly slower) and the faster kept; the trial is repeated now
    and then since the load changes, more rarely while one thread keeps winning."""
    TRIAL, GAP = 2, 100

    def __init__(self, most: int):
        self.choices = [1, 2] if most >= 2 else [1]     # more than two do not pay at this size
        self.best, self.n, self.trial_at, self.gap = 1, 0, 0, self.GAP
        self.times: dict[int, list[float]] = {}      # threads -> step seconds in this trial

    def run(self, fn: Callable[[], _R]) -> _R:
        k = self.n - self.trial_at                       # step within the current trial
        trial = 0 <= k < self.TRIAL * len(self.choices)
        threads = self.choices[k // self.TRIAL] if trial else self.best
        torch.set_num_threads(threads)
        t0 = time.perf_counter()
        out = fn()
        self.n += 1
        if trial:
            dt = time.perf_counter() - t0
            self.times.setdefault(threads, []).append(dt)
            hopeless = threads > 1 and dt > 2 * min(self.times[1])
            if hopeless or k == self.TRIAL * len(self.choices) - 1:
                self.best = 1 if hopeless else min(self.choices, key=lambda t: min(self.times[t]))
                self.gap = self.gap * 2 if self.best == 1 else self.GAP
                self.trial_at, self.times = self.n + self.gap, {}
        return out


def _no_grad_keep_threads(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """No autograd, and the caller's thread count restored afterwards (the steps change it)."""
    @functools.wraps(fn)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        saved = torch.get_num_threads()
        try:
            with torch.no_grad():
                return fn(*args, **kwargs)
        finally:
            torch.set_num_threads(saved)
    return wrapper


@_no_grad_keep_threads
def generate(model: AMT, features: VideoFeatures, mode: int, *, length: int | None = None,
             primer: list[int] | tuple = (), locks: dict[int, int] | None = None,
             join_to: int | None = None, options: SamplingOptions | None = None,
             semantic: bool = True, device: torch.device | str = "cpu",
             progress: Progress | None = None,
             recompute: bool = False, half: bool = True, rules: ChordRules | None = None,
             target_steer: np.ndarray | None = None) -> np.ndarray:
    """Chord tokens for seconds 0 .. length-1 (default: the video's length).

    primer: the first chords (seconds 0..); without one, the piece starts on the tonic.
    locks: second -> chord that must sound there.  join_to: a chord that follows the last
    generated second (span regeneration).  progress("compose", fraction) is called for every
    token (it may raise Cancelled).  half: the KV-cache steps multiply by float16
    copies of the weights (twice as fast on a CPU; the logits move by about 1e-3).
    target_steer: per second, emotion steering added to the options' (where the user set an
    emotion target: the mood asked for is heard, not only nudged).
    """
    opts = options or SamplingOptions()
    opts.check()
    length = len(features) if length is None else length
    if length < 1 or length > len(features):
        raise V2MError(f"cannot generate {length} chords for {len(features)} seconds of video")
    if length > model.cfg.max_len:
        raise V2MError(f"one generation covers at most {model.cfg.max_len} s; use windows for longer")
    locks = {int(s): int(t) for s, t in (locks or {}).items()}
    for s, t in [*locks.items(), *enumerate(primer)]:
        if not 0 <= s < len(features):
            raise V2MError(f"a chord is fixed at second {s}, outside the video's {len(features)} s")
        if not 0 <= t < N_CHORDS:
            raise V2MError(f"token {t} at second {s} is not a chord")
    gen = torch.Generator().manual_seed(opts.seed if opts.seed is not None else
                                        int(torch.randint(0, 2**31 - 1, (1,))))
    dec = _Decoder(model, features, mode, semantic, device, recompute, half and not recompute)
    report(progress, "compose", 0.02)       # the picture is encoded: the stage visibly moves
    if target_steer is not None and len(target_steer) != len(features):
        raise V2MError(f"target steering for {len(target_steer)} s, not the video's {len(features)} s")
    strength = opts.emotion_steer if target_steer is None else \
        opts.emotion_steer + np.asarray(target_steer, dtype=np.float32)
    steer = emotion_bias(features.emotion, strength) if np.any(strength) else None
    prior = _prior(opts)
    prefix = [int(t) for t in primer][:length]
    for s, t in locks.items():
        if s < len(prefix):
            prefix[s] = int(t)
    if not prefix:
        prefix = [int(locks.get(0, tonic(mode)))]

    def step(done: int) -> None:
        report(progress, "compose", done / length)

    def slots_held() -> int:
        """Slots the current chord has lasted (its own included)."""
        assert rules is not None                        # asked only where the meter rules
        run = _run_length(dec.tokens)
        return int(rules.change[len(dec.tokens) - run:len(dec.tokens)].sum()) or 1

    def pick(pos: int, logits: torch.Tensor) -> int:
        """The chord of second pos: locked, drawn, or (before a fixed chord) joined to it."""
        if pos in locks:
            return int(locks[pos])
        # the meter's rules where they reach this second, else None
        meter = rules if rules is not None and pos < len(rules.change) else None
        if meter is not None:
            if not meter.change[pos]:
                return dec.tokens[-1]                       # no bar line or cut here: hold
            if 0 <= meter.copy[pos] < pos:
                return dec.tokens[meter.copy[pos]]          # the phrase repeats
            run_out = meter.fresh[pos] or (meter.max_hold and slots_held() >= meter.max_hold)
        else:
            run_out = opts.max_repeat and _run_length(dec.tokens) >= opts.max_repeat
        logp = _filtered_logprobs(logits, opts, [dec.tokens[-1]] if run_out else [],
                                  None if steer is None else steer[pos], prior)
        if meter is not None and meter.cadence[pos]:
            allowed = _cadence_mask(int(meter.cadence[pos]), mode)
            if torch.isfinite(logp[allowed]).any():
                logp = torch.log_softmax(logp.masked_fill(~allowed, -torch.inf), -1)
        nxt = join_to if pos == length - 1 else locks.get(pos + 1)
        if nxt is None:
            return int(torch.multinomial(logp.exp(), 1, generator=gen))
        cands = [int(c) for c in torch.topk(logp, JOIN_CANDIDATES).indices if logp[c] > -torch.inf]
        if opts.max_repeat and meter is None:       # joining on the same chord lengthens its run
            cands = [c for c in cands
                     if _run_length(dec.tokens + [c, int(nxt)]) <= opts.max_repeat] or cands
        joint = logp[cands] + dec.lookahead(cands, int(nxt))
        return cands[int(torch.multinomial(torch.softmax(joint, -1), 1, generator=gen))]

    # guidance: a second decoder reads the same chords over a neutral video; the logits move
    # away from its by `guidance` times the difference (classifier-free guidance's form)
    plain = _Decoder(model, neutral(features), mode, False, device, recompute, half and not recompute) \
        if opts.guidance else None

    def feed(tokens: list[int]) -> torch.Tensor:
        z = dec.feed(tokens)
        if plain is None:
            return z
        return z + opts.guidance * (z - plain.feed(tokens))

    logits = feed(prefix)
    step(len(prefix))
    for pos in range(len(prefix), length):
        token = pick(pos, logits)
        if pos < length - 1:
            logits = feed([token])
        else:
            dec.tokens.append(token)
        step(pos + 1)
    return np.array(dec.tokens, dtype=np.int64)


def regenerate_span(model: AMT, features: VideoFeatures, mode: int, chords: np.ndarray,
                    start: int, stop: int, **kwargs) -> np.ndarray:
    """New chords for seconds [start, stop), keeping the chords before start as the prefix and
    joining the chord at stop; the rest is unchanged.  With `rules`, the span repeats no phrase
    from before it (ChordRules.anew), and a span that ends inside a slot keeps that slot's chord
    from the slot's start (the chord cannot change mid-bar)."""
    chords = np.asarray(chords, dtype=np.int64)
    if not 0 <= start < stop <= len(chords):
        raise V2MError(f"span [{start}, {stop}) is outside the {len(chords)} s of chords")
    join = int(chords[stop]) if stop < len(chords) else None
    rules = kwargs.get("rules")
    if rules is not None:
        kwargs["rules"] = rules = rules.anew(start, stop)
    if rules is not None and join is not None and stop < len(rules.change) and not rules.change[stop]:
        a = stop
        while a > start and not rules.change[a]:
            a -= 1
        locks = dict(kwargs.get("locks") or {})
        for k in range(a, stop):
            locks.setdefault(k, join)
        kwargs["locks"] = locks
    primer = chords[:start].tolist()
    head = generate(model, features, mode, length=stop, primer=primer, join_to=join, **kwargs)
    return np.concatenate([head, chords[stop:]])


OVERLAP = 60     # seconds of earlier chords a new window continues from


def generate_long(model: AMT, features: VideoFeatures, mode: int, *, primer: Sequence[int] = (),
                  locks: dict[int, int] | None = None,
                  progress: Progress | None = None,
                  rules: ChordRules | None = None, target_steer: np.ndarray | None = None,
                  **kwargs) -> np.ndarray:
    """Chords for a video of any length: windows of the model's span that overlap by OVERLAP
    seconds, each primed with the previous window's last chords, so nothing is cut off."""
    total, span = len(features), model.cfg.max_len
    overlap = min(OVERLAP, span // 5)
    locks = dict(locks or {})
    out = np.zeros(0, dtype=np.int64)
    start = 0
    while True:
        stop = min(start + span, total)
        prime = out[start:].tolist() if start else list(primer)
        win_locks = {s - start: t for s, t in locks.items() if start <= s < stop}
        done_before = len(out)

        def win_progress(stage: str, fraction: float, base: int = start, before: int = done_before,
                         n: int = stop - start) -> None:
            report(progress, stage, max(base + fraction * n, before) / total)

        chords = generate(model, features.window(start, stop), mode, primer=prime, locks=win_locks,
                          progress=win_progress, rules=None if rules is None else rules.window(start, stop),
                          target_steer=None if target_steer is None else target_steer[start:stop], **kwargs)
        out = np.concatenate([out[:start], chords])
        if stop >= total:
            return out
        start = stop - overlap
