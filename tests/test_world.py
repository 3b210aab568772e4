"""The linked world: the observed/truth split, reproducibility, the null link, BG/NBD recovery, errors."""

import numpy as np
import pandas as pd
import pytest

from retention_lib import data, retention, world


@pytest.fixture(scope="module")
def pool():
    return world.review_pool(data.load("reviews"))


@pytest.fixture(scope="module")
def small(pool):
    return world.simulate(4000, seed=1, pool=pool)


HIDDEN = {
    "rating",
    "experience",
    "satisfaction",
    "purchase_rate",
    "dropout_p",
    "price_sensitivity",
    "contact_averse",
    "source_review",
    "alive_at_cutoff",
    "last_experience",
    "last_bad",
    "received",
    "department_1",
    "department_2",
    "week",
    "reviewed",
}


def test_observed_holds_only_what_a_shop_has(small):
    o = small.observed
    assert list(o.purchases.columns) == ["customer_id", "date", "amount"]
    assert list(o.reviews.columns) == ["review_id", "customer_id", "date", "clothing_id", "department", "text"]
    assert list(o.assignment.columns) == ["customer_id", "group"]
    for table in (o.purchases, o.reviews, o.assignment):
        assert not HIDDEN & set(table.columns)
    hidden_cols = (
        set(small.truth.customers.columns) | set(small.truth.reviews.columns) | set(small.truth.purchases.columns)
    )
    assert HIDDEN <= hidden_cols | {"rating"}
    # pseudonymous ids: not the simulation's order, the same set in every table
    ids = set(o.assignment["customer_id"])
    assert set(o.purchases["customer_id"]) == ids and set(o.reviews["customer_id"]) <= ids
    assert set(small.truth.customers.index) == ids
    # potential outcomes are hidden; what is observed is the outcome of the arm received
    c = small.truth.customers
    got = np.choose(
        c["received"].map({a: i for i, a in enumerate(world.ARMS)}).to_numpy(),
        [c[f"purchases_{a}"].to_numpy() for a in world.ARMS],
    )
    holdout = o.purchases[o.purchases["date"] > o.cutoff].groupby("customer_id").size().reindex(c.index, fill_value=0)
    np.testing.assert_array_equal(holdout.to_numpy(), got)


def test_the_same_seed_gives_the_same_world_and_another_seed_another(pool, small):
    again = world.simulate(4000, seed=1, pool=pool)
    pd.testing.assert_frame_equal(again.observed.purchases, small.observed.purchases)
    pd.testing.assert_frame_equal(again.observed.reviews, small.observed.reviews)
    pd.testing.assert_frame_equal(again.truth.customers, small.truth.customers)
    other = world.simulate(4000, seed=2, pool=pool)
    assert not other.observed.purchases["amount"].equals(small.observed.purchases["amount"])


def test_reviews_use_real_texts_from_the_pool_with_the_real_rating_mix(pool):
    w = world.simulate(20000, seed=3, pool=pool)
    joined = w.observed.reviews.merge(w.truth.reviews, on="review_id")
    np.testing.assert_array_equal(joined["text"].to_numpy(), pool.loc[joined["source_review"], "text"].to_numpy())
    np.testing.assert_array_equal(joined["rating"].to_numpy(), pool.loc[joined["source_review"], "rating"].to_numpy())
    mix = joined["rating"].value_counts(normalize=True).sort_index().to_numpy()
    np.testing.assert_allclose(mix, world.REAL_RATING_SHARES, atol=0.002)
    # a review's department is one of its customer's two, and its stars come from its experience
    c = w.truth.customers.loc[joined["customer_id"]]
    assert (
        (joined["department"].astype(str).to_numpy() == c["department_1"].to_numpy())
        | (joined["department"].astype(str).to_numpy() == c["department_2"].to_numpy())
    ).all()
    assert joined.groupby("rating")["experience"].max().is_monotonic_increasing


def test_real_rating_shares_are_those_of_the_dataset():
    r = data.load("reviews")
    shares = r.loc[r["review_text"].notna(), "rating"].value_counts(normalize=True).sort_index()
    np.testing.assert_allclose(shares.to_numpy(), world.REAL_RATING_SHARES, atol=1e-4)


def test_cdnow_defaults_are_the_chapter_04_fit():
    summary = retention.calibration_holdout(data.load("cdnow"), "1997-09-30", "1998-06-30")
    fitted = retention.BGNBD().fit(summary).params_
    for k, v in world.CDNOW_BGNBD.items():
        assert fitted[k] == pytest.approx(v, abs=1e-4), k


def test_text_effect_zero_makes_leaving_independent_of_ratings(pool):
    """On a large draw: with text_effect 0, customers who left before the cutoff wrote the same star mix
    as those who stayed; with the default link the leavers' reviews are clearly worse."""

    def mean_stars_by_state(w):
        j = w.observed.reviews.merge(w.truth.reviews, on="review_id")
        alive = w.truth.customers["alive_at_cutoff"].reindex(j["customer_id"]).to_numpy()
        return j["rating"][~alive].mean(), j["rating"][alive].mean(), (~alive).sum(), alive.sum(), j, alive

    from scipy import stats

    gone, stay, *_, j, alive = mean_stars_by_state(world.simulate(60000, seed=4, pool=pool, text_effect=0.0))
    assert abs(gone - stay) < 0.03
    test = stats.mannwhitneyu(j["rating"][~alive], j["rating"][alive])
    assert test.pvalue > 0.01
    gone, stay, *_ = mean_stars_by_state(world.simulate(60000, seed=4, pool=pool, text_effect=1.0))
    assert stay - gone > 0.15


