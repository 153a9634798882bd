"""Train MTL-feedback (or its single-task / no-feedback variants) from token JSONL.

    python -m medstream_models.train_mtl --config models/configs/ncbi-disease-mtl.toml \\
        [--run-dir .cache/runs/NAME] [--export models/ncbi-disease-mtl]

Protocol (docs/models.md §1, deviations in models/README.md): every step picks a random task
(MER or MEN) and a random mini-batch of that epoch's shuffled batches; the loss of that task
updates the shared layers and that task's head only (the other head's gradients are dropped).
Adam instead of momentum SGD (CPU budget). After every epoch the dev split is evaluated (Python
evaluator) and the best epoch by the selection score is kept; training stops after ``patience``
epochs without improvement, after ``epochs``, or past ``max_minutes``. The best checkpoint is
evaluated once on the test split at the end. The run directory gets ``result.json`` (config,
per-epoch dev scores, wall time, dev and test scores) and ``model.pt``; ``--export`` writes the
served model (ONNX, vocab files, manifest.json, parity.json).
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .config import _check, config_to_dict, load_config
from .mtl_data import (
    Encoded,
    Sentence,
    collate,
    concept_types,
    encode,
    eval_batches,
    length_batches,
    men_labels,
    mer_labels,
    read_jsonl,
    sha256_file,
)
from .mtl_eval import gold_concepts, joint_predictions, men_predictions, mer_scores, nen_scores
from .mtl_feedback import TASKS, MTLFeedback, init_embeddings
from .seed import seed_everything
from .vocab import PAD, UNK, Vocab, build_char_vocab, build_word_vocab, normalize_word
from .word2vec import load_vectors


@dataclass(frozen=True)
class MTLModelConfig:
    name: str
    version: str
    word_dim: int = 100
    char_dim: int = 30
    char_filters: int = 50
    char_kernel: int = 3
    max_word_chars: int = 25
    hidden: int = 100
    layers: int = 1
    dropout: float = 0.5
    char_dropout: float = 0.5
    # "mtl-feedback" | "mtl" (both heads, no feedback) | "single" (MER only: Bi-LSTM-CNNs-CRF)
    variant: str = "mtl-feedback"

    def validate(self, key: str, problems: list[str]) -> None:
        _check(problems, bool(self.name.strip()), f"{key}.name", "must not be empty")
        for n in ("word_dim", "char_dim", "char_filters", "hidden", "layers", "max_word_chars"):
            _check(problems, getattr(self, n) >= 1, f"{key}.{n}", "must be >= 1")
        _check(problems, self.char_kernel % 2 == 1, f"{key}.char_kernel", "must be odd")
        _check(problems, 0 <= self.dropout < 1 and 0 <= self.char_dropout < 1, f"{key}.dropout", "in [0, 1)")
        _check(
            problems,
            self.variant in ("mtl-feedback", "mtl", "single"),
            f"{key}.variant",
            "must be mtl-feedback, mtl or single",
        )


@dataclass(frozen=True)
class MTLDataConfig:
    corpus: str
    data_dir: str
    entity_types: tuple[str, ...]
    train_splits: tuple[str, ...] = ("train",)
    dev_split: str = "dev"
    test_split: str = "test"
    # word2vec text file (``medstream_models.word2vec``); "" = random initialisation.
    vectors: str = ""
    # With vectors: the most frequent vector words added to the training words' vocabulary.
    extra_vocab: int = 30000

    def validate(self, key: str, problems: list[str]) -> None:
        _check(problems, len(self.entity_types) >= 1, f"{key}.entity_types", "at least one type")
        _check(problems, len(self.train_splits) >= 1, f"{key}.train_splits", "at least one split")
        _check(problems, self.extra_vocab >= 0, f"{key}.extra_vocab", "must be >= 0")


@dataclass(frozen=True)
class MTLTrainConfig:
    seed: int = 1234
    epochs: int = 20
    batch_size: int = 32
    lr: float = 0.001
    grad_clip: float = 5.0
    patience: int = 4
    max_minutes: float = 20.0
    threads: int = 2
    first_pass_weight: float = 0.5
    eval_batch_size: int = 128

    def validate(self, key: str, problems: list[str]) -> None:
        _check(problems, 0 <= self.seed < 2**32, f"{key}.seed", "must be in [0, 2**32)")
        for n in ("epochs", "batch_size", "patience", "threads", "eval_batch_size"):
            _check(problems, getattr(self, n) >= 1, f"{key}.{n}", "must be >= 1")
        _check(problems, self.lr > 0 and self.grad_clip > 0, f"{key}.lr", "lr and grad_clip must be > 0")
        _check(problems, self.max_minutes > 0, f"{key}.max_minutes", "must be > 0")


@dataclass(frozen=True)
class MTLExportConfig:
    opset: int = 17
    parity_sentences: int = 20


@dataclass(frozen=True)
class MTLConfig:
    model: MTLModelConfig
    data: MTLDataConfig
    train: MTLTrainConfig = field(default_factory=MTLTrainConfig)
    export: MTLExportConfig = field(default_factory=MTLExportConfig)


@dataclass
class Prepared:
    words: Vocab
    chars: Vocab
    mer_labels: list[str]
    men_labels: list[str]
    concept_type: dict[str, str]
    train: list[Sentence]
    dev: list[Sentence]
    test: list[Sentence]
    vectors: dict[int, torch.Tensor] | None
    files: dict[str, dict[str, str]]


def prepare(cfg: MTLConfig, root: Path) -> Prepared:
    data_dir = root / cfg.data.data_dir
    files: dict[str, dict[str, str]] = {}

    def load(split: str) -> list[Sentence]:
        path = data_dir / f"{split}.jsonl"
        files[split] = {"file": str(path.relative_to(root)), "sha256": sha256_file(path)}
        return read_jsonl(path)

    train = [s for split in cfg.data.train_splits for s in load(split)]
    dev = load(cfg.data.dev_split)
    test = load(cfg.data.test_split)
    train_tokens = [t for s in train for t in s.tokens]
    vectors = None
    extra: list[str] = []
    vec_words: list[str] = []
    vec_matrix = np.zeros((0, 0), dtype=np.float32)
    if cfg.data.vectors:
        vec_words, vec_matrix = load_vectors(root / cfg.data.vectors)
        if vec_matrix.shape[1] != cfg.model.word_dim:
            raise ValueError(
                f"vectors have dim {vec_matrix.shape[1]}, model.word_dim is {cfg.model.word_dim}"
            )
        extra = vec_words[: cfg.data.extra_vocab]
    words = build_word_vocab(train_tokens, extra)
    chars = build_char_vocab(train_tokens)
    if cfg.data.vectors:
        vindex = {w: i for i, w in enumerate(vec_words)}
        vectors = {
            i: torch.from_numpy(vec_matrix[vindex[w]])
            for i, w in enumerate(words.entries)
            if w in vindex and i > UNK
        }
    return Prepared(
        words=words,
        chars=chars,
        mer_labels=mer_labels(cfg.data.entity_types),
        men_labels=men_labels(train),
        concept_type=concept_types(train),
        train=train,
        dev=dev,
        test=test,
        vectors=vectors,
        files=files,
    )


def build_model(cfg: MTLConfig, prep: Prepared) -> MTLFeedback:
    m = cfg.model
    model = MTLFeedback(
        word_vocab=len(prep.words),
        char_vocab=len(prep.chars),
        num_mer=len(prep.mer_labels),
        num_men=len(prep.men_labels),
        word_dim=m.word_dim,
        char_dim=m.char_dim,
        char_filters=m.char_filters,
        char_kernel=m.char_kernel,
        hidden=m.hidden,
        layers=m.layers,
        dropout=m.dropout,
        char_dropout=m.char_dropout,
        feedback=m.variant == "mtl-feedback",
        use_men=m.variant != "single",
    )
    return model


def tasks_of(cfg: MTLConfig) -> tuple[str, ...]:
    return ("mer",) if cfg.model.variant == "single" else TASKS


@torch.no_grad()
def run_inference(
    model: MTLFeedback, enc: list[Encoded], batch_size: int
) -> tuple[list[list[int]], list[list[int]], list[np.ndarray]]:
    model.eval()
    n = len(enc)
    mer_tags: list[list[int]] = [[] for _ in range(n)]
    men_tags: list[list[int]] = [[] for _ in range(n)]
    men_logp: list[np.ndarray] = [np.zeros(0)] * n
    for idx in eval_batches([len(e.word_ids) for e in enc], batch_size):
        w, c, lengths, _, _ = collate([enc[i] for i in idx])
        _, men, mt, nt = model.predict(w, c, lengths)
        men_np = men.numpy()
        for k, i in enumerate(idx):
            mer_tags[i] = mt[k]
            men_tags[i] = nt[k]
            men_logp[i] = men_np[k, : int(lengths[k])]
    return mer_tags, men_tags, men_logp


def evaluate(
    model: MTLFeedback, cfg: MTLConfig, prep: Prepared, sents: list[Sentence], enc: list[Encoded]
) -> dict[str, Any]:
    mer_ids, men_ids, men_logp = run_inference(model, enc, cfg.train.eval_batch_size)
    mer_str = [[prep.mer_labels[i] for i in row] for row in mer_ids]
    types = list(cfg.data.entity_types)
    out: dict[str, Any] = {"mer": mer_scores(sents, mer_str, types)}
    if cfg.model.variant != "single":
        gold = gold_concepts(sents)
        men_str = [[prep.men_labels[i] for i in row] for row in men_ids]
        default = types[0]
        out["nen_men"] = nen_scores(gold, men_predictions(sents, men_str, prep.concept_type, default), types)
        joint = joint_predictions(sents, mer_str, men_logp, prep.men_labels)
        out["nen_joint"] = nen_scores(gold, joint, types)
    return out


def selection_score(scores: dict[str, Any]) -> float:
    mer = float(scores["mer"]["all"]["f1"])
    if "nen_joint" in scores:
        return (mer + float(scores["nen_joint"]["all"]["f1"]) + float(scores["nen_men"]["all"]["f1"])) / 3
    return mer


def train(
    cfg: MTLConfig, root: Path, run_dir: Path, log: Any = print, init_from: Path | None = None
) -> tuple[MTLFeedback, Prepared, dict[str, Any]]:
    """Train (``init_from``: continue from another run's selected checkpoint of the same config,
    with a fresh optimiser; its record is kept under ``result["init_from"]``)."""
    torch.set_num_threads(cfg.train.threads)
    seed_everything(cfg.train.seed)
    t0 = time.time()
    prep = prepare(cfg, root)
    model = build_model(cfg, prep)
    n_vec = init_embeddings(model.word_embed, prep.vectors, cfg.train.seed)
    previous: dict[str, Any] | None = None
    if init_from is not None:
        ckpt = torch.load(init_from / "model.pt", map_location="cpu")
        if ckpt["words"] != prep.words.entries or ckpt["men_labels"] != prep.men_labels:
            raise ValueError(f"{init_from} was trained with other vocabularies/labels")
        model.load_state_dict(ckpt["state_dict"])
        prev = json.loads((init_from / "result.json").read_text())
        previous = {
            "run_dir": str(init_from),
            "epochs_run": prev["epochs_run"],
            "best_epoch": prev["best_epoch"],
            "train_seconds": prev["train_seconds"],
            "stopped": prev["stopped"],
            "history": prev["history"],
            "dev": prev["dev"],
            "test": prev["test"],
        }
        log(f"continuing from {init_from} (best epoch {prev['best_epoch']} of {prev['epochs_run']})")
    mer_index = {t: i for i, t in enumerate(prep.mer_labels)}
    men_index = {t: i for i, t in enumerate(prep.men_labels)}
    mc = cfg.model.max_word_chars
    enc_train = encode(prep.train, prep.words, prep.chars, mer_index, men_index, mc)
    enc_dev = encode(prep.dev, prep.words, prep.chars, mer_index, men_index, mc)
    log(
        f"[{cfg.model.name}/{cfg.model.variant}] words {len(prep.words)} ({n_vec} from vectors), "
        f"chars {len(prep.chars)}, MER labels {len(prep.mer_labels)}, MEN labels {len(prep.men_labels)}, "
        f"train {len(prep.train)} dev {len(prep.dev)} test {len(prep.test)} sentences"
    )
    opt = torch.optim.Adam(model.parameters(), lr=cfg.train.lr)
    tasks = tasks_of(cfg)
    own = {t: {id(p) for p in model.task_parameters(t)} for t in TASKS}
    rng = random.Random(cfg.train.seed)
    lengths = [len(e.word_ids) for e in enc_train]
    history: list[dict[str, Any]] = []
    best_score, best_epoch, best_state = -1.0, 0, copy.deepcopy(model.state_dict())
    stopped = "epochs"
    for epoch in range(1, cfg.train.epochs + 1):
        te = time.time()
        model.train()
        steps = [(t, b) for t in tasks for b in length_batches(lengths, cfg.train.batch_size, rng)]
        rng.shuffle(steps)
        losses: dict[str, list[float]] = {t: [] for t in tasks}
        for task, idx in steps:
            w, c, ln, mer, men = collate([enc_train[i] for i in idx])
            loss = model.loss(task, w, c, ln, mer if task == "mer" else men, cfg.train.first_pass_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            other = [t for t in TASKS if t != task]
            for p in model.parameters():
                if any(id(p) in own[o] for o in other) and id(p) not in own[task]:
                    p.grad = None  # the other task's head is not updated by this task's loss
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.train.grad_clip)
            opt.step()
            losses[task].append(float(loss))
        dev = evaluate(model, cfg, prep, prep.dev, enc_dev)
        score = selection_score(dev)
        rec = {
            "epoch": epoch,
            "seconds": round(time.time() - te, 1),
            "loss": {t: round(float(np.mean(v)), 4) for t, v in losses.items()},
            "dev_selection": round(score, 4),
            "dev": dev,
        }
        history.append(rec)
        msg = f"epoch {epoch} {rec['seconds']}s loss {rec['loss']} dev MER F1 {dev['mer']['all']['f1']}"
        if "nen_men" in dev:
            msg += f" NEN(men) {dev['nen_men']['all']['f1']} NEN(joint) {dev['nen_joint']['all']['f1']}"
        log(msg + f" sel {score:.4f}")
        if score > best_score:
            best_score, best_epoch, best_state = score, epoch, copy.deepcopy(model.state_dict())
        elif epoch - best_epoch >= cfg.train.patience:
            stopped = f"patience ({cfg.train.patience} epochs without dev improvement)"
            break
        if (time.time() - t0) / 60 > cfg.train.max_minutes:
            stopped = f"max_minutes ({cfg.train.max_minutes})"
            break
    train_seconds = time.time() - t0
    model.load_state_dict(best_state)
    enc_test = encode(prep.test, prep.words, prep.chars, mer_index, men_index, mc)
    dev_best = history[best_epoch - 1]["dev"]
    test = evaluate(model, cfg, prep, prep.test, enc_test)  # once, with the selected checkpoint
    summary = f"best epoch {best_epoch}; test MER F1 {test['mer']['all']['f1']}"
    if "nen_men" in test:
        summary += f" NEN(men) {test['nen_men']['all']['f1']} NEN(joint) {test['nen_joint']['all']['f1']}"
    log(summary)
    result = {
        "name": cfg.model.name,
        "variant": cfg.model.variant,
        "vectors": cfg.data.vectors or "random",
        "config": config_to_dict(cfg),
        "torch_version": torch.__version__,
        "train_files": prep.files,
        "sizes": {
            "words": len(prep.words),
            "words_from_vectors": n_vec,
            "chars": len(prep.chars),
            "mer_labels": len(prep.mer_labels),
            "men_labels": len(prep.men_labels),
            "parameters": sum(p.numel() for p in model.parameters()),
        },
        "epochs_run": len(history),
        "stopped": stopped,
        "best_epoch": best_epoch,
        "train_seconds": round(train_seconds, 1),
        "history": history,
        "init_from": previous,
        "dev": dev_best,
        "test": test,
        "test_note": "Python evaluator, best dev epoch, evaluated once at the end",
    }
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    torch.save(
        {
            "state_dict": model.state_dict(),
            "words": prep.words.entries,
            "chars": prep.chars.entries,
            "mer_labels": prep.mer_labels,
            "men_labels": prep.men_labels,
            "concept_type": prep.concept_type,
        },
        run_dir / "model.pt",
    )
    return model, prep, result


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", type=Path, required=True)
    ap.add_argument("--root", type=Path, default=Path.cwd(), help="repo root (config paths are relative)")
    ap.add_argument("--run-dir", type=Path, default=None, help="default .cache/runs/<config stem>")
    ap.add_argument("--export", type=Path, default=None, help="write the served model into this directory")
    ap.add_argument("--init-from", type=Path, default=None, help="continue from this run's model.pt")
    args = ap.parse_args(argv)
    cfg = load_config(args.config, MTLConfig)
    run_dir = args.run_dir or args.root / ".cache" / "runs" / args.config.stem
    model, prep, result = train(
        cfg, args.root, run_dir, log=lambda m: print(m, flush=True), init_from=args.init_from
    )
    if args.export is not None:
        from .mtl_export import export_served

        export_served(model, cfg, prep, result, args.export, args.root)


if __name__ == "__main__":
    main()

__all__ = ["MTLConfig", "PAD", "normalize_word", "train", "main"]
