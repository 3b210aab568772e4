"""Verdicts from numbers: the words the prose uses for a comparison, computed from the estimate and its
interval, so that a rerun with other parameters never leaves a false sentence on the page.

>>> compare(0.12, 0.03, 0.21)
'beats'
>>> compare(0.12, -0.03, 0.21)
'cannot be told apart from'
>>> compare(-0.3, -0.5, -0.1, worse="earns less than")
'earns less than'
>>> reached(None)
'not reached'
"""

from __future__ import annotations

import math

__all__ = ["compare", "reached"]


def compare(
    difference: float,
    low: float,
    high: float,
    better: str = "beats",
    worse: str = "does worse than",
    tie: str = "cannot be told apart from",
) -> str:
    """``better`` when the interval of a difference (a minus b) lies above zero, ``worse`` when below,
    ``tie`` when it holds zero. Raises on a missing number or an interval that does not hold the estimate."""
    values = (difference, low, high)
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values):
        raise ValueError(f"compare: expected numbers, got difference={difference}, low={low}, high={high}")
    if not low <= difference <= high:
        raise ValueError(f"compare: the interval [{low}, {high}] does not hold the estimate {difference}")
    if low > 0:
        return better
    if high < 0:
        return worse
    return tie


def reached(value, unit: str = "") -> str:
    """A threshold's value as text, or ``"not reached"`` when there is none (``None`` or NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "not reached"
    return f"{value:,}{unit}" if isinstance(value, int) else f"{value:,.3g}{unit}"
