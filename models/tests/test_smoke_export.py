from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest

from medstream_models.config import SmokeConfig, config_to_dict
from medstream_models.export import onnx_io_shapes
from medstream_models.smoke import main

SmokeRun = tuple[Path, dict[str, Any]]


def test_onnx_is_valid_with_dynamic_axes(smoke_run: SmokeRun) -> None:
    out, _ = smoke_run
    model = onnx.load(str(out / "model.onnx"))
    onnx.checker.check_model(model, full_check=True)
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 13
    assert onnx_io_shapes(out / "model.onnx") == {
        "word_ids": ["batch", "seq"],
        "char_ids": ["batch", "seq", "chars"],
        "lengths": ["batch"],
        "emissions": ["batch", "seq", 5],
    }


def test_manifest_is_complete(smoke_run: SmokeRun, smoke_cfg: SmokeConfig) -> None:
    out, manifest = smoke_run
    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk == json.loads(json.dumps(manifest))
    for key in [
        "schema",
        "name",
        "version",
        "onnx",
        "inputs",
        "outputs",
        "labels",
        "crf",
        "vocab",
        "framework",
        "seed",
        "training",
        "config",
    ]:
        assert key in on_disk, key
    k = len(on_disk["labels"])
    assert on_disk["labels"][0] == "O" and k == 5
    assert np.asarray(on_disk["crf"]["transitions"]).shape == (k, k)
    assert len(on_disk["crf"]["start"]) == k and len(on_disk["crf"]["end"]) == k
    assert on_disk["onnx"]["sha256"] == hashlib.sha256((out / "model.onnx").read_bytes()).hexdigest()
    assert on_disk["onnx"]["opset"] == smoke_cfg.export.opset
    assert [i["name"] for i in on_disk["inputs"]] == ["word_ids", "char_ids", "lengths"]
    assert on_disk["outputs"][0]["shape"] == ["batch", "seq", k]
    assert on_disk["vocab"]["wordVocabSize"] == smoke_cfg.model.word_vocab_size
    assert on_disk["framework"]["torch"] and on_disk["seed"] == smoke_cfg.train.seed
    assert on_disk["config"] == config_to_dict(smoke_cfg)
    losses = on_disk["training"]["losses"]
    assert len(losses) == smoke_cfg.train.steps and losses[-1] < losses[0]


def test_parity_cases_differ_from_export_dummy(smoke_run: SmokeRun, smoke_cfg: SmokeConfig) -> None:
    out, _ = smoke_run
    parity = json.loads((out / "parity.json").read_text())
    e = smoke_cfg.export
    assert len(parity["cases"]) == len(smoke_cfg.parity.batch_sizes)
    for case in parity["cases"]:
        word_ids = np.asarray(case["wordIds"])
        char_ids = np.asarray(case["charIds"])
        emissions = np.asarray(case["emissions"])
        b, t = word_ids.shape
        assert (b, t, char_ids.shape[2]) != (e.dummy_batch, e.dummy_len, e.dummy_chars)
        assert t != e.dummy_len and char_ids.shape[2] != e.dummy_chars
        assert char_ids.shape[:2] == (b, t) and emissions.shape == (b, t, 5)
        assert [len(tags) for tags in case["tags"]] == case["lengths"]
        assert max(case["lengths"]) < t  # every case carries extra padding


def test_onnx_matches_pytorch_with_reference_evaluator(smoke_run: SmokeRun) -> None:
    # onnx.reference exists from onnx 1.13 (Debian ships 1.12): the TypeScript onnxruntime-node
    # test is the parity check that always runs; this one runs where onnx is newer.
    reference = pytest.importorskip("onnx.reference", reason="onnx.reference needs onnx >= 1.13")
    out, _ = smoke_run
    session = reference.ReferenceEvaluator(str(out / "model.onnx"))
    for case in json.loads((out / "parity.json").read_text())["cases"]:
        (emissions,) = session.run(
            None,
            {
                "word_ids": np.asarray(case["wordIds"], dtype=np.int64),
                "char_ids": np.asarray(case["charIds"], dtype=np.int64),
                "lengths": np.asarray(case["lengths"], dtype=np.int64),
            },
        )
        np.testing.assert_allclose(emissions, np.asarray(case["emissions"], dtype=np.float32), atol=1e-4)


def test_cli_reports_config_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[model]\nname = 1\n")
    assert main(["--config", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "model.name: expected a string" in err
    assert not (tmp_path / "o").exists()
