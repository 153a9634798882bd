"""int8 variant of a served model: onnxruntime dynamic quantization of its large products.

    python -m medstream_models.quantize --model models/bc5cdr-mtl --out models/bc5cdr-mtl-int8

Reads a served model directory (format ``medstream-model/1``, mtl_export.py) and writes a new
one next to it: the same vocabularies and contract, ``model.onnx`` with the large MatMuls (and
optionally the LSTMs) quantized by ``onnxruntime.quantization.quantize_dynamic`` (int8 weights,
per output channel by default; activations quantized per run), and a manifest that names the
variant (``<name>-int8``), marks the quantization and records how far its outputs are from the
float model's on the float model's parity sentences.

Dynamic quantization picks one activation scale per MatMul input tensor, i.e. per *batch*: a
sentence's int8 outputs depend (slightly) on the other sentences of its batch, unlike the float
model's. The recorded ``batch_dependence`` measures that on the parity sentences.

Needs onnxruntime (Python); ``bash scripts/python-env.sh setup`` installs the pinned release.
"""

from __future__ import annotations

import argparse
import base64
import datetime as _dt
import hashlib
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from .mtl_export import INPUTS, OUTPUTS

# MatMuls whose constant weight has at least this many elements are quantized: in the folded
# graph only the d × |L_MEN| MEN product (200 × 2,723 for BC5CDR). The small MER products and
# the (|M|+1) × |L| feedback Gemm read log-probabilities, which int8 would coarsen, and cost little.
DEFAULT_MIN_WEIGHT_ELEMENTS = 65_536


def _viterbi(emissions: np.ndarray, crf: dict[str, Any]) -> list[int]:
    """Best MER tag path of one sentence ([tokens, labels] emissions) under the manifest CRF."""
    trans = np.asarray(crf["transitions"], dtype=np.float64)
    score = np.asarray(crf["start"], dtype=np.float64) + emissions[0]
    back: list[np.ndarray] = []
    for t in range(1, emissions.shape[0]):
        cand = score[:, None] + trans + emissions[t][None, :]
        back.append(cand.argmax(0))
        score = cand.max(0)
    score = score + np.asarray(crf["end"], dtype=np.float64)
    path = [int(score.argmax())]
    for b in reversed(back):
        path.append(int(b[path[-1]]))
    return path[::-1]


def large_matmuls(model: onnx.ModelProto, min_weight_elements: int) -> list[str]:
    """Names of the MatMul nodes with a constant weight of at least ``min_weight_elements``."""
    sizes = {i.name: int(np.prod(i.dims)) for i in model.graph.initializer}
    return [
        n.name
        for n in model.graph.node
        if n.op_type == "MatMul" and any(sizes.get(x, 0) >= min_weight_elements for x in n.input)
    ]


def restore_unquantized_gemms(original: onnx.ModelProto, quantized: onnx.ModelProto) -> int:
    """quantize_dynamic rewrites *every* Gemm as MatMul (+ Add) before choosing what to quantize.
    Puts back, in place, the Gemms it then left in float: a Gemm accumulating onto its C input is
    one pass over the output instead of two. Returns how many were restored."""
    gemms = {n.name: n for n in original.graph.node if n.op_type == "Gemm" and n.name}
    inits = {i.name for i in quantized.graph.initializer}
    orig_inits = {i.name: i for i in original.graph.initializer}
    nodes = list(quantized.graph.node)
    by_name = {n.name: n for n in nodes}
    restored = 0
    for name, gemm in gemms.items():
        mm, add = by_name.get(f"{name}_MatMul"), by_name.get(f"{name}_Add")
        if mm is None or mm.op_type != "MatMul" or (add is not None and add.op_type != "Add"):
            continue
        weight = gemm.input[1]
        # A transposed constant B was rewritten in place (same name, new data): put it back too.
        if weight in orig_inits and weight in inits:
            for i, init in enumerate(quantized.graph.initializer):
                if init.name == weight:
                    quantized.graph.initializer[i].CopyFrom(orig_inits[weight])
        first = nodes.index(mm)
        nodes = [n for n in nodes if n is not mm and n is not add]
        nodes.insert(first, gemm)
        restored += 1
    quantized.graph.ClearField("node")
    quantized.graph.node.extend(nodes)
    return restored


