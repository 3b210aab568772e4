"""The simulation of a linked world (see the package's description)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from retention_lib import data
from retention_lib.base.tables import require_columns
from retention_lib.sentiment import make_dataset, review_texts, split

from .config import ARMS, GROUPS, REAL_RATING_SHARES, Observed, Truth, World, WorldConfig, WorldConfigError
from .holdout import holdout_outcomes, holdout_purchases
from .reviews import draw_texts, holdout_reviews, review_probability
from .rules import dropout_probability, experience


def review_pool(
    reviews: pd.DataFrame, scores: pd.DataFrame | None = None, seed: int = 0, scheme: str = "3class"
) -> pd.DataFrame:
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
    out = pd.DataFrame(
        {
            "text": review_texts(part),
            "rating": part["rating"],
            "department": part["department_name"].astype("string"),
            "clothing_id": part["clothing_id"],
        },
        index=test_index,
    )
    return out[out["text"].notna() & out["department"].notna()].sort_index()


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
        pool = review_pool(data.load("reviews"))
    _check_pool(pool)
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(cfg.seed).spawn(9)]
    g_traits, g_cal, g_rev, g_text, g_hold, g_exp, g_ids, g_spend, g_later = streams
    tr = _hidden_traits(cfg, g_traits, pool)
    cal = _calibration(cfg, g_cal, g_spend, tr)
    rev = _calibration_reviews(cfg, g_rev, g_text, pool, tr, cal)
    outcomes = holdout_outcomes(
        cfg, g_hold, tr.lam, tr.p, cal.alive, tr.price_sens, cal.last_e < rev.bad_cut, tr.averse, tr.spend_mu
    )
    arm_of, group = _experiment(cfg, g_exp)
    count_rec, spend_rec, k_rec = (np.choose(arm_of, [outcomes[a][i] for a in ARMS]) for i in (0, 1, 3))
    h_cust, h_time, h_amount = holdout_purchases(
        g_hold, count_rec, k_rec.astype(np.int64), spend_rec, cfg.holdout_weeks
    )
    ids = 100_001 + g_ids.permutation(cfg.n_customers)
    clock = _Clock(cfg)
    days = clock.purchase_days(cal.cust, cal.times, h_cust, h_time)
    purchases = pd.DataFrame(
        {"customer_id": ids[np.r_[cal.cust, h_cust]], "date": clock.dates(days), "amount": np.r_[cal.amount, h_amount]}
    )
    purchases = purchases.sort_values(["customer_id", "date"], kind="stable").reset_index(drop=True)
    later = holdout_reviews(
        cfg,
        g_later,
        pool,
        tr.s,
        h_cust,
        days[cal.cust.size :],
        rev.thresholds,
        tr.names,
        tr.d1,
        tr.d2,
        clock.cutoff_day,
        clock.end_day,
    )
    reviews, truth_reviews = _review_tables(pool, ids, clock, days[: cal.cust.size], rev, later, tr.names)
    assignment = pd.DataFrame({"customer_id": ids, "group": pd.Categorical(group, categories=GROUPS)})
    assignment = assignment.sort_values("customer_id").reset_index(drop=True)
    customers = _customer_table(ids, tr, cal, rev, outcomes, arm_of)
    truth_purchases = pd.DataFrame(
        {
            "customer_id": ids[cal.cust],
            "date": clock.dates(days[: cal.cust.size]),
            "week": cal.times,
            "experience": cal.exper,
            "reviewed": rev.writes,
        }
    )
    observed = Observed(purchases=purchases, reviews=reviews, assignment=assignment, cutoff=clock.cutoff, end=clock.end)
    truth = Truth(
        customers=customers, purchases=truth_purchases, reviews=truth_reviews, rating_thresholds=rev.thresholds
    )
    return World(config=cfg, observed=observed, truth=truth)


def _hidden_traits(cfg: WorldConfig, g: np.random.Generator, pool: pd.DataFrame) -> SimpleNamespace:
    """Phase 1, what only the simulation knows of each customer: purchase rate ``lam``, satisfaction ``s``,
    dropout ``p`` (through the copula with ``-s``), spend level, price sensitivity, contact aversion, two
    departments and the week of the first purchase."""
    n, beta = cfg.n_customers, cfg.text_effect
    lam = g.gamma(cfg.r, 1 / cfg.alpha, n)
    s = g.standard_normal(n)
    kappa = beta / np.sqrt(1 + beta**2)  # correlation of dissatisfaction with the lasting dropout propensity
    u_p = stats.norm.cdf(-kappa * s + np.sqrt(1 - kappa**2) * g.standard_normal(n))
    p = np.clip(stats.beta.ppf(u_p, cfg.a, cfg.b), 1e-12, 1 - 1e-12)
    spend_mu = cfg.spend_log_mean + cfg.spend_log_sd_between * g.standard_normal(n)
    z_spend = (spend_mu - cfg.spend_log_mean) / max(cfg.spend_log_sd_between, 1e-12)
    price_sens = expit(-0.8 * z_spend + g.standard_normal(n))
    averse = g.random(n) < cfg.contact_averse_share
    depts = pool["department"].value_counts(normalize=True)
    names, weights = depts.index.to_numpy(dtype=object), depts.to_numpy()
    d1 = g.choice(len(names), n, p=weights)
    w2 = np.tile(weights, (n, 1))
    w2[np.arange(n), d1] = 0
    d2 = _choice_rows(g, w2 / w2.sum(axis=1, keepdims=True))
    t0 = g.uniform(0, cfg.acquisition_weeks, n) if cfg.acquisition_weeks > 0 else np.zeros(n)
    if np.any(t0 > cfg.calibration_weeks):
        raise WorldConfigError("world settings: acquisition_weeks must not exceed calibration_weeks")
    return SimpleNamespace(
        lam=lam, s=s, p=p, spend_mu=spend_mu, price_sens=price_sens, averse=averse, names=names, d1=d1, d2=d2, t0=t0
    )


def _calibration(
    cfg: WorldConfig, g: np.random.Generator, g_spend: np.random.Generator, tr: SimpleNamespace
) -> SimpleNamespace:
    """Phase 2, the calibration period: purchases (the first at ``t0``), their experiences and amounts, and
    who left after which purchase. Events come back sorted by customer, then time."""
    n, rho, beta, cal_end = cfg.n_customers, cfg.satisfaction_weight, cfg.text_effect, cfg.calibration_weeks
    lam, s, p = tr.lam, tr.s, tr.p
    ev_cust, ev_time, ev_exp = [np.arange(n)], [tr.t0], [experience(s, rho, g.standard_normal(n))]
    last_e = ev_exp[0].copy()
    alive = np.ones(n, dtype=bool)
    active, t = np.arange(n), tr.t0.copy()
    while active.size:
        t_new = t[active] + g.exponential(1.0, active.size) / lam[active]
        keep = t_new <= cal_end
        active, t_new = active[keep], t_new[keep]
        if not active.size:
            break
        t[active] = t_new
        e = experience(s[active], rho, g.standard_normal(active.size))
        ev_cust.append(active)
        ev_time.append(t_new)
        ev_exp.append(e)
        last_e[active] = e
        gone = g.random(active.size) < dropout_probability(p[active], e - rho * s[active], beta, rho)
        alive[active[gone]] = False
        active = active[~gone]
    cust, times, exper = np.concatenate(ev_cust), np.concatenate(ev_time), np.concatenate(ev_exp)
    order = np.lexsort((times, cust))
    cust, times, exper = cust[order], times[order], exper[order]
    amount = np.exp(tr.spend_mu[cust] + cfg.spend_log_sd_within * g_spend.standard_normal(cust.size))
    return SimpleNamespace(cust=cust, times=times, exper=exper, amount=amount, last_e=last_e, alive=alive)


def _calibration_reviews(
    cfg: WorldConfig,
    g: np.random.Generator,
    g_text: np.random.Generator,
    pool: pd.DataFrame,
    tr: SimpleNamespace,
    cal: SimpleNamespace,
) -> SimpleNamespace:
    """Phase 3, who reviews a calibration purchase, with which stars (the experience cut at thresholds that
    reproduce the real rating mix), which department and which real text, and how many days later."""
    writes = g.random(cal.cust.size) < review_probability(cfg, cal.exper)
    cum = np.cumsum(REAL_RATING_SHARES)[:-1]
    written_e = cal.exper[writes]
    thresholds = np.quantile(written_e, cum) if written_e.size >= 5 else stats.norm.ppf(cum)
    rating = 1 + np.searchsorted(thresholds, written_e, side="right")
    main = g.random(written_e.size) < cfg.main_department_share
    rev_cust = cal.cust[writes]
    dept = tr.names[np.where(main, tr.d1[rev_cust], tr.d2[rev_cust])]
    source = draw_texts(g_text, pool, rating, dept)
    delay = g.integers(0, 15, written_e.size)  # days between the purchase and the review
    return SimpleNamespace(
        writes=writes,
        thresholds=thresholds,
        rating=rating,
        experience=written_e,
        cust=rev_cust,
        dept=dept,
        source=source,
        delay=delay,
        bad_cut=thresholds[1],
    )  # an experience that would be rated 1 or 2 stars


def _experiment(cfg: WorldConfig, g: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Phase 5, the randomised experiment: a share of customers, a third to each arm. Returns each
    customer's arm (an index into ``ARMS``; ``none`` outside the experiment) and group."""
    n = cfg.n_customers
    in_exp = np.zeros(n, dtype=bool)
    in_exp[g.choice(n, int(round(cfg.experiment_share * n)), replace=False)] = True
    exp_idx = np.flatnonzero(in_exp)
    arm_of = np.zeros(n, dtype=np.int64)
    arm_of[exp_idx] = g.permutation(np.arange(exp_idx.size) % 3)  # 0 control, 1 discount, 2 recovery
    return arm_of, np.where(in_exp, np.array(GROUPS[1:], dtype=object)[arm_of], GROUPS[0])


