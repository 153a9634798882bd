"""Smoke path: train the tiny tagger on synthetic data, export ONNX, write manifest and parity.

    python -m medstream_models.smoke --config models/configs/smoke.toml --out DIR

writes ``DIR/model.onnx``, ``DIR/manifest.json`` and ``DIR/parity.json`` (fixed inputs with the
PyTorch emissions and Viterbi tags, for the onnxruntime-node parity test).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
from pathlib import Path
from typing import Any

import torch

from .config import ConfigError, SmokeConfig, config_to_dict, load_config
from .export import export_onnx
from .synthetic import collate
from .tagger import Tagger
from .train import TrainResult, loss_decreased, to_tensors, train_smoke

MANIFEST_SCHEMA = "medstream.model-manifest/v1"
PARITY_SCHEMA = "medstream.parity/v1"
ONNX_FILE = "model.onnx"
INPUTS: list[dict[str, Any]] = [
    {"name": "word_ids", "dtype": "int64", "shape": ["batch", "seq"]},
    {"name": "char_ids", "dtype": "int64", "shape": ["batch", "seq", "chars"]},
    {"name": "lengths", "dtype": "int64", "shape": ["batch"]},
]
DYNAMIC_AXES = {
    "word_ids": {0: "batch", 1: "seq"},
    "char_ids": {0: "batch", 1: "seq", 2: "chars"},
    "lengths": {0: "batch"},
    "emissions": {0: "batch", 1: "seq"},
}


class SmokeFailure(RuntimeError):
    pass


def dummy_inputs(cfg: SmokeConfig) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    e = cfg.export
    gen = torch.Generator().manual_seed(cfg.train.seed)
    word_ids = torch.randint(2, cfg.model.word_vocab_size, (e.dummy_batch, e.dummy_len), generator=gen)
    char_ids = torch.randint(
        0, cfg.model.char_vocab_size, (e.dummy_batch, e.dummy_len, e.dummy_chars), generator=gen
    )
    lengths = torch.tensor([max(1, e.dummy_len - i) for i in range(e.dummy_batch)], dtype=torch.long)
    return word_ids, char_ids, lengths


def parity_cases(cfg: SmokeConfig, result: TrainResult) -> list[dict[str, Any]]:
    """Batches whose sizes and padding differ from the export dummy, with PyTorch outputs."""
    model = result.model
    cases = []
    for i, size in enumerate(cfg.parity.batch_sizes):
        sentences = result.task.sentences(size, cfg.parity.seed + i)
        natural = max(len(s.word_ids) for s in sentences)
        batch = collate(sentences, pad_len=natural + 1 + i, pad_chars=cfg.data.max_word_chars + 1 + i)
        word_ids, char_ids, lengths, _ = to_tensors(batch, torch.device("cpu"))
        emissions, tags = model.decode(word_ids, char_ids, lengths)
        cases.append(
            {
                "name": f"batch{size}_seq{batch.word_ids.shape[1]}_chars{batch.char_ids.shape[2]}",
                "wordIds": batch.word_ids.tolist(),
                "charIds": batch.char_ids.tolist(),
                "lengths": batch.lengths.tolist(),
                "emissions": emissions.tolist(),
                "tags": tags,
            }
        )
    return cases


def _onnx_version() -> str | None:
    try:
        import onnx
    except ImportError:
        return None
    return str(onnx.__version__)


def build_manifest(cfg: SmokeConfig, result: TrainResult, onnx_path: Path) -> dict[str, Any]:
    crf = result.model.crf
    labels = result.task.labels
    return {
        "schema": MANIFEST_SCHEMA,
        "name": cfg.model.name,
        "version": cfg.model.version,
        "architecture": "charcnn-word-bilstm-crf",
        "onnx": {
            "file": onnx_path.name,
            "sha256": hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
            "opset": cfg.export.opset,
        },
        "inputs": INPUTS,
        "outputs": [{"name": "emissions", "dtype": "float32", "shape": ["batch", "seq", len(labels)]}],
        "labels": labels,
        "crf": {
            "layout": "score = start[y0] + sum emissions[t][yt] + sum transitions[y(t-1)][yt] + end[yn]",
            "transitions": crf.transitions.detach().cpu().tolist(),
            "start": crf.start.detach().cpu().tolist(),
            "end": crf.end.detach().cpu().tolist(),
        },
        "vocab": {
            "wordVocabSize": cfg.model.word_vocab_size,
            "charVocabSize": cfg.model.char_vocab_size,
            "padId": 0,
            "unkId": 1,
        },
        "framework": {
            "torch": torch.__version__,
            "onnx": _onnx_version(),
            "python": platform.python_version(),
        },
        "seed": cfg.train.seed,
        "training": {
            "device": str(result.device),
            "steps": len(result.losses),
            "losses": result.losses,
        },
        "config": config_to_dict(cfg),
    }


def run_smoke(cfg: SmokeConfig, out: Path, device: str | None = None) -> dict[str, Any]:
    result = train_smoke(cfg, device)
    ok, first, last = loss_decreased(result.losses, cfg.train.loss_window, cfg.train.max_loss_ratio)
    if not ok:
        raise SmokeFailure(
            f"loss did not decrease enough: mean of first {cfg.train.loss_window} = {first:.4f}, "
            f"last = {last:.4f}, required <= {cfg.train.max_loss_ratio} x first"
        )
    out.mkdir(parents=True, exist_ok=True)
    model: Tagger = result.model.cpu().eval()
    onnx_path = export_onnx(
        model,
        dummy_inputs(cfg),
        out / ONNX_FILE,
        input_names=[i["name"] for i in INPUTS],
        output_names=["emissions"],
        dynamic_axes=DYNAMIC_AXES,
        opset=cfg.export.opset,
    )
    manifest = build_manifest(cfg, result, onnx_path)
    parity = {"schema": PARITY_SCHEMA, "model": onnx_path.name, "cases": parity_cases(cfg, result)}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    (out / "parity.json").write_text(json.dumps(parity) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m medstream_models.smoke", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--config", required=True, type=Path, help="TOML config, e.g. models/configs/smoke.toml"
    )
    parser.add_argument("--out", required=True, type=Path, help="output folder (created)")
    parser.add_argument("--device", default=None, help="override train.device (auto, cpu, cuda, cuda:N)")
    args = parser.parse_args(argv)
    try:
        cfg = load_config(args.config, SmokeConfig)
        manifest = run_smoke(cfg, args.out, args.device)
    except (ConfigError, SmokeFailure) as err:
        print(f"smoke: {err}", file=sys.stderr)
        return 2
    losses = manifest["training"]["losses"]
    print(
        f"smoke: trained {len(losses)} steps on {manifest['training']['device']} "
        f"(loss {losses[0]:.4f} -> {losses[-1]:.4f}), "
        f"wrote {args.out}/{ONNX_FILE}, manifest.json, parity.json"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
