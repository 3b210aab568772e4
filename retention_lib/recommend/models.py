"""Recommenders on one surface: ``fit(lines)`` on order lines, ``recommend(users, k)`` -> ranked lists.

- :class:`Popularity`: the items most users bought, the same for everyone;
- :class:`BuyAgain`: each user's own items by how often and how recently they bought them
  (each purchase weighs ``0.5 ** (orders ago / half_life)``), then popular items;
- :class:`ItemKNN`: items bought by the same users as the user's items (cosine similarity of the
  items' buyer vectors, scikit-learn's ``normalize`` on a sparse matrix);
- :class:`ALS` and :class:`BPR`: matrix factorisation for implicit feedback from the ``implicit``
  package (alternating least squares with confidence weights; Bayesian personalised ranking).

Scores are computed for the catalogue of the history a model was fitted on (an item never bought
there cannot be recommended). ``recommend(..., exclude_seen=True)`` drops each user's own past
items: the "new items" task, where buying again cannot help.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.preprocessing import normalize
from threadpoolctl import threadpool_limits

from retention_lib.base.tables import require_columns

from .split import NEED, RecommendError, check_k


class Recommender(BaseEstimator):
    """Base class: the user and item indices, the interaction matrix and top-k selection."""

    def fit(self, lines: pd.DataFrame) -> Recommender:
        require_columns(lines, NEED, "order lines", error=RecommendError)
        if lines.empty:
            raise RecommendError("order lines: no rows to fit on")
        self.users_ = np.sort(lines["user_id"].unique())
        self.items_ = np.sort(lines["product_id"].unique())
        u = np.searchsorted(self.users_, lines["user_id"].to_numpy())
        i = np.searchsorted(self.items_, lines["product_id"].to_numpy())
        counts = sp.csr_matrix((np.ones(len(lines)), (u, i)), shape=(len(self.users_), len(self.items_)))
        counts.sum_duplicates()
        self.counts_ = counts  # orders of each user that held each item
        self.popularity_ = np.asarray((counts > 0).sum(axis=0)).ravel().astype(float)  # buyers per item
        self._fit(lines, u, i)
        return self

    def _fit(self, lines, u, i) -> None:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def _rows(self, users) -> np.ndarray:
        users = np.asarray(users)
        pos = np.searchsorted(self.users_, users)
        pos = np.clip(pos, 0, len(self.users_) - 1)
        unknown = users[self.users_[pos] != users]
        if unknown.size:
            raise RecommendError(
                f"unknown user(s) {unknown[:5].tolist()}{' ...' if unknown.size > 5 else ''}: "
                f"not in the order lines the recommender was fitted on"
            )
        return pos

    def score(self, users) -> np.ndarray:
        """Scores of every catalogue item for each user, (n_users, n_items): higher is better."""
        return self._score(self._rows(users))

    def recommend(self, users, k: int, exclude_seen: bool = False) -> pd.DataFrame:
        """The top ``k`` items for each user: ``user_id``, ``rank`` (1..k), ``product_id``, ``score``.

        Ties are broken by popularity, then by product id. With ``exclude_seen`` a user's own past
        items are never recommended.
        """
        k = min(check_k(k), len(self.items_))
        users = np.asarray(users)
        rows = self._rows(users)
        out = []
        for start in range(0, len(rows), 512):
            r = rows[start : start + 512]
            s = np.asarray(self._score(r), dtype=float)
            s = s + 1e-9 * self.popularity_ / (self.popularity_.max() + 1)  # ties: the more popular first
            if exclude_seen:
                seen = self.counts_[r]
                s[seen.nonzero()] = -np.inf
            top = np.argpartition(-s, k - 1, axis=1)[:, :k]
            order = np.argsort(-np.take_along_axis(s, top, axis=1), axis=1, kind="stable")
            top = np.take_along_axis(top, order, axis=1)
            ok = np.isfinite(np.take_along_axis(s, top, axis=1))
            uu = np.repeat(users[start : start + 512], k).reshape(-1, k)
            out.append(
                pd.DataFrame(
                    {
                        "user_id": uu[ok],
                        "rank": np.tile(np.arange(1, k + 1), (len(r), 1))[ok],
                        "product_id": self.items_[top[ok]],
                        "score": np.take_along_axis(s, top, axis=1)[ok],
                    }
                )
            )
        return pd.concat(out, ignore_index=True)


class Popularity(Recommender):
    """The items bought by the most users (the same list for everyone)."""

    def _fit(self, lines, u, i):
        pass

    def _score(self, rows):
        return np.tile(self.popularity_, (len(rows), 1))


class BuyAgain(Recommender):
    """A user's own items, each purchase weighted by ``0.5 ** (orders ago / half_life)``."""

    def __init__(self, half_life: float = 5.0):
        self.half_life = half_life

    def _fit(self, lines, u, i):
        if not self.half_life > 0:
            raise RecommendError(f"half_life must be > 0 orders, got {self.half_life!r}")
        last = lines.groupby("user_id")["order_number"].transform("max").to_numpy()
        w = 0.5 ** ((last - lines["order_number"].to_numpy()) / self.half_life)
        m = sp.csr_matrix((w, (u, i)), shape=self.counts_.shape)
        m.sum_duplicates()
        self.weights_ = m

    def _score(self, rows):
        return self.weights_[rows].toarray()


