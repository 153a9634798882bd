from __future__ import annotations

import torch

from medstream_models.config import SmokeConfig
from medstream_models.synthetic import SyntheticTask, collate
from medstream_models.tagger import Tagger, reverse_padded
from medstream_models.train import to_tensors


def test_reverse_padded_reverses_within_length_only() -> None:
    x = torch.arange(10.0).reshape(2, 5, 1)
    out = reverse_padded(x, torch.tensor([5, 3]))
    assert out[:, :, 0].tolist() == [[4, 3, 2, 1, 0], [7, 6, 5, 8, 9]]
    assert torch.equal(reverse_padded(out, torch.tensor([5, 3])), x)


def test_emissions_do_not_depend_on_batch_padding(smoke_cfg: SmokeConfig) -> None:
    torch.manual_seed(0)
    task = SyntheticTask(smoke_cfg.data, smoke_cfg.model)
    model = Tagger(smoke_cfg.model, len(task.labels)).eval()
    sentences = task.sentences(4, seed=3)
    cpu = torch.device("cpu")
    word_ids, char_ids, lengths, _ = to_tensors(collate(sentences), cpu)
    padded = to_tensors(collate(sentences, pad_len=word_ids.size(1) + 6, pad_chars=char_ids.size(2) + 4), cpu)
    with torch.no_grad():
        tight = model(word_ids, char_ids, lengths)
        loose = model(*padded[:3])
        for i, s in enumerate(sentences):
            alone = model(*to_tensors(collate([s]), cpu)[:3])
            n = len(s.word_ids)
            assert torch.allclose(tight[i, :n], alone[0, :n], atol=1e-5)
            assert torch.allclose(loose[i, :n], alone[0, :n], atol=1e-5)


def test_synthetic_task_is_deterministic_and_consistent(smoke_cfg: SmokeConfig) -> None:
    task = SyntheticTask(smoke_cfg.data, smoke_cfg.model)
    a, b = task.sentences(20, seed=5), task.sentences(20, seed=5)
    assert a == b
    assert task.labels == ["O", "B-Disease", "I-Disease", "B-Chemical", "I-Chemical"]
    for s in a:
        assert len(s.word_ids) == len(s.char_ids) == len(s.tags)
        assert smoke_cfg.data.min_len <= len(s.tags) <= smoke_cfg.data.max_len
        for prev, cur in zip([0, *s.tags], s.tags, strict=False):
            if cur % 2 == 0 and cur > 0:  # I-X only continues B-X or I-X of the same type
                assert prev in (cur - 1, cur)
        assert all(0 <= w < smoke_cfg.model.word_vocab_size for w in s.word_ids)
        assert all(0 < c < smoke_cfg.model.char_vocab_size for cs in s.char_ids for c in cs)
