"""Simulated data with a known truth, for chapters where the point is to check a method."""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq
from scipy.special import expit

__all__ = ["retention_data"]


def retention_data(n: int, n_features: int, rate: float, seed: int, interaction: float = 1.0):
    """Customers with standard-normal features and a known probability of staying.

    The true logit is ``X @ theta + interaction * x0 * x1 + b``; ``theta`` is drawn once from the
    seed, and ``b`` is solved so that the mean probability equals ``rate``. The interaction term
    is what a linear model cannot represent and a network can.

    Returns ``(X, y, p, theta)`` with X of shape (n, n_features), y (n,) in {0, 1}, p the true
    probabilities (n,), and theta the true linear coefficients.
    """
    if n < 2 or n_features < 2:
        raise ValueError(f"need n >= 2 and n_features >= 2, got n={n}, n_features={n_features}")
    if not 0 < rate < 1:
        raise ValueError(f"rate must be strictly between 0 and 1, got {rate}")
    rng = np.random.default_rng(seed)
    theta = rng.normal(0.0, 1.0, n_features)
    X = rng.normal(size=(n, n_features))
    score = X @ theta + interaction * X[:, 0] * X[:, 1]
    b = brentq(lambda c: expit(score + c).mean() - rate, -50, 50)
    p = expit(score + b)
    y = (rng.random(n) < p).astype(np.float64)
    return X, y, p, theta
