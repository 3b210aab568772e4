"""What reading reviews adds to predicting who buys again: an ablation over readers of the text.

A *reader* turns each review into a negativity score in [0, 1] and a yes/no "negative" reading:
the fine-tuned language model (its probability of a negative review), TF-IDF + logistic regression
and the VADER lexicon (both fitted on chapter 02's training split), and, as a yardstick that no
shop has, the *perfect reader*, who sees the hidden stars. Each reader's per-customer features
(:func:`retention_lib.profiles.user_profiles.text_features`) are added to the same behaviour features and
compared on the same folds, with the same models, against behaviour alone and against the true
probability of buying again, which no model can beat.

Every feature set built here from observed data goes through :func:`observed_sets`, which never
sees the truth; the perfect reader and the true probability come from :func:`oracle_sets`, which
takes the truth explicitly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from retention_lib import world as W
from retention_lib.base.metrics import binary_metrics, paired_bootstrap_diff
from retention_lib.retention.classifiers import gradient_boosting, outer_folds, signed_log
from retention_lib.retention.features import FEATURES_RICH, calibration_holdout, retained
from retention_lib.retention.losses import ScratchLogisticRegression
from retention_lib.world import no_offer_customers

from .gains import gain_share, gain_share_intervals, reader_pair_difference
from .readers import READERS, fit_readers, perfect_reading, reading_from_proba, vader_reading
from .user_profiles import text_features

__all__ = [
    "WORLD_BEHAVIOUR",
    "READERS",
    "fit_readers",
    "reading_from_proba",
    "vader_reading",
    "perfect_reading",
    "reader_features",
    "observed_sets",
    "oracle_sets",
    "true_buy_probability",
    "make_text_models",
    "out_of_fold",
    "ablation_table",
    "gain_share",
    "gain_share_intervals",
    "sweep",
    "no_offer_customers",
    "last_review_groups",
    "last_review_gap",
    "reader_pair_difference",
    "sweep_model",
    "world_gains",
    "replicate_gains",
]

#: behaviour features that exist in the world (it has no CD counts)
WORLD_BEHAVIOUR = [c for c in FEATURES_RICH if "quantity" not in c]


def reader_features(reviews: pd.DataFrame, reading: pd.DataFrame, cutoff, customers) -> pd.DataFrame:
    """Per-customer text features of one reader (see :func:`retention_lib.profiles.user_profiles.text_features`)."""
    return text_features(reviews, reading, cutoff, customers)


def observed_sets(
    observed, readings: dict, topics: pd.DataFrame | None = None, customers=None, text_until=None
) -> tuple[dict, pd.Series]:
    """Feature sets built from a shop's observed data only, and the label.

    Parameters
    ----------
    observed : retention_lib.world.Observed
    readings : dict
        Reader key -> its reading of each row of ``observed.reviews`` (``p_negative``, ``negative``).
    topics : DataFrame or None
        ``topic_*`` columns per customer (from the profiles), for a ``+ topics`` set.
    customers : index or None
        Customers to keep (default: those who received no offer).
    text_until : date-like or None
        The last day whose reviews are read: the cutoff (the default, and the only right answer). A
        later day reads the future; chapter 06 does it on purpose, once, to show that its canary sings.

    Returns
    -------
    (dict, Series)
        ``"behaviour"`` and ``"behaviour + <reader>"`` (and ``"behaviour + topics"``) -> DataFrame
        indexed by customer; the label (:func:`~retention_lib.retention.retained`).
    """
    summary = calibration_holdout(observed.purchases, observed.cutoff, observed.end)
    ids = summary.index if customers is None else summary.index.intersection(pd.Index(customers))
    summary = summary.loc[ids]
    behaviour = summary[WORLD_BEHAVIOUR]
    sets = {"behaviour": behaviour}
    for key, reading in readings.items():
        if len(reading) != len(observed.reviews):
            raise ValueError(f"reading {key!r}: {len(reading)} rows, but there are {len(observed.reviews)} reviews")
        text = reader_features(observed.reviews, reading, observed.cutoff if text_until is None else text_until, ids)
        sets[f"behaviour + {key}"] = behaviour.join(text.astype({"has_reviews": float}))
    if topics is not None:
        t = topics.reindex(ids)
        sets["behaviour + topics"] = behaviour.join(t).assign(has_reviews=t.iloc[:, 0].notna().astype(float))
    return sets, retained(summary)


def true_buy_probability(truth_customers: pd.DataFrame, holdout_weeks: float) -> pd.Series:
    """P(any purchase in the holdout with no offer | everything hidden): alive at the cutoff times
    P(at least one purchase of a Poisson process with the customer's rate): the ceiling."""
    c = truth_customers
    return (c["alive_at_cutoff"] * (1 - np.exp(-c["purchase_rate"] * holdout_weeks))).rename("true probability")


def oracle_sets(observed, truth, holdout_weeks: float, customers) -> tuple[dict, pd.Series]:
    """What no shop has: the perfect reader's feature set, and the true probability of buying again."""
    ratings = observed.reviews[["review_id"]].merge(truth.reviews[["review_id", "rating"]], on="review_id", how="left")[
        "rating"
    ]
    sets, _ = observed_sets(observed, {"perfect": perfect_reading(ratings)}, customers=customers)
    return {"behaviour + perfect": sets["behaviour + perfect"]}, true_buy_probability(
        truth.customers, holdout_weeks
    ).reindex(sets["behaviour"].index)


def make_text_models(seed: int) -> dict:
    """The chapter's models, unfitted: chapter 04's logistic regression and gradient boosting, and
    chapter 03's from-scratch logistic regression on the retention loss (BCE). Missing text
    features (customers without a review) are imputed by the mean for the linear models, next to
    the ``has_reviews`` indicator; gradient boosting handles them natively."""

    def prep():
        return [SimpleImputer(strategy="mean"), FunctionTransformer(signed_log), StandardScaler()]

    return {
        "lr": make_pipeline(
            *prep(),
            LogisticRegressionCV(
                Cs=10, cv=5, l1_ratios=(0.0,), scoring="neg_log_loss", max_iter=3000, use_legacy_attributes=False
            ),
        ),
        "gb": gradient_boosting(seed),
        "bce": make_pipeline(*prep(), ScratchLogisticRegression(l2=1e-3, method="newton", max_iter=50)),
    }


def out_of_fold(sets: dict, y, models: dict, folds: int, seed: int) -> pd.DataFrame:
    """Out-of-fold P(buy again) of every model on every feature set, on the same folds.

    Returns
    -------
    DataFrame
        One row per customer; columns ``(set, model)``.
    """
    y = np.asarray(y)
    cv = outer_folds(folds, seed)
    index = next(iter(sets.values())).index
    out = {}
    for name, X in sets.items():
        if not X.index.equals(index):
            raise ValueError(f"feature set {name!r} is not indexed like the first set")
        for key, model in models.items():
            out[(name, key)] = cross_val_predict(
                clone(model), X.to_numpy(dtype=float), y, cv=cv, method="predict_proba"
            )[:, 1]
    return pd.DataFrame(out, index=index)


def ablation_table(
    oof: pd.DataFrame,
    y,
    base: str = "behaviour",
    true_p=None,
    n_resamples: int = 500,
    seed: int = 0,
    subset=None,
    intervals_for=None,
) -> pd.DataFrame:
    """Every (feature set, model) of ``oof`` scored, with its ROC AUC and PR AUC gain over ``base``
    (the same model on behaviour alone) and a paired bootstrap interval of each gain.

    ``true_p`` (the true probability) is added as a row of its own; ``subset`` (a boolean mask)
    restricts the evaluation to some customers (for example those who wrote a review);
    ``intervals_for`` limits the bootstrap (the slow part) to some models (default: all), the
    others get the gains without an interval.
    """

    y = np.asarray(y)
    mask = np.ones(len(y), dtype=bool) if subset is None else np.asarray(subset, dtype=bool)
    rows = {}
    for name, model in oof.columns:
        p = oof[(name, model)].to_numpy()[mask]
        row = {"set": name, "model": model, **binary_metrics(y[mask], p)}
        b = oof[(base, model)].to_numpy()[mask]
        for metric, f in (("roc_auc", roc_auc_score), ("pr_auc", average_precision_score)):
            if name == base or (intervals_for is not None and model not in intervals_for):
                d = {"difference": f(y[mask], p) - f(y[mask], b), "low": np.nan, "high": np.nan}
            else:
                d = paired_bootstrap_diff(y[mask], p, b, f, n_resamples=n_resamples, seed=seed)
            row[f"{metric}_gain"], row[f"{metric}_gain_low"], row[f"{metric}_gain_high"] = (
                d["difference"],
                d["low"],
                d["high"],
            )
        rows[(name, model)] = row
    if true_p is not None:
        tp = np.asarray(true_p, dtype=float)[mask]
        rows[("true probability", "none")] = {"set": "true probability", "model": "none", **binary_metrics(y[mask], tp)}
    return pd.DataFrame(rows).T.set_index(["set", "model"])


def last_review_groups(observed, reading: pd.DataFrame, customers) -> pd.Series:
    """Each customer's last review before the cutoff as read by a reader: ``negative``, ``not negative``
    or ``no review`` (an ordered categorical)."""
    r = observed.reviews.assign(negative=reading["negative"].to_numpy())
    r = r[r["date"] <= observed.cutoff].sort_values(["customer_id", "date"], kind="stable")
    last = r.groupby("customer_id")["negative"].last().reindex(pd.Index(customers))
    out = pd.Series(
        np.where(last.isna(), "no review", np.where(last.fillna(False).astype(bool), "negative", "not negative")),
        index=last.index,
    )
    return out.astype(pd.CategoricalDtype(["negative", "not negative", "no review"], ordered=True))


def last_review_gap(observed, reading: pd.DataFrame, y: pd.Series) -> float:
    """Share buying again after a last review read as not negative minus after one read as negative:
    a number any shop can compute from its own data, and a rough gauge of its text effect."""
    groups = last_review_groups(observed, reading, y.index)
    rate = y.groupby(groups, observed=False).mean()
    return float(rate["not negative"] - rate["negative"])


def sweep(
    pool: pd.DataFrame,
    read,
    setting: str,
    values,
    n_customers: int,
    seed: int,
    folds: int = 3,
    n_resamples: int = 200,
    **settings,
) -> pd.DataFrame:
    """The AUC gain of each reader over behaviour alone in fresh worlds along one setting.

    Each point is a new world (same seed, ``setting = value``), evaluated on its customers who got
    no offer with a plain logistic regression (fixed C = 1, for speed) on the same folds.

    Parameters
    ----------
    pool : DataFrame
        The review texts (:func:`retention_lib.world.review_pool`).
    read : callable
        ``texts -> reading`` (``p_negative``, ``negative``): the language model's, from :func:`fit_readers`.
    setting : str
        A field of :class:`retention_lib.world.WorldConfig`, such as ``text_effect``.

    Returns
    -------
    DataFrame
        One row per value and reader (``lm``, ``perfect``): ``gain``, ``low``, ``high`` (ROC AUC,
        paired bootstrap), the behaviour-only ``base_auc``, the share of customers with a review and
        the ``last-review gap`` (:func:`last_review_gap`, what a shop can measure).
    """
    rows = []
    for value in values:
        w = W.simulate(n_customers, seed, pool=pool, **{**settings, setting: value})
        rows += [{setting: value, **row} for row in world_gains(w, read, folds, seed, n_resamples)]
    return pd.DataFrame(rows)


def sweep_model():
    """The sweeps' model: a plain logistic regression (fixed C = 1, for speed) on standardised features."""
    return make_pipeline(
        SimpleImputer(strategy="mean"),
        FunctionTransformer(signed_log),
        StandardScaler(),
        LogisticRegression(C=1.0, max_iter=2000),
    )


def world_gains(
    w, read, folds: int = 3, seed: int = 0, n_resamples: int = 200, text_until=None, perfect: bool = True
) -> list[dict]:
    """The ROC AUC gain over behaviour of the reader ``read`` (and of the perfect reader) in one world,
    on its customers without an offer, with :func:`sweep_model` on the same folds.

    Returns one dict per reader (``lm``, ``perfect``): ``reader``, ``gain``, ``low``, ``high`` (paired
    bootstrap), ``base_auc``, ``share with a review`` and ``last-review gap``. ``text_until`` as in
    :func:`observed_sets`.
    """

    o = w.observed
    customers = no_offer_customers(o)
    reading = read(o.reviews["text"])
    sets, y = observed_sets(o, {"lm": reading}, customers=customers, text_until=text_until)
    if perfect:
        sets.update(oracle_sets(o, w.truth, w.config.holdout_weeks, customers)[0])
    oof = out_of_fold(sets, y, {"lr": sweep_model()}, folds, seed)
    yy = y.to_numpy()
    base = oof[("behaviour", "lr")].to_numpy()
    writers = sets["behaviour + lm"]["has_reviews"].mean()
    gap = last_review_gap(o, reading, y)
    rows = []
    for reader in ("lm", "perfect") if perfect else ("lm",):
        d = paired_bootstrap_diff(
            yy, oof[(f"behaviour + {reader}", "lr")].to_numpy(), base, roc_auc_score, n_resamples=n_resamples, seed=seed
        )
        rows.append(
            {
                "reader": reader,
                "gain": d["difference"],
                "low": d["low"],
                "high": d["high"],
                "base_auc": roc_auc_score(yy, base),
                "share with a review": writers,
                "last-review gap": gap,
            }
        )
    return rows


def replicate_gains(
    pool: pd.DataFrame,
    readers: dict,
    settings: dict,
    n_customers: int,
    seeds,
    folds: int = 3,
    model_seed: int = 0,
) -> pd.DataFrame:
    """The chapter's headline comparison repeated in other worlds: one world per seed in ``seeds``, with
    chapter 05's ``settings`` and ``n_customers``; in each, chapter 04's gradient boosting (the chapter's
    model) on behaviour alone and on behaviour plus each reader of ``readers`` (name -> ``texts ->
    reading``), out of fold on the customers without an offer.

    Returns one row per seed: ``base_auc`` and, per reader, ``gain_<reader>`` (ROC AUC over behaviour),
    and, for each pair of readers, ``<a>_minus_<b>``: the spread of these over worlds is the world-to-world
    variance a single world's interval does not include.
    """
    if len(readers) < 1 or n_customers < 100:
        raise ValueError(
            f"replicate_gains: need at least one reader and 100 customers, got {list(readers)}, {n_customers}"
        )
    names = list(readers)
    rows = []
    for world_seed in seeds:
        w = W.simulate(n_customers, int(world_seed), pool=pool, **settings)
        o = w.observed
        customers = no_offer_customers(o)
        readings = {name: read(o.reviews["text"]) for name, read in readers.items()}
        sets, y = observed_sets(o, readings, customers=customers)
        sets = {k: sets[k] for k in ["behaviour", *(f"behaviour + {n}" for n in names)]}
        oof = out_of_fold(sets, y, {"gb": gradient_boosting(model_seed)}, folds, model_seed)
        yy = y.to_numpy()
        auc = {k: roc_auc_score(yy, oof[(k, "gb")].to_numpy()) for k in sets}
        row = {"seed": int(world_seed), "base_auc": auc["behaviour"]}
        row.update({f"gain_{n}": auc[f"behaviour + {n}"] - auc["behaviour"] for n in names})
        row.update(
            {
                f"{a}_minus_{b}": auc[f"behaviour + {a}"] - auc[f"behaviour + {b}"]
                for i, a in enumerate(names)
                for b in names[i + 1 :]
            }
        )
        rows.append(row)
    return pd.DataFrame(rows).set_index("seed")
