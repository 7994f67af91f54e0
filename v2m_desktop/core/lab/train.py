"""Training of the chord model (AMT) and the dynamics model, resumable, best-on-validation.

Both share one loop: shuffled batches of videos (random 300-s windows of longer videos), AdamW
with a warm-up and cosine decay, validation figures after every epoch, the best checkpoint kept
by validation loss, and a resume file written after every epoch.
"""
from __future__ import annotations

import dataclasses
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from v2m_desktop.core.chords import PAD_ID
from v2m_desktop.core.device import pick_device
from v2m_desktop.core.errors import V2MError
from v2m_desktop.core.files import check_writable
from v2m_desktop.core.lab.evaluate import evaluate_chords, evaluate_dynamics
from v2m_desktop.core.lab.metrics import BCE_WEIGHT, CE_WEIGHT, emotion_targets
from v2m_desktop.core.lab.muvisync import WINDOW, MuviSync, MuviVideo, teacher_forcing
from v2m_desktop.core.model.amt import AMT, AMTConfig
from v2m_desktop.core.model.checkpoint import atomic_save, save_model
from v2m_desktop.core.model.context import context_features
from v2m_desktop.core.model.dynamics import DENSITY_SCALE, LOUDNESS_SCALE, DynamicsConfig, DynamicsGRU
from v2m_desktop.core.model.inputs import batch_video

# The shipped models' recipes (model card): what `v2m train KIND` runs unless told otherwise.
DEFAULT_EPOCHS = {"chords": 45, "dynamics": 10}
DEFAULT_BATCH = {"chords": 16, "dynamics": 8}
DEFAULT_LR = {"chords": 5e-4, "dynamics": 1e-3}
# The chord model must work without CLIP (most users), so half its videos train without it;
# the dynamics model leans more on the semantic features (the song's style sets its density).
DEFAULT_SEMANTIC_KEEP = {"chords": 0.5, "dynamics": 0.75}
# Model configuration trained by default (the dataclass defaults describe older files).
DEFAULT_CONFIG = {"chords": {}, "dynamics": {"packed": True, "position": True, "members": 3}}


@dataclass
class TrainOptions:
    data: Path
    out: Path
    epochs: int | None = None       # default: 45 for chords, 10 for dynamics
    device: str = "auto"
    seed: int = 0
    batch_size: int | None = None   # default: 16 for chords, 8 for dynamics
    lr: float | None = None         # default: 5e-4 for chords, 1e-3 for dynamics
    weight_decay: float = 0.01
    warmup_steps: int = 100
    semantic: bool = True           # train with semantic features (with modality dropout)
    semantic_keep: float | None = None  # share of training videos that see their semantic
                                        # features (default: 0.5 chords, 0.75 dynamics)
    limit: int | None = None        # use only the first N videos of each split (tests)
    fresh: bool = False             # ignore an earlier run's resume state
    config: dict = field(default_factory=dict)   # model configuration overrides


def _window(video: MuviVideo, rng: random.Random, train: bool) -> int:
    """Start second: random for long videos in training, 0 (the first 300 s) otherwise."""
    return rng.randint(0, len(video) - WINDOW) if train and len(video) > WINDOW else 0


class ChordBatches:
    """Turns videos into decoder/encoder tensors; context features cached per window."""

    def __init__(self):
        self._ctx: dict = {}

    def example(self, video: MuviVideo, start: int):
        x, y = teacher_forcing(video.chords[start:start + WINDOW])
        key = (video.vid, start)
        if key not in self._ctx:
            self._ctx[key] = context_features(x)
        return x, y, self._ctx[key], video.emotion_argmax(start)

    def batch(self, videos, starts, semantic_flags):
        xs, ys, ctxs, ms, feats = [], [], [], [], []
        for v, s, keep in zip(videos, starts, semantic_flags, strict=True):
            x, y, ctx, emo = self.example(v, s)
            xs.append(x), ys.append(y), ctxs.append(ctx), ms.append(emotion_targets(y, emo))
            f = v.features.window(s, s + WINDOW)
            if not keep:
                f.semantic = None
            feats.append(f)
        t = torch.from_numpy
        return (batch_video(feats, WINDOW, semantic=any(semantic_flags)), t(np.stack(xs)),
                t(np.stack(ys)), t(np.stack(ctxs)), torch.tensor([v.mode for v in videos]),
                t(np.stack(ms)))


def chord_loss(logits: torch.Tensor, y: torch.Tensor, m: torch.Tensor):
    """0.4 x cross-entropy (non-PAD targets) + 0.6 x affective BCE (every entry); per video
    means, then the batch mean (the reference trains one video a step)."""
    logits = logits.float()
    ce = F.cross_entropy(logits.transpose(1, 2), y, ignore_index=PAD_ID, reduction="none")
    keep = (y != PAD_ID).float()
    ce = (ce.sum(1) / keep.sum(1).clamp(min=1)).mean()
    bce = F.binary_cross_entropy_with_logits(logits, m, reduction="none").mean((1, 2)).mean()
    return CE_WEIGHT * ce + BCE_WEIGHT * bce, ce, bce


