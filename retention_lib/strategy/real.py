"""A real randomised experiment beside the world: Kevin Hillstrom's MineThatData e-mail test.

64,000 customers who bought in the past year were randomised in equal thirds to a men's e-mail, a
women's e-mail or none, and followed for two weeks (visits, conversions, spend). There is no truth here,
only what a shop can measure: :func:`hillstrom_experiment` turns the table into features, arm and
outcome; :func:`cross_fit_policy_value` learns a policy on some customers and values it by inverse
propensity weighting on the others, against sending everyone the arm that did best on average.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from retention_lib.base.tables import require_columns

from .learners import ProfitEffects, stratified_folds
from .policies import ipw_difference, ipw_value, policy

__all__ = ["HILLSTROM_CONTROL", "hillstrom_experiment", "cross_fit_policy_value"]

HILLSTROM_CONTROL = "No E-Mail"
_NUMERIC = ["recency", "history", "mens", "womens", "newbie"]


def hillstrom_experiment(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Features (recency, past-year spend ``history``, bought men's or women's, new customer, and one
    column per zip-code kind and channel), arm (``segment``) and outcome (``spend`` in the two weeks)."""
    require_columns(df, [*_NUMERIC, "zip_code", "channel", "segment", "spend"], "hillstrom")
    X = pd.concat(
        [df[_NUMERIC].astype(float), pd.get_dummies(df[["zip_code", "channel"]].astype(str), dtype=float)], axis=1
    )
    return X, df["segment"].astype(str).rename("arm"), df["spend"].astype(float).rename("outcome")


def cross_fit_policy_value(
    features: pd.DataFrame, arm: pd.Series, outcome: pd.Series, control: str, folds: int, repeats: int, seed: int
) -> pd.DataFrame:
    """A learned policy's value on customers it was not learned from, against the best single arm.

    In each of ``repeats`` random splits into ``folds`` (stratified by arm), a DR learner
    (:class:`~.learners.ProfitEffects`) and the best single arm (highest mean outcome) are learned on the
    other folds; each held-out customer gets the learned policy's arm (the offer with the highest
    positive predicted gain, no budget cap) and the best single arm. Both are valued on all customers by
    inverse propensity weighting, paired.

    Returns
    -------
    DataFrame
        One row per repeat: ``learned`` and ``best single`` (incremental outcome per customer over sending
        nothing), ``difference`` (learned minus best single) with ``low`` and ``high`` (95 %), and
        ``share targeted`` by the learned policy.
    """
    exp = pd.DataFrame({"arm": arm, "profit": outcome})
    rows = []
    for r in range(repeats):
        rng = np.random.default_rng([seed, r])
        fold = stratified_folds(arm, folds, rng)
        learned = pd.Series(control, index=arm.index, dtype=object)
        single = learned.copy()
        for f in range(folds):
            train, test = arm.index[fold != f], arm.index[fold == f]
            gains = (
                ProfitEffects(control, seed=seed + r)
                .fit(features, arm[train], outcome[train])
                .gains(features.loc[test])
            )
            learned[test] = policy(gains, len(test), control)
            means = outcome[train].groupby(arm[train]).mean()
            best = (means.drop(control) - means[control]).idxmax()
            single[test] = best if means[best] > means[control] else control
        d = ipw_difference(learned, single, exp, control=control)
        rows.append(
            {
                "repeat": r,
                "learned": ipw_value(learned, exp, control=control)["value"],
                "best single": ipw_value(single, exp, control=control)["value"],
                "difference": d["difference"],
                "low": d["low"],
                "high": d["high"],
                "share targeted": float((learned != control).mean()),
            }
        )
    return pd.DataFrame(rows)
