"""Chapter 06's ablation: no hidden column reaches a model; no gain where there is none; a real one where there is."""

import inspect

import numpy as np
import pandas as pd
import pytest

from retention_lib import data, sentiment, world
from retention_lib.profiles import controls, user_profiles
from retention_lib.profiles import text_value as tv


@pytest.fixture(scope="module")
def pool():
    return world.review_pool(data.load("reviews"))


@pytest.fixture(scope="module")
def readers():
    reviews = data.load("reviews")
    parts = sentiment.split(sentiment.make_dataset(reviews)[0], seed=0)
    scores = pd.DataFrame({"split": "not used"}, index=reviews.index)
    for name, part in parts.items():
        scores.loc[part.index, "split"] = name
    return tv.fit_readers(reviews, scores, seed=0)


def test_observed_feature_sets_never_see_the_truth(pool, readers):
    assert "truth" not in inspect.signature(tv.observed_sets).parameters
    w = world.simulate(3000, seed=0, pool=pool)
    readings = {k: r(w.observed.reviews["text"]) for k, r in readers.items()}
    assert set(readings) == {"tfidf", "vader"}  # no language-model scores were given
    sets, y = tv.observed_sets(w.observed, readings, customers=tv.no_offer_customers(w.observed))
    allowed = set(tv.WORLD_BEHAVIOUR) | set(user_profiles.TEXT_FEATURES) | {"has_reviews"}
    hidden = set(w.truth.customers.columns) | set(w.truth.reviews.columns) | set(w.truth.purchases.columns)
    for name, X in sets.items():
        assert set(X.columns) <= allowed, name
        assert not set(X.columns) & hidden, name
        assert X.index.equals(y.index)
    # only customers without an offer, and the label is what they did
    groups = w.observed.assignment.set_index("customer_id")["group"].reindex(y.index)
    assert groups.isin(["not in experiment", "control"]).all()
    truth_bought = w.truth.customers.loc[y.index, "purchases_none"] > 0
    assert (y.astype(bool) == truth_bought).all()
    oracle, true_p = tv.oracle_sets(w.observed, w.truth, w.config.holdout_weeks, y.index)
    assert list(oracle) == ["behaviour + perfect"] and true_p.between(0, 1).all()


def test_no_gain_without_a_link_and_a_real_one_with_a_strong_link(pool, readers):
    """A method that finds signal where there is none is broken."""
    null = tv.sweep(pool, readers["tfidf"], "text_effect", [0.0], 8000, seed=0, folds=3, n_resamples=100)
    for _, row in null.iterrows():
        assert row["low"] <= 0, row["reader"]  # never a significant gain
        assert row["gain"] > -0.006, row["reader"]  # nor a loss beyond the noise of extra features
    strong = tv.sweep(pool, readers["tfidf"], "text_effect", [3.0], 8000, seed=0, folds=3, n_resamples=100)
    perfect = strong[strong["reader"] == "perfect"].iloc[0]
    assert perfect["low"] > 0  # the perfect reader is better than behaviour
    assert strong[strong["reader"] == "lm"].iloc[0]["gain"] > 0.005
    assert perfect["last-review gap"] > null.iloc[0]["last-review gap"] + 0.1


def test_readings_by_hand():
    r = tv.perfect_reading([1, 3, 5])
    assert r["p_negative"].tolist() == [1.0, 0.5, 0.0] and r["negative"].tolist() == [True, False, False]
    proba = pd.DataFrame({"p_negative": [0.5, 0.2], "p_neutral": [0.1, 0.7], "p_positive": [0.4, 0.1]})
    assert tv.reading_from_proba(proba)["negative"].tolist() == [True, False]
    obs = world.Observed(
        purchases=pd.DataFrame(),
        assignment=pd.DataFrame(),
        reviews=pd.DataFrame(
            {
                "customer_id": [1, 1, 2, 3],
                "date": pd.to_datetime(["2020-01-01", "2020-02-01", "2020-01-05", "2020-06-01"]),
            }
        ),
        cutoff=pd.Timestamp("2020-03-01"),
        end=pd.Timestamp("2020-06-30"),
    )
    groups = tv.last_review_groups(obs, pd.DataFrame({"negative": [True, False, True, True]}), [1, 2, 3, 4])
    assert groups.tolist() == ["not negative", "negative", "no review", "no review"]  # 3 wrote after the cutoff
    y = pd.Series([1, 0, 1, 0], index=[1, 2, 3, 4])
    assert tv.last_review_gap(obs, pd.DataFrame({"negative": [True, False, True, True]}), y) == 1.0


