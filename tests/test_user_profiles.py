"""User profiles: only what was written before the cutoff, explicit gaps, segments, words, embeddings."""

import numpy as np
import pandas as pd
import pytest

from retention_lib.profiles import user_profiles as up

REVIEWS = pd.DataFrame(
    {
        "customer_id": [1, 1, 1, 2],
        "date": pd.to_datetime(["2020-01-05", "2020-02-01", "2020-04-01", "2020-01-10"]),
        "text": ["bad fit", "lovely dress", "after the cutoff", "fine"],
    }
)
PROBA = pd.DataFrame(
    {"p_negative": [0.8, 0.1, 0.99, 0.2], "p_neutral": [0.1, 0.1, 0.0, 0.5], "p_positive": [0.1, 0.8, 0.01, 0.3]}
)


def test_text_features_by_hand_ignore_reviews_after_the_cutoff():
    t = up.text_features(REVIEWS, PROBA, "2020-03-01", [1, 2, 3])
    assert list(t.index) == [1, 2, 3]
    c1 = t.loc[1]
    assert c1["n_reviews"] == 2 and c1["mean_p_negative"] == pytest.approx(0.45)
    assert c1["last_p_negative"] == pytest.approx(0.1) and c1["worst_p_negative"] == pytest.approx(0.8)
    assert c1["share_negative"] == pytest.approx(0.5) and c1["change_p_negative"] == pytest.approx(-0.7)
    assert t.loc[2, "share_negative"] == 0.0 and t.loc[2, "change_p_negative"] == 0.0  # neutral is the top class
    # a customer without a review has no sentiment, not a neutral one
    assert t.loc[3, "n_reviews"] == 0 and not t.loc[3, "has_reviews"]
    assert t.loc[3, up.TEXT_FEATURES[1:]].isna().all()
    with pytest.raises(ValueError, match="proba: 3 rows, but reviews has 4"):
        up.text_features(REVIEWS, PROBA.iloc[:3], "2020-03-01", [1])


def test_topic_features_average_a_customers_embeddings_before_the_cutoff():
    emb = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 9.0], [1.0, 1.0, 0.0]])
    topics, mean, pca = up.topic_features(REVIEWS, emb, "2020-03-01", [1, 2, 3], n_components=1)
    np.testing.assert_allclose(mean[0], [0.5, 0.5, 0.0])  # the review after the cutoff is ignored
    np.testing.assert_allclose(mean[1], [1.0, 1.0, 0.0])
    assert (mean[2] == 0).all() and np.isnan(topics.loc[3, "topic_1"])
    assert list(topics.columns) == ["topic_1"]


def test_distinctive_words_by_class_based_tf_idf():
    words = up.distinctive_words({"a": ["dress dress lovely", "dress"], "b": ["pants pants fit", "fit"]}, k=2)
    assert words["a"][0] == "dress" and words["b"][0] in {"pants", "fit"}
    assert set(words["a"]) & set(words["b"]) == set()


def test_scores_come_from_the_lookup_or_the_model():
    lookup = pd.DataFrame(
        {"p_negative": [0.9], "p_neutral": [0.05], "p_positive": [0.05]}, index=pd.Index(["awful"], name="text")
    )
    out = up.score_texts(["awful", "awful"], lookup)
    assert out["p_negative"].tolist() == [0.9, 0.9]
    with pytest.raises(ValueError, match="1 text\\(s\\) have no saved score"):
        up.score_texts(["awful", "new text"], lookup)

    class Model:
        def predict_proba(self, texts):
            return np.tile([0.2, 0.3, 0.5], (len(texts), 1))

    out = up.score_texts(["new text", "awful"], lookup, model=Model())
    assert out["p_positive"].tolist() == [0.5, 0.05]


def test_sentiment_lookup_keys_chapter_02_scores_by_text():
    reviews = pd.DataFrame({"title": ["Bad", None], "review_text": ["Tore", "Nice"]}).astype("string")
    scores = pd.DataFrame(
        {"p_negative": [0.9, 0.1], "p_neutral": [0.05, 0.1], "p_positive": [0.05, 0.8], "split": ["test", "train"]}
    )
    lk = up.sentiment_lookup(reviews, scores)
    assert list(lk.index) == ["Bad. Tore", "Nice"] and lk.loc["Nice", "p_positive"] == 0.8
    with pytest.raises(ValueError, match="p_neutral"):
        up.sentiment_lookup(reviews, scores.drop(columns="p_neutral"))


