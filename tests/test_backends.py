"""Inference backends: every backend's probabilities match plain fp32 within its stated tolerance (the
approximate int8 ones closely), in the texts' order, with clear errors for bad settings."""

import numpy as np
import pytest
from test_sentiment import tiny_checkpoint, toy_data  # noqa: F401  (a fixture and its data)

from retention_lib.sentiment import SentimentClassifier
from retention_lib.serving.backends import BACKENDS, TOLERANCE, score_reviews


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_every_backend_matches_fp32(tiny_checkpoint, pooling, tmp_cache):  # noqa: F811
    clf = SentimentClassifier.from_pretrained(tiny_checkpoint, max_length=16, seed=0, pooling=pooling, device="cpu")
    texts, _ = toy_data(90, seed=1)
    texts = [t + " " + "good " * (i % 5) for i, t in enumerate(texts)]  # lengths differ: bucketing reorders
    reference = clf.predict_proba(texts, pad_to_max_length=True)
    for backend in BACKENDS:
        p = score_reviews(texts, clf, backend, batch_size=8, threads=1)
        assert p.shape == reference.shape and np.allclose(p.sum(axis=1), 1)
        tol = TOLERANCE[backend]
        if tol is not None:
            assert np.abs(p - reference).max() <= tol, backend
        else:  # int8: approximate, close on average
            assert np.abs(p - reference).mean() < 0.02, backend


def test_the_onnx_export_is_cached_by_the_models_fingerprint(tiny_checkpoint, tmp_cache, monkeypatch):  # noqa: F811
    """A second classifier with the same weights reuses the exported files (no export, the same numbers); other
    weights are another fingerprint, exported anew."""
    import torch

    from retention_lib.serving import backends

    texts, _ = toy_data(20, seed=2)
    first = SentimentClassifier.from_pretrained(tiny_checkpoint, max_length=16, seed=0, device="cpu")
    p = {b: score_reviews(texts, first, b, batch_size=8, threads=1) for b in ("onnx", "onnx-int8")}
    folders = list((tmp_cache / "onnx").iterdir())
    assert len(folders) == 1 and {f.name for f in folders[0].iterdir()} == {"model.onnx", "model.int8.onnx"}

    def no_export(*args, **kwargs):
        raise AssertionError("exported again although the weights are the same")

    monkeypatch.setattr(torch.onnx, "export", no_export)
    again = SentimentClassifier.from_pretrained(tiny_checkpoint, max_length=16, seed=0, device="cpu")
    for b in ("onnx", "onnx-int8"):
        np.testing.assert_array_equal(score_reviews(texts, again, b, batch_size=8, threads=1), p[b])
    with torch.no_grad():
        next(again.model.parameters()).add_(0.01)
    assert backends.onnx_fingerprint(again) != backends.onnx_fingerprint(first)


def test_bad_settings_are_clear_errors(tiny_checkpoint):  # noqa: F811
    clf = SentimentClassifier.from_pretrained(tiny_checkpoint, max_length=16, seed=0, device="cpu")
    with pytest.raises(ValueError, match=r"backend must be one of \['naive', 'torch'"):
        score_reviews(["the dress is good"], clf, "tensorrt")
    with pytest.raises(ValueError, match="batch_size must be a whole number >= 1, got 0"):
        score_reviews(["the dress is good"], clf, "torch", batch_size=0)


@pytest.mark.slow
def test_the_benchmark_reports_ratios_against_naive_in_one_run(tiny_checkpoint, tmp_path):  # noqa: F811
    import runpy

    from conftest import ROOT

    clf = SentimentClassifier.from_pretrained(tiny_checkpoint, max_length=16, seed=0, device="cpu")
    clf.save(tmp_path / "model")
    mod = runpy.run_path(str(ROOT / "benchmarks" / "inference_backends.py"))
    table = mod["main"](
        [
            "--model",
            str(tmp_path / "model"),
            "--examples",
            "30",
            "--accuracy-examples",
            "60",
            "--max-length",
            "16",
            "--threads",
            "1",
            "--no-record",
        ]
    )
    assert list(table["backend"]) == list(BACKENDS)
    assert table.loc[table["backend"] == "naive", "ratio vs naive"].iloc[0] == 1
    assert table.loc[table["backend"] == "torch", "F1 - fp32"].iloc[0] == 0


def _distributed(tmp_path, checkpoint, nproc):
    import subprocess
    import sys

    out = tmp_path / f"n{nproc}"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        str(nproc),
        "-m",
        "retention_lib.serving.distributed",
        "--checkpoint",
        str(checkpoint),
        "--data",
        "toy",
        "--steps",
        "3",
        "--global-batch",
        "8",
        "--out",
        str(out),
    ]
    env = {**__import__("os").environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.mark.slow
def test_two_processes_with_ddp_equal_one_process_on_the_same_global_batch(tiny_checkpoint, tmp_path):  # noqa: F811
    import json

    import torch

    one, two = _distributed(tmp_path, tiny_checkpoint, 1), _distributed(tmp_path, tiny_checkpoint, 2)
    l1, l2 = (json.loads((d / "losses.json").read_text()) for d in (one, two))
    assert l2["world_size"] == 2 and len(l1["losses"]) == 3
    np.testing.assert_allclose(l2["losses"], l1["losses"], rtol=1e-5, atol=1e-6)
    w1, r0, r1 = (torch.load(p) for p in (one / "rank0.pt", two / "rank0.pt", two / "rank1.pt"))
    for k in w1:
        assert torch.equal(r0[k], r1[k]), f"ranks out of sync: {k}"
        torch.testing.assert_close(r0[k], w1[k], rtol=1e-5, atol=1e-6)
    assert any(not torch.equal(w1[k], torch.zeros_like(w1[k])) for k in w1)


@pytest.mark.slow
def test_ray_scoring_equals_in_process_scoring(tiny_checkpoint, tmp_path):  # noqa: F811
    import ray

    from retention_lib.serving.ray_scoring import score_with_ray

    clf = SentimentClassifier.from_pretrained(tiny_checkpoint, max_length=16, seed=0, device="cpu")
    clf.save(tmp_path / "model")
    texts, _ = toy_data(50, seed=3)
    reference = score_reviews(texts, clf, "torch")
    try:
        got = score_with_ray(texts, tmp_path / "model", "torch", workers=2, batch_size=8)
    finally:
        ray.shutdown()
    assert got.shape == reference.shape and np.abs(got - reference).max() < 1e-6
    with pytest.raises(FileNotFoundError, match="not a saved SentimentClassifier"):
        score_with_ray(texts, tmp_path, "torch")
