"""A learned ranker over candidates: the approach of the strongest entries for next-basket prediction.

Candidates for each user are every item they bought before plus the factorisation's top new items.
Each (user, item) pair gets features a shopper's habits explain (how often and how recently the
user bought the item, the usual gap between purchases, how many days have passed, the item's
popularity and how often its buyers come back to it, the buy-again and factorisation scores), and
a gradient-boosted classifier (scikit-learn's ``HistGradientBoostingClassifier``) learns from the
*validation* order which candidates end up in the basket. For the test, features are recomputed
from the longer history, and the same model ranks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier

from retention_lib.base.tables import require_columns

from .models import ALS, BuyAgain
from .split import NextOrderSplit, RecommendError, check_k

FEATURES = (
    "times_bought",
    "share_of_orders",
    "orders_since_last",
    "usual_gap",
    "due",
    "days_since_last",
    "in_last_order",
    "times_last_3",
    "cart_position",
    "days_since_prior",
    "again_score",
    "mf_score",
    "item_buyers",
    "item_repeat_share",
    "user_orders",
    "user_basket",
    "user_repeat_share",
    "is_new",
)
#: features that use the predicted order's own ``days_since_prior_order``: Instacart gives it when the order
#: is placed, so using it is allowed, but a shop predicting *before* the next visit would not have it
ORDER_TIME_FEATURES = ("days_since_prior", "days_since_last")


def _days(lines: pd.DataFrame) -> pd.Series:
    """Day of each order since the user's first (cumulative ``days_since_prior_order``), per line."""
    orders = lines.drop_duplicates(["user_id", "order_number"]).sort_values(["user_id", "order_number"])
    day = orders.groupby("user_id")["days_since_prior_order"].transform(lambda s: s.fillna(0).cumsum())
    key = pd.MultiIndex.from_frame(orders[["user_id", "order_number"]])
    return pd.Series(day.to_numpy(), index=key)


def candidate_features(
    history: pd.DataFrame, target: pd.DataFrame, new_per_user: int = 20, half_life: float = 5.0, mf: ALS | None = None
) -> pd.DataFrame:
    """One row per (user, candidate item) for the users of ``target``, with :data:`FEATURES` and ``label``.

    ``target`` holds the order to predict (its ``days_since_prior_order`` is known when the order is
    placed; its products are the labels). ``mf`` is a factorisation fitted on ``history`` (fitted
    here when not given).
    """
    need = ["user_id", "order_number", "product_id", "days_since_prior_order"]
    for name, frame in (("history", history), ("target", target)):
        require_columns(frame, need, name, error=RecommendError)
    users = np.sort(target["user_id"].unique())
    h = history[history["user_id"].isin(users)]
    again = BuyAgain(half_life).fit(history)
    mf = mf if mf is not None else ALS().fit(history)
    # own items
    g = h.groupby(["user_id", "product_id"])["order_number"]
    n_orders = h.groupby("user_id")["order_number"].max()
    recent = h[h["order_number"] > h["user_id"].map(n_orders) - 3].groupby(["user_id", "product_id"]).size()
    own = pd.DataFrame(
        {"times_bought": g.size(), "last_order": g.max(), "times_last_3": recent, "first_order": g.min()}
    )
    own["usual_gap"] = ((own["last_order"] - own["first_order"]) / (own["times_bought"] - 1)).where(
        own["times_bought"] > 1
    )
    if "add_to_cart_order" in h.columns:
        own["cart_position"] = h.groupby(["user_id", "product_id"])["add_to_cart_order"].mean()
    own = own.reset_index()
    # new items from the factorisation
    if new_per_user < 0:
        raise RecommendError(f"new_per_user must be >= 0, got {new_per_user!r}")
    new = (
        mf.recommend(users, new_per_user, exclude_seen=True)[["user_id", "product_id"]]
        if new_per_user
        else pd.DataFrame({"user_id": [], "product_id": []}, dtype="int64")
    )
    cand = pd.concat([own, new.assign(times_bought=0)], ignore_index=True)
    cand = cand.drop_duplicates(["user_id", "product_id"])
    cand["times_last_3"] = cand["times_last_3"].fillna(0)
    if "cart_position" not in cand:
        cand["cart_position"] = np.nan
    # user-level facts
    basket = h.groupby(["user_id", "order_number"]).size().groupby("user_id").mean()
    repeat = h.duplicated(["user_id", "product_id"]).groupby(h["user_id"]).mean()
    cand["user_orders"] = cand["user_id"].map(n_orders)
    cand["user_basket"] = cand["user_id"].map(basket)
    cand["user_repeat_share"] = cand["user_id"].map(repeat)
    cand["share_of_orders"] = cand["times_bought"] / cand["user_orders"]
    cand["orders_since_last"] = cand["user_orders"] - cand["last_order"]
    cand["in_last_order"] = (cand["orders_since_last"] == 0).astype(int)
    cand["due"] = cand["orders_since_last"] / cand["usual_gap"]
    days = _days(pd.concat([h, target], ignore_index=True))
    target_order = target.groupby("user_id")["order_number"].first()
    target_day = pd.Series(days.loc[list(zip(target_order.index, target_order))].to_numpy(), index=target_order.index)
    last_day = days.reindex(pd.MultiIndex.from_arrays([cand["user_id"], cand["last_order"].fillna(-1).astype(int)]))
    cand["days_since_last"] = cand["user_id"].map(target_day).to_numpy() - last_day.to_numpy()
    cand["days_since_prior"] = cand["user_id"].map(target.groupby("user_id")["days_since_prior_order"].first())
    # item-level facts (over all users of the history)
    per_item = history.groupby(["product_id", "user_id"]).size()
    cand["item_buyers"] = cand["product_id"].map(per_item.groupby("product_id").size()).fillna(0)
    cand["item_repeat_share"] = cand["product_id"].map((per_item > 1).groupby("product_id").mean())
    # model scores
    ua, ia = again._rows(cand["user_id"].to_numpy()), np.searchsorted(again.items_, cand["product_id"].to_numpy())
    cand["again_score"] = np.asarray(again.weights_[ua, ia]).ravel()
    um, im = mf._rows(cand["user_id"].to_numpy()), np.searchsorted(mf.items_, cand["product_id"].to_numpy())
    cand["mf_score"] = (mf.user_factors_[um] * mf.item_factors_[im]).sum(axis=1)
    cand["is_new"] = (cand["times_bought"] == 0).astype(int)
    bought = set(zip(target["user_id"], target["product_id"]))
    cand["label"] = [int(p in bought) for p in zip(cand["user_id"], cand["product_id"])]
    return cand[["user_id", "product_id", *FEATURES, "label"]].reset_index(drop=True)


