"""Recommendations in the linked world, where a bad item can make a customer leave.

Three pieces on top of chapter 5's world:

- :func:`item_catalogue`: the real clothing items of the world's reviews, each with a *true*
  quality: the mean star rating of all its real reviews, shrunk towards the overall mean by its
  number of reviews (empirical Bayes), in standard deviations of a single rating. The world's
  experiences are standard normal and its stars are cuts of them, so one standard deviation of
  rating is one of experience: an item's ``experience_shift`` is its quality times
  ``scale`` (1 = as spread as item qualities are in the real data);
- :func:`purchases_with_items`: what the shop knows it sold: each calibration purchase with an item
  (a reviewed purchase is the reviewed item; others are drawn from the customer's departments in
  proportion to the items' real review counts);
- :func:`follow_recommendations`: at the cutoff, every customer who buys in the holdout buys one
  of the ``k`` items recommended to them first (picked at random, the same pick under every
  recommender). That purchase's experience is the customer's usual plus the item's shift, and it
  sets the chance of leaving right after it through the world's own rule; later purchases follow
  the world's dropout. Common random numbers make recommenders differ only by the items they chose.

The shop sees the world's reviews, not the truth: :func:`item_readings` averages a reader's
probability that each of an item's world reviews is negative (shrunk the same way).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .models import Recommender
from .split import RecommendError


def item_catalogue(reviews: pd.DataFrame, items, scale: float = 1.0) -> pd.DataFrame:
    """True quality of each item in ``items`` from all its real ``reviews`` (``clothing_id``, ``rating``,
    ``department_name``).

    Returns, indexed by ``clothing_id``: ``department`` (its reviews' most common), ``real_reviews``,
    ``mean_rating``, ``quality`` (shrunk
    z-score: item mean minus the overall mean, times the reliability ``tau^2 / (tau^2 + s^2 / n)``,
    over the rating's standard deviation) and ``experience_shift`` (``scale * quality``).
    """
    if scale < 0:
        raise RecommendError(f"scale must be >= 0, got {scale!r}")
    r = reviews.dropna(subset=["rating", "clothing_id"])
    g = r.groupby("clothing_id")["rating"]
    n, mean = g.size(), g.mean()
    grand, sd = r["rating"].mean(), r["rating"].std()
    within = g.var().fillna(sd ** 2).mean()
    tau2 = max(mean[n >= 10].var() - (within / n[n >= 10]).mean(), 1e-6)      # between-item variance
    rel = tau2 / (tau2 + within / n)
    quality = rel * (mean - grand) / sd
    items = pd.Index(pd.unique(np.asarray(items)), name="clothing_id")
    missing = items.difference(n.index)
    if len(missing):
        raise RecommendError(f"items without any real review: {missing[:5].tolist()}")
    dept = r.dropna(subset=["department_name"]).groupby("clothing_id")["department_name"].agg(lambda d: d.mode().iloc[0])
    out = pd.DataFrame({"department": dept, "real_reviews": n, "mean_rating": mean, "quality": quality}).loc[items]
    out["experience_shift"] = scale * out["quality"]
    out.attrs.update(between_item_sd=float(np.sqrt(tau2) / sd), rating_sd=float(sd))
    return out


def item_readings(world_reviews: pd.DataFrame, reading: pd.DataFrame, prior_reviews: float = 5.0) -> pd.Series:
    """Each item's share of negative reviews as a reader sees it in the world's reviews.

    ``reading`` is a reader's output for ``world_reviews`` row by row (``p_negative``). The mean per
    item is shrunk towards the overall mean with ``prior_reviews`` pseudo-reviews, so that an item with
    two reviews is not judged on them alone.
    """
    if len(reading) != len(world_reviews):
        raise RecommendError(f"reading: one row per review expected, got {len(reading)} for {len(world_reviews)}")
    return shrunk_means(world_reviews["clothing_id"], reading[["p_negative"]], prior_reviews)["p_negative"]


def shrunk_means(items, values: pd.DataFrame, prior_reviews: float) -> pd.DataFrame:
    """Each item's mean of ``values`` (one row per review; ``items`` says whose), shrunk towards the
    overall mean with ``prior_reviews`` pseudo-reviews: ``(sum + prior * overall) / (n + prior)``.
    Indexed by ``clothing_id``."""
    v = values.astype(float).set_axis(pd.Index(np.asarray(items), name="clothing_id"))
    g = v.groupby(level=0)
    return (g.sum() + prior_reviews * v.mean()) / (g.size().to_numpy()[:, None] + prior_reviews)


def purchases_with_items(world, catalogue: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Every calibration purchase with the item bought, in the form of order lines.

    A customer's reviewed purchases are matched to their reviews in date order (the k-th reviewed
    purchase is the k-th review); the others get an item from the customer's first department (with
    the world's ``main_department_share``) or second, drawn from the ``catalogue`` items of that
    department in proportion to their real review counts. Returns ``user_id``,
    ``order_number`` (1.. per customer), ``product_id``, ``date``.
    """
    tp = world.truth.purchases.sort_values(["customer_id", "date"], kind="stable").reset_index(drop=True)
    reviews = world.observed.reviews
    rev = reviews[reviews["date"].notna()].sort_values(["customer_id", "date", "review_id"], kind="stable")
    rev_rank = rev.groupby("customer_id").cumcount()
    tp_rev = tp[tp["reviewed"]]
    tp_rank = tp_rev.groupby("customer_id").cumcount()
    item = pd.Series(np.nan, index=tp.index)
    key_rev = pd.Series(rev["clothing_id"].to_numpy(), index=pd.MultiIndex.from_arrays([rev["customer_id"], rev_rank]))
    item.loc[tp_rev.index] = key_rev.reindex(pd.MultiIndex.from_arrays([tp_rev["customer_id"], tp_rank])).to_numpy()
    # the other purchases: an item from the customer's departments
    rng = np.random.default_rng(np.random.SeedSequence([seed, 71]))
    cust = world.truth.customers
    todo = item.index[item.isna()]
    main = rng.random(len(todo)) < world.config.main_department_share
    dept = np.where(main, cust.loc[tp.loc[todo, "customer_id"], "department_1"].to_numpy(),
                    cust.loc[tp.loc[todo, "customer_id"], "department_2"].to_numpy())
    for d in np.unique(dept.astype(str)):
        pool = catalogue.loc[catalogue["department"].astype(str) == d, "real_reviews"]
        if pool.empty:
            raise RecommendError(f"no item of department {d!r} in the catalogue")
        at = todo[dept.astype(str) == d]
        item.loc[at] = rng.choice(pool.index.to_numpy(), size=len(at), p=(pool / pool.sum()).to_numpy())
    return pd.DataFrame({"user_id": tp["customer_id"], "order_number": tp.groupby("customer_id").cumcount() + 1,
                         "product_id": item.astype("int64"), "date": tp["date"]})


class ReviewAware(Recommender):
    """Any recommender re-ranked by what the reviews say: ``z(score) - weight * z(penalty)``.

    ``penalty`` (indexed by product id) is an item's reading (e.g. its share of negative reviews);
    scores are standardised per user, the penalty over the catalogue, so ``weight`` trades one
    standard deviation of the base model's preference for one of the reviews' verdict.
    """

    def __init__(self, base: Recommender, penalty: pd.Series, weight: float = 1.0):
        self.base, self.penalty, self.weight = base, penalty, weight

    def _fit(self, lines, u, i):
        from sklearn.base import clone

        self.base_ = clone(self.base).fit(lines)
        if not np.array_equal(self.base_.items_, self.items_):
            raise RecommendError("ReviewAware: the base recommender's catalogue differs")
        pen = self.penalty.reindex(self.items_)
        pen = pen.fillna(pen.mean())
        self.z_penalty_ = ((pen - pen.mean()) / (pen.std() or 1.0)).to_numpy()

    def _score(self, rows):
        s = np.asarray(self.base_._score(rows), dtype=float)
        z = (s - s.mean(axis=1, keepdims=True)) / (s.std(axis=1, keepdims=True) + 1e-12)
        return z - self.weight * self.z_penalty_


def follow_recommendations(world, recs: dict, catalogue: pd.DataFrame, k: int, seed: int = 0, fit=None) -> pd.DataFrame:
    """What following each recommender's list does to every customer, with common random numbers.

    ``recs``: name -> recommendations (``user_id``, ``rank``, ``product_id``) for the world's
    customers. A customer *follows* when alive at the cutoff and buying at least once in the
    holdout; the first holdout purchase is the item at a random rank among the top ``k``.
    With ``fit`` (a :class:`~retention_lib.recommend.fit.FitWorld`), a customer with a fit tendency
    may find the item too small or too big (a *fit miss*, drawn with one more common random number),
    which lowers that experience by ``fit.penalty``; without it (or with a sensitivity of 0) the
    outcomes are exactly those of a world without sizes.

    Returns one row per (recommender, customer who follows): ``item``, ``quality``, ``experience``,
    ``bad`` (an experience rated 1 or 2 stars), ``purchases`` (holdout purchases), ``retained``
    (bought again after the recommended item), and with ``fit`` also ``tendency`` and ``fit_miss``.
    """
    cfg, c = world.config, world.truth.customers
    rho, t, tau = cfg.satisfaction_weight, cfg.text_effect, cfg.holdout_weeks
    rng = np.random.default_rng(np.random.SeedSequence([seed, 72]))
    n = len(c)
    u_count, z, u_drop, u_rest, u_pick = (rng.random(n) for _ in range(5))
    z = stats.norm.ppf(z)
    lam, p, s = c["purchase_rate"].to_numpy(), c["dropout_p"].to_numpy(), c["satisfaction"].to_numpy()
    count = np.maximum(stats.poisson.ppf(u_count, lam * tau), 0)
    follows = c["alive_at_cutoff"].to_numpy() & (count >= 1)
    rest = np.maximum(stats.geom.ppf(u_rest, p), 1)          # purchases after the first, up to the one before leaving
    bad_cut = world.truth.rating_thresholds[1]
    pick = np.minimum((u_pick * k).astype(int), k - 1) + 1    # the rank each customer picks
    u_fit = rng.random(n) if fit is not None else None        # drawn last: the other draws stay as they were
    from ..world.simulate import _dropout_probability

    out = []
    for name, r in recs.items():
        chosen = r[r["rank"] <= k].set_index(["user_id", "rank"])["product_id"]
        item = chosen.reindex(pd.MultiIndex.from_arrays([c.index, pick])).to_numpy()
        if np.isnan(item[follows].astype(float)).any():
            raise RecommendError(f"recommender {name!r}: some customers have fewer than {k} items")
        f = follows.copy()
        shift = catalogue["experience_shift"].reindex(item[f]).to_numpy()
        if np.isnan(shift).any():
            raise RecommendError(f"recommender {name!r} recommends items outside the catalogue")
        dev = np.sqrt(1 - rho ** 2) * z[f] + shift
        extra = {}
        if fit is not None:
            miss = u_fit[f] < fit.miss_probability(c.index[f], item[f])
            dev = dev - fit.penalty * miss
            extra = {"tendency": fit.tendency.reindex(c.index[f]).fillna("").to_numpy(), "fit_miss": miss}
        e = rho * s[f] + dev
        leave = u_drop[f] < _dropout_probability(p[f], dev, t, rho)
        purchases = np.where(leave, 1, np.minimum(count[f], 1 + rest[f]))
        out.append(pd.DataFrame({"recommender": name, "customer_id": c.index[f], "item": item[f].astype(int),
                                 "quality": catalogue["quality"].reindex(item[f]).to_numpy(), "experience": e,
                                 "bad": e < bad_cut, "purchases": purchases, "retained": purchases >= 2, **extra}))
    return pd.concat(out, ignore_index=True)


def compare_following(outcomes: pd.DataFrame, baseline: str, n_resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Each recommender against ``baseline`` on the same customers: the share of bad experiences and the
    share retained (and of fit misses, when the outcomes have them), with paired bootstrap intervals of
    the differences (:func:`metrics.paired_mean_diff`)."""
    from ..metrics import paired_mean_diff

    rows = {}
    for what in [w for w in ("fit_miss", "bad", "retained") if w in outcomes.columns]:
        wide = outcomes.pivot(index="customer_id", columns="recommender", values=what).astype(float)
        if baseline not in wide:
            raise RecommendError(f"baseline {baseline!r} is not among the recommenders {list(wide.columns)}")
        for name in wide.columns:
            d = paired_mean_diff(wide[name].to_numpy(), wide[baseline].to_numpy(), n_resamples, seed=seed)
            rows.setdefault(name, {})[what] = wide[name].mean()
            rows[name].update({f"{what} vs {baseline}": d["difference"], f"{what} low": d["low"], f"{what} high": d["high"]})
    mean_q = outcomes.groupby("recommender")["quality"].mean()
    table = pd.DataFrame(rows).T
    table.insert(0, "item quality (mean)", mean_q.reindex(table.index))
    return table
