"""Summaries of a world: how its customers buy, and how they respond to offers (from the truth)."""

from __future__ import annotations

import pandas as pd

from retention_lib.data.explore import customer_days

from .config import OFFERS


def behaviour_stats(summary: pd.DataFrame, purchases: pd.DataFrame) -> pd.Series:
    """A few numbers that describe how customers buy, to set a world beside real data.

    ``summary`` is the calibration summary of ``purchases`` (``calibration_holdout``).
    """
    days = customer_days(purchases.assign(quantity=0) if "quantity" not in purchases else purchases)
    return pd.Series(
        {
            "customers": len(summary),
            "share with a repeat purchase (calibration)": (summary["frequency_cal"] > 0).mean(),
            "repeat purchase days per customer (calibration)": summary["frequency_cal"].mean(),
            "weeks since the last purchase at the cutoff": summary["weeks_since_last"].mean(),
            "share who buy in the holdout": (summary["frequency_holdout"] > 0).mean(),
            "purchase days per customer (holdout)": summary["frequency_holdout"].mean(),
            "median spend per purchase day ($)": days["amount"].median(),
            "mean spend per purchase day ($)": days["amount"].mean(),
        }
    )


def true_effects(truth_customers: pd.DataFrame) -> pd.DataFrame:
    """For each offer, how customers respond to it compared with no offer (known only in a simulation).

    Groups, by whether the customer buys in the holdout without and with the offer: *sure things*
    (both), *lost causes* (neither), *persuadables* (only with the offer), *sleeping dogs* (only
    without). Also the mean effect on holdout purchases and on profit per customer.
    """
    rows = {}
    base = truth_customers["purchases_none"] > 0
    for offer in OFFERS:
        got = truth_customers[f"purchases_{offer}"] > 0
        rows[offer] = {
            "sure things": (base & got).mean(),
            "lost causes": (~base & ~got).mean(),
            "persuadables": (~base & got).mean(),
            "sleeping dogs": (base & ~got).mean(),
            "effect on P(buy)": got.mean() - base.mean(),
            "effect on purchases": (truth_customers[f"purchases_{offer}"] - truth_customers["purchases_none"]).mean(),
            "effect on profit ($)": (truth_customers[f"profit_{offer}"] - truth_customers["profit_none"]).mean(),
        }
    return pd.DataFrame(rows).T


def no_offer_customers(observed) -> pd.Index:
    """Ids of the customers who received no offer (outside the experiment, or its control group)."""
    a = observed.assignment
    return pd.Index(a.loc[a["group"].isin(["not in experiment", "control"]), "customer_id"], name="customer_id")
