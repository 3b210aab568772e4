"""The retention loss: binary cross-entropy of p = sigmoid(phi), its gradient, and checks.

Conventions (the same as ``torch.nn.functional.binary_cross_entropy_with_logits``):

    L(theta, b) = (1/N) sum_i w_i * l_i  +  (l2 / 2) * ||theta||^2
    l_i         = log(1 + exp(phi_i)) - y_i * phi_i          (= -y log p - (1-y) log(1-p))
    phi_i       = x_i . theta + b

with weights w_i = 1 when none are given. The bias b is not penalised. The gradient is

    dL/dtheta = (1/N) X^T [w * (sigmoid(phi) - y)] + l2 * theta,
    dL/db     = (1/N) sum_i w_i (sigmoid(phi_i) - y_i).

Arrays are NumPy float64: ``X`` has shape (N, d), ``y``, ``weights`` and logits shape (N,),
``theta`` shape (d,).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "bce_with_logits",
    "bce_naive",
    "objective",
    "bce_grad",
    "numeric_grad",
    "autograd_grad",
    "article_expression",
    "ScratchLogisticRegression",
    "sklearn_C",
    "loss_grid",
    "relative_error",
]


def _vec(name: str, a, n: int | None = None) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} entries, expected {n}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return arr


def _check_labels_weights(y, weights, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = _vec("y", y, n)
    if np.any((y < 0) | (y > 1)):
        raise ValueError("y must lie in [0, 1] (labels 0/1, or probabilities)")
    if weights is None:
        w = np.ones(n)
    else:
        w = _vec("weights", weights, n)
        if np.any(w < 0):
            raise ValueError("weights must be non-negative")
    return y, w


def bce_with_logits(logits, y, weights=None) -> float:
    """Mean binary cross-entropy computed from logits, finite for any finite logit.

    Uses log(1 + e^z) = logaddexp(0, z), which never forms e^z for large z and never takes
    log(0): a logit of 1e4 with the wrong label costs 1e4, not inf.
    """
    z = _vec("logits", logits)
    if z.size == 0:
        raise ValueError("logits is empty")
    y, w = _check_labels_weights(y, weights, z.size)
    return float(np.mean(w * (np.logaddexp(0.0, z) - y * z)))


def bce_naive(logits, y) -> float:
    """The textbook formula taken literally: sigmoid first, then logs. Overflows; shown, not used.

    For z = 40, sigmoid(z) rounds to exactly 1.0 in float64, so log(1 - p) = log(0) = -inf.
    """
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        p = 1.0 / (1.0 + np.exp(-z))
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _check_design(X, theta) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be two-dimensional (N, d), got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X holds NaN or infinite values")
    theta = _vec("theta", theta, X.shape[1])
    return X, theta


def objective(X, y, theta, bias: float = 0.0, l2: float = 0.0, weights=None) -> float:
    """L(theta, b): mean weighted BCE of the linear score plus (l2/2) ||theta||^2."""
    X, theta = _check_design(X, theta)
    if l2 < 0:
        raise ValueError(f"l2 must be >= 0, got {l2}")
    return bce_with_logits(X @ theta + bias, y, weights) + 0.5 * l2 * float(theta @ theta)


def bce_grad(X, y, theta, bias: float = 0.0, l2: float = 0.0, weights=None) -> tuple[np.ndarray, float]:
    """Analytic gradient of :func:`objective`: returns (dL/dtheta of shape (d,), dL/db)."""
    X, theta = _check_design(X, theta)
    if l2 < 0:
        raise ValueError(f"l2 must be >= 0, got {l2}")
    y, w = _check_labels_weights(y, weights, X.shape[0])
    r = w * (expit(X @ theta + bias) - y) / X.shape[0]
    return X.T @ r + l2 * theta, float(r.sum())


def numeric_grad(f: Callable[[np.ndarray], float], theta, eps: float = 1e-6) -> np.ndarray:
    """Central finite differences: (f(theta + eps e_j) - f(theta - eps e_j)) / (2 eps) for each j."""
    theta = np.array(theta, dtype=np.float64)
    scalar = theta.ndim == 0
    flat = theta.reshape(-1)
    g = np.empty_like(flat)
    for j in range(flat.size):
        old = flat[j]
        flat[j] = old + eps
        up = f(flat.reshape(theta.shape) if not scalar else flat[0])
        flat[j] = old - eps
        down = f(flat.reshape(theta.shape) if not scalar else flat[0])
        flat[j] = old
        g[j] = (up - down) / (2 * eps)
    return g.reshape(theta.shape)


def autograd_grad(X, y, theta, bias: float = 0.0, l2: float = 0.0, weights=None) -> tuple[np.ndarray, float]:
    """The same gradient from torch.autograd on torch's own BCE-with-logits, in float64."""
    import torch
    import torch.nn.functional as F

    X, theta = _check_design(X, theta)
    y, w = _check_labels_weights(y, weights, X.shape[0])
    t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(float(bias), dtype=torch.float64, requires_grad=True)
    logits = torch.from_numpy(X) @ t + b
    loss = F.binary_cross_entropy_with_logits(logits, torch.from_numpy(y), weight=torch.from_numpy(w))
    loss = loss + 0.5 * l2 * (t * t).sum()
    loss.backward()
    return t.grad.numpy().copy(), float(b.grad)


