"""Retention strategy (chapter 08): whom to give which offer, under a budget, and what each rule earns.

Everything lives in :mod:`.policies`; this package re-exports its public names.
"""

from .policies import (
    OfferCosts,
    XLearner,
    budget_curve,
    cross_fit_uplift,
    customer_kinds,
    customer_value,
    expected_gain,
    experiment_frame,
    fit_uplift,
    ipw_difference,
    ipw_value,
    make_uplift_models,
    policy,
    qini_area,
    risk_scores,
    true_gain_curve,
    true_value,
    uplift_area,
)

__all__ = [
    "OfferCosts",
    "experiment_frame",
    "XLearner",
    "make_uplift_models",
    "fit_uplift",
    "expected_gain",
    "policy",
    "true_value",
    "ipw_value",
    "ipw_difference",
    "true_gain_curve",
    "budget_curve",
    "customer_kinds",
    "customer_value",
    "risk_scores",
    "cross_fit_uplift",
    "qini_area",
    "uplift_area",
]
