"""Typed configuration loaded from TOML.

Every section is a frozen dataclass. :func:`load_config` checks the whole file at once — unknown
keys, missing keys, wrong types and out-of-range values — and raises one :class:`ConfigError`
that lists every problem with its dotted key, so a bad file is fixed in one pass.
"""

from __future__ import annotations

import dataclasses
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib

from .device import DEVICE_CHOICES


class ConfigError(ValueError):
    """A configuration file is missing, unparsable or invalid."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid configuration {source}:\n{lines}")


def _check(problems: list[str], ok: bool, key: str, message: str) -> None:
    if not ok:
        problems.append(f"{key}: {message}")


@dataclass(frozen=True)
class ModelConfig:
    name: str
    version: str
    word_vocab_size: int
    char_vocab_size: int
    word_dim: int = 32
    char_dim: int = 16
    char_filters: int = 16
    char_kernel: int = 3
    hidden: int = 32
    layers: int = 1
    dropout: float = 0.1

    def validate(self, key: str, problems: list[str]) -> None:
        _check(problems, bool(self.name.strip()), f"{key}.name", "must not be empty")
        _check(problems, bool(self.version.strip()), f"{key}.version", "must not be empty")
        for name in ("word_vocab_size", "char_vocab_size"):
            _check(problems, getattr(self, name) >= 3, f"{key}.{name}", "must be >= 3 (pad, unk, one symbol)")
        for name in ("word_dim", "char_dim", "char_filters", "hidden", "layers"):
            _check(problems, getattr(self, name) >= 1, f"{key}.{name}", "must be >= 1")
        _check(
            problems,
            self.char_kernel >= 1 and self.char_kernel % 2 == 1,
            f"{key}.char_kernel",
            "must be a positive odd number (same-length convolution)",
        )
        _check(problems, 0.0 <= self.dropout < 1.0, f"{key}.dropout", "must be in [0, 1)")


@dataclass(frozen=True)
class SyntheticDataConfig:
    """A generated sequence-labelling task: spans of tokens from per-type entity vocabularies."""

    seed: int
    num_sentences: int
    entity_types: tuple[str, ...]
    entity_vocab_size: int
    min_len: int = 4
    max_len: int = 16
    max_span: int = 3
    entity_rate: float = 0.25
    unk_rate: float = 0.05
    min_word_chars: int = 2
    max_word_chars: int = 8

    def validate(self, key: str, problems: list[str]) -> None:
        _check(problems, self.num_sentences >= 1, f"{key}.num_sentences", "must be >= 1")
        _check(problems, len(self.entity_types) >= 1, f"{key}.entity_types", "must name at least one type")
        _check(
            problems,
            len(set(self.entity_types)) == len(self.entity_types)
            and all(t and t.strip() == t and "-" not in t for t in self.entity_types),
            f"{key}.entity_types",
            "must be distinct non-empty names without '-' or surrounding spaces",
        )
        _check(problems, self.entity_vocab_size >= 1, f"{key}.entity_vocab_size", "must be >= 1")
        _check(
            problems,
            1 <= self.min_len <= self.max_len,
            f"{key}.min_len",
            "must satisfy 1 <= min_len <= max_len",
        )
        _check(problems, self.max_span >= 1, f"{key}.max_span", "must be >= 1")
        _check(problems, 0.0 <= self.entity_rate <= 1.0, f"{key}.entity_rate", "must be in [0, 1]")
        _check(problems, 0.0 <= self.unk_rate < 1.0, f"{key}.unk_rate", "must be in [0, 1)")
        _check(
            problems,
            1 <= self.min_word_chars <= self.max_word_chars,
            f"{key}.min_word_chars",
            "must satisfy 1 <= min_word_chars <= max_word_chars",
        )


@dataclass(frozen=True)
class TrainConfig:
    seed: int
    steps: int
    batch_size: int
    lr: float
    device: str = "auto"
    grad_clip: float = 5.0
    # The run fails unless mean(last loss_window losses) <= max_loss_ratio * mean(first ones).
    loss_window: int = 5
    max_loss_ratio: float = 0.5

    def validate(self, key: str, problems: list[str]) -> None:
        _check(problems, 0 <= self.seed < 2**32, f"{key}.seed", "must be in [0, 2**32)")
        _check(problems, self.steps >= 1, f"{key}.steps", "must be >= 1")
        _check(problems, self.batch_size >= 1, f"{key}.batch_size", "must be >= 1")
        _check(problems, self.lr > 0.0, f"{key}.lr", "must be > 0")
        _check(
            problems,
            self.device in DEVICE_CHOICES or self.device.startswith("cuda:"),
            f"{key}.device",
            f"must be one of {', '.join(DEVICE_CHOICES)} or cuda:N, got {self.device!r}",
        )
        _check(problems, self.grad_clip > 0.0, f"{key}.grad_clip", "must be > 0")
        _check(
            problems,
            1 <= self.loss_window and 2 * self.loss_window <= self.steps,
            f"{key}.loss_window",
            "must be >= 1 and at most steps / 2",
        )
        _check(problems, 0.0 < self.max_loss_ratio <= 1.0, f"{key}.max_loss_ratio", "must be in (0, 1]")


@dataclass(frozen=True)
class ExportConfig:
    opset: int = 17
    # Shape of the dummy input traced for export; parity inputs use other shapes on purpose.
    dummy_batch: int = 2
    dummy_len: int = 7
    dummy_chars: int = 6

    def validate(self, key: str, problems: list[str]) -> None:
        _check(
            problems,
            13 <= self.opset <= 17,
            f"{key}.opset",
            "must be in [13, 17] (torch 1.13 exports up to 17)",
        )
        for name in ("dummy_batch", "dummy_len", "dummy_chars"):
            # Size-1 dims can be specialised away by the tracer; distinct sizes keep axes apart.
            _check(problems, getattr(self, name) >= 2, f"{key}.{name}", "must be >= 2")
        _check(
            problems,
            len({self.dummy_batch, self.dummy_len, self.dummy_chars}) == 3,
            f"{key}.dummy_batch",
            "dummy_batch, dummy_len and dummy_chars must be pairwise different",
        )


@dataclass(frozen=True)
class ParityConfig:
    seed: int = 20240601
    batch_sizes: tuple[int, ...] = (1, 3, 5)

    def validate(self, key: str, problems: list[str]) -> None:
        _check(
            problems,
            len(self.batch_sizes) >= 1 and all(b >= 1 for b in self.batch_sizes),
            f"{key}.batch_sizes",
            "must list at least one positive batch size",
        )


@dataclass(frozen=True)
class SmokeConfig:
    model: ModelConfig
    data: SyntheticDataConfig
    train: TrainConfig
    export: ExportConfig = field(default_factory=ExportConfig)
    parity: ParityConfig = field(default_factory=ParityConfig)

    def validate(self, key: str, problems: list[str]) -> None:
        del key
        # Word ids: 0 pad, 1 unk, one block of entity_vocab_size ids per type, then >= 1 plain word.
        needed = 2 + len(self.data.entity_types) * self.data.entity_vocab_size + 1
        _check(
            problems,
            self.model.word_vocab_size >= needed,
            "model.word_vocab_size",
            f"must be >= {needed} for {len(self.data.entity_types)} entity types "
            f"x {self.data.entity_vocab_size} entity words + pad, unk and one plain word",
        )
        # Char ids: 0 pad, 1 unk, then one marker char per type and >= 2 plain chars.
        needed_chars = 2 + len(self.data.entity_types) + 2
        _check(
            problems,
            self.model.char_vocab_size >= needed_chars,
            "model.char_vocab_size",
            f"must be >= {needed_chars} (pad, unk, one marker per entity type, two plain chars)",
        )


C = TypeVar("C")


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp)


def _convert(value: Any, tp: Any, key: str, problems: list[str]) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(value, dict):
            problems.append(f"{key}: expected a table, got {type(value).__name__}")
            return None
        return _build(tp, value, key, problems)
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, list):
            problems.append(f"{key}: expected an array, got {type(value).__name__}")
            return None
        item_tp = args[0]
        return tuple(_convert(v, item_tp, f"{key}[{i}]", problems) for i, v in enumerate(value))
    if origin in (typing.Union, types.UnionType):  # pragma: no cover - no optional fields yet
        raise TypeError(f"{key}: union types are not supported by the config loader")
    if tp is bool:
        if not isinstance(value, bool):
            problems.append(f"{key}: expected a boolean, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{key}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{key}: expected a number, got {value!r}")
            return value
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            problems.append(f"{key}: expected a string, got {value!r}")
        return value
    raise TypeError(f"{key}: unsupported config field type {_type_name(tp)}")


def _build(cls: type[C], raw: dict[str, Any], prefix: str, problems: list[str]) -> C | None:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    dot = f"{prefix}." if prefix else ""
    for extra in sorted(set(raw) - set(fields)):
        problems.append(f"{dot}{extra}: unknown key (known: {', '.join(fields)})")
    kwargs: dict[str, Any] = {}
    before = len(problems)
    for name, f in fields.items():
        if name in raw:
            kwargs[name] = _convert(raw[name], hints[name], f"{dot}{name}", problems)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            problems.append(f"{dot}{name}: required key is missing")
    if len(problems) > before:
        return None
    obj = cls(**kwargs)
    validate = getattr(obj, "validate", None)
    if validate is not None:
        validate(prefix or cls.__name__, problems)
    return obj


def config_from_dict(cls: type[C], raw: dict[str, Any], source: str = "<dict>") -> C:
    problems: list[str] = []
    obj = _build(cls, raw, "", problems)
    if problems or obj is None:
        raise ConfigError(source, problems or ["could not build configuration"])
    return obj


def load_config(path: str | Path, cls: type[C]) -> C:
    path = Path(path)
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(str(path), ["file not found"]) from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(str(path), [f"not valid TOML: {err}"]) from None
    return config_from_dict(cls, raw, str(path))


def config_to_dict(config: Any) -> dict[str, Any]:
    """JSON-ready form of a config (tuples become lists)."""
    return typing.cast(dict[str, Any], _jsonable(dataclasses.asdict(config)))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
