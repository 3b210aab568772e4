"""Designing a test: sample size, power and the minimum detectable effect (statsmodels)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import optimize
from statsmodels.stats.power import TTestIndPower
from statsmodels.stats.proportion import power_proportions_2indep, samplesize_proportions_2indep_onetail


class ExperimentError(ValueError):
    """An input of a test is out of range or inconsistent."""


def _check_prob(name: str, value: float, open_: bool = True) -> None:
    ok = 0 < value < 1 if open_ else 0 <= value <= 1
    if not (isinstance(value, (int, float, np.integer, np.floating)) and np.isfinite(value) and ok):
        raise ExperimentError(f"{name} must be a number strictly between 0 and 1, got {value!r}")


def _check_n(name: str, value) -> None:
    if not (isinstance(value, (int, np.integer)) or (isinstance(value, float) and value.is_integer())) or value < 2:
        raise ExperimentError(f"{name} must be a whole number of customers >= 2, got {value!r}")


def sample_size_proportions(p_control: float, effect: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Customers per arm to detect ``effect`` (absolute, e.g. 0.02 for 2 points) on a rate ``p_control``.

    Two-sided test of two independent proportions at level ``alpha`` with the given ``power``
    (statsmodels' ``samplesize_proportions_2indep_onetail``: the normal approximation, variance
    under the alternative), rounded up.
    """
    _check_prob("p_control", p_control)
    _check_prob("alpha", alpha)
    _check_prob("power", power)
    if not 0 < abs(effect) < 1 or not 0 < p_control + effect < 1:
        raise ExperimentError(
            f"effect must be non-zero with p_control + effect between 0 and 1, got "
            f"effect={effect!r}, p_control={p_control!r}"
        )
    n = samplesize_proportions_2indep_onetail(effect, p_control, power, alpha=alpha, alternative="two-sided")
    return int(math.ceil(n))


def power_proportions(p_control: float, effect: float, n_per_arm: int, alpha: float = 0.05) -> float:
    """Power of the two-sided test of two proportions with ``n_per_arm`` customers per arm."""
    _check_prob("p_control", p_control)
    _check_n("n_per_arm", n_per_arm)
    return float(power_proportions_2indep(effect, p_control, n_per_arm, alpha=alpha, alternative="two-sided").power)


