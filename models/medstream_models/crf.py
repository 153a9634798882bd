"""Linear-chain CRF: negative log-likelihood by the forward algorithm and Viterbi decoding.

Scores: ``start[y_1] + sum_t emissions[t, y_t] + sum_t transitions[y_{t-1}, y_t] + end[y_n]``,
so ``transitions[i, j]`` is the score of moving *from* tag ``i`` *to* tag ``j``. The served
model exports only the emissions; the TypeScript decoder reads ``transitions``, ``start`` and
``end`` from the manifest and must use this same layout.

Masks are left-aligned: ``mask[b, :length_b]`` is true and the rest false, and every sequence
has at least one token. Written against APIs that behave the same on torch 1.13 and 2.x.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class CRF(nn.Module):
    def __init__(self, num_tags: int) -> None:
        super().__init__()
        if num_tags < 1:
            raise ValueError(f"num_tags must be >= 1, got {num_tags}")
        self.num_tags = num_tags
        self.transitions = nn.Parameter(torch.empty(num_tags, num_tags))
        self.start = nn.Parameter(torch.empty(num_tags))
        self.end = nn.Parameter(torch.empty(num_tags))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.uniform_(self.transitions, -0.1, 0.1)
        nn.init.uniform_(self.start, -0.1, 0.1)
        nn.init.uniform_(self.end, -0.1, 0.1)

    def extra_repr(self) -> str:
        return f"num_tags={self.num_tags}"

    def _validate(self, emissions: Tensor, mask: Tensor, tags: Tensor | None = None) -> None:
        if emissions.dim() != 3 or emissions.size(2) != self.num_tags:
            raise ValueError(f"emissions must be [batch, seq, {self.num_tags}], got {tuple(emissions.shape)}")
        if mask.shape != emissions.shape[:2] or mask.dtype != torch.bool:
            raise ValueError(
                f"mask must be a bool tensor of shape {tuple(emissions.shape[:2])}, "
                f"got {mask.dtype} {tuple(mask.shape)}"
            )
        if tags is not None and tags.shape != emissions.shape[:2]:
            raise ValueError(f"tags must have shape {tuple(emissions.shape[:2])}, got {tuple(tags.shape)}")
        if emissions.size(1) == 0 or not bool(mask[:, 0].all()):
            raise ValueError("every sequence needs at least one token and a left-aligned mask")

    def score(self, emissions: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """Unnormalised score of the given tag paths, shape [batch]."""
        self._validate(emissions, mask, tags)
        maskf = mask.to(emissions.dtype)
        emit = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)  # [B, T]
        total = self.start[tags[:, 0]] + (emit * maskf).sum(1)
        trans = self.transitions[tags[:, :-1], tags[:, 1:]]  # [B, T-1]
        total = total + (trans * maskf[:, 1:]).sum(1)
        lengths = mask.long().sum(1)
        last = tags.gather(1, (lengths - 1).unsqueeze(1)).squeeze(1)
        return total + self.end[last]

    def log_partition(self, emissions: Tensor, mask: Tensor) -> Tensor:
        """log Z per sequence by the forward algorithm, shape [batch]."""
        self._validate(emissions, mask)
        alpha = self.start.unsqueeze(0) + emissions[:, 0]  # [B, K]
        for t in range(1, emissions.size(1)):
            # [B, K_from, 1] + [K_from, K_to] + [B, 1, K_to] -> logsumexp over K_from
            nxt = torch.logsumexp(
                alpha.unsqueeze(2) + self.transitions.unsqueeze(0) + emissions[:, t].unsqueeze(1),
                dim=1,
            )
            alpha = torch.where(mask[:, t].unsqueeze(1), nxt, alpha)
        return torch.logsumexp(alpha + self.end.unsqueeze(0), dim=1)

    def nll(self, emissions: Tensor, tags: Tensor, mask: Tensor, reduction: str = "mean") -> Tensor:
        """Negative log-likelihood of ``tags``; ``reduction`` is mean, sum or none."""
        per_seq = self.log_partition(emissions, mask) - self.score(emissions, tags, mask)
        if reduction == "mean":
            return per_seq.mean()
        if reduction == "sum":
            return per_seq.sum()
        if reduction == "none":
            return per_seq
        raise ValueError(f"reduction must be mean, sum or none, got {reduction!r}")

    @torch.no_grad()
    def decode(self, emissions: Tensor, mask: Tensor) -> list[list[int]]:
        """Best tag path per sequence (Viterbi), each as long as its mask."""
        self._validate(emissions, mask)
        score = self.start.unsqueeze(0) + emissions[:, 0]
        history: list[Tensor] = []
        for t in range(1, emissions.size(1)):
            cand = score.unsqueeze(2) + self.transitions.unsqueeze(0) + emissions[:, t].unsqueeze(1)
            best, back = cand.max(dim=1)  # over the previous tag
            score = torch.where(mask[:, t].unsqueeze(1), best, score)
            history.append(back)
        score = score + self.end.unsqueeze(0)
        lengths = mask.long().sum(1).tolist()
        last = score.argmax(dim=1).tolist()
        hist = [h.cpu() for h in history]
        paths: list[list[int]] = []
        for b, (length, tag) in enumerate(zip(lengths, last, strict=True)):
            path = [int(tag)]
            for t in range(int(length) - 1, 0, -1):
                tag = int(hist[t - 1][b, tag])
                path.append(tag)
            path.reverse()
            paths.append(path)
        return paths
