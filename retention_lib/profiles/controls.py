"""Controls for chapter 06's falsification: what counting reviews gives without reading them, what
shuffled texts give, and a canary that sings when a reader sees the future.

A gain from "reading" reviews can come from three places besides the reading: from *whether* and *how
often* a customer wrote (the count-only control), from extra features that carry only noise (the
placebo reader: every review keeps its writer and date but gets another review's text, so what is
read no longer belongs to who wrote it), and from reviews written *after* the cutoff, which a date
filter must remove (the canary: a world whose customers also review their holdout purchases, so a
reader that forgets the filter finds out who bought again). Each control has the same customers,
folds and model as the ablation, and a paired interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from retention_lib import world as W

from .text_value import observed_sets, reader_pair_difference, world_gains

__all__ = ["COUNT_FEATURES", "placebo_reading", "control_sets", "control_table", "canary"]

#: what the count-only control knows of a customer's reviews: how many, and whether any
COUNT_FEATURES = ["n_reviews", "has_reviews"]


def placebo_reading(reading: pd.DataFrame, seed: int) -> pd.DataFrame:
    """A reader's output with its rows shuffled among the reviews: every review keeps its writer and its
    date but is read as some other review's text (the texts shuffled among customers)."""
    order = np.random.default_rng(np.random.SeedSequence([seed, 606])).permutation(len(reading))
    return reading.iloc[order].reset_index(drop=True)


def control_sets(observed, reading: pd.DataFrame, customers, seed: int) -> dict:
    """The two control feature sets, built like :func:`~.text_value.observed_sets`'s:

    - ``behaviour + counts``: behaviour and :data:`COUNT_FEATURES`, nothing read;
    - ``behaviour + placebo``: behaviour and the features of :func:`placebo_reading` of ``reading``.
    """
    sets, _ = observed_sets(observed, {"lm": reading, "placebo": placebo_reading(reading, seed)}, customers=customers)
    behaviour = list(sets["behaviour"].columns)
    return {
        "behaviour + counts": sets["behaviour + lm"][behaviour + COUNT_FEATURES],
        "behaviour + placebo": sets["behaviour + placebo"],
    }


def control_table(oof: pd.DataFrame, y, model: str, pairs: dict, n_resamples: int = 500, seed: int = 0) -> pd.DataFrame:
    """ROC AUC differences between feature sets for one model, each with a paired bootstrap interval.

    ``pairs`` maps a row label to ``(set, baseline set)``: columns of ``oof`` (``(set, model)``).
    """
    rows = {}
    for name, (a, b) in pairs.items():
        missing = [s for s in (a, b) if (s, model) not in oof.columns]
        if missing:
            raise ValueError(f"control {name!r}: no out-of-fold predictions for {missing} with model {model!r}")
        d = reader_pair_difference(oof, y, a, b, model, n_resamples=n_resamples, seed=seed)
        rows[name] = {"set": a, "against": b, "gain": d["difference"], "low": d["low"], "high": d["high"]}
    return pd.DataFrame(rows).T.astype({"gain": float, "low": float, "high": float})


def canary(
    pool: pd.DataFrame,
    read,
    n_customers: int,
    seed: int,
    folds: int = 3,
    n_resamples: int = 200,
    holdout_reviews: float = 1.0,
    **settings,
) -> pd.DataFrame:
    """The leak canary: a world where reviews say nothing about leaving (``text_effect = 0``) but customers
    also review their holdout purchases, read twice: with the date filter (reviews up to the cutoff) and
    without it (up to the end of the data, deliberately wrong).

    With the filter the gain must be nothing; without it, the reviews of holdout purchases reveal who
    bought again, and the gain is large. A reader whose filter is broken shows the second number.

    Returns
    -------
    DataFrame
        Rows ``date filter on``, ``date filter off``: ``gain``, ``low``, ``high`` (ROC AUC over behaviour,
        paired bootstrap), ``base_auc``, and ``reviews after the cutoff`` (their share of all reviews).
    """
    w = W.simulate(n_customers, seed, pool=pool, **{**settings, "text_effect": 0.0, "holdout_reviews": holdout_reviews})
    late = float((w.observed.reviews["date"] > w.observed.cutoff).mean())
    rows = {}
    for name, until in (("date filter on", None), ("date filter off", w.observed.end)):
        g = world_gains(w, read, folds, seed, n_resamples, text_until=until, perfect=False)[0]
        rows[name] = {
            "gain": g["gain"],
            "low": g["low"],
            "high": g["high"],
            "base_auc": g["base_auc"],
            "reviews after the cutoff": late,
        }
    return pd.DataFrame(rows).T.astype(float)
