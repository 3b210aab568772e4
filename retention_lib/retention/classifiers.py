"""Classifiers of "any purchase in the holdout", compared on the same cross-validation folds.

Every function that compares models uses :func:`outer_folds`, so a number for one feature set
or model is the same wherever the book computes it. Models are identified by the keys of
:func:`make_models` (labels in :mod:`retention_lib.base.names`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegressionCV
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict, learning_curve
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from .bgnbd import BGNBD
from .features import FEATURES_RFM, FEATURES_RICH, retained
from .mlp import MLPRetention

__all__ = [
    "signed_log",
    "gradient_boosting",
    "make_models",
    "outer_folds",
    "smallest_training_fold",
    "cross_validated_predictions",
    "compare_feature_sets",
    "auc_learning_curve",
    "RANKINGS",
]

#: prediction columns of :func:`cross_validated_predictions` that rank but are not probabilities
RANKINGS = ("bgnbd_expected",)


def signed_log(a):
    """sign(a) * log(1 + |a|): tames the long tails of counts and amounts, keeps the sign."""
    a = np.asarray(a, dtype=float)
    return np.sign(a) * np.log1p(np.abs(a))


def gradient_boosting(seed: int) -> HistGradientBoostingClassifier:
    """The book's gradient-boosted retention classifier (chapters 04 and 06): shallow trees, a slow learning
    rate, large leaves and early stopping, for a few thousand customers with noisy labels."""
    return HistGradientBoostingClassifier(
        learning_rate=0.05,
        max_iter=300,
        max_leaf_nodes=15,
        min_samples_leaf=100,
        l2_regularization=1.0,
        early_stopping=True,
        random_state=seed,
    )


def make_models(seed: int, mlp_epochs: int = 30) -> dict[str, tuple[list[str], object]]:
    """The chapter's classifiers, unfitted.

    Parameters
    ----------
    seed : int
        Seed of the models that draw random numbers.
    mlp_epochs : int
        Training epochs of the network.

    Returns
    -------
    dict
        Model key (``lr_rfm``, ``lr_rich``, ``gb_rich``, ``mlp_rich``) -> (feature columns,
        scikit-learn compatible classifier).
    """

    def logistic():
        # L2 strength chosen by 5-fold cross-validation on log loss, inside each outer fold
        return make_pipeline(
            FunctionTransformer(signed_log),
            StandardScaler(),
            LogisticRegressionCV(
                Cs=10, cv=5, l1_ratios=(0.0,), scoring="neg_log_loss", max_iter=3000, use_legacy_attributes=False
            ),
        )

    return {
        "lr_rfm": (FEATURES_RFM, logistic()),
        "lr_rich": (FEATURES_RICH, logistic()),
        "gb_rich": (
            FEATURES_RICH,
            gradient_boosting(seed),
        ),
        "mlp_rich": (
            FEATURES_RICH,
            make_pipeline(
                FunctionTransformer(signed_log),
                MLPRetention(
                    hidden=(32, 16),
                    dropout=0.2,
                    weight_decay=1e-3,
                    epochs=mlp_epochs,
                    batch_size=256,
                    patience=None,
                    seed=seed,
                ),
            ),
        ),
    }


def outer_folds(folds: int, seed: int):
    """The chapter's outer cross-validation (stratified, shuffled by ``seed``)."""
    return StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)


