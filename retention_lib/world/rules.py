"""The world's rules for one customer, as functions of uniform draws: the one place they are written.

The simulation (:func:`~retention_lib.world.simulate`) and everything that extends the world (chapter
07's recommendations, which change what a customer buys and so how the purchase goes) call these, so a
rule changed here changes it everywhere. Each takes its randomness as uniform draws or standard normal
draws, which lets a caller keep common random numbers across the alternatives it compares.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["experience", "dropout_probability", "purchases_in", "purchases_before_leaving"]


def experience(satisfaction, rho: float, z):
    """The experience of a purchase: ``rho * s + sqrt(1 - rho^2) * z`` for a standard normal draw ``z``;
    standard normal over the population, with the customer's usual level ``rho * s``."""
    return rho * satisfaction + np.sqrt(1 - rho**2) * z


def dropout_probability(p, deviation, text_effect: float, rho: float):
    """The chance of leaving right after a purchase whose experience deviates by ``deviation`` from the
    customer's usual (``e - rho * s``), for a customer whose dropout per purchase is ``p`` on average.

    ``Phi(c * Phi^-1(p) - t * deviation)`` with ``c = sqrt(1 + t^2 (1 - rho^2))``: as the deviation is
    ``N(0, 1 - rho^2)``, its average over the customer's experiences is exactly ``p``; ``t = 0`` makes
    leaving independent of the experience.

    >>> round(float(dropout_probability(0.3, 0.0, 0.0, 0.5)), 12)
    0.3
    """
    c = np.sqrt(1 + text_effect**2 * (1 - rho**2))
    return stats.norm.cdf(c * stats.norm.ppf(p) - text_effect * deviation)


def purchases_in(u, rate, weeks: float):
    """How many purchases a customer's Poisson process makes in ``weeks`` at ``rate`` per week, from a
    uniform draw ``u`` (the inverse CDF: the same ``u`` at a higher rate gives at least as many)."""
    return np.maximum(stats.poisson.ppf(u, rate * weeks), 0)


def purchases_before_leaving(u, p):
    """The number of the purchase after which a customer leaves (BG/NBD's geometric, at least 1), from a
    uniform draw ``u``, for dropout ``p`` per purchase."""
    return np.maximum(stats.geom.ppf(u, p), 1)
