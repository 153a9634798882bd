"""Export a trained MTL-feedback run as a served model (format ``medstream-model/1``).

    python -m medstream_models.mtl_export --config models/configs/ncbi-disease-mtl-feedback-w2v.toml \\
        --run-dir .cache/runs/ncbi-disease-mtl-feedback-w2v --out models/ncbi-disease-mtl

Writes ``model.onnx``, ``words.txt``, ``chars.txt``, ``manifest.json`` and ``parity.json``
(real dev sentences as token strings, their ids and the PyTorch outputs). The serving contract
is documented in models/README.md.
"""

from __future__ import annotations

import argparse
import base64
import datetime as _dt
import hashlib
import json
import platform
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .config import config_to_dict, load_config
from .export import export_onnx, onnx_io_shapes
from .mtl_data import Sentence, collate, encode, read_jsonl
from .mtl_feedback import MTLFeedback
from .train_mtl import MTLConfig, Prepared, build_model
from .vocab import PAD, UNK, PAD_TOKEN, UNK_TOKEN, Vocab, char_ids, normalize_word, word_ids

FORMAT = "medstream-model/1"
INPUTS = ["word_ids", "char_ids", "lengths"]
OUTPUTS = ["mer_emissions", "men_scores"]
DYNAMIC = {
    "word_ids": {0: "batch", 1: "seq"},
    "char_ids": {0: "batch", 1: "seq", 2: "chars"},
    "lengths": {0: "batch"},
    "mer_emissions": {0: "batch", 1: "seq"},
    "men_scores": {0: "batch", 1: "seq"},
}


def load_run(cfg: MTLConfig, run_dir: Path) -> tuple[MTLFeedback, Prepared, dict[str, Any]]:
    ckpt = torch.load(run_dir / "model.pt", map_location="cpu")
    result = json.loads((run_dir / "result.json").read_text())
    prep = Prepared(
        words=Vocab(ckpt["words"]),
        chars=Vocab(ckpt["chars"]),
        mer_labels=ckpt["mer_labels"],
        men_labels=ckpt["men_labels"],
        concept_type=ckpt["concept_type"],
        train=[],
        dev=[],
        test=[],
        vectors=None,
        files=result["train_files"],
    )
    model = build_model(cfg, prep)
    model.load_state_dict(ckpt["state_dict"])
    return model.eval(), prep, result


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode("ascii")


