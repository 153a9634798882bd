"""ONNX export that works with torch 1.13 and torch 2.x.

torch >= 2.5 has a ``dynamo`` switch on ``torch.onnx.export`` (on by default from 2.9); the
dynamo exporter needs ``onnxscript`` and handles dynamic shapes differently, so we always ask
for the TorchScript-based exporter (``dynamo=False``), detected by signature, not by version
string (Debian's torch reports ``1.13.0a0``).
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

MIN_OPSET = 13


def _export_kwargs() -> dict[str, Any]:
    params = inspect.signature(torch.onnx.export).parameters
    kwargs: dict[str, Any] = {}
    if "dynamo" in params:
        kwargs["dynamo"] = False
    return kwargs


def export_onnx(
    model: torch.nn.Module,
    args: tuple[torch.Tensor, ...],
    path: str | Path,
    *,
    input_names: Sequence[str],
    output_names: Sequence[str],
    dynamic_axes: Mapping[str, Mapping[int, str]],
    opset: int = 17,
) -> Path:
    """Export ``model`` (switched to eval mode, on CPU) and check the file if onnx is present."""
    if opset < MIN_OPSET:
        raise ValueError(f"opset must be >= {MIN_OPSET}, got {opset}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.cpu().eval()
    args = tuple(a.cpu() for a in args)
    with torch.no_grad(), warnings.catch_warnings():
        # The legacy exporter is deprecated in torch 2.x and says so on every call.
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=FutureWarning)
        # nn.LSTM's own input checks convert shapes to Python bools while tracing; they do not
        # shape the graph. Tracer warnings from our code stay visible.
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning, module=r"torch\.nn\.modules\.rnn")
        # LSTM initial states are built from the input's runtime shape (ConstantOfShape of
        # Shape), so this generic warning does not apply; the parity tests run other batch sizes.
        warnings.filterwarnings("ignore", message="Exporting a model to ONNX with a batch_size other than 1")
        warnings.filterwarnings("ignore", message="The shape inference of prim::Constant type is missing")
        torch.onnx.export(
            model,
            args,
            str(path),
            input_names=list(input_names),
            output_names=list(output_names),
            dynamic_axes={k: dict(v) for k, v in dynamic_axes.items()},
            opset_version=opset,
            do_constant_folding=True,
            **_export_kwargs(),
        )
    check_onnx(path)
    return path


def check_onnx(path: str | Path) -> bool:
    """Run ``onnx.checker`` when the onnx package is installed; returns whether it ran."""
    try:
        import onnx
    except ImportError:
        return False
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    return True


def onnx_io_shapes(path: str | Path) -> dict[str, list[int | str]]:
    """Input and output shapes of an ONNX file: ints for fixed dims, names for dynamic ones."""
    import onnx

    graph = onnx.load(str(path)).graph
    initializers = {i.name for i in graph.initializer}
    shapes: dict[str, list[int | str]] = {}
    for value in [*graph.input, *graph.output]:
        if value.name in initializers:
            continue
        dims = value.type.tensor_type.shape.dim
        shapes[value.name] = [d.dim_param if d.dim_param else int(d.dim_value) for d in dims]
    return shapes
