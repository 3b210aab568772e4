"""Every metric, interval and gains table of the book, for both task families.

- binary (will this customer buy again?): :func:`binary_metrics` for one score,
  :func:`evaluate_binary` for several, :func:`evaluate_by_group`, :func:`gains_table`;
- multi-class (which sentiment does this review carry?): :func:`multiclass_metrics` for one model,
  :func:`evaluate_multiclass` for several, :func:`confident_errors`;
- shared: :func:`expected_calibration_error`, :func:`bootstrap_ci`, :func:`paired_bootstrap_diff`, :func:`paired_bootstrap_share`.

Result keys are short snake-case keys (``roc_auc``, ``macro_f1``); :func:`retention_lib.base.names.human`
turns them into the labels a reader sees.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
    roc_auc_score,
)

from .intervals import (
    bootstrap_ci,
    mean_ci,
    mean_t_interval,
    paired_bootstrap_diff,
    paired_bootstrap_share,
    paired_mean_diff,
)

__all__ = [
    "expected_calibration_error",
    "gains_table",
    "binary_metrics",
    "evaluate_binary",
    "evaluate_by_group",
    "multiclass_metrics",
    "evaluate_multiclass",
    "confident_errors",
    "bootstrap_ci",
    "paired_bootstrap_diff",
    "paired_bootstrap_share",
    "mean_t_interval",
    "mean_ci",
    "paired_mean_diff",
    "BINARY_METRICS",
]

#: the keys of :func:`binary_metrics`, in display order
BINARY_METRICS = ("roc_auc", "pr_auc", "log_loss", "brier", "ece", "top_decile_capture")


def expected_calibration_error(y, p, n_bins: int = 10, strategy: str = "quantile") -> float:
    """Weighted mean |observed rate - mean predicted probability| over bins of the prediction.

    Parameters
    ----------
    y : array of shape (n,)
        Outcomes, 0 or 1 (or 'was the prediction right' for a top-label ECE).
    p : array of shape (n,)
        Predicted probabilities of ``y == 1``.
    n_bins : int
        Number of bins.
    strategy : {"quantile", "uniform"}
        ``quantile`` bins hold equal numbers of customers; ``uniform`` bins have equal widths.

    Returns
    -------
    float
    """
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    if y.shape != p.shape or y.ndim != 1 or len(y) == 0:
        raise ValueError(f"y and p must be equal-length 1-D arrays, got {y.shape} and {p.shape}")
    if np.any((p < 0) | (p > 1)):
        raise ValueError("p must hold probabilities in [0, 1]")
    if strategy == "quantile":
        edges = np.unique(np.quantile(p, np.linspace(0, 1, n_bins + 1)))
    elif strategy == "uniform":
        edges = np.linspace(0, 1, n_bins + 1)
    else:
        raise ValueError(f"strategy must be 'quantile' or 'uniform', got {strategy!r}")
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    ece = 0.0
    for k in range(len(edges) - 1):
        m = idx == k
        if m.any():
            ece += m.mean() * abs(y[m].mean() - p[m].mean())
    return float(ece)


# --------------------------------------------------------------------------------------------
# binary outcomes


def gains_table(y, score, n_groups: int = 10) -> pd.DataFrame:
    """Cumulative gains and lift by group of customers ranked from the highest score down.

    Parameters
    ----------
    y : array of shape (n,)
        Outcomes, 0 or 1.
    score : array of shape (n,)
        Any score that ranks customers (higher = more likely 1).
    n_groups : int
        Number of equal-size groups (10 gives deciles).

    Returns
    -------
    DataFrame
        One row per group (index ``group``, 1 = highest scores): ``share_targeted``,
        ``rate_in_group``, ``cumulative_capture``, ``lift``, ``cumulative_lift``.
    """
    y, score = np.asarray(y, dtype=float), np.asarray(score, dtype=float)
    order = np.argsort(-score, kind="stable")
    groups = np.array_split(y[order], min(n_groups, len(y)))
    total = y.sum()
    rows, cum_n, cum_pos = [], 0, 0.0
    for k, g in enumerate(groups, 1):
        cum_n += len(g)
        cum_pos += g.sum()
        rows.append(
            {
                "group": k,
                "share_targeted": cum_n / len(y),
                "rate_in_group": g.mean(),
                "cumulative_capture": cum_pos / total if total else np.nan,
                "lift": (g.mean() / y.mean()) if y.mean() else np.nan,
                "cumulative_lift": (cum_pos / cum_n) / y.mean() if y.mean() else np.nan,
            }
        )
    return pd.DataFrame(rows).set_index("group")


def binary_metrics(y, p, probability: bool = True) -> dict[str, float]:
    """ROC AUC, PR AUC, log loss, Brier score, expected calibration error, top-decile capture.

    Parameters
    ----------
    y : array of shape (n,)
        Outcomes, 0 or 1.
    p : array of shape (n,)
        Predicted probability of 1, or (``probability=False``) a score that only ranks.
    probability : bool
        False for a ranking score (such as expected purchases): the metrics that need
        probabilities are NaN.

    Returns
    -------
    dict
        The keys of ``BINARY_METRICS``.
    """
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    if not probability:
        return {
            "roc_auc": roc_auc_score(y, p),
            "pr_auc": average_precision_score(y, p),
            "log_loss": np.nan,
            "brier": np.nan,
            "ece": np.nan,
            "top_decile_capture": gains_table(y, p).loc[1, "cumulative_capture"],
        }
    if np.any((p < 0) | (p > 1)):
        raise ValueError("p must hold probabilities in [0, 1]; pass probability=False for a ranking score")
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return {
        "roc_auc": roc_auc_score(y, p),
        "pr_auc": average_precision_score(y, p),
        "log_loss": log_loss(y, p),
        "brier": brier_score_loss(y, p),
        "ece": expected_calibration_error(y, p),
        "top_decile_capture": gains_table(y, p).loc[1, "cumulative_capture"],
    }


def evaluate_binary(y, predictions: dict, rankings: Sequence[str] = ()) -> pd.DataFrame:
    """:func:`binary_metrics` of several models on the same customers.

    Parameters
    ----------
    y : array of shape (n,)
        Outcomes, 0 or 1.
    predictions : dict
        Model key -> scores of shape (n,).
    rankings : sequence of str
        Keys whose scores only rank (not probabilities).

    Returns
    -------
    DataFrame
        One row per model key, one column per metric key.
    """
    unknown = set(rankings) - set(predictions)
    if unknown:
        raise ValueError(f"rankings: {sorted(unknown)} are not among the predictions {list(predictions)}")
    rows = {k: binary_metrics(y, p, probability=k not in rankings) for k, p in predictions.items()}
    return pd.DataFrame(rows).T[list(BINARY_METRICS)]


def evaluate_by_group(y, scores: dict, groups, probabilities: Sequence[str] = ()) -> pd.DataFrame:
    """How each score ranks, and how calibrated it is, within each group of customers.

    Parameters
    ----------
    y : array of shape (n,)
        Outcomes, 0 or 1.
    scores : dict
        Score key -> array of shape (n,).
    groups : array-like of shape (n,)
        Each customer's group (a categorical keeps its order).
    probabilities : sequence of str
        Keys of the scores that are probabilities; their mean is set against the observed rate.

    Returns
    -------
    DataFrame
        One row per group: ``customers``, ``observed_rate``, then ``("roc_auc", key)`` for every
        score (NaN where the group holds one class only) and ``("mean_p", key)`` for the
        probabilities, as a two-level column index.
    """
    y = np.asarray(y, dtype=float)
    groups = pd.Series(groups).reset_index(drop=True)
    if len(groups) != len(y):
        raise ValueError(f"groups: {len(groups)} values, but y has {len(y)}")
    cols = {}
    for name, score in scores.items():
        cols[name] = np.asarray(score, dtype=float)
        if cols[name].shape != y.shape:
            raise ValueError(f"score {name!r}: shape {cols[name].shape}, expected {y.shape}")
    unknown = set(probabilities) - set(scores)
    if unknown:
        raise ValueError(f"probabilities: {sorted(unknown)} are not among the scores {list(scores)}")
    rows = {}
    for g, idx in groups.groupby(groups, observed=True, sort=True).indices.items():
        yy = y[idx]
        row = {("customers", ""): len(yy), ("observed_rate", ""): yy.mean()}
        for name in scores:
            row[("roc_auc", name)] = roc_auc_score(yy, cols[name][idx]) if 0 < yy.sum() < len(yy) else np.nan
        for name in scores:
            if name in probabilities:
                row[("mean_p", name)] = cols[name][idx].mean()
        rows[g] = row
    out = pd.DataFrame(rows).T
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    out[("customers", "")] = out[("customers", "")].astype(int)
    out.index.name = "group"
    return out


# --------------------------------------------------------------------------------------------
# several classes


def multiclass_metrics(y_true, proba: np.ndarray, classes: Sequence[str]) -> dict:
    """Accuracy, macro-F1, per-class precision/recall/F1, confusion matrix, top-label ECE.

    Parameters
    ----------
    y_true : array of shape (n,)
        Class indices 0..k-1.
    proba : array of shape (n, k)
        Class probabilities; column j is ``classes[j]``.
    classes : sequence of str
        The k class names.

    Returns
    -------
    dict
        ``accuracy``, ``macro_f1``, ``ece`` (floats); ``per_class`` and ``confusion`` (tables);
        ``confidence`` and ``correct`` (arrays of shape (n,), for a reliability diagram).
    """
    y = np.asarray(y_true)
    proba = np.asarray(proba, dtype=float)
    if proba.ndim != 2 or proba.shape != (len(y), len(classes)):
        raise ValueError(f"proba must have shape ({len(y)}, {len(classes)}), got {proba.shape}")
    pred = proba.argmax(axis=1)
    k = list(range(len(classes)))
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=k, zero_division=0)
    confidence = proba.max(axis=1)
    correct = (pred == y).astype(float)
    return {
        "accuracy": accuracy_score(y, pred),
        "macro_f1": f1_score(y, pred, average="macro", labels=k, zero_division=0),
        "per_class": pd.DataFrame({"precision": p, "recall": r, "f1": f, "support": s}, index=list(classes)),
        "confusion": pd.DataFrame(
            confusion_matrix(y, pred, labels=k),
            index=[f"true {n}" for n in classes],
            columns=[f"predicted {n}" for n in classes],
        ),
        "ece": expected_calibration_error(correct, confidence, n_bins=10, strategy="uniform"),
        "confidence": confidence,
        "correct": correct,
    }


def evaluate_multiclass(y_true, predictions: dict, classes: Sequence[str]) -> pd.DataFrame:
    """Accuracy, macro-F1 and top-label ECE of several models (model key -> proba (n, k))."""
    rows = {}
    for key, proba in predictions.items():
        m = multiclass_metrics(y_true, proba, classes)
        rows[key] = {"macro_f1": m["macro_f1"], "accuracy": m["accuracy"], "ece": m["ece"]}
    return pd.DataFrame(rows).T


def confident_errors(texts, y_true, proba: np.ndarray, classes: Sequence[str], k: int = 8) -> pd.DataFrame:
    """The ``k`` wrong predictions the model was most sure of: true and predicted class, confidence, text."""
    y = np.asarray(y_true)
    pred = proba.argmax(axis=1)
    wrong = np.flatnonzero(pred != y)
    top = wrong[np.argsort(-proba[wrong, pred[wrong]])][:k]
    texts = list(texts)
    return pd.DataFrame(
        {
            "true": [classes[y[i]] for i in top],
            "predicted": [classes[pred[i]] for i in top],
            "confidence": proba[top, pred[top]],
            "text": [texts[i] for i in top],
        }
    )


# --------------------------------------------------------------------------------------------
# intervals
