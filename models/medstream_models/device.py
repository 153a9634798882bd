"""Device selection: ``auto`` means CUDA when torch can see a GPU, else CPU."""

from __future__ import annotations

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise RuntimeError(
                f'device "{name}" requested but torch.cuda.is_available() is False '
                f'(torch {torch.__version__}); use device = "auto" or "cpu"'
            )
        return torch.device(name)
    raise ValueError(f"unknown device {name!r}; expected one of {', '.join(DEVICE_CHOICES)} or cuda:N")
