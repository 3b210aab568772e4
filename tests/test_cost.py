"""Cost of reading reviews: FLOP counts against the model's arithmetic, money from speed and prices,
speed and accuracy tables of the inference backends, and clear errors."""

import numpy as np
import pandas as pd
import pytest
from test_sentiment import tiny_checkpoint, toy_data  # noqa: F401  (a fixture and its data)

from retention_lib.sentiment import SentimentClassifier
from retention_lib.serving import cost


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_forward_flops_equal_the_models_matrix_products(tiny_checkpoint, pooling):  # noqa: F811
    clf = SentimentClassifier.from_pretrained(tiny_checkpoint, max_length=32, seed=0, pooling=pooling, device="cpu")
    cfg = clf.model.config if hasattr(clf.model, "config") else clf.model.encoder.config
    h, i, layers, k = cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers, len(clf.labels)
    for n in (4, 9, 16):
        per_token = 2 * (4 * h * h + 2 * h * i) * layers  # Q, K, V, output; the two feed-forward layers
        attention = 4 * n * n * h * layers  # scores and weighted values
        head = 2 * h * k + (2 * h * h if pooling == "cls" else 0)  # classifier (+ BERT's pooler for [CLS])
        assert cost.forward_flops(clf, n) == per_token * n + attention + head
    with pytest.raises(ValueError, match="n_tokens must be >= 2"):
        cost.forward_flops(clf, 1)


def test_money_from_speed_and_prices():
    # 1e6 reviews at 1000/s take 1000 s = 1/3.6 h; at 36 USD/h that is 10 USD
    assert cost.usd_per_million(1000, 36.0) == pytest.approx(10.0)
    assert cost.llm_usd_per_million(100, 2, 0.15, 0.60) == pytest.approx(100 * 0.15 + 2 * 0.60)
    r = cost.retraining(10_000, 2, 50.0, 0.36)
    assert r["hours"] == pytest.approx(20_000 / 50 / 3600) and r["usd"] == pytest.approx(r["hours"] * 0.36)
    assert cost.estimated_rate(2e9, 100.0, 0.5) == pytest.approx(100e12 * 0.5 / 2e9)
    table = cost.cost_table(
        [
            {"method": "a", "hardware": "cpu", "reviews/s": 1000, "usd_per_hour": 36.0, "macro-F1": 0.7},
            {"method": "api", "hardware": "API", "usd per 1M": 16.2, "basis": "price list"},
        ]
    )
    assert list(table["usd per 1M"]) == pytest.approx([10.0, 16.2])
    assert table.loc[0, "basis"] == "measured" and np.isnan(table.loc[1, "macro-F1"])
    for bad in (
        lambda: cost.usd_per_million(0, 1),
        lambda: cost.estimated_rate(1e9, 100, 1.5),
        lambda: cost.retraining(0, 1, 1, 1),
        lambda: cost.llm_usd_per_million(-1, 1, 1, 1),
    ):
        with pytest.raises(ValueError):
            bad()
    with pytest.raises(ValueError, match="give reviews/s and usd_per_hour"):
        cost.cost_table([{"method": "a", "hardware": "cpu"}])


def test_speed_and_accuracy_tables(tiny_checkpoint):  # noqa: F811
    clf = SentimentClassifier.from_pretrained(tiny_checkpoint, max_length=16, seed=0, device="cpu")
    texts, labels = toy_data(60, seed=2)
    speed, proba = cost.backend_speed(texts, clf, ["int8", "torch"], threads=[1], batch_size=8, warmup=8)
    assert list(speed["backend"]) == ["naive", "int8", "torch"]  # the baseline first, always
    assert speed.loc[0, "ratio vs naive"] == 1 and (speed["reviews/s"] > 0).all()
    assert speed.set_index("backend").loc["torch", "within tolerance"]
    np.testing.assert_allclose(proba["torch"], proba["naive"], atol=1e-5)
    acc, fp32 = cost.backend_accuracy(
        texts, labels, clf, ["naive", "torch", "int8"], "torch", batch_size=8, n_resamples=200
    )
    acc = acc.set_index("backend")
    assert acc.loc["torch", "F1 - fp32"] == 0 and acc.loc["naive", "macro-F1"] == acc.loc["torch", "macro-F1"]
    assert acc.loc["int8", "low"] <= acc.loc["int8", "F1 - fp32"] <= acc.loc["int8", "high"]
    assert fp32.shape == (60, 3)
    with pytest.raises(ValueError, match="reference must be an exact backend"):
        cost.backend_accuracy(texts, labels, clf, reference="int8")
    with pytest.raises(ValueError, match=r"backends: unknown \['tensorrt'\]"):
        cost.backend_speed(texts, clf, ["tensorrt"])
    with pytest.raises(ValueError, match="threads must be whole numbers >= 1"):
        cost.backend_speed(texts, clf, threads=[0])


def test_accelerator_speed_table_runs_on_any_device(tiny_checkpoint, tmp_path):  # noqa: F811
    clf = SentimentClassifier.from_pretrained(tiny_checkpoint, max_length=16, seed=0, device="cpu")
    clf.save(tmp_path / "m")
    texts, _ = toy_data(40, seed=4)
    table = cost.accelerator_speed(texts, tmp_path / "m", "cpu", batch_sizes=(8, 16), warmup=1)
    assert list(table["precision"]) == ["fp32", "fp32", "bf16", "bf16"] and (table["reviews/s"] > 0).all()
    assert table["max |p - fp32|"].iloc[1] < 1e-6 < table["max |p - fp32|"].iloc[2] < 0.05  # bf16 rounds


def test_saved_splits_come_from_chapter_two_scores():
    labelled = pd.DataFrame({"text": list("abcdef"), "label": [0, 1, 2, 0, 1, 2]}, index=[10, 11, 12, 13, 14, 15])
    scores = pd.DataFrame({"split": ["train", "train", "test", "validation", "test"]}, index=[10, 11, 12, 13, 14])
    assert list(cost.saved_split(labelled, scores, "test").index) == [12, 14]
    assert len(cost.saved_split(labelled, scores, "test", n=1, seed=0)) == 1
    assert list(cost.training_pool(labelled, scores).index) == [10, 11, 15]  # 15: never scored, still trainable
    with pytest.raises(ValueError, match="split 'dev' is not in the saved scores"):
        cost.saved_split(labelled, scores, "dev")
    with pytest.raises(ValueError, match="no 'split' column"):
        cost.training_pool(labelled, scores.rename(columns={"split": "part"}))
