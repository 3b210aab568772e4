"""Labels from star ratings, the review text a model reads, the split, and input checks.

The task is sequence classification: one label per review (not per token). Labels come from
the star rating: 1-2 negative, 3 neutral, 4-5 positive (``"3class"``), or negative/positive
without the 3-star reviews (``"binary"``). The input is the title and the text of the review.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

__all__ = ["SCHEMES", "review_texts", "make_dataset", "split", "check_texts", "check_labels"]

SCHEMES = {"3class": ("negative", "neutral", "positive"), "binary": ("negative", "positive")}


def review_texts(reviews: pd.DataFrame) -> pd.Series:
    """Title and text joined as 'title. text'; <NA> when a review has neither.

    Parameters
    ----------
    reviews : DataFrame
        With ``title`` and ``review_text`` (as :func:`retention_lib.data.load` gives them).

    Returns
    -------
    Series of string, indexed like ``reviews``.
    """
    title = reviews["title"].astype("string").str.strip()
    body = reviews["review_text"].astype("string").str.strip()
    both = title.notna() & body.notna()
    out = body.where(title.isna(), title).astype("string")
    out[both] = title[both] + ". " + body[both]
    return out


def make_dataset(reviews: pd.DataFrame, scheme: str = "3class") -> tuple[pd.DataFrame, dict]:
    """One row per usable review: ``text``, ``label`` (int), ``rating``, indexed like ``reviews``.

    Parameters
    ----------
    reviews : DataFrame
        The reviews dataset.
    scheme : {"3class", "binary"}
        See ``SCHEMES``.

    Returns
    -------
    (DataFrame, dict)
        The frame, and a dict counting what was left out and why (reviews without title and
        text; 3-star reviews in the binary scheme), so that nothing disappears silently.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {sorted(SCHEMES)}, got {scheme!r}")
    text = review_texts(reviews)
    rating = reviews["rating"]
    keep = text.notna()
    excluded = {"no title and no text": int((~keep).sum())}
    if scheme == "3class":
        label = np.select([rating <= 2, rating == 3], [0, 1], 2)
    else:
        neutral = rating == 3
        excluded["3-star (neutral) reviews"] = int((neutral & keep).sum())
        keep &= ~neutral
        label = np.where(rating <= 2, 0, 1)
    df = pd.DataFrame({"text": text, "label": label, "rating": rating}, index=reviews.index)[keep]
    df["text"] = df["text"].astype(str)
    return df, excluded


def split(df: pd.DataFrame, seed: int, test_size: float = 0.2, val_size: float = 0.1) -> dict[str, pd.DataFrame]:
    """Stratified train/validation/test split, fixed by ``seed``.

    Parameters
    ----------
    df : DataFrame
        With a ``label`` column.
    seed : int
    test_size, val_size : float
        Shares of the whole frame.

    Returns
    -------
    dict
        ``train``, ``val``, ``test`` -> DataFrame.
    """
    if not 0 < test_size < 1 or not 0 < val_size < 1 or test_size + val_size >= 1:
        raise ValueError(f"test_size and val_size must be in (0, 1) with a sum below 1, got {test_size}, {val_size}")
    rest, test = train_test_split(df, test_size=test_size, random_state=seed, stratify=df["label"])
    train, val = train_test_split(rest, test_size=val_size / (1 - test_size), random_state=seed, stratify=rest["label"])
    return {"train": train, "val": val, "test": test}


def check_texts(texts) -> list[str]:
    """``texts`` as a list of strings; a clear error for one string, an empty list or a non-string."""
    if isinstance(texts, str):
        raise TypeError("texts must be a list of strings, not one string")
    texts = list(texts)
    if not texts:
        raise ValueError("texts is empty: give at least one review")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"texts[{i}] is {type(t).__name__}, expected str")
    return texts


def check_labels(labels, names: Sequence[str], n: int) -> np.ndarray:
    """``labels`` (indices or names) as class indices of shape (n,); a clear error for an unknown one."""
    labels = list(labels)
    if len(labels) != n:
        raise ValueError(f"{len(labels)} labels for {n} texts")
    out = np.empty(n, dtype=np.int64)
    for i, lab in enumerate(labels):
        if isinstance(lab, str):
            if lab not in names:
                raise ValueError(f"labels[{i}] = {lab!r} is not a known label; known: {list(names)}")
            out[i] = names.index(lab)
        elif isinstance(lab, (int, np.integer)) and not isinstance(lab, bool) and 0 <= lab < len(names):
            out[i] = int(lab)
        else:
            raise ValueError(
                f"labels[{i}] = {lab!r} is not a known label: expected 0..{len(names) - 1} or one of {list(names)}"
            )
    return out
