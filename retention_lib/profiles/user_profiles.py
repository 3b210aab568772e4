"""User profiles at the cutoff: behaviour, what customers wrote, what they wrote about, segments.

One row per customer, built only from a shop's observed data and only from what happened on or
before the cutoff:

- behaviour: chapter 04's calibration summary (:func:`retention_lib.retention.calibration_holdout`);
- text (:func:`text_features`): from the chapter 02 model's probabilities for each review: how
  many reviews, mean / last / worst probability of a negative review, share of reviews read as
  negative, and the change from the first to the last review;
- topics (:func:`topic_features`): sentence embeddings of the reviews (the packaged MiniLM, mean
  pooled), averaged per customer and reduced by PCA;
- segments (:func:`segment`): k-means on behaviour, sentiment and topics (three blocks of equal
  weight) of the customers who wrote at least one review, with k chosen by the silhouette score;
  customers without a review form their own segment, described by behaviour only.

Called "user profiles" (module ``user_profiles``) because the book already uses "profile" for a
set of run parameters (smoke, standard, full).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import silhouette_score
from sklearn.model_selection import cross_val_score
from sklearn.preprocessing import StandardScaler

from retention_lib.base.tables import require_columns
from retention_lib.retention import calibration_holdout, retained, signed_log
from retention_lib.world import no_offer_customers

from .embeddings import embed_texts, embedding_cache  # re-exported: part of a profile's toolkit
from .readers import score_texts, sentiment_lookup

__all__ = [
    "TEXT_FEATURES",
    "BEHAVIOUR_FEATURES",
    "SENTIMENT_FEATURES",
    "map_2d",
    "sentiment_lookup",
    "score_texts",
    "last_review_reading",
    "retention_by_last_review",
    "embed_texts",
    "text_features",
    "topic_features",
    "build",
    "segment",
    "describe_segments",
    "distinctive_words",
    "representative_reviews",
    "NO_REVIEW",
    "embedding_cache",
    "recovery",
]

TEXT_FEATURES = [
    "n_reviews",
    "mean_p_negative",
    "last_p_negative",
    "worst_p_negative",
    "share_negative",
    "change_p_negative",
]
BEHAVIOUR_FEATURES = [
    "frequency_cal",
    "recency_cal",
    "T_cal",
    "monetary_value_cal",
    "weeks_since_last",
    "spend_cal",
    "ipt_mean_weeks",
    "days_last_13w",
]
#: the segment of customers who wrote no review before the cutoff
NO_REVIEW = "no review"


# --------------------------------------------------------------------------------------------
# reading the texts: sentiment and embeddings


# --------------------------------------------------------------------------------------------
# per-customer features


def _before(reviews: pd.DataFrame, cutoff) -> pd.Series:
    require_columns(reviews, ["customer_id", "date"], "reviews")
    return reviews["date"] <= pd.Timestamp(cutoff)


def text_features(reviews: pd.DataFrame, proba: pd.DataFrame, cutoff, customers) -> pd.DataFrame:
    """What each customer wrote on or before ``cutoff``, as the sentiment model reads it.

    Parameters
    ----------
    reviews : DataFrame
        ``customer_id``, ``date`` (one row per review).
    proba : DataFrame
        ``p_negative``, ``p_neutral``, ``p_positive`` for each row of ``reviews`` (same order), or a
        reader's ``p_negative`` (a negativity score in [0, 1]) and ``negative`` (bool).
    cutoff : date-like
        Reviews after it are ignored: they were written after the moment of prediction.
    customers : array-like
        The customer ids to return, in order.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``: ``TEXT_FEATURES`` and ``has_reviews``. ``n_reviews`` is 0 and
        every other text feature NaN for a customer without a review: no text is not a neutral text.
    """
    if len(proba) != len(reviews):
        raise ValueError(f"proba: {len(proba)} rows, but reviews has {len(reviews)}")
    keep = _before(reviews, cutoff).to_numpy()
    if "negative" in proba.columns:  # a reader that says itself which reviews it reads as negative
        negative = proba["negative"].to_numpy(dtype=bool)
    else:  # class probabilities: negative when it is the top class
        negative = proba[["p_negative", "p_neutral", "p_positive"]].to_numpy().argmax(axis=1) == 0
    r = pd.DataFrame(
        {
            "customer_id": reviews["customer_id"].to_numpy()[keep],
            "date": reviews["date"].to_numpy()[keep],
            "p_neg": proba["p_negative"].to_numpy()[keep],
            "negative": negative[keep],
        }
    )
    r = r.sort_values(["customer_id", "date"], kind="stable")
    g = r.groupby("customer_id")
    out = pd.DataFrame(
        {
            "n_reviews": g.size(),
            "mean_p_negative": g["p_neg"].mean(),
            "last_p_negative": g["p_neg"].last(),
            "worst_p_negative": g["p_neg"].max(),
            "share_negative": g["negative"].mean(),
            "change_p_negative": g["p_neg"].last() - g["p_neg"].first(),
        }
    )
    ids = pd.Index(customers, name="customer_id")
    out = out.reindex(ids)
    out["n_reviews"] = out["n_reviews"].fillna(0).astype(int)
    out["has_reviews"] = out["n_reviews"] > 0
    return out


READINGS = np.array(["negative", "neutral", "positive"])


def last_review_reading(reviews: pd.DataFrame, proba: pd.DataFrame, cutoff, customers) -> pd.Series:
    """Each customer's last review up to ``cutoff`` (by date; the file's order among reviews of one day) as a
    three-class reader reads it: its most probable class of ``p_negative``, ``p_neutral``, ``p_positive``
    (chapter 02's model, :func:`score_texts`), or ``no review``; indexed by ``customers``."""
    cols = ["p_negative", "p_neutral", "p_positive"]
    require_columns(proba, cols, "proba", f"{cols}, one row per review (a three-class reader)")
    if len(proba) != len(reviews):
        raise ValueError(f"proba has {len(proba)} rows for {len(reviews)} reviews: one row per review, in their order")
    keep = _before(reviews, cutoff).to_numpy()
    read = pd.DataFrame(
        {
            "customer_id": reviews["customer_id"].to_numpy(),
            "date": reviews["date"].to_numpy(),
            "reading": READINGS[proba[cols].to_numpy().argmax(axis=1)],
        }
    )[keep]
    last = read.sort_values(["customer_id", "date"], kind="stable").groupby("customer_id")["reading"].last()
    return last.reindex(pd.Index(customers)).fillna(NO_REVIEW).rename("last review read as")


def retention_by_last_review(observed, proba: pd.DataFrame) -> pd.DataFrame:
    """Among the customers who got no offer: how many bought again in the holdout, by how their last review
    before the cutoff reads (:func:`last_review_reading`). Columns ``size`` and ``mean`` (the share)."""
    summary = calibration_holdout(observed.purchases, observed.cutoff, observed.end)
    label = last_review_reading(observed.reviews, proba, observed.cutoff, summary.index)
    table = pd.DataFrame({"last review read as": label, "bought again": retained(summary)})
    table = table[summary.index.isin(no_offer_customers(observed))]
    return table.groupby("last review read as")["bought again"].agg(["size", "mean"])


def topic_features(
    reviews: pd.DataFrame, embeddings: np.ndarray, cutoff, customers, n_components: int = 8, seed: int = 0
) -> tuple[pd.DataFrame, np.ndarray, object]:
    """What each customer wrote about: the mean embedding of their reviews up to ``cutoff``, reduced by PCA.

    Returns
    -------
    (DataFrame, array, PCA)
        ``topic_1 .. topic_k`` indexed by ``customer_id`` (NaN without a review); the customers'
        mean embeddings (n, 384) (zeros without a review); the fitted PCA.
    """
    if len(embeddings) != len(reviews):
        raise ValueError(f"embeddings: {len(embeddings)} rows, but reviews has {len(reviews)}")
    keep = _before(reviews, cutoff).to_numpy()
    ids = pd.Index(customers, name="customer_id")
    pos = ids.get_indexer(reviews["customer_id"].to_numpy()[keep])
    if np.any(pos < 0):
        raise ValueError("reviews: some customer ids are not among the customers")
    sums = np.zeros((len(ids), embeddings.shape[1]))
    np.add.at(sums, pos, embeddings[keep])
    counts = np.bincount(pos, minlength=len(ids))
    has = counts > 0
    mean = np.zeros_like(sums)
    mean[has] = sums[has] / counts[has, None]
    k = min(n_components, int(has.sum()), embeddings.shape[1])
    pca = PCA(n_components=k, random_state=seed).fit(mean[has])
    topics = np.full((len(ids), k), np.nan)
    topics[has] = pca.transform(mean[has])
    return pd.DataFrame(topics, index=ids, columns=[f"topic_{j + 1}" for j in range(k)]), mean, pca


def build(observed, proba: pd.DataFrame, embeddings: np.ndarray, n_topics: int = 8, seed: int = 0) -> pd.DataFrame:
    """One profile per customer at the cutoff, from a world's (or a shop's) observed data only.

    Parameters
    ----------
    observed : retention_lib.world.Observed
        ``purchases``, ``reviews``, ``cutoff``, ``end``.
    proba : DataFrame
        Sentiment probabilities of each review (:func:`score_texts`).
    embeddings : array of shape (reviews, d)
        Embedding of each review (:func:`embed_texts`).

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``: the calibration summary (incl. ``frequency_holdout``, the
        later outcome, kept for evaluation), ``TEXT_FEATURES``, ``has_reviews``, ``topic_*``.
    """
    summary = calibration_holdout(observed.purchases, observed.cutoff, observed.end)
    text = text_features(observed.reviews, proba, observed.cutoff, summary.index)
    topics, _, _ = topic_features(observed.reviews, embeddings, observed.cutoff, summary.index, n_topics, seed)
    return summary.join(text).join(topics)


# --------------------------------------------------------------------------------------------
# segments


SENTIMENT_FEATURES = ["mean_p_negative", "worst_p_negative"]


def _segment_matrix(profiles: pd.DataFrame) -> np.ndarray:
    """Behaviour (signed log), sentiment and topic features, standardised, each block weighted so
    that its total variance is 1: eight behaviour columns do not outvote two sentiment columns."""

    topics = [c for c in profiles.columns if c.startswith("topic_")]
    blocks = [
        signed_log(profiles[BEHAVIOUR_FEATURES].to_numpy(dtype=float)),
        profiles[SENTIMENT_FEATURES].to_numpy(dtype=float),
        profiles[topics].to_numpy(dtype=float),
    ]
    # a shop's profiles may have no topics (no embeddings): an empty block is left out
    return np.hstack([StandardScaler().fit_transform(b) / np.sqrt(b.shape[1]) for b in blocks if b.shape[1]])


def segment(
    profiles: pd.DataFrame, k_values=range(2, 9), seed: int = 0, silhouette_sample: int = 3000
) -> tuple[pd.Series, pd.DataFrame]:
    """Segments of customers: k-means on behaviour, sentiment and topics of those who wrote a review.

    The three blocks are standardised and weighted equally (see ``_segment_matrix``).
    The number of segments is the k in ``k_values`` with the highest silhouette score (on a seeded
    sample of ``silhouette_sample`` customers: the score is quadratic in their number). Customers
    without a review are the segment ``NO_REVIEW``.

    Returns
    -------
    (Series, DataFrame)
        Each customer's segment (``"segment 1"`` ... by decreasing size, then ``NO_REVIEW``), and the
        silhouette score of each k.
    """
    require_columns(profiles, ["has_reviews"], "profiles", "has_reviews, from build")
    writers = profiles.index[profiles["has_reviews"]]
    ks = [k for k in k_values if 2 <= k < len(writers)]
    if not ks:
        raise ValueError(
            f"k_values: need some k from 2 to {len(writers) - 1} ({len(writers)} customers wrote a review)"
        )
    X = _segment_matrix(profiles.loc[writers])
    rows, fits = [], {}
    for k in ks:
        km = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(X)
        fits[k] = km.labels_
        score = silhouette_score(X, km.labels_, sample_size=min(silhouette_sample, len(X)), random_state=seed)
        rows.append({"k": k, "silhouette": score})
    scores = pd.DataFrame(rows).set_index("k")
    best = int(scores["silhouette"].idxmax())
    labels = pd.Series(fits[best], index=writers)
    rank = labels.value_counts().index  # segment 1 is the largest
    names = {old: f"segment {i + 1}" for i, old in enumerate(rank)}
    out = pd.Series(NO_REVIEW, index=profiles.index, name="segment", dtype=object)
    out[writers] = labels.map(names)
    order = [names[o] for o in rank] + ([NO_REVIEW] if (~profiles["has_reviews"]).any() else [])
    return out.astype(pd.CategoricalDtype(order, ordered=True)), scores


def distinctive_words(texts_by_segment: dict, k: int = 6) -> dict:
    """The ``k`` words most distinctive of each segment's reviews, by class-based TF-IDF.

    Each segment's texts are one document; a word's weight is its frequency in the segment times
    ``log(1 + A / f)``, with ``A`` the average number of words per segment and ``f`` the word's
    frequency over all segments (Grootendorst 2022). English stop words are left out.
    """
    names = list(texts_by_segment)
    docs = [" ".join(texts_by_segment[n]) for n in names]
    cv = CountVectorizer(stop_words="english", min_df=1, token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b")
    counts = cv.fit_transform(docs).toarray().astype(float)
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    avg = counts.sum() / len(names)
    idf = np.log(1 + avg / np.maximum(counts.sum(axis=0), 1))
    weight = tf * idf
    vocab = np.array(cv.get_feature_names_out())
    return {n: list(vocab[np.argsort(-weight[i], kind="stable")[:k]]) for i, n in enumerate(names)}


def representative_reviews(reviews: pd.DataFrame, embeddings: np.ndarray, segments: pd.Series, cutoff) -> pd.Series:
    """For each segment of writers, the review closest (cosine) to the mean embedding of its reviews
    (the next closest when another segment already has that text)."""
    keep = _before(reviews, cutoff).to_numpy()
    seg = segments.reindex(reviews["customer_id"].to_numpy()[keep]).to_numpy()
    texts = reviews["text"].to_numpy()[keep]
    emb = embeddings[keep]
    out = {}
    for name in segments.cat.categories:
        m = seg == name
        if name == NO_REVIEW or not m.any():
            continue
        centre = emb[m].mean(axis=0)
        ranked = texts[m][np.argsort(-(emb[m] @ centre), kind="stable")]
        # texts are drawn with replacement: skip one another segment already speaks with
        out[name] = next((t for t in ranked if t not in out.values()), ranked[0])
    return pd.Series(out, name="representative review")


def describe_segments(profiles: pd.DataFrame, segments: pd.Series) -> pd.DataFrame:
    """Size, behaviour and sentiment of each segment (means), and the share that bought in the holdout."""
    t = profiles.assign(segment=segments, retained=retained(profiles))
    g = t.groupby("segment", observed=True)
    out = pd.DataFrame(
        {
            "customers": g.size(),
            "share": g.size() / len(t),
            "repeat purchases": g["frequency_cal"].mean(),
            "weeks since last": g["weeks_since_last"].mean(),
            "spend per repeat ($)": g["monetary_value_cal"].mean(),
            "reviews": g["n_reviews"].mean(),
            "mean P(negative)": g["mean_p_negative"].mean(),
            "bought in the holdout": g["retained"].mean(),
        }
    )
    return out


def map_2d(profiles: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Two coordinates per customer who wrote a review: the first two principal components of the
    matrix the segments are found in (a map to look at, not a model)."""
    writers = profiles.index[profiles["has_reviews"]]
    xy = PCA(n_components=2, random_state=seed).fit_transform(_segment_matrix(profiles.loc[writers]))
    return pd.DataFrame(xy, index=writers, columns=["map_x", "map_y"])


def recovery(profiles: pd.DataFrame, segments: pd.Series, truth_customers: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """How well the profiles recover what is hidden (uses the truth: for measuring only).

    Among customers who wrote a review: Spearman correlation of the hidden satisfaction with the
    mean and the worst probability of a negative review; the share of the hidden satisfaction's
    variance the segments explain; and how often the topic features name the customer's main
    department (cross-validated logistic regression) against always guessing the commonest one.
    """
    writers = profiles.index[profiles["has_reviews"]]
    t = truth_customers.reindex(writers)
    sat = t["satisfaction"]
    seg = segments.reindex(writers)
    means = sat.groupby(seg, observed=True).transform("mean")
    topics = profiles.loc[writers, [c for c in profiles.columns if c.startswith("topic_")]]
    folds = min(5, int(t["department_1"].value_counts().min())) if len(t) else 0
    dept_acc = (
        cross_val_score(LogisticRegression(max_iter=2000), topics, t["department_1"], cv=folds).mean()
        if folds >= 2
        else np.nan
    )
    rows = [
        ("Spearman: satisfaction vs mean P(negative)", spearmanr(sat, profiles.loc[writers, "mean_p_negative"])[0]),
        ("Spearman: satisfaction vs worst P(negative)", spearmanr(sat, profiles.loc[writers, "worst_p_negative"])[0]),
        (
            "share of satisfaction's variance between segments",
            ((means - sat.mean()) ** 2).sum() / ((sat - sat.mean()) ** 2).sum(),
        ),
        ("main department named from topics (accuracy)", dept_acc),
        ("main department: always the commonest (accuracy)", t["department_1"].value_counts(normalize=True).iloc[0]),
    ]
    return pd.DataFrame(rows, columns=["measure", "value"]).set_index("measure")
