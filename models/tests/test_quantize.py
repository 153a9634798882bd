"""int8 variants (quantize.py): which nodes are quantized, the float Gemm that onnxruntime's
tool splits is put back, the LSTM variant loads, the variant directory and manifest are
complete, and its outputs stay close to (but are not) the float model's."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest

from medstream_models.mtl_export import INPUTS, OUTPUTS, export_served
from medstream_models.quantize import large_matmuls, quantize_model, quantize_served
from medstream_models.train_mtl import MTLConfig, train

ort = pytest.importorskip("onnxruntime", reason="bash scripts/python-env.sh setup installs onnxruntime")


@pytest.fixture(scope="module")
def served(tiny_root: Path, mtl_cfg: Callable[..., MTLConfig]) -> Path:
    cfg = mtl_cfg(epochs=2)
    model, prep, result = train(cfg, tiny_root, tiny_root / "run-quant", log=lambda m: None)
    out = tiny_root / "served-float"
    export_served(model, cfg, prep, result, out, tiny_root)
    return out


def _run(path: Path, case: dict) -> list[np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    n = len(case["word_ids"])
    w = np.asarray([case["word_ids"]], dtype=np.int64)
    c = np.zeros((1, n, max(len(x) for x in case["char_ids"])), dtype=np.int64)
    for t, ids in enumerate(case["char_ids"]):
        c[0, t, : len(ids)] = ids
    return session.run(OUTPUTS, dict(zip(INPUTS, (w, c, np.asarray([n], dtype=np.int64)), strict=True)))


def test_only_large_matmuls_are_selected(served: Path) -> None:
    model = onnx.load(str(served / "model.onnx"))
    weights = {i.name: int(np.prod(i.dims)) for i in model.graph.initializer}
    men = weights["men_weight"]
    assert large_matmuls(model, men) == ["/MatMul"]  # the shared d × |L_MEN| product
    assert len(large_matmuls(model, 1)) == 2  # and the small MER product
    assert large_matmuls(model, men + 1) == []


def test_variant_directory_and_manifest(served: Path, tmp_path: Path) -> None:
    out = tmp_path / "tiny-int8"
    manifest = quantize_served(served, out, min_weight_elements=1)
    float_manifest = json.loads((served / "manifest.json").read_text())
    assert manifest["name"] == f"{float_manifest['name']}-int8"
    assert manifest["version"] == float_manifest["version"]
    assert manifest["tasks"] == float_manifest["tasks"]
    assert manifest["preprocessing"] == float_manifest["preprocessing"]
    q = manifest["quantization"]
    assert q["integer_ops"] == ["MatMulInteger"] and q["reduce_range"] is True
    assert q["restored_float_gemms"] == 1
    assert q["source"]["dir"] == served.name
    assert q["source"]["onnx_sha256"] == float_manifest["onnx"]["sha256"]
    for vocab in ("words.txt", "chars.txt"):
        assert (out / vocab).read_bytes() == (served / vocab).read_bytes()
    assert not (out / "parity.json").exists() and "parity" not in manifest
    assert json.loads((out / "manifest.json").read_text()) == manifest
    graph = onnx.load(str(out / "model.onnx")).graph
    ops = [n.op_type for n in graph.node]
    assert ops.count("MatMulInteger") == 2 and "Gemm" in ops
    assert not any(n.name.endswith("_MatMul") or n.name.endswith("_Add") for n in graph.node)
    check = q["check"]
    assert check["sentences"] == 4 and 0.0 <= check["mer_tag_agreement"] <= 1.0
    with pytest.raises(ValueError, match="already quantized"):
        quantize_served(out, tmp_path / "again")


def test_int8_outputs_are_close_to_float_but_not_equal(served: Path, tmp_path: Path) -> None:
    out = tmp_path / "tiny-int8"
    quantize_served(served, out, min_weight_elements=1)
    case = json.loads((served / "parity.json").read_text())["cases"][0]
    f_mer, f_men = _run(served / "model.onnx", case)
    q_mer, q_men = _run(out / "model.onnx", case)
    for f, q in ((f_mer, q_mer), (f_men, q_men)):
        diff = float(np.abs(f - q).max())
        spread = float(f.max() - f.min())
        assert 0.0 < diff < 0.1 * spread, (diff, spread)
    assert np.allclose(np.exp(q_men).sum(-1), 1.0, atol=1e-4)  # still log-probabilities


def test_lstm_variant_loads_and_runs(served: Path, tmp_path: Path) -> None:
    dst = tmp_path / "lstm.onnx"
    info = quantize_model(served / "model.onnx", dst, lstm=True, min_weight_elements=1)
    assert info["integer_ops"] == ["DynamicQuantizeLSTM", "MatMulInteger"]
    lstms = [n for n in onnx.load(str(dst)).graph.node if n.op_type == "DynamicQuantizeLSTM"]
    assert lstms and all(a.name != "layout" for n in lstms for a in n.attribute)
    case = json.loads((served / "parity.json").read_text())["cases"][1]
    mer, men = _run(dst, case)
    assert mer.shape[1] == len(case["word_ids"]) and np.isfinite(men).all()


def test_a_graph_without_large_products_is_refused(served: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no MatMul"):
        quantize_model(served / "model.onnx", tmp_path / "x.onnx", min_weight_elements=10**9)
