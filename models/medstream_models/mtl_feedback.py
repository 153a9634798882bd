"""MTL-feedback: joint recognition (MER) and normalization (MEN) with explicit feedback.

Zhao, Liu, Zhao, Wang, AAAI 2019 (docs/models.md §1). Both tasks label the same tokens:

- x_i = E(w_i) ◦ CharCNN(w_i)            (◦ = concatenation; char emb 30, dropout before the CNN)
- v = BiLSTM(dropout(x)), then dropout   (padding-safe encoder from tagger.py)
- feedback (``feedback = true``), two passes over the *same* heads:
    pass 1: y^MER = log_softmax(f_MER(v ◦ (v + u^MEN U))), y^MEN = log_softmax(f_MEN(v ◦ (v + u^MER V)))
            with u the uniform distribution 1/|L| of the other task ("first step");
    pass 2: v^MER = v ◦ (v + y^MEN U), v^MEN = v ◦ (v + y^MER V) → f_MER, f_MEN.
  Without feedback the heads read v directly (one pass).
- f_MER: linear emissions + CRF (decoded outside the graph). f_MEN: linear + log-softmax over
  concept tags (B-/I-<concept>, O); no CRF (|L_MEN| is 1.5k-2.7k: a CRF's K^2 transitions per
  token cost far more than the rest of the model, see models/README.md).

The graph maps (word_ids [B,T], char_ids [B,T,C], lengths [B]) to ``mer_emissions`` [B,T,|L_MER|]
(unnormalised CRF emissions) and ``men_scores`` [B,T,|L_MEN|] (log-probabilities). Outputs of a
sentence's real tokens do not depend on padding, so sentences may be batched freely.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .crf import CRF
from .tagger import CharCNN, MaskedBiLSTM, lengths_to_mask

TASKS = ("mer", "men")


class MTLFeedback(nn.Module):
    def __init__(
        self,
        *,
        word_vocab: int,
        char_vocab: int,
        num_mer: int,
        num_men: int,
        word_dim: int = 100,
        char_dim: int = 30,
        char_filters: int = 50,
        char_kernel: int = 3,
        hidden: int = 100,
        layers: int = 1,
        dropout: float = 0.5,
        char_dropout: float = 0.5,
        feedback: bool = True,
        use_men: bool = True,
    ) -> None:
        super().__init__()
        if feedback and not use_men:
            raise ValueError("feedback needs both tasks (use_men = true)")
        self.num_mer = num_mer
        self.num_men = num_men
        self.feedback = feedback
        self.use_men = use_men
        self.word_embed = nn.Embedding(word_vocab, word_dim, padding_idx=0)
        self.chars = CharCNN(char_vocab, char_dim, char_filters, char_kernel, char_dropout)
        self.input_dropout = nn.Dropout(dropout)
        self.encoder = MaskedBiLSTM(word_dim + self.chars.out_dim, hidden, layers, dropout)
        self.output_dropout = nn.Dropout(dropout)
        d = self.encoder.out_dim
        head_in = 2 * d if feedback else d
        self.mer_head = nn.Linear(head_in, num_mer)
        self.crf = CRF(num_mer)
        if use_men:
            self.men_head = nn.Linear(head_in, num_men)
        if feedback:
            # U: |L_MEN| x d feeds MEN's log-probabilities into MER; V: |L_MER| x d the reverse.
            # Zero init: the feedback starts as v ◦ v and is learnt from there (log-probabilities
            # over thousands of labels are large negative numbers).
            self.U = nn.Parameter(torch.zeros(num_men, d))
            self.V = nn.Parameter(torch.zeros(num_mer, d))

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        """Parameters that only ``task`` updates (its head; U for MER, V for MEN)."""
        if task == "mer":
            params = [*self.mer_head.parameters(), *self.crf.parameters()]
            if self.feedback:
                params.append(self.U)
            return params
        if task == "men":
            params = [*self.men_head.parameters()] if self.use_men else []
            if self.feedback:
                params.append(self.V)
            return params
        raise ValueError(f"unknown task {task!r}")

    def encode(self, word_ids: Tensor, char_ids: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        mask = lengths_to_mask(lengths, word_ids.size(1))
        x = torch.cat([self.word_embed(word_ids), self.chars(char_ids)], dim=2)
        v = self.output_dropout(self.encoder(self.input_dropout(x), lengths, mask))
        return v, mask

    def heads(self, v: Tensor) -> tuple[Tensor, Tensor | None, Tensor | None, Tensor | None]:
        """(final MER emissions, final MEN log-probs, first-pass MER emissions, first-pass MEN
        log-probs); first-pass outputs are None without feedback, MEN outputs None without MEN."""
        if not self.feedback:
            mer = self.mer_head(v)
            men = F.log_softmax(self.men_head(v), dim=-1) if self.use_men else None
            return mer, men, None, None
        # Pass 1: the other task's distribution is uniform (log-probabilities log 1/|L|).
        uni_men = torch.full((1, 1, self.num_men), -math.log(self.num_men), dtype=v.dtype, device=v.device)
        uni_mer = torch.full((1, 1, self.num_mer), -math.log(self.num_mer), dtype=v.dtype, device=v.device)
        mer1 = self.mer_head(torch.cat([v, v + self._fb_men(uni_men).expand_as(v)], dim=2))
        men1_in = torch.cat([v, v + self._fb_mer(uni_mer).expand_as(v)], dim=2)
        men1 = F.log_softmax(self.men_head(men1_in), dim=-1)
        # Pass 2: the other task's first-pass log-probabilities.
        v_mer = torch.cat([v, v + self._fb_men(men1)], dim=2)
        v_men = torch.cat([v, v + self._fb_mer(F.log_softmax(mer1, dim=-1))], dim=2)
        mer = self.mer_head(v_mer)
        men = F.log_softmax(self.men_head(v_men), dim=-1)
        return mer, men, mer1, men1

    def _fb_men(self, y_men: Tensor) -> Tensor:
        """y^MEN · U, scaled by 1/|L_MEN| (a reparametrisation of U: summed over thousands of
        labels, unscaled log-probabilities made each optimiser step move y·U by ~|L|·lr and
        training diverged)."""
        return torch.matmul(y_men, self.U) / self.num_men

    def _fb_mer(self, y_mer: Tensor) -> Tensor:
        """y^MER · V, scaled by 1/|L_MER| like :meth:`_fb_men`."""
        return torch.matmul(y_mer, self.V) / self.num_mer

    def forward(self, word_ids: Tensor, char_ids: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """``mer_emissions`` [B, T, |L_MER|] and ``men_scores`` [B, T, |L_MEN|] (log-probs)."""
        v, _ = self.encode(word_ids, char_ids, lengths)
        mer, men, _, _ = self.heads(v)
        if men is None:
            men = torch.zeros(mer.shape[:2] + (self.num_men,), dtype=mer.dtype, device=mer.device)
        return mer, men

    def loss(
        self,
        task: str,
        word_ids: Tensor,
        char_ids: Tensor,
        lengths: Tensor,
        tags: Tensor,
        first_pass_weight: float = 0.5,
    ) -> Tensor:
        """Loss of one task on a batch: MER = CRF NLL, MEN = token cross-entropy (mean over
        tokens). With feedback, the first-pass prediction of the same task is trained too
        (token cross-entropy, weighted), so the fed-back distributions are meaningful."""
        v, mask = self.encode(word_ids, char_ids, lengths)
        mer, men, mer1, men1 = self.heads(v)
        if task == "mer":
            loss = self.crf.nll(mer, tags, mask)
            if mer1 is not None:
                loss = loss + first_pass_weight * _token_nll(F.log_softmax(mer1, dim=-1), tags, mask) * (
                    mask.sum() / mask.size(0)
                )
            return loss
        if task == "men":
            if men is None:
                raise ValueError("this model has no MEN head")
            loss = _token_nll(men, tags, mask)
            if men1 is not None:
                loss = loss + first_pass_weight * _token_nll(men1, tags, mask)
            return loss
        raise ValueError(f"unknown task {task!r}")

    @torch.no_grad()
    def predict(
        self, word_ids: Tensor, char_ids: Tensor, lengths: Tensor
    ) -> tuple[Tensor, Tensor, list[list[int]], list[list[int]]]:
        """Outputs, Viterbi MER tag ids and argmax MEN label ids (each as long as its sentence)."""
        mer, men = self(word_ids, char_ids, lengths)
        mask = lengths_to_mask(lengths, word_ids.size(1))
        mer_tags = self.crf.decode(mer, mask)
        men_arg = men.argmax(dim=2).tolist()
        men_tags = [row[: int(n)] for row, n in zip(men_arg, lengths.tolist(), strict=True)]
        return mer, men, mer_tags, men_tags


def _token_nll(logp: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
    nll = -logp.gather(2, tags.unsqueeze(2)).squeeze(2)
    maskf = mask.to(logp.dtype)
    return (nll * maskf).sum() / maskf.sum().clamp_min(1.0)


def init_embeddings(embed: nn.Embedding, vectors: dict[int, Tensor] | None, seed: int) -> int:
    """Uniform(-sqrt(3/d), sqrt(3/d)) init, overwritten by ``vectors`` (id -> vector); pad = 0.
    Returns how many rows came from ``vectors``."""
    d = embed.embedding_dim
    g = torch.Generator().manual_seed(seed)
    bound = math.sqrt(3.0 / d)
    with torch.no_grad():
        embed.weight.copy_(torch.rand(embed.weight.shape, generator=g) * 2 * bound - bound)
        n = 0
        if vectors:
            for i, vec in vectors.items():
                embed.weight[i] = vec
                n += 1
        embed.weight[0] = 0.0
    return n
