"""Checkpoints: the weights with their configuration inside, and the one loader everyone uses."""
from __future__ import annotations

import pickle
import threading
import zipfile
from dataclasses import asdict
from pathlib import Path
from typing import NamedTuple

import torch

from v2m_desktop.core.errors import V2MError
from v2m_desktop.core.files import atomic_output
from v2m_desktop.core.model.amt import AMT, AMTConfig
from v2m_desktop.core.model.dynamics import DynamicsConfig, DynamicsGRU
from v2m_desktop.core.resources import models_dir

KINDS = {"chords": (AMT, AMTConfig), "dynamics": (DynamicsGRU, DynamicsConfig)}
MODELS_DIR = models_dir()     # inside the installed package, or the checkout's models/
SHIPPED = {"chords": MODELS_DIR / "chords.pt", "dynamics": MODELS_DIR / "dynamics.pt"}


def atomic_save(obj, path: Path) -> None:
    """torch.save to a temporary file, then rename: a crash never leaves half a checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        torch.save(obj, tmp)


def save_model(path: Path, kind: str, model: AMT | DynamicsGRU, meta: dict | None = None) -> None:
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    atomic_save({"kind": kind, "config": asdict(model.cfg), "state_dict": state,
                 "meta": meta or {}}, path)


def read_checkpoint(path: Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise V2MError(f"model file not found: {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, pickle.UnpicklingError, zipfile.BadZipFile) as err:
        raise V2MError(f"model file {path} is corrupt or not a v2m checkpoint "
                       f"({err.__class__.__name__})") from None
    if not isinstance(ckpt, dict) or ckpt.get("kind") not in KINDS or "state_dict" not in ckpt:
        raise V2MError(f"model file {path} is not a v2m checkpoint")
    return ckpt


def load_model(path: Path, kind: str | None = None, device: str | torch.device = "cpu"):
    """Build the model a checkpoint describes and load its weights; eval mode.
    Returns (model, meta)."""
    ckpt = read_checkpoint(path)
    if kind is not None and ckpt["kind"] != kind:
        raise V2MError(f"model file {path} holds a {ckpt['kind']} model, not a {kind} model")
    cls, cfg_cls = KINDS[ckpt["kind"]]
    try:
        model = cls(cfg_cls(**ckpt["config"]))
        model.load_state_dict({k: v.float() for k, v in ckpt["state_dict"].items()})
    except (TypeError, ValueError, RuntimeError) as err:     # unknown fields, options or shapes
        raise V2MError(f"model file {path} does not match this version of v2m ({err})") from None
    return model.to(device).eval(), ckpt.get("meta", {})


class Models(NamedTuple):
    """The two models a score needs, in eval mode on one device."""
    chords: AMT
    dynamics: DynamicsGRU


_LOADED: dict[tuple, Models] = {}
_LOADING = threading.Lock()


def load_models(chords: Path | None = None, dynamics: Path | None = None, device="cpu") -> Models:
    """The shipped chord and dynamics models (or the given files), read once per process and
    device: a later call with the same files (unchanged on disk) returns the same models.  They
    are only ever used for inference (no_grad, eval), so sharing them between threads is safe."""
    files = (Path(chords or SHIPPED["chords"]), Path(dynamics or SHIPPED["dynamics"]))
    key = (*((str(f.resolve()), *_stamp(f)) for f in files), str(device))
    with _LOADING:
        if key not in _LOADED:
            amt, _ = load_model(files[0], "chords", device)
            dyn, _ = load_model(files[1], "dynamics", device)
            _LOADED[key] = Models(amt, dyn)
        return _LOADED[key]


def _stamp(path: Path) -> tuple[int, int]:
    """(size, mtime in ns) of a model file, so a file written again is read again."""
    try:
        st = path.stat()
    except OSError:
        return (-1, -1)         # load_model says it is missing
    return (st.st_size, st.st_mtime_ns)
