"""Sizes and fit: complaints that an item runs small or large, matched to what each customer wrote.

The linked world has no bodies and no size charts, so this module gives it a fit layer built from
what real reviews say, with every rule written down:

- :func:`fit_mentions` is the **rule** that defines what counts as saying an item runs small or
  large (a pattern over the words; a negated mention, "doesn't run small", does not count). It is
  the world's definition of the truth, and a reader a shop could use as it is;
- :func:`item_fit`: an item's *true* fit, the share of all its real reviews that say it runs small,
  and large (shrunk towards the overall share for items with few reviews);
- :func:`customer_fit`: a customer's *true* fit tendency, from all the texts the world gave them:
  ``"small"`` when they said more often that things run small than large, ``"large"`` for the
  opposite, ``""`` otherwise;
- :class:`FitWorld`: what a fit-sensitive customer experiences: buying an item, a customer whose
  tendency is ``"small"`` finds it too small with probability ``sensitivity`` times the item's
  true share of "runs small" reviews (at most 1), and a miss lowers the experience by ``penalty``
  standard deviations: by default the real gap between reviews that say an item was too small or too
  big and reviews that say nothing about fit;
- :class:`ZeroShotFit`: a language-model reader that needs no fit labels: each sentence of a review
  is embedded with all-MiniLM-L6-v2 and compared with a few written examples of "runs small",
  "runs large" and other things reviews say;
- :class:`FitAware`: a recommender re-ranked by each item's reading of fit *for this customer*:
  an item that runs small is pushed down only for customers who wrote that things run small.

The shop never sees the truth: its readings come from the world's reviews written before the cutoff.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import precision_score, recall_score

from retention_lib.profiles.embeddings import embed_texts
from retention_lib.sentiment import review_texts

from .following import ReviewAware, shrunk_means
from .split import RecommendError

__all__ = [
    "FIT_PROTOTYPES",
    "fit_mentions",
    "fit_penalty",
    "item_fit",
    "item_fit_reading",
    "customer_fit",
    "FitWorld",
    "fit_world",
    "ZeroShotFit",
    "reading_quality",
    "FitAware",
]

_VERB = r"(?:runs?|running|ran|fits?|fitting|fitted|is|was|are|were|seems?|felt|feels?)"
_ADV = r"(?:(?:a\s+(?:little|bit|tad|touch)(?:\s+bit)?|very|really|super|slightly|somewhat|quite|so|way|too|much|extremely|definitely|pretty)\s+)?"
_MOVE = r"(?:size|sized|sizing|go|going|went|order|ordering|ordered|get|got|buy|bought)\s+(?:a\s+|one\s+)?(?:size\s+)?"
_SMALL = re.compile(rf"\b{_VERB}\s+{_ADV}(?:small|tight|snug|tiny)\b|\btoo\s+(?:small|tight|snug)\b|\b{_MOVE}up\b")
_LARGE = re.compile(
    rf"\b{_VERB}\s+{_ADV}(?:large|big|loose|baggy|huge|roomy|oversized)\b"
    rf"|\btoo\s+(?:big|large|loose|baggy|roomy)\b|\b{_MOVE}down\b"
)
_MISS = re.compile(r"\btoo\s+(?:small|tight|snug|big|large|loose|baggy|roomy)\b")
_NEGATION = re.compile(r"(?:\bnot|n't|\bnever|\bno\s+need\s+to)\s+(?:\w+\s+){0,3}$")

# Written examples for the zero-shot reader: plain sentences a customer might write, not taken from the data.
FIT_PROTOTYPES = {
    "small": [
        "It runs small.",
        "This runs small, order a size up.",
        "Too tight, I had to size up.",
        "It was too small for me.",
        "I should have ordered a bigger size.",
        "Snug fit, so size up.",
    ],
    "large": [
        "It runs large.",
        "This runs big, order a size down.",
        "Too loose and baggy, I had to size down.",
        "It was too big for me.",
        "I should have ordered a smaller size.",
        "Way too roomy, size down.",
    ],
    "other": [
        "True to size.",
        "It fits perfectly.",
        "Love the color.",
        "The fabric is soft and comfortable.",
        "Great quality for the price.",
        "It washed well.",
        "The length is perfect.",
        "I get compliments every time I wear it.",
        "Cute and flattering.",
        "The material is thin and cheap.",
        "I usually wear a size small and the small fit well.",
    ],
}


def _says(pattern: re.Pattern, text: str) -> bool:
    for m in pattern.finditer(text):
        if not _NEGATION.search(text[max(0, m.start() - 30) : m.start()]):
            return True
    return False


def fit_mentions(texts) -> pd.DataFrame:
    """The rule: does each text say the item runs ``small`` or ``large``? (both can be true).

    Case-insensitive patterns over phrases such as "runs small", "a bit snug", "too tight", "size up"
    (small) and "runs large", "too baggy", "sized down" (large); a mention preceded by a negation
    ("doesn't run small", "no need to size up") does not count. One row per text, in order.
    """
    t = [str(x).lower() for x in texts]
    return pd.DataFrame({"small": [_says(_SMALL, x) for x in t], "large": [_says(_LARGE, x) for x in t]})


def fit_penalty(reviews: pd.DataFrame, mentions: pd.DataFrame | None = None) -> float:
    """How much worse, in standard deviations of a rating, real reviews that say an item was too small
    or too big ("too tight", "too baggy" ...) are rated than reviews that say nothing about fit.
    ``mentions``: :func:`fit_mentions` of the same reviews, when already computed."""
    text = _texts(reviews)
    says = fit_mentions(text) if mentions is None else mentions
    rating = reviews["rating"].to_numpy(dtype=float)
    rated = ~np.isnan(rating)
    miss = np.array([_says(_MISS, x.lower()) for x in text]) & rated
    none = ~(says["small"] | says["large"]).to_numpy() & rated
    if miss.sum() < 10 or none.sum() < 10:
        raise RecommendError("fit_penalty: fewer than 10 rated reviews with, or without, a fit complaint")
    return float((rating[none].mean() - rating[miss].mean()) / rating[rated].std())


def _texts(reviews: pd.DataFrame) -> list[str]:
    """The world's ``text`` column, or the real data's title and body (:func:`retention_lib.sentiment.review_texts`)."""
    if "text" in reviews.columns:
        return reviews["text"].fillna("").astype(str).tolist()

    return review_texts(reviews).fillna("").tolist()


def item_fit(reviews: pd.DataFrame, items, prior_reviews: float = 5.0) -> pd.DataFrame:
    """Each item's true fit: the shares of all its real ``reviews`` that say it runs ``small`` and
    ``large`` (:func:`fit_mentions`), shrunk towards the overall shares with ``prior_reviews``
    pseudo-reviews. Indexed by ``clothing_id`` in the order of ``items``; ``attrs["penalty"]`` is
    :func:`fit_penalty` of the same reviews."""
    r = reviews.dropna(subset=["clothing_id"])
    said = fit_mentions(_texts(r))
    shares = shrunk_means(r["clothing_id"], said, prior_reviews)
    items = pd.Index(pd.unique(np.asarray(items)), name="clothing_id")
    missing = items.difference(shares.index)
    if len(missing):
        raise RecommendError(f"items without any real review: {missing[:5].tolist()}")
    out = shares.loc[items]
    out.attrs["penalty"] = fit_penalty(r, said)
    return out


def item_fit_reading(world_reviews: pd.DataFrame, reading: pd.DataFrame, prior_reviews: float = 5.0) -> pd.DataFrame:
    """An item's fit as a reader sees it in the world's reviews: shrunk shares of ``small`` and ``large``
    (``reading`` has one row per review of ``world_reviews``)."""
    if len(reading) != len(world_reviews):
        raise RecommendError(f"reading: one row per review expected, got {len(reading)} for {len(world_reviews)}")
    return shrunk_means(world_reviews["clothing_id"], reading[["small", "large"]], prior_reviews)


def customer_fit(world_reviews: pd.DataFrame, reading: pd.DataFrame, customers) -> pd.Series:
    """Each customer's fit tendency from their reviews: ``"small"`` when more of them say things run small
    than large, ``"large"`` for the opposite, ``""`` (none) otherwise, including customers who wrote
    nothing. ``reading`` has one row per review of ``world_reviews`` (``small``, ``large``)."""
    if len(reading) != len(world_reviews):
        raise RecommendError(f"reading: one row per review expected, got {len(reading)} for {len(world_reviews)}")
    counts = reading[["small", "large"]].astype(int).set_axis(world_reviews["customer_id"].to_numpy())
    counts = counts.groupby(level=0).sum().reindex(pd.Index(customers), fill_value=0)
    out = np.where(counts["small"] > counts["large"], "small", np.where(counts["large"] > counts["small"], "large", ""))
    return pd.Series(out, index=counts.index, name="fit")


@dataclass
class FitWorld:
    """The fit layer of the world: each customer's true ``tendency`` (``"small"``, ``"large"`` or ``""``),
    each item's true ``shares`` (``small``, ``large``), how much more often than the average reviewer a
    customer with that tendency finds an item off (``sensitivity``), and what a miss costs (``penalty``,
    in standard deviations of experience)."""

    tendency: pd.Series
    shares: pd.DataFrame
    sensitivity: float
    penalty: float

    def __post_init__(self):
        if self.sensitivity < 0 or self.penalty < 0:
            raise RecommendError(
                f"fit: sensitivity and penalty must be >= 0, got {self.sensitivity!r}, {self.penalty!r}"
            )

    def miss_probability(self, customers, items) -> np.ndarray:
        """The chance that each customer finds the item bought too small or too big."""
        tend = self.tendency.reindex(np.asarray(customers)).fillna("").to_numpy()
        sh = self.shares.reindex(np.asarray(items))
        if sh.isna().any().any():
            raise RecommendError("fit: items outside the catalogue")
        share = np.where(
            tend == "small", sh["small"].to_numpy(), np.where(tend == "large", sh["large"].to_numpy(), 0.0)
        )
        return np.minimum(1.0, self.sensitivity * share)


def fit_world(world, reviews: pd.DataFrame, items, sensitivity: float, penalty: float | None = None) -> FitWorld:
    """The world's fit truth: item shares from all real ``reviews`` (:func:`item_fit`), each customer's
    tendency from every text the world gave them (:func:`customer_fit` with the rule), the real
    :func:`fit_penalty` unless ``penalty`` is given."""
    shares = item_fit(reviews, items)
    rv = world.observed.reviews
    tendency = customer_fit(rv, fit_mentions(rv["text"]), world.truth.customers.index)
    return FitWorld(tendency, shares, sensitivity, shares.attrs["penalty"] if penalty is None else penalty)


_SENTENCE = re.compile(r"(?<=[.!?])\s+")


class ZeroShotFit:
    """A reader of fit without fit labels: every sentence is embedded (all-MiniLM-L6-v2, cached by text),
    compared by cosine similarity with the written examples of each class (``prototypes``; the best
    match per class counts), and a review says an item runs ``small`` (``large``) when one of its
    sentences is closer to those examples than to any other class by more than ``margin``."""

    def __init__(self, prototypes: dict | None = None, margin: float = 0.05, cache=None, log=None):
        self.prototypes = prototypes or FIT_PROTOTYPES
        if not {"small", "large"} <= set(self.prototypes) or len(self.prototypes) < 3:
            raise RecommendError("prototypes: expected 'small', 'large' and at least one other class of examples")
        self.margin, self.cache, self.log = margin, cache, log

    def __call__(self, texts) -> pd.DataFrame:
        texts = [str(t) for t in texts]
        kw = {"cache": self.cache, "log": self.log or (lambda *_: None)}
        pieces = [(j, s) for j, t in enumerate(texts) for s in _SENTENCE.split(t) if s.strip()]
        out = pd.DataFrame(False, index=range(len(texts)), columns=["small", "large"])
        if not pieces:
            return out
        row = np.array([j for j, _ in pieces])
        e = embed_texts([s for _, s in pieces], **kw)
        classes = list(self.prototypes)
        examples = [x for c in classes for x in self.prototypes[c]]
        of = np.array([c for c in classes for _ in self.prototypes[c]])
        sim_all = e @ embed_texts(examples, **kw).T
        sim = np.stack([sim_all[:, of == c].max(axis=1) for c in classes], axis=1)
        for c in ("small", "large"):
            ci = classes.index(c)
            hit = sim[:, ci] - np.delete(sim, ci, axis=1).max(axis=1) > self.margin
            out[c] = pd.Series(hit).groupby(row).any().reindex(out.index, fill_value=False).to_numpy()
        return out


def reading_quality(reading: pd.DataFrame, rule: pd.DataFrame) -> pd.DataFrame:
    """Precision, recall and the share flagged of a reader against the rule, for ``small`` and ``large``
    (scikit-learn's metrics)."""
    rows = {}
    for c in ("small", "large"):
        y, p = rule[c].to_numpy(bool), reading[c].to_numpy(bool)
        rows[c] = {
            "share said (rule)": y.mean(),
            "share flagged": p.mean(),
            "precision": precision_score(y, p, zero_division=0.0),
            "recall": recall_score(y, p, zero_division=0.0),
        }
    return pd.DataFrame(rows).T


class FitAware(ReviewAware):
    """A review-aware recommender that also reads fit for each customer:
    ``z(score) - weight * z(penalty) - fit_weight * z(share the customer is sensitive to)``.

    ``shares`` (``small``, ``large``, indexed by product id) is an item reading of fit; ``tendency``
    (indexed by user id) a reading of each customer's. Customers without a tendency get
    :class:`ReviewAware`'s ranking unchanged.
    """

    def __init__(
        self,
        base,
        penalty: pd.Series,
        weight: float = 1.0,
        shares: pd.DataFrame | None = None,
        tendency: pd.Series | None = None,
        fit_weight: float = 1.0,
    ):
        super().__init__(base, penalty, weight)
        self.shares, self.tendency, self.fit_weight = shares, tendency, fit_weight

    def _fit(self, lines, u, i):
        super()._fit(lines, u, i)
        if self.shares is None or self.tendency is None:
            raise RecommendError("FitAware: shares and tendency are required")
        sh = self.shares.reindex(self.items_)
        sh = sh.fillna(sh.mean())
        self.z_fit_ = {c: ((sh[c] - sh[c].mean()) / (sh[c].std() or 1.0)).to_numpy() for c in ("small", "large")}
        self.tendency_ = self.tendency.reindex(self.users_).fillna("").to_numpy()

    def _score(self, rows):
        s = super()._score(rows)
        tend = self.tendency_[rows]
        for c in ("small", "large"):
            at = tend == c
            s[at] -= self.fit_weight * self.z_fit_[c]
        return s
