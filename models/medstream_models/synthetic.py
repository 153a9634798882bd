"""A generated sequence-labelling task, so the smoke path needs no corpus.

Word ids: 0 = pad, 1 = unk, then one block of ``entity_vocab_size`` ids per entity type, then
plain words. Every word id has a fixed spelling; entity words end in their type's marker
character, so a word replaced by unk can still be tagged from its characters. Entity spans are
never adjacent, so B- versus I- is decidable from context.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import ModelConfig, SyntheticDataConfig
from .seed import numpy_rng

PAD = 0
UNK = 1


def label_set(entity_types: tuple[str, ...]) -> list[str]:
    labels = ["O"]
    for t in entity_types:
        labels += [f"B-{t}", f"I-{t}"]
    return labels


@dataclass(frozen=True)
class Sentence:
    word_ids: list[int]
    char_ids: list[list[int]]
    tags: list[int]


@dataclass(frozen=True)
class Batch:
    word_ids: np.ndarray  # int64 [B, T]
    char_ids: np.ndarray  # int64 [B, T, C]
    lengths: np.ndarray  # int64 [B]
    tags: np.ndarray  # int64 [B, T], 0 (= O) on padding


class SyntheticTask:
    def __init__(self, data: SyntheticDataConfig, model: ModelConfig) -> None:
        self.cfg = data
        self.labels = label_set(data.entity_types)
        n_types = len(data.entity_types)
        self._entity_base = 2
        self._plain_base = 2 + n_types * data.entity_vocab_size
        self._word_vocab = model.word_vocab_size
        plain_chars = np.arange(2 + n_types, model.char_vocab_size)
        rng = numpy_rng(data.seed)
        self.spellings: list[list[int]] = [[PAD], [UNK]]  # pad/unk spellings are never used
        for word in range(2, model.word_vocab_size):
            n = int(rng.integers(data.min_word_chars, data.max_word_chars + 1))
            chars = [int(c) for c in rng.choice(plain_chars, size=n)]
            kind = self._entity_type(word)
            if kind is not None:
                chars[-1] = 2 + kind  # the type's marker character ends the word
            self.spellings.append(chars)

    def _entity_type(self, word: int) -> int | None:
        if self._entity_base <= word < self._plain_base:
            return (word - self._entity_base) // self.cfg.entity_vocab_size
        return None

    def sentence(self, rng: np.random.Generator) -> Sentence:
        cfg = self.cfg
        length = int(rng.integers(cfg.min_len, cfg.max_len + 1))
        words: list[int] = []
        tags: list[int] = []
        after_entity = False
        while len(words) < length:
            if not after_entity and rng.random() < cfg.entity_rate:
                kind = int(rng.integers(len(cfg.entity_types)))
                span = min(int(rng.integers(1, cfg.max_span + 1)), length - len(words))
                base = self._entity_base + kind * cfg.entity_vocab_size
                for i in range(span):
                    words.append(base + int(rng.integers(cfg.entity_vocab_size)))
                    tags.append(1 + 2 * kind + (0 if i == 0 else 1))
                after_entity = True
            else:
                words.append(int(rng.integers(self._plain_base, self._word_vocab)))
                tags.append(0)
                after_entity = False
        chars = [list(self.spellings[w]) for w in words]
        shown = [UNK if rng.random() < cfg.unk_rate else w for w in words]
        return Sentence(word_ids=shown, char_ids=chars, tags=tags)

    def sentences(self, n: int, seed: int) -> list[Sentence]:
        rng = numpy_rng(seed)
        return [self.sentence(rng) for _ in range(n)]


def collate(sentences: list[Sentence], pad_len: int = 0, pad_chars: int = 0) -> Batch:
    """Pad to the longest sentence/word, or to ``pad_len``/``pad_chars`` when larger."""
    if not sentences:
        raise ValueError("cannot collate an empty batch")
    t_max = max(pad_len, max(len(s.word_ids) for s in sentences))
    c_max = max(pad_chars, max(len(c) for s in sentences for c in s.char_ids))
    b = len(sentences)
    word_ids = np.zeros((b, t_max), dtype=np.int64)
    char_ids = np.zeros((b, t_max, c_max), dtype=np.int64)
    tags = np.zeros((b, t_max), dtype=np.int64)
    lengths = np.zeros((b,), dtype=np.int64)
    for i, s in enumerate(sentences):
        n = len(s.word_ids)
        lengths[i] = n
        word_ids[i, :n] = s.word_ids
        tags[i, :n] = s.tags
        for j, chars in enumerate(s.char_ids):
            char_ids[i, j, : len(chars)] = chars
    return Batch(word_ids=word_ids, char_ids=char_ids, lengths=lengths, tags=tags)
