"""A/B tests done right: power, the analysis, sample-ratio mismatch, peeking and a valid sequential test.

Library first: sample sizes and power come from statsmodels (``samplesize_proportions_2indep_onetail``,
``power_proportions_2indep``, ``TTestIndPower``), intervals for a difference in proportions from
statsmodels (``confint_proportions_2indep``: Wald and Newcombe), the Welch test from SciPy, the
sample-ratio check is SciPy's chi-square test, and the always-valid test is the anytime-valid t-test
of Lindon et al. (2024), its Bayes factor in closed form (checked against ``savvi`` in the tests). Hand-written, and tested against a
simulation: the delta-method interval of a relative lift, CUPED, the vectorised statistics at
interim looks that make a peeking simulation of thousands of tests fast, the O'Brien-Fleming spending
function and its boundaries (the crossing probabilities by gsdesign's numerical integration, checked against
gsDesign's published boundaries and by simulation), and the tests of whole policies in :mod:`.decision`
(Welch and CUPED from each arm's moments, checked against the raw-data versions).

Conventions: ``t`` is the treated arm, ``c`` the control; effects are treated minus control;
``confidence`` is the two-sided level of every interval (0.95: a 95 % interval).
"""

from .analysis import analyse, compare_proportions, cuped, lose_records, relative_lift, srm_check, srm_report, welch
from .decision import CONTROL, PolicyBank, decision_summary, decision_tests, guardrail, interaction_tests, policy_bank
from .design import (
    ExperimentError,
    breakeven_lift,
    design,
    formatted,
    mde_means,
    mde_proportions,
    power_means,
    power_proportions,
    sample_size_means,
    sample_size_proportions,
)
from .repeated import (
    as_frame,
    coverage_table,
    pre_period_spend,
    repeated_intervals,
    significance_filter,
    true_effects,
    world_tests,
)
from .sequential import (
    always_valid_pvalues,
    group_sequential_bounds,
    log_bayes_factor,
    look_positions,
    matured_looks,
    mean_stopping_week,
    naive_pvalues,
    naive_zscores,
    obf_spending,
    peeking_study,
    rejections_by_look,
    savvi_phi,
)

__all__ = [
    "sample_size_proportions",
    "power_proportions",
    "mde_proportions",
    "sample_size_means",
    "mde_means",
    "power_means",
    "breakeven_lift",
    "compare_proportions",
    "relative_lift",
    "welch",
    "cuped",
    "analyse",
    "srm_check",
    "look_positions",
    "matured_looks",
    "mean_stopping_week",
    "obf_spending",
    "group_sequential_bounds",
    "naive_zscores",
    "naive_pvalues",
    "always_valid_pvalues",
    "savvi_phi",
    "log_bayes_factor",
    "rejections_by_look",
    "world_tests",
    "as_frame",
    "repeated_intervals",
    "coverage_table",
    "significance_filter",
    "design",
    "formatted",
    "lose_records",
    "srm_report",
    "peeking_study",
    "pre_period_spend",
    "true_effects",
    "ExperimentError",
    "CONTROL",
    "PolicyBank",
    "policy_bank",
    "decision_tests",
    "decision_summary",
    "interaction_tests",
    "guardrail",
]
