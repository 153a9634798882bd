from __future__ import annotations

import dataclasses
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from medstream_models.config import SmokeConfig, config_from_dict, load_config
from medstream_models.smoke import run_smoke
from medstream_models.train_mtl import MTLConfig

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


# A tiny generated MTL corpus (token JSONL as `medstream export-training` writes it) and config,
# for tests of MTL training, export and quantization. Runs in seconds; never the real corpora.
DISEASES = [("lung cancer", "MESH:D008175"), ("asthma", "MESH:D001249"), ("Type 2 diabetes", "MESH:D003924")]
CHEMS = [("aspirin", "MESH:D001241"), ("NaCl", "MESH:D012965")]
FILLER = "the patients with were treated by and showed no signs of in 12 cases".split()

def _sentence(rng: random.Random, pmid: str) -> dict[str, object]:
    tokens: list[str] = []
    tags: list[str] = []
    men: list[str] = []
    mentions = []
    for _ in range(rng.randint(2, 4)):
        tokens += [rng.choice(FILLER) for _ in range(rng.randint(1, 3))]
        tags += ["O"] * (len(tokens) - len(tags))
        men += ["O"] * (len(tokens) - len(men))
        name, cid = rng.choice(DISEASES + CHEMS)
        etype = "Disease" if (name, cid) in DISEASES else "Chemical"
        words = name.split()
        start = len(tokens)
        tokens += words
        tags += [f"B-{etype}"] + [f"I-{etype}"] * (len(words) - 1)
        men += [f"B-{cid}"] + [f"I-{cid}"] * (len(words) - 1)
        mentions.append({"type": etype, "ids": [cid], "concept": cid, "token_start": start})
    tokens.append(".")
    tags.append("O")
    men.append("O")
    return {"pmid": pmid, "tokens": tokens, "tags": tags, "men_tags": men, "mentions": mentions}


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mtl")
    data = root / "data"
    data.mkdir()
    rng = random.Random(5)
    for split, n in (("train", 96), ("dev", 24), ("test", 24)):
        with (data / f"{split}.jsonl").open("w") as fh:
            for i in range(n):
                fh.write(json.dumps(_sentence(rng, f"{split}{i // 4}")) + "\n")
    (data / "summary.json").write_text(json.dumps({"tokenizer_version": "test-tok"}))
    return root


def tiny_mtl_config(variant: str = "mtl-feedback", epochs: int = 2) -> MTLConfig:
    return config_from_dict(
        MTLConfig,
        {
            "model": {
                "name": "tiny-mtl",
                "version": "0.0.1",
                "variant": variant,
                "word_dim": 8,
                "char_dim": 6,
                "char_filters": 8,
                "hidden": 8,
                "max_word_chars": 6,
                "dropout": 0.2,
                "char_dropout": 0.2,
            },
            "data": {"corpus": "tiny", "data_dir": "data", "entity_types": ["Chemical", "Disease"]},
            "train": {"seed": 11, "epochs": epochs, "batch_size": 8, "lr": 0.01, "patience": 5, "threads": 1},
            "export": {"parity_sentences": 4},
        },
    )


@pytest.fixture(scope="session")
def mtl_cfg() -> Callable[..., MTLConfig]:
    """``mtl_cfg(variant="mtl-feedback", epochs=2)``: the tiny corpus's training config."""
    return tiny_mtl_config
