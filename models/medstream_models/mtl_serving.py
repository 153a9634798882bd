"""Serving form of a trained MTL-feedback model: the same function, with the heads folded.

Training keeps :class:`~medstream_models.mtl_feedback.MTLFeedback` as it is (two passes over
shared heads, the feedback matrices U and V learnt in that form). For inference every linear
map that only ever meets another linear map or a constant is multiplied out once, in float64,
here. Per token v ∈ R^d (d = encoder width), with the head weights split by input half,
``W = [A | B]`` (``head(v ◦ (v + x)) = (A + B) v + B x + b``), S = A + B, |L| MEN labels and
|M| MER labels:

- pass 1 feeds back uniform distributions, so its x are constants:
  ``z1 = S_men v + k1`` with ``k1 = B_men (log(1/|M|) 1ᵀV / |M|) + b_men``, and
  ``mer1 = S_mer v + B_mer (log(1/|L|) 1ᵀU / |L|) + b_mer``;
- pass 2 of MEN reads ``fb_mer(lm1) = lm1 V / |M|`` with ``lm1 = log_softmax(mer1)`` (|M| = 5):
  ``z2 = S_men v + H lm1 + b_men`` with ``H = B_men Vᵀ / |M|`` (|L| × |M|), so the product
  ``S_men v`` is computed once and shared by both passes (``z2 = z1 + H lm1 + b_men − k1``);
- pass 2 of MER reads ``fb_men(men1) = men1 U / |L|`` with ``men1 = z1 − lse(z1)``; with
  ``Q = U B_merᵀ / |L|`` (|L| × |M|), ``B_mer fb_men(men1) = Qᵀ z1 − lse(z1) Qᵀ1``, and
  ``Qᵀ z1 = (S_menᵀ Q)ᵀ v + Qᵀ k1``: the |L| × d feedback product becomes d × |M| weights plus
  one scalar per token, ``lse(z1)``, which needs z1 (computed anyway).

So the per-token cost of the heads drops from three |L|-row products (two over 2d inputs, one
|L| × d) to one |L| × d product, plus an |L| × (|M| + 1) one and the two log-sum-exps over |L|
that the contract itself needs (pass 1's normaliser and the final log-softmax). Outputs equal
the training module's up to float32 rounding (checked on every export, see mtl_export.py).

The character CNN is folded the same way (:class:`GatherCharFeatures`: its convolution over
embedded characters becomes per-character table look-ups); the word embeddings and the BiLSTM
are the trained modules themselves, in eval mode.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .mtl_feedback import MTLFeedback
from .synthetic import PAD
from .tagger import _MASKED, CharCNN, lengths_to_mask


class GatherCharFeatures(nn.Module):
    """A :class:`CharCNN` (odd kernel, "same" padding) as table look-ups: the convolution is
    linear in one-hot characters, so ``conv(embed(ids))[c] = b + Σ_k T_k[ids[c + k − p]]`` with
    ``T_k = embed · W[:, :, k]ᵀ`` (|chars| × filters, p = kernel // 2). Per character that is
    ``kernel`` row look-ups and adds instead of ``kernel · char_dim · filters`` multiply-adds.
    An extra all-zero row stands for the convolution's own zero padding (which is not the pad
    character's embedding); masking and max-pooling are the CharCNN's."""

    def __init__(self, chars: CharCNN) -> None:
        super().__init__()
        conv = chars.conv
        kernel = conv.kernel_size[0]
        if kernel % 2 != 1 or conv.padding != (kernel // 2,) or conv.stride != (1,) or conv.dilation != (1,):
            raise ValueError("only odd kernels with 'same' padding, stride 1 and no dilation are folded")
        self.kernel = kernel
        self.pad = kernel // 2
        self.filters = chars.out_dim
        with torch.no_grad():
            emb = chars.embed.weight.to(torch.float64)  # V × D
            w = conv.weight.to(torch.float64)  # F × D × K
            tables = torch.einsum("vd,fdk->kvf", emb, w)  # K × V × F
            if conv.bias is not None:
                tables[self.pad] += conv.bias.to(torch.float64)
            zero = torch.zeros(kernel, 1, self.filters, dtype=torch.float64)
            tables = torch.cat([tables, zero], dim=1)  # row V: the convolution's zero padding
        self.outside = int(emb.size(0))
        for k in range(kernel):
            self.register_buffer(f"table{k}", tables[k].to(torch.float32).contiguous())

    def forward(self, char_ids: Tensor) -> Tensor:
        """[B, T, C] char ids -> [B, T, filters]; all-padding words give zeros."""
        b, t, c = char_ids.size(0), char_ids.size(1), char_ids.size(2)
        flat = char_ids.reshape(-1, c)  # [B*T, C]
        real = flat != PAD
        # [B*T, C + kernel - 1]; built with Concat, not F.pad, whose exported pads are computed
        # through a chain that ONNX shape inference cannot follow.
        edge = torch.full_like(flat[:, :1], self.outside)
        padded = torch.cat([edge] * self.pad + [flat] + [edge] * self.pad, dim=1)
        # Tap k reads characters c + k - p, c = 0..C-1. Constant slice bounds (an end counted from
        # the back) keep the shapes inferable for ONNX shape inference and the FLOP counter.
        x = F.embedding(self._tap(padded, 0), self.table0)
        for k in range(1, self.kernel):
            x = x + F.embedding(self._tap(padded, k), getattr(self, f"table{k}"))
        x = x.masked_fill(~real.unsqueeze(2), _MASKED)  # [B*T, C, F]
        pooled: Tensor = x.max(dim=1)[0]
        pooled = pooled.masked_fill(~real.any(dim=1, keepdim=True), 0.0)
        return pooled.reshape(b, t, self.filters)

    def _tap(self, padded: Tensor, k: int) -> Tensor:
        back = self.kernel - 1 - k
        return padded[:, k:-back] if back > 0 else padded[:, k:]


class FoldedMTLFeedback(nn.Module):
    """Inference-only equivalent of a trained feedback :class:`MTLFeedback` (same inputs and
    outputs as its ``forward``). Built by :func:`fold_feedback`."""

    def __init__(self, model: MTLFeedback) -> None:
        super().__init__()
        if not (model.feedback and model.use_men):
            raise ValueError("only a model with feedback and both tasks has heads to fold")
        self.num_mer = model.num_mer
        self.num_men = model.num_men
        # The trained embeddings and BiLSTM, shared (not copied): eval mode makes the dropouts
        # identities.
        self.word_embed = model.word_embed
        self.chars = GatherCharFeatures(model.chars)
        self.encoder = model.encoder
        w = _folded_weights(model)
        f32 = {k: t.to(torch.float32).contiguous() for k, t in w.items()}
        # d × |L|: the one large product, shared by both MEN passes.
        self.register_buffer("men_weight", f32["men_weight"])
        self.register_buffer("men_bias1", f32["men_bias1"])
        # (|M| + 1) × |L|: pass-2 MEN correction from [lm1, 1].
        self.register_buffer("men_feedback", f32["men_feedback"])
        # d × 2|M|: [pass-1 MER | pass-2 MER before the lse(z1) term], with their biases.
        self.register_buffer("mer_weight", f32["mer_weight"])
        self.register_buffer("mer_bias", f32["mer_bias"])
        # |M|: coefficient of −lse(z1) in the pass-2 MER emissions.
        self.register_buffer("mer_lse", f32["mer_lse"])
        self.eval()

    def forward(self, word_ids: Tensor, char_ids: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """``mer_emissions`` [B, T, |L_MER|] and ``men_scores`` [B, T, |L_MEN|] (log-probs)."""
        b, t = word_ids.size(0), word_ids.size(1)
        mask = lengths_to_mask(lengths, t)
        x = torch.cat([self.word_embed(word_ids), self.chars(char_ids)], dim=2)
        # Tokens as rows of one matrix: 2-D products export as MatMul + Add (or Gemm), which
        # onnxruntime runs as one GEMM with the bias fused, and which int8 quantization handles.
        v = self.encoder(x, lengths, mask).reshape(b * t, -1)
        z1 = torch.matmul(v, self.men_weight) + self.men_bias1
        # lse(z1) = z1[j] − log_softmax(z1)[j] for any label j: onnxruntime's LogSoftmax is several
        # times faster than its ReduceLogSumExp. j = 0 (the label "O", the most probable one for
        # most tokens, so both terms stay small and float32 cancellation with them).
        lse1 = z1[:, :1] - F.log_softmax(z1, dim=-1)[:, :1]
        small = torch.matmul(v, self.mer_weight) + self.mer_bias
        lm1 = F.log_softmax(small[:, : self.num_mer], dim=-1)
        # z2 = z1 + [lm1, 1] · men_feedback, as one Gemm that accumulates onto z1.
        z2 = torch.addmm(z1, torch.cat([lm1, torch.ones_like(lse1)], dim=1), self.men_feedback)
        # Reshape before the last operator, so that it writes straight into the output (a reshape
        # of a graph output would be a copy of [tokens, |L|]).
        men = F.log_softmax(z2.reshape(b, t, self.num_men), dim=-1)
        mer = (small[:, self.num_mer :] - lse1 * self.mer_lse).reshape(b, t, self.num_mer)
        return mer, men


@torch.no_grad()
def _folded_weights(model: MTLFeedback) -> dict[str, Tensor]:
    """The folded weights, computed in float64 (see the module docstring for the algebra)."""
    dd = torch.float64
    d = model.encoder.out_dim
    n_mer, n_men = model.num_mer, model.num_men
    w_mer = model.mer_head.weight.to(dd)
    b_mer = model.mer_head.bias.to(dd)
    w_men = model.men_head.weight.to(dd)
    b_men = model.men_head.bias.to(dd)
    u = model.U.to(dd)  # |L| × d
    v_fb = model.V.to(dd)  # |M| × d
    a_mer, bm_mer = w_mer[:, :d], w_mer[:, d:]
    a_men, bm_men = w_men[:, :d], w_men[:, d:]
    s_mer = a_mer + bm_mer  # |M| × d
    s_men = a_men + bm_men  # |L| × d
    # Pass-1 feedback of a uniform distribution: log(1/|L|) 1ᵀU / |L| (as _fb_men computes it).
    fb_uniform_men = -math.log(n_men) * u.sum(0) / n_men
    fb_uniform_mer = -math.log(n_mer) * v_fb.sum(0) / n_mer
    k_mer1 = bm_mer @ fb_uniform_men + b_mer  # |M|
    k_men1 = bm_men @ fb_uniform_mer + b_men  # |L|
    h = bm_men @ v_fb.T / n_mer  # |L| × |M|
    q = u @ bm_mer.T / n_men  # |L| × |M|
    mer2_weight = s_mer.T + s_men.T @ q  # d × |M|
    mer2_bias = b_mer + k_men1 @ q  # |M|
    return {
        "men_weight": s_men.T,
        "men_bias1": k_men1,
        "men_feedback": torch.cat([h.T, (b_men - k_men1).unsqueeze(0)], dim=0),
        "mer_weight": torch.cat([s_mer.T, mer2_weight], dim=1),
        "mer_bias": torch.cat([k_mer1, mer2_bias]),
        "mer_lse": q.sum(0),
    }


def fold_feedback(model: MTLFeedback) -> FoldedMTLFeedback:
    """The serving form of ``model`` (which must have feedback and both tasks)."""
    return FoldedMTLFeedback(model.cpu().eval())


__all__ = ["FoldedMTLFeedback", "fold_feedback"]