def mde_proportions(p_control: float, n_per_arm: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """Minimum detectable (positive) effect on a rate: the smallest lift found with ``power`` at ``n_per_arm``."""
    _check_prob("power", power)
    _check_n("n_per_arm", n_per_arm)
    f = lambda d: power_proportions(p_control, d, n_per_arm, alpha) - power  # noqa: E731
    hi = 1 - p_control - 1e-9
    if f(hi) < 0:
        raise ExperimentError(f"no effect up to {hi:.3f} reaches power {power} with {n_per_arm} per arm")
    return float(optimize.brentq(f, 1e-9, hi, xtol=1e-7))


def sample_size_means(sd: float, effect: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Customers per arm to detect a difference ``effect`` in a mean whose standard deviation is ``sd``
    (two-sample t-test, statsmodels' ``TTestIndPower``), rounded up."""
    if not sd > 0 or effect == 0:
        raise ExperimentError(f"sd must be > 0 and effect non-zero, got sd={sd!r}, effect={effect!r}")
    n = TTestIndPower().solve_power(effect_size=abs(effect) / sd, alpha=alpha, power=power, ratio=1.0)
    return int(math.ceil(n))


def power_means(sd: float, effect: float, n_per_arm: int, alpha: float = 0.05) -> float:
    """Power of a two-sample t-test with ``n_per_arm`` per arm to find a difference ``effect`` in a mean
    whose standard deviation is ``sd`` (statsmodels' ``TTestIndPower``)."""
    _check_n("n_per_arm", n_per_arm)
    if not sd > 0:
        raise ExperimentError(f"sd must be > 0, got {sd!r}")
    return float(TTestIndPower().power(effect_size=abs(effect) / sd, nobs1=n_per_arm, alpha=alpha, ratio=1.0))


def breakeven_lift(p_control: float, spend_per_buyer: float, discount_rate: float, contact_cost: float) -> float:
    """The smallest rise in the share of customers who buy (absolute) at which an offer pays for itself.

    With the offer, a share ``p_control + lift`` buys and pays ``1 - discount_rate`` of the
    ``spend_per_buyer`` (list price), and every customer costs ``contact_cost``; without it, a share
    ``p_control`` pays the full price. The profit per customer changes by
    ``lift (1 - d) V - d p0 V - c``, zero at::

        lift* = (d p0 V + c) / ((1 - d) V)

    It assumes the offer changes *whether* a customer buys, not how much a buyer spends (chapter 8 shows
    the discount also makes buyers buy more often; that is extra, on top of this).

    >>> round(breakeven_lift(0.3, 100.0, 0.2, 0.5), 4)  # (0.2 * 0.3 * 100 + 0.5) / 80
    0.0813
    >>> breakeven_lift(0.3, 100.0, 0.0, 3.0)  # a contact with no discount: its cost over what a buyer spends
    0.03
    """
    _check_prob("p_control", p_control)
    if not (0 <= discount_rate < 1):
        raise ExperimentError(f"discount_rate must be at least 0 and below 1, got {discount_rate!r}")
    if not spend_per_buyer > 0 or contact_cost < 0:
        raise ExperimentError(
            f"spend_per_buyer must be > 0 and contact_cost >= 0, got {spend_per_buyer!r} and {contact_cost!r}"
        )
    v, d = spend_per_buyer, discount_rate
    return float((d * p_control * v + contact_cost) / ((1 - d) * v))


def mde_means(sd: float, n_per_arm: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """Minimum detectable difference in a mean with standard deviation ``sd`` and ``n_per_arm`` per arm."""
    _check_n("n_per_arm", n_per_arm)
    d = TTestIndPower().solve_power(effect_size=None, nobs1=n_per_arm, alpha=alpha, power=power, ratio=1.0)
    return float(d * sd)


def design(
    baseline: float,
    min_effect: float,
    alpha: float = 0.05,
    power: float = 0.8,
    enrol_per_week: int = 1000,
    outcome_weeks: float = 0.0,
    current_per_arm: int | None = None,
) -> pd.Series:
    """A test's design in one table: customers per arm for ``min_effect`` on a ``baseline`` rate, the
    test's duration (enrolment at ``enrol_per_week`` plus the outcome window), and, when given, the
    minimum detectable effect of an existing experiment of ``current_per_arm`` per arm.

    Effects are absolute shares (0.02 = 2 points); the table shows them in points.
    """
    if enrol_per_week < 1:
        raise ExperimentError(f"enrol_per_week must be >= 1 customer, got {enrol_per_week!r}")
    n = sample_size_proportions(baseline, min_effect, alpha, power)
    rows = {
        "baseline share who buy": baseline,
        "smallest effect worth finding (points)": 100 * min_effect,
        "customers per arm needed": n,
        "customers in the test (both arms)": 2 * n,
        "weeks to enrol them": 2 * n / enrol_per_week,
        "weeks until the answer (enrolment + outcome window)": 2 * n / enrol_per_week + outcome_weeks,
    }
    if current_per_arm is not None:
        rows["existing experiment: customers per arm"] = current_per_arm
        rows["its minimum detectable effect (points)"] = 100 * mde_proportions(baseline, current_per_arm, alpha, power)
    return pd.Series(rows, dtype=float)


def formatted(values: pd.Series) -> pd.Series:
    """Numbers for display: whole numbers with thousands separators, others to 3 significant digits."""
    return values.map(lambda v: f"{v:,.0f}" if float(v).is_integer() else f"{v:.3g}")
