"""The BG/NBD model of repeat buying (Fader, Hardie and Lee 2005), fitted by maximum likelihood.

:class:`BGNBD` follows scikit-learn's surface: ``BGNBD(horizon=39).fit(summary)`` returns the
model, ``predict_proba(summary)`` gives P(no purchase), P(any purchase) in the next ``horizon``
weeks as an (n, 2) array. The paper's quantities are also available on plain arrays
(``p_alive``, ``conditional_expected_purchases``, ...), as in the paper's notation: ``x`` repeat
purchases, the last at ``tx``, observed until ``T`` (weeks since the first purchase).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import gammaln, hyp2f1
from sklearn.base import BaseEstimator

from retention_lib.base.tables import require_columns

__all__ = ["BGNBD", "bgnbd_log_likelihood"]

_COLUMNS = ("frequency_cal", "recency_cal", "T_cal")


def bgnbd_log_likelihood(params, x, tx, T) -> np.ndarray:
    """Each customer's BG/NBD log-likelihood (equation 6 of the paper).

    Parameters
    ----------
    params : sequence of 4 floats
        r, alpha, a, b.
    x, tx, T : arrays of shape (n,)
        Repeat purchases, time of the last one and length of observation (weeks).

    Returns
    -------
    array of shape (n,)
    """
    r, alpha, a, b = params
    x, tx, T = (np.asarray(v, dtype=float) for v in (x, tx, T))
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore"):
        a4 = np.where(
            x > 0, np.log(a) - np.log(np.where(x > 0, b + x - 1, 1.0)) - (r + x) * np.log(alpha + tx), -np.inf
        )
    return a1 + a2 + np.logaddexp(a3, a4)


def _summary_arrays(summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    require_columns(summary, _COLUMNS, "summary", expected=f"{list(_COLUMNS)}, from calibration_holdout")
    return tuple(summary[c].to_numpy(dtype=float) for c in _COLUMNS)


class BGNBD(BaseEstimator):
    """BG/NBD fitted by maximum likelihood (L-BFGS-B on log-parameters).

    While active, a customer buys at rate ``lambda ~ Gamma(r, alpha)``; after each purchase they drop
    out with probability ``p ~ Beta(a, b)``. A customer with ``x`` repeat purchases, the last at ``tx``,
    observed for ``T`` weeks, has likelihood (Fader, Hardie and Lee 2005, eq. 6)::

        L = B(a, b + x) / B(a, b) * Gamma(r + x) alpha^r / Gamma(r) / (alpha + T)^(r + x)
            + [x > 0] * B(a + 1, b + x - 1) / B(a, b) * Gamma(r + x) alpha^r / Gamma(r) / (alpha + tx)^(r + x)

    summed in logs over customers by :func:`bgnbd_log_likelihood`.

    Parameters
    ----------
    horizon : float or None
        Weeks ahead that :meth:`predict_proba` and :meth:`expected_purchases` look; needed only by
        them.
    start : tuple of 4 floats
        Starting values of r, alpha, a, b.

    Attributes
    ----------
    params_ : dict
        ``r``, ``alpha``, ``a``, ``b``.
    log_likelihood_ : float
    n_customers_ : int
    classes_ : array ``[0, 1]`` (no purchase, any purchase in the horizon)

    Examples
    --------
    >>> summary = pd.DataFrame({"frequency_cal": [0, 2, 5, 1], "recency_cal": [0.0, 20.0, 30.0, 5.0],
    ...                         "T_cal": [38.0, 35.0, 36.0, 30.0]})
    >>> model = BGNBD.from_params({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, horizon=39)
    >>> model.predict_proba(summary).shape
    (4, 2)
    >>> bool(model.p_alive(5, 30.0, 36.0) > model.p_alive(5, 10.0, 36.0))  # a recent buyer is more likely alive
    True
    """

    def __init__(self, horizon: float | None = None, start=(1.0, 1.0, 1.0, 1.0)):
        self.horizon = horizon
        self.start = start

    @classmethod
    def from_params(cls, params: dict, horizon: float | None = None) -> BGNBD:
        """A model with known parameters (``r``, ``alpha``, ``a``, ``b``), without fitting."""
        m = cls(horizon=horizon)
        m.params_ = {k: float(params[k]) for k in ("r", "alpha", "a", "b")}
        m.log_likelihood_, m.n_customers_ = np.nan, 0
        m.classes_ = np.array([0, 1])
        return m

    def fit(self, summary: pd.DataFrame, y=None) -> BGNBD:
        """Fit on a calibration summary (``frequency_cal``, ``recency_cal``, ``T_cal``); ``y`` is ignored."""
        xs, txs, Ts = _summary_arrays(summary)
        if len(xs) == 0:
            raise ValueError("summary: no customers")
        if np.any(xs < 0) or np.any(txs < 0) or np.any(txs > Ts + 1e-9) or np.any((xs == 0) & (txs > 0)):
            raise ValueError("summary: need 0 <= recency <= T, and recency 0 when frequency is 0")

        def nll(logp):
            return -np.sum(bgnbd_log_likelihood(np.exp(logp), xs, txs, Ts))

        res = optimize.minimize(nll, np.log(self.start), method="L-BFGS-B")
        if not res.success:
            raise RuntimeError(f"BG/NBD fit did not converge: {res.message}")
        r, alpha, a, b = np.exp(res.x)
        self.params_ = {"r": float(r), "alpha": float(alpha), "a": float(a), "b": float(b)}
        self.log_likelihood_ = float(-res.fun)
        self.n_customers_ = len(xs)
        self.classes_ = np.array([0, 1])
        return self

    # ---- on a summary frame

    def _horizon(self) -> float:
        if self.horizon is None:
            raise ValueError("BGNBD: set horizon (weeks ahead) to predict, e.g. BGNBD(horizon=39)")
        return float(self.horizon)

    def predict_proba(self, summary: pd.DataFrame) -> np.ndarray:
        """P(no purchase) and P(any purchase) in the next ``horizon`` weeks, shape (n, 2)."""
        p = self.prob_any_purchase(self._horizon(), *_summary_arrays(summary))
        return np.column_stack([1 - p, p])

    def expected_purchases(self, summary: pd.DataFrame) -> np.ndarray:
        """Expected purchases in the next ``horizon`` weeks, shape (n,): a ranking score, not a probability."""
        return self.conditional_expected_purchases(self._horizon(), *_summary_arrays(summary))

    # ---- the paper's quantities on arrays

    def _p(self):
        p = self.params_
        return p["r"], p["alpha"], p["a"], p["b"]

    def _dead_to_alive(self, x, tx, T) -> np.ndarray:
        """Posterior odds of having dropped out after the last purchase (0 without a repeat purchase)."""
        r, alpha, a, b = self._p()
        return np.where(x > 0, a / np.maximum(b + x - 1, 1e-12) * ((alpha + T) / (alpha + tx)) ** (r + x), 0.0)

    def p_alive(self, x, tx, T) -> np.ndarray:
        """P(the customer is still active at T | x repeat purchases, last at tx)."""
        x, tx, T = (np.asarray(v, dtype=float) for v in (x, tx, T))
        return 1.0 / (1.0 + self._dead_to_alive(x, tx, T))

    def conditional_expected_purchases(self, t, x, tx, T) -> np.ndarray:
        """E[purchases in (T, T + t] | x, tx, T] (equation 10 of the paper)."""
        r, alpha, a, b = self._p()
        x, tx, T = (np.asarray(v, dtype=float) for v in (x, tx, T))
        z = t / (alpha + T + t)
        first = (a + b + x - 1) / (a - 1)
        second = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
        return first * second / (1 + self._dead_to_alive(x, tx, T))

    def prob_any_purchase(self, t, x, tx, T) -> np.ndarray:
        """P(at least one purchase in (T, T + t] | x, tx, T).

        A customer can only drop out right after a purchase, so an active customer's next purchase
        comes before any dropout: P = P(alive) * (1 - E[exp(-lambda t) | data]), with lambda's
        posterior Gamma(r + x, alpha + T).
        """
        r, alpha, _, _ = self._p()
        x, T = np.asarray(x, dtype=float), np.asarray(T, dtype=float)
        return self.p_alive(x, tx, T) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x))

    def expected_purchases_new_customer(self, t) -> np.ndarray:
        """E[X(t)]: repeat purchases in (0, t] of a customer just acquired (equation 9)."""
        r, alpha, a, b = self._p()
        t = np.asarray(t, dtype=float)
        return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))
