"""The simulation of a linked world (see the package's description)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit, logit

from .config import ARMS, GROUPS, REAL_RATING_SHARES, Observed, Truth, World, WorldConfig, WorldConfigError
from .reviews import draw_texts, holdout_reviews, review_probability


def review_pool(reviews: pd.DataFrame, scores: pd.DataFrame | None = None, seed: int = 0,
                scheme: str = "3class") -> pd.DataFrame:
    """The real reviews the world draws its texts from: those the sentiment model never trained on.

    Parameters
    ----------
    reviews : DataFrame
        The reviews dataset (``data.load("reviews")``).
    scores : DataFrame or None
        Chapter 02's saved scores (``review_scores.parquet``), whose ``split`` column says which
        reviews were its test split. Without them the split is recomputed with chapter 02's
        default parameters (``seed``, ``scheme``, all reviews).

    Returns
    -------
    DataFrame
        Indexed like ``reviews``: ``text``, ``rating``, ``department``, ``clothing_id``; only reviews
        with a text and a department.
    """
    from ..sentiment import make_dataset, review_texts, split

    if scores is not None:
        if "split" not in scores.columns:
            raise ValueError("scores: expected chapter 02's review_scores.parquet with a 'split' column")
        test_index = scores.index[scores["split"] == "test"]
    else:
        test_index = split(make_dataset(reviews, scheme)[0], seed=seed)["test"].index
    missing = test_index.difference(reviews.index)
    if len(missing):
        raise ValueError(f"scores: {len(missing)} review(s) not in the reviews dataset, e.g. {list(missing[:3])}")
    part = reviews.loc[test_index]
    out = pd.DataFrame({"text": review_texts(part), "rating": part["rating"],
                        "department": part["department_name"].astype("string"),
                        "clothing_id": part["clothing_id"]}, index=test_index)
    return out[out["text"].notna() & out["department"].notna()].sort_index()


def _dropout_probability(p, deviation, beta, rho):
    """Dropout after a purchase whose experience deviates by ``deviation`` from the customer's usual.

    Phi(c Phi^-1(p) - beta * deviation) with c = sqrt(1 + beta^2 (1 - rho^2)): as the deviation is
    N(0, 1 - rho^2), its average over the customer's experiences is exactly ``p``.
    """
    c = np.sqrt(1 + beta ** 2 * (1 - rho ** 2))
    return stats.norm.cdf(c * stats.norm.ppf(p) - beta * deviation)


def simulate(n_customers: int = 20_000, seed: int = 0, pool: pd.DataFrame | None = None, **settings) -> World:
    """Simulate a linked world (see the module's description).

    Parameters
    ----------
    n_customers, seed : int
    pool : DataFrame or None
        The review texts to draw from (:func:`review_pool`); by default the recomputed test split
        of the packaged reviews.
    **settings
        Any other field of :class:`WorldConfig`; an unknown name or a bad value raises
        ``WorldConfigError`` naming it.

    Returns
    -------
    World
    """
    cfg = WorldConfig.from_settings(n_customers=n_customers, seed=seed, **settings)
    if pool is None:
        from .. import data

        pool = review_pool(data.load("reviews"))
    _check_pool(pool)
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(cfg.seed).spawn(9)]
    g_traits, g_cal, g_rev, g_text, g_hold, g_exp, g_ids, g_spend, g_later = streams
    n = cfg.n_customers
    rho, beta = cfg.satisfaction_weight, cfg.text_effect

    # ---- hidden traits
    lam = g_traits.gamma(cfg.r, 1 / cfg.alpha, n)
    s = g_traits.standard_normal(n)
    kappa = beta / np.sqrt(1 + beta ** 2)   # correlation of dissatisfaction with the lasting dropout propensity
    u_p = stats.norm.cdf(-kappa * s + np.sqrt(1 - kappa ** 2) * g_traits.standard_normal(n))
    p = np.clip(stats.beta.ppf(u_p, cfg.a, cfg.b), 1e-12, 1 - 1e-12)
    spend_mu = cfg.spend_log_mean + cfg.spend_log_sd_between * g_traits.standard_normal(n)
    z_spend = (spend_mu - cfg.spend_log_mean) / max(cfg.spend_log_sd_between, 1e-12)
    price_sens = expit(-0.8 * z_spend + g_traits.standard_normal(n))
    averse = g_traits.random(n) < cfg.contact_averse_share
    depts = pool["department"].value_counts(normalize=True)
    names, weights = depts.index.to_numpy(dtype=object), depts.to_numpy()
    d1 = g_traits.choice(len(names), n, p=weights)
    w2 = np.tile(weights, (n, 1))
    w2[np.arange(n), d1] = 0
    d2 = _choice_rows(g_traits, w2 / w2.sum(axis=1, keepdims=True))
    t0 = g_traits.uniform(0, cfg.acquisition_weeks, n) if cfg.acquisition_weeks > 0 else np.zeros(n)
    cal_end = cfg.calibration_weeks
    if np.any(t0 > cal_end):
        raise WorldConfigError("world settings: acquisition_weeks must not exceed calibration_weeks")

    # ---- calibration: purchases (first one at t0), experiences, dropouts
    ev_cust, ev_time, ev_exp = [np.arange(n)], [t0], [rho * s + np.sqrt(1 - rho ** 2) * g_cal.standard_normal(n)]
    last_e = ev_exp[0].copy()
    alive = np.ones(n, dtype=bool)
    active, t = np.arange(n), t0.copy()
    while active.size:
        t_new = t[active] + g_cal.exponential(1.0, active.size) / lam[active]
        keep = t_new <= cal_end
        active, t_new = active[keep], t_new[keep]
        if not active.size:
            break
        t[active] = t_new
        e = rho * s[active] + np.sqrt(1 - rho ** 2) * g_cal.standard_normal(active.size)
        ev_cust.append(active)
        ev_time.append(t_new)
        ev_exp.append(e)
        last_e[active] = e
        gone = g_cal.random(active.size) < _dropout_probability(p[active], e - rho * s[active], beta, rho)
        alive[active[gone]] = False
        active = active[~gone]
    cust = np.concatenate(ev_cust)
    times = np.concatenate(ev_time)
    exper = np.concatenate(ev_exp)
    order = np.lexsort((times, cust))
    cust, times, exper = cust[order], times[order], exper[order]
    amount = np.exp(spend_mu[cust] + cfg.spend_log_sd_within * g_spend.standard_normal(cust.size))

    # ---- reviews: who writes, which rating, which text
    writes = g_rev.random(cust.size) < review_probability(cfg, exper)
    cum = np.cumsum(REAL_RATING_SHARES)[:-1]
    written_e = exper[writes]
    thresholds = np.quantile(written_e, cum) if written_e.size >= 5 else stats.norm.ppf(cum)
    rating = 1 + np.searchsorted(thresholds, written_e, side="right")
    main = g_rev.random(written_e.size) < cfg.main_department_share
    rev_cust = cust[writes]
    rev_dept = names[np.where(main, d1[rev_cust], d2[rev_cust])]
    source = draw_texts(g_text, pool, rating, rev_dept)
    rev_delay = g_rev.integers(0, 15, written_e.size)  # days between the purchase and the review
    bad_cut = thresholds[1]                           # an experience that would be rated 1 or 2 stars
    last_bad = last_e < bad_cut

    # ---- holdout under each arm, with common random numbers
    tau = cfg.holdout_weeks
    outcomes = _holdout_outcomes(cfg, g_hold, lam, p, alive, price_sens, last_bad, averse, spend_mu)

    # ---- the randomised experiment, and what each customer received
    in_exp = np.zeros(n, dtype=bool)
    in_exp[g_exp.choice(n, int(round(cfg.experiment_share * n)), replace=False)] = True
    exp_idx = np.flatnonzero(in_exp)
    arm_of = np.zeros(n, dtype=np.int64)   # index into ARMS: none for everyone outside the experiment
    assigned = g_exp.permutation(np.arange(exp_idx.size) % 3)  # 0 control, 1 discount, 2 recovery
    arm_of[exp_idx] = assigned
    group = np.where(in_exp, np.array(GROUPS[1:], dtype=object)[arm_of], GROUPS[0])

    # ---- dated holdout purchases of the arm received
    count_rec = np.choose(arm_of, [outcomes[a][0] for a in ARMS])
    spend_rec = np.choose(arm_of, [outcomes[a][1] for a in ARMS])
    k_rec = np.choose(arm_of, [outcomes[a][3] for a in ARMS]).astype(np.int64)
    h_cust, h_time, h_amount = _holdout_purchases(g_hold, count_rec, k_rec, spend_rec, tau)

    # ---- pseudonymous ids and tables
    ids = 100_001 + g_ids.permutation(n)
    start = pd.Timestamp(cfg.start_date)
    cutoff_day = int(np.ceil(cal_end * 7)) - 1          # days 0 .. cutoff_day are the calibration period
    end_day = int(np.ceil((cal_end + tau) * 7)) - 1
    cutoff, end = start + pd.Timedelta(days=cutoff_day), start + pd.Timedelta(days=end_day)
    all_cust = np.r_[cust, h_cust]
    all_weeks = np.r_[times, cal_end + h_time]
    order_all = np.lexsort((all_weeks, all_cust))
    days = np.empty(all_cust.size, dtype=np.int64)
    days[order_all] = _purchase_days(all_cust[order_all], all_weeks[order_all], end_day)
    cal_dates = start + pd.to_timedelta(days[:cust.size], unit="D")
    purchases = pd.DataFrame({"customer_id": ids[all_cust], "date": start + pd.to_timedelta(days, unit="D"),
                              "amount": np.r_[amount, h_amount]})
    purchases = purchases.sort_values(["customer_id", "date"], kind="stable").reset_index(drop=True)
    rev_dates = cal_dates[writes] + pd.to_timedelta(rev_delay, unit="D")
    later = holdout_reviews(cfg, g_later, pool, s, h_cust, days[cust.size:], thresholds, names, d1, d2,
                             cutoff_day, end_day)
    rev_cust, source, rev_dept = np.r_[rev_cust, later["cust"]], np.r_[source, later["source"]], np.r_[rev_dept, later["dept"]]
    rating, written_e = np.r_[rating, later["rating"]], np.r_[written_e, later["experience"]]
    rev_dates = rev_dates.append(start + pd.to_timedelta(later["day"], unit="D"))
    of_holdout = np.r_[np.zeros(writes.sum(), dtype=bool), np.ones(len(later["cust"]), dtype=bool)]
    reviews = pd.DataFrame({"customer_id": ids[rev_cust], "date": rev_dates,
                            "clothing_id": pool["clothing_id"].to_numpy()[source],
                            "department": pd.Categorical(rev_dept, categories=sorted(names)),
                            "text": pool["text"].to_numpy(dtype=object)[source]})
    rev_order = np.lexsort((reviews["date"].to_numpy(), reviews["customer_id"].to_numpy()))
    reviews = reviews.iloc[rev_order].reset_index(drop=True)
    reviews.insert(0, "review_id", np.arange(len(reviews)))
    truth_reviews = pd.DataFrame({"review_id": reviews["review_id"], "rating": rating[rev_order],
                                  "experience": written_e[rev_order],
                                  "source_review": pool.index.to_numpy()[source][rev_order],
                                  "holdout": of_holdout[rev_order]})
    assignment = pd.DataFrame({"customer_id": ids, "group": pd.Categorical(group, categories=GROUPS)})
    assignment = assignment.sort_values("customer_id").reset_index(drop=True)

    customers = pd.DataFrame({
        "purchase_rate": lam, "dropout_p": p, "satisfaction": s, "spend_log_mean": spend_mu,
        "price_sensitivity": price_sens, "contact_averse": averse,
        "department_1": names[d1], "department_2": names[d2], "first_week": t0,
        "alive_at_cutoff": alive, "last_experience": last_e, "last_bad": last_bad,
        **{f"purchases_{a}": outcomes[a][0] for a in ARMS},
        **{f"spend_{a}": outcomes[a][1] for a in ARMS},
        **{f"profit_{a}": outcomes[a][2] for a in ARMS},
        "received": np.array(ARMS, dtype=object)[arm_of],
    }, index=pd.Index(ids, name="customer_id")).sort_index()
    truth_purchases = pd.DataFrame({"customer_id": ids[cust], "date": cal_dates, "week": times,
                                    "experience": exper, "reviewed": writes})
    observed = Observed(purchases=purchases, reviews=reviews, assignment=assignment, cutoff=cutoff, end=end)
    truth = Truth(customers=customers, purchases=truth_purchases, reviews=truth_reviews,
                  rating_thresholds=thresholds)
    return World(config=cfg, observed=observed, truth=truth)


def _holdout_outcomes(cfg: WorldConfig, rng: np.random.Generator, lam, p, alive, price_sens, last_bad, averse,
                      spend_mu) -> dict:
    """Holdout purchases, spend and profit of every customer under every arm, with common random numbers.

    The same uniform draws decide, under each arm, how many purchases the customer's Poisson process
    makes (``k``), after which purchase they leave, whether a contact-averse customer is pushed away
    and whether a gone customer is won back: arms differ only where the offer changes the customer's
    parameters. Returns arm -> (count, spend, profit, k).
    """
    n, tau = lam.size, cfg.holdout_weeks
    u_count, u_drop, u_averse, u_win = (rng.random(n) for _ in range(4))
    z_spend_hold = rng.standard_normal(n)
    p_hold = p  # averaged over experiences, a customer's dropout per purchase is p
    pushed = averse & (u_averse < cfg.contact_averse_loss)
    outcomes = {}
    k_base = np.maximum(stats.poisson.ppf(u_count, lam * tau), 0)   # the inverse CDF is the costly step: once for both arms at lam
    for arm in ARMS:
        rate, drop, active_h = lam, p_hold, alive.copy()
        if arm == "discount":
            rate = lam * (1 + cfg.discount_rate_boost * price_sens)
            won = ~alive & (u_win < cfg.discount_winback * price_sens)
        elif arm == "recovery":
            drop = np.where(last_bad, p_hold * (1 - cfg.recovery_dropout_cut), p_hold)
            won = ~alive & (u_win < cfg.recovery_winback * last_bad)
        if arm != "none":
            active_h = (alive | won) & ~pushed
        k = k_base if rate is lam else np.maximum(stats.poisson.ppf(u_count, rate * tau), 0)
        g = np.maximum(stats.geom.ppf(u_drop, drop), 1)
        count = np.where(active_h, np.minimum(k, g), 0).astype(np.int64)
        price = 1 - cfg.discount_rate if arm == "discount" else 1.0
        per = np.exp(spend_mu + cfg.spend_log_sd_within ** 2 / 2)
        noise = np.exp(cfg.spend_log_sd_within * z_spend_hold / np.sqrt(np.maximum(count, 1))
                       - cfg.spend_log_sd_within ** 2 / (2 * np.maximum(count, 1)))
        spend = count * per * noise * price
        cost = {"none": 0.0, "discount": cfg.discount_contact_cost, "recovery": cfg.recovery_contact_cost}[arm]
        outcomes[arm] = (count, spend, spend - cost, k)
    return outcomes


def expected_outcomes(world: World, draws: int = 50, seed: int = 0) -> pd.DataFrame:
    """Each customer's *expected* holdout outcome under every arm, given everything hidden about them.

    The potential outcomes in ``truth`` are one draw of luck: whether a gone customer happened to be
    won back, how many purchases happened to come. No rule, however well informed, can know the luck;
    the best any rule can know is the expectation, estimated here by simulating the holdout ``draws``
    more times from the same hidden state (traits and the state at the cutoff).

    Returns
    -------
    DataFrame
        Indexed like ``truth.customers``: ``p_buy_<arm>``, ``spend_<arm>`` and ``profit_<arm>`` (expected)
        for every arm.
    """
    if draws < 1:
        raise ValueError(f"draws must be >= 1, got {draws}")
    c, cfg = world.truth.customers, world.config
    args = _hidden_state(c)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 8]))
    total = {f"{what}_{arm}": np.zeros(len(c)) for what in ("p_buy", "spend", "profit") for arm in ARMS}
    for _ in range(draws):
        out = _holdout_outcomes(cfg, rng, *args)
        for arm in ARMS:
            total[f"p_buy_{arm}"] += out[arm][0] > 0
            total[f"spend_{arm}"] += out[arm][1]
            total[f"profit_{arm}"] += out[arm][2]
    return pd.DataFrame({k: v / draws for k, v in total.items()}, index=c.index)


def replay_outcomes(world: World, rows, seed: int = 0) -> dict:
    """Fresh holdout outcomes of the customers at positions ``rows`` under every arm: the same
    customers (traits and state at the cutoff) with new luck.

    This is how the simulation runs *another* experiment in the same world: pick customers, give
    each an arm, and read the outcome of that arm from a fresh draw. A position may appear more
    than once (sampling with replacement treats the world's customers as the population tests draw
    from); each appearance gets its own luck.

    Parameters
    ----------
    world : World
    rows : array of int, any shape
        Positions in ``world.truth.customers`` (0 .. n_customers - 1).
    seed : int

    Returns
    -------
    dict
        arm -> ``{"bought": bool array, "spend": float array, "profit": float array}``, each
        shaped like ``rows``.
    """
    c = world.truth.customers
    rows = np.asarray(rows)
    if rows.size and (not np.issubdtype(rows.dtype, np.integer) or rows.min() < 0 or rows.max() >= len(c)):
        raise ValueError(f"rows: expected positions of customers from 0 to {len(c) - 1}, "
                         f"got values from {rows.min()} to {rows.max()} ({rows.dtype})")
    flat = rows.ravel()
    out = _holdout_outcomes(world.config, np.random.default_rng(np.random.SeedSequence([seed, 9])),
                            *(a[flat] for a in _hidden_state(c)))
    return {arm: {"bought": (out[arm][0] > 0).reshape(rows.shape), "spend": out[arm][1].reshape(rows.shape),
                  "profit": out[arm][2].reshape(rows.shape)} for arm in ARMS}


def _hidden_state(c: pd.DataFrame) -> tuple:
    """What decides a customer's holdout (the arguments of ``_holdout_outcomes`` after the generator)."""
    return (c["purchase_rate"].to_numpy(), c["dropout_p"].to_numpy(), c["alive_at_cutoff"].to_numpy(),
            c["price_sensitivity"].to_numpy(), c["last_bad"].to_numpy(), c["contact_averse"].to_numpy(),
            c["spend_log_mean"].to_numpy())


def _check_pool(pool: pd.DataFrame) -> None:
    need = ["text", "rating", "department", "clothing_id"]
    missing = [c for c in need if c not in pool.columns]
    if missing:
        raise ValueError(f"pool: missing column(s) {missing}; expected {need} (see review_pool)")
    if len(pool) == 0:
        raise ValueError("pool: no reviews to draw texts from")
    absent = sorted(set(range(1, 6)) - set(pool["rating"].astype(int)))
    if absent:
        raise ValueError(f"pool: no review with rating(s) {absent}: every rating needs at least one text")


def _choice_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One index per row of ``probs`` (rows sum to 1), drawn with the row's probabilities."""
    u = rng.random(len(probs))[:, None]
    return np.minimum((probs.cumsum(axis=1) < u).sum(axis=1), probs.shape[1] - 1)


def _purchase_days(cust: np.ndarray, weeks: np.ndarray, last_day: int) -> np.ndarray:
    """Day of each purchase (sorted by customer, then time): a purchase on the same day as the
    customer's previous one moves to the next free day.

    BG/NBD was fitted on CDNOW's customer-days (two orders on one day are one purchase occasion),
    so its rate counts purchase days: without this, merging same-day purchases would lose some and
    bias a refit (alpha about 5 % too high at CDNOW's parameters). Days past ``last_day`` stay on it.
    """
    day = np.floor(weeks * 7).astype(np.int64)
    j = np.arange(cust.size) - np.searchsorted(cust, cust, side="left")  # rank within the customer
    shifted = pd.Series(day - j).groupby(cust).cummax().to_numpy() + j
    return np.minimum(shifted, last_day)


def _holdout_purchases(rng, count, k, spend, tau):
    """Times (weeks after the cutoff) and amounts of the holdout purchases actually made.

    A customer who makes ``count`` purchases is one whose Poisson process would have made ``k >=
    count`` events in the holdout (uniform order statistics) and who left after the ``count``-th:
    the purchases are the first ``count`` of ``k`` sorted uniform times. The spend is split over
    them with flat Dirichlet weights.
    """
    who = np.flatnonzero(count > 0)
    if who.size == 0:
        return np.array([], dtype=np.int64), np.array([]), np.array([])
    reps = np.repeat(who, k[who])
    u = rng.uniform(0, tau, reps.size)
    order = np.lexsort((u, reps))
    reps, u = reps[order], u[order]
    start = np.r_[0, np.cumsum(k[who])[:-1]]
    rank = np.arange(reps.size) - np.repeat(start, k[who])
    keep = rank < count[reps]
    cust, times = reps[keep], u[keep]
    w = rng.exponential(1.0, cust.size)
    w /= np.bincount(cust, weights=w, minlength=count.size)[cust]
    return cust, times, w * spend[cust]
