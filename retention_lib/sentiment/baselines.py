"""Baselines the language model must beat: TF-IDF + logistic regression, and the VADER lexicon.

Both follow scikit-learn's surface: ``fit`` returns the model, ``predict_proba`` has shape (n, k).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.pipeline import make_pipeline

from .labels import check_texts

__all__ = ["tfidf_baseline", "tfidf_learning_curve", "VaderBaseline"]


def tfidf_baseline(seed: int = 0):
    """TF-IDF of words and word pairs + logistic regression with balanced class weights.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Unfitted; ``fit(texts, labels)``, ``predict_proba(texts)`` of shape (n, k).
    """
    return make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000, random_state=seed),
    )


def tfidf_learning_curve(train: pd.DataFrame, val: pd.DataFrame, sizes, seed: int = 0) -> pd.DataFrame:
    """Validation macro-F1 of the TF-IDF baseline trained on growing random subsets of ``train``.

    Returns
    -------
    DataFrame
        One row per size: ``examples``, ``val_macro_f1``, ``train_seconds``.
    """
    rows = []
    for n in sorted({min(int(n), len(train)) for n in sizes}):
        part = train.sample(n, random_state=seed)
        t0 = time.perf_counter()
        model = tfidf_baseline(seed).fit(part["text"], part["label"])
        seconds = time.perf_counter() - t0
        f1 = f1_score(val["label"], model.predict(val["text"]), average="macro")
        rows.append({"examples": n, "val_macro_f1": f1, "train_seconds": seconds})
    return pd.DataFrame(rows)


class VaderBaseline:
    """VADER's lexicon score (compound, -1..1) cut into classes at thresholds chosen on training data.

    VADER has no notion of these labels; choosing its two cut points to maximise macro-F1 on the
    training split is the fairest use of it.
    """

    def __init__(self, n_classes: int = 3):
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self.n_classes = n_classes
        self._analyzer = SentimentIntensityAnalyzer()

    def scores(self, texts) -> np.ndarray:
        return np.array([self._analyzer.polarity_scores(t)["compound"] for t in check_texts(texts)])

    def _cut(self, s: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.thresholds_, s, side="right")

    def fit(self, texts, labels) -> VaderBaseline:
        s, y = self.scores(texts), np.asarray(labels)
        grid = np.round(np.arange(-0.95, 0.951, 0.05), 2)
        best, best_t = -1.0, None
        if self.n_classes == 2:
            for t in grid:
                f = f1_score(y, (s > t).astype(int), average="macro")
                if f > best:
                    best, best_t = f, [t]
        else:
            for i, lo in enumerate(grid):
                for hi in grid[i + 1 :]:
                    f = f1_score(y, np.searchsorted([lo, hi], s, side="right"), average="macro")
                    if f > best:
                        best, best_t = f, [lo, hi]
        self.thresholds_ = np.array(best_t)
        self.classes_ = np.arange(self.n_classes)
        return self

    def predict(self, texts) -> np.ndarray:
        """Class indices, shape (n,)."""
        return self._cut(self.scores(texts))

    def predict_proba(self, texts) -> np.ndarray:
        """Shape (n, k): VADER gives no class probabilities, so each row puts all its mass on the
        predicted class. Accuracy and F1 are exact; calibration measures are meaningless here."""
        pred = self.predict(texts)
        out = np.zeros((len(pred), self.n_classes))
        out[np.arange(len(pred)), pred] = 1.0
        return out
