"""Word vectors trained here (no pretrained embeddings are reachable offline).

Input: ``medstream export-text`` output (one sentence per line, tokens by OUR tokenizer, joined
by spaces). Every token is normalized with :func:`vocab.normalize_word` (the model's word rule)
before training, so vector keys are exactly the model's word-vocabulary keys.

    python -m medstream_models.word2vec --text .cache/training-data/w2v-text.txt \\
        --out .cache/word2vec/w2v-100d.txt --dim 100 --seed 13

Output: word2vec text format, most frequent word first (``N DIM`` header, then ``word v1 ..``).
gensim (skip-gram, negative sampling) is needed only here; training reads the text file.
Note: gensim is bit-reproducible for a seed only with ``workers=1`` (its threads race); with 2
workers vectors differ slightly between runs.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .vocab import normalize_word


class _Sentences:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __iter__(self) -> Iterator[list[str]]:
        with self.path.open(encoding="utf-8") as fh:
            for line in fh:
                words = line.split(" ")
                words[-1] = words[-1].rstrip("\n")
                yield [normalize_word(w) for w in words if w]


def train_word2vec(
    text: Path,
    out: Path,
    *,
    dim: int,
    seed: int,
    window: int = 5,
    min_count: int = 3,
    negative: int = 10,
    epochs: int = 10,
    workers: int = 2,
) -> dict[str, object]:
    from gensim.models import Word2Vec  # imported here: only word-vector training needs gensim

    start = time.time()
    sentences = _Sentences(text)
    model = Word2Vec(
        sentences=sentences,
        vector_size=dim,
        window=window,
        min_count=min_count,
        sg=1,
        negative=negative,
        sample=1e-4,
        epochs=epochs,
        seed=seed,
        workers=workers,
    )
    kv = model.wv
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(f"{len(kv.index_to_key)} {dim}\n")
        for word in kv.index_to_key:  # most frequent first
            vec = " ".join(f"{x:.6f}" for x in kv[word])
            fh.write(f"{word} {vec}\n")
    tmp.replace(out)
    info: dict[str, object] = {
        "text": str(text),
        "out": str(out),
        "words": len(kv.index_to_key),
        "dim": dim,
        "algorithm": "gensim Word2Vec skip-gram, negative sampling",
        "gensim_version": __import__("gensim").__version__,
        "window": window,
        "min_count": min_count,
        "negative": negative,
        "epochs": epochs,
        "seed": seed,
        "workers": workers,
        "corpus_words": model.corpus_total_words,
        "seconds": round(time.time() - start, 1),
    }
    out.with_suffix(".json").write_text(json.dumps(info, indent=2) + "\n")
    return info


def load_vectors(path: str | Path) -> tuple[list[str], np.ndarray]:
    """Words (file order: most frequent first) and their vectors [N, dim] float32."""
    words: list[str] = []
    rows: list[np.ndarray] = []
    with Path(path).open(encoding="utf-8") as fh:
        n, dim = (int(x) for x in fh.readline().split())
        for line in fh:
            parts = line.rstrip("\n").split(" ")
            if len(parts) != dim + 1:
                continue
            words.append(parts[0])
            rows.append(np.asarray(parts[1:], dtype=np.float32))
    del n
    return words, np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--text", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--min-count", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    info = train_word2vec(
        args.text,
        args.out,
        dim=args.dim,
        seed=args.seed,
        epochs=args.epochs,
        min_count=args.min_count,
        workers=args.workers,
    )
    print(json.dumps(info, indent=2))


if __name__ == "__main__":
    main()
