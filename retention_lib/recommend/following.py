"""Recommendations in the linked world, where a bad item can make a customer leave.

Three pieces on top of chapter 5's world:

- :func:`item_catalogue`: the real clothing items of the world's reviews, each with a *true*
  quality: the mean star rating of its real reviews *outside the pool the world's texts come from*
  (so no review the shop reads is also part of the truth), shrunk towards the overall mean by its
  number of reviews (empirical Bayes), in standard deviations of a single rating. The world's
  experiences are standard normal and its stars are cuts of them, so one standard deviation of
  rating is one of experience: an item's ``experience_shift`` is its quality times
  ``scale`` (1 = as spread as item qualities are in the real data);
- :func:`purchases_with_items`: what the shop knows it sold: each calibration purchase with an item
  (a reviewed purchase is the reviewed item; others are drawn from the customer's departments in
  proportion to the items' real review counts);
- :func:`follow_recommendations`: at the cutoff, every customer who buys in the holdout looks at one
  of the ``k`` items recommended to them first (picked at random, the same pick under every
  recommender) and buys it, unless it is irrelevant to them (outside their departments): then, with
  probability ``relevance``, they buy an item of their own choosing instead (drawn as the world draws
  their purchases). ``relevance = 0`` is the world in which every list is followed whatever it holds. That purchase's experience is the customer's usual plus the item's shift, and it
  sets the chance of leaving right after it through the world's own rule; later purchases follow
  the world's dropout. Common random numbers make recommenders differ only by the items they chose.

The shop sees the world's reviews, not the truth: :func:`item_readings` averages a reader's
probability that each of an item's world reviews is negative (shrunk the same way).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import clone

from retention_lib import world as W
from retention_lib.base.metrics import paired_mean_diff
from retention_lib.world import rules

from .models import ALS, Recommender
from .split import RecommendError


def item_catalogue(reviews: pd.DataFrame, items, scale: float = 1.0, pool=None) -> pd.DataFrame:
    """True quality of each item in ``items`` from its real ``reviews`` (``clothing_id``, ``rating``,
    ``department_name``) outside ``pool``.

    ``pool`` is the index of the reviews whose texts the world draws (:func:`retention_lib.world.review_pool`):
    those are what the shop reads, so the truth leaves them out (with ``None``, every review counts,
    and any reader looks better than it is). An item whose only reviews are in the pool has no measured
    quality: it gets the prior, 0.

    Returns, indexed by ``clothing_id``: ``department`` (its reviews' most common), ``real_reviews``
    (all of them: how popular it is), ``truth_reviews`` (those outside the pool), their ``mean_rating``,
    ``quality`` (shrunk z-score: item mean minus the overall mean, times the reliability
    ``tau^2 / (tau^2 + s^2 / n)``, over the rating's standard deviation) and ``experience_shift``
    (``scale * quality``).
    """
    if scale < 0:
        raise RecommendError(f"scale must be >= 0, got {scale!r}")
    r = reviews.dropna(subset=["rating", "clothing_id"])
    outside = r if pool is None else r.loc[r.index.difference(pd.Index(pool))]
    if outside.empty:
        raise RecommendError("no real review outside the pool to measure true quality on")
    g = outside.groupby("clothing_id")["rating"]
    n, mean = g.size(), g.mean()
    grand, sd = outside["rating"].mean(), outside["rating"].std()
    within = g.var().fillna(sd**2).mean()
    tau2 = max(mean[n >= 10].var() - (within / n[n >= 10]).mean(), 1e-6)  # between-item variance
    rel = tau2 / (tau2 + within / n)
    quality = rel * (mean - grand) / sd
    items = pd.Index(pd.unique(np.asarray(items)), name="clothing_id")
    every = r.groupby("clothing_id").size()
    missing = items.difference(every.index)
    if len(missing):
        raise RecommendError(f"items without any real review: {missing[:5].tolist()}")
    dept = (
        r.dropna(subset=["department_name"]).groupby("clothing_id")["department_name"].agg(lambda d: d.mode().iloc[0])
    )
    out = pd.DataFrame({"department": dept, "real_reviews": every}).loc[items]
    out["truth_reviews"] = n.reindex(items).fillna(0).astype(int)
    out["mean_rating"] = mean.reindex(items)
    out["quality"] = quality.reindex(items).fillna(0.0)
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
    dept = np.where(
        main,
        cust.loc[tp.loc[todo, "customer_id"], "department_1"].to_numpy(),
        cust.loc[tp.loc[todo, "customer_id"], "department_2"].to_numpy(),
    )
    item.loc[todo] = _draw_items(catalogue, dept, rng)
    return pd.DataFrame(
        {
            "user_id": tp["customer_id"],
            "order_number": tp.groupby("customer_id").cumcount() + 1,
            "product_id": item.astype("int64"),
            "date": tp["date"],
        }
    )


def _draw_items(catalogue: pd.DataFrame, dept: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An item of each department in ``dept``, drawn from the catalogue's items of that department in
    proportion to their real review counts (how the world chooses what a customer buys)."""
    out = np.zeros(len(dept), dtype=np.int64)
    dept = np.asarray(dept).astype(str)
    for d in np.unique(dept):
        pool = catalogue.loc[catalogue["department"].astype(str) == d, "real_reviews"]
        if pool.empty:
            raise RecommendError(f"no item of department {d!r} in the catalogue")
        at = dept == d
        out[at] = rng.choice(pool.index.to_numpy(), size=int(at.sum()), p=(pool / pool.sum()).to_numpy())
    return out


class ReviewAware(Recommender):
    """Any recommender re-ranked by what the reviews say: ``z(score) - weight * z(penalty)``.

    ``penalty`` (indexed by product id) is an item's reading (e.g. its share of negative reviews);
    scores are standardised per user, the penalty over the catalogue, so ``weight`` trades one
    standard deviation of the base model's preference for one of the reviews' verdict.
    """

    def __init__(self, base: Recommender, penalty: pd.Series, weight: float = 1.0):
        self.base, self.penalty, self.weight = base, penalty, weight

    def _fit(self, lines, u, i):
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


def follow_recommendations(
    world, recs: dict, catalogue: pd.DataFrame, k: int, seed: int = 0, fit=None, relevance: float = 0.0
) -> pd.DataFrame:
    """What following each recommender's list does to every customer, with common random numbers.

    ``recs``: name -> recommendations (``user_id``, ``rank``, ``product_id``) for the world's
    customers. A customer *follows* when alive at the cutoff and buying at least once in the
    holdout; the first holdout purchase is the item at a random rank among the top ``k``.
    With ``fit`` (a :class:`~retention_lib.recommend.fit.FitWorld`), a customer with a fit tendency
    may find the item too small or too big (a *fit miss*, drawn with one more common random number),
    which lowers that experience by ``fit.penalty``; without it (or with a sensitivity of 0) the
    outcomes are exactly those of a world without sizes.

    ``relevance`` (0 to 1) is how much a list must suit the customer to be followed: a recommended item
    outside both of the customer's departments is passed over with this probability, and the customer
    buys an item of their own choosing instead (drawn once per customer, the same under every
    recommender). At 0 every list is followed, whatever it holds.

    Returns one row per (recommender, customer who buys): ``item`` (the item bought first),
    ``took`` (it was the recommended one), ``quality``, ``experience``, ``bad`` (an experience rated 1 or
    2 stars), ``purchases`` (holdout purchases), ``retained`` (bought again after it), and with ``fit``
    also ``tendency`` and ``fit_miss``.
    """
    if not 0 <= relevance <= 1:
        raise RecommendError(f"relevance must be from 0 to 1, got {relevance!r}")
    cfg, c = world.config, world.truth.customers
    rho, t, tau = cfg.satisfaction_weight, cfg.text_effect, cfg.holdout_weeks
    rng = np.random.default_rng(np.random.SeedSequence([seed, 72]))
    n = len(c)
    u_count, z, u_drop, u_rest, u_pick = (rng.random(n) for _ in range(5))
    z = stats.norm.ppf(z)
    lam, p, s = c["purchase_rate"].to_numpy(), c["dropout_p"].to_numpy(), c["satisfaction"].to_numpy()
    count = rules.purchases_in(u_count, lam, tau)
    follows = c["alive_at_cutoff"].to_numpy() & (count >= 1)
    rest = rules.purchases_before_leaving(u_rest, p)  # purchases after the first, up to the one before leaving
    bad_cut = world.truth.rating_thresholds[1]
    pick = np.minimum((u_pick * k).astype(int), k - 1) + 1  # the rank each customer picks
    u_fit = rng.random(n) if fit is not None else None  # drawn last: the other draws stay as they were
    own, u_take = _own_choices(world, catalogue, seed) if relevance > 0 else (None, np.ones(n))  # a stream of its own
    depts = c[["department_1", "department_2"]].astype(str).to_numpy()
    out = []
    for name, r in recs.items():
        chosen = r[r["rank"] <= k].set_index(["user_id", "rank"])["product_id"]
        item = chosen.reindex(pd.MultiIndex.from_arrays([c.index, pick])).to_numpy()
        if np.isnan(item[follows].astype(float)).any():
            raise RecommendError(f"recommender {name!r}: some customers have fewer than {k} items")
        f = follows.copy()
        item_dept = catalogue["department"].astype(str).reindex(item).to_numpy()
        relevant = (item_dept == depts[:, 0]) | (item_dept == depts[:, 1])
        took = relevant | (u_take >= relevance)
        item = item if relevance == 0 else np.where(took, item, own)
        shift = catalogue["experience_shift"].reindex(item[f]).to_numpy()
        if np.isnan(shift).any():
            raise RecommendError(f"recommender {name!r} recommends items outside the catalogue")
        dev = np.sqrt(1 - rho**2) * z[f] + shift
        extra = {}
        if fit is not None:
            miss = u_fit[f] < fit.miss_probability(c.index[f], item[f])
            dev = dev - fit.penalty * miss
            extra = {"tendency": fit.tendency.reindex(c.index[f]).fillna("").to_numpy(), "fit_miss": miss}
        e = rho * s[f] + dev
        leave = u_drop[f] < rules.dropout_probability(p[f], dev, t, rho)
        purchases = np.where(leave, 1, np.minimum(count[f], 1 + rest[f]))
        out.append(
            pd.DataFrame(
                {
                    "recommender": name,
                    "customer_id": c.index[f],
                    "item": item[f].astype(int),
                    "took": took[f],
                    "quality": catalogue["quality"].reindex(item[f]).to_numpy(),
                    "experience": e,
                    "bad": e < bad_cut,
                    "purchases": purchases,
                    "retained": purchases >= 2,
                    **extra,
                }
            )
        )
    return pd.concat(out, ignore_index=True)


def _own_choices(world, catalogue: pd.DataFrame, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """What each customer would buy without a list (an item of their departments, as the world draws its
    purchases), and the uniform draw that decides whether they pass over an irrelevant recommendation."""
    c = world.truth.customers
    rng = np.random.default_rng(np.random.SeedSequence([seed, 73]))
    u_take = rng.random(len(c))
    main = rng.random(len(c)) < world.config.main_department_share
    dept = np.where(main, c["department_1"].to_numpy(), c["department_2"].to_numpy())
    return _draw_items(catalogue, dept, rng), u_take


def compare_following(outcomes: pd.DataFrame, baseline: str, n_resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Each recommender against ``baseline`` on the same customers: the share of bad experiences and the
    share retained (and of fit misses, when the outcomes have them), with paired bootstrap intervals of
    the differences (:func:`metrics.paired_mean_diff`)."""
    rows = {}
    for what in [w for w in ("fit_miss", "bad", "retained") if w in outcomes.columns]:
        wide = outcomes.pivot(index="customer_id", columns="recommender", values=what).astype(float)
        if baseline not in wide:
            raise RecommendError(f"baseline {baseline!r} is not among the recommenders {list(wide.columns)}")
        for name in wide.columns:
            d = paired_mean_diff(wide[name].to_numpy(), wide[baseline].to_numpy(), n_resamples, seed=seed)
            rows.setdefault(name, {})[what] = wide[name].mean()
            rows[name].update(
                {f"{what} vs {baseline}": d["difference"], f"{what} low": d["low"], f"{what} high": d["high"]}
            )
    mean_q = outcomes.groupby("recommender")["quality"].mean()
    table = pd.DataFrame(rows).T
    table.insert(0, "item quality (mean)", mean_q.reindex(table.index))
    return table


def relevance_sweep(
    world, recs: dict, catalogue: pd.DataFrame, k: int, values, baseline: str, seed: int = 0, n_resamples: int = 1000
) -> pd.DataFrame:
    """:func:`follow_recommendations` at each ``relevance`` in ``values``, every recommender against ``baseline``.

    Returns one row per (relevance, recommender other than the baseline): ``took`` (share of customers
    who bought the recommended item), ``retained``, and ``retained vs <baseline>`` with its paired
    interval (``retained low``, ``retained high``), as :func:`compare_following` gives them.
    """
    rows = []
    for value in values:
        out = follow_recommendations(world, recs, catalogue, k, seed, relevance=value)
        table = compare_following(out, baseline, n_resamples, seed).drop(index=baseline)
        took = out.groupby("recommender")["took"].mean()
        for name, row in table.iterrows():
            rows.append(
                {
                    "relevance": value,
                    "recommender": name,
                    "took": took[name],
                    "retained": row["retained"],
                    f"retained vs {baseline}": row[f"retained vs {baseline}"],
                    "retained low": row["retained low"],
                    "retained high": row["retained high"],
                }
            )
    return pd.DataFrame(rows)


def replicate_following(
    pool: pd.DataFrame,
    reviews: pd.DataFrame,
    readers: dict,
    settings: dict,
    n_customers: int,
    seeds,
    k: int = 10,
    scale: float = 1.0,
    weight: float = 1.0,
    relevance: float = 0.0,
    factors: int = 32,
    iterations: int = 15,
    model_seed: int = 0,
) -> pd.DataFrame:
    """Part B's headline repeated in other worlds: one world per seed in ``seeds``, made with chapter 05's
    ``settings`` and ``n_customers`` from the same review ``pool``; in each, the items' true quality
    (:func:`item_catalogue` with ``scale``), what the shop sold and read before the cutoff, plain ALS
    and ALS re-ranked (:class:`ReviewAware`, ``weight``) by each reader of ``readers`` (name -> ``texts
    -> reading``) and by the true quality (``truth``, the oracle), and every customer following the lists
    (:func:`follow_recommendations`, ``relevance``), exactly as the chapter does in its own world.

    Returns one row per seed: ``retained_als`` (the share of customers who follow plain ALS and buy
    again), and per re-ranking ``retained_<name>`` minus plain ALS's, in shares; for each pair of
    readers, ``<a>_minus_<b>``. Their spread over worlds is the world-to-world variance that one world's
    paired interval does not include.
    """
    if len(readers) < 1 or n_customers < 100:
        raise RecommendError(
            f"replicate_following: need at least one reader and 100 customers, got {list(readers)}, {n_customers}"
        )
    names = list(readers)
    rows = []
    for world_seed in seeds:
        w = W.simulate(n_customers, int(world_seed), pool=pool, **settings)
        obs = w.observed
        catalogue = item_catalogue(reviews, obs.reviews["clothing_id"].unique(), scale=scale, pool=pool.index)
        bought = purchases_with_items(w, catalogue, model_seed)
        bought = bought[bought["date"] <= obs.cutoff].drop(columns="date")
        written = obs.reviews[obs.reviews["date"] <= obs.cutoff]
        readings = {name: item_readings(written, read(written["text"])) for name, read in readers.items()}
        readings["truth"] = -catalogue["quality"]
        base = ALS(factors=factors, iterations=iterations, seed=model_seed)
        models = {"als": base, **{f"als_{name}": ReviewAware(base, readings[name], weight) for name in readings}}
        customers = w.truth.customers.index.to_numpy()
        lists = {key: model.fit(bought).recommend(customers, k, exclude_seen=True) for key, model in models.items()}
        out = follow_recommendations(w, lists, catalogue, k, model_seed, relevance=relevance)
        kept = out.pivot(index="customer_id", columns="recommender", values="retained").astype(float).mean()
        row = {"seed": int(world_seed), "retained_als": kept["als"]}
        row.update({f"retained_{name}": kept[f"als_{name}"] - kept["als"] for name in [*names, "truth"]})
        row.update(
            {f"{a}_minus_{b}": kept[f"als_{a}"] - kept[f"als_{b}"] for i, a in enumerate(names) for b in names[i + 1 :]}
        )
        rows.append(row)
    return pd.DataFrame(rows).set_index("seed")
