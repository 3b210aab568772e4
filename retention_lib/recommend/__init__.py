"""Recommendations for next-order prediction: a temporal split, baselines that are hard to beat,
matrix factorisation from ``implicit``, a candidate ranker, and top-k metrics with intervals; in the
linked world, recommenders re-ranked by what reviews say about an item's quality and fit."""

from .evaluate import METRICS, compare, coverage, novelty, per_user, summary, truth_sets, tune
from .fit import (
    FIT_PROTOTYPES,
    FitAware,
    FitWorld,
    ZeroShotFit,
    customer_fit,
    fit_mentions,
    fit_penalty,
    fit_world,
    item_fit,
    item_fit_reading,
    reading_quality,
)
from .following import (
    ReviewAware,
    compare_following,
    follow_recommendations,
    item_catalogue,
    item_readings,
    purchases_with_items,
    relevance_sweep,
)
from .models import ALS, BPR, GRIDS, BuyAgain, ItemKNN, Popularity, Recommender
from .ranker import FEATURES, ORDER_TIME_FEATURES, CandidateRanker, candidate_features
from .split import NextOrderSplit, RecommendError, next_order_split

__all__ = [
    "next_order_split",
    "NextOrderSplit",
    "RecommendError",
    "Recommender",
    "Popularity",
    "BuyAgain",
    "ItemKNN",
    "ALS",
    "BPR",
    "GRIDS",
    "CandidateRanker",
    "candidate_features",
    "FEATURES",
    "ORDER_TIME_FEATURES",
    "METRICS",
    "truth_sets",
    "per_user",
    "coverage",
    "novelty",
    "summary",
    "compare",
    "tune",
    "ReviewAware",
    "item_catalogue",
    "item_readings",
    "purchases_with_items",
    "follow_recommendations",
    "compare_following",
    "relevance_sweep",
    "FIT_PROTOTYPES",
    "fit_mentions",
    "fit_penalty",
    "item_fit",
    "item_fit_reading",
    "customer_fit",
    "FitWorld",
    "fit_world",
    "ZeroShotFit",
    "reading_quality",
    "FitAware",
]
