"""Token JSONL (``medstream export-training``) → label sets, id tensors and batches.

Python never tokenizes: it reads the tokens the TypeScript exporter wrote.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from .vocab import PAD, Vocab, char_ids, word_ids


@dataclass
class Sentence:
    pmid: str
    tokens: list[str]
    tags: list[str]
    men_tags: list[str]
    mentions: list[dict[str, object]]


def read_jsonl(path: str | Path) -> list[Sentence]:
    out: list[Sentence] = []
    with Path(path).open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            r = json.loads(line)
            if not r["tokens"]:
                continue
            out.append(Sentence(str(r["pmid"]), r["tokens"], r["tags"], r["men_tags"], r["mentions"]))
    return out


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def mer_labels(entity_types: Sequence[str]) -> list[str]:
    labels = ["O"]
    for t in entity_types:
        labels += [f"B-{t}", f"I-{t}"]
    return labels


def men_labels(sentences: Sequence[Sentence]) -> list[str]:
    """``O`` then every B-/I- concept tag seen in training, sorted by concept then B before I."""
    concepts = {t[2:] for s in sentences for t in s.men_tags if t != "O"}
    labels = ["O"]
    for c in sorted(concepts):
        labels += [f"B-{c}", f"I-{c}"]
    return labels


def concept_types(sentences: Sequence[Sentence]) -> dict[str, str]:
    """Concept label → entity type (the most frequent type among its training mentions)."""
    counts: dict[str, dict[str, int]] = {}
    for s in sentences:
        for m in s.mentions:
            c = str(m["concept"])
            counts.setdefault(c, {}).setdefault(str(m["type"]), 0)
            counts[c][str(m["type"])] += 1
    return {c: max(v.items(), key=lambda kv: (kv[1], kv[0]))[0] for c, v in counts.items()}


@dataclass
class Encoded:
    word_ids: list[int]
    char_ids: list[list[int]]
    mer: list[int]
    men: list[int]


def encode(
    sentences: Sequence[Sentence],
    words: Vocab,
    chars: Vocab,
    mer_index: dict[str, int],
    men_index: dict[str, int],
    max_chars: int,
) -> list[Encoded]:
    """Unknown MEN tags (concepts not in training) map to O (index 0)."""
    out = []
    for s in sentences:
        out.append(
            Encoded(
                word_ids(s.tokens, words),
                char_ids(s.tokens, chars, max_chars),
                [mer_index[t] for t in s.tags],
                [men_index.get(t, 0) for t in s.men_tags],
            )
        )
    return out


def collate(batch: Sequence[Encoded]) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """word_ids [B,T], char_ids [B,T,C], lengths [B], mer tags [B,T], men tags [B,T] (int64)."""
    b = len(batch)
    t = max(len(e.word_ids) for e in batch)
    c = max(max((len(w) for w in e.char_ids), default=1) for e in batch)
    c = max(c, 1)
    w = torch.full((b, t), PAD, dtype=torch.long)
    ch = torch.full((b, t, c), PAD, dtype=torch.long)
    mer = torch.zeros((b, t), dtype=torch.long)
    men = torch.zeros((b, t), dtype=torch.long)
    lengths = torch.tensor([len(e.word_ids) for e in batch], dtype=torch.long)
    for i, e in enumerate(batch):
        n = len(e.word_ids)
        w[i, :n] = torch.tensor(e.word_ids)
        mer[i, :n] = torch.tensor(e.mer)
        men[i, :n] = torch.tensor(e.men)
        for j, cs in enumerate(e.char_ids):
            if cs:
                ch[i, j, : len(cs)] = torch.tensor(cs)
    return w, ch, lengths, mer, men


def length_batches(n_items: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Batches of similar-length items (less padding), in random order, items shuffled first."""
    order = list(range(len(n_items)))
    rng.shuffle(order)
    # Sort within chunks of 50 batches so batches stay random but roughly length-homogeneous.
    chunk = batch_size * 50
    batches: list[list[int]] = []
    for k in range(0, len(order), chunk):
        part = sorted(order[k : k + chunk], key=lambda i: n_items[i])
        batches += [part[j : j + batch_size] for j in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    return batches


def eval_batches(n_items: Sequence[int], batch_size: int) -> list[list[int]]:
    order = sorted(range(len(n_items)), key=lambda i: n_items[i])
    return [order[j : j + batch_size] for j in range(0, len(order), batch_size)]