def quantize_model(
    src: Path,
    dst: Path,
    *,
    per_channel: bool = True,
    reduce_range: bool = True,
    lstm: bool = False,
    min_weight_elements: int = DEFAULT_MIN_WEIGHT_ELEMENTS,
) -> dict[str, Any]:
    """Writes the int8 graph of ``src`` to ``dst``; returns what was quantized and how."""
    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic

    original = onnx.load(str(src))
    nodes = large_matmuls(original, min_weight_elements)
    op_types = ["MatMul"]
    if lstm:
        lstms = [n.name for n in original.graph.node if n.op_type == "LSTM"]
        nodes += lstms
        op_types.append("LSTM")
    if not nodes:
        raise ValueError(f"{src}: no MatMul with a weight of >= {min_weight_elements} elements")
    tmp = dst.with_suffix(".tmp.onnx")
    quantize_dynamic(
        str(src),
        str(tmp),
        op_types_to_quantize=op_types,
        nodes_to_quantize=nodes,
        per_channel=per_channel,
        reduce_range=reduce_range,
        weight_type=QuantType.QInt8,
        extra_options={"MatMulConstBOnly": True},
    )
    quantized = onnx.load(str(tmp))
    tmp.unlink()
    for n in quantized.graph.node:
        if n.op_type == "DynamicQuantizeLSTM":
            # The tool copies LSTM's attributes with defaults filled in, among them `layout`
            # (opset 14), which DynamicQuantizeLSTM does not accept; 0 is the default anyway.
            keep = [a for a in n.attribute if not (a.name == "layout" and a.i == 0)]
            del n.attribute[:]
            n.attribute.extend(keep)
    restored = restore_unquantized_gemms(original, quantized)
    onnx.checker.check_model(quantized)
    onnx.save(quantized, str(dst))
    integer_ops = sorted(
        {n.op_type for n in quantized.graph.node if n.op_type in ("MatMulInteger", "DynamicQuantizeLSTM")}
    )
    return {
        "tool": f"onnxruntime.quantization.quantize_dynamic (onnxruntime {onnxruntime.__version__})",
        "weights": "int8 (QInt8), " + ("per output channel" if per_channel else "per tensor"),
        "activations": "uint8, scale and zero point computed per run from the whole input tensor",
        "reduce_range": reduce_range,
        "nodes": nodes,
        "integer_ops": integer_ops,
        "restored_float_gemms": restored,
    }


