"""Inference backends: every backend's probabilities match plain fp32 within its stated tolerance (the
approximate int8 ones closely), in the texts' order, with clear errors for bad settings."""

import numpy as np
import pytest

from retention_lib.sentiment import SentimentClassifier
from retention_lib.sentiment.backends import BACKENDS, TOLERANCE, score_reviews
from test_sentiment import tiny_checkpoint, toy_data  # noqa: F401  (a fixture and its data)


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_every_backend_matches_fp32(tiny_checkpoint, pooling):  # noqa: F811
    clf = SentimentClassifier.from_pretrained(tiny_checkpoint, max_length=16, seed=0, pooling=pooling, device="cpu")
    texts, _ = toy_data(90, seed=1)
    texts = [t + " " + "good " * (i % 5) for i, t in enumerate(texts)]      # lengths differ: bucketing reorders
    reference = clf.predict_proba(texts, pad_to_max_length=True)
    for backend in BACKENDS:
        p = score_reviews(texts, clf, backend, batch_size=8, threads=1)
        assert p.shape == reference.shape and np.allclose(p.sum(axis=1), 1)
        tol = TOLERANCE[backend]
        if tol is not None:
            assert np.abs(p - reference).max() <= tol, backend
        else:                                   # int8: approximate, close on average
            assert np.abs(p - reference).mean() < 0.02, backend


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
    table = mod["main"](["--model", str(tmp_path / "model"), "--examples", "60", "--threads", "1", "--no-record"])
    assert list(table["backend"]) == list(BACKENDS)
    assert table.loc[table["backend"] == "naive", "ratio vs naive"].iloc[0] == 1
    assert table.loc[table["backend"] == "torch", "F1 - fp32"].iloc[0] == 0