def test_ablation_table_and_gain_share_by_hand():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    noise = rng.normal(size=400)
    from scipy.special import expit

    oof = pd.DataFrame(
        {
            ("behaviour", "m"): expit(noise),
            ("behaviour + perfect", "m"): expit(y + noise),
            ("behaviour + lm", "m"): expit(0.5 * y + noise),
        }
    )
    t = tv.ablation_table(oof, y, n_resamples=50)
    from sklearn.metrics import roc_auc_score

    assert t.loc[("behaviour + lm", "m"), "roc_auc"] == pytest.approx(roc_auc_score(y, 0.5 * y + noise))
    gain = t.loc[("behaviour + lm", "m"), "roc_auc_gain"]
    assert gain == pytest.approx(roc_auc_score(y, 0.5 * y + noise) - roc_auc_score(y, noise))
    low, high = t.loc[("behaviour + lm", "m"), ["roc_auc_gain_low", "roc_auc_gain_high"]]
    assert low < gain < high and low > 0
    share = tv.gain_share(t, "behaviour + lm")["m"]
    assert 0 < share < 1
    with pytest.raises(ValueError, match="not indexed like the first set"):
        tv.out_of_fold(
            {"a": pd.DataFrame({"x": [1.0, 2]}), "b": pd.DataFrame({"x": [1.0, 2]}, index=[5, 6])}, [0, 1], {}, 2, 0
        )


def test_every_model_follows_the_contract():
    X = np.random.default_rng(1).normal(size=(300, 4))
    X[::7, 2] = np.nan  # a missing text feature
    y = (X[:, 0] > 0).astype(int)
    for key, model in tv.make_text_models(0).items():
        p = model.fit(X, y).predict_proba(X)
        assert p.shape == (300, 2) and np.allclose(p.sum(axis=1), 1), key


def test_the_canary_is_silent_with_the_date_filter_and_sings_without_it(pool, readers):
    """A null world whose customers also review their holdout purchases: reading up to the cutoff finds
    nothing; reading past it finds who bought again."""
    c = controls.canary(pool, readers["tfidf"], 8000, seed=0, n_resamples=100)
    on, off = c.loc["date filter on"], c.loc["date filter off"]
    assert on["gain"] <= 0.002 and on["low"] <= 0, on
    assert off["gain"] >= 0.01 and off["low"] > 0, off
    assert 0.1 < on["reviews after the cutoff"] < 0.5


def test_the_canary_catches_a_broken_date_filter_in_the_library(pool, readers, monkeypatch):
    """Break the filter where the features are made (every review read, whatever its date): the run
    that believes its filter is on now shows the leak."""
    monkeypatch.setattr(user_profiles, "_before", lambda reviews, cutoff: pd.Series(True, index=reviews.index))
    c = controls.canary(pool, readers["tfidf"], 8000, seed=0, n_resamples=100)
    assert c.loc["date filter on", "gain"] >= 0.01


def test_holdout_reviews_leave_the_world_as_it_was_and_come_after_the_cutoff(pool):
    base = world.simulate(2000, seed=4, pool=pool)
    canary_world = world.simulate(2000, seed=4, pool=pool, holdout_reviews=1.0)
    assert canary_world.observed.purchases.equals(base.observed.purchases)
    assert canary_world.truth.customers.equals(base.truth.customers)
    assert not base.truth.reviews["holdout"].any()
    late = canary_world.truth.reviews["holdout"].to_numpy()
    r = canary_world.observed.reviews
    assert late.sum() > 0 and (r.loc[late, "date"] > canary_world.observed.cutoff).all()
    assert (r["date"] <= canary_world.observed.end).all()
    # every holdout review belongs to a customer who bought in the holdout under what they received
    bought = canary_world.observed.purchases.query("date > @canary_world.observed.cutoff")["customer_id"].unique()
    assert set(r.loc[late, "customer_id"]) <= set(bought)
    calibration = r[~late].reset_index(drop=True).drop(columns="review_id")
    assert calibration.equals(base.observed.reviews.drop(columns="review_id"))


