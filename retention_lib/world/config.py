"""The world's settings, constants and the containers of what is observed and what is true."""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd

#: BG/NBD fitted on the CDNOW master file by chapter 04's code (calibration to 1997-09-30); a test refits it
CDNOW_BGNBD = {"r": 0.2516, "alpha": 4.7890, "a": 0.7234, "b": 2.1612}
#: log spend per purchase day on CDNOW: mean and sd of customers' mean log spend, sd within a customer
CDNOW_SPEND = {"log_mean": 3.217, "log_sd_between": 0.628, "log_sd_within": 0.524}
#: share of each star rating (1..5) among the real reviews with a text; a test recomputes it
REAL_RATING_SHARES = (0.0363, 0.0684, 0.1247, 0.2168, 0.5539)
#: what a customer can receive at the cutoff: no offer, or one of the offers
ARMS = ("none", "discount", "recovery")
OFFERS = ARMS[1:]
#: groups of the randomised experiment, and of the customers outside it
GROUPS = ("not in experiment", "control", "discount", "recovery")

_E_ABS = np.sqrt(2 / np.pi)  # E|e| for e ~ N(0, 1)
_E_NEG = 1 / np.sqrt(2 * np.pi)  # E max(0, -e)


class WorldConfigError(ValueError):
    """A setting of the world is unknown or out of range."""


@dataclass(frozen=True)
class WorldConfig:
    """Every setting of the world; :func:`simulate` checks each one and names any that is wrong."""

    n_customers: int = 20_000
    seed: int = 0
    start_date: str = "1997-01-01"
    acquisition_weeks: float = 12.0
    calibration_weeks: float = 39.0
    holdout_weeks: float = 39.0
    r: float = CDNOW_BGNBD["r"]
    alpha: float = CDNOW_BGNBD["alpha"]
    a: float = CDNOW_BGNBD["a"]
    b: float = CDNOW_BGNBD["b"]
    spend_log_mean: float = CDNOW_SPEND["log_mean"]
    spend_log_sd_between: float = CDNOW_SPEND["log_sd_between"]
    spend_log_sd_within: float = CDNOW_SPEND["log_sd_within"]
    satisfaction_weight: float = 0.6
    text_effect: float = 1.0
    review_rate: float = 0.3
    review_extremity: float = 0.5
    review_negativity: float = 0.5
    main_department_share: float = 0.7
    experiment_share: float = 0.2
    discount_rate: float = 0.2
    discount_contact_cost: float = 0.5
    recovery_contact_cost: float = 3.0
    discount_rate_boost: float = 0.5
    discount_winback: float = 0.15
    recovery_winback: float = 0.25
    recovery_dropout_cut: float = 0.5
    contact_averse_share: float = 0.07
    contact_averse_loss: float = 0.6
    holdout_reviews: float = 0.0

    #: (low, high, meaning) of every setting; None = unbounded
    RULES = {
        "n_customers": (10, 50_000_000, "customers to simulate"),
        "seed": (0, None, "seed of every random draw"),
        "acquisition_weeks": (0.0, 52.0, "weeks over which first purchases are spread"),
        "calibration_weeks": (1.0, 520.0, "weeks from the start to the cutoff"),
        "holdout_weeks": (1.0, 520.0, "weeks after the cutoff that are simulated"),
        "r": (1e-3, 100.0, "BG/NBD r: shape of the purchase rates"),
        "alpha": (1e-3, 1e4, "BG/NBD alpha: scale of the purchase rates (weeks)"),
        "a": (1e-3, 1e3, "BG/NBD a: dropout Beta(a, b)"),
        "b": (1e-3, 1e3, "BG/NBD b: dropout Beta(a, b)"),
        "spend_log_mean": (-10.0, 20.0, "mean of customers' mean log spend per purchase"),
        "spend_log_sd_between": (0.0, 5.0, "sd of customers' mean log spend"),
        "spend_log_sd_within": (0.0, 5.0, "sd of log spend within a customer"),
        "satisfaction_weight": (0.0, 1.0, "correlation of an experience with the customer's satisfaction"),
        "text_effect": (0.0, 10.0, "how strongly a bad experience raises the chance of leaving (0 = not)"),
        "review_rate": (0.001, 0.999, "share of purchases that produce a review (at an average experience)"),
        "review_extremity": (0.0, 5.0, "how much more often extreme experiences are reviewed"),
        "review_negativity": (0.0, 5.0, "how much more often bad experiences are reviewed"),
        "main_department_share": (0.0, 1.0, "share of purchases in the customer's first department"),
        "experiment_share": (0.0, 1.0, "share of customers in the randomised experiment"),
        "discount_rate": (0.0, 0.9, "price reduction of the discount offer"),
        "discount_contact_cost": (0.0, 1e4, "cost of sending the discount offer, per customer"),
        "recovery_contact_cost": (0.0, 1e4, "cost of a service-recovery contact, per customer"),
        "discount_rate_boost": (0.0, 10.0, "extra purchase rate under the discount for the most price-sensitive"),
        "discount_winback": (0.0, 1.0, "chance the discount wins back a gone, fully price-sensitive customer"),
        "recovery_winback": (0.0, 1.0, "chance a recovery contact wins back a gone customer after a bad experience"),
        "recovery_dropout_cut": (0.0, 1.0, "cut in dropout a recovery contact gives after a bad experience"),
        "contact_averse_share": (0.0, 1.0, "share of customers any offer may push away"),
        "contact_averse_loss": (0.0, 1.0, "chance an offer makes a contact-averse customer leave"),
        "holdout_reviews": (
            0.0,
            1.0,
            "holdout purchases are reviewed too, dated after the cutoff, at this share of "
            "the calibration rate (0 = never; a canary for leaks of the future)",
        ),
    }

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "start_date":
                try:
                    pd.Timestamp(value)
                except (ValueError, TypeError):
                    raise WorldConfigError(
                        f"world setting 'start_date' must be a date YYYY-MM-DD, got {value!r}"
                    ) from None
                continue
            lo, hi, meaning = self.RULES[f.name]
            kind = int if f.type in ("int", int) else float
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float, np.integer, np.floating))
                or (kind is int and not float(value).is_integer())
            ):
                raise WorldConfigError(
                    f"world setting '{f.name}' ({meaning}) must be "
                    f"{'a whole number' if kind is int else 'a number'}, got {value!r}"
                )
            if not np.isfinite(value) or value < lo or (hi is not None and value > hi):
                rng = f"from {lo} to {hi}" if hi is not None else f">= {lo}"
                raise WorldConfigError(f"world setting '{f.name}' ({meaning}) must be {rng}, got {value!r}")

    @classmethod
    def from_settings(cls, **settings) -> WorldConfig:
        """The config with ``settings`` changed; an unknown name is an error that suggests the closest."""
        names = [f.name for f in fields(cls)]
        for name in settings:
            if name not in names:
                close = difflib.get_close_matches(name, names, n=1)
                hint = f" Did you mean '{close[0]}'?" if close else ""
                raise WorldConfigError(f"unknown world setting '{name}'.{hint} Settings: {', '.join(names)}")
        return cls(**settings)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def table(self, names=None) -> pd.DataFrame:
        """The settings (all, or those in ``names``, in that order) with their values and meanings, for a
        reader; an unknown name is the same error as :meth:`from_settings` gives.

        >>> WorldConfig(seed=3).table(["seed", "text_effect"])["value"].tolist()
        [3, 1.0]
        """
        values = self.as_dict()
        if names is not None:
            self.from_settings(**{n: values.get(n) for n in names})  # names every unknown setting
        meaning = {**{k: v[2] for k, v in self.RULES.items()}, "start_date": "the first day of the world"}
        rows = list(values) if names is None else list(names)
        return pd.DataFrame(
            {
                "value": pd.Series([values[n] for n in rows], dtype=object).to_numpy(),
                "meaning": [meaning[n] for n in rows],
            },
            index=pd.Index(rows, name="setting"),
        )


