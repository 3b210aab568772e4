"""Peeking: test statistics at interim looks, the naive test's and an always-valid one."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .design import ExperimentError


def look_positions(n: int, looks: int) -> np.ndarray:
    """Sample sizes at ``looks`` equally spaced interim looks of a test of ``n`` customers (the last is n)."""
    if looks < 1 or n < 4 * looks:
        raise ExperimentError(f"looks must be between 1 and n/4 = {n // 4}, got {looks}")
    return np.unique(np.round(np.linspace(n / looks, n, looks)).astype(int))


def _cumulative(y: np.ndarray, treated: np.ndarray, at: np.ndarray) -> tuple:
    y = np.atleast_2d(np.asarray(y, dtype=float))
    t = np.atleast_2d(np.asarray(treated)).astype(bool)
    if y.shape != t.shape:
        raise ExperimentError(f"outcome and treatment must have the same shape, got {y.shape} and {t.shape}")
    yt, yc = np.where(t, y, 0.0), np.where(t, 0.0, y)
    cs = lambda a: np.cumsum(a, axis=1)[:, at - 1]  # noqa: E731
    return cs(t.astype(float)), cs(yt), cs(yt**2), cs((~t).astype(float)), cs(yc), cs(yc**2)


def naive_pvalues(y, treated, at) -> np.ndarray:
    """The fixed-horizon test's p-value (Welch's z) recomputed at each look, as a peeking analyst would.

    ``y``, ``treated``: (tests, customers) in arrival order; ``at``: sample sizes of the looks.
    Returns (tests, looks).
    """
    n1, s1, q1, n0, s0, q0 = _cumulative(y, treated, np.asarray(at))
    with np.errstate(divide="ignore", invalid="ignore"):
        m1, m0 = s1 / n1, s0 / n0
        v1, v0 = (q1 - n1 * m1**2) / (n1 - 1), (q0 - n0 * m0**2) / (n0 - 1)
        z = (m1 - m0) / np.sqrt(v1 / n1 + v0 / n0)
    return np.where(np.isfinite(z), 2 * stats.norm.sf(np.abs(z)), 1.0)


def savvi_phi(sd: float, effect: float) -> float:
    """The prior scale ``phi`` of the anytime-valid t-test for effects of size ``effect``: ``(sd / effect)^2``.

    The test mixes over effects ``~ N(0, sigma^2 / phi)``; matching that spread to the effect one
    hopes to find gives the test most of its power there.
    """
    if not (sd > 0 and effect != 0):
        raise ExperimentError(f"savvi_phi: need sd > 0 and a non-zero effect, got sd={sd!r}, effect={effect!r}")
    return float((sd / effect) ** 2)


def log_bayes_factor(t2, nu, phi: float, z2):
    """Log Bayes factor of the anytime-valid t-test (Lindon et al. 2024) for one coefficient, in closed form.

    With ``r = phi / (phi + z2)``::

        log BF = 1/2 log r + (nu + 1) / 2 * [log(1 + t2 / nu) - log(1 + r t2 / nu)]

    where ``t2`` is the coefficient's squared t-statistic, ``nu`` the residual degrees of freedom,
    ``z2 = sigma^2 / se^2`` and ``phi`` the prior's scale (:func:`savvi_phi`). The same formula as
    ``savvi.linear_regression.log_bf`` (0.3.1), which the tests compare it with; written here so the
    book does not install savvi (and cvxpy) for one line.

    Examples
    --------
    >>> round(float(log_bayes_factor(t2=9.0, nu=1000, phi=1.0, z2=250.0)), 4)
    1.7037
    """
    t2, nu, z2 = np.asarray(t2, dtype=float), np.asarray(nu, dtype=float), np.asarray(z2, dtype=float)
    r = phi / (phi + z2)
    return 0.5 * np.log(r) + 0.5 * (nu + 1) * (np.log1p(t2 / nu) - np.log1p(r * t2 / nu))


def always_valid_pvalues(y, treated, at, phi: float = 1.0) -> np.ndarray:
    """Anytime-valid p-values (Lindon et al. 2024) at each look: reject when below alpha at *any* look.

    The regression ``y ~ 1 + treated`` is summarised at each look (coefficient t-statistic, residual
    degrees of freedom ``nu = n - 3`` and ``z2 = sigma^2 / se^2 = n_t n_c / n``, as in savvi's
    ``LinearRegression``), :func:`log_bayes_factor` gives the Bayes factor, and the p-value is the running
    minimum of ``min(1, 1 / BF)``. Looking only at some sample sizes keeps the guarantee (it holds
    at every n). Returns (tests, looks).
    """
    if not phi > 0:
        raise ExperimentError(f"phi must be > 0, got {phi!r}")
    at = np.asarray(at)
    n1, s1, q1, n0, s0, q0 = _cumulative(y, treated, at)
    n = n1 + n0
    with np.errstate(divide="ignore", invalid="ignore"):
        m1, m0 = s1 / n1, s0 / n0
        sse = (q1 - n1 * m1**2) + (q0 - n0 * m0**2)
        sigma2 = sse / (n - 2)
        z2 = n1 * n0 / n
        t2 = (m1 - m0) ** 2 / (sigma2 / z2)
        nu = n - 3
        p = np.exp(-log_bayes_factor(t2, nu, phi, z2))
    p = np.where(np.isfinite(p) & (n1 >= 2) & (n0 >= 2) & (nu > 0), np.minimum(p, 1.0), 1.0)
    return np.minimum.accumulate(p, axis=1)


def rejections_by_look(pvalues: np.ndarray, alpha: float = 0.05) -> np.ndarray:
    """Share of tests rejected at or before each look (the error rate of a peeker who stops at the first p < alpha)."""
    return np.maximum.accumulate(np.asarray(pvalues) < alpha, axis=1).mean(axis=0)


def peeking_study(
    y_treated, y_control, null_treated, looks: int, phi: float, alpha: float = 0.05, seed: int = 0
) -> pd.DataFrame:
    """Repeated tests read at ``looks`` interim looks, naive and always-valid, with and without an effect.

    Arrays are (tests, n_per_arm): the treated customers' outcomes with the offer (``y_treated``) and
    without it (``null_treated``: the A/A test), and the controls'. Customers arrive in a random order
    (one per test, from ``seed``). Returns, per look, the share of tests rejected by then under each
    test and world; ``attrs`` hold the fixed-horizon test's rates read once at the end
    (``fixed_fp``, ``fixed_power``).
    """
    yt, yc, y0 = (np.asarray(a, dtype=float) for a in (y_treated, y_control, null_treated))
    if not (yt.shape == yc.shape == y0.shape) or yt.ndim != 2:
        raise ExperimentError(
            f"peeking_study: the three arrays must share one (tests, n_per_arm) shape, got "
            f"{yt.shape}, {yc.shape}, {y0.shape}"
        )
    tests, n = yt.shape
    at = look_positions(2 * n, looks)
    order = np.random.default_rng(np.random.SeedSequence([seed, 92])).permuted(
        np.tile(np.arange(2 * n), (tests, 1)), axis=1
    )
    arrive = lambda a, b: np.take_along_axis(np.c_[a, b], order, axis=1)  # noqa: E731
    treated = arrive(np.ones_like(yt), np.zeros_like(yc))
    out = {"look": np.arange(1, len(at) + 1), "customers": at}
    for world_name, y in {"no effect": arrive(y0, yc), "real effect": arrive(yt, yc)}.items():
        naive = naive_pvalues(y, treated, at)
        out[f"naive test, {world_name}"] = rejections_by_look(naive, alpha)
        out[f"always-valid, {world_name}"] = rejections_by_look(always_valid_pvalues(y, treated, at, phi), alpha)
        key = "fixed_fp" if world_name == "no effect" else "fixed_power"
        fixed = float((naive[:, -1] < alpha).mean())
        out.setdefault("_attrs", {})[key] = fixed
    attrs = out.pop("_attrs")
    table = pd.DataFrame(out)
    table.attrs.update(attrs)
    return table
