"""Retention from purchases: features at a cutoff, the BG/NBD model, and classifiers.

- :mod:`.features`: the calibration/holdout summary, richer features, the label :func:`retained`;
- :mod:`.bgnbd`: the BG/NBD model;
- :mod:`.classifiers`: the chapter's classifiers and their cross-validated comparison.

Metrics, intervals and gains tables live in :mod:`retention_lib.base.metrics`.
"""

from .bgnbd import BGNBD, bgnbd_log_likelihood
from .classifiers import (
    RANKINGS,
    auc_learning_curve,
    compare_feature_sets,
    cross_validated_predictions,
    make_models,
    outer_folds,
    signed_log,
    smallest_training_fold,
)
from .features import (
    FEATURES_EXTRA,
    FEATURES_RFM,
    FEATURES_RICH,
    calibration_holdout,
    extra_features,
    holdout_by_frequency,
    retained,
)

__all__ = [
    "BGNBD",
    "bgnbd_log_likelihood",
    "RANKINGS",
    "auc_learning_curve",
    "compare_feature_sets",
    "cross_validated_predictions",
    "make_models",
    "outer_folds",
    "signed_log",
    "smallest_training_fold",
    "FEATURES_EXTRA",
    "FEATURES_RFM",
    "FEATURES_RICH",
    "calibration_holdout",
    "extra_features",
    "holdout_by_frequency",
    "retained",
]
