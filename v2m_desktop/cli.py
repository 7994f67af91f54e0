"""The `v2m` command line: train, evaluate and benchmark the models (scoring comes next)."""
from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path

from v2m_desktop import __version__
from v2m_desktop.core.errors import Cancelled, V2MError


def _train(args) -> int:
    from v2m_desktop.core.model.train import TrainOptions, train
    opts = TrainOptions(data=Path(args.data), out=Path(args.out), epochs=args.epochs,
                        device=args.device, seed=args.seed, semantic=not args.no_semantic,
                        fresh=args.fresh)
    if args.batch_size:
        opts.batch_size = args.batch_size
    if args.limit:
        opts.limit = args.limit
    if args.tiny:     # a few-second run for tests and smoke checks
        opts.config = {"d_model": 32, "n_head": 2, "n_enc": 1, "n_dec": 1, "d_ff": 64} \
            if args.kind == "chords" else {"hidden": 8, "layers": 1, "semantic_proj": 4}
    best = train(args.kind, opts, log=lambda s: print(s, file=sys.stderr, flush=True))
    print(f"best checkpoint (validation loss {best.get('loss', float('nan')):.4f}) in {args.out}",
          file=sys.stderr)
    return 0


def _evaluate(args) -> int:
    from v2m_desktop.core.device import pick_device
    from v2m_desktop.core.evaluate import evaluate, evaluate_emotion_control
    if args.emotion_control:
        table = evaluate_emotion_control(Path(args.data), args.split, videos=args.emotion_control,
                                         semantic=not args.no_semantic, chords=args.chords)
        if args.json:
            print(json.dumps(table))
        else:
            print(f"{'emotion':10s} {'forced':>8s} {'own':>8s}   share of chords the emotion allows")
            for emo, row in table.items():
                print(f"{emo:10s} {row['forced']:8.3f} {row['own']:8.3f}")
        return 0
    res = evaluate(Path(args.data), args.split, semantic=not args.no_semantic,
                   chords=args.chords, dynamics=args.dynamics, device=pick_device(args.device))
    if args.json:
        print(json.dumps(res))
    else:
        for k, v in res.items():
            print(f"{k:26s} {v:.4f}" if isinstance(v, float) else f"{k:26s} {v}")
    return 0


def _bench(args) -> int:
    from v2m_desktop.core.bench import bench_generate
    from v2m_desktop.core.device import pick_device
    res = bench_generate(args.model, device=pick_device(args.device))
    if args.json:
        print(json.dumps(res))
    else:
        print(f"{res['chords']} chords on {res['device']} ({res['threads']} threads)")
        print(f"  KV cache            {res['kv_cache_s']:.3f} s")
        print(f"  full recomputation  {res['full_recompute_s']:.3f} s")
        print(f"  speed-up            {res['speedup']:.1f}x   (same chords: {res['same_chords']})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="v2m", description="Original soundtracks for videos (Video2Music AMT).")
    p.add_argument("--version", action="version", version=f"v2m {__version__}")
    p.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    t = sub.add_parser("train", help="train the chord or the dynamics model on MuVi-Sync")
    t.add_argument("kind", choices=["chords", "dynamics"])
    t.add_argument("--data", required=True, help="MuVi-Sync root folder")
    t.add_argument("--out", required=True, help="checkpoint to write (the best on validation)")
    t.add_argument("--epochs", type=int, default=30)
    t.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--batch-size", type=int, default=0, help=argparse.SUPPRESS)
    t.add_argument("--limit", type=int, default=0, help=argparse.SUPPRESS)
    t.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)
    t.add_argument("--no-semantic", action="store_true", help="train without CLIP semantic features")
    t.add_argument("--fresh", action="store_true", help="start over instead of resuming an interrupted run")
    t.set_defaults(func=_train)

    e = sub.add_parser("evaluate", help="score the models on a MuVi-Sync split")
    e.add_argument("--data", required=True, help="MuVi-Sync root folder")
    e.add_argument("--split", required=True, choices=["val", "test"])
    e.add_argument("--no-semantic", action="store_true", help="leave the CLIP semantic features out")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.add_argument("--chords", type=Path, help="chord model file (default: the shipped one)")
    e.add_argument("--dynamics", type=Path, help="dynamics model file (default: the shipped one)")
    e.add_argument("--device", default="auto")
    e.add_argument("--emotion-control", type=int, metavar="N", default=0,
                   help="instead: generate for the first N videos under each forced emotion and "
                        "print the share of chords that emotion allows, forced vs own emotions")
    e.set_defaults(func=_evaluate)

    b = sub.add_parser("bench", help="speed measurements")
    bsub = b.add_subparsers(dest="what", required=True, metavar="WHAT")
    g = bsub.add_parser("generate", help="300 chords: KV cache vs full recomputation")
    g.add_argument("--json", action="store_true")
    g.add_argument("--model", type=Path, help="chord model file (default: the shipped one)")
    g.add_argument("--device", default="cpu")
    g.set_defaults(func=_bench)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except V2MError as err:
        if args.debug:
            traceback.print_exc()
        print(f"v2m: {err}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Cancelled):
        print("v2m: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
