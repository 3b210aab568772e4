"""Peeking: test statistics at interim looks; the naive test, a group-sequential plan and an always-valid test.

The group-sequential plan is O'Brien and Fleming's, by Lan and DeMets' alpha spending: the error rate
the plan may have spent by information fraction ``t`` is :func:`obf_spending`, and
:func:`group_sequential_bounds` turns it into a boundary for the z-statistic at each look, computing the
chance of crossing with the numerical integration of Armitage, McPherson and Rowe as gsDesign does it
(the ``gsdesign`` package's ``h1`` and ``hupdate``). :func:`matured_looks` places looks in calendar time
when outcomes take weeks to mature: a look sees only the customers whose window has closed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from gsdesign import h1, hupdate
from scipy import optimize, stats

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


def matured_looks(customers: int, enrol_per_week: float, delay_weeks: float, looks: int) -> pd.DataFrame:
    """Interim looks equally spaced in calendar time over a test whose outcome takes ``delay_weeks`` to mature.

    ``customers`` (both arms) are enrolled at ``enrol_per_week``, so enrolment takes ``E = customers /
    enrol_per_week`` weeks and the last outcome matures at week ``E + delay_weeks``. Look ``k`` of
    ``looks`` is at week ``k (E + delay_weeks) / looks`` and sees the customers enrolled at least
    ``delay_weeks`` before it (a prefix of the arrival order). Looks that see fewer than 4 customers see
    nothing to test and are left out. Returns ``week``, ``customers`` (matured), ``enrolled``.
    """
    if looks < 1 or customers < 4 or not enrol_per_week > 0 or delay_weeks < 0:
        raise ExperimentError(
            f"matured_looks: need looks >= 1, customers >= 4, enrol_per_week > 0 and delay_weeks >= 0, got "
            f"{looks}, {customers}, {enrol_per_week}, {delay_weeks}"
        )
    end = customers / enrol_per_week + delay_weeks
    week = np.arange(1, looks + 1) * end / looks
    matured = np.minimum(np.floor(enrol_per_week * np.maximum(week - delay_weeks, 0) + 1e-9), customers).astype(int)
    matured[-1] = customers
    enrolled = np.minimum(np.floor(enrol_per_week * week + 1e-9), customers).astype(int)
    keep = matured >= 4
    return pd.DataFrame({"week": week[keep], "customers": matured[keep], "enrolled": enrolled[keep]})


def obf_spending(t, alpha: float = 0.05) -> np.ndarray:
    """Lan-DeMets spending function of O'Brien-Fleming type, two-sided: the error rate spent by
    information fraction ``t``, ``4 (1 - Phi(z_{1 - alpha/4} / sqrt(t)))`` (``alpha / 2`` on each side;
    ``alpha`` at ``t = 1``, almost nothing early).

    >>> [round(float(a), 6) for a in obf_spending([0.25, 0.5, 1.0])]
    [1.5e-05, 0.003051, 0.05]
    """
    t = np.asarray(t, dtype=float)
    if not (0 < alpha < 1) or np.any(t <= 0):
        raise ExperimentError(f"obf_spending: need 0 < alpha < 1 and information fractions > 0, got {alpha}, {t}")
    return 4 * stats.norm.sf(stats.norm.isf(alpha / 4) / np.sqrt(np.minimum(t, 1.0)))


def group_sequential_bounds(fractions, alpha: float = 0.05, grid: int = 18) -> np.ndarray:
    """Two-sided z boundaries of the O'Brien-Fleming plan by :func:`obf_spending` at the given
    information fractions (increasing, the last normally 1): reject at look ``k`` when ``|z_k| >= b_k``.

    Each ``b_k`` is solved so that the chance, with no effect, of crossing first at look ``k`` is the
    error rate spent between looks ``k - 1`` and ``k``; that chance comes from the recursive numerical
    integration of the z-statistics' joint distribution (``gsdesign.h1``/``hupdate``; ``grid`` is its
    ``r``). Five equally spaced looks at alpha = 0.05 give gsDesign's 4.877, 3.357, 2.680, 2.290, 2.031.
    """
    t = np.asarray(fractions, dtype=float)
    if t.ndim != 1 or t.size < 1 or np.any(t <= 0) or np.any(t > 1) or np.any(np.diff(t) <= 0):
        raise ExperimentError(f"fractions: need increasing information fractions in (0, 1], got {t}")
    spent = np.diff(np.r_[0.0, obf_spending(t, alpha)])
    bounds = np.empty(t.size)
    bounds[0] = stats.norm.isf(spent[0] / 2)
    state = h1(grid, 0.0, t[0], -bounds[0], bounds[0])
    for k in range(1, t.size):
        z_prev, _, h_prev = state
        shift, scale = z_prev * np.sqrt(t[k - 1]), np.sqrt(t[k] - t[k - 1])

        def crossing(b, k=k, z=shift, s=scale, h=h_prev):
            up = stats.norm.sf((b * np.sqrt(t[k]) - z) / s)
            down = stats.norm.cdf((-b * np.sqrt(t[k]) - z) / s)
            return float(h @ (up + down))

        if spent[k] <= 0 or crossing(40.0) >= spent[k]:
            bounds[k] = np.inf
        else:
            bounds[k] = optimize.brentq(lambda b, k=k: crossing(b) - spent[k], 1e-6, 40.0, xtol=1e-10)
        b = min(bounds[k], 40.0)
        state = hupdate(grid, 0.0, t[k], -b, b, 0.0, t[k - 1], state)
    return bounds


def naive_zscores(y, treated, at) -> np.ndarray:
    """Welch's z-statistic of the difference in means at each look (``y``, ``treated``: (tests,
    customers) in arrival order; ``at``: sample sizes of the looks). Returns (tests, looks)."""
    n1, s1, q1, n0, s0, q0 = _cumulative(y, treated, np.asarray(at))
    with np.errstate(divide="ignore", invalid="ignore"):
        m1, m0 = s1 / n1, s0 / n0
        v1, v0 = (q1 - n1 * m1**2) / (n1 - 1), (q0 - n0 * m0**2) / (n0 - 1)
        z = (m1 - m0) / np.sqrt(v1 / n1 + v0 / n0)
    return np.where(np.isfinite(z), z, 0.0)


def naive_pvalues(y, treated, at) -> np.ndarray:
    """The fixed-horizon test's p-value (Welch's z) recomputed at each look, as a peeking analyst would.

    ``y``, ``treated``: (tests, customers) in arrival order; ``at``: sample sizes of the looks.
    Returns (tests, looks).
    """
    return 2 * stats.norm.sf(np.abs(naive_zscores(y, treated, at)))


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


def mean_stopping_week(rejected_by_look, weeks) -> float:
    """Expected week of the decision when a test stops at its first rejection: ``rejected_by_look`` is the
    share of tests rejected by each look (a column of :func:`peeking_study`), ``weeks`` the looks' weeks;
    a test never rejected ends at the last look.

    >>> mean_stopping_week([0.0, 0.5, 0.8], [40, 44, 48])
    46.0
    """
    share, week = np.asarray(rejected_by_look, dtype=float), np.asarray(weeks, dtype=float)
    if share.shape != week.shape or share.ndim != 1 or np.any(np.diff(share) < 0) or np.any(np.diff(week) <= 0):
        raise ExperimentError("mean_stopping_week: need one non-decreasing share and one increasing week per look")
    stop = np.diff(np.r_[0.0, share])
    return round(float((stop * week).sum() + (1 - share[-1]) * week[-1]), 10)


def peeking_study(
    y_treated, y_control, null_treated, looks: int, phi: float, alpha: float = 0.05, seed: int = 0, at=None
) -> pd.DataFrame:
    """Repeated tests read at interim looks by three analysts: the naive one (the fixed-horizon test, stop
    at the first p < alpha), the group-sequential plan (:func:`group_sequential_bounds` at the looks'
    information fractions) and the always-valid test; each with and without an effect.

    Arrays are (tests, n_per_arm): the treated customers' outcomes with the offer (``y_treated``) and
    without it (``null_treated``: the A/A test), and the controls'. Customers arrive in a random order
    (one per test, from ``seed``). The looks are ``looks`` equally spaced ones, or the sample sizes ``at``
    (both arms; e.g. the matured customers of :func:`matured_looks`). Returns, per look, the share of
    tests rejected by then under each analyst and world; ``attrs`` hold the fixed-horizon test's rates
    read once at the end (``fixed_fp``, ``fixed_power``) and the plan's ``bounds``.
    """
    yt, yc, y0 = (np.asarray(a, dtype=float) for a in (y_treated, y_control, null_treated))
    if not (yt.shape == yc.shape == y0.shape) or yt.ndim != 2:
        raise ExperimentError(
            f"peeking_study: the three arrays must share one (tests, n_per_arm) shape, got "
            f"{yt.shape}, {yc.shape}, {y0.shape}"
        )
    tests, n = yt.shape
    if at is None:
        at = look_positions(2 * n, looks)
    at = np.asarray(at, dtype=int)
    if at.ndim != 1 or at.size < 1 or at[0] < 4 or at[-1] > 2 * n or np.any(np.diff(at) <= 0):
        raise ExperimentError(f"at: need increasing sample sizes from 4 to {2 * n} (both arms), got {at}")
    bounds = group_sequential_bounds(at / at[-1], alpha)
    order = np.random.default_rng(np.random.SeedSequence([seed, 92])).permuted(
        np.tile(np.arange(2 * n), (tests, 1)), axis=1
    )
    arrive = lambda a, b: np.take_along_axis(np.c_[a, b], order, axis=1)  # noqa: E731
    treated = arrive(np.ones_like(yt), np.zeros_like(yc))
    out = {"look": np.arange(1, len(at) + 1), "customers": at}
    attrs = {"bounds": bounds}
    for world_name, y in {"no effect": arrive(y0, yc), "real effect": arrive(yt, yc)}.items():
        z = naive_zscores(y, treated, at)
        naive = 2 * stats.norm.sf(np.abs(z))
        out[f"naive test, {world_name}"] = rejections_by_look(naive, alpha)
        out[f"group-sequential, {world_name}"] = np.maximum.accumulate(np.abs(z) >= bounds, axis=1).mean(axis=0)
        out[f"always-valid, {world_name}"] = rejections_by_look(always_valid_pvalues(y, treated, at, phi), alpha)
        attrs["fixed_fp" if world_name == "no effect" else "fixed_power"] = float((naive[:, -1] < alpha).mean())
    table = pd.DataFrame(out)
    table.attrs.update(attrs)
    return table
