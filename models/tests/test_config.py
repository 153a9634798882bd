from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from medstream_models.config import ConfigError, SmokeConfig, config_to_dict, load_config


def test_smoke_config_loads_typed(smoke_cfg: SmokeConfig) -> None:
    assert smoke_cfg.model.name == "medstream-smoke-tagger"
    assert smoke_cfg.data.entity_types == ("Disease", "Chemical")
    assert isinstance(smoke_cfg.train.lr, float)
    assert smoke_cfg.train.device == "auto"
    assert smoke_cfg.parity.batch_sizes == (1, 3, 5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        smoke_cfg.train.steps = 1  # type: ignore[misc]


def test_config_round_trips_to_json_ready_dict(smoke_cfg: SmokeConfig) -> None:
    d = config_to_dict(smoke_cfg)
    assert d["data"]["entity_types"] == ["Disease", "Chemical"]
    assert d["export"]["opset"] == smoke_cfg.export.opset


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.toml"
    p.write_text(text)
    return p


def test_all_problems_reported_at_once(tmp_path: Path, smoke_toml: str) -> None:
    text = smoke_toml
    text = text.replace('device = "auto"', 'device = "tpu"').replace("lr = 0.01", 'lr = "fast"')
    text = text.replace("[export]", "[export]\nbogus = 1")
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, text), SmokeConfig)
    message = str(err.value)
    assert "train.lr: expected a number" in message
    assert "export.bogus: unknown key" in message
    assert str(tmp_path / "c.toml") in message


def test_range_validation_names_the_key(tmp_path: Path, smoke_toml: str) -> None:
    text = smoke_toml.replace('device = "auto"', 'device = "tpu"').replace("opset = 17", "opset = 11")
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, text), SmokeConfig)
    assert "train.device" in str(err.value) and "tpu" in str(err.value)
    assert "export.opset" in str(err.value)


def test_cross_section_validation(tmp_path: Path, smoke_toml: str) -> None:
    text = smoke_toml.replace("word_vocab_size = 200", "word_vocab_size = 20")
    with pytest.raises(ConfigError, match="model.word_vocab_size: must be >= 43"):
        load_config(_write(tmp_path, text), SmokeConfig)


def test_missing_section_and_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="model: required key is missing"):
        load_config(_write(tmp_path, "[train]\nseed = 1\n"), SmokeConfig)


def test_bool_is_not_an_int(tmp_path: Path, smoke_toml: str) -> None:
    text = smoke_toml.replace("steps = 60", "steps = true")
    with pytest.raises(ConfigError, match="train.steps: expected an integer"):
        load_config(_write(tmp_path, text), SmokeConfig)


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml", SmokeConfig)
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(_write(tmp_path, "[model\n"), SmokeConfig)