def _schedule(step: int, total: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))


def _autocast(device: torch.device, kind: str):
    # bf16 autocast roughly halves the transformer's CPU step (CUDA gets it too); the GRU
    # takes a slow path under it, 30x slower, so the dynamics model trains in float32
    return torch.autocast(device.type, dtype=torch.bfloat16,
                          enabled=kind == "chords" and device.type in ("cpu", "cuda"))


def train(kind: str, opts: TrainOptions, log=print) -> dict:
    """Train `kind` ('chords' or 'dynamics'); returns the best validation figures."""
    if kind not in ("chords", "dynamics"):
        raise V2MError(f"unknown model kind {kind!r} (chords or dynamics)")
    opts = dataclasses.replace(opts, lr=opts.lr or DEFAULT_LR[kind],
                               epochs=opts.epochs or DEFAULT_EPOCHS[kind],
                               batch_size=opts.batch_size or DEFAULT_BATCH[kind],
                               semantic_keep=opts.semantic_keep if opts.semantic_keep is not None
                               else DEFAULT_SEMANTIC_KEEP[kind])
    lr, epochs, batch_size, semantic_keep = opts.lr, opts.epochs, opts.batch_size, opts.semantic_keep
    assert lr is not None and epochs is not None and batch_size is not None and semantic_keep is not None
    check_writable(Path(opts.out))

    device = pick_device(opts.device)
    random.seed(opts.seed), np.random.seed(opts.seed), torch.manual_seed(opts.seed)
    ds = MuviSync(opts.data)
    t0 = time.time()
    train_set = ds.load("train", semantic=opts.semantic, limit=opts.limit)
    val_set = ds.load("val", semantic=opts.semantic, limit=opts.limit)
    log(f"read {len(train_set)} train and {len(val_set)} val videos in {time.time() - t0:.1f} s")

    model: AMT | DynamicsGRU
    if kind == "chords":
        model = AMT(AMTConfig(**{**DEFAULT_CONFIG[kind], **opts.config}))
        batches = ChordBatches()
    else:
        model = DynamicsGRU(DynamicsConfig(**{**DEFAULT_CONFIG[kind], **opts.config}))
    model.to(device)
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.98),
                            weight_decay=opts.weight_decay)
    steps_per_epoch = math.ceil(len(train_set) / batch_size)
    total = steps_per_epoch * epochs
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: _schedule(s, total, opts.warmup_steps))

    out = Path(opts.out)
    state_path = out.with_name(out.name + ".state")
    start_epoch, best, history = 0, math.inf, []
    rng = random.Random(opts.seed)
    if state_path.is_file() and not opts.fresh:
        try:
            st = torch.load(state_path, map_location="cpu", weights_only=True)   # never code from a file
        except Exception as err:  # noqa: BLE001 - any unreadable state: say which file
            raise V2MError(f"cannot resume from {state_path} ({err.__class__.__name__}); "
                           "use --fresh to start over") from None
        if not isinstance(st, dict) or st.get("kind") != kind:
            raise V2MError(f"{state_path} belongs to a {st.get('kind')} run; use --fresh or another --out")
        try:
            model.load_state_dict(st["model"]), opt.load_state_dict(st["opt"])
        except (RuntimeError, ValueError, KeyError) as err:
            raise V2MError(f"{state_path} is from a different model configuration ({err}); "
                           "use --fresh to start over") from None
        sched.load_state_dict(st["sched"])     # the step count; the schedule follows --epochs
        start_epoch, best, history = st["epoch"], st["best"], st["history"]
        rng.setstate(st["rng"])
        torch.set_rng_state(st["torch_rng"])
        log(f"resuming after epoch {start_epoch} (best validation loss {best:.4f})")
    log(f"{kind}: {n_params / 1e6:.2f} M parameters on {device} ({torch.get_num_threads()} threads; "
        f"OMP_NUM_THREADS sets it), {steps_per_epoch} steps an epoch")

    def validate() -> dict:
        if isinstance(model, AMT):
            res = evaluate_chords(model, val_set, semantic=False, device=device)
            if opts.semantic:
                with_sem = evaluate_chords(model, val_set, semantic=True, device=device)
                res = {"no_semantic": res, "semantic": with_sem,
                       "loss": (res["total_loss"] + with_sem["total_loss"]) / 2}
            else:
                res = {"no_semantic": res, "loss": res["total_loss"]}
        else:
            # like the chord model: selected on the mean of the runs with and without semantics
            res = {"no_semantic": evaluate_dynamics(model, val_set, semantic=False, device=device)}
            if opts.semantic:
                res["semantic"] = evaluate_dynamics(model, val_set, semantic=True, device=device)
            res["loss"] = float(np.mean([r["note_density_rmse"] / DENSITY_SCALE
                                         + r["loudness_rmse"] / LOUDNESS_SCALE
                                         for r in res.values()]) / 2)
        return res

    for epoch in range(start_epoch, epochs):
        model.train()
        order = list(range(len(train_set)))
        rng.shuffle(order)
        t0, losses = time.time(), []
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{opts.epochs}", leave=False,
                   dynamic_ncols=True)
        for step in bar:
            vids = [train_set[i] for i in order[step * batch_size:(step + 1) * batch_size]]
            starts = [_window(v, rng, True) for v in vids]
            keep = [opts.semantic and rng.random() < semantic_keep for _ in vids]
            with _autocast(device, kind):
                if kind == "chords":
                    vb, x, y, ctx, mode, m = batches.batch(vids, starts, keep)
                    logits = model(vb.to(device), x.to(device), ctx.to(device), mode.to(device))
                    loss, _, _ = chord_loss(logits, y.to(device), m.to(device))
                else:
                    vb, target, mask, start, length = dynamics_batch(vids, starts, keep)
                    loss = dynamics_loss(model, vb.to(device), target.to(device), mask.to(device),
                                         start.to(device), length.to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            losses.append(loss.item())
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}")
        bar.close()
        model.eval()
        res = validate()
        res.update(epoch=epoch + 1, train_loss=float(np.mean(losses)), minutes=(time.time() - t0) / 60)
        history.append(res)
        improved = res["loss"] < best
        if improved:
            best = res["loss"]
            save_model(out, kind, model, {"epoch": epoch + 1, "validation": res, "options": {
                "epochs": opts.epochs, "seed": opts.seed, "batch_size": opts.batch_size,
                "lr": opts.lr, "semantic": opts.semantic, "semantic_keep": opts.semantic_keep},
                "parameters": n_params})
        log(_summary(kind, res) + ("  * saved" if improved else ""))
        atomic_save({"kind": kind, "model": model.state_dict(),
                     "opt": opt.state_dict(), "sched": sched.state_dict(), "epoch": epoch + 1,
                     "best": best, "history": history, "rng": rng.getstate(),
                     "torch_rng": torch.get_rng_state()}, state_path)
    return min(history, key=lambda r: r["loss"]) if history else {}