class _Clock:
    """Weeks since the start turned into the shop's calendar: days 0 .. ``cutoff_day`` are the calibration
    period, the holdout ends on ``end_day``."""

    def __init__(self, cfg: WorldConfig):
        self.start = pd.Timestamp(cfg.start_date)
        self.cal_end = cfg.calibration_weeks
        self.cutoff_day = int(np.ceil(cfg.calibration_weeks * 7)) - 1
        self.end_day = int(np.ceil((cfg.calibration_weeks + cfg.holdout_weeks) * 7)) - 1
        self.cutoff = self.start + pd.Timedelta(days=self.cutoff_day)
        self.end = self.start + pd.Timedelta(days=self.end_day)

    def purchase_days(self, cust, weeks, h_cust, h_weeks) -> np.ndarray:
        """The day of every calibration purchase, then of every holdout purchase (in the order given)."""
        all_cust, all_weeks = np.r_[cust, h_cust], np.r_[weeks, self.cal_end + h_weeks]
        order = np.lexsort((all_weeks, all_cust))
        days = np.empty(all_cust.size, dtype=np.int64)
        days[order] = _purchase_days(all_cust[order], all_weeks[order], self.end_day)
        return days

    def dates(self, days):
        return self.start + pd.to_timedelta(days, unit="D")