def smallest_training_fold(n: int, folds: int) -> int:
    """Customers in the smallest training part of a ``folds``-fold split of ``n`` customers."""
    if folds < 2 or n < folds:
        raise ValueError(f"need folds >= 2 and at least one customer per fold, got n={n}, folds={folds}")
    return n - -(-n // folds)  # the largest test fold holds ceil(n / folds) customers


def cross_validated_predictions(
    summary: pd.DataFrame, folds: int, seed: int, mlp_epochs: int = 30, horizon: float | None = None, log=None
) -> pd.DataFrame:
    """Out-of-fold P(any holdout purchase) of BG/NBD and of every classifier, one row per customer.

    Every classifier is fitted on the other folds' customers only. BG/NBD uses no label, so, as in
    the original paper, it is fitted once on every customer's calibration data.

    Parameters
    ----------
    summary : DataFrame
        The output of :func:`~retention_lib.retention.calibration_holdout`.
    folds, seed : int
        The outer folds (see :func:`outer_folds`).
    mlp_epochs : int
        Training epochs of the network.
    horizon : float or None
        Weeks ahead for BG/NBD (default: the summary's ``duration_holdout``).
    log : callable or None
        Called with a line after each fold.

    Returns
    -------
    DataFrame
        Indexed like ``summary``: ``y`` (the label of :func:`retained`), ``fold``, then one column
        per model key: ``bgnbd_expected`` (a ranking, see ``RANKINGS``), ``bgnbd_p``, the keys of
        :func:`make_models`, and ``lr_gb_rich``, the mean of the two rich models.
    """
    y = retained(summary).to_numpy()
    t = float(summary["duration_holdout"].iloc[0]) if horizon is None else horizon
    out = pd.DataFrame({"y": y, "fold": -1}, index=summary.index)
    bg = BGNBD(horizon=t).fit(summary)
    out["bgnbd_expected"] = bg.expected_purchases(summary)
    out["bgnbd_p"] = bg.predict_proba(summary)[:, 1]
    cv = outer_folds(folds, seed)
    for k, (train, test) in enumerate(cv.split(summary, y)):
        out.iloc[test, out.columns.get_loc("fold")] = k
        te = summary.iloc[test]
        for name, (cols, model) in make_models(seed, mlp_epochs).items():
            model.fit(summary.iloc[train][cols].to_numpy(), y[train])
            out.loc[te.index, name] = model.predict_proba(te[cols].to_numpy())[:, 1]
        if log:
            log(f"fold {k + 1}/{folds} done")
    out["lr_gb_rich"] = (out["lr_rich"] + out["gb_rich"]) / 2
    return out


def compare_feature_sets(frames: dict, y, folds: int, seed: int) -> pd.DataFrame:
    """Out-of-fold ROC AUC of the chapter's logistic regression, gradient boosting and their
    average on each feature set.

    Parameters
    ----------
    frames : dict
        Feature-set name -> DataFrame of features, one row per customer.
    y : array of shape (n,)
        The label.
    folds, seed : int
        The outer folds: the chapter's own feature set gives the same numbers here as in the
        main table of :func:`cross_validated_predictions`.

    Returns
    -------
    DataFrame
        One row per feature set: ``features`` (how many), ``lr``, ``gb``, ``lr_gb`` (ROC AUC).
    """
    y = np.asarray(y)
    models = make_models(seed)
    lr, gb = models["lr_rich"][1], models["gb_rich"][1]
    cv = outer_folds(folds, seed)
    rows = {}
    for name, X in frames.items():
        if len(X) != len(y):
            raise ValueError(f"feature set {name!r}: {len(X)} rows, but y has {len(y)}")
        X = np.asarray(X, dtype=float)
        p_lr = cross_val_predict(clone(lr), X, y, cv=cv, method="predict_proba")[:, 1]
        p_gb = cross_val_predict(clone(gb), X, y, cv=cv, method="predict_proba")[:, 1]
        rows[name] = {
            "features": X.shape[1],
            "lr": roc_auc_score(y, p_lr),
            "gb": roc_auc_score(y, p_gb),
            "lr_gb": roc_auc_score(y, (p_lr + p_gb) / 2),
        }
    out = pd.DataFrame(rows).T.astype({"features": int})
    out.index.name = "feature set"
    return out


def auc_learning_curve(summary: pd.DataFrame, models, train_sizes, folds: int, seed: int) -> pd.DataFrame:
    """ROC AUC on training and validation folds as the number of training customers grows.

    A thin layer over ``sklearn.model_selection.learning_curve``.

    Parameters
    ----------
    summary : DataFrame
        The output of :func:`~retention_lib.retention.calibration_holdout`.
    models : list of str
        Keys of :func:`make_models`.
    train_sizes : list
        Training customers (integers) or fractions of a training fold.
    folds, seed : int
        The outer folds.

    Returns
    -------
    DataFrame
        One row per model and size: ``model`` (key), ``customers`` trained on, ``training_auc``,
        ``validation_auc`` (means over folds) and ``validation_auc_sd``.
    """
    y = retained(summary).to_numpy()
    known = make_models(seed)
    unknown = [m for m in models if m not in known]
    if unknown:
        raise ValueError(f"models: unknown {unknown}; expected some of {list(known)}")
    cv = outer_folds(folds, seed)
    rows = []
    for name in models:
        cols, model = known[name]
        sizes, train, test = learning_curve(
            clone(model),
            summary[cols].to_numpy(dtype=float),
            y,
            train_sizes=train_sizes,
            cv=cv,
            scoring="roc_auc",
            shuffle=True,
            random_state=seed,
        )
        for n, tr, te in zip(sizes, train, test):
            rows.append(
                {
                    "model": name,
                    "customers": int(n),
                    "training_auc": tr.mean(),
                    "validation_auc": te.mean(),
                    "validation_auc_sd": te.std(ddof=1),
                }
            )
    return pd.DataFrame(rows)
