"""How the world's customers write: who reviews a purchase, with which stars, and which real text.

A purchase is reviewed with a probability that grows with how extreme and how bad its experience was
(:func:`review_probability`); its stars are cuts of the experience; its text is a real review with
those stars from the purchase's department (:func:`draw_texts`). :func:`holdout_reviews` applies the
same rules to holdout purchases when the world's ``holdout_reviews`` setting asks for them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from .config import _E_ABS, _E_NEG, WorldConfig

__all__ = ["review_probability", "holdout_reviews", "draw_texts"]


def review_probability(cfg: WorldConfig, experience: np.ndarray) -> np.ndarray:
    """Chance that a purchase with this experience is reviewed: extreme and bad ones more often."""
    return expit(
        logit(cfg.review_rate)
        + cfg.review_extremity * (np.abs(experience) - _E_ABS)
        + cfg.review_negativity * (np.maximum(0.0, -experience) - _E_NEG)
    )


def holdout_reviews(
    cfg: WorldConfig,
    rng: np.random.Generator,
    pool: pd.DataFrame,
    satisfaction,
    h_cust,
    h_day,
    thresholds,
    names,
    d1,
    d2,
    cutoff_day,
    end_day,
) -> dict:
    """Reviews of holdout purchases (``holdout_reviews`` > 0): the same rules as in calibration, at
    ``holdout_reviews`` times the chance, dated after the purchase and so after the cutoff.

    Nothing a model may use at the cutoff comes from them: they exist so that a reader who forgets to
    cut the reviews at the cutoff is caught (a customer who reviews a holdout purchase has bought
    again). With the setting at 0 they are not drawn and the world is the one without them.
    """
    if cfg.holdout_reviews == 0 or len(h_cust) == 0:
        empty = np.array([], dtype=np.int64)
        return {
            "cust": empty,
            "experience": np.array([]),
            "rating": empty,
            "dept": np.array([], dtype=object),
            "source": empty,
            "day": empty,
        }
    n, rho = len(h_cust), cfg.satisfaction_weight
    e = rho * satisfaction[h_cust] + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    writes = rng.random(n) < cfg.holdout_reviews * review_probability(cfg, e)
    day = np.asarray(h_day)[writes] + rng.integers(0, 15, int(writes.sum()))
    day = np.maximum(day, cutoff_day + 1)  # after the cutoff, even when the cutoff falls mid-day
    writes[writes] = day <= end_day  # a review not yet written when the data end
    day = day[day <= end_day]
    cust, e = h_cust[writes], e[writes]
    rating = 1 + np.searchsorted(thresholds, e, side="right")
    main = rng.random(cust.size) < cfg.main_department_share
    dept = names[np.where(main, d1[cust], d2[cust])]
    source = draw_texts(rng, pool, rating, dept)
    return {"cust": cust, "experience": e, "rating": rating, "dept": dept, "source": source, "day": day}


def draw_texts(rng: np.random.Generator, pool: pd.DataFrame, rating: np.ndarray, dept: np.ndarray) -> np.ndarray:
    """Positions in ``pool`` of a text with each review's rating from its department, with replacement.

    A (rating, department) pair without any text in the pool falls back to that rating in any
    department.
    """
    out = np.empty(rating.size, dtype=np.int64)
    pool_rating = pool["rating"].to_numpy().astype(int)
    pool_dept = pool["department"].to_numpy(dtype=object)
    keys = pd.MultiIndex.from_arrays([rating, dept])
    for (rt, dp), where in pd.Series(np.arange(rating.size)).groupby(keys).indices.items():
        cell = np.flatnonzero((pool_rating == rt) & (pool_dept == dp))
        if cell.size == 0:
            cell = np.flatnonzero(pool_rating == rt)
        out[where] = cell[rng.integers(0, cell.size, where.size)]
    return out
