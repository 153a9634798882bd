from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from medstream_models.config import SmokeConfig
from medstream_models.device import resolve_device
from medstream_models.seed import seed_everything
from medstream_models.train import loss_decreased, train_smoke


def test_same_seed_gives_identical_loss_sequence(short_cfg: SmokeConfig) -> None:
    first = train_smoke(short_cfg).losses
    second = train_smoke(short_cfg).losses
    assert len(first) == short_cfg.train.steps
    assert first == second  # exact, not approximate


def test_other_seed_gives_other_losses(short_cfg: SmokeConfig) -> None:
    import dataclasses

    other = dataclasses.replace(
        short_cfg, train=dataclasses.replace(short_cfg.train, seed=short_cfg.train.seed + 1)
    )
    assert train_smoke(short_cfg).losses != train_smoke(other).losses


def test_seed_everything_seeds_all_generators() -> None:
    def draw() -> tuple[float, float, float]:
        return random.random(), float(np.random.rand()), float(torch.rand(1))

    seed_everything(42)
    a = draw()
    seed_everything(42)
    assert draw() == a
    with pytest.raises(ValueError):
        seed_everything(-1)


def test_device_auto_picks_cuda_when_available() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="torch.cuda.is_available"):
            resolve_device("cuda")
    with pytest.raises(ValueError, match="unknown device"):
        resolve_device("tpu")


def test_loss_decreased_rule() -> None:
    assert loss_decreased([10, 10, 4, 4], 2, 0.5)[0]
    assert not loss_decreased([10, 10, 6, 6], 2, 0.5)[0]
