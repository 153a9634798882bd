"""Count the floating-point operations of an ONNX graph for one concrete input shape.

    python -m medstream_models.flops models/bc5cdr-mtl/model.onnx --dim batch=1 --dim seq=32 \\
        --dim chars=25 --per seq

Prints one JSON object (the processor benchmark, src/processors/bench/processor-bench.ts, runs
this and caches the answer under the model's sha256). The symbolic input dimensions are bound
to the given values, then ``onnx.shape_inference`` (with data propagation) gives every tensor's
shape and the operators are counted from those shapes:

- MatMul: 2·M·K·N per product (one multiply + one add per multiply-accumulate), batched over
  leading dimensions; Gemm likewise, plus M·N for the bias.
- Conv: 2·(C_in/group)·prod(kernel) per output element, plus 1 for the bias.
- LSTM / GRU / RNN: the input and recurrent matrix products per step and direction
  (2·gates·H·(I + H)) plus the gate arithmetic (biases, activations, cell update: 17·H per
  LSTM step, 14·H per GRU step, 3·H per RNN step).
- Element-wise arithmetic (Add, Mul, Exp, Tanh, ...): 1 per output element, counted only for
  floating-point outputs (index arithmetic on int64 tensors is not a FLOP).
- Softmax / LogSoftmax: 5 per element (max, subtract, exp, sum, normalise); Reduce*: 1 per input
  element.
- Data movement and integer bookkeeping (Gather, Concat, Transpose, Reshape, Where, Cast,
  comparisons, Shape, ...) count 0.

Nodes whose shapes stay unknown and that would count are listed under ``unresolved``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import onnx
from onnx import TensorProto, shape_inference

Shape = list[int | None]

FLOAT_TYPES = {TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.BFLOAT16}

ELEMENTWISE_ONE = {
    "Add", "Sub", "Mul", "Div", "Pow", "Neg", "Abs", "Exp", "Log", "Sqrt", "Reciprocal",
    "Tanh", "Sigmoid", "HardSigmoid", "Relu", "LeakyRelu", "PRelu", "Elu", "Selu", "Celu",
    "Gelu", "Erf", "Softplus", "Softsign", "Sin", "Cos", "Floor", "Ceil", "Round", "Sign",
    "Clip", "Mod", "HardSwish", "Mish", "ThresholdedRelu",
}  # fmt: skip
VARIADIC = {"Sum", "Max", "Min", "Mean"}
SOFTMAX = {"Softmax", "LogSoftmax"}
SOFTMAX_FLOPS_PER_ELEMENT = 5
REDUCE = {
    "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
    "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare",
}  # fmt: skip
RECURRENT_GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
RECURRENT_POINTWISE = {"LSTM": 17, "GRU": 14, "RNN": 3}


@dataclass
class NodeFlops:
    name: str
    op: str
    flops: int
    inputs: list[Shape]
    outputs: list[Shape]
    matmul: tuple[int, int, int] | None = None


@dataclass
class FlopReport:
    total: int
    by_op: dict[str, int]
    nodes: list[NodeFlops]
    unresolved: list[str] = field(default_factory=list)

    def largest_matmul(self) -> NodeFlops | None:
        mm = [n for n in self.nodes if n.matmul is not None]
        return max(mm, key=lambda n: n.flops) if mm else None


def _prod(dims: Sequence[int | None]) -> int | None:
    out = 1
    for d in dims:
        if d is None:
            return None
        out *= d
    return out


def _shape_of(value: onnx.ValueInfoProto) -> tuple[Shape | None, int]:
    t = value.type.tensor_type
    if not t.HasField("shape"):
        return None, t.elem_type
    dims: Shape = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
    return dims, t.elem_type


def bind_inputs(model: onnx.ModelProto, dims: Mapping[str, int]) -> onnx.ModelProto:
    """A copy of ``model`` whose symbolic input dimensions named in ``dims`` are fixed."""
    bound = onnx.ModelProto()
    bound.CopyFrom(model)
    initializers = {i.name for i in bound.graph.initializer}
    missing: set[str] = set()
    for value in bound.graph.input:
        if value.name in initializers:
            continue
        for d in value.type.tensor_type.shape.dim:
            if d.HasField("dim_param"):
                if d.dim_param in dims:
                    size = int(dims[d.dim_param])
                    d.ClearField("dim_param")
                    d.dim_value = size
                else:
                    missing.add(d.dim_param)
    if missing:
        raise ValueError(f"bind the symbolic input dimensions {sorted(missing)} (--dim NAME=VALUE)")
    return bound


def _attr(node: onnx.NodeProto, name: str, default: Any = None) -> Any:
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def _broadcast(shapes: Sequence[Shape | None]) -> Shape | None:
    known = [s for s in shapes if s is not None]
    if not known:
        return None
    rank = max(len(s) for s in known)
    out: Shape = []
    for axis in range(rank):
        sizes = [s[axis - rank + len(s)] for s in known if axis - rank + len(s) >= 0]
        values = [d for d in sizes if d is not None]
        # A dimension of 1 broadcasts; any other known size is the result's size.
        big = [d for d in values if d != 1]
        out.append(big[0] if big else (1 if len(values) == len(sizes) else None))
    return out


def count_flops(model: onnx.ModelProto, dims: Mapping[str, int] | None = None) -> FlopReport:
    """FLOPs of one run of ``model`` with its symbolic input dimensions bound to ``dims``."""
    bound = bind_inputs(model, dims or {})
    inferred = shape_inference.infer_shapes(bound, strict_mode=False, data_prop=True)
    g = inferred.graph
    shapes: dict[str, Shape | None] = {}
    types: dict[str, int] = {}
    for value in [*g.input, *g.value_info, *g.output]:
        shapes[value.name], types[value.name] = _shape_of(value)
    for init in g.initializer:
        shapes[init.name], types[init.name] = list(init.dims), init.data_type

    nodes: list[NodeFlops] = []
    unresolved: list[str] = []
    for index, node in enumerate(g.node):
        name = node.name or f"{node.op_type}_{index}"
        if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in node.attribute):
            unresolved.append(f"{name} ({node.op_type}: subgraphs are not counted)")
            continue
        ins = [shapes.get(x) if x else None for x in node.input]
        outs = [shapes.get(x) for x in node.output]
        out_type = types.get(node.output[0], TensorProto.UNDEFINED) if node.output else 0
        op = node.op_type
        flops: int | None = 0
        matmul: tuple[int, int, int] | None = None
        if op == "MatMul":
            a, b, o = ins[0], ins[1], outs[0]
            if o is None and a is not None and b is not None and len(a) >= 2 and len(b) >= 2:
                o = [*(_broadcast([a[:-2], b[:-2]]) or []), a[-2], b[-1]]
            k = a[-1] if a else None
            n_out = _prod(o) if o is not None else None
            if k is None or n_out is None or not o:
                flops = None
            else:
                flops = 2 * n_out * k
                rows = _prod(o[:-1]) or 1
                matmul = (rows, k, o[-1] or 1)
        elif op == "Gemm":
            a, b = ins[0], ins[1]
            if a is None or b is None or len(a) != 2 or len(b) != 2:
                flops = None
            else:
                m, k = (a[1], a[0]) if _attr(node, "transA", 0) else (a[0], a[1])
                n = b[0] if _attr(node, "transB", 0) else b[1]
                if m is None or k is None or n is None:
                    flops = None
                else:
                    flops = 2 * m * k * n + (m * n if len(node.input) > 2 and node.input[2] else 0)
                    matmul = (m, k, n)
        elif op in ("Conv", "ConvTranspose"):
            x, w, o = ins[0], ins[1], outs[0]
            n_out = _prod(o) if o is not None else None
            per = _prod(w[1:]) if w is not None else None  # (C_in / group) · prod(kernel)
            if op == "ConvTranspose" and x is not None and w is not None and o is not None:
                n_out = _prod(x)  # every input element scatters into C_out/group · kernel
                per = _prod(w[1:])
            if n_out is None or per is None:
                flops = None
            else:
                bias = _prod(o) if len(node.input) > 2 and node.input[2] and o is not None else 0
                flops = 2 * n_out * per + (bias or 0)
        elif op in RECURRENT_GATES:
            x, w = ins[0], ins[1]
            hidden = _attr(node, "hidden_size")
            layout = _attr(node, "layout", 0)
            if x is None or w is None or hidden is None or len(x) != 3:
                flops = None
            else:
                steps, batch = (x[1], x[0]) if layout else (x[0], x[1])
                size, directions = x[2], w[0]
                if None in (steps, batch, size, directions):
                    flops = None
                else:
                    gates = RECURRENT_GATES[op]
                    per_step = 2 * gates * hidden * (size + hidden) + RECURRENT_POINTWISE[op] * hidden
                    flops = steps * batch * directions * per_step  # type: ignore[operator]
        elif op in ELEMENTWISE_ONE or op in VARIADIC:
            if out_type in FLOAT_TYPES:
                o = outs[0] if outs[0] is not None and None not in outs[0] else _broadcast(ins)
                n_out = _prod(o) if o is not None else None
                terms = max(1, len(node.input) - 1) if op in VARIADIC else 1
                flops = None if n_out is None else n_out * terms
        elif op in SOFTMAX:
            n_out = _prod(ins[0]) if ins[0] is not None else None
            flops = None if n_out is None else SOFTMAX_FLOPS_PER_ELEMENT * n_out
        elif op in REDUCE:
            if types.get(node.input[0], 0) in FLOAT_TYPES:
                n_in = _prod(ins[0]) if ins[0] is not None else None
                flops = n_in
        if flops is None:
            unresolved.append(f"{name} ({op}: shapes unknown)")
            flops = 0
        nodes.append(NodeFlops(name, op, flops, ins, outs, matmul))

    by_op: dict[str, int] = {}
    for n in nodes:
        if n.flops:
            by_op[n.op] = by_op.get(n.op, 0) + n.flops
    return FlopReport(sum(n.flops for n in nodes), dict(sorted(by_op.items())), nodes, unresolved)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def report_json(path: Path, dims: Mapping[str, int], per: Sequence[str] = ()) -> dict[str, Any]:
    report = count_flops(onnx.load(str(path)), dims)
    out: dict[str, Any] = {
        "model": str(path),
        "sha256": sha256_file(path),
        "dims": dict(dims),
        "flops": report.total,
        "by_op": report.by_op,
        "unresolved": report.unresolved,
        "top_nodes": [
            {"name": n.name, "op": n.op, "flops": n.flops, "inputs": n.inputs, "outputs": n.outputs}
            for n in sorted(report.nodes, key=lambda n: -n.flops)[:12]
            if n.flops > 0
        ],
    }
    mm = report.largest_matmul()
    if mm is not None and mm.matmul is not None:
        m, k, n = mm.matmul
        out["largest_matmul"] = {"name": mm.name, "m": m, "k": k, "n": n, "flops": mm.flops}
    if per:
        units = math.prod(int(dims[d]) for d in per)
        out["per"] = list(per)
        out["flops_per_unit"] = report.total / units
    return out


def _dim(text: str) -> tuple[str, int]:
    name, sep, value = text.partition("=")
    if not sep or not name or not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected NAME=POSITIVE_INT, got {text!r}")
    return name, int(value)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path)
    ap.add_argument("--dim", type=_dim, action="append", default=[], help="bind a symbolic dimension")
    ap.add_argument(
        "--per", action="append", default=[], help="divide by these dims' product (e.g. --per batch --per seq)"
    )
    args = ap.parse_args(argv)
    dims = dict(args.dim)
    unknown = [d for d in args.per if d not in dims]
    if unknown:
        ap.error(f"--per names unbound dimensions {unknown}")
    print(json.dumps(report_json(args.model, dims, args.per)))


if __name__ == "__main__":
    main()

__all__ = ["FlopReport", "NodeFlops", "bind_inputs", "count_flops", "report_json", "main"]
