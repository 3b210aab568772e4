"""Top-k metrics of recommendations against what each user really bought, per user, with intervals.

Per user (binary relevance: an item is relevant if it is in the user's target order):

- hit rate@k: 1 if any of the k items is relevant;
- precision@k: relevant items among the k, over k;
- recall@k: relevant items among the k, over the relevant items;
- NDCG@k: discounted gain ``sum_i rel_i / log2(i + 1)`` over the best possible for this user;
- AP@k: mean of precision@i at each relevant position i, over ``min(k, relevant)``
  (MAP@k is its mean over users).

Across users: coverage (share of the catalogue recommended to anyone) and novelty (mean
``-log2`` of the share of training users who bought each recommended item). Intervals are
percentile bootstraps over users (:func:`metrics.mean_ci`); differences between two recommenders are
paired over the same users (:func:`metrics.paired_mean_diff`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from retention_lib.base.metrics import mean_ci, paired_mean_diff

from .split import RecommendError, check_k

METRICS = ("hit_rate", "precision", "recall", "ndcg", "ap")


def truth_sets(target: pd.DataFrame, exclude: pd.DataFrame | None = None) -> dict:
    """user -> set of products in the target order; with ``exclude`` (history lines), only products the
    user had never bought (the "new items" task). Users with an empty set are left out."""
    sets = target.groupby("user_id")["product_id"].agg(set)
    if exclude is not None:
        seen = exclude.groupby("user_id")["product_id"].agg(set)
        sets = pd.Series({u: s - seen.get(u, set()) for u, s in sets.items()})
    return {int(u): s for u, s in sets.items() if s}


def per_user(recs: pd.DataFrame, truth: dict, k: int) -> pd.DataFrame:
    """The five metrics for every user in ``truth``; ``recs`` has ``user_id``, ``rank`` (1..), ``product_id``.

    A user in ``truth`` without recommendations scores 0 on every metric.
    """
    k = check_k(k)
    top = recs[recs["rank"] <= k].sort_values(["user_id", "rank"])
    lists = top.groupby("user_id")["product_id"].agg(list)
    discounts = 1 / np.log2(np.arange(2, k + 2))
    rows = {}
    for u, rel in truth.items():
        items = lists.get(u, [])
        hits = np.array([i in rel for i in items], dtype=float)
        n_hit = hits.sum()
        ideal = discounts[: min(len(rel), k)].sum()
        prec_at = np.cumsum(hits) / np.arange(1, len(hits) + 1) if len(hits) else np.array([])
        rows[u] = {
            "hit_rate": float(n_hit > 0),
            "precision": n_hit / k,
            "recall": n_hit / len(rel),
            "ndcg": float((hits * discounts[: len(hits)]).sum() / ideal),
            "ap": float((prec_at * hits).sum() / min(len(rel), k)),
        }
    return pd.DataFrame.from_dict(rows, orient="index")[list(METRICS)].rename_axis("user_id")


def coverage(recs: pd.DataFrame, catalogue_size: int, k: int) -> float:
    """Share of the catalogue that appears in someone's top k."""
    return recs.loc[recs["rank"] <= k, "product_id"].nunique() / catalogue_size


def novelty(recs: pd.DataFrame, history: pd.DataFrame, k: int) -> float:
    """Mean ``-log2`` share of training users who bought each recommended item (unseen items count as 1 buyer)."""
    users = history["user_id"].nunique()
    buyers = history.groupby("product_id")["user_id"].nunique()
    shown = recs.loc[recs["rank"] <= k, "product_id"]
    share = shown.map(buyers).fillna(1).to_numpy() / users
    return float(-np.log2(share).mean())


def summary(
    results: dict,
    truth: dict,
    history: pd.DataFrame,
    catalogue_size: int,
    k: int,
    n_resamples: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per recommender: each metric's mean over users with its interval, coverage and novelty.

    ``results``: name -> recommendations (``user_id``, ``rank``, ``product_id``).
    """
    rows = {}
    for name, recs in results.items():
        pu = per_user(recs, truth, k)
        row = {}
        for m in METRICS:
            ci = mean_ci(pu[m], n_resamples, seed=seed)
            row[m], row[f"{m}_low"], row[f"{m}_high"] = ci["mean"], ci["low"], ci["high"]
        row["coverage"] = coverage(recs, catalogue_size, k)
        row["novelty"] = novelty(recs, history, k)
        rows[name] = row
    return pd.DataFrame(rows).T


def compare(
    recs_a: pd.DataFrame,
    recs_b: pd.DataFrame,
    truth: dict,
    k: int,
    metric: str = "ndcg",
    n_resamples: int = 1000,
    seed: int = 0,
) -> dict:
    """``metric`` of A minus B over the same users, with a paired bootstrap interval."""
    if metric not in METRICS:
        raise RecommendError(f"metric must be one of {list(METRICS)}, got {metric!r}")
    a, b = per_user(recs_a, truth, k)[metric], per_user(recs_b, truth, k)[metric]
    return paired_mean_diff(a.to_numpy(), b.reindex(a.index).to_numpy(), n_resamples, seed=seed)


def tune(
    make,
    grid: list[dict],
    history: pd.DataFrame,
    target: pd.DataFrame,
    k: int,
    exclude_seen: bool = False,
    metric: str = "ndcg",
) -> tuple[dict, pd.DataFrame]:
    """Choose a recommender's settings on a validation order: fit ``make(**settings)`` on ``history`` for
    each settings dict in ``grid`` and score its top ``k`` against ``target`` (new items only with
    ``exclude_seen``). Returns the best settings and the table of every try (mean ``metric`` over users)."""
    if not grid:
        raise RecommendError("tune: the grid of settings is empty")
    truth = truth_sets(target, exclude=history if exclude_seen else None)
    users = np.array(sorted(truth))
    rows = []
    for settings in grid:
        recs = make(**settings).fit(history).recommend(users, k, exclude_seen=exclude_seen)
        rows.append({**settings, metric: per_user(recs, truth, k)[metric].mean()})
    table = pd.DataFrame(rows)
    best = grid[int(table[metric].to_numpy().argmax())]
    return best, table