def test_controls_by_hand(pool, readers):
    reading = pd.DataFrame({"p_negative": np.linspace(0, 1, 50), "negative": np.arange(50) % 3 == 0})
    placebo = controls.placebo_reading(reading, seed=1)
    assert sorted(placebo["p_negative"]) == sorted(reading["p_negative"]) and not placebo.equals(reading)
    assert placebo.index.equals(reading.index)
    w = world.simulate(2000, seed=0, pool=pool)
    o = w.observed
    customers = tv.no_offer_customers(o)
    sets = controls.control_sets(o, readers["tfidf"](o.reviews["text"]), customers, seed=0)
    assert list(sets["behaviour + counts"].columns) == tv.WORLD_BEHAVIOUR + controls.COUNT_FEATURES
    assert set(sets["behaviour + placebo"].columns) == set(tv.WORLD_BEHAVIOUR) | set(user_profiles.TEXT_FEATURES) | {
        "has_reviews"
    }
    # shuffling texts moves what was read, never who wrote or how often
    assert sets["behaviour + placebo"]["n_reviews"].equals(sets["behaviour + counts"]["n_reviews"])
    y = np.r_[np.zeros(30), np.ones(30)]
    oof = pd.DataFrame({("a", "m"): np.r_[np.zeros(30), np.ones(30)] * 0.5 + 0.2, ("b", "m"): np.full(60, 0.5)})
    t = controls.control_table(oof, y, "m", {"a over b": ("a", "b")}, n_resamples=50)
    assert t.loc["a over b", "gain"] == pytest.approx(0.5) and t.loc["a over b", "against"] == "b"
    with pytest.raises(ValueError, match=r"no out-of-fold predictions for \['c'\]"):
        controls.control_table(oof, y, "m", {"x": ("c", "b")})


def test_replicated_gains_vary_over_worlds_and_find_a_strong_link(pool, readers):
    two = {"tfidf": readers["tfidf"], "vader": readers["vader"]}
    rep = tv.replicate_gains(pool, two, {"text_effect": 3.0}, 4000, seeds=[1, 2, 3], folds=3)
    assert list(rep.index) == [1, 2, 3]
    assert set(rep.columns) == {"base_auc", "gain_tfidf", "gain_vader", "tfidf_minus_vader"}
    assert np.allclose(rep["tfidf_minus_vader"], rep["gain_tfidf"] - rep["gain_vader"])
    assert (
        rep["gain_tfidf"].std() > 0 and (rep["gain_tfidf"] > 0).all()
    )  # other worlds, other numbers; the link is found
    again = tv.replicate_gains(pool, two, {"text_effect": 3.0}, 4000, seeds=[1], folds=3)
    assert again.loc[1].equals(rep.loc[1])  # a world is its seed
    with pytest.raises(ValueError, match="at least one reader"):
        tv.replicate_gains(pool, {}, {}, 4000, seeds=[1])


def test_the_share_of_the_perfect_readers_gain_comes_with_its_interval():
    rng = np.random.default_rng(1)
    n = 2000
    signal, noise = rng.normal(size=n), rng.normal(size=n)
    y = (signal + noise > 0).astype(int)
    prob = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731 - probabilities, as the chapter's models give
    oof = pd.DataFrame(
        {
            ("behaviour", "gb"): prob(noise + rng.normal(size=n)),
            ("behaviour + lm", "gb"): prob(noise + 0.5 * signal + rng.normal(size=n)),
            ("behaviour + perfect", "gb"): prob(noise + signal + rng.normal(size=n)),
        }
    )
    table = tv.ablation_table(oof, y, n_resamples=20)
    ci = tv.gain_share_intervals(oof, y, ["behaviour + lm"], n_resamples=100)
    point = tv.gain_share(table, "behaviour + lm")["gb"]
    assert ci.loc["behaviour + lm", "share"] == pytest.approx(point)  # the same share as the chapter's table
    assert ci.loc["behaviour + lm", "low"] < point < ci.loc["behaviour + lm", "high"]