class CandidateRanker:
    """Fit on the validation order, rank for the test: ``fit(split)``, ``recommend(k)``.

    Parameters: ``new_per_user`` new candidates from ALS per user, ``half_life`` of the buy-again
    score, ``mf`` the ALS settings (a fitted-on-nothing :class:`ALS` used as a template), the
    boosting's ``max_iter``, ``learning_rate`` and ``seed``, and ``training_orders``: how many of each
    user's orders give labels (1: the validation order only; 3: also the two before it, each with
    features from the orders before it). The test order never does. ``features``: the features the
    model learns from (default :data:`FEATURES`; leave out :data:`ORDER_TIME_FEATURES` to rank before
    the order is placed).
    """

    def __init__(
        self,
        new_per_user: int = 20,
        half_life: float = 5.0,
        mf: ALS | None = None,
        max_iter: int = 200,
        learning_rate: float = 0.05,
        training_orders: int = 1,
        seed: int = 0,
        features=FEATURES,
    ):
        self.new_per_user, self.half_life, self.mf = new_per_user, half_life, mf if mf is not None else ALS(seed=seed)
        self.max_iter, self.learning_rate, self.training_orders, self.seed = (
            max_iter,
            learning_rate,
            training_orders,
            seed,
        )
        unknown = [f for f in features if f not in FEATURES]
        if unknown or not features:
            raise RecommendError(f"features: {unknown or 'none given'}; choose among {list(FEATURES)}")
        self.features = tuple(features)

    def _features(self, split: NextOrderSplit, target: str) -> pd.DataFrame:
        history = split.history(target)
        return candidate_features(
            history, split.target(target), self.new_per_user, self.half_life, clone(self.mf).fit(history)
        )

    def _earlier(self, split: NextOrderSplit, back: int) -> pd.DataFrame:
        """Candidates whose labels come from the order ``back`` orders before the validation order."""
        lines = split.train
        rank = lines.groupby("user_id")["order_number"].rank(method="dense", ascending=False)
        history, target = lines[rank > back], lines[rank == back]
        keep = target["user_id"].isin(history.groupby("user_id")["order_number"].nunique().loc[lambda n: n >= 2].index)
        return candidate_features(history, target[keep], self.new_per_user, self.half_life, clone(self.mf).fit(history))

    def fit(self, split: NextOrderSplit) -> CandidateRanker:
        if not isinstance(self.training_orders, (int, np.integer)) or self.training_orders < 1:
            raise RecommendError(f"training_orders must be a whole number >= 1, got {self.training_orders!r}")
        train = pd.concat(
            [self._features(split, "validation")] + [self._earlier(split, b) for b in range(1, self.training_orders)],
            ignore_index=True,
        )
        self.model_ = HistGradientBoostingClassifier(
            max_iter=self.max_iter, learning_rate=self.learning_rate, early_stopping=False, random_state=self.seed
        )
        self.model_.fit(train[list(self.features)], train["label"])
        self.train_candidates_ = train
        self.split_ = split
        return self

    def recommend(self, k: int, target: str = "test") -> pd.DataFrame:
        """Top ``k`` candidates per user of the ``target`` order by the model's probability."""
        k = check_k(k)
        cand = self._features(self.split_, target)
        cand["score"] = self.model_.predict_proba(cand[list(self.features)])[:, 1]
        cand = cand.sort_values(["user_id", "score", "product_id"], ascending=[True, False, True])
        cand["rank"] = cand.groupby("user_id").cumcount() + 1
        self.candidates_ = cand
        return cand.loc[cand["rank"] <= k, ["user_id", "rank", "product_id", "score"]].reset_index(drop=True)

    def candidate_recall(self) -> float:
        """Share of the test basket's items that are among the candidates (the ranker's ceiling)."""
        test = self.split_.test
        have = set(zip(self.candidates_["user_id"], self.candidates_["product_id"]))
        return float(np.mean([p in have for p in zip(test["user_id"], test["product_id"])]))
