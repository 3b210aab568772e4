import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score

from retention_lib.retention import synthetic as simulate
from retention_lib.retention.mlp import MLPRetention


def data(n=1500, seed=0):
    X, y, p, _ = simulate.retention_data(n, 4, 0.3, seed)
    return X, y, p


def test_learns_the_interaction_and_gives_probabilities():
    X, y, p = data()
    m = MLPRetention(hidden=(16,), epochs=30, batch_size=64, seed=0).fit(X[:1000], y[:1000], X[1000:], y[1000:])
    proba = m.predict_proba(X[1000:])
    assert proba.shape == (500, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert roc_auc_score(y[1000:], proba[:, 1]) > 0.7
    assert list(m.history_.columns) == ["train_loss", "val_loss"]


def test_same_seed_same_numbers():
    X, y, _ = data(400)
    a = MLPRetention(epochs=3, seed=5, device="cpu").fit(X, y).predict_proba(X)
    b = MLPRetention(epochs=3, seed=5, device="cpu").fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_early_stopping_keeps_the_best_epoch():
    X, y, _ = data(600)
    m = MLPRetention(hidden=(64, 64), dropout=0.0, weight_decay=0.0, epochs=60, batch_size=16, patience=5, seed=0).fit(
        X[:150], y[:150], X[150:], y[150:]
    )
    h = m.history_
    assert len(h) < 60  # stopped early
    assert len(h) - int(h["val_loss"].idxmin()) == 5


@pytest.mark.parametrize(
    "kwargs,X,y,match",
    [
        ({}, np.ones((3, 2)), np.array([0, 1, 2]), "Only binary classification is supported"),
        ({}, np.ones((3, 2)), np.array([0, 1]), "inconsistent numbers of samples"),
        ({}, np.ones((3, 2)), np.array([0.2, 0.5, 0.9]), "Unknown label type"),
        ({}, np.ones((3, 2)), np.array(["a", "a", "a"]), "one class only"),
        ({"dropout": 1.0}, np.ones((3, 2)), np.array([0, 1, 1]), "dropout"),
    ],
)
def test_bad_input(kwargs, X, y, match):
    with pytest.raises(ValueError, match=match):
        MLPRetention(epochs=1, **kwargs).fit(X, y)


def test_predict_before_fit_and_wrong_width():
    with pytest.raises(NotFittedError, match="fit"):
        MLPRetention().predict_proba(np.ones((2, 2)))
    m = MLPRetention(epochs=1).fit(np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2)
    with pytest.raises(ValueError, match="X has 4 features, but MLPRetention is expecting 3 features"):
        m.predict_proba(np.ones((2, 4)))


def test_it_passes_scikit_learns_estimator_checks():
    """Every check of scikit-learn's check_estimator (56 on scikit-learn 1.9), as a binary classifier."""
    import warnings

    from sklearn.utils.estimator_checks import check_estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(MLPRetention(epochs=60, device="cpu"), on_fail=None)
    failed = {r["check_name"]: repr(r["exception"])[:200] for r in results if r["status"] == "failed"}
    assert len(results) > 40 and not failed, failed
