"""Which torch device to run on."""
from __future__ import annotations

import torch

from v2m_desktop.core.errors import V2MError


def pick_device(name: str = "auto") -> torch.device:
    """'auto': CUDA when present, else Apple's MPS, else the CPU; or exactly what is asked."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise V2MError("the CUDA device was asked for, but no CUDA GPU is available")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise V2MError("the MPS device was asked for, but Apple's MPS is not available")
    try:
        return torch.device(name)
    except RuntimeError:
        raise V2MError(f"unknown device {name!r} (auto, cpu, cuda, mps)") from None
