"""The holdout period: every customer's outcome under every arm, with common random numbers; the dated
purchases of the arm received; and the same holdout drawn again, for expectations and for new experiments
in the same world."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import ARMS, World, WorldConfig
from .rules import purchases_before_leaving, purchases_in

__all__ = ["holdout_outcomes", "holdout_purchases", "expected_outcomes", "replay_outcomes"]


def holdout_outcomes(
    cfg: WorldConfig, rng: np.random.Generator, lam, p, alive, price_sens, last_bad, averse, spend_mu
) -> dict:
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
    k_base = purchases_in(u_count, lam, tau)  # the inverse CDF is the costly step: once for both arms at lam
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
        k = k_base if rate is lam else purchases_in(u_count, rate, tau)
        g = purchases_before_leaving(u_drop, drop)
        count = np.where(active_h, np.minimum(k, g), 0).astype(np.int64)
        price = 1 - cfg.discount_rate if arm == "discount" else 1.0
        per = np.exp(spend_mu + cfg.spend_log_sd_within**2 / 2)
        noise = np.exp(
            cfg.spend_log_sd_within * z_spend_hold / np.sqrt(np.maximum(count, 1))
            - cfg.spend_log_sd_within**2 / (2 * np.maximum(count, 1))
        )
        spend = count * per * noise * price
        cost = {"none": 0.0, "discount": cfg.discount_contact_cost, "recovery": cfg.recovery_contact_cost}[arm]
        outcomes[arm] = (count, spend, spend - cost, k)
    return outcomes


def expected_outcomes(world: World, draws: int = 50, seed: int = 0, rows=None) -> pd.DataFrame:
    """Each customer's *expected* holdout outcome under every arm, given everything hidden about them.

    The potential outcomes in ``truth`` are one draw of luck: whether a gone customer happened to be
    won back, how many purchases happened to come. No rule, however well informed, can know the luck;
    the best any rule can know is the expectation, estimated here by simulating the holdout ``draws``
    more times from the same hidden state (traits and the state at the cutoff).

    ``rows`` (positions in ``truth.customers``, default all) limits the work to some customers.

    Returns
    -------
    DataFrame
        Indexed like ``truth.customers`` (or its ``rows``): ``p_buy_<arm>``, ``spend_<arm>`` and
        ``profit_<arm>`` (expected) for every arm; and for every offer, its expected gain in profit
        split by where it comes from: ``gain_<offer>_won`` (draws in which the customer buys only with
        the offer), ``gain_<offer>_more`` (draws in which they buy either way: extra purchases, minus the
        discount and the contact) and ``gain_<offer>_rest`` (the others: the contact's cost, and the
        purchases lost by customers the offer pushes away). The three add up to
        ``profit_<offer> - profit_none``.
    """
    if draws < 1:
        raise ValueError(f"draws must be >= 1, got {draws}")
    c, cfg = world.truth.customers, world.config
    if rows is not None:
        c = c.iloc[np.asarray(rows)]
    args = _hidden_state(c)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 8]))
    total = {f"{what}_{arm}": np.zeros(len(c)) for what in ("p_buy", "spend", "profit") for arm in ARMS}
    total |= {f"gain_{arm}_{part}": np.zeros(len(c)) for arm in ARMS if arm != "none" for part in _SOURCES}
    for _ in range(draws):
        out = holdout_outcomes(cfg, rng, *args)
        for arm in ARMS:
            total[f"p_buy_{arm}"] += out[arm][0] > 0
            total[f"spend_{arm}"] += out[arm][1]
            total[f"profit_{arm}"] += out[arm][2]
        base = out["none"][0] > 0
        for arm in ARMS:
            if arm != "none":
                gain, buys = out[arm][2] - out["none"][2], out[arm][0] > 0
                for part, m in zip(_SOURCES, (~base & buys, base & buys, ~buys), strict=True):
                    total[f"gain_{arm}_{part}"] += np.where(m, gain, 0.0)
    return pd.DataFrame({k: v / draws for k, v in total.items()}, index=c.index)


_SOURCES = ("won", "more", "rest")


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
        raise ValueError(
            f"rows: expected positions of customers from 0 to {len(c) - 1}, "
            f"got values from {rows.min()} to {rows.max()} ({rows.dtype})"
        )
    flat = rows.ravel()
    out = holdout_outcomes(
        world.config, np.random.default_rng(np.random.SeedSequence([seed, 9])), *(a[flat] for a in _hidden_state(c))
    )
    return {
        arm: {
            "bought": (out[arm][0] > 0).reshape(rows.shape),
            "spend": out[arm][1].reshape(rows.shape),
            "profit": out[arm][2].reshape(rows.shape),
        }
        for arm in ARMS
    }


def _hidden_state(c: pd.DataFrame) -> tuple:
    """What decides a customer's holdout (the arguments of ``holdout_outcomes`` after the generator)."""
    return (
        c["purchase_rate"].to_numpy(),
        c["dropout_p"].to_numpy(),
        c["alive_at_cutoff"].to_numpy(),
        c["price_sensitivity"].to_numpy(),
        c["last_bad"].to_numpy(),
        c["contact_averse"].to_numpy(),
        c["spend_log_mean"].to_numpy(),
    )


def holdout_purchases(rng, count, k, spend, tau):
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
