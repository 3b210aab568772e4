"""Reading a test: differences, lifts, Welch, CUPED, and the sample-ratio check."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep

from retention_lib.base.tables import require_columns

from .design import ExperimentError, _check_prob


def compare_proportions(success_t, n_t, success_c, n_c, confidence: float = 0.95) -> dict:
    """Difference in proportions (treated - control) with Wald and Newcombe intervals and the Wald p-value.

    Arrays are accepted (one test per element). Keys: ``p_t``, ``p_c``, ``diff``, ``wald_low``,
    ``wald_high``, ``newcombe_low``, ``newcombe_high``, ``p_value``.
    """
    _check_prob("confidence", confidence)
    st_, nt, sc, nc = (np.asarray(v) for v in (success_t, n_t, success_c, n_c))
    if np.any(nt < 1) or np.any(nc < 1) or np.any(st_ < 0) or np.any(sc < 0) or np.any(st_ > nt) or np.any(sc > nc):
        raise ExperimentError("counts: need 0 <= successes <= customers and at least 1 customer per arm")
    alpha = 1 - confidence
    wald = confint_proportions_2indep(st_, nt, sc, nc, method="wald", alpha=alpha)
    newc = confint_proportions_2indep(st_, nt, sc, nc, method="newcomb", alpha=alpha)
    pt, pc = st_ / nt, sc / nc
    se = np.sqrt(pt * (1 - pt) / nt + pc * (1 - pc) / nc)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(se > 0, 2 * stats.norm.sf(np.abs(pt - pc) / se), 1.0)
    out = {
        "p_t": pt,
        "p_c": pc,
        "diff": pt - pc,
        "wald_low": wald[0],
        "wald_high": wald[1],
        "newcombe_low": newc[0],
        "newcombe_high": newc[1],
        "p_value": p,
    }
    if all(np.ndim(v) == 0 for v in (success_t, n_t, success_c, n_c)):
        out = {k: float(v) for k, v in out.items()}
    return out


def relative_lift(mean_t, var_t, n_t, mean_c, var_c, n_c, confidence: float = 0.95) -> dict:
    """Relative lift ``mean_t / mean_c - 1`` with a delta-method interval.

    With independent arms, ``Var(m_t / m_c) ~ var_t / (n_t m_c^2) + m_t^2 var_c / (n_c m_c^4)``
    (first-order Taylor expansion of the ratio). ``var_*`` are the variances of one customer's
    outcome (``p (1 - p)`` for a rate). Arrays are accepted. Keys: ``lift``, ``low``, ``high``, ``se``.
    """
    mt, vt, nt, mc, vc, nc = (np.asarray(v, dtype=float) for v in (mean_t, var_t, n_t, mean_c, var_c, n_c))
    if np.any(mc <= 0):
        raise ExperimentError("relative lift: the control mean must be > 0 (a lift over zero is undefined)")
    se = np.sqrt(vt / (nt * mc**2) + mt**2 * vc / (nc * mc**4))
    z = stats.norm.ppf(0.5 + confidence / 2)
    lift = mt / mc - 1
    return {"lift": lift, "low": lift - z * se, "high": lift + z * se, "se": se}


def _arms(y, treated, what: str) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=float)
    t = np.asarray(treated)
    if y.shape != t.shape:
        raise ExperimentError(f"{what}: outcome and treatment must have the same length, got {y.shape} and {t.shape}")
    if not np.isin(t, [0, 1]).all():
        raise ExperimentError(f"{what}: treatment must be 0/1 or boolean")
    if not np.isfinite(y).all():
        raise ExperimentError(f"{what}: outcome has {int((~np.isfinite(y)).sum())} missing or infinite value(s)")
    t = t.astype(bool)
    if t.sum() < 2 or (~t).sum() < 2:
        raise ExperimentError(
            f"{what}: need at least 2 customers in each arm, got {int(t.sum())} treated and {int((~t).sum())} control"
        )
    return y[t], y[~t]


def welch(y, treated, confidence: float = 0.95) -> dict:
    """Welch's t-test of a difference in means (unequal variances), SciPy's ``ttest_ind(equal_var=False)``.

    Keys: ``diff``, ``low``, ``high``, ``p_value``, ``se``.
    """
    yt, yc = _arms(y, treated, "welch")
    res = stats.ttest_ind(yt, yc, equal_var=False)
    ci = res.confidence_interval(confidence)
    diff = yt.mean() - yc.mean()
    return {
        "diff": diff,
        "low": ci.low,
        "high": ci.high,
        "p_value": res.pvalue,
        "se": math.sqrt(yt.var(ddof=1) / yt.size + yc.var(ddof=1) / yc.size),
    }


def cuped(y, x, treated, confidence: float = 0.95) -> dict:
    """CUPED (Deng et al. 2013): the difference in means of ``y - theta (x - mean x)``, ``x`` measured
    before the test, ``theta = cov(y, x) / var(x)`` pooled over both arms, then Welch's test.

    Randomisation makes ``x`` independent of the arm, so the adjustment removes variance without
    bias. Keys: those of :func:`welch`, plus ``theta`` and ``variance_reduction`` (share of the
    outcome's variance removed: ``corr(x, y)^2`` in large samples).
    """
    yt, _ = _arms(y, treated, "cuped")
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or not np.isfinite(x).all():
        raise ExperimentError("cuped: the pre-period covariate must be finite and as long as the outcome")
    vx = x.var(ddof=1)
    if vx == 0:
        raise ExperimentError("cuped: the pre-period covariate is constant; it cannot reduce variance")
    theta = np.cov(y, x, ddof=1)[0, 1] / vx
    adjusted = y - theta * (x - x.mean())
    out = welch(adjusted, treated, confidence)
    out["theta"] = float(theta)
    out["variance_reduction"] = float(1 - adjusted.var(ddof=1) / y.var(ddof=1))
    return out


def analyse(
    frame: pd.DataFrame,
    rate: str,
    amount: str,
    covariate: str,
    arm: str = "arm",
    treatment: str = "treatment",
    control: str = "control",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """The whole read-out of a two-arm test, one row per estimate.

    ``frame`` has one row per customer: the ``arm`` column (values ``treatment``/``control``), a 0/1
    ``rate`` column (e.g. bought), an ``amount`` column (e.g. spend) and a pre-period ``covariate``.
    Rows: the rate's difference (Wald, Newcombe) and relative lift (delta method); the amount's
    difference (Welch), its relative lift (delta method) and its CUPED difference. Columns:
    ``estimate``, ``low``, ``high``, ``p_value``.
    """
    require_columns(frame, [arm, rate, amount, covariate], "analyse: the experiment's table", error=ExperimentError)
    unknown = sorted(set(frame[arm].astype(str)) - {treatment, control})
    if unknown:
        raise ExperimentError(f"analyse: column '{arm}' has value(s) {unknown}; expected '{treatment}' or '{control}'")
    t = (frame[arm].astype(str) == treatment).to_numpy()
    b = frame[rate].to_numpy()
    if not np.isin(b, [0, 1]).all():
        raise ExperimentError(f"analyse: column '{rate}' must be 0/1, got values such as {sorted(set(b) - {0, 1})[:3]}")
    s = frame[amount].to_numpy(dtype=float)
    nt, nc = int(t.sum()), int((~t).sum())
    pr = compare_proportions(b[t].sum(), nt, b[~t].sum(), nc, confidence)
    lift_r = relative_lift(
        pr["p_t"], pr["p_t"] * (1 - pr["p_t"]), nt, pr["p_c"], pr["p_c"] * (1 - pr["p_c"]), nc, confidence
    )
    w = welch(s, t, confidence)
    lift_s = relative_lift(s[t].mean(), s[t].var(ddof=1), nt, s[~t].mean(), s[~t].var(ddof=1), nc, confidence)
    cu = cuped(s, frame[covariate].to_numpy(dtype=float), t, confidence)
    z = stats.norm.ppf(0.5 + confidence / 2)
    rows = {
        (rate, "difference (Wald)"): (pr["diff"], pr["wald_low"], pr["wald_high"], pr["p_value"]),
        (rate, "difference (Newcombe)"): (pr["diff"], pr["newcombe_low"], pr["newcombe_high"], pr["p_value"]),
        (rate, "relative lift (delta method)"): (
            lift_r["lift"],
            lift_r["low"],
            lift_r["high"],
            2 * stats.norm.sf(abs(lift_r["lift"]) / lift_r["se"]),
        ),
        (amount, "difference (Welch)"): (w["diff"], w["low"], w["high"], w["p_value"]),
        (amount, "relative lift (delta method)"): (
            lift_s["lift"],
            lift_s["low"],
            lift_s["high"],
            2 * stats.norm.sf(abs(lift_s["lift"]) / lift_s["se"]),
        ),
        (amount, "difference (CUPED)"): (cu["diff"], cu["low"], cu["high"], cu["p_value"]),
    }
    out = pd.DataFrame(
        {k: [float(x) for x in v] for k, v in rows.items()}, index=["estimate", "low", "high", "p_value"]
    ).T
    out.index.names = ["metric", "estimate of"]
    out.attrs.update(n_treatment=nt, n_control=nc, cuped_variance_reduction=cu["variance_reduction"], z=z)
    return out


def srm_check(counts, expected_shares=None, alpha: float = 0.001) -> dict:
    """Sample-ratio mismatch: do the arms' sizes fit the planned split? Pearson's chi-square test (SciPy).

    ``counts``: customers per arm (a dict or a sequence); ``expected_shares``: the planned split
    (default equal). A tiny p-value means the assignment or the logging is broken and the test's
    result cannot be trusted; ``alpha`` is strict (0.001) because the check runs on every test.
    Keys: ``chi2``, ``p_value``, ``mismatch`` (p < alpha), ``observed_shares``.
    """
    names = list(counts) if isinstance(counts, dict) else list(range(len(counts)))
    obs = np.array([counts[k] for k in names] if isinstance(counts, dict) else counts, dtype=float)
    if obs.size < 2 or np.any(obs < 0) or obs.sum() == 0:
        raise ExperimentError(f"srm_check: need customer counts >= 0 for at least two arms, got {list(obs)}")
    shares = (
        np.full(obs.size, 1 / obs.size)
        if expected_shares is None
        else np.asarray(
            [expected_shares[k] for k in names] if isinstance(expected_shares, dict) else expected_shares, dtype=float
        )
    )
    if shares.shape != obs.shape or np.any(shares <= 0) or not np.isclose(shares.sum(), 1):
        raise ExperimentError(
            f"srm_check: expected_shares must be one positive share per arm summing to 1, got {list(shares)}"
        )
    res = stats.chisquare(obs, shares * obs.sum())
    return {
        "chi2": float(res.statistic),
        "p_value": float(res.pvalue),
        "mismatch": bool(res.pvalue < alpha),
        "observed_shares": dict(zip(names, obs / obs.sum())),
    }


def lose_records(
    frame: pd.DataFrame,
    share: float,
    seed: int = 0,
    arm: str = "arm",
    treatment: str = "treatment",
    rate: str = "bought",
) -> pd.DataFrame:
    """A logging bug for teaching: drop ``share`` of the treated arm's rows, all among customers who did
    not buy (as a join on "opened the offer's e-mail" would). The result has a sample-ratio mismatch
    and a biased effect."""
    gone = frame.index[(frame[arm] == treatment) & (frame[rate] == 0)]
    k = int(round(share * (frame[arm] == treatment).sum()))
    if not 0 <= k <= len(gone):
        raise ExperimentError(
            f"lose_records: share {share!r} asks for {k} rows; the treated arm has {len(gone)} non-buyers"
        )
    return frame.drop(index=np.random.default_rng(seed).choice(gone, size=k, replace=False))


def srm_report(
    frames: dict,
    rate: str,
    amount: str,
    covariate: str,
    arm: str = "arm",
    treatment: str = "treatment",
    control: str = "control",
    alpha: float = 0.001,
) -> pd.DataFrame:
    """For each named table of a test: the arm sizes, the ratio check and the effect on ``rate`` it would report."""
    rows = {}
    for name, f in frames.items():
        counts = f[arm].value_counts()
        check = srm_check({treatment: int(counts.get(treatment, 0)), control: int(counts.get(control, 0))}, alpha=alpha)
        est = analyse(f, rate, amount, covariate, arm, treatment, control).iloc[1]
        rows[name] = {
            "treated": int(counts.get(treatment, 0)),
            "control": int(counts.get(control, 0)),
            "treated share": check["observed_shares"][treatment],
            "chi-square p": check["p_value"],
            "mismatch flagged": check["mismatch"],
            "effect (points)": 100 * est["estimate"],
            "low": 100 * est["low"],
            "high": 100 * est["high"],
        }
    return pd.DataFrame(rows).T