@dataclass
class Observed:
    """What a shop has: pseudonymous customers, their purchases and reviews, the experiment.

    - ``purchases``: ``customer_id``, ``date``, ``amount`` (calibration and holdout, the holdout
      under what each customer actually received);
    - ``reviews``: ``review_id``, ``customer_id``, ``date``, ``clothing_id``, ``department``,
      ``text`` (no rating: the shop reads the text). Some are dated after the cutoff: reviews of the
      last calibration purchases and, with ``holdout_reviews``, reviews of holdout purchases;
    - ``assignment``: ``customer_id``, ``group`` (one of ``GROUPS``);
    - ``cutoff``, ``end``: the last day of calibration and of the holdout.
    """

    purchases: pd.DataFrame
    reviews: pd.DataFrame
    assignment: pd.DataFrame
    cutoff: pd.Timestamp
    end: pd.Timestamp


@dataclass
class Truth:
    """What only the simulation knows, for measuring methods.

    - ``customers``: hidden traits (``purchase_rate``, ``dropout_p``, ``satisfaction``,
      ``price_sensitivity``, ``contact_averse``, departments), the state at the cutoff
      (``alive_at_cutoff``, ``last_experience``, ``last_bad``) and the potential outcomes
      ``purchases_<arm>``, ``spend_<arm>``, ``profit_<arm>`` for every arm in ``ARMS``, and
      ``received`` (the arm actually received); indexed by ``customer_id``;
    - ``purchases``: every calibration purchase with its ``experience``;
    - ``reviews``: ``review_id``, ``rating``, ``experience``, ``source_review`` (row of the real
      reviews dataset the text comes from), ``holdout`` (a review of a holdout purchase);
    - ``rating_thresholds``: the four experience cut points of the star ratings.
    """

    customers: pd.DataFrame
    purchases: pd.DataFrame
    reviews: pd.DataFrame
    rating_thresholds: np.ndarray


@dataclass
class World:
    config: WorldConfig
    observed: Observed
    truth: Truth = field(repr=False)
