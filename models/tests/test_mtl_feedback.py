"""MTL-feedback: shapes, the feedback path, padding independence, a tiny seeded training run
(reproducible) and export of the served-model files. Runs in seconds on generated data written by
the test itself (the real corpora are never needed here)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from medstream_models.export import onnx_io_shapes
from medstream_models.mtl_data import Encoded, collate
from medstream_models.mtl_export import export_served, load_run
from medstream_models.mtl_feedback import MTLFeedback
from medstream_models.mtl_report import render
from medstream_models.train_mtl import MTLConfig, train
from medstream_models.vocab import build_char_vocab, build_word_vocab, char_ids, normalize_word, word_ids

MtlCfg = Callable[..., MTLConfig]


def _model(feedback: bool = True) -> MTLFeedback:
    torch.manual_seed(0)
    return MTLFeedback(
        word_vocab=20,
        char_vocab=12,
        num_mer=5,
        num_men=9,
        word_dim=6,
        char_dim=4,
        char_filters=5,
        hidden=7,
        layers=2,
        feedback=feedback,
    ).eval()


def _inputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    w = torch.randint(2, 20, (3, 6), generator=g)
    c = torch.randint(2, 12, (3, 6, 4), generator=g)
    lengths = torch.tensor([6, 4, 1])
    for b, n in enumerate(lengths.tolist()):
        w[b, n:] = 0
        c[b, n:] = 0
    return w, c, lengths


def test_forward_shapes_and_log_probabilities() -> None:
    for feedback in (True, False):
        mer, men = _model(feedback)(*_inputs())
        assert mer.shape == (3, 6, 5) and men.shape == (3, 6, 9)
        assert mer.dtype == torch.float32 and men.dtype == torch.float32
        assert torch.allclose(men.exp().sum(-1), torch.ones(3, 6), atol=1e-5)


def test_feedback_path_changes_outputs() -> None:
    model = _model()
    inputs = _inputs()
    before = model(*inputs)
    with torch.no_grad():
        model.U.normal_(0, 0.5)  # MEN -> MER feedback
    after_u = model(*inputs)
    assert not torch.allclose(before[0], after_u[0])
    with torch.no_grad():
        model.V.normal_(0, 0.5)  # MER -> MEN feedback
    after_v = model(*inputs)
    assert not torch.allclose(after_u[1], after_v[1])
    # the second pass really reads the first pass: a different MEN head changes MER emissions
    with torch.no_grad():
        model.men_head.weight.add_(torch.randn_like(model.men_head.weight))
    assert not torch.allclose(after_v[0], model(*inputs)[0])


def test_outputs_do_not_depend_on_padding() -> None:
    model = _model()
    w, c, lengths = _inputs()
    mer, men = model(w, c, lengths)
    wide_w = torch.cat([w, torch.zeros(3, 3, dtype=torch.long)], 1)
    wide_c = torch.cat([c, torch.zeros(3, 6, 2, dtype=torch.long)], 2)
    wide_c = torch.cat([wide_c, torch.zeros(3, 3, 6, dtype=torch.long)], 1)
    mer2, men2 = model(wide_w, wide_c, lengths)
    for b, n in enumerate(lengths.tolist()):
        alone = model(w[b : b + 1, :n], c[b : b + 1, :n], lengths[b : b + 1])
        for full, single, wide in ((mer, alone[0], mer2), (men, alone[1], men2)):
            assert torch.allclose(full[b, :n], single[0], atol=1e-5)
            assert torch.allclose(wide[b, :n], single[0], atol=1e-5)


def test_word_and_char_mapping_rule() -> None:
    assert normalize_word("IL-2Rα") == "il-0rα"
    words = build_word_vocab(["Asthma", "asthma", "HbA1c"], extra=["cancer"])
    assert words.entries == ["<pad>", "<unk>", "asthma", "hba0c", "cancer"]
    assert word_ids(["ASTHMA", "HbA9c", "zzz"], words) == [2, 3, 1]
    chars = build_char_vocab(["ab", "b"])
    assert char_ids(["bac", "𝛼b"], chars, max_chars=2) == [[2, 3], [1, 2]]  # code points, not UTF-16


def test_training_is_reproducible_and_learns(tiny_root: Path, mtl_cfg: MtlCfg) -> None:
    cfg = mtl_cfg(epochs=3)
    _, _, a = train(cfg, tiny_root, tiny_root / "run-a", log=lambda m: None)
    _, _, b = train(cfg, tiny_root, tiny_root / "run-b", log=lambda m: None)
    assert [h["loss"] for h in a["history"]] == [h["loss"] for h in b["history"]]
    assert a["dev"] == b["dev"] and a["test"] == b["test"]
    first, last = a["history"][0]["loss"], a["history"][-1]["loss"]
    assert last["mer"] < first["mer"] and last["men"] < first["men"]


def test_single_task_variant_trains_mer_only(tiny_root: Path, mtl_cfg: MtlCfg) -> None:
    _, _, r = train(mtl_cfg("single", epochs=1), tiny_root, tiny_root / "run-single", log=lambda m: None)
    assert set(r["history"][0]["loss"]) == {"mer"} and "nen_men" not in r["dev"]


def test_export_writes_served_model_files(tiny_root: Path, mtl_cfg: MtlCfg) -> None:
    cfg = mtl_cfg(epochs=1)
    model, prep, result = train(cfg, tiny_root, tiny_root / "run-export", log=lambda m: None)
    out = tiny_root / "served"
    manifest = export_served(model, cfg, prep, result, out, tiny_root)
    assert onnx_io_shapes(out / "model.onnx") == {
        "word_ids": ["batch", "seq"],
        "char_ids": ["batch", "seq", "chars"],
        "lengths": ["batch"],
        "mer_emissions": ["batch", "seq", 5],
        "men_scores": ["batch", "seq", len(prep.men_labels)],
    }
    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk["format"] == "medstream-model/1" and on_disk["tokenizer_version"] == "test-tok"
    assert on_disk["tasks"]["mer"]["labels"] == ["O", "B-Chemical", "I-Chemical", "B-Disease", "I-Disease"]
    assert np.asarray(on_disk["tasks"]["mer"]["crf"]["transitions"]).shape == (5, 5)
    assert (out / "words.txt").read_text().split("\n")[:2] == ["<pad>", "<unk>"]
    assert manifest["metrics"]["test"]["mer_strict_f1"]["all"] == result["test"]["mer"]["all"]["f1"]
    parity = json.loads((out / "parity.json").read_text())
    assert len(parity["cases"]) == 4
    # ids in parity.json are what the documented rule gives from the token strings
    words = (out / "words.txt").read_text().split("\n")[:-1]
    chars = (out / "chars.txt").read_text().split("\n")[:-1]
    for case in parity["cases"]:
        expected_words = [words.index(w) if w in words else 1 for w in map(normalize_word, case["tokens"])]
        assert case["word_ids"] == expected_words
        expected_chars = [[chars.index(ch) if ch in chars else 1 for ch in t[:6]] for t in case["tokens"]]
        assert case["char_ids"] == expected_chars
        scores = np.frombuffer(base64.b64decode(case["men_scores_f32_b64"]), dtype="<f4")
        assert scores.size == case["men_scores_shape"][0] * case["men_scores_shape"][1]
    # the exported run reloads to the same outputs
    reloaded, _, _ = load_run(cfg, tiny_root / "run-export")
    case = parity["cases"][0]
    n = len(case["word_ids"])
    w, c, lengths, _, _ = collate([Encoded(case["word_ids"], case["char_ids"], [0] * n, [0] * n)])
    mer, _ = reloaded(w, c, lengths)
    assert np.allclose(mer[0].detach().numpy(), np.asarray(case["mer_emissions"]), atol=1e-4)
    ort = pytest.importorskip(
        "onnxruntime", reason="onnxruntime (Python) not installed; ONNX parity is checked from TypeScript"
    )
    sess = ort.InferenceSession(str(out / "model.onnx"))
    got = sess.run(None, {"word_ids": w.numpy(), "char_ids": c.numpy(), "lengths": lengths.numpy()})
    assert np.allclose(got[0][0], np.asarray(case["mer_emissions"]), atol=1e-4)


def test_report_renders_tables(tiny_root: Path) -> None:
    r = json.loads((tiny_root / "run-a" / "result.json").read_text())
    text = render(r, [r])
    assert "Comparison — Dev" in text and "Python evaluator" in text
    assert text.count("MTL + explicit feedback") >= 4
