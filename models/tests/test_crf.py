from __future__ import annotations

import itertools

import pytest
import torch

from medstream_models.crf import CRF


def _crf(num_tags: int, seed: int) -> CRF:
    torch.manual_seed(seed)
    crf = CRF(num_tags)
    with torch.no_grad():  # larger than the default init so paths differ clearly
        crf.transitions.normal_()
        crf.start.normal_()
        crf.end.normal_()
    return crf


@torch.no_grad()
def _path_score(crf: CRF, emissions: torch.Tensor, path: tuple[int, ...]) -> float:
    s = crf.start[path[0]] + emissions[0, path[0]]
    for prev, cur, t in zip(path, path[1:], range(1, len(path)), strict=False):
        s = s + crf.transitions[prev, cur] + emissions[t, cur]
    return float(s + crf.end[path[-1]])


def _case(seed: int) -> tuple[CRF, torch.Tensor, torch.Tensor, list[int]]:
    crf = _crf(3, seed)
    lengths = [4, 1, 3]
    emissions = torch.randn(len(lengths), 4, 3)
    mask = torch.arange(4).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    return crf, emissions, mask, lengths


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nll_matches_brute_force_enumeration(seed: int) -> None:
    crf, emissions, mask, lengths = _case(seed)
    tags = torch.randint(0, 3, emissions.shape[:2])
    nll = crf.nll(emissions, tags, mask, reduction="none").detach()
    for b, n in enumerate(lengths):
        scores = torch.tensor(
            [_path_score(crf, emissions[b], p) for p in itertools.product(range(3), repeat=n)],
            dtype=torch.float64,
        )
        gold = _path_score(crf, emissions[b], tuple(tags[b, :n].tolist()))
        expected = float(torch.logsumexp(scores, 0)) - gold
        assert float(nll[b]) == pytest.approx(expected, abs=1e-4)
        assert float(nll[b]) >= 0.0


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_viterbi_equals_brute_force_argmax(seed: int) -> None:
    crf, emissions, mask, lengths = _case(seed)
    decoded = crf.decode(emissions, mask)
    for b, n in enumerate(lengths):
        best = max(itertools.product(range(3), repeat=n), key=lambda p: _path_score(crf, emissions[b], p))
        assert decoded[b] == list(best)


def test_padding_does_not_change_nll_or_path() -> None:
    crf, emissions, mask, _ = _case(5)
    tags = torch.randint(0, 3, emissions.shape[:2])
    # Garbage in padded positions must be ignored.
    noisy = torch.where(mask.unsqueeze(2), emissions, torch.full_like(emissions, 50.0))
    assert torch.allclose(crf.nll(emissions, tags, mask, "none"), crf.nll(noisy, tags, mask, "none"))
    assert crf.decode(emissions, mask) == crf.decode(noisy, mask)


def test_nll_has_gradients_for_all_parameters() -> None:
    crf, emissions, mask, _ = _case(7)
    emissions.requires_grad_(True)
    crf.nll(emissions, torch.zeros(emissions.shape[:2], dtype=torch.long), mask).backward()
    for p in [crf.transitions, crf.start, crf.end, emissions]:
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0


def test_rejects_bad_masks_and_shapes() -> None:
    crf = CRF(3)
    emissions = torch.randn(2, 3, 3)
    with pytest.raises(ValueError, match="left-aligned"):
        crf.decode(emissions, torch.tensor([[True, True, True], [False, True, True]]))
    with pytest.raises(ValueError, match="bool"):
        crf.decode(emissions, torch.ones(2, 3))
    with pytest.raises(ValueError, match=r"\[batch, seq, 3\]"):
        crf.decode(torch.randn(2, 3, 4), torch.ones(2, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="reduction"):
        crf.nll(emissions, torch.zeros(2, 3, dtype=torch.long), torch.ones(2, 3, dtype=torch.bool), "avg")
