"""The folded serving form (mtl_serving.py) computes the training module's function: random
small models (every weight random, feedback matrices included), random inputs with padding,
through PyTorch and through the exported ONNX graph; and the export refuses a served module
that differs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from medstream_models.export import export_onnx
from medstream_models.flops import count_flops
from medstream_models.mtl_export import DYNAMIC, INPUTS, OUTPUTS, check_serving, export_served, serving_module
from medstream_models.mtl_feedback import MTLFeedback
from medstream_models.mtl_serving import FoldedMTLFeedback, GatherCharFeatures, fold_feedback
from medstream_models.tagger import CharCNN
from medstream_models.train_mtl import MTLConfig, train

ATOL = 1e-5


def _random_model(
    seed: int, *, feedback: bool = True, kernel: int = 3, zero_feedback: bool = False
) -> MTLFeedback:
    torch.manual_seed(seed)
    model = MTLFeedback(
        word_vocab=30,
        char_vocab=15,
        num_mer=5,
        num_men=23,
        word_dim=6,
        char_dim=4,
        char_filters=5,
        char_kernel=kernel,
        hidden=7,
        layers=2,
        feedback=feedback,
    )
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith("crf."):
                continue
            p.normal_(0.0, 0.6)  # every weight random, the pad embeddings and U, V included
        if feedback and zero_feedback:
            model.U.zero_()
            model.V.zero_()
    return model.eval()


def _inputs(seed: int, batch: int = 4, seq: int = 7, chars: int = 5) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    w = torch.randint(1, 30, (batch, seq), generator=g)
    c = torch.randint(1, 15, (batch, seq, chars), generator=g)
    lengths = torch.randint(1, seq + 1, (batch,), generator=g)
    lengths[0] = seq
    for b, n in enumerate(lengths.tolist()):
        w[b, n:] = 0
        c[b, n:] = 0
        for t in range(n):  # words of 1..chars characters, padded after their end
            c[b, t, int(torch.randint(1, chars + 1, (1,), generator=g)) :] = 0
    return w, c, lengths


def _real(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    return torch.cat([x[b, :n] for b, n in enumerate(lengths.tolist())])


@pytest.mark.parametrize("zero_feedback", [False, True], ids=["feedback", "feedback-weights-zero"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_folded_equals_training_module(seed: int, zero_feedback: bool) -> None:
    model = _random_model(seed, zero_feedback=zero_feedback)
    folded = fold_feedback(model)
    for k in range(3):
        w, c, lengths = _inputs(100 * seed + k)
        with torch.no_grad():
            ref = model(w, c, lengths)
            got = folded(w, c, lengths)
        for r, g in zip(ref, got, strict=True):
            assert g.shape == r.shape
            diff = float((_real(g, lengths) - _real(r, lengths)).abs().max())
            assert diff <= ATOL, diff


def test_feedback_weights_matter_and_are_folded() -> None:
    """Guards against a fold that ignores U or V: changing them changes the folded outputs as it
    changes the training module's, by the same amounts."""
    model = _random_model(3)
    w, c, lengths = _inputs(9)
    before = fold_feedback(model)(w, c, lengths)
    with torch.no_grad():
        model.U.mul_(3.0)
        model.V.mul_(-2.0)
        ref = model(w, c, lengths)
    after = fold_feedback(model)(w, c, lengths)
    for b, a, r in zip(before, after, ref, strict=True):
        assert float((_real(a, lengths) - _real(b, lengths)).abs().max()) > 1e-2
        assert float((_real(a, lengths) - _real(r, lengths)).abs().max()) <= ATOL


def test_models_without_feedback_are_served_unfolded() -> None:
    model = _random_model(4, feedback=False)
    with pytest.raises(ValueError, match="feedback"):
        fold_feedback(model)
    served, form = serving_module(model)
    assert served is model and form == "training-module"
    served, form = serving_module(_random_model(4))
    assert isinstance(served, FoldedMTLFeedback) and form == "folded-feedback"