def test_segments_writers_by_silhouette_and_keep_the_silent_apart():
    rng = np.random.default_rng(0)
    n = 300
    cols = {c: rng.normal(size=n) for c in up.BEHAVIOUR_FEATURES}
    happy = np.arange(n) % 2 == 0
    prof = pd.DataFrame(
        {
            **cols,
            "mean_p_negative": np.where(happy, 0.05, 0.9) + rng.normal(0, 0.02, n),
            "worst_p_negative": np.where(happy, 0.1, 0.95) + rng.normal(0, 0.02, n),
            "n_reviews": 1,
            "has_reviews": np.arange(n) < 280,
            "topic_1": rng.normal(size=n),
        },
        index=pd.RangeIndex(n, name="customer_id"),
    )
    seg, scores = up.segment(prof, range(2, 6), seed=0)
    assert list(scores.index) == [2, 3, 4, 5]
    assert list(seg.cat.categories)[-1] == up.NO_REVIEW and (seg.iloc[280:] == up.NO_REVIEW).all()
    assert seg.iloc[:280].nunique() == int(scores["silhouette"].idxmax())
    # the happy and the unhappy writers never share a segment when k = 2 wins
    if scores["silhouette"].idxmax() == 2:
        assert pd.crosstab(seg.iloc[:280], happy[:280]).gt(0).sum(axis=1).eq(1).all()
    with pytest.raises(ValueError, match="k_values"):
        up.segment(prof, [1], seed=0)


@pytest.mark.slow
def test_embeddings_are_the_packaged_minilm_mean_pooled_normalised_and_cached(tmp_path):
    texts = ["The dress fits perfectly.", "Terrible quality, it tore.", "The dress fits perfectly."]
    logs = []
    e = up.embed_texts(texts, cache=tmp_path / "e.parquet", log=logs.append)
    assert e.shape == (3, 384) and np.allclose(np.linalg.norm(e, axis=1), 1, atol=1e-5)
    np.testing.assert_array_equal(e[0], e[2])
    assert logs == ["embedding 2 distinct text(s) on cpu ..."]
    logs.clear()
    again = up.embed_texts(texts[:2], cache=tmp_path / "e.parquet", log=logs.append)
    assert logs == [] and np.array_equal(again, e[:2])
    # similar sentences are closer than unrelated ones
    more = up.embed_texts(["This dress fits me perfectly.", "The weather in Oslo is cold."])
    assert more[0] @ e[0] > more[1] @ e[0] + 0.3
    # sentence-transformers computes what the model card says: the mean of the token vectors, padding
    # excluded, L2-normalised (rebuilt here with transformers alone)
    import torch
    from transformers import AutoModel, AutoTokenizer

    from retention_lib.sentiment.classifier import default_checkpoint

    tok = AutoTokenizer.from_pretrained(str(default_checkpoint()), local_files_only=True)
    enc = AutoModel.from_pretrained(str(default_checkpoint()), local_files_only=True).eval()
    batch = tok(texts[:2], padding=True, truncation=True, max_length=128, return_tensors="pt")
    with torch.inference_mode():
        h = enc(**batch).last_hidden_state
    m = batch["attention_mask"].unsqueeze(-1).float()
    ref = torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=1).numpy()
    np.testing.assert_allclose(e[:2], ref, atol=1e-5)


def test_last_review_reading_and_retention_by_it():
    """The last review up to the cutoff decides (later ones do not count); customers without one are 'no review';
    only customers without an offer are counted."""
    from types import SimpleNamespace

    reviews = pd.DataFrame(
        {"customer_id": [1, 1, 2, 3], "date": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-02", "2024-03-01"])}
    )
    proba = pd.DataFrame(
        [[0.8, 0.1, 0.1], [0.1, 0.1, 0.8], [0.2, 0.7, 0.1], [0.9, 0.05, 0.05]],
        columns=["p_negative", "p_neutral", "p_positive"],
    )
    got = up.last_review_reading(reviews, proba, "2024-02-01", [1, 2, 3, 4])
    assert got.tolist() == ["positive", "neutral", "no review", "no review"]
    shuffled = up.last_review_reading(reviews.iloc[::-1], proba.iloc[::-1], "2024-02-01", [1, 2, 3, 4])
    assert shuffled.tolist() == got.tolist()  # the last by date, whatever the file's order
    with pytest.raises(ValueError, match="proba has 3 rows for 4 reviews"):
        up.last_review_reading(reviews, proba.iloc[:3], "2024-02-01", [1])
    purchases = pd.DataFrame(
        {
            "customer_id": [1, 1, 2, 3, 4, 4],
            "amount": 1.0,
            "date": pd.to_datetime(
                ["2024-01-01", "2024-03-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-03-02"]
            ),
        }
    )
    assignment = pd.DataFrame(
        {"customer_id": [1, 2, 3, 4], "group": ["control", "not in experiment", "discount", "control"]}
    )
    observed = SimpleNamespace(
        reviews=reviews,
        purchases=purchases,
        assignment=assignment,
        cutoff=pd.Timestamp("2024-02-01"),
        end=pd.Timestamp("2024-04-01"),
    )
    table = up.retention_by_last_review(observed, proba)
    assert table["size"].to_dict() == {"neutral": 1, "no review": 1, "positive": 1}  # customer 3 got an offer
    assert table["mean"].to_dict() == {"neutral": 0.0, "no review": 1.0, "positive": 1.0}
