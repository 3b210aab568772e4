import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.linear_model import LogisticRegression

from retention_lib.retention import losses
from retention_lib.retention import synthetic as simulate

finite = st.floats(-5, 5, allow_nan=False, allow_infinity=False)


@st.composite
def problems(draw):
    n = draw(st.integers(1, 40))
    d = draw(st.integers(1, 6))
    X = draw(arrays(np.float64, (n, d), elements=finite))
    y = draw(arrays(np.float64, n, elements=st.sampled_from([0.0, 1.0])))
    theta = draw(arrays(np.float64, d, elements=finite))
    bias = draw(finite)
    weights = draw(st.one_of(st.none(), arrays(np.float64, n, elements=st.floats(0, 5))))
    l2 = draw(st.sampled_from([0.0, 1e-3, 0.5, 3.0]))
    return X, y, theta, bias, l2, weights


@settings(max_examples=150, deadline=None)
@given(problems())
def test_analytic_gradient_agrees_with_autograd(problem):
    X, y, theta, bias, l2, w = problem
    g, gb = losses.bce_grad(X, y, theta, bias, l2, w)
    a, ab = losses.autograd_grad(X, y, theta, bias, l2, w)
    np.testing.assert_allclose(g, a, rtol=1e-9, atol=1e-12)
    assert gb == pytest.approx(ab, rel=1e-9, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(problems())
def test_analytic_gradient_agrees_with_finite_differences(problem):
    X, y, theta, bias, l2, w = problem
    g, gb = losses.bce_grad(X, y, theta, bias, l2, w)
    fd = losses.numeric_grad(lambda t: losses.objective(X, y, t[:-1], t[-1], l2, w), np.append(theta, bias))
    np.testing.assert_allclose(np.append(g, gb), fd, rtol=1e-5, atol=1e-7)


@given(arrays(np.float64, st.integers(1, 30), elements=st.floats(-1e4, 1e4)), st.data())
def test_loss_is_finite_and_non_negative_for_extreme_logits(z, data):
    y = data.draw(arrays(np.float64, z.shape, elements=st.sampled_from([0.0, 1.0])))
    value = losses.bce_with_logits(z, y)
    assert np.isfinite(value) and value >= 0


def test_extreme_logits_by_hand():
    assert losses.bce_with_logits([1e4], [0]) == pytest.approx(1e4)
    assert losses.bce_with_logits([-1e4], [0]) == 0.0
    assert losses.bce_with_logits([0.0], [1]) == pytest.approx(np.log(2))
    assert not np.isfinite(losses.bce_naive([40.0], [0.0]))  # what the stable version avoids


def test_matches_torch_bce_with_logits():
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(1)
    z, y, w = rng.normal(0, 30, 50), rng.integers(0, 2, 50).astype(float), rng.uniform(0, 2, 50)
    ref = F.binary_cross_entropy_with_logits(torch.tensor(z), torch.tensor(y), weight=torch.tensor(w))
    assert losses.bce_with_logits(z, y, w) == pytest.approx(float(ref), rel=1e-12)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([1e-3, 0.05, 1.0]), st.booleans())
def test_gradient_vanishes_at_the_trainers_optimum(seed, l2, weighted):
    X, y, _, _ = simulate.retention_data(300, 3, 0.3, seed)
    w = np.random.default_rng(seed).uniform(0.5, 2, 300) if weighted else None
    fit = losses.ScratchLogisticRegression(l2=l2, method="newton", tol=1e-10).fit(X, y, sample_weight=w)
    g, gb = losses.bce_grad(X, y, fit.theta_, fit.bias_, l2, w)
    assert fit.converged_
    assert np.max(np.abs(np.append(g, gb))) < 1e-9


@pytest.mark.parametrize("weighted", [False, True])
def test_newton_and_gradient_descent_reach_scikit_learn(weighted):
    X, y, _, _ = simulate.retention_data(2000, 4, 0.25, 3)
    w = np.random.default_rng(0).uniform(0.5, 2.0, len(y)) if weighted else None
    l2 = 0.01
    sk = LogisticRegression(C=losses.sklearn_C(l2, len(y)), tol=1e-12, max_iter=10_000).fit(X, y, sample_weight=w)
    ref = np.append(sk.coef_[0], sk.intercept_[0])
    newton = losses.ScratchLogisticRegression(l2=l2, method="newton").fit(X, y, sample_weight=w)
    gd = losses.ScratchLogisticRegression(l2=l2, method="gd", lr=2.0, max_iter=20_000, tol=1e-9).fit(
        X, y, sample_weight=w
    )
    np.testing.assert_allclose(np.append(newton.theta_, newton.bias_), ref, atol=1e-6)
    np.testing.assert_allclose(np.append(gd.theta_, gd.bias_), ref, atol=1e-5)
    assert newton.n_iter_ < 15 < gd.n_iter_
    # the model contract: probabilities of both classes, as scikit-learn's
    np.testing.assert_allclose(newton.predict_proba(X), sk.predict_proba(X), atol=1e-6)
    assert list(newton.classes_) == [0, 1]


def test_unpenalised_fit_matches_scikit_learn_without_penalty():
    X, y, _, _ = simulate.retention_data(1000, 3, 0.4, 5)
    sk = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(X, y)
    fit = losses.ScratchLogisticRegression(l2=0.0).fit(X, y)
    np.testing.assert_allclose(fit.theta_, sk.coef_[0], atol=1e-5)


def test_article_expression_is_a_scalar_and_not_the_gradient():
    X, y, _, _ = simulate.retention_data(500, 4, 0.3, 0)
    theta = np.array([0.5, -0.3, 0.2, 0.1])
    g, _ = losses.bce_grad(X, y, theta)
    art = losses.article_expression(X @ theta, y)
    assert np.ndim(art) == 0 and g.shape == (4,)
    assert not np.allclose(g, art)


def test_numeric_grad_of_a_known_function():
    g = losses.numeric_grad(lambda t: float(np.sum(t**3)), np.array([1.0, -2.0]))
    np.testing.assert_allclose(g, [3.0, 12.0], rtol=1e-8)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: losses.bce_with_logits([], []), "empty"),
        (lambda: losses.bce_with_logits([0.0, 1.0], [1.0]), "y has 1 entries, expected 2"),
        (lambda: losses.bce_with_logits([0.0], [2.0]), r"y must lie in \[0, 1\]"),
        (lambda: losses.bce_with_logits([np.nan], [1.0]), "NaN"),
        (lambda: losses.bce_with_logits([0.0], [1.0], weights=[-1.0]), "non-negative"),
        (lambda: losses.bce_grad(np.ones(3), [1, 0, 1], [0.0]), "two-dimensional"),
        (lambda: losses.bce_grad(np.ones((3, 2)), [1, 0, 1], [0.0]), "theta has 1 entries, expected 2"),
        (lambda: losses.objective(np.ones((3, 1)), [1, 0, 1], [0.0], l2=-1), "l2 must be >= 0"),
        (lambda: losses.ScratchLogisticRegression(method="adam").fit(np.ones((3, 1)), [1, 0, 1]), "'gd' or 'newton'"),
    ],
)
def test_bad_input_gives_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
