import numpy as np
import pandas as pd
import pytest

from retention_lib import sentiment
from retention_lib.base import metrics
from retention_lib.sentiment import SentimentClassifier, TrainConfig

WORDS = ["good", "great", "love", "bad", "awful", "hate", "okay", "fine", "dress", "shirt", "the", "is", "it"]


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """A 1-layer BERT built from a config, with a 20-word vocabulary: fast and fully offline."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    folder = tmp_path_factory.mktemp("tiny")
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS
    tok = BertTokenizer(vocab={t: i for i, t in enumerate(tokens)})
    assert tok("the dress is good")["input_ids"] == [2, 15, 13, 16, 5, 3]  # no [UNK]: the vocabulary is used
    cfg = BertConfig(
        vocab_size=tok.vocab_size,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    BertForSequenceClassification(cfg).bert.save_pretrained(folder)  # an encoder without a head
    tok.save_pretrained(folder)
    return folder


def toy_data(n, seed):
    rng = np.random.default_rng(seed)
    pos, neg, neu = ["good", "great", "love"], ["bad", "awful", "hate"], ["okay", "fine"]
    texts, labels = [], []
    for _ in range(n):
        k = int(rng.integers(0, 3))
        word = rng.choice([neg, neu, pos][k])
        texts.append(f"the {rng.choice(['dress', 'shirt'])} is {word}")
        labels.append(k)
    return texts, labels


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_probabilities_and_save_load_roundtrip(tiny_checkpoint, tmp_path, pooling):
    clf = SentimentClassifier.from_pretrained(tiny_checkpoint, max_length=16, seed=0, pooling=pooling, device="cpu")
    assert clf.new_parameters_ and all("classifier" in k for k in clf.new_parameters_)
    texts, _ = toy_data(10, 0)
    p = clf.predict_proba(texts)
    assert p.shape == (10, 3)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
    clf.save(tmp_path / "m")
    again = SentimentClassifier.load(tmp_path / "m", device="cpu")
    assert again.labels == clf.labels and again.pooling == pooling
    np.testing.assert_array_equal(again.predict_proba(texts), p)
    assert (tmp_path / "m" / "model.safetensors").exists()


def test_fine_tuning_learns_and_keeps_the_best_weights(tiny_checkpoint):
    clf = SentimentClassifier.from_pretrained(tiny_checkpoint, max_length=16, seed=0, pooling="mean", device="cpu")
    tr, ytr = toy_data(300, 1)
    va, yva = toy_data(90, 2)
    fitted = clf.fit(
        tr,
        ytr,
        va,
        yva,
        TrainConfig(epochs=6, lr=5e-3, batch_size=16, max_length=16, patience=6, evals_per_epoch=1, warmup_ratio=0.1),
        progress=False,
        log=lambda m: None,
    )
    assert fitted is clf and list(clf.classes_) == [0, 1, 2]
    hist = clf.history_
    assert list(hist.columns[:3]) == ["epoch", "step", "examples"]
    assert hist["val_macro_f1"].max() > 0.95
    ev = metrics.multiclass_metrics(np.array(yva), clf.predict_proba(va), clf.labels)
    assert ev["macro_f1"] == pytest.approx(hist["val_macro_f1"].max())


def test_an_interrupted_run_resumes_to_the_same_model(tiny_checkpoint, tmp_path):
    tr, ytr = toy_data(120, 1)
    va, yva = toy_data(30, 2)
    cfg = TrainConfig(
        epochs=3, lr=5e-3, batch_size=16, max_length=16, patience=10, evals_per_epoch=2, checkpoint_every=3
    )

    def fresh():
        return SentimentClassifier.from_pretrained(tiny_checkpoint, max_length=16, seed=0, pooling="mean", device="cpu")

    reference = fresh()
    reference.fit(tr, ytr, va, yva, cfg, progress=False, log=lambda m: None)

    class Interrupt(Exception):
        pass

    seen = []

    def stop_at_third_evaluation(msg):
        seen.append(msg)
        if sum("validation macro-F1" in m for m in seen) == 3:
            raise Interrupt

    first = fresh()
    with pytest.raises(Interrupt):
        first.fit(tr, ytr, va, yva, cfg, checkpoint_dir=tmp_path, progress=False, log=stop_at_third_evaluation)
    assert (tmp_path / "checkpoint.pt").exists()
    logs = []
    resumed = fresh()
    resumed.fit(tr, ytr, va, yva, cfg, checkpoint_dir=tmp_path, progress=False, log=logs.append)
    assert any(m.startswith("resuming from") for m in logs)
    assert len(resumed.history_) == len(reference.history_)
    np.testing.assert_allclose(resumed.predict_proba(va), reference.predict_proba(va), atol=1e-6)
    # a finished run is reused as it is, and still reports the time its training took
    logs = []
    again = fresh()
    again.fit(tr, ytr, va, yva, cfg, checkpoint_dir=tmp_path, progress=False, log=logs.append)
    assert any("finished: reusing it" in m for m in logs)
    assert again.train_seconds_ == pytest.approx(resumed.train_seconds_) and again.train_seconds_ > 0
    np.testing.assert_allclose(again.predict_proba(va), reference.predict_proba(va), atol=1e-6)


class _RunsCode:
    def __reduce__(self):
        return (print, ("this ran while loading a checkpoint",))


def test_a_checkpoint_holding_an_arbitrary_object_is_refused(tiny_checkpoint, tmp_path, capsys):
    import torch

    torch.save({"fingerprint": "x", "state": _RunsCode()}, tmp_path / "checkpoint.pt")
    clf = SentimentClassifier.from_pretrained(tiny_checkpoint, max_length=16, device="cpu")
    tr, ytr = toy_data(20, 1)
    logs = []
    clf.fit(tr, ytr, tr, ytr, TrainConfig(epochs=1), checkpoint_dir=tmp_path, progress=False, log=logs.append)
    assert "this ran" not in capsys.readouterr().out
    assert any("objects other than tensors and plain data" in m for m in logs)
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["state"]["epoch"] == 1  # replaced by a safe one


def test_balanced_weights_need_every_class(tiny_checkpoint):
    clf = SentimentClassifier.from_pretrained(tiny_checkpoint, max_length=16, device="cpu")
    with pytest.raises(ValueError, match=r"no example of \['neutral'\]"):
        clf.fit(["good", "bad"], [2, 0], ["fine"], [1], TrainConfig(epochs=1), progress=False)


@pytest.mark.parametrize(
    "texts,labels,exc,match",
    [
        ([], [], ValueError, "empty"),
        ("one review", [0], TypeError, "list of strings"),
        (["fine", 3], [0, 1], TypeError, r"texts\[1\] is int"),
        (["fine", "good"], [0, "happy"], ValueError, r"labels\[1\] = 'happy' is not a known label"),
        (["fine", "good"], [0, 7], ValueError, r"labels\[1\] = 7"),
        (["fine", "good"], [0], ValueError, "1 labels for 2 texts"),
    ],
)
def test_bad_input_gives_clear_errors(tiny_checkpoint, texts, labels, exc, match):
    clf = SentimentClassifier.from_pretrained(tiny_checkpoint, max_length=16, device="cpu")
    with pytest.raises(exc, match=match):
        clf.fit(texts, labels, ["fine"], [1], TrainConfig(epochs=1), progress=False)


def test_predict_rejects_bad_texts(tiny_checkpoint):
    clf = SentimentClassifier.from_pretrained(tiny_checkpoint, max_length=16, device="cpu")
    with pytest.raises(ValueError, match="empty"):
        clf.predict_proba([])
    with pytest.raises(TypeError, match=r"texts\[0\] is NoneType"):
        clf.predict_proba([None])


def test_config_and_loading_errors(tmp_path):
    with pytest.raises(ValueError, match="class_weighting"):
        TrainConfig(class_weighting="inverse")
    with pytest.raises(FileNotFoundError, match="not a saved SentimentClassifier"):
        SentimentClassifier.load(tmp_path)
    with pytest.raises(OSError, match="cannot load a model"):
        SentimentClassifier.from_pretrained(tmp_path / "nothing-here")


def test_labels_and_texts_from_ratings():
    reviews = pd.DataFrame(
        {
            "title": ["Nice", None, None, "Meh", "Bad"],
            "review_text": ["Lovely dress", "Too small", None, None, "Tore at once"],
            "rating": [5, 2, 4, 3, 1],
        }
    ).astype({"title": "string", "review_text": "string"})
    assert sentiment.review_texts(reviews).tolist()[:2] == ["Nice. Lovely dress", "Too small"]
    df, excluded = sentiment.make_dataset(reviews, "3class")
    assert df["label"].tolist() == [2, 0, 1, 0] and excluded == {"no title and no text": 1}
    df2, excluded2 = sentiment.make_dataset(reviews, "binary")
    assert df2["label"].tolist() == [1, 0, 0] and excluded2["3-star (neutral) reviews"] == 1
    with pytest.raises(ValueError, match="scheme"):
        sentiment.make_dataset(reviews, "5class")


def test_split_is_stratified_disjoint_and_seeded():
    df = pd.DataFrame({"text": [f"t{i}" for i in range(1000)], "label": [0] * 100 + [1] * 150 + [2] * 750})
    a, b = sentiment.split(df, seed=3), sentiment.split(df, seed=3)
    assert [len(a[k]) for k in ("train", "val", "test")] == [700, 100, 200]
    assert set(a["train"].index).isdisjoint(a["test"].index) and set(a["val"].index).isdisjoint(a["test"].index)
    assert a["test"]["label"].value_counts().to_dict() == {2: 150, 1: 30, 0: 20}
    assert a["test"].index.equals(b["test"].index)


def test_baselines_learn_the_toy_task():
    tr, ytr = toy_data(300, 1)
    te, yte = toy_data(100, 2)
    tfidf = sentiment.tfidf_baseline().fit(tr, ytr)
    assert (tfidf.predict(te) == np.array(yte)).mean() > 0.95
    vader = sentiment.VaderBaseline(3).fit(tr, ytr)
    assert len(vader.thresholds_) == 2 and (vader.predict(te) == np.array(yte)).mean() > 0.6
    # every model has the same surface: predict_proba of shape (n, k), rows summing to 1
    for model in (tfidf, vader):
        p = model.predict_proba(te)
        assert p.shape == (100, 3) and np.allclose(p.sum(axis=1), 1) and list(model.classes_) == [0, 1, 2]
    np.testing.assert_array_equal(vader.predict_proba(te).argmax(axis=1), vader.predict(te))


def test_evaluate_and_confident_errors():
    proba = np.array([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.7, 0.2, 0.1]])
    y = np.array([0, 1, 2, 2])
    ev = metrics.multiclass_metrics(y, proba, ("n", "u", "p"))
    assert ev["accuracy"] == 0.75 and ev["confusion"].to_numpy()[2, 0] == 1
    err = metrics.confident_errors(["a", "b", "c", "d"], y, proba, ("n", "u", "p"))
    assert err["text"].tolist() == ["d"] and err["predicted"].tolist() == ["n"]
    with pytest.raises(ValueError, match="shape"):
        metrics.multiclass_metrics(y, proba[:, :2], ("n", "u", "p"))
    table = metrics.evaluate_multiclass(y, {"a": proba, "b": proba[:, [2, 1, 0]]}, ("n", "u", "p"))
    assert list(table.columns) == ["macro_f1", "accuracy", "ece"] and table.loc["a", "accuracy"] == 0.75


def test_throughput_counts_reviews_over_the_timed_span(tiny_checkpoint, monkeypatch):
    """Reviews per second = reviews processed in the timed passes / the seconds between the two clock
    readings (a clock that ticks 2 s per reading makes the answer exact); training steps change the
    weights, inference leaves them alone."""
    import torch

    from retention_lib.sentiment import speed

    clock = iter(range(0, 1000, 2))
    monkeypatch.setattr(speed, "perf_counter", lambda: next(clock))
    texts, labels = toy_data(32, 0)
    for train, repeats in ((False, 1), (False, 3), (True, 2)):
        clf = SentimentClassifier.from_pretrained(tiny_checkpoint, max_length=16, device="cpu")
        before = [w.detach().clone() for w in clf.model.parameters()]
        rate = sentiment.throughput(
            clf, texts, labels, 8, train=train, pad_to_max_length=True, bucket=False, bf16=False, repeats=repeats
        )
        assert rate == 32 * repeats / 2, (train, repeats)
        changed = any(not torch.equal(a, b) for a, b in zip(before, clf.model.parameters()))
        assert changed == train


@pytest.mark.slow
def test_benchmark_script_runs_on_the_packaged_model():
    import runpy

    from conftest import ROOT

    mod = runpy.run_path(str(ROOT / "benchmarks" / "sentiment_speed.py"))
    table = mod["main"](["--examples", "16", "--batch-sizes", "8", "--no-record"])
    assert set(table["mode"]) == {"inference", "training"}
    assert (table.groupby("mode")["ratio vs naive"].first() == 1.0).all()


@pytest.mark.slow
def test_the_gpu_script_runs_end_to_end_at_smoke_sizes_on_a_cpu(tmp_path):
    """The first lent GPU has minutes: its script must run in one go. Here it runs dry, on the CPU."""
    import os
    import subprocess
    import sys

    from conftest import ROOT

    env = dict(os.environ, DRY_RUN="1", PYTHON=sys.executable, OUT=str(tmp_path / "out"))
    proc = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu_full_profile.sh")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for name in ["gpu.txt", "benchmark.log", "RESULTS.md", "run_02.log", "02_sentiment.ipynb", "history.csv"]:
        assert (tmp_path / "out" / name).exists(), name
    assert "ratio vs naive" in (tmp_path / "out" / "benchmark.log").read_text()
