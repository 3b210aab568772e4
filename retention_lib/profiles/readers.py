"""Readers: how a review's text becomes probabilities of negative, neutral and positive.

Chapter 02's fine-tuned model (its saved scores, looked up by text, and the model for texts it never
scored), TF-IDF, VADER, and the perfect reader that knows the true rating. :mod:`.text_value` and
:mod:`.user_profiles` re-export what they use."""

from __future__ import annotations

import numpy as np
import pandas as pd

from retention_lib.base.tables import require_columns
from retention_lib.sentiment import VaderBaseline, make_dataset, review_texts, tfidf_baseline


def sentiment_lookup(reviews: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """Chapter 02's saved probabilities keyed by review text (the model's output depends on the text only).

    Parameters
    ----------
    reviews : DataFrame
        The real reviews dataset.
    scores : DataFrame
        ``review_scores.parquet`` of chapter 02 (``p_negative``, ``p_neutral``, ``p_positive``,
        indexed like ``reviews``).

    Returns
    -------
    DataFrame
        Indexed by text, one row per distinct text: ``p_negative``, ``p_neutral``, ``p_positive``.
    """
    cols = ["p_negative", "p_neutral", "p_positive"]
    require_columns(scores, cols, "scores", f"{cols}, chapter 02's review_scores.parquet (3-class scheme)")
    texts = review_texts(reviews).reindex(scores.index)
    table = scores[cols].assign(text=texts.to_numpy()).dropna(subset=["text"])
    return table.drop_duplicates("text").set_index("text")


def score_texts(texts, lookup: pd.DataFrame, model=None) -> pd.DataFrame:
    """Probabilities of negative, neutral and positive for each text, shape (n, 3) as a DataFrame.

    Texts found in ``lookup`` (:func:`sentiment_lookup`) reuse chapter 02's scores; the others are
    scored by ``model`` (a :class:`~retention_lib.sentiment.SentimentClassifier`), or are an error
    when no model is given.
    """
    texts = pd.Series(list(texts), dtype=object)
    out = lookup.reindex(texts.to_numpy())
    todo = out["p_negative"].isna().to_numpy()
    if todo.any():
        if model is None:
            raise ValueError(
                f"{int(todo.sum())} text(s) have no saved score and no model was given to score "
                f"them, e.g. {texts[todo].iloc[0][:60]!r}"
            )
        unique = pd.unique(texts[todo])
        proba = model.predict_proba(list(unique))
        extra = pd.DataFrame(proba, index=unique, columns=list(lookup.columns))
        out.loc[todo] = extra.reindex(texts[todo].to_numpy()).to_numpy()
    return out.reset_index(drop=True)


#: the readers compared, in the book's order (labels in retention_lib.names)
READERS = ("lm", "tfidf", "vader", "perfect")


def reading_from_proba(proba: pd.DataFrame) -> pd.DataFrame:
    """A reader's output from class probabilities: ``p_negative`` and ``negative`` (the top class)."""
    cols = ["p_negative", "p_neutral", "p_positive"]
    return pd.DataFrame(
        {"p_negative": proba["p_negative"].to_numpy(), "negative": proba[cols].to_numpy().argmax(axis=1) == 0}
    )


def vader_reading(vader, texts) -> pd.DataFrame:
    """VADER's reading: negativity ``(1 - compound) / 2`` (a score in [0, 1], not a probability) and
    ``negative`` from the cut points fitted on chapter 02's training reviews."""
    texts = list(texts)
    compound = vader.scores(texts)
    return pd.DataFrame(
        {"p_negative": (1 - compound) / 2, "negative": np.searchsorted(vader.thresholds_, compound, side="right") == 0}
    )


def perfect_reading(ratings) -> pd.DataFrame:
    """The perfect reader of sentiment sees the hidden stars: negativity ``(5 - stars) / 4``, negative at 1-2 stars."""
    r = np.asarray(ratings, dtype=float)
    return pd.DataFrame({"p_negative": (5 - r) / 4, "negative": r <= 2})


def _per_distinct_text(texts, read) -> pd.DataFrame:
    """Apply ``read`` (a list of texts -> DataFrame, one row each) once per distinct text; rows follow ``texts``."""
    texts = pd.Series(list(texts), dtype=object)
    distinct = pd.unique(texts)
    out = read(list(distinct))
    out.index = pd.Index(distinct)
    return out.reindex(texts.to_numpy()).reset_index(drop=True)


def fit_readers(reviews: pd.DataFrame, scores: pd.DataFrame, seed: int = 0) -> dict:
    """The three readers a shop could use, ready to read texts.

    ``lm`` reuses chapter 02's saved scores (looked up by text; only when ``scores`` has them);
    ``tfidf`` and ``vader`` are fitted here
    on chapter 02's training split (the reviews its model trained on, from ``scores["split"]``), with
    labels from the 3-class scheme.

    Returns
    -------
    dict
        Reader key -> callable ``texts -> DataFrame`` with ``p_negative`` and ``negative``, one row per text.
    """
    labelled = make_dataset(reviews, "3class")[0]
    train = labelled.loc[labelled.index.intersection(scores.index[scores["split"] == "train"])]
    if train.empty:
        raise ValueError("scores: no review has split 'train'; expected chapter 02's review_scores.parquet")
    texts, labels = train["text"].tolist(), train["label"].to_numpy()
    tfidf = tfidf_baseline(seed).fit(texts, labels)
    vader = VaderBaseline(3).fit(texts, labels)
    cols = ["p_negative", "p_neutral", "p_positive"]
    readers = {}
    if set(cols) <= set(scores.columns):
        lookup = sentiment_lookup(reviews, scores)
        readers["lm"] = lambda t: reading_from_proba(score_texts(t, lookup))

    def tfidf_proba(u):  # a class absent from a small training split gets probability 0
        p = np.zeros((len(u), 3))
        p[:, tfidf.classes_] = tfidf.predict_proba(u)
        return pd.DataFrame(p, columns=cols)

    readers["tfidf"] = lambda t: reading_from_proba(_per_distinct_text(t, tfidf_proba))
    readers["vader"] = lambda t: _per_distinct_text(t, lambda u: vader_reading(vader, u))
    return readers
