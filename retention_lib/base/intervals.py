"""Bootstrap intervals of a metric, of a mean, of paired differences and of a share of a gain (SciPy's bootstrap); re-exported by :mod:`.metrics`."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
from scipy import stats


def bootstrap_ci(
    y, p, metric: Callable, n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``metric(y, p)`` over customers (scipy.stats.bootstrap).

    Returns
    -------
    (low, high) : tuple of float
    """
    res = stats.bootstrap(
        (np.asarray(y), np.asarray(p)),
        metric,
        paired=True,
        vectorized=False,
        n_resamples=n_resamples,
        confidence_level=confidence,
        method="percentile",
        random_state=np.random.default_rng(seed),
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def paired_bootstrap_diff(
    y, p_a, p_b, metric: Callable, n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> dict:
    """metric(y, p_a) - metric(y, p_b) with a paired percentile bootstrap interval.

    Both models are scored on the same resampled customers, so the interval reflects the
    difference itself rather than two independent noises.

    Returns
    -------
    dict
        ``difference``, ``low``, ``high``.
    """
    y, p_a, p_b = (np.asarray(v) for v in (y, p_a, p_b))
    stat = lambda yy, aa, bb: metric(yy, aa) - metric(yy, bb)  # noqa: E731
    res = stats.bootstrap(
        (y, p_a, p_b),
        stat,
        paired=True,
        vectorized=False,
        n_resamples=n_resamples,
        confidence_level=confidence,
        method="percentile",
        random_state=np.random.default_rng(seed),
    )
    return {
        "difference": float(stat(y, p_a, p_b)),
        "low": float(res.confidence_interval.low),
        "high": float(res.confidence_interval.high),
    }


def paired_bootstrap_share(
    y, p_part, p_whole, p_base, metric: Callable, n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> dict:
    """The share of a gain that another recovers: ``(metric(y, p_part) - metric(y, p_base)) /
    (metric(y, p_whole) - metric(y, p_base))``, with a paired percentile bootstrap interval (all three
    scored on the same resampled customers).

    A ratio of two small, noisy differences is noisier than either: the interval says how much. When the
    whole gain is not positive in some resample, the share is undefined there and the interval is NaN
    (``defined`` is then below 1): no share can be stated.

    Returns
    -------
    dict
        ``share``, ``low``, ``high``, ``defined`` (the fraction of resamples with a positive whole gain).
    """
    y, a, w, b = (np.asarray(v) for v in (y, p_part, p_whole, p_base))

    def ratio(yy, aa, ww, bb):
        base = metric(yy, bb)
        whole = metric(yy, ww) - base
        return (metric(yy, aa) - base) / whole if whole > 0 else np.nan

    with warnings.catch_warnings():  # an undefined resample makes the interval NaN, as documented: no warning
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        res = stats.bootstrap(
            (y, a, w, b),
            ratio,
            paired=True,
            vectorized=False,
            n_resamples=n_resamples,
            confidence_level=confidence,
            method="percentile",
            random_state=np.random.default_rng(seed),
        )
    dist = np.asarray(res.bootstrap_distribution, dtype=float)
    return {
        "share": float(ratio(y, a, w, b)),
        "low": float(res.confidence_interval.low),
        "high": float(res.confidence_interval.high),
        "defined": float(np.isfinite(dist).mean()),
    }


def mean_ci(values, n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0) -> dict:
    """The mean of per-unit values (e.g. one NDCG per user) with a percentile bootstrap interval
    over the units (scipy.stats.bootstrap). Returns ``mean``, ``low``, ``high``."""
    v = np.asarray(values, dtype=float)
    if v.size < 2:
        raise ValueError(f"mean_ci: need at least 2 values, got {v.size}")
    res = stats.bootstrap(
        (v,),
        np.mean,
        vectorized=True,
        n_resamples=n_resamples,
        confidence_level=confidence,
        method="percentile",
        random_state=np.random.default_rng(seed),
    )
    return {
        "mean": float(v.mean()),
        "low": float(res.confidence_interval.low),
        "high": float(res.confidence_interval.high),
    }


def paired_mean_diff(a, b, n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0) -> dict:
    """mean(a) - mean(b) for values paired by unit (two models scored on the same users), with a
    paired percentile bootstrap interval. Returns ``difference``, ``low``, ``high``."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired_mean_diff: the two sets of values must be paired, got {a.shape} and {b.shape}")
    r = mean_ci(a - b, n_resamples, confidence, seed)
    return {"difference": r["mean"], "low": r["low"], "high": r["high"]}


def mean_t_interval(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """The mean of a few values (one per world, say) with Student's t interval (scipy's ``ttest_1samp``).
    Values that do not vary give the mean as both ends (scipy would give NaN). Returns (mean, low, high)."""
    v = np.asarray(values, dtype=float)
    if v.size < 2:
        raise ValueError(f"mean_t_interval: need at least 2 values, got {v.size}")
    if np.ptp(v) == 0:
        return float(v[0]), float(v[0]), float(v[0])
    ci = stats.ttest_1samp(v, 0.0).confidence_interval(confidence)
    return float(v.mean()), float(ci.low), float(ci.high)