def parity_sentences(dev: list[Sentence], n: int) -> list[Sentence]:
    """``n`` dev sentences of 4..24 tokens spread over the split, preferring ones with mentions
    (and non-ASCII / digit-bearing / unknown-ish tokens come along naturally)."""
    pool = [s for s in dev if 4 <= len(s.tokens) <= 24 and any(t != "O" for t in s.tags)]
    if len(pool) < n:
        pool = [s for s in dev if 1 <= len(s.tokens) <= 24]
    step = max(1, len(pool) // n)
    return pool[::step][:n]


@torch.no_grad()
def build_parity(model: MTLFeedback, cfg: MTLConfig, prep: Prepared, sents: list[Sentence]) -> dict[str, Any]:
    mer_index = {t: i for i, t in enumerate(prep.mer_labels)}
    men_index = {t: i for i, t in enumerate(prep.men_labels)}
    mc = cfg.model.max_word_chars
    enc = encode(sents, prep.words, prep.chars, mer_index, men_index, mc)
    w, c, lengths, _, _ = collate(enc)  # one padded batch: outputs must not depend on padding
    mer, men, mer_tags, men_arg = model.predict(w, c, lengths)
    cases = []
    worst_single = 0.0
    for k, (s, e) in enumerate(zip(sents, enc, strict=True)):
        n = len(e.word_ids)
        ws, cs, ls, _, _ = collate([e])
        m1, n1 = model(ws, cs, ls)
        worst_single = max(
            worst_single,
            float((m1[0] - mer[k, :n]).abs().max()),
            float((n1[0] - men[k, :n]).abs().max()),
        )
        men_k = men[k, :n].numpy()
        top = np.argsort(-men_k, axis=1)[:, :3]
        cases.append(
            {
                "pmid": s.pmid,
                "tokens": s.tokens,
                "word_ids": e.word_ids,
                "char_ids": e.char_ids,
                "mer_emissions": [[round(float(x), 6) for x in row] for row in mer[k, :n].tolist()],
                "men_scores_f32_b64": _b64(men_k),
                "men_scores_shape": [n, len(prep.men_labels)],
                "mer_tags": [prep.mer_labels[i] for i in mer_tags[k]],
                "men_labels": [prep.men_labels[i] for i in men_arg[k]],
                "men_top3": [
                    [[prep.men_labels[j], round(float(men_k[t, j]), 5)] for j in top[t]] for t in range(n)
                ],
                "gold_tags": s.tags,
                "gold_men_tags": s.men_tags,
            }
        )
    if worst_single > 1e-4:
        raise AssertionError(f"padded-batch and single-sentence outputs differ by {worst_single}")
    return {
        "format": FORMAT,
        "name": cfg.model.name,
        "atol": 1e-4,
        "note": (
            "Real dev sentences as token strings. TS must map tokens to ids with the manifest's "
            "preprocessing rule and get word_ids/char_ids exactly; run the ONNX model (any batching) "
            "and match mer_emissions and men_scores within atol; Viterbi over the manifest CRF must give "
            "mer_tags, argmax over men_scores must give men_labels. men_scores_f32_b64: base64 of "
            "little-endian float32 [tokens, |L_men|] row-major. PyTorch outputs computed in one padded "
            "batch of all cases (checked equal to one-sentence batches within 1e-4: "
            f"max diff {worst_single:.2e})."
        ),
        "cases": cases,
    }


def export_served(
    model: MTLFeedback, cfg: MTLConfig, prep: Prepared, result: dict[str, Any], out: Path, root: Path
) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    model = model.cpu().eval()
    data_dir = root / cfg.data.data_dir
    dev = read_jsonl(data_dir / f"{cfg.data.dev_split}.jsonl")
    # Dummy input: 3 real dev sentences (distinct batch / seq / char sizes keep axes apart).
    mer_index = {t: i for i, t in enumerate(prep.mer_labels)}
    men_index = {t: i for i, t in enumerate(prep.men_labels)}
    dummy = [s for s in dev if 8 <= len(s.tokens) <= 14][:3]
    enc = encode(dummy, prep.words, prep.chars, mer_index, men_index, cfg.model.max_word_chars)
    w, c, lengths, _, _ = collate(enc)
    onnx_path = export_onnx(
        model,
        (w, c, lengths),
        out / "model.onnx",
        input_names=INPUTS,
        output_names=OUTPUTS,
        dynamic_axes=DYNAMIC,
        opset=cfg.export.opset,
    )
    shapes = onnx_io_shapes(onnx_path)
    prep.words.save(out / "words.txt")
    prep.chars.save(out / "chars.txt")
    parity = build_parity(model, cfg, prep, parity_sentences(dev, cfg.export.parity_sentences))
    (out / "parity.json").write_text(json.dumps(parity) + "\n")
    crf = model.crf
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "name": cfg.model.name,
        "version": cfg.model.version,
        "architecture": {
            "family": "mtl-feedback",
            "paper": "Zhao, Liu, Zhao, Wang. AAAI 2019",
            "variant": cfg.model.variant,
        },
        "created": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tokenizer_version": json.loads((data_dir / "summary.json").read_text())["tokenizer_version"],
        "onnx": {"file": "model.onnx", "opset": cfg.export.opset, "sha256": _sha256(onnx_path)},
        "inputs": [
            {"name": "word_ids", "dtype": "int64", "shape": shapes["word_ids"]},
            {"name": "char_ids", "dtype": "int64", "shape": shapes["char_ids"]},
            {"name": "lengths", "dtype": "int64", "shape": shapes["lengths"]},
        ],
        "outputs": [
            {
                "name": "mer_emissions",
                "dtype": "float32",
                "shape": shapes["mer_emissions"],
                "meaning": "unnormalised CRF emissions; decode with Viterbi over tasks.mer.crf",
            },
            {
                "name": "men_scores",
                "dtype": "float32",
                "shape": shapes["men_scores"],
                "meaning": "log-probabilities (log-softmax over tasks.men.labels per token)",
            },
        ],
        "preprocessing": {
            "tokenizer_version": "tokens from the MedStream tokenizer + sentence splitter (src/text)",
            "word": {
                "rule": "id = words[normalize(token)] else unknown_id; normalize = lowercase, [0-9] -> '0'",
                "lowercase": "Unicode default lower-casing (JS toLowerCase, Python str.lower)",
                "digits": {"pattern": "[0-9]", "replacement": "0"},
                "vocab_file": "words.txt",
                "vocab_sha256": _sha256(out / "words.txt"),
                "size": len(prep.words),
                "padding_id": PAD,
                "unknown_id": UNK,
                "padding_token": PAD_TOKEN,
                "unknown_token": UNK_TOKEN,
            },
            "char": {
                "rule": (
                    "the raw token (no lower-casing, no digit replacement) split into Unicode code "
                    "points (JS Array.from(token)), first max_chars kept; id = chars[c] else "
                    "unknown_id; pad char_ids with padding_id to the batch's longest word (>= 1); "
                    "padded token positions are all padding"
                ),
                "vocab_file": "chars.txt",
                "vocab_sha256": _sha256(out / "chars.txt"),
                "size": len(prep.chars),
                "max_chars": cfg.model.max_word_chars,
                "padding_id": PAD,
                "unknown_id": UNK,
            },
            "vocab_files": "UTF-8, one entry per line, line i (0-based) has id i, '\\n' terminated",
            "padding": "word_ids padded with padding_id to the longest sentence; lengths = real tokens",
        },
        "entity_types": list(cfg.data.entity_types),
        "tasks": {
            "mer": {
                "output": "mer_emissions",
                "scheme": "bio",
                "labels": prep.mer_labels,
                "crf": {
                    "layout": "start[y1] + sum emissions[t][yt] + sum transitions[y(t-1)][yt] + end[yn]",
                    "transitions": crf.transitions.detach().tolist(),
                    "start": crf.start.detach().tolist(),
                    "end": crf.end.detach().tolist(),
                },
            },
            "men": {
                "output": "men_scores",
                "scheme": "bio",
                "labels": prep.men_labels,
                "crf": None,
                "decode": (
                    "argmax per token; B-/I-<concept label>; concept labels join composite CURIEs "
                    "with '|' or '+'; NIL = mention without ID"
                ),
                "concept_types": prep.concept_type,
            },
        },
        "training": {
            "corpus": cfg.data.corpus,
            "train_splits": list(cfg.data.train_splits),
            "selection_split": cfg.data.dev_split,
            "files": result["train_files"],
            "export_tool": "medstream export-training --scheme bio (TypeScript tokenizer)",
            "word_vectors": _vectors_info(root, cfg),
            "epochs_run": result["epochs_run"],
            "best_epoch": result["best_epoch"],
            "stopped": result["stopped"],
            "train_seconds": result["train_seconds"],
            "continued_from": _continued(result),
        },
        "vocabulary_versions": {
            "words_sha256": _sha256(out / "words.txt"),
            "chars_sha256": _sha256(out / "chars.txt"),
            "men_labels_sha256": hashlib.sha256("\n".join(prep.men_labels).encode()).hexdigest(),
            "concept_ids": "CTD MEDIC / MeSH IDs as in the training corpus (CURIEs MESH:…, OMIM:…)",
        },
        "seed": cfg.train.seed,
        "config": config_to_dict(cfg),
        "framework": {"torch": torch.__version__, "python": platform.python_version()},
        "metrics": {
            "evaluator": (
                "Python evaluator (models/medstream_models/mtl_eval.py); "
                "the reported numbers come from the TypeScript evaluator"
            ),
            "dev": _headline(result["dev"]),
            "test": _headline(result["test"]),
        },
        "parity": {"file": "parity.json", "cases": len(parity["cases"]), "atol": parity["atol"]},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def _vectors_info(root: Path, cfg: MTLConfig) -> dict[str, Any] | None:
    if not cfg.data.vectors:
        return None
    meta = (root / cfg.data.vectors).with_suffix(".json")
    info: dict[str, Any] = json.loads(meta.read_text()) if meta.exists() else {}
    info.pop("out", None)
    info["file"] = cfg.data.vectors
    info["extra_vocab"] = cfg.data.extra_vocab
    return info


def _continued(result: dict[str, Any]) -> dict[str, Any] | None:
    prev = result.get("init_from")
    if not prev:
        return None
    return {
        "note": "continued (fresh Adam) from the selected checkpoint of an earlier run of this config",
        "epochs_run": prev["epochs_run"],
        "best_epoch": prev["best_epoch"],
        "train_seconds": prev["train_seconds"],
        "total_train_seconds": round(prev["train_seconds"] + result["train_seconds"], 1),
    }


def _headline(scores: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"mer_strict_f1": {k: v["f1"] for k, v in scores["mer"].items()}}
    for key in ("nen_men", "nen_joint"):
        if key in scores:
            out[f"{key}_doc_f1"] = {k: v["f1"] for k, v in scores[key].items()}
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", type=Path, required=True)
    ap.add_argument("--run-dir", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--root", type=Path, default=Path.cwd())
    args = ap.parse_args(argv)
    cfg = load_config(args.config, MTLConfig)
    torch.set_num_threads(cfg.train.threads)
    model, prep, result = load_run(cfg, args.run_dir)
    manifest = export_served(model, cfg, prep, result, args.out, args.root)
    size = sum(p.stat().st_size for p in args.out.iterdir() if p.is_file())
    print(json.dumps({"out": str(args.out), "bytes": size, "metrics": manifest["metrics"]}, indent=1))


if __name__ == "__main__":
    main()

__all__ = ["export_served", "load_run", "main", "normalize_word", "word_ids", "char_ids"]
