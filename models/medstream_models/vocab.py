"""Word and character vocabularies: THE mapping from a token string to model ids.

The TypeScript engine must reproduce exactly this (the manifest's ``preprocessing`` block):

- word id: ``normalize_word(token)`` = Unicode default lower-casing (Python ``str.lower``,
  JavaScript ``String.prototype.toLowerCase``), then every ASCII digit ``0-9`` replaced by ``0``;
  looked up in ``words.txt`` (line ``i`` has id ``i``); id 0 is padding, id 1 unknown.
- char ids: the token *as is* (no lower-casing, no digit replacement), split into Unicode code
  points (JavaScript ``Array.from(token)``), truncated to the first ``max_word_chars``; each code
  point looked up in ``chars.txt`` (line ``i`` has id ``i``); 0 padding, 1 unknown.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

PAD = 0
UNK = 1
PAD_TOKEN = "<pad>"
UNK_TOKEN = "<unk>"

_DIGIT = re.compile(r"[0-9]")


def normalize_word(token: str) -> str:
    return _DIGIT.sub("0", token.lower())


class Vocab:
    """Strings to ids; ids 0 and 1 are padding and unknown."""

    def __init__(self, entries: Sequence[str]) -> None:
        if list(entries[:2]) != [PAD_TOKEN, UNK_TOKEN]:
            raise ValueError("a vocabulary starts with <pad>, <unk>")
        if len(set(entries)) != len(entries):
            raise ValueError("duplicate vocabulary entries")
        for e in entries:
            if e == "" or "\n" in e or "\r" in e:
                raise ValueError(f"vocabulary entry {e!r} cannot be written one per line")
        self.entries = list(entries)
        self.index = {e: i for i, e in enumerate(self.entries)}

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, key: str) -> int:
        return self.index.get(key, UNK)

    def save(self, path: str | Path) -> None:
        Path(path).write_text("".join(f"{e}\n" for e in self.entries), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Vocab:
        return cls(Path(path).read_text(encoding="utf-8").split("\n")[:-1])


def build_word_vocab(train_tokens: Iterable[str], extra: Sequence[str] = ()) -> Vocab:
    """Every normalized training word (most frequent first), then ``extra`` words not seen."""
    counts = Counter(normalize_word(t) for t in train_tokens)
    entries = [PAD_TOKEN, UNK_TOKEN]
    seen = set(entries)
    for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if w not in seen and _storable(w):
            entries.append(w)
            seen.add(w)
    for w in extra:
        if w not in seen and _storable(w):
            entries.append(w)
            seen.add(w)
    return Vocab(entries)


def build_char_vocab(train_tokens: Iterable[str], min_count: int = 1) -> Vocab:
    counts: Counter[str] = Counter()
    for t in train_tokens:
        counts.update(t)
    entries = [PAD_TOKEN, UNK_TOKEN]
    for c, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if n >= min_count and _storable(c) and c not in entries:
            entries.append(c)
    return Vocab(entries)


def _storable(s: str) -> bool:
    return s != "" and not any(ch in s for ch in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def word_ids(tokens: Sequence[str], vocab: Vocab) -> list[int]:
    return [vocab.get(normalize_word(t)) for t in tokens]


def char_ids(tokens: Sequence[str], vocab: Vocab, max_chars: int) -> list[list[int]]:
    return [[vocab.get(c) for c in t[:max_chars]] for t in tokens]
