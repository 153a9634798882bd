"""Export a trained MTL-feedback run as a served model (format ``medstream-model/1``).

    python -m medstream_models.mtl_export --config models/configs/ncbi-disease-mtl-feedback-w2v.toml \\
        --run-dir .cache/runs/ncbi-disease-mtl-feedback-w2v --out models/ncbi-disease-mtl

Writes ``model.onnx``, ``words.txt``, ``chars.txt``, ``manifest.json`` and ``parity.json``
(real dev sentences as token strings, their ids and the PyTorch outputs). The serving contract
is documented in models/README.md.

A feedback model is exported in its folded serving form (mtl_serving.py: the same function with
the heads multiplied out, about a third of the FLOPs per token); parity.json always holds the
*training* module's outputs, and the export fails unless the folded module, and the ONNX file
run by onnxruntime (Python, when installed), match them within the parity tolerance with the
same decoded tags.
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
from .mtl_serving import fold_feedback
from .tagger import lengths_to_mask
from .train_mtl import MTLConfig, Prepared, build_model
from .vocab import PAD, UNK, PAD_TOKEN, UNK_TOKEN, Vocab, char_ids, normalize_word, word_ids

FORMAT = "medstream-model/1"
# Served outputs (any batching, folded heads, onnxruntime) match the training module within this.
PARITY_ATOL = 1e-4
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
    if worst_single > PARITY_ATOL:
        raise AssertionError(f"padded-batch and single-sentence outputs differ by {worst_single}")
    return {
        "format": FORMAT,
        "name": cfg.model.name,
        "atol": PARITY_ATOL,
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


def serving_module(model: MTLFeedback) -> tuple[torch.nn.Module, str]:
    """The module to export for ``model`` and the name of its form."""
    if model.feedback and model.use_men:
        return fold_feedback(model), "folded-feedback"
    return model, "training-module"


@torch.no_grad()
def check_serving(
    reference: MTLFeedback,
    served: torch.nn.Module,
    onnx_path: Path | None,
    batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    atol: float = PARITY_ATOL,
) -> dict[str, Any]:
    """Runs ``served`` (PyTorch) and the ONNX file (onnxruntime, when installed) on one padded
    batch and compares them with the training module ``reference`` on the real tokens: max
    |Δ| of both outputs ≤ ``atol``, the same Viterbi MER tags and the same MEN argmax. Raises
    AssertionError otherwise; returns the measured differences."""
    w, c, lengths = batch
    mask = lengths_to_mask(lengths, w.size(1))
    ref_mer, ref_men = reference(w, c, lengths)
    ref_tags = reference.crf.decode(ref_mer, mask)
    ref_arg = ref_men.argmax(2)
    candidates: dict[str, tuple[torch.Tensor, torch.Tensor]] = {"torch": served(w, c, lengths)}
    try:
        import onnxruntime as ort
    except ImportError:
        ort = None
    if onnx_path is not None and ort is not None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        feeds = {"word_ids": w.numpy(), "char_ids": c.numpy(), "lengths": lengths.numpy()}
        mer_np, men_np = session.run(OUTPUTS, feeds)
        candidates["onnxruntime"] = (torch.from_numpy(mer_np), torch.from_numpy(men_np))
    report: dict[str, Any] = {"tokens": int(mask.sum()), "atol": atol}
    for name, (mer, men) in candidates.items():
        d_mer = float((mer - ref_mer).abs()[mask].max())
        d_men = float((men - ref_men).abs()[mask].max())
        same_mer = reference.crf.decode(mer, mask) == ref_tags
        same_men = bool((men.argmax(2) == ref_arg)[mask].all())
        report[name] = {"mer_max_abs_diff": d_mer, "men_max_abs_diff": d_men}
        if max(d_mer, d_men) > atol or not (same_mer and same_men):
            raise AssertionError(
                f"served model ({name}) differs from the training module: max |Δ| mer {d_mer:.2e}, "
                f"men {d_men:.2e} (atol {atol}); same MER tags {same_mer}, same MEN argmax {same_men}"
            )
    return report


def export_served(
    model: MTLFeedback, cfg: MTLConfig, prep: Prepared, result: dict[str, Any], out: Path, root: Path
) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    model = model.cpu().eval()
    served, form = serving_module(model)
    data_dir = root / cfg.data.data_dir
    dev = read_jsonl(data_dir / f"{cfg.data.dev_split}.jsonl")
    # Dummy input: 3 real dev sentences (distinct batch / seq / char sizes keep axes apart).
    mer_index = {t: i for i, t in enumerate(prep.mer_labels)}
    men_index = {t: i for i, t in enumerate(prep.men_labels)}
    dummy = [s for s in dev if 8 <= len(s.tokens) <= 14][:3]
    enc = encode(dummy, prep.words, prep.chars, mer_index, men_index, cfg.model.max_word_chars)
    w, c, lengths, _, _ = collate(enc)
    onnx_path = export_onnx(
        served,
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
    sents = parity_sentences(dev, cfg.export.parity_sentences)
    parity = build_parity(model, cfg, prep, sents)
    (out / "parity.json").write_text(json.dumps(parity) + "\n")
    # The parity sentences plus dev sentences spread over the split, in one padded batch.
    pool = [s for s in dev if 1 <= len(s.tokens) <= SERVING_CHECK_MAX_TOKENS and s not in sents]
    want = max(0, SERVING_CHECK_SENTENCES - len(sents))
    check_sents = sents + pool[:: max(1, len(pool) // max(1, want))][:want]
    check_enc = encode(check_sents, prep.words, prep.chars, mer_index, men_index, cfg.model.max_word_chars)
    cw, cc, cl, _, _ = collate(check_enc)
    serving_check = check_serving(model, served, onnx_path, (cw, cc, cl))
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
        "serving": {
            "form": form,
            "note": (
                "folded-feedback: the graph computes the training module's function with the heads "
                "multiplied out (models/medstream_models/mtl_serving.py); checked against the training "
                "module at export on the parity sentences and more dev sentences in one padded batch"
                if form == "folded-feedback"
                else "the training module as it is"
            ),
            "check": serving_check,
        },
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


# Sentences (parity cases first, then more dev sentences) in the export-time serving check.
SERVING_CHECK_SENTENCES = 128
SERVING_CHECK_MAX_TOKENS = 64


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

__all__ = [
    "PARITY_ATOL",
    "check_serving",
    "export_served",
    "load_run",
    "main",
    "normalize_word",
    "serving_module",
    "word_ids",
    "char_ids",
]
