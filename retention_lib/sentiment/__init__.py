"""Reading reviews: labels from ratings, baselines, fine-tuning a BERT-family classifier, speed.

- :mod:`.labels`: labels from star ratings, the text a model reads, the split, input checks;
- :mod:`.baselines`: TF-IDF + logistic regression and the VADER lexicon;
- :mod:`.classifier`: :class:`SentimentClassifier` (the model: loading, saving, batching, inference);
- :mod:`.training`: its :class:`TrainConfig` and the training step; :mod:`.fine_tuning`: the resumable
  training loop with early stopping;
- :mod:`.speed`: training and inference throughput under several settings.

Evaluation (macro-F1, calibration, confident errors) lives in :mod:`retention_lib.base.metrics`.
"""

from .baselines import VaderBaseline, tfidf_baseline, tfidf_learning_curve
from .classifier import SentimentClassifier, default_checkpoint
from .labels import SCHEMES, check_labels, check_texts, make_dataset, review_texts, split
from .speed import SPEED_SETTINGS, speed_table, throughput
from .training import TrainConfig

__all__ = [
    "VaderBaseline",
    "tfidf_baseline",
    "tfidf_learning_curve",
    "SentimentClassifier",
    "TrainConfig",
    "default_checkpoint",
    "SCHEMES",
    "check_labels",
    "check_texts",
    "make_dataset",
    "review_texts",
    "split",
    "SPEED_SETTINGS",
    "speed_table",
    "throughput",
]