def _summary(kind: str, res: dict) -> str:
    head = (f"epoch {res['epoch']:3d}  {res['minutes']:.1f} min  train {res['train_loss']:.4f}"
            f"  val {res['loss']:.4f}")
    if kind == "dynamics":
        return head + "".join(f"  [{name}] density rmse {r['note_density_rmse']:.3f} loudness rmse "
                              f"{r['loudness_rmse']:.4f}" for name, r in res.items()
                              if isinstance(r, dict))
    parts = []
    for name in ("no_semantic", "semantic"):
        if name in res:
            r = res[name]
            parts.append(f"[{name}] hits {r['hits@1']:.3f}/{r['hits@3']:.3f}/{r['hits@5']:.3f} "
                         f"chg {r['change_hits@1']:.3f}/{r['change_hits@3']:.3f}/{r['change_hits@5']:.3f} "
                         f"emo {r['emotion_loss']:.4f}")
    return head + "  " + "  ".join(parts)


def dynamics_loss(model, vb, target, mask, start, total):
    """MSE over the seconds that have a target; each ensemble member learns on its own
    (independent members average better than members trained through their mean)."""
    err = ((model.member_outputs(vb, start, total).float() - target) ** 2) * mask
    return err.sum() / mask.sum().clamp(min=1) / len(model.members)


def dynamics_batch(videos, starts, semantic_flags):
    """Video tensors, scaled targets [B, S, 2], the mask of seconds that have a target, and
    each window's start second and video length (for the position features)."""
    b = len(videos)
    target = np.zeros((b, WINDOW, 2), dtype=np.float32)
    mask = np.zeros((b, WINDOW, 2), dtype=np.float32)
    feats = []
    for i, (v, s, keep) in enumerate(zip(videos, starts, semantic_flags, strict=True)):
        for j, (arr, scale) in enumerate(((v.note_density, DENSITY_SCALE), (v.loudness, LOUDNESS_SCALE))):
            seg = arr[s:s + WINDOW]
            target[i, :len(seg), j] = seg / scale
            mask[i, :len(seg), j] = 1
        f = v.features.window(s, s + WINDOW)
        if not keep:
            f.semantic = None
        feats.append(f)
    vb = batch_video(feats, WINDOW, semantic=any(semantic_flags))
    return (vb, torch.from_numpy(target), torch.from_numpy(mask), torch.tensor(starts),
            torch.tensor([len(v) for v in videos]))
