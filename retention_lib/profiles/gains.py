"""Comparing feature sets on the same customers: one set's ROC AUC minus another's, and the share of the
perfect reader's gain a reader recovers, each with a paired bootstrap interval (out-of-fold predictions of
:func:`retention_lib.profiles.text_value.out_of_fold`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from retention_lib.base.metrics import paired_bootstrap_diff, paired_bootstrap_share

__all__ = ["gain_share", "gain_share_intervals", "reader_pair_difference"]


def gain_share(
    table: pd.DataFrame,
    reader_set: str,
    perfect_set: str = "behaviour + perfect",
    base: str = "behaviour",
    metric: str = "roc_auc",
) -> pd.Series:
    """Per model: the share of the perfect reader's gain over behaviour that ``reader_set`` recovers."""
    t = table[metric].unstack("model")
    return ((t.loc[reader_set] - t.loc[base]) / (t.loc[perfect_set] - t.loc[base])).rename(reader_set)


def gain_share_intervals(
    oof: pd.DataFrame,
    y,
    reader_sets,
    model: str = "gb",
    perfect_set: str = "behaviour + perfect",
    base: str = "behaviour",
    n_resamples: int = 500,
    seed: int = 0,
) -> pd.DataFrame:
    """:func:`gain_share` of each of ``reader_sets`` for one ``model``, with a paired bootstrap interval
    (:func:`~retention_lib.base.intervals.paired_bootstrap_share`): a ratio of two small, noisy ROC AUC gains.
    One row per reader set: ``share``, ``low``, ``high``, ``defined``."""
    y = np.asarray(y)
    whole, b = oof[(perfect_set, model)].to_numpy(), oof[(base, model)].to_numpy()
    rows = {
        name: paired_bootstrap_share(
            y, oof[(name, model)].to_numpy(), whole, b, roc_auc_score, n_resamples=n_resamples, seed=seed
        )
        for name in reader_sets
    }
    return pd.DataFrame(rows).T


def reader_pair_difference(
    oof: pd.DataFrame, y, a: str, b: str, model: str, n_resamples: int = 500, seed: int = 0
) -> dict:
    """ROC AUC of feature set ``a`` minus set ``b`` for one model, with a paired bootstrap interval."""

    return paired_bootstrap_diff(
        np.asarray(y),
        oof[(a, model)].to_numpy(),
        oof[(b, model)].to_numpy(),
        roc_auc_score,
        n_resamples=n_resamples,
        seed=seed,
    )