@pytest.mark.parametrize("kernel", [1, 3, 5])
def test_char_tables_equal_the_char_cnn(kernel: int) -> None:
    torch.manual_seed(kernel)
    cnn = CharCNN(vocab=15, dim=4, filters=6, kernel=kernel, dropout=0.5).eval()
    with torch.no_grad():
        cnn.embed.weight.normal_()  # a non-zero pad embedding: the conv's own padding is zeros
    tables = GatherCharFeatures(cnn)
    _, c, _ = _inputs(kernel, batch=3, seq=6, chars=7)
    c[1, 2] = 0  # an all-padding word in the middle
    with torch.no_grad():
        assert torch.allclose(tables(c), cnn(c), atol=ATOL)
        assert float(tables(c)[1, 2].abs().max()) == 0.0


def test_even_char_kernels_are_refused() -> None:
    with pytest.raises(ValueError, match="odd"):
        GatherCharFeatures(CharCNN(vocab=15, dim=4, filters=6, kernel=2, dropout=0.0))


def test_exported_folded_graph_matches_and_is_cheaper(tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime", reason="bash scripts/python-env.sh setup installs onnxruntime")
    model = _random_model(5)
    folded = fold_feedback(model)
    kwargs = {"input_names": INPUTS, "output_names": OUTPUTS, "dynamic_axes": DYNAMIC}
    path = export_onnx(folded, _inputs(1, batch=2, seq=5, chars=4), tmp_path / "folded.onnx", **kwargs)
    plain = export_onnx(model, _inputs(1, batch=2, seq=5, chars=4), tmp_path / "plain.onnx", **kwargs)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    w, c, lengths = _inputs(77, batch=5, seq=9, chars=6)  # other sizes than the export's
    got = session.run(OUTPUTS, {"word_ids": w.numpy(), "char_ids": c.numpy(), "lengths": lengths.numpy()})
    with torch.no_grad():
        ref = model(w, c, lengths)
    for r, g in zip(ref, got, strict=True):
        diff = float((_real(torch.from_numpy(g), lengths) - _real(r, lengths)).abs().max())
        assert diff <= ATOL, diff
    graph = onnx.load(str(path)).graph
    assert not any(n.op_type == "Conv" for n in graph.node)
    # no 2d-input head weights are left: the largest product reads the d-dimensional encoding
    d = model.encoder.out_dim
    assert all(2 * d not in list(i.dims) for i in graph.initializer if len(i.dims) == 2 and 23 in i.dims)
    dims = {"batch": 1, "seq": 10, "chars": 6}
    cheap, dear = count_flops(onnx.load(str(path)), dims), count_flops(onnx.load(str(plain)), dims)
    assert cheap.unresolved == [] and dear.unresolved == []
    assert cheap.by_op.get("MatMul", 0) + cheap.by_op.get("Gemm", 0) < 0.5 * dear.by_op["MatMul"]


def test_check_serving_rejects_a_different_function() -> None:
    model = _random_model(6)
    folded = fold_feedback(model)
    batch = _inputs(3)
    report = check_serving(model, folded, None, batch)
    assert report["torch"]["men_max_abs_diff"] <= ATOL
    with torch.no_grad():
        folded.men_feedback[0, 0] += 0.01  # a tiny change in one folded weight
    with pytest.raises(AssertionError, match="differs from the training module"):
        check_serving(model, folded, None, batch)


def test_export_records_the_serving_form(tiny_root: Path, mtl_cfg: Callable[..., MTLConfig]) -> None:
    cfg = mtl_cfg(epochs=1)
    model, prep, result = train(cfg, tiny_root, tiny_root / "run-serving", log=lambda m: None)
    manifest = export_served(model, cfg, prep, result, tiny_root / "served-folded", tiny_root)
    serving = manifest["serving"]
    assert serving["form"] == "folded-feedback"
    check = serving["check"]
    assert check["tokens"] > 0 and check["torch"]["men_max_abs_diff"] <= check["atol"]
    assert check["onnxruntime"]["mer_max_abs_diff"] <= check["atol"]
    on_disk = json.loads((tiny_root / "served-folded" / "manifest.json").read_text())
    assert on_disk["serving"] == json.loads(json.dumps(serving))
    names = {i.name for i in onnx.load(str(tiny_root / "served-folded" / "model.onnx")).graph.initializer}
    assert "men_weight" in names and "U" not in names
    assert np.isfinite(check["onnxruntime"]["men_max_abs_diff"])
