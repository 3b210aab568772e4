"""A linked world: simulated customers who buy like CDNOW's, write real reviews, and stay or leave.

No public dataset links what customers write to what they later buy, or records what a
retention offer did to customers who got it and to those who did not. This module builds such a
world around real data, with the truth known:

- each customer's buying follows the BG/NBD model with the parameters fitted on the CDNOW master
  file (purchase rate ``lambda ~ Gamma(r, alpha)``, dropout ``p ~ Beta(a, b)``), first purchases
  spread over the first 12 weeks as in CDNOW;
- each customer has a hidden satisfaction level ``s ~ N(0, 1)`` and two preferred departments;
  every purchase is an experience ``e = rho * s + sqrt(1 - rho^2) * noise`` (``rho`` =
  ``satisfaction_weight``), standard normal over the population;
- a purchase produces a review with probability ``review_rate``, more often after an extreme or a
  bad experience (``review_extremity``, ``review_negativity``); the review's star rating is the
  experience cut at thresholds that reproduce the real reviews' rating mix, and its text is a real
  review with that rating from one of the customer's departments, drawn with replacement from
  reviews the chapter 02 model never trained on (its test split);
- leaving is linked to experiences in two ways, both scaled by ``text_effect`` (``t``): a
  customer's lasting dropout probability ``p`` is drawn from BG/NBD's ``Beta(a, b)`` through a
  Gaussian copula with correlation ``kappa = t / sqrt(1 + t^2)`` to dissatisfaction ``-s``, and after
  each repeat purchase the customer drops out with probability
  ``Phi(c * Phi^-1(p) - t * (e - rho * s))``, ``c = sqrt(1 + t^2 (1 - rho^2))``, which is higher after
  an experience worse than the customer's usual and equals ``p`` on average over them. So each
  customer's number of purchases before leaving is exactly BG/NBD's geometric with ``p``, the
  population's ``p`` is exactly ``Beta(a, b)``, and ``text_effect = 0`` makes leaving independent of
  experiences: reviews then carry no information about it;
- at the cutoff every customer's holdout is simulated under no offer and under each offer
  (``discount``, ``recovery``) with common random numbers, so each customer's effect is known:
  some buy anyway, some are gone whatever happens, some are won back (a discount more so for
  price-sensitive customers, a service-recovery message for those whose last experience was bad),
  and a contact-averse few are pushed away by any offer;
- a randomised experiment assigns a share of customers at random to control or an offer; only the
  outcome of what each customer actually received is observed.

:func:`simulate` returns a :class:`World` whose ``observed`` part is what a shop would have and
whose ``truth`` part is what only the simulation knows. Models take ``observed``; ``truth`` is
for measuring them.
"""

from . import rules
from .config import (
    ARMS,
    CDNOW_BGNBD,
    CDNOW_SPEND,
    GROUPS,
    OFFERS,
    REAL_RATING_SHARES,
    Observed,
    Truth,
    World,
    WorldConfig,
    WorldConfigError,
)
from .holdout import expected_outcomes, replay_outcomes
from .simulate import review_pool, simulate
from .storage import load, save
from .summaries import behaviour_stats, no_offer_customers, true_effects

__all__ = [
    "WorldConfig",
    "WorldConfigError",
    "World",
    "Observed",
    "Truth",
    "simulate",
    "review_pool",
    "save",
    "load",
    "ARMS",
    "OFFERS",
    "CDNOW_BGNBD",
    "CDNOW_SPEND",
    "REAL_RATING_SHARES",
    "GROUPS",
    "behaviour_stats",
    "true_effects",
    "expected_outcomes",
    "replay_outcomes",
    "no_offer_customers",
    "rules",
]
