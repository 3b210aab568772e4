"""Descriptive summaries used by the Data chapter: cohorts, repeat buying, text, click rates.

All functions take the tidy frames of :mod:`retention_lib.data` and return DataFrames or Series.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "customer_days",
    "cohort_retention",
    "repeat_purchases",
    "purchases_over_time",
    "word_counts",
    "orders_per_user",
    "click_rates",
    "missing_values",
    "snippets",
]


def customer_days(tx: pd.DataFrame) -> pd.DataFrame:
    """Collapse several purchases of one customer on one day into one row (summing spend).

    Models of repeat buying count customer-days: two orders on one day are one purchase occasion.
    """
    return tx.groupby(["customer_id", "date"], as_index=False).agg(
        quantity=("quantity", "sum"), amount=("amount", "sum"), orders=("amount", "size")
    )


def cohort_retention(tx: pd.DataFrame, months: int) -> tuple[pd.DataFrame, pd.Series]:
    """Share of each monthly acquisition cohort that buys again k months after acquisition.

    A customer's cohort is the calendar month of the first purchase; month k = 1, 2, ... is the
    k-th calendar month after it, month 0 the acquisition month itself (always 100 %).
    Returns (retention, sizes): ``retention`` has one row per cohort and columns 0..months,
    with NaN where the data end before that month; ``sizes`` counts each cohort's customers.
    """
    if months < 1:
        raise ValueError(f"months must be >= 1, got {months}")
    df = tx[["customer_id", "date"]].copy()
    period = df["date"].dt.to_period("M")
    first = period.groupby(df["customer_id"]).transform("min")
    df["cohort"] = first
    df["k"] = (period - first).apply(lambda off: off.n).astype(int)
    last = period.max()
    active = df[df["k"] <= months].groupby(["cohort", "k"])["customer_id"].nunique().unstack(fill_value=0)
    sizes = active[0]
    ret = active.div(sizes, axis=0).reindex(columns=range(months + 1), fill_value=0.0)
    for cohort in ret.index:  # months after the end of the data are unknown, not zero
        observable = (last - cohort).n
        ret.loc[cohort, [k for k in ret.columns if k > observable]] = np.nan
    ret.index = ret.index.astype(str)
    sizes.index = sizes.index.astype(str)
    return ret, sizes.rename("customers")


def repeat_purchases(tx: pd.DataFrame) -> pd.Series:
    """Number of repeat purchase occasions (customer-days after the first) per customer."""
    days = tx.groupby("customer_id")["date"].nunique()
    return (days - 1).rename("repeat_purchases")


def purchases_over_time(tx: pd.DataFrame, freq: str = "W") -> pd.DataFrame:
    """Orders, spend and distinct buyers per period (``freq`` a pandas period alias)."""
    g = tx.groupby(tx["date"].dt.to_period(freq))
    out = pd.DataFrame({"orders": g.size(), "amount": g["amount"].sum(), "buyers": g["customer_id"].nunique()})
    out.index = out.index.to_timestamp()
    out.index.name = "period"
    return out


def word_counts(text: pd.Series) -> pd.Series:
    """Words per text (whitespace separated); missing text counts 0."""
    return text.fillna("").str.split().str.len().astype(int)


def orders_per_user(orders: pd.DataFrame) -> pd.Series:
    """Distinct orders per user in an order-line table."""
    return orders.groupby("user_id")["order_id"].nunique().rename("orders")


def click_rates(log: pd.DataFrame, by: list[str], confidence: float = 0.95) -> pd.DataFrame:
    """Impressions, clicks and click-through rate with a Wilson interval per group."""
    g = log.groupby(by, observed=True)["click"].agg(impressions="size", clicks="sum").reset_index()
    lo, hi = [], []
    for k, n in zip(g["clicks"], g["impressions"]):
        ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
        lo.append(ci.low)
        hi.append(ci.high)
    g["ctr"] = g["clicks"] / g["impressions"]
    g["ctr_low"], g["ctr_high"] = lo, hi
    return g


def missing_values(df: pd.DataFrame) -> pd.DataFrame:
    """Missing values per column, as a count and a percentage of the rows, only for columns that have some."""
    n = df.isna().sum()
    out = pd.DataFrame({"missing": n, "share (%)": 100 * n / len(df)})
    return out[out["missing"] > 0]


def snippets(text: pd.Series, width: int = 90) -> pd.Series:
    """Each text on one line (line breaks and runs of spaces collapsed) and cut at a word before ``width``
    characters with " ..." (:func:`textwrap.shorten`), for a table a reader can scan; a missing text stays
    missing.

    >>> snippets(pd.Series(["Love it!\\r\\nFits well, runs a little small in the chest.", None]), 30).tolist()
    ['Love it! Fits well, runs a ...', nan]
    """
    return text.map(lambda t: textwrap.shorten(t, width, placeholder=" ...") if isinstance(t, str) else t)