def _run(
    path: Path, cases: Sequence[dict[str, Any]], threads: int = 1
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Outputs per case ([tokens, |M|], [tokens, |L|]) from one padded batch of all ``cases``."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    b = len(cases)
    t = max(len(c["word_ids"]) for c in cases)
    ch = max(1, max(len(w) for c in cases for w in c["char_ids"]))
    w = np.zeros((b, t), dtype=np.int64)
    cc = np.zeros((b, t, ch), dtype=np.int64)
    lengths = np.zeros((b,), dtype=np.int64)
    for i, c in enumerate(cases):
        n = len(c["word_ids"])
        lengths[i] = n
        w[i, :n] = c["word_ids"]
        for j, ids in enumerate(c["char_ids"]):
            cc[i, j, : len(ids)] = ids
    mer, men = session.run(OUTPUTS, dict(zip(INPUTS, (w, cc, lengths), strict=True)))
    return [(mer[i, : lengths[i]], men[i, : lengths[i]]) for i in range(b)]


def compare_with_float(
    quantized_onnx: Path, float_dir: Path, manifest: dict[str, Any]
) -> dict[str, Any]:
    """The int8 graph against the float model's parity.json (PyTorch reference outputs), in one
    padded batch, and each sentence alone (batch dependence of the dynamic quantization)."""
    parity = json.loads((float_dir / "parity.json").read_text())
    cases = parity["cases"]
    mer_labels = manifest["tasks"]["mer"]["labels"]
    men_labels = manifest["tasks"]["men"]["labels"]
    crf = manifest["tasks"]["mer"]["crf"]
    batched = _run(quantized_onnx, cases)
    alone = [_run(quantized_onnx, [c])[0] for c in cases]
    tokens = d_mer = d_men = 0.0
    same_mer = same_men = 0
    batch_dep = 0.0
    for c, (mer, men), (mer1, men1) in zip(cases, batched, alone, strict=True):
        ref_mer = np.asarray(c["mer_emissions"], dtype=np.float32)
        shape = tuple(c["men_scores_shape"])
        ref_men = np.frombuffer(base64.b64decode(c["men_scores_f32_b64"]), dtype="<f4").reshape(shape)
        tokens += len(c["word_ids"])
        d_mer = max(d_mer, float(np.abs(mer - ref_mer).max()))
        d_men = max(d_men, float(np.abs(men - ref_men).max()))
        tags = [mer_labels[k] for k in _viterbi(mer, crf)]
        same_mer += sum(a == b for a, b in zip(tags, c["mer_tags"], strict=True))
        same_men += sum(men_labels[k] == lab for k, lab in zip(men.argmax(1), c["men_labels"], strict=True))
        batch_dep = max(batch_dep, float(np.abs(mer - mer1).max()), float(np.abs(men - men1).max()))
    return {
        "sentences": len(cases),
        "tokens": int(tokens),
        "reference": "the float model's parity.json (PyTorch outputs of the training module)",
        "mer_max_abs_diff": round(d_mer, 6),
        "men_max_abs_diff": round(d_men, 6),
        "mer_tag_agreement": round(same_mer / tokens, 6),
        "men_argmax_agreement": round(same_men / tokens, 6),
        "batch_dependence": {
            "max_abs_diff": round(batch_dep, 6),
            "note": "max |Δ| of any output between the padded batch of all sentences and each alone",
        },
    }


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def quantize_served(
    src_dir: Path,
    out_dir: Path,
    *,
    per_channel: bool = True,
    reduce_range: bool = True,
    lstm: bool = False,
    min_weight_elements: int = DEFAULT_MIN_WEIGHT_ELEMENTS,
    suffix: str = "-int8",
) -> dict[str, Any]:
    """Writes the int8 variant of the served model in ``src_dir`` to ``out_dir``; returns its
    manifest."""
    manifest = json.loads((src_dir / "manifest.json").read_text())
    if "quantization" in manifest:
        raise ValueError(f"{src_dir} is already quantized")
    out_dir.mkdir(parents=True, exist_ok=True)
    src_onnx = src_dir / manifest["onnx"]["file"]
    dst_onnx = out_dir / manifest["onnx"]["file"]
    info = quantize_model(
        src_onnx,
        dst_onnx,
        per_channel=per_channel,
        reduce_range=reduce_range,
        lstm=lstm,
        min_weight_elements=min_weight_elements,
    )
    pre = manifest["preprocessing"]
    for vocab in (pre["word"]["vocab_file"], pre["char"]["vocab_file"]):
        shutil.copyfile(src_dir / vocab, out_dir / vocab)
    info["source"] = {
        "name": manifest["name"],
        "version": manifest["version"],
        "dir": src_dir.name,
        "onnx_sha256": _sha256(src_onnx),
    }
    info["flops_note"] = (
        "the int8 graph does the source graph's multiply-accumulates in integers: count FLOPs/token "
        "on the source graph (the processor bench does)"
    )
    info["check"] = compare_with_float(dst_onnx, src_dir, manifest)
    # No parity.json: int8 outputs depend on the batch (see the module docstring), so the exact
    # parity fixture of the float model does not apply; test/model/quantized-model.test.ts checks
    # this variant against the float model's fixture with the agreement measured here.
    manifest.pop("parity", None)
    manifest["name"] = f"{manifest['name']}{suffix}"
    manifest["created"] = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    manifest["onnx"] = {**manifest["onnx"], "sha256": _sha256(dst_onnx)}
    manifest["quantization"] = info
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True, help="served (float) model directory")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument(
        "--per-channel",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="one weight scale per output column (default) or one per tensor",
    )
    ap.add_argument(
        "--reduce-range",
        action=argparse.BooleanOptionalAction,
        default=True,
        help=(
            "7-bit weights (default): x86 CPUs without VNNI (AVX2) multiply u8 × s8 pairs into "
            "saturating int16 sums, which full 8-bit weights can overflow"
        ),
    )
    ap.add_argument("--lstm", action="store_true", help="also quantize the LSTMs (DynamicQuantizeLSTM)")
    ap.add_argument("--min-weight-elements", type=int, default=DEFAULT_MIN_WEIGHT_ELEMENTS)
    args = ap.parse_args(argv)
    manifest = quantize_served(
        args.model,
        args.out,
        per_channel=args.per_channel,
        reduce_range=args.reduce_range,
        lstm=args.lstm,
        min_weight_elements=args.min_weight_elements,
    )
    size = sum(p.stat().st_size for p in args.out.iterdir() if p.is_file())
    summary = {"out": str(args.out), "bytes": size, "quantization": manifest["quantization"]}
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()

__all__ = [
    "DEFAULT_MIN_WEIGHT_ELEMENTS",
    "compare_with_float",
    "large_matmuls",
    "main",
    "quantize_model",
    "quantize_served",
    "restore_unquantized_gemms",
]