def article_expression(phi, y) -> float:
    """The seed article's 'gradient': (1/N) sum (sigmoid(phi_i) - y_i) * phi_i. Wrong; kept to show why.

    It multiplies the residual by the score phi instead of by d phi / d theta, so it is one number
    whatever the number of parameters, and it is not dL/dp either.
    """
    phi = np.asarray(phi, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return float(np.mean((expit(phi) - y) * phi))


def loss_grid(
    X, y, theta, bias: float, l2: float, coords: tuple[int, int], values_i, values_j, weights=None
) -> np.ndarray:
    """The objective on a grid over two coordinates of theta (the others held at ``theta``).

    Returns an array of shape (len(values_j), len(values_i)), ready for ``plt.contour``.
    """
    i, j = coords
    base = np.array(theta, dtype=np.float64)
    out = np.empty((len(values_j), len(values_i)))
    for b_idx, vj in enumerate(values_j):
        for a_idx, vi in enumerate(values_i):
            t = base.copy()
            t[i], t[j] = vi, vj
            out[b_idx, a_idx] = objective(X, y, t, bias, l2, weights)
    return out


def relative_error(a, b) -> float:
    """max |a - b| / max |b|: the largest disagreement relative to the reference ``b``."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-12))


def sklearn_C(l2: float, n: int) -> float:
    """scikit-learn's C for the same optimum: sklearn minimises C * sum_i w_i l_i + ||theta||^2 / 2,
    which is our objective times 1 / l2 when C = 1 / (N * l2)."""
    if l2 <= 0:
        raise ValueError("with l2 = 0 there is no penalty: use LogisticRegression(C=numpy.inf)")
    return 1.0 / (n * l2)


class ScratchLogisticRegression(ClassifierMixin, BaseEstimator):
    """Logistic regression fitted from scratch on :func:`objective`, by gradient descent or Newton/IRLS.

    Follows scikit-learn's surface: ``fit`` returns the model, ``predict_proba`` has shape (n, 2).
    Gradient descent (``method="gd"``) takes steps of size ``lr``; Newton solves H delta = g with the
    Hessian H = (1/N) X~^T diag(w p (1-p)) X~ + l2 * diag(1, ..., 1, 0) on the design X~ = [X, 1].
    Stops when the gradient's largest entry is below ``tol``.

    The objective (:func:`objective`) is the mean weighted cross-entropy plus a ridge on the weights::

        J(theta, b) = (1/N) sum_i w_i [log(1 + e^{phi_i}) - y_i phi_i] + (l2 / 2) ||theta||^2,  phi = X theta + b

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 2)); y = (rng.random(500) < 1 / (1 + np.exp(-X[:, 0]))).astype(int)
    >>> m = ScratchLogisticRegression(method="newton").fit(X, y)
    >>> m.converged_, m.n_iter_ < 10
    (True, True)

    Parameters
    ----------
    l2 : float
        Penalty lambda of (lambda / 2) ||theta||^2; the bias is not penalised.
    method : {"newton", "gd"}
    lr : float
        Step size of gradient descent.
    max_iter : int
    tol : float

    Attributes
    ----------
    theta_ : array of shape (d,)
    bias_ : float
    n_iter_ : int
        Iterations taken.
    converged_ : bool
    path_ : list of arrays of shape (d + 1,)
        (theta..., bias) at the start and after every iteration.
    losses_ : list of float
        The objective at each point of ``path_``.
    classes_ : array ``[0, 1]``
    """

    def __init__(
        self, l2: float = 0.0, method: str = "newton", lr: float = 1.0, max_iter: int = 100, tol: float = 1e-10
    ):
        self.l2 = l2
        self.method = method
        self.lr = lr
        self.max_iter = max_iter
        self.tol = tol

    def fit(self, X, y, sample_weight=None, theta0=None, bias0: float = 0.0) -> ScratchLogisticRegression:
        """Minimise the objective from ``theta0`` (zeros by default) and ``bias0``; return the model.

        Parameters
        ----------
        X : array of shape (n, d)
        y : array of shape (n,)
            Labels 0/1 (or probabilities).
        sample_weight : array of shape (n,) or None
            The weights w_i of the objective.
        theta0 : array of shape (d,) or None
        bias0 : float
        """
        if self.method not in ("gd", "newton"):
            raise ValueError(f"method must be 'gd' or 'newton', got {self.method!r}")
        X = np.asarray(X, dtype=np.float64)
        n, d = X.shape
        l2 = self.l2
        y, w = _check_labels_weights(y, sample_weight, n)
        theta = np.zeros(d) if theta0 is None else _vec("theta0", theta0, d).copy()
        bias = float(bias0)
        path, losses = [np.append(theta, bias)], [objective(X, y, theta, bias, l2, w)]
        converged = False
        Xt = np.hstack([X, np.ones((n, 1))])
        ridge = np.full(d + 1, l2)
        ridge[-1] = 0.0
        it = 0
        for it in range(1, self.max_iter + 1):
            g_theta, g_bias = bce_grad(X, y, theta, bias, l2, w)
            g = np.append(g_theta, g_bias)
            if np.max(np.abs(g)) < self.tol:
                converged = True
                it -= 1
                break
            if self.method == "gd":
                step = self.lr * g
            else:
                p = expit(Xt @ np.append(theta, bias))
                H = (Xt * (w * p * (1 - p))[:, None]).T @ Xt / n + np.diag(ridge)
                step = np.linalg.solve(H, g)
            theta, bias = theta - step[:-1], bias - float(step[-1])
            path.append(np.append(theta, bias))
            losses.append(objective(X, y, theta, bias, l2, w))
        else:
            g_theta, g_bias = bce_grad(X, y, theta, bias, l2, w)
            converged = bool(np.max(np.abs(np.append(g_theta, g_bias))) < self.tol)
        self.theta_, self.bias_, self.n_iter_, self.converged_ = theta, bias, it, converged
        self.path_, self.losses_ = path, losses
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = d
        return self

    def decision_function(self, X) -> np.ndarray:
        """The score phi = X theta + b, shape (n,)."""
        check_is_fitted(self, "theta_")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(f"X must have shape (n, {self.n_features_in_}), got {X.shape}")
        return X @ self.theta_ + self.bias_

    def predict_proba(self, X) -> np.ndarray:
        """P(y = 0 | x) and P(y = 1 | x), shape (n, 2)."""
        p = expit(self.decision_function(X))
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        """Class 1 where P(y = 1 | x) >= 0.5, else 0; shape (n,)."""
        return (self.decision_function(X) >= 0).astype(int)
