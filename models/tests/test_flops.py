from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from medstream_models.flops import count_flops, main


def _model(nodes, inputs, outputs, initializers=()) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model


def _f(name: str, shape) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def _w(name: str, *shape: int) -> onnx.TensorProto:
    return numpy_helper.from_array(np.zeros(shape, dtype=np.float32), name)


def test_single_matmul_is_two_m_k_n() -> None:
    model = _model(
        [helper.make_node("MatMul", ["a", "b"], ["y"])], [_f("a", [3, 5])], [_f("y", [3, 7])], [_w("b", 5, 7)]
    )
    report = count_flops(model)
    assert report.total == 2 * 3 * 5 * 7
    assert report.by_op == {"MatMul": 210}
    mm = report.largest_matmul()
    assert mm is not None and mm.matmul == (3, 5, 7)
    assert report.unresolved == []


def test_symbolic_dims_are_bound_and_batched_matmul_counts_every_row() -> None:
    model = _model(
        [helper.make_node("MatMul", ["a", "b"], ["y"])],
        [_f("a", ["batch", "seq", 4])],
        [_f("y", ["batch", "seq", 6])],
        [_w("b", 4, 6)],
    )
    assert count_flops(model, {"batch": 2, "seq": 10}).total == 2 * 2 * 10 * 4 * 6
    with pytest.raises(ValueError, match="seq"):
        count_flops(model, {"batch": 2})


def test_gemm_conv_lstm_and_elementwise() -> None:
    nodes = [
        helper.make_node("Gemm", ["x", "gw", "gb"], ["g"], transB=1),  # [4,8] x [16,8]^T -> [4,16]
        helper.make_node("Relu", ["g"], ["r"]),  # 64 elements
        helper.make_node("LogSoftmax", ["r"], ["ls"], axis=-1),  # 5 per element
        helper.make_node("Conv", ["img", "cw", "cb"], ["c"], kernel_shape=[3], pads=[1, 1]),
        helper.make_node("LSTM", ["seq", "lw", "lr"], ["h"], hidden_size=5, direction="bidirectional"),
        helper.make_node("Shape", ["x"], ["s"]),  # integer bookkeeping: 0
        helper.make_node("Add", ["s", "s"], ["s2"]),  # int64 arithmetic: not a FLOP
    ]
    model = _model(
        nodes,
        [_f("x", [4, 8]), _f("img", [2, 3, 10]), _f("seq", [7, 2, 6])],
        [
            _f("ls", [4, 16]),
            _f("c", [2, 4, 10]),
            _f("h", [7, 2, 2, 5]),
            helper.make_tensor_value_info("s2", TensorProto.INT64, [2]),
        ],
        [_w("gw", 16, 8), _w("gb", 16), _w("cw", 4, 3, 3), _w("cb", 4), _w("lw", 2, 20, 6), _w("lr", 2, 20, 5)],
    )
    report = count_flops(model)
    gemm = 2 * 4 * 8 * 16 + 4 * 16
    conv = 2 * (2 * 4 * 10) * (3 * 3) + 2 * 4 * 10
    lstm = 7 * 2 * 2 * (2 * 4 * 5 * (6 + 5) + 17 * 5)
    assert report.by_op == {"Gemm": gemm, "Relu": 64, "LogSoftmax": 5 * 64, "Conv": conv, "LSTM": lstm}
    assert report.total == gemm + 64 + 5 * 64 + conv + lstm
    assert report.unresolved == []


def test_cli_prints_flops_per_unit_and_sha256(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = _model(
        [helper.make_node("MatMul", ["a", "b"], ["y"])],
        [_f("a", ["batch", "seq", 4])],
        [_f("y", ["batch", "seq", 6])],
        [_w("b", 4, 6)],
    )
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    main([str(path), "--dim", "batch=1", "--dim", "seq=8", "--per", "batch", "--per", "seq"])
    out = json.loads(capsys.readouterr().out)
    assert out["flops"] == 2 * 8 * 4 * 6
    assert out["flops_per_unit"] == 2 * 4 * 6
    assert len(out["sha256"]) == 64
    assert out["largest_matmul"] == {"name": "MatMul_0", "m": 8, "k": 4, "n": 6, "flops": 384}
