"""Purchase features at a cutoff: the calibration/holdout summary, richer features, the label.

Conventions (those of Fader, Hardie and Lee 2005): purchases are counted per customer-day; times
are in weeks (days / 7); a customer's clock starts at the first purchase. For each customer:

- ``frequency_cal``: repeat purchase days in the calibration period (all purchase days but the first);
- ``recency_cal``: weeks from the first to the last purchase day in calibration (0 if no repeat);
- ``T_cal``: weeks from the first purchase to the end of calibration;
- ``monetary_value_cal``: mean spend of the repeat purchase days (0 if none);
- ``frequency_holdout``: purchase days after calibration, up to the observation end.

The book's retention label is :func:`retained`: any purchase in the holdout.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from retention_lib.base.tables import require_columns
from retention_lib.data.explore import customer_days

__all__ = [
    "calibration_holdout",
    "retained",
    "FEATURES_RFM",
    "FEATURES_RICH",
    "FEATURES_EXTRA",
    "extra_features",
    "holdout_by_frequency",
]

FEATURES_RFM = ["frequency_cal", "recency_cal", "T_cal", "monetary_value_cal"]
FEATURES_RICH = FEATURES_RFM + [
    "weeks_since_last",
    "orders_cal",
    "spend_cal",
    "quantity_cal",
    "first_spend",
    "first_quantity",
    "ipt_mean_weeks",
    "ipt_std_weeks",
    "last_spend",
    "spend_trend",
    "days_last_13w",
    "days_last_4w",
]


def _check_transactions(tx: pd.DataFrame, observation_end: pd.Timestamp) -> None:
    if not isinstance(tx, pd.DataFrame) or len(tx) == 0:
        raise ValueError("transactions: no rows (expected one row per purchase)")
    require_columns(
        tx, ["customer_id", "date", "amount"], "transactions", "customer_id, date, amount (and optionally quantity)"
    )
    if not pd.api.types.is_datetime64_any_dtype(tx["date"]):
        raise ValueError(f"transactions: column 'date' must hold datetimes, got {tx['date'].dtype}")
    for col in ("amount", "quantity"):
        if col in tx.columns:
            bad = tx[col].isna() | (tx[col] < 0)
            if bad.any():
                ex = tx.loc[bad, ["customer_id", col]].head(3).to_dict("records")
                raise ValueError(
                    f"transactions: column '{col}': {int(bad.sum())} negative or missing value(s), e.g. {ex}"
                )
    late = tx["date"] > observation_end
    if late.any():
        ex = tx.loc[late, ["customer_id", "date"]].head(3).astype(str).to_dict("records")
        raise ValueError(
            f"transactions: {int(late.sum())} purchase(s) after the observation end "
            f"{observation_end.date()}, e.g. {ex}; cut the data or move the end"
        )


def calibration_holdout(transactions: pd.DataFrame, calibration_end, observation_end) -> pd.DataFrame:
    """One row per customer whose first purchase is on or before ``calibration_end``.

    Parameters
    ----------
    transactions : DataFrame
        One row per purchase: ``customer_id``, ``date`` (datetime), ``amount`` and optionally
        ``quantity``.
    calibration_end, observation_end : date-like
        Last day the models see, and last day of the holdout.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``: the RFM summary of the calibration period, the holdout count
        (``frequency_holdout``, ``duration_holdout`` in weeks) and the richer behaviour features
        at the cutoff (``FEATURES_RICH``).
    """
    cal_end, obs_end = pd.Timestamp(calibration_end), pd.Timestamp(observation_end)
    if cal_end >= obs_end:
        raise ValueError(f"calibration_end {cal_end.date()} must be before observation_end {obs_end.date()}")
    _check_transactions(transactions, obs_end)
    tx = transactions if "quantity" in transactions.columns else transactions.assign(quantity=0)
    days = customer_days(tx)
    first = days.groupby("customer_id")["date"].transform("min")
    days = days[first <= cal_end].assign(first=first[first <= cal_end])
    cal, hold = days[days["date"] <= cal_end], days[days["date"] > cal_end]
    if cal.empty:
        raise ValueError(f"transactions: no customer made a first purchase by {cal_end.date()}")

    g = cal.groupby("customer_id")
    out = pd.DataFrame(
        {
            "first": g["first"].first(),
            "last": g["date"].max(),
            "n_days": g.size(),
            "orders_cal": g["orders"].sum(),
            "spend_cal": g["amount"].sum(),
            "quantity_cal": g["quantity"].sum(),
        }
    )
    week = pd.Timedelta(days=7)
    out["frequency_cal"] = out["n_days"] - 1
    out["recency_cal"] = (out["last"] - out["first"]) / week
    out["T_cal"] = (cal_end - out["first"]) / week
    out = _behaviour_at_cutoff(out, cal, cal_end)
    out["frequency_holdout"] = hold.groupby("customer_id").size().reindex(out.index, fill_value=0)
    out["duration_holdout"] = (obs_end - cal_end) / week
    cols = ["frequency_cal", "recency_cal", "T_cal", "monetary_value_cal", "frequency_holdout", "duration_holdout"] + [
        c for c in FEATURES_RICH if c not in FEATURES_RFM
    ]
    return (
        out[cols]
        .astype(float)
        .astype(
            {
                "frequency_cal": int,
                "frequency_holdout": int,
                "orders_cal": int,
                "days_last_13w": int,
                "days_last_4w": int,
            }
        )
    )


def _behaviour_at_cutoff(out: pd.DataFrame, cal: pd.DataFrame, cal_end: pd.Timestamp) -> pd.DataFrame:
    """The richer behaviour features at the cutoff, added to the RFM summary ``out``: monetary value of
    repeat purchases, weeks since the last purchase, first and last spend, inter-purchase times and
    recent activity."""
    week = pd.Timedelta(days=7)
    ordered = cal.sort_values(["customer_id", "date"])
    first_rows = ordered.groupby("customer_id").first()
    last_rows = ordered.groupby("customer_id").last()
    repeat_spend = out["spend_cal"] - first_rows["amount"]
    out["monetary_value_cal"] = np.where(
        out["frequency_cal"] > 0, repeat_spend / out["frequency_cal"].clip(lower=1), 0.0
    )
    out["weeks_since_last"] = out["T_cal"] - out["recency_cal"]
    out["first_spend"] = first_rows["amount"]
    out["first_quantity"] = first_rows["quantity"]
    out["last_spend"] = last_rows["amount"]
    out["spend_trend"] = out["last_spend"] - out["first_spend"]
    gaps = ordered.groupby("customer_id")["date"].diff() / week
    ipt = gaps.groupby(ordered["customer_id"])
    out["ipt_mean_weeks"] = ipt.mean().reindex(out.index).fillna(0.0)
    out["ipt_std_weeks"] = ipt.std(ddof=0).reindex(out.index).fillna(0.0)
    for weeks, name in [(13, "days_last_13w"), (4, "days_last_4w")]:
        recent = cal[cal["date"] > cal_end - pd.Timedelta(weeks=weeks)]
        out[name] = recent.groupby("customer_id").size().reindex(out.index, fill_value=0)
    return out


FEATURES_EXTRA = ["price_per_cd", "days_first_13w", "weeks_to_second"]


def extra_features(
    transactions: pd.DataFrame, calibration_end, customers, block_weeks: int = 4, n_blocks: int = 10
) -> pd.DataFrame:
    """Behaviour features beyond ``FEATURES_RICH``, used to probe how much purchases can tell.

    One row per customer in ``customers`` (ids whose first purchase is on or before
    ``calibration_end``), from the calibration period only:

    - ``price_per_cd``: calibration spend / CDs bought (0 if no CD was counted);
    - ``days_first_13w``: repeat purchase days in the 13 weeks after the first purchase;
    - ``weeks_to_second``: weeks from the first to the second purchase day; customers without a
      second one get the weeks observed so far (``T_cal``, a lower bound);
    - ``days_block_0`` .. ``days_block_{n_blocks-1}``: purchase days in consecutive blocks of
      ``block_weeks`` weeks counted back from the calibration end (block 0 is the most recent;
      the last block also holds everything older): the customer's timeline.
    """
    cal_end = pd.Timestamp(calibration_end)
    if block_weeks < 1 or n_blocks < 1:
        raise ValueError(f"block_weeks and n_blocks must be >= 1, got {block_weeks} and {n_blocks}")
    _check_transactions(transactions, pd.Timestamp.max)
    if "quantity" not in transactions.columns:
        raise ValueError("transactions: extra_features needs a 'quantity' column (CDs per purchase)")
    ids = pd.Index(customers, name="customer_id")
    days = customer_days(transactions[transactions["date"] <= cal_end])
    missing = ids.difference(days["customer_id"].unique())
    if len(missing):
        raise ValueError(
            f"customers: {len(missing)} id(s) without a purchase on or before {cal_end.date()}, "
            f"e.g. {list(missing[:3])}"
        )
    days = days[days["customer_id"].isin(ids)].sort_values(["customer_id", "date"])
    g = days.groupby("customer_id")
    week = pd.Timedelta(days=7)
    first_day = g["date"].min()
    first = days["customer_id"].map(first_day)
    out = pd.DataFrame(index=ids)
    quantity = g["quantity"].sum()
    out["price_per_cd"] = (g["amount"].sum() / quantity.where(quantity > 0)).fillna(0.0)
    early = days[(days["date"] > first) & (days["date"] <= first + pd.Timedelta(weeks=13))]
    out["days_first_13w"] = early.groupby("customer_id").size().reindex(ids, fill_value=0)
    second = days[g.cumcount() == 1].set_index("customer_id")["date"]
    observed = (cal_end - first_day) / week
    out["weeks_to_second"] = ((second - first_day.reindex(second.index)) / week).reindex(ids)
    out["weeks_to_second"] = out["weeks_to_second"].fillna(observed.reindex(ids))
    block = ((cal_end - days["date"]).dt.days // (7 * block_weeks)).clip(upper=n_blocks - 1)
    counts = days.groupby(["customer_id", block.rename("block")]).size().unstack(fill_value=0)
    counts = counts.reindex(index=ids, columns=range(n_blocks), fill_value=0)
    for k in range(n_blocks):
        out[f"days_block_{k}"] = counts[k].astype(int)
    return out.astype({"days_first_13w": int})


def retained(summary: pd.DataFrame) -> pd.Series:
    """The book's retention label: 1 if the customer made any purchase in the holdout, else 0.

    Parameters
    ----------
    summary : DataFrame
        The output of :func:`calibration_holdout` (needs ``frequency_holdout``).

    Returns
    -------
    Series of int, indexed like ``summary``, named ``retained``.
    """
    require_columns(summary, ["frequency_holdout"], "summary", "frequency_holdout, from calibration_holdout")
    return (summary["frequency_holdout"] > 0).astype(int).rename("retained")


def holdout_by_frequency(summary: pd.DataFrame, expected, cap: int = 7) -> pd.DataFrame:
    """Mean actual and mean expected holdout purchases by calibration frequency (cap = 'cap or more')."""
    group = summary["frequency_cal"].clip(upper=cap)
    t = pd.DataFrame(
        {"frequency_cal": group, "actual": summary["frequency_holdout"], "expected": np.asarray(expected, dtype=float)}
    )
    out = t.groupby("frequency_cal").agg(
        customers=("actual", "size"), actual=("actual", "mean"), expected=("expected", "mean")
    )
    out.index = [str(i) if i < cap else f"{cap}+" for i in out.index]
    out.index.name = "repeat purchases in calibration"
    return out
