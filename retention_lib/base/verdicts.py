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
>>> times(2.1), times(1.1), times(3.6), times(0.5), times(-0.2)
('about twice as large', 'about as large', 'about 4 times as large', 'about half as large', 'of the other sign')
>>> portion(0.82), portion(0.4), portion(0.1), portion(-0.05)
('most', 'part', 'little', 'none')
>>> placement({"ALS": 0.12, "BPR": 0.11, "kNN": 0.09}, ("popularity", 0.10), ("buy-again", 0.30))
'ALS and BPR between popularity and buy-again, kNN below popularity'
>>> placement({"ALS": 0.12, "BPR": 0.11}, ("buy-again", 0.30), ("popularity", 0.10))
'all between popularity and buy-again'
>>> share_words(0.66, 0.36, 0.96), share_words(0.8, 0.72, 0.9), share_words(0.6, float("nan"), float("nan"))
('36 % to 96 %', 'most', 'more than half, by the point estimate,')
>>> share_words(float("nan"), float("nan"), float("nan"))
'an unmeasurable part'
>>> share_interval(0.21, 0.93), share_interval(float("nan"), float("nan"))
('95 % interval 21 % to 93 %', 'no interval can be given: in some resamples the whole gain is not positive')
"""

from __future__ import annotations

import math

__all__ = ["compare", "reached", "times", "portion", "placement", "share_words", "share_interval", "counted"]


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


def _number(value, what: str) -> float:
    if value is None or not math.isfinite(float(value)):
        raise ValueError(f"{what}: expected a finite number, got {value!r}")
    return float(value)


def times(ratio: float) -> str:
    """How much larger one number is than another, in words a reader trusts: "about as large" (0.8 to
    1.25), "about one and a half times as large", "about twice as large" (1.75 to 2.5), "about N times as
    large"; below 0.8 "about half as large" (0.35 to 0.65) or "smaller, about P % as large"; "of the other
    sign" when the ratio is not positive."""
    r = _number(ratio, "times")
    if r <= 0:
        return "of the other sign"
    if 0.8 <= r < 1.25:
        return "about as large"
    if 1.25 <= r < 1.75:
        return "about one and a half times as large"
    if 1.75 <= r < 2.5:
        return "about twice as large"
    if r >= 2.5:
        return f"about {round(r)} times as large"
    if 0.35 <= r < 0.65:
        return "about half as large"
    return f"smaller, about {r:.0%} as large"


def portion(share: float) -> str:
    """A share of something in words: "most" (0.7 and above), "more than half" (0.5 to 0.7), "part"
    (0.2 to 0.5), "little" (above 0 to 0.2), "none" (0 or less)."""
    s = _number(share, "portion")
    if s >= 0.7:
        return "most"
    if s >= 0.5:
        return "more than half"
    if s >= 0.2:
        return "part"
    if s > 0:
        return "little"
    return "none"


def _and(names: list) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def placement(values: dict, first: tuple, second: tuple) -> str:
    """Where each of ``values`` (name -> number) lies against two references (``(name, number)`` pairs, in
    either order): "all between A and B", or which lie between, below the lower and above the higher."""
    (low_name, low), (high_name, high) = sorted([first, second], key=lambda t: _number(t[1], "placement"))
    where = {"between": [], "below": [], "above": []}
    for name, value in values.items():
        v = _number(value, "placement")
        where["below" if v < low else "above" if v > high else "between"].append(name)
    if len(where["between"]) == len(values):
        return f"all between {low_name} and {high_name}"
    parts = []
    if where["between"]:
        parts.append(f"{_and(where['between'])} between {low_name} and {high_name}")
    if where["below"]:
        parts.append(f"{_and(where['below'])} below {low_name}")
    if where["above"]:
        parts.append(f"{_and(where['above'])} above {high_name}")
    return ", ".join(parts)


def share_interval(low: float, high: float, confidence: int = 95) -> str:
    """The interval of a share of a gain in words (from :func:`retention_lib.base.intervals.paired_bootstrap_share`),
    or why there is none: a NaN bound means the whole gain was not positive in some resample."""
    if any(v is None or math.isnan(v) for v in (low, high)):
        return "no interval can be given: in some resamples the whole gain is not positive"
    return f"{confidence} % interval {low:.0%} to {high:.0%}".replace("%", " %").replace("  %", " %")


def share_words(share: float, low: float, high: float) -> str:
    """A share with its interval in words: :func:`portion`'s word when both ends of the interval get the same
    word, else the interval itself ("36 % to 96 %"); a NaN interval keeps the point's word and says so."""
    if share is None or math.isnan(share):
        return "an unmeasurable part"  # the whole gain is not positive: there is no share to state
    if any(v is None or math.isnan(v) for v in (low, high)):
        return f"{portion(share)}, by the point estimate,"
    if portion(low) == portion(high):
        return portion(low)
    return f"{low:.0%} to {high:.0%}".replace("%", " %")


def counted(n: float, unit: str, digits: int = 0) -> str:
    """``n`` with its unit, singular for one ("1 epoch", "8 weeks", "2.5 minutes"), not "epoch(s)".

    >>> counted(1, "epoch"), counted(8, "week"), counted(0.96, "second"), counted(2.5, "minute", 1)
    ('1 epoch', '8 weeks', '1 second', '2.5 minutes')
    """
    text = f"{n:,.{digits}f}"
    return f"{text} {unit}" + ("" if float(text.replace(",", "")) == 1 else "s")