class ItemKNN(Recommender):
    """Items similar to the user's items: cosine similarity between items' buyer vectors."""

    def __init__(self, neighbours: int = 100):
        self.neighbours = neighbours

    def _fit(self, lines, u, i):
        if self.neighbours < 1:
            raise RecommendError(f"neighbours must be >= 1, got {self.neighbours!r}")
        binary = (self.counts_ > 0).astype(float)
        unit = normalize(binary.T.tocsr(), norm="l2", axis=1)  # one unit row per item
        sim = (unit @ unit.T).tocsr()
        sim.setdiag(0)
        sim.eliminate_zeros()
        self.similarity_ = _keep_top(sim, self.neighbours)
        self.binary_ = binary.tocsr()

    def _score(self, rows):
        return (self.binary_[rows] @ self.similarity_.T).toarray()


def _keep_top(m: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep each row's ``k`` largest entries of a sparse matrix."""
    m = m.tocsr()
    data, indices, indptr = [], [], [0]
    for r in range(m.shape[0]):
        lo, hi = m.indptr[r], m.indptr[r + 1]
        vals, cols = m.data[lo:hi], m.indices[lo:hi]
        if len(vals) > k:
            keep = np.argpartition(-vals, k - 1)[:k]
            vals, cols = vals[keep], cols[keep]
        data.append(vals)
        indices.append(cols)
        indptr.append(indptr[-1] + len(vals))
    return sp.csr_matrix((np.concatenate(data), np.concatenate(indices), np.array(indptr)), shape=m.shape)


class _Factorisation(Recommender):
    """Shared by ALS and BPR: fit ``implicit``'s model on the user x item matrix, score by dot product.

    Single-threaded (``num_threads=1`` and one BLAS thread) so that the same seed gives the same
    factors: BPR's parallel updates race, and a BLAS thread pool slows ALS down.
    """

    def _model(self):  # pragma: no cover - overridden
        raise NotImplementedError

    def _fit(self, lines, u, i):
        with threadpool_limits(1, "blas"):
            model = self._model()
            model.fit(self._matrix(), show_progress=False)
        self.user_factors_ = np.asarray(model.user_factors)
        self.item_factors_ = np.asarray(model.item_factors)

    def _matrix(self):
        return self.counts_.astype(np.float32)

    def _score(self, rows):
        return self.user_factors_[rows] @ self.item_factors_.T


class ALS(_Factorisation):
    """Alternating least squares for implicit feedback (Hu, Koren and Volinsky 2008), ``implicit``'s."""

    def __init__(
        self, factors: int = 64, regularization: float = 0.05, alpha: float = 1.0, iterations: int = 15, seed: int = 0
    ):
        self.factors, self.regularization, self.alpha = factors, regularization, alpha
        self.iterations, self.seed = iterations, seed

    def _model(self):
        from implicit.cpu.als import AlternatingLeastSquares

        return AlternatingLeastSquares(
            factors=self.factors,
            regularization=self.regularization,
            alpha=self.alpha,
            iterations=self.iterations,
            random_state=self.seed,
            num_threads=1,
        )


class BPR(_Factorisation):
    """Bayesian personalised ranking (Rendle et al. 2009), ``implicit``'s."""

    def __init__(
        self,
        factors: int = 64,
        learning_rate: float = 0.01,
        regularization: float = 0.01,
        iterations: int = 100,
        seed: int = 0,
    ):
        self.factors, self.learning_rate, self.regularization = factors, learning_rate, regularization
        self.iterations, self.seed = iterations, seed

    def _model(self):
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        return BayesianPersonalizedRanking(
            factors=self.factors,
            learning_rate=self.learning_rate,
            regularization=self.regularization,
            iterations=self.iterations,
            random_state=self.seed,
            num_threads=1,
        )

    def _matrix(self):
        return (self.counts_ > 0).astype(np.float32)


#: the settings each recommender is tuned over on the validation order (iterations and seed are added by the caller)
GRIDS = {
    "buy_again": [{"half_life": h} for h in (1.0, 2.0, 5.0, 10.0, 20.0)],
    "item_knn": [{"neighbours": n} for n in (20, 100, 500)],
    "als": [
        {"factors": f, "regularization": r, "alpha": a} for f in (32, 64, 128) for r in (0.01, 0.1) for a in (1.0, 10.0)
    ],
    "bpr": [
        {"factors": 64, "learning_rate": lr, "regularization": r} for lr in (0.005, 0.02, 0.05) for r in (0.001, 0.01)
    ],
}
