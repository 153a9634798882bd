from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from medstream_models.config import SmokeConfig, load_config
from medstream_models.smoke import run_smoke

MODELS_DIR = Path(__file__).resolve().parents[1]
SMOKE_TOML = MODELS_DIR / "configs" / "smoke.toml"


@pytest.fixture(scope="session")
def smoke_toml() -> str:
    return SMOKE_TOML.read_text()


@pytest.fixture(scope="session")
def smoke_cfg() -> SmokeConfig:
    return load_config(SMOKE_TOML, SmokeConfig)


@pytest.fixture(scope="session")
def short_cfg(smoke_cfg: SmokeConfig) -> SmokeConfig:
    """The smoke config with a few steps, for tests that only need a trained-ish model."""
    train = dataclasses.replace(smoke_cfg.train, steps=8, loss_window=2, device="cpu")
    return dataclasses.replace(smoke_cfg, train=train)


@pytest.fixture(scope="session")
def smoke_run(
    smoke_cfg: SmokeConfig, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("smoke")
    manifest = run_smoke(smoke_cfg, out, device="cpu")
    return out, manifest
