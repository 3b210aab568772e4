"""The book's method on a shop's own data: each step is a call the chapters already use.

- :func:`read_reviews`: the reviews read by chapter 02's fine-tuned model (its saved scores where a text was
  scored, the model itself for new texts) or by TF-IDF fitted on chapter 02's training reviews;
- :func:`retention_check`: chapter 06's comparison on the shop's customers who got no offer: gradient
  boosting on behaviour, with and without the reviews, on the same folds; cross-validated ROC AUC, the
  reviews' gain with a paired bootstrap interval, calibration, and BG/NBD (chapter 04) as a yardstick;
- :func:`customers_now`: every customer scored on what the shop knows on its last day, with the text
  rule's flag (last review read as negative) and a segment (chapter 05);
- :func:`offer_effects` and :func:`targeting_values`: with a randomised experiment, each offer's effect and
  the value of targeting rules by inverse propensity weighting (chapter 08's estimator), with intervals.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from retention_lib import strategy as st
from retention_lib.base.metrics import paired_bootstrap_diff
from retention_lib.experiments.analysis import compare_proportions, welch
from retention_lib.profiles import text_value as tv
from retention_lib.profiles import user_profiles as up
from retention_lib.profiles.readers import reading_from_proba, score_texts, sentiment_lookup
from retention_lib.retention.bgnbd import BGNBD
from retention_lib.retention.features import calibration_holdout
from retention_lib.sentiment import SentimentClassifier
from retention_lib.serving.backends import score_reviews
from retention_lib.strategy.study import text_rule_score

__all__ = [
    "READERS",
    "read_reviews",
    "retention_check",
    "customers_now",
    "offer_effects",
    "targeting_values",
    "true_values",
    "best_list",
    "contact_rules",
]

#: the readers a shop can choose: chapter 02's fine-tuned model, or TF-IDF (no model needed)
READERS = ("lm", "tfidf")


def read_reviews(
    texts,
    reader: str,
    reviews: pd.DataFrame,
    scores: pd.DataFrame,
    model_dir=None,
    seed: int = 0,
    backend: str = "torch",
    log=print,
) -> tuple[pd.DataFrame, dict]:
    """Each text's reading (``p_negative``, ``negative``) and how it was obtained.

    ``lm`` looks a text up in chapter 02's saved scores (``scores``, over the real ``reviews``) and scores each
    distinct new text once with the model saved in ``model_dir`` (loaded only when a text is new), through
    chapter 10's ``backend`` (:func:`~retention_lib.serving.backends.score_reviews`: ``torch`` is exact fp32 with
    length bucketing, ``onnx`` exact within 1e-4, ``int8`` approximate); ``tfidf`` is fitted on chapter 02's
    training split. Returns the reading and ``{"texts", "looked_up", "scored"}`` (scored: distinct new texts).
    """
    if reader not in READERS:
        raise ValueError(f"reader must be one of {list(READERS)}, got {reader!r}")
    texts = pd.Series(list(texts), dtype=object)
    if reader == "tfidf":
        reading = tv.fit_readers(reviews, scores, seed)["tfidf"](texts)
        return reading, {"texts": len(texts), "looked_up": 0, "scored": int(texts.nunique())}
    lookup = sentiment_lookup(reviews, scores)
    new = ~texts.isin(lookup.index)
    distinct = pd.unique(texts[new])
    if len(distinct):
        if model_dir is None or not Path(model_dir).exists():
            raise FileNotFoundError(f"{len(distinct)} review text(s) need chapter 02's model, and {model_dir} has none")
        log(f"scoring {len(distinct):,} new review text(s) with chapter 02's model ({backend} backend)")
        clf = SentimentClassifier.load(model_dir, device=None)
        if [f"p_{label}" for label in clf.labels] != list(lookup.columns):
            raise ValueError(
                f"{model_dir}: the model's classes {list(clf.labels)} are not the saved scores' {list(lookup.columns)}"
            )
        proba = score_reviews(list(distinct), clf, backend)
        lookup = pd.concat([lookup, pd.DataFrame(proba, index=distinct, columns=list(lookup.columns))])
    reading = reading_from_proba(score_texts(texts, lookup))
    return reading, {"texts": len(texts), "looked_up": int((~new).sum()), "scored": len(distinct)}


def retention_check(observed, reading: pd.DataFrame, folds: int, seed: int, n_resamples: int) -> dict:
    """Who buys again in the holdout, predicted at the cutoff from behaviour alone and with the reviews.

    Fitted on the customers who got no offer (chapter 06's population): gradient boosting (chapter 04) on the
    same folds; BG/NBD fitted on their calibration summaries is the yardstick that reads no text.

    Returns
    -------
    dict
        ``y`` (bought again), ``oof`` (out-of-fold probabilities, columns ``behaviour`` and ``behaviour +
        reviews``), ``sets`` (the feature sets), ``table`` (chapter 06's ablation table), ``auc``,
        ``auc_behaviour``, ``gain``, ``gain_low``, ``gain_high``, ``auc_bgnbd``, ``vs_bgnbd`` (the model with
        the reviews minus BG/NBD in ROC AUC, paired bootstrap: ``difference``, ``low``, ``high``); ``risk``: 1 - P(buy again
        with no offer) for every customer (cross-fitted for those who got no offer, chapter 08's
        :func:`~retention_lib.strategy.risk_scores`, learned from the customers outside the experiment) for every
        customer who had bought by the cutoff.
    """
    customers = tv.no_offer_customers(observed)
    sets, y = tv.observed_sets(observed, {"reviews": reading}, customers=customers)
    oof = tv.out_of_fold(sets, y, {"gb": tv.make_text_models(seed)["gb"]}, folds, seed)
    table = tv.ablation_table(oof, y, n_resamples=n_resamples, seed=seed)
    gb = table.xs("gb", level="model")
    summary = calibration_holdout(observed.purchases, observed.cutoff, observed.end).loc[y.index]
    weeks = (observed.end - observed.cutoff) / pd.Timedelta(weeks=1)
    bgnbd = BGNBD(horizon=weeks).fit(summary)
    p_bgnbd = bgnbd.predict_proba(summary)[:, 1]
    row = gb.loc["behaviour + reviews"]
    everyone, bought = tv.observed_sets(observed, {"reviews": reading}, customers=observed.assignment["customer_id"])
    # risk is learned from the customers outside the experiment (cross-fitted among them), so that every customer in
    # the experiment, whatever their arm, is scored by the same model: a rule valued by IPW must not depend on the arm
    a = observed.assignment
    outside = pd.Index(a.loc[a["group"] == "not in experiment", "customer_id"]).intersection(
        everyone["behaviour"].index
    )
    p0 = st.risk_scores(
        tv.make_text_models(seed)["gb"],
        everyone["behaviour + reviews"],
        bought,
        outside if len(outside) >= 10 * folds else customers,
        folds,
        seed,
    )
    return {
        "y": y,
        "oof": oof,
        "sets": sets,
        "table": table,
        "auc": float(row["roc_auc"]),
        "auc_behaviour": float(gb.loc["behaviour", "roc_auc"]),
        "gain": float(row["roc_auc_gain"]),
        "gain_low": float(row["roc_auc_gain_low"]),
        "gain_high": float(row["roc_auc_gain_high"]),
        "auc_bgnbd": float(roc_auc_score(y, p_bgnbd)),
        "vs_bgnbd": paired_bootstrap_diff(
            y.to_numpy(),
            oof[("behaviour + reviews", "gb")].to_numpy(),
            p_bgnbd,
            roc_auc_score,
            n_resamples=n_resamples,
            seed=seed,
        ),
        "p_bgnbd": pd.Series(p_bgnbd, index=y.index, name="bgnbd"),
        "bgnbd": bgnbd,
        "risk": (1 - p0).rename("risk"),
    }


def customers_now(observed, reading: pd.DataFrame, check: dict, seed: int, k_values=range(2, 7)) -> pd.DataFrame:
    """Every customer as the shop knows them on its last day: P(buys in the next holdout-length period) from
    the model of :func:`retention_check` fitted on all the customers it was checked on (those who got no offer),
    the text rule's flag, a segment, and BG/NBD's P(any purchase in the next period).

    The model learned how behaviour and reviews at a cutoff relate to the weeks after it; here it is applied to
    the same features computed at the end of the data (the holdout's purchases and reviews included).
    """
    now = observed.end
    after = now + pd.Timedelta(days=1)
    summary = calibration_holdout(observed.purchases, now, after)
    sets, _ = tv.observed_sets(
        type(observed)(observed.purchases, observed.reviews, observed.assignment, now, after), {"reviews": reading}
    )
    model = tv.make_text_models(seed)["gb"]
    train = check["sets"]["behaviour + reviews"]
    model.fit(train.to_numpy(dtype=float), check["y"].to_numpy())
    X = sets["behaviour + reviews"]
    p = pd.Series(model.predict_proba(X.to_numpy(dtype=float))[:, 1], index=X.index, name="p_buy_again")
    text = up.text_features(observed.reviews, reading, now, X.index)
    profiles = summary.join(text)
    segments, _ = up.segment(profiles, k_values, seed)
    flag = text_rule_score(
        type(observed)(observed.purchases, observed.reviews, observed.assignment, now, after), reading, X.index
    )
    return pd.DataFrame(
        {
            "p_buy_again": p,
            "risk_rank": (1 - p).rank(ascending=False, method="first").astype(int),
            "last_review_negative": flag.notna(),
            "p_negative_last_review": text["last_p_negative"],
            "segment": segments.astype(str),
            "purchase_days": summary["frequency_cal"] + 1,
            "spend": summary["spend_cal"],
            "weeks_since_last": summary["weeks_since_last"],
            "p_buy_bgnbd": check["bgnbd"].predict_proba(summary)[:, 1],
        }
    ).sort_values("risk_rank")


def offer_effects(experiment: pd.DataFrame) -> pd.DataFrame:
    """Each offer against the control arm (``none``): the share who bought again and the profit per customer
    (holdout spend minus the offer's contact cost), with 95 % intervals (chapter 09's tests)."""
    control = experiment[experiment["arm"] == "none"]
    rows = {}
    for arm, d in experiment[experiment["arm"] != "none"].groupby("arm"):
        share = compare_proportions(d["bought"].sum(), len(d), control["bought"].sum(), len(control))
        both = pd.concat([d, control])
        profit = welch(both["profit"].to_numpy(), (both["arm"] == arm).to_numpy())
        rows[arm] = {
            "customers": len(d),
            "bought again": d["bought"].mean(),
            "effect on buying again": share["diff"],
            "low": share["newcombe_low"],
            "high": share["newcombe_high"],
            "profit effect per customer": profit["diff"],
            "profit low": profit["low"],
            "profit high": profit["high"],
        }
    return pd.DataFrame(rows).T


def contact_rules(risk: pd.Series, text_score: pd.Series, offers, seed: int) -> dict:
    """The targeting rules a shop can run without a learned effect: each offer to the customers most at risk,
    to those whose last review reads negative (surest first), and to customers drawn at random."""
    rng = np.random.default_rng(seed)
    random = pd.Series(rng.random(len(risk)), index=risk.index)
    rules = {}
    for offer in offers:
        rules[f"{offer} to the most at risk"] = (risk, offer)
        rules[f"{offer} to negative last reviews"] = (text_score.reindex(risk.index), offer)
        rules[f"{offer} at random"] = (random, offer)
    return rules


def _arms(rules: dict, budget_share: float) -> dict:
    """Each rule's arms at the same budget: at most ``budget_share`` of its customers get an offer (a rule that
    scores fewer customers, such as the text rule, contacts fewer)."""
    out = {}
    for name, rule in rules.items():
        n = len(rule if isinstance(rule, pd.DataFrame) else rule[0])
        out[name] = st.assign(rule, int(round(budget_share * n)))
    return out


def true_values(rules: dict, expected: pd.DataFrame, budget_share: float) -> pd.DataFrame:
    """The demo only: each rule's customers contacted and true incremental profit per customer, from a world's
    expected outcomes (:func:`~retention_lib.world.expected_outcomes`), every rule at the same budget."""
    return pd.DataFrame(
        {
            name: {"contacted": int((arms != "none").sum()), "true value": st.true_value(arms, expected)}
            for name, arms in _arms(rules, budget_share).items()
        }
    ).T


def targeting_values(rules: dict, experiment: pd.DataFrame, budget_share: float, expected=None) -> pd.DataFrame:
    """Each rule applied to the experiment's customers at the same budget (at most ``budget_share`` of them), valued
    by inverse propensity weighting: incremental profit per customer against sending nothing, with a 95 % interval.
    ``expected`` (a world's expected outcomes, the demo only) adds each rule's true value."""
    rows = {}
    for name, arms in _arms(rules, budget_share).items():
        est = st.ipw_value(arms, experiment)
        rows[name] = {
            "contacted": int((arms != "none").sum()),
            "value": est["value"],
            "low": est["low"],
            "high": est["high"],
        }
        if expected is not None:
            rows[name]["true value"] = st.true_value(arms, expected)
    return pd.DataFrame(rows).T


def best_list(
    rules: dict, experiment: pd.DataFrame, budget_share: float, valued: pd.DataFrame, confidence: float = 0.95
) -> dict:
    """The rule with the highest IPW estimate, and its interval widened for having picked the best of
    ``len(rules)`` (Bonferroni: each interval at ``1 - (1 - confidence) / len(rules)``): the best of several noisy
    estimates is too good by chance, and its own 95 % interval does not show it."""
    top = valued["value"].astype(float).idxmax()
    arms = _arms({top: rules[top]}, budget_share)[top]
    corrected = st.ipw_value(arms, experiment, confidence=1 - (1 - confidence) / len(rules))
    return {
        "name": top,
        "value": corrected["value"],
        "low": corrected["low"],
        "high": corrected["high"],
        "lists": len(rules),
    }
