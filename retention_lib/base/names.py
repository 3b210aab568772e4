"""One map from the short keys the code uses to the labels a reader sees.

Models, metrics and feature sets are identified by short keys (``"lr_rich"``, ``"roc_auc"``) in
code, artifacts and tables; :func:`label` turns a key into its human label and :func:`human`
relabels a table's index and columns for display. A display string is never an identifier.
"""

from __future__ import annotations

import re

import pandas as pd

__all__ = ["LABELS", "label", "human", "in_words"]

LABELS: dict[str, str] = {
    # retention models (chapter 04 onwards)
    "bgnbd_expected": "BG/NBD, expected purchases",
    "bgnbd_p": "BG/NBD, P(any purchase)",
    "lr_rfm": "logistic regression, RFM",
    "lr_rich": "logistic regression, rich",
    "gb_rich": "gradient boosting, rich",
    "mlp_rich": "MLP, rich",
    "lr_gb_rich": "average of LR and GB, rich",
    # sentiment models (chapter 02)
    "tfidf_all": "TF-IDF + logistic regression (all training reviews)",
    "tfidf_subset": "TF-IDF + logistic regression (same subset as the language model)",
    "vader": "VADER lexicon (cut points fitted)",
    "minilm": "fine-tuned all-MiniLM-L6-v2",
    "tfidf_minilm": "average of TF-IDF (all reviews) and the fine-tuned model",
    # feature-set comparison and learning curves
    "lr": "logistic regression",
    "gb": "gradient boosting",
    "lr_gb": "average of the two",
    "training_auc": "training AUC",
    "validation_auc": "validation AUC",
    "validation_auc_sd": "validation AUC sd",
    "observed_rate": "observed rate",
    "mean_p": "mean p",
    # readers of the reviews and the feature sets of chapter 06
    "lm": "language model (chapter 2)",
    "tfidf": "TF-IDF + logistic regression",
    "perfect": "perfect reader (hidden stars)",
    "bce": "from-scratch BCE (chapter 3)",
    "behaviour": "behaviour only",
    "behaviour + lm": "behaviour + language model",
    "behaviour + tfidf": "behaviour + TF-IDF",
    "behaviour + vader": "behaviour + VADER",
    "behaviour + topics": "behaviour + topics (embeddings)",
    "behaviour + perfect": "behaviour + perfect reader (hidden stars)",
    "roc_auc_gain": "ROC AUC gain",
    "roc_auc_gain_low": "gain: 2.5 %",
    "roc_auc_gain_high": "gain: 97.5 %",
    "pr_auc_gain": "PR AUC gain",
    "pr_auc_gain_low": "PR gain: 2.5 %",
    "pr_auc_gain_high": "PR gain: 97.5 %",
    # uplift models (chapter 08)
    "t_learner": "two-model learner (scikit-uplift)",
    "class_transformation": "class transformation (scikit-uplift)",
    "x_learner": "X-learner",
    # recommenders and their metrics (chapter 07)
    "popularity": "popularity",
    "buy_again": "buy again (frequency and recency)",
    "item_knn": "item-item neighbours (cosine)",
    "als": "matrix factorisation (ALS, implicit)",
    "bpr": "matrix factorisation (BPR, implicit)",
    "ranker": "ranker over candidates (gradient boosting)",
    "als_lm": "ALS re-ranked by the language model's reading of the reviews",
    "als_tfidf": "ALS re-ranked by TF-IDF's reading of the reviews",
    "als_truth": "ALS re-ranked by true item quality (oracle)",
    "als_lm_fit_rule": "ALS + quality + each customer's fit, read by the rule",
    "als_lm_fit_lm": "ALS + quality + each customer's fit, zero-shot LM",
    "als_lm_fit_truth": "ALS + quality + true fit (oracle)",
    "bad": "bad experiences",
    "retained": "bought again",
    "fit_miss": "fit misses",
    "hit_rate": "hit rate",
    "precision": "precision",
    "recall": "recall",
    "ndcg": "NDCG",
    "ap": "MAP",
    "novelty": "novelty (bits)",
    # a shop's customers (chapter 12)
    "p_buy_again": "P(buys again)",
    "risk_rank": "rank by risk",
    "last_review_negative": "last review negative",
    "p_negative_last_review": "P(negative), last review",
    "spend": "spend ($)",
    "weeks_since_last": "weeks since last purchase",
    "p_buy_bgnbd": "BG/NBD P(buys in the next period)",
    "purchase_days": "purchase days",
    # purchase features (chapter 04 onwards; retention.features)
    "frequency_cal": "repeat purchase days",
    "recency_cal": "weeks from first to last purchase",
    "T_cal": "weeks since first purchase",
    "monetary_value_cal": "mean repeat spend ($)",
    "orders_cal": "orders",
    "spend_cal": "total spend ($)",
    "quantity_cal": "items bought",
    "first_spend": "first purchase's spend ($)",
    "first_quantity": "first purchase's items",
    "ipt_mean_weeks": "mean weeks between purchases",
    "ipt_std_weeks": "sd of weeks between purchases",
    "last_spend": "last purchase's spend ($)",
    "spend_trend": "last minus first spend ($)",
    "days_last_13w": "purchase days, last 13 weeks",
    "days_last_4w": "purchase days, last 4 weeks",
    "frequency_holdout": "purchase days in the holdout",
    # kinds of personal data (chapter 11; Presidio's entity names)
    "CREDIT_CARD": "card number",
    "EMAIL_ADDRESS": "e-mail address",
    "ORDER_NUMBER": "order number",
    "PERSON": "person's name",
    "PHONE_NUMBER": "phone number",
    "STREET_ADDRESS": "street address",
    # metrics
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
    "log_loss": "log loss",
    "brier": "Brier",
    "ece": "ECE",
    "top_decile_capture": "top-decile capture",
    "accuracy": "accuracy",
    "macro_f1": "macro-F1",
    "training_examples": "training reviews",
    "training_seconds": "training time (s)",
    "inference_rate": "inference (reviews/s)",
}


def label(key: str) -> str:
    """The human label of ``key``; a key without one is returned unchanged.

    Parameters
    ----------
    key : str
        A model, metric or column key, such as ``"lr_rich"``.

    Returns
    -------
    str
        Its label, such as ``"logistic regression, rich"``.
    """
    return LABELS.get(key, key)


def human(table: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
    """A copy of ``table`` with every index and column key replaced by its label (for display)."""
    out = table.rename(index=lambda k: label(k) if isinstance(k, str) else k)
    if isinstance(out, pd.DataFrame):
        out = out.rename(columns=lambda k: label(k) if isinstance(k, str) else k)
    return out


def in_words(text: str) -> str:
    """``text`` with every code key in it replaced by its label (an identity, a formula written with keys).

    >>> in_words("weeks_since_last + frequency_cal × ipt_mean_weeks")
    'weeks since last purchase + repeat purchase days × mean weeks between purchases'
    """
    return re.sub(r"[A-Za-z][A-Za-z0-9_]*", lambda m: LABELS.get(m.group(0), m.group(0)), text)
