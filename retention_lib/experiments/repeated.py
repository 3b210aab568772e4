"""The same test many times in the linked world: coverage of intervals and what significance selects."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from retention_lib.world import OFFERS, replay_outcomes

from .analysis import compare_proportions, cuped, relative_lift, welch
from .design import ExperimentError, _check_n


def world_tests(
    world,
    offer: str,
    n_per_arm: int,
    tests: int,
    covariate: pd.Series,
    seed: int = 0,
    replace: bool = True,
    chunk_customers: int = 2_000_000,
) -> dict:
    """``tests`` fresh experiments of ``offer`` against no offer in a linked world, ``n_per_arm`` each.

    Each test picks ``2 n_per_arm`` customers, gives the first half the offer, and reads every
    customer's holdout from a fresh draw of luck (:func:`world.replay_outcomes`). With ``replace``
    the customers are drawn with replacement (the world's customers are the population the tests
    sample, so the population mean effect is exactly the estimand); without it they are distinct
    (one real test among the world's customers; needs ``2 n_per_arm <= customers``).

    Returns a dict of (tests, n_per_arm) arrays: ``bought_t``, ``spend_t``, ``x_t`` (the covariate)
    for the treated, ``bought_c``, ``spend_c``, ``x_c`` for the controls, and ``null_bought_t``,
    ``null_spend_t``: the treated customers' outcomes had they received no offer (an A/A test).
    """
    if offer not in OFFERS:
        raise ExperimentError(f"offer must be one of {list(OFFERS)}, got {offer!r}")
    _check_n("n_per_arm", n_per_arm)
    if tests < 1:
        raise ExperimentError(f"tests must be >= 1, got {tests}")
    customers = world.truth.customers
    if not covariate.index.equals(customers.index):
        raise ExperimentError("covariate: must be indexed like the world's customers (truth.customers)")
    n_cust = len(customers)
    if not replace and (tests > 1 or 2 * n_per_arm > n_cust):
        raise ExperimentError(
            f"without replacement only one test of at most {n_cust // 2} per arm fits in this "
            f"world of {n_cust} customers; asked for {tests} test(s) of {n_per_arm} per arm"
        )
    rng = np.random.default_rng(np.random.SeedSequence([seed, 90]))
    x_all = covariate.to_numpy(dtype=float)
    per_chunk = max(1, chunk_customers // (2 * n_per_arm))
    parts = []
    for start in range(0, tests, per_chunk):
        k = min(per_chunk, tests - start)
        rows = (
            rng.integers(0, n_cust, (k, 2 * n_per_arm)) if replace else rng.permutation(n_cust)[None, : 2 * n_per_arm]
        )
        out = replay_outcomes(world, rows, seed=int(rng.integers(2**31)))
        t, c = slice(0, n_per_arm), slice(n_per_arm, 2 * n_per_arm)
        parts.append(
            {
                "bought_t": out[offer]["bought"][:, t],
                "spend_t": out[offer]["spend"][:, t],
                "x_t": x_all[rows[:, t]],
                "bought_c": out["none"]["bought"][:, c],
                "spend_c": out["none"]["spend"][:, c],
                "x_c": x_all[rows[:, c]],
                "null_bought_t": out["none"]["bought"][:, t],
                "null_spend_t": out["none"]["spend"][:, t],
            }
        )
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def as_frame(draws: dict, test: int = 0) -> pd.DataFrame:
    """One test of :func:`world_tests` as the table a shop would analyse: ``arm``, ``bought``, ``spend``, ``pre_spend``."""
    n = draws["bought_t"].shape[1]
    return pd.DataFrame(
        {
            "arm": ["treatment"] * n + ["control"] * n,
            "bought": np.r_[draws["bought_t"][test], draws["bought_c"][test]].astype(int),
            "spend": np.r_[draws["spend_t"][test], draws["spend_c"][test]],
            "pre_spend": np.r_[draws["x_t"][test], draws["x_c"][test]],
        }
    )


def repeated_intervals(draws: dict, confidence: float = 0.95) -> dict:
    """Every test of :func:`world_tests` analysed as :func:`analyse` would: method -> DataFrame of
    ``estimate``, ``low``, ``high``, ``p_value`` (one row per test)."""
    bt, bc, st_, sc = draws["bought_t"], draws["bought_c"], draws["spend_t"], draws["spend_c"]
    n_t, n_c = bt.shape[1], bc.shape[1]
    pr = compare_proportions(bt.sum(1), n_t, bc.sum(1), n_c, confidence)
    lift = relative_lift(
        pr["p_t"], pr["p_t"] * (1 - pr["p_t"]), n_t, pr["p_c"], pr["p_c"] * (1 - pr["p_c"]), n_c, confidence
    )
    out = {
        "share who buy: difference (Wald)": (pr["diff"], pr["wald_low"], pr["wald_high"], pr["p_value"]),
        "share who buy: difference (Newcombe)": (pr["diff"], pr["newcombe_low"], pr["newcombe_high"], pr["p_value"]),
        "share who buy: relative lift (delta)": (
            lift["lift"],
            lift["low"],
            lift["high"],
            2 * stats.norm.sf(np.abs(lift["lift"]) / lift["se"]),
        ),
    }
    treated = np.r_[np.ones(n_t, bool), np.zeros(n_c, bool)]
    welch_rows, cuped_rows = [], []
    for i in range(bt.shape[0]):
        y = np.r_[st_[i], sc[i]]
        w = welch(y, treated, confidence)
        cu = cuped(y, np.r_[draws["x_t"][i], draws["x_c"][i]], treated, confidence)
        welch_rows.append((w["diff"], w["low"], w["high"], w["p_value"]))
        cuped_rows.append((cu["diff"], cu["low"], cu["high"], cu["p_value"]))
    out["spend: difference (Welch)"] = tuple(np.array(welch_rows).T)
    out["spend: difference (CUPED)"] = tuple(np.array(cuped_rows).T)
    return {k: pd.DataFrame(dict(zip(["estimate", "low", "high", "p_value"], v))) for k, v in out.items()}


def coverage_table(intervals: dict, truth: dict, alpha: float = 0.05) -> pd.DataFrame:
    """Share of intervals that contain the true value, with its Monte Carlo standard error, the mean
    width, and the share of tests called significant. ``truth``: method -> true value."""
    rows = {}
    for name, df in intervals.items():
        hit = (df["low"] <= truth[name]) & (truth[name] <= df["high"])
        cov = hit.mean()
        rows[name] = {
            "true value": truth[name],
            "mean estimate": df["estimate"].mean(),
            "coverage": cov,
            "coverage se": np.sqrt(cov * (1 - cov) / len(df)),
            "mean width": (df["high"] - df["low"]).mean(),
            "share significant": (df["p_value"] < alpha).mean(),
            "tests": len(df),
        }
    return pd.DataFrame(rows).T


def significance_filter(estimates, p_values, truth: float, alpha: float = 0.05) -> dict:
    """What "significant" selects when the same test runs many times (Gelman and Carlin 2014).

    Keys: ``power`` (share of tests with p < alpha), ``exaggeration`` (mean |estimate| of the
    significant tests over |truth|: the type M error) and ``wrong_sign`` (share of the significant
    tests whose estimate has the wrong sign: the type S error).
    """
    est, p = np.asarray(estimates, dtype=float), np.asarray(p_values, dtype=float)
    sig = p < alpha
    if truth == 0:
        raise ExperimentError("significance_filter: the true effect is 0; exaggeration is undefined")
    if not sig.any():
        return {"power": 0.0, "exaggeration": float("nan"), "wrong_sign": float("nan")}
    return {
        "power": float(sig.mean()),
        "exaggeration": float(np.abs(est[sig]).mean() / abs(truth)),
        "wrong_sign": float((np.sign(est[sig]) != np.sign(truth)).mean()),
    }


def pre_period_spend(observed, index: pd.Index) -> pd.Series:
    """What each customer spent up to the cutoff (0 for none), indexed like ``index``: CUPED's covariate."""
    before = observed.purchases[observed.purchases["date"] <= observed.cutoff]
    return before.groupby("customer_id")["amount"].sum().reindex(index, fill_value=0.0).rename("pre_spend")


def true_effects(expected: pd.DataFrame, offer: str) -> dict:
    """The world's mean effects of ``offer`` over its customers, from :func:`world.expected_outcomes`:
    ``diff`` (share who buy), ``lift`` (its relative lift), ``spend`` and ``spend_lift``."""
    p1, p0 = expected[f"p_buy_{offer}"].mean(), expected["p_buy_none"].mean()
    s1, s0 = expected[f"spend_{offer}"].mean(), expected["spend_none"].mean()
    return {
        "diff": float(p1 - p0),
        "lift": float(p1 / p0 - 1),
        "spend": float(s1 - s0),
        "spend_lift": float(s1 / s0 - 1),
    }
