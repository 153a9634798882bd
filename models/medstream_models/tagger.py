"""Char-CNN + word embedding + BiLSTM + linear emissions, with a CRF on top.

The exported graph maps (word_ids, char_ids, lengths) to emissions; the CRF is decoded outside
the graph. Emissions of a sentence's real tokens do not depend on how much padding the batch
adds (in either the token or the character axis), so a server may batch sentences freely:

- the character CNN uses a zero pad embedding and max-pools only over real characters;
- the backward LSTM reads each sentence reversed *within its length* (a gather), instead of
  ``pack_padded_sequence``, which the ONNX exporter does not handle with dynamic shapes.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .config import ModelConfig
from .crf import CRF
from .synthetic import PAD

# Below any reachable activation; finite so that masked positions never produce inf/NaN.
_MASKED = -1.0e4


def lengths_to_mask(lengths: Tensor, seq_len: int) -> Tensor:
    positions = torch.arange(seq_len, device=lengths.device).unsqueeze(0)
    return positions < lengths.unsqueeze(1)


def reverse_padded(x: Tensor, lengths: Tensor) -> Tensor:
    """Reverse each row of ``x`` [B, T, H] within its length; padded positions stay in place."""
    positions = torch.arange(x.size(1), device=x.device).unsqueeze(0)
    rev = lengths.unsqueeze(1) - 1 - positions
    index = torch.where(rev >= 0, rev, positions)
    return x.gather(1, index.unsqueeze(2).expand_as(x))


class CharCNN(nn.Module):
    def __init__(self, vocab: int, dim: int, filters: int, kernel: int, dropout: float) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim, padding_idx=PAD)
        self.dropout = nn.Dropout(dropout)
        self.conv = nn.Conv1d(dim, filters, kernel, padding=kernel // 2)
        self.out_dim = filters

    def forward(self, char_ids: Tensor) -> Tensor:
        """[B, T, C] char ids -> [B, T, filters]; all-padding words give zeros."""
        b, t, c = char_ids.size(0), char_ids.size(1), char_ids.size(2)
        flat = char_ids.reshape(-1, c)  # [B*T, C]
        real = flat != PAD
        x = self.dropout(self.embed(flat)).transpose(1, 2)  # [B*T, D, C]
        x = self.conv(x).masked_fill(~real.unsqueeze(1), _MASKED)
        pooled: Tensor = x.max(dim=2)[0]
        pooled = pooled.masked_fill(~real.any(dim=1, keepdim=True), 0.0)
        return pooled.reshape(b, t, self.out_dim)


class MaskedBiLSTM(nn.Module):
    def __init__(self, input_dim: int, hidden: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.forward_layers = nn.ModuleList()
        self.backward_layers = nn.ModuleList()
        dim = input_dim
        for _ in range(layers):
            self.forward_layers.append(nn.LSTM(dim, hidden, batch_first=True))
            self.backward_layers.append(nn.LSTM(dim, hidden, batch_first=True))
            dim = 2 * hidden
        self.dropout = nn.Dropout(dropout)
        self.out_dim = 2 * hidden

    def forward(self, x: Tensor, lengths: Tensor, mask: Tensor) -> Tensor:
        for i, (fwd, bwd) in enumerate(zip(self.forward_layers, self.backward_layers, strict=True)):
            if i > 0:
                x = self.dropout(x)
            out_f, _ = fwd(x)
            out_b, _ = bwd(reverse_padded(x, lengths))
            x = torch.cat([out_f, reverse_padded(out_b, lengths)], dim=2)
        return x * mask.unsqueeze(2).to(x.dtype)


class Tagger(nn.Module):
    def __init__(self, cfg: ModelConfig, num_tags: int) -> None:
        super().__init__()
        self.num_tags = num_tags
        self.word_embed = nn.Embedding(cfg.word_vocab_size, cfg.word_dim, padding_idx=PAD)
        self.chars = CharCNN(
            cfg.char_vocab_size, cfg.char_dim, cfg.char_filters, cfg.char_kernel, cfg.dropout
        )
        self.input_dropout = nn.Dropout(cfg.dropout)
        self.encoder = MaskedBiLSTM(cfg.word_dim + self.chars.out_dim, cfg.hidden, cfg.layers, cfg.dropout)
        self.output_dropout = nn.Dropout(cfg.dropout)
        self.emit = nn.Linear(self.encoder.out_dim, num_tags)
        self.crf = CRF(num_tags)

    def forward(self, word_ids: Tensor, char_ids: Tensor, lengths: Tensor) -> Tensor:
        """Emissions [B, T, num_tags] (float32) for int64 inputs [B, T], [B, T, C], [B]."""
        mask = lengths_to_mask(lengths, word_ids.size(1))
        x = torch.cat([self.word_embed(word_ids), self.chars(char_ids)], dim=2)
        h = self.encoder(self.input_dropout(x), lengths, mask)
        emissions: Tensor = self.emit(self.output_dropout(h))
        return emissions

    def loss(self, word_ids: Tensor, char_ids: Tensor, lengths: Tensor, tags: Tensor) -> Tensor:
        emissions = self(word_ids, char_ids, lengths)
        return self.crf.nll(emissions, tags, lengths_to_mask(lengths, word_ids.size(1)))

    @torch.no_grad()
    def decode(self, word_ids: Tensor, char_ids: Tensor, lengths: Tensor) -> tuple[Tensor, list[list[int]]]:
        emissions = self(word_ids, char_ids, lengths)
        return emissions, self.crf.decode(emissions, lengths_to_mask(lengths, word_ids.size(1)))