def test_bgnbd_refit_recovers_the_generating_parameters(pool):
    """Within 5 % on 150,000 customers (sampling error is about 1-2 % at that size)."""
    w = world.simulate(150_000, seed=5, pool=pool)
    o = w.observed
    fitted = retention.BGNBD().fit(retention.calibration_holdout(o.purchases, o.cutoff, o.end)).params_
    for k in ("r", "alpha", "a", "b"):
        assert fitted[k] == pytest.approx(getattr(w.config, k), rel=0.05), k


def test_offers_have_every_kind_of_customer_and_costs(small):
    effects = world.true_effects(small.truth.customers)
    assert list(effects.index) == list(world.OFFERS)
    for offer in world.OFFERS:
        row = effects.loc[offer]
        assert row[["sure things", "lost causes", "persuadables", "sleeping dogs"]].sum() == pytest.approx(1.0)
        assert row["persuadables"] > 0 and row["sleeping dogs"] > 0 and row["sure things"] > 0
    c = small.truth.customers
    # sleeping dogs are contact-averse customers; a customer bought nothing and got nothing = no spend, no cost
    dogs = (c["purchases_none"] > 0) & (c["purchases_discount"] == 0)
    assert c.loc[dogs, "contact_averse"].all()
    none = c["purchases_none"] == 0
    assert (c.loc[none, "profit_none"] == 0).all()
    assert (c["profit_recovery"] <= c["spend_recovery"] - 2.99).all()


def test_experiment_is_random_and_balanced(small):
    g = small.observed.assignment["group"].value_counts()
    assert g["not in experiment"] == 3200 and set(g[["control", "discount", "recovery"]]) <= {266, 267}
    # assignment ignores hidden traits: satisfaction is balanced across groups
    c = small.truth.customers.join(small.observed.assignment.set_index("customer_id"))
    means = c.groupby("group", observed=True)["satisfaction"].mean()
    assert (means.abs() < 0.15).all()


@pytest.mark.parametrize(
    "settings,match",
    [
        ({"text_efect": 1.0}, "unknown world setting 'text_efect'. Did you mean 'text_effect'"),
        ({"review_rate": 1.5}, "'review_rate' .* must be from 0.001 to 0.999, got 1.5"),
        ({"n_customers": 2.5}, "'n_customers' .* must be a whole number"),
        ({"text_effect": -1}, "'text_effect'"),
        ({"start_date": "someday"}, "'start_date' must be a date"),
        ({"experiment_share": float("nan")}, "'experiment_share'"),
    ],
)
def test_bad_settings_name_the_field(pool, settings, match):
    kw = {"n_customers": 100, **settings}
    with pytest.raises(world.WorldConfigError, match=match):
        world.simulate(pool=pool, **kw)


def test_bad_pool_is_refused(pool):
    with pytest.raises(ValueError, match="missing column"):
        world.simulate(100, pool=pool.drop(columns="department"))
    with pytest.raises(ValueError, match=r"rating\(s\) \[1\]"):
        world.simulate(100, pool=pool[pool["rating"] > 1])


def test_save_and_load_round_trip(small, tmp_path):
    world.save(small, tmp_path / "w")
    back = world.load(tmp_path / "w")
    assert back.config == small.config and back.observed.cutoff == small.observed.cutoff
    pd.testing.assert_frame_equal(back.observed.reviews, small.observed.reviews)
    pd.testing.assert_frame_equal(back.truth.customers, small.truth.customers)
    np.testing.assert_allclose(back.truth.rating_thresholds, small.truth.rating_thresholds)
    with pytest.raises(FileNotFoundError, match="no saved world"):
        world.load(tmp_path / "nothing")


def test_review_pool_from_chapter_02_scores(pool):
    reviews = data.load("reviews")
    scores = pd.DataFrame({"split": "train"}, index=reviews.index)
    scores.loc[pool.index, "split"] = "test"
    again = world.review_pool(reviews, scores)
    pd.testing.assert_frame_equal(again, pool)
    with pytest.raises(ValueError, match="'split' column"):
        world.review_pool(reviews, scores.drop(columns="split"))


def test_scale_benchmark_runs():
    import runpy

    from conftest import ROOT

    mod = runpy.run_path(str(ROOT / "benchmarks" / "world_scale.py"))
    table = mod["main"](["--customers", "1000", "3000", "--repeats", "1", "--no-record"])
    assert list(table["customers"]) == [1000, 3000] and table.iloc[0]["ratio vs linear from the baseline"] == 1.0
    assert (table["reviews"] > 0).all()


def test_the_settings_table_names_each_setting_with_its_meaning_and_rejects_unknown_names():
    config = world.WorldConfig(seed=7, text_effect=0.5)
    every = config.table()
    assert list(every.index) == list(config.as_dict()) and every["meaning"].str.len().gt(0).all()
    assert config.table(["seed", "text_effect"])["value"].tolist() == [7, 0.5]
    with pytest.raises(world.WorldConfigError, match="Did you mean 'text_effect'"):
        config.table(["text_efect"])
