"""Python-side evaluation for model selection (the reported numbers come from the TypeScript
evaluator through the served ONNX path; these are labelled "Python evaluator").

- MER: strict mention P/R/F1 (same sentence, start, end and type) from BIO tags, micro over
  all types, plus per type.
- NEN: document-level concept F1 — the set of (PMID, concept ID) pairs predicted vs gold
  (composite IDs split, mentions without ID ignored), per entity type and overall. Two
  predictions from the model:
  * ``men``: the MEN head alone — spans of its argmax B-/I-<concept> labels;
  * ``joint``: MER spans (Viterbi), each given the concept with the largest probability mass
    p(B-c) + p(I-c) summed over the span's tokens (MEN's O excluded).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from .mtl_data import Sentence

_ID_SPLIT = re.compile(r"[|+]")
NIL = "NIL"


def bio_spans(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """(start, end exclusive, label) spans; an I- that does not continue a span starts one."""
    spans: list[tuple[int, int, str]] = []
    start, label = -1, ""
    for i, t in enumerate([*tags, "O"]):
        if t.startswith("I-") and start >= 0 and t[2:] == label:
            continue
        if start >= 0:
            spans.append((start, i, label))
            start = -1
        if t.startswith("B-") or t.startswith("I-"):
            start, label = i, t[2:]
    return spans


def prf(tp: int, n_pred: int, n_gold: int) -> dict[str, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"p": round(p, 4), "r": round(r, 4), "f1": round(f, 4), "tp": tp, "pred": n_pred, "gold": n_gold}


def mer_scores(gold: Sequence[Sentence], pred_tags: Sequence[Sequence[str]], types: Sequence[str]) -> dict:
    g = {(i, *s) for i, sent in enumerate(gold) for s in bio_spans(sent.tags)}
    p = {(i, *s) for i, tags in enumerate(pred_tags) for s in bio_spans(tags)}
    out = {"all": prf(len(g & p), len(p), len(g))}
    for t in types:
        gt = {x for x in g if x[3] == t}
        pt = {x for x in p if x[3] == t}
        out[t] = prf(len(gt & pt), len(pt), len(gt))
    return out


def split_concept(label: str) -> list[str]:
    return [x for x in _ID_SPLIT.split(label) if x and x != NIL]


def gold_concepts(gold: Sequence[Sentence]) -> set[tuple[str, str, str]]:
    """(pmid, concept id, type) from every exported mention with an ID."""
    out = set()
    for s in gold:
        for m in s.mentions:
            for cid in m["ids"]:  # type: ignore[union-attr]
                out.add((s.pmid, str(cid), str(m["type"])))
    return out


Concepts = set[tuple[str, str, str]]


def nen_scores(gold_set: Concepts, pred_set: Concepts, types: Sequence[str]) -> dict:
    out = {"all": prf(len(gold_set & pred_set), len(pred_set), len(gold_set))}
    for t in types:
        gt = {x for x in gold_set if x[2] == t}
        pt = {x for x in pred_set if x[2] == t}
        out[t] = prf(len(gt & pt), len(pt), len(gt))
    return out


def men_predictions(
    sentences: Sequence[Sentence],
    men_tags: Sequence[Sequence[str]],
    concept_type: dict[str, str],
    default_type: str,
) -> set[tuple[str, str, str]]:
    out = set()
    for s, tags in zip(sentences, men_tags, strict=True):
        for _, _, label in bio_spans(tags):
            t = concept_type.get(label, default_type)
            for cid in split_concept(label):
                out.add((s.pmid, cid, t))
    return out


def joint_predictions(
    sentences: Sequence[Sentence],
    mer_tags: Sequence[Sequence[str]],
    men_logp: Sequence[np.ndarray],
    men_labels: Sequence[str],
) -> set[tuple[str, str, str]]:
    """MER spans labelled with the concept of largest summed probability mass (B- and I- of a
    concept pooled, O excluded)."""
    concepts = sorted({lab[2:] for lab in men_labels if lab != "O"})
    cindex = {c: i for i, c in enumerate(concepts)}
    pool = np.zeros((len(men_labels), len(concepts)), dtype=np.float32)
    for j, lab in enumerate(men_labels):
        if lab != "O":
            pool[j, cindex[lab[2:]]] = 1.0
    out = set()
    for s, tags, logp in zip(sentences, mer_tags, men_logp, strict=True):
        spans = bio_spans(tags)
        if not spans or not concepts:
            continue
        probs = np.exp(logp[: len(tags)]) @ pool  # [n, concepts]
        for a, b, t in spans:
            c = concepts[int(probs[a:b].sum(0).argmax())]
            for cid in split_concept(c):
                out.add((s.pmid, cid, t))
    return out
