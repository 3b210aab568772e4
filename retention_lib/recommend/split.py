"""The temporal split of next-order prediction: each user's last order is the test, the one before it
the validation, everything earlier the history a model learns from."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from retention_lib.base.tables import require_columns
from retention_lib.data import subsample

NEED = ("user_id", "order_number", "product_id")


class RecommendError(ValueError):
    """Interactions, users or a parameter that a recommender cannot use."""


def check_k(k) -> int:
    """``k``, the length of a recommendation list, as an int; a clear error unless it is a whole number >= 1."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise RecommendError(f"k must be a whole number >= 1, got {k!r}")
    return int(k)


@dataclass
class NextOrderSplit:
    """Order lines split by time, per user.

    - ``train``: every order before the last two (what models learn from when tuned on validation);
    - ``validation``: the second-to-last order (hyperparameters and the ranker's labels);
    - ``test``: the last order (reported once, at the end);
    - ``dropped``: users left out, with the reason.

    ``history("test")`` is train + validation: what a model refitted for the test may see.
    """

    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame
    dropped: pd.Series

    def history(self, target: str) -> pd.DataFrame:
        if target == "validation":
            return self.train
        if target == "test":
            return pd.concat([self.train, self.validation], ignore_index=True)
        raise RecommendError(f"target must be 'validation' or 'test', got {target!r}")

    def target(self, target: str) -> pd.DataFrame:
        if target not in ("validation", "test"):
            raise RecommendError(f"target must be 'validation' or 'test', got {target!r}")
        return getattr(self, target)

    def for_users(self, n: int, seed: int = 0) -> NextOrderSplit:
        """The same split for a random sample of ``n`` users (0 = all), for fast profiles."""
        keep = subsample(pd.DataFrame({"user_id": self.users}), n, seed)["user_id"]
        pick = lambda f: f[f["user_id"].isin(keep)].reset_index(drop=True)  # noqa: E731
        return NextOrderSplit(pick(self.train), pick(self.validation), pick(self.test), self.dropped)

    @property
    def users(self) -> np.ndarray:
        return np.sort(self.test["user_id"].unique())


def next_order_split(lines: pd.DataFrame, min_orders: int = 4, drop_last_user: bool = True) -> NextOrderSplit:
    """Split order lines (``user_id``, ``order_number``, ``product_id``, ...) by each user's order number.

    Users with fewer than ``min_orders`` orders are dropped (they need two orders of history plus a
    validation and a test order). ``drop_last_user`` drops the last user in file order: a sample made
    of a big file's first rows usually cuts that user's last order short (the Instacart sample's last
    order has 2 lines).
    """
    require_columns(lines, NEED, "order lines", error=RecommendError)
    if min_orders < 3:
        raise RecommendError(f"min_orders must be >= 3 (history, validation, test), got {min_orders}")
    dropped = {}
    if drop_last_user and len(lines):
        dropped[int(lines["user_id"].iloc[-1])] = "last user of the file: the last order may be cut short"
    n_orders = lines.groupby("user_id")["order_number"].nunique()
    for u in n_orders.index[n_orders < min_orders]:
        dropped.setdefault(int(u), f"fewer than {min_orders} orders")
    keep = lines[~lines["user_id"].isin(list(dropped))]
    if keep.empty:
        raise RecommendError("order lines: no user left after dropping short or cut histories")
    rank = keep.groupby("user_id")["order_number"].rank(method="dense", ascending=False)
    return NextOrderSplit(
        train=keep[rank > 2].reset_index(drop=True),
        validation=keep[rank == 2].reset_index(drop=True),
        test=keep[rank == 1].reset_index(drop=True),
        dropped=pd.Series(dropped, name="reason", dtype=object).rename_axis("user_id"),
    )