def _review_tables(
    pool, ids, clock: _Clock, cal_days, rev: SimpleNamespace, later: dict, names
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Phase 6, the reviews as the shop sees them (``observed``) and as the simulation wrote them (``truth``)."""
    rev_cust, source, rev_dept = (
        np.r_[rev.cust, later["cust"]],
        np.r_[rev.source, later["source"]],
        np.r_[rev.dept, later["dept"]],
    )
    rating, written_e = np.r_[rev.rating, later["rating"]], np.r_[rev.experience, later["experience"]]
    rev_dates = clock.dates(cal_days)[rev.writes] + pd.to_timedelta(rev.delay, unit="D")
    rev_dates = rev_dates.append(clock.dates(later["day"]))
    of_holdout = np.r_[np.zeros(rev.writes.sum(), dtype=bool), np.ones(len(later["cust"]), dtype=bool)]
    reviews = pd.DataFrame(
        {
            "customer_id": ids[rev_cust],
            "date": rev_dates,
            "clothing_id": pool["clothing_id"].to_numpy()[source],
            "department": pd.Categorical(rev_dept, categories=sorted(names)),
            "text": pool["text"].to_numpy(dtype=object)[source],
        }
    )
    rev_order = np.lexsort((reviews["date"].to_numpy(), reviews["customer_id"].to_numpy()))
    reviews = reviews.iloc[rev_order].reset_index(drop=True)
    reviews.insert(0, "review_id", np.arange(len(reviews)))
    truth = pd.DataFrame(
        {
            "review_id": reviews["review_id"],
            "rating": rating[rev_order],
            "experience": written_e[rev_order],
            "source_review": pool.index.to_numpy()[source][rev_order],
            "holdout": of_holdout[rev_order],
        }
    )
    return reviews, truth


def _customer_table(
    ids, tr: SimpleNamespace, cal: SimpleNamespace, rev: SimpleNamespace, outcomes: dict, arm_of
) -> pd.DataFrame:
    """Phase 7, one row of truth per customer: traits, the state at the cutoff, every arm's outcome."""
    return pd.DataFrame(
        {
            "purchase_rate": tr.lam,
            "dropout_p": tr.p,
            "satisfaction": tr.s,
            "spend_log_mean": tr.spend_mu,
            "price_sensitivity": tr.price_sens,
            "contact_averse": tr.averse,
            "department_1": tr.names[tr.d1],
            "department_2": tr.names[tr.d2],
            "first_week": tr.t0,
            "alive_at_cutoff": cal.alive,
            "last_experience": cal.last_e,
            "last_bad": cal.last_e < rev.bad_cut,
            **{f"purchases_{a}": outcomes[a][0] for a in ARMS},
            **{f"spend_{a}": outcomes[a][1] for a in ARMS},
            **{f"profit_{a}": outcomes[a][2] for a in ARMS},
            "received": np.array(ARMS, dtype=object)[arm_of],
        },
        index=pd.Index(ids, name="customer_id"),
    ).sort_index()


def _check_pool(pool: pd.DataFrame) -> None:
    need = ["text", "rating", "department", "clothing_id"]
    require_columns(pool, need, "pool", f"{need} (see review_pool)")
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
