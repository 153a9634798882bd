"""Seeding of every random number generator a training run touches."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def seed_everything(seed: int, *, deterministic: bool = True) -> None:
    """Seed Python, NumPy and torch (CPU and every CUDA device).

    With ``deterministic`` the cheap determinism switches are set as well: cuDNN picks
    deterministic kernels and does not benchmark, and torch warns (rather than fails) on ops
    that have no deterministic implementation. ``CUBLAS_WORKSPACE_CONFIG`` is only honoured when
    set before the first cuBLAS call, so it is set here unless the caller chose a value.
    """
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True, warn_only=True)


def numpy_rng(seed: int) -> np.random.Generator:
    """A generator independent of the global NumPy state (for data that must not shift when
    model code draws more or fewer random numbers)."""
    return np.random.default_rng(seed)
