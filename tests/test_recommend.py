"""Recommendations: metrics against hand-computed values and scikit-learn, a temporal split that leaks
nothing, recommenders that stay in the catalogue without duplicates, a ranker that never sees the test
order, and clear errors for unknown users and bad k."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import ndcg_score

from retention_lib import data
from retention_lib import recommend as rc


def _recs(lists: dict) -> pd.DataFrame:
    return pd.DataFrame(
        [{"user_id": u, "rank": r + 1, "product_id": p} for u, items in lists.items() for r, p in enumerate(items)]
    )


def test_metrics_on_a_hand_computed_example():
    pu = rc.per_user(_recs({1: [10, 20, 30], 2: [40, 50, 60]}), {1: {20, 99}, 2: {70}}, k=3)
    u1 = pu.loc[1]
    assert u1["hit_rate"] == 1 and u1["precision"] == pytest.approx(1 / 3) and u1["recall"] == 0.5
    assert u1["ndcg"] == pytest.approx((1 / np.log2(3)) / (1 + 1 / np.log2(3)))
    assert u1["ap"] == pytest.approx((1 / 2) / 2)
    assert (pu.loc[2] == 0).all()
    # a user with no recommendations scores 0; k cuts the lists
    assert (rc.per_user(_recs({1: [10]}), {1: {10}, 3: {5}}, k=1).loc[3] == 0).all()
    assert rc.per_user(_recs({1: [10, 20]}), {1: {20}}, k=1).loc[1, "hit_rate"] == 0


def test_ndcg_matches_scikit_learn():
    rng = np.random.default_rng(0)
    for _ in range(20):
        relevant = set(rng.choice(30, size=rng.integers(1, 6), replace=False).tolist())
        ranking = rng.permutation(30)
        mine = rc.per_user(_recs({1: ranking[:10].tolist()}), {1: relevant}, k=10).loc[1, "ndcg"]
        y_true = np.isin(np.arange(30), list(relevant)).astype(float)[None]
        y_score = np.empty(30)
        y_score[ranking] = np.arange(30, 0, -1)
        assert mine == pytest.approx(ndcg_score(y_true, y_score[None], k=10))


def test_coverage_and_novelty():
    recs = _recs({1: [1, 2], 2: [1, 3]})
    assert rc.coverage(recs, catalogue_size=10, k=2) == 0.3
    history = pd.DataFrame({"user_id": [1, 2, 3, 4], "product_id": [1, 1, 2, 3]})
    # item 1 bought by 2 of 4 users (1 bit), items 2 and 3 by 1 of 4 (2 bits)
    assert rc.novelty(recs, history, k=2) == pytest.approx((1 + 2 + 1 + 2) / 4)


@pytest.fixture(scope="module")
def split():
    return rc.next_order_split(data.load("instacart")).for_users(120, seed=1)


def test_the_temporal_split_leaks_nothing(split):
    lines = data.load("instacart")
    full = rc.next_order_split(lines)
    assert list(full.dropped.index) == [int(lines["user_id"].iloc[-1])]
    for name in ("validation", "test"):
        assert (full.target(name).groupby("user_id")["order_number"].nunique() == 1).all()
    last_train = full.train.groupby("user_id")["order_number"].max()
    val = full.validation.groupby("user_id")["order_number"].first()
    test = full.test.groupby("user_id")["order_number"].first()
    assert (last_train < val.reindex(last_train.index)).all() and (val < test.reindex(val.index)).all()
    kept = lines[~lines["user_id"].isin(full.dropped.index)]
    assert len(full.train) + len(full.validation) + len(full.test) == len(kept)
    assert len(split.users) == 120 and set(split.train["user_id"]) <= set(split.users)


def test_recommenders_stay_in_the_catalogue_without_duplicates(split):
    history = split.history("test")
    catalogue = set(history["product_id"])
    users = split.users[:40]
    for model in [
        rc.Popularity(),
        rc.BuyAgain(3.0),
        rc.ItemKNN(20),
        rc.ALS(factors=8, iterations=2),
        rc.BPR(factors=8, iterations=5),
    ]:
        model.fit(history)
        for exclude in (False, True):
            recs = model.recommend(users, 15, exclude_seen=exclude)
            assert set(recs["product_id"]) <= catalogue
            assert not recs.duplicated(["user_id", "product_id"]).any()
            assert (recs.groupby("user_id")["rank"].agg(list).map(lambda r: r == list(range(1, 16)))).all()
            if exclude:
                seen = set(zip(history["user_id"], history["product_id"]))
                assert not any(p in seen for p in zip(recs["user_id"], recs["product_id"]))


def test_buy_again_ranks_frequent_and_recent_items_first():
    lines = pd.DataFrame({"user_id": [1] * 6, "order_number": [1, 1, 2, 3, 3, 4], "product_id": [5, 6, 5, 5, 7, 7]})
    recs = rc.BuyAgain(half_life=1.0).fit(lines).recommend([1], 3)
    # weights: 5 -> 0.125 + 0.25 + 0.5 = 0.875; 7 -> 0.5 + 1 = 1.5; 6 -> 0.125
    assert recs["product_id"].tolist() == [7, 5, 6]


def test_factorisations_are_reproducible(split):
    history = split.history("validation")
    for make in (lambda: rc.ALS(factors=8, iterations=3, seed=4), lambda: rc.BPR(factors=8, iterations=10, seed=4)):
        a, b = make().fit(history), make().fit(history)
        np.testing.assert_array_equal(a.item_factors_, b.item_factors_)


def test_the_ranker_never_sees_the_test_order(split):
    ranker = rc.CandidateRanker(mf=rc.ALS(factors=8, iterations=2), training_orders=2, max_iter=20).fit(split)
    scrambled = rc.NextOrderSplit(
        split.train, split.validation, split.test.assign(product_id=split.test["product_id"] + 10**7), split.dropped
    )
    other = rc.CandidateRanker(mf=rc.ALS(factors=8, iterations=2), training_orders=2, max_iter=20).fit(scrambled)
    pd.testing.assert_frame_equal(ranker.train_candidates_, other.train_candidates_)
    recs = ranker.recommend(10)
    assert not recs.duplicated(["user_id", "product_id"]).any() and recs.groupby("user_id").size().max() == 10
    assert 0 < ranker.candidate_recall() <= 1
    # without the order's own timing: the model learns from the other features only
    blind = rc.CandidateRanker(
        mf=rc.ALS(factors=8, iterations=2),
        training_orders=2,
        max_iter=20,
        features=[f for f in rc.FEATURES if f not in rc.ORDER_TIME_FEATURES],
    ).fit(split)
    assert blind.model_.n_features_in_ == len(rc.FEATURES) - len(rc.ORDER_TIME_FEATURES)
    assert len(blind.recommend(10)) == len(recs)
    with pytest.raises(rc.RecommendError, match=r"features: \['days_since_order'\]"):
        rc.CandidateRanker(features=["days_since_order"])


def test_candidate_features_on_a_small_example():
    history = pd.DataFrame(
        {
            "user_id": [1] * 5,
            "order_number": [1, 1, 2, 3, 3],
            "product_id": [5, 6, 5, 5, 7],
            "days_since_prior_order": [np.nan, np.nan, 7.0, 3.0, 3.0],
            "add_to_cart_order": [1, 2, 1, 2, 1],
        }
    )
    target = pd.DataFrame({"user_id": [1], "order_number": [4], "product_id": [5], "days_since_prior_order": [10.0]})
    f = rc.candidate_features(history, target, new_per_user=0, mf=rc.ALS(factors=2, iterations=1).fit(history))
    f = f.set_index("product_id")
    assert f.loc[5, "times_bought"] == 3 and f.loc[5, "usual_gap"] == 1 and f.loc[5, "orders_since_last"] == 0
    assert f.loc[6, "days_since_last"] == 20 and f.loc[5, "days_since_last"] == 10
    assert f.loc[5, "label"] == 1 and f.loc[6, "label"] == 0 and f.loc[5, "cart_position"] == pytest.approx(4 / 3)


def test_tune_picks_the_best_setting(split):
    best, table = rc.tune(
        rc.BuyAgain, [{"half_life": 0.01}, {"half_life": 5.0}], split.history("validation"), split.validation, k=10
    )
    assert best == {"half_life": float(table.loc[table["ndcg"].idxmax(), "half_life"])} and len(table) == 2


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda m: m.recommend([1, 999999], 5), r"unknown user\(s\) \[999999\]"),
        (lambda m: m.recommend([1], 0), "k must be a whole number >= 1, got 0"),
        (lambda m: m.recommend([1], 2.5), "k must be a whole number"),
    ],
)
def test_bad_users_and_k_are_clear_errors(call, match):
    model = rc.Popularity().fit(pd.DataFrame({"user_id": [1, 2], "order_number": [1, 1], "product_id": [3, 4]}))
    with pytest.raises(rc.RecommendError, match=match):
        call(model)


def test_bad_lines_and_settings_are_clear_errors():
    with pytest.raises(rc.RecommendError, match=r"missing column\(s\) \['product_id'\]"):
        rc.next_order_split(pd.DataFrame({"user_id": [1], "order_number": [1]}))
    with pytest.raises(rc.RecommendError, match="half_life must be > 0"):
        rc.BuyAgain(0).fit(pd.DataFrame({"user_id": [1], "order_number": [1], "product_id": [3]}))
    with pytest.raises(rc.RecommendError, match="k must be a whole number >= 1, got 0"):
        rc.per_user(_recs({1: [1]}), {1: {1}}, k=0)
    with pytest.raises(rc.RecommendError, match="metric must be one of"):
        rc.compare(_recs({1: [1]}), _recs({1: [1]}), {1: {1}}, 1, metric="auc")


# -- part B: the linked world -----------------------------------------------------------------------

from retention_lib import world as wd  # noqa: E402


@pytest.fixture(scope="module")
def linked():
    reviews = data.load("reviews")
    w = wd.simulate(4000, seed=5, pool=wd.review_pool(reviews))
    catalogue = rc.item_catalogue(reviews, w.observed.reviews["clothing_id"].unique())
    return w, reviews, catalogue


def test_item_quality_is_the_shrunk_mean_rating(linked):
    w, reviews, catalogue = linked
    assert catalogue.index.is_unique and (catalogue["experience_shift"] == catalogue["quality"]).all()
    grand = reviews["rating"].mean()
    assert (np.sign(catalogue["quality"]) == np.sign(catalogue["mean_rating"] - grand)).all()
    assert (
        catalogue["quality"].abs() <= (catalogue["mean_rating"] - grand).abs() / reviews["rating"].std() + 1e-12
    ).all()
    few, many = catalogue[catalogue["real_reviews"] <= 2], catalogue[catalogue["real_reviews"] >= 200]
    assert few["quality"].abs().mean() < many["quality"].abs().mean()  # small samples shrink more
    doubled = rc.item_catalogue(reviews, catalogue.index, scale=2.0)
    np.testing.assert_allclose(doubled["experience_shift"], 2 * catalogue["quality"])
    with pytest.raises(rc.RecommendError, match="items without any real review"):
        rc.item_catalogue(reviews, [-5])
    with pytest.raises(rc.RecommendError, match="scale must be >= 0"):
        rc.item_catalogue(reviews, catalogue.index, scale=-1)


def test_item_readings_shrink_towards_the_mean():
    written = pd.DataFrame({"clothing_id": [1, 1, 1, 1, 2]})
    reading = pd.DataFrame({"p_negative": [1.0, 1.0, 1.0, 1.0, 0.0]})
    r = rc.item_readings(written, reading, prior_reviews=1.0)
    assert r[1] == pytest.approx((4 + 0.8) / 5) and r[2] == pytest.approx(0.8 / 2)
    with pytest.raises(rc.RecommendError, match="one row per review"):
        rc.item_readings(written, reading.iloc[:2])


def test_purchases_get_items_from_their_reviews_or_departments(linked):
    w, _, catalogue = linked
    lines = rc.purchases_with_items(w, catalogue, seed=1)
    assert len(lines) == len(w.truth.purchases) and set(lines["product_id"]) <= set(catalogue.index)
    pd.testing.assert_frame_equal(lines, rc.purchases_with_items(w, catalogue, seed=1))
    # every reviewed item is among the customer's purchases
    reviewed = set(zip(w.observed.reviews["customer_id"], w.observed.reviews["clothing_id"]))
    sold = set(zip(lines["user_id"], lines["product_id"]))
    assert len(reviewed - sold) == 0
    # drawn items come from the customer's two departments
    c = w.truth.customers
    dept = catalogue["department"].reindex(lines["product_id"]).to_numpy()
    own = (dept == c.loc[lines["user_id"], "department_1"].to_numpy()) | (
        dept == c.loc[lines["user_id"], "department_2"].to_numpy()
    )
    assert own.mean() > 0.95


def test_review_aware_reranking(linked):
    w, _, catalogue = linked
    lines = rc.purchases_with_items(w, catalogue, seed=1)
    users = np.sort(lines["user_id"].unique())[:50]
    base = rc.Popularity()
    plain = base.fit(lines).recommend(users, 5)
    same = rc.ReviewAware(base, pd.Series(0.0, index=catalogue.index), weight=3.0).fit(lines).recommend(users, 5)
    assert plain["product_id"].tolist() == same["product_id"].tolist()
    by_quality = rc.ReviewAware(base, -catalogue["quality"], weight=100.0).fit(lines).recommend(users[:1], 5)
    top = catalogue.loc[catalogue.index.isin(lines["product_id"]), "quality"].nlargest(5).index
    assert set(by_quality["product_id"]) == set(top)


def test_following_recommendations_uses_the_worlds_dropout(linked):
    w, reviews, _ = linked
    flat = rc.item_catalogue(reviews, w.observed.reviews["clothing_id"].unique(), scale=0.0)
    lines = rc.purchases_with_items(w, flat, seed=1)
    users = w.truth.customers.index.to_numpy()
    recs = rc.Popularity().fit(lines).recommend(users, 5)
    out = rc.follow_recommendations(w, {"a": recs, "b": recs}, flat, 5, seed=2)
    a, b = out[out["recommender"] == "a"], out[out["recommender"] == "b"]
    np.testing.assert_array_equal(a["retained"].to_numpy(), b["retained"].to_numpy())  # common random numbers
    # with items that make no difference, buying again is as likely as in the world's own holdout
    c = w.truth.customers
    world_rate = (c["purchases_none"] >= 2).sum() / (c["purchases_none"] >= 1).sum()
    se = np.sqrt(world_rate * (1 - world_rate) / len(a))
    assert abs(a["retained"].mean() - world_rate) < 4 * np.sqrt(2) * se
    assert len(a) == pytest.approx((c["purchases_none"] >= 1).sum(), rel=0.15)


def test_good_items_make_fewer_bad_experiences_and_keep_more_customers(linked):
    w, reviews, _ = linked
    uneven = rc.item_catalogue(reviews, w.observed.reviews["clothing_id"].unique(), scale=5.0)
    users = w.truth.customers.index.to_numpy()
    best, worst = uneven["quality"].nlargest(3).index, uneven["quality"].nsmallest(3).index
    lists = {
        name: pd.DataFrame(
            {
                "user_id": np.repeat(users, 3),
                "rank": np.tile([1, 2, 3], len(users)),
                "product_id": np.tile(items, len(users)),
            }
        )
        for name, items in [("best", best), ("worst", worst)]
    }
    out = rc.follow_recommendations(w, lists, uneven, 3, seed=0)
    table = rc.compare_following(out, "worst", n_resamples=200)
    assert table.loc["best", "bad vs worst"] < 0 and table.loc["best", "retained vs worst"] > 0
    assert table.loc["best", "retained low"] > 0
    with pytest.raises(rc.RecommendError, match="baseline 'nothing'"):
        rc.compare_following(out, "nothing")
    short = {"few": lists["best"][lists["best"]["rank"] == 1]}
    with pytest.raises(rc.RecommendError, match="fewer than 3 items"):
        rc.follow_recommendations(w, short, uneven, 3)


# -- sizes: fit complaints matched to the customer ---------------------------------------------------


@pytest.mark.parametrize(
    "text, small, large",
    [
        ("It runs small, so size up.", True, False),
        ("Runs a little snug in the hips.", True, False),
        ("Way too tight across the chest", True, False),
        ("I don't think this dress runs small at all.", False, False),
        ("No need to size up.", False, False),
        ("Runs large; I sized down and love it.", False, True),
        ("It is too baggy for me", False, True),
        ("True to size and so soft.", False, False),
        ("The top runs small but the skirt runs big.", True, True),
    ],
)
def test_the_fit_rule(text, small, large):
    said = rc.fit_mentions([text])
    assert (bool(said.loc[0, "small"]), bool(said.loc[0, "large"])) == (small, large)


def test_item_fit_is_the_shrunk_share_and_the_penalty_is_real():
    reviews = pd.DataFrame(
        {
            "clothing_id": [1] * 4 + [2] * 4 + [3] * 30,
            "text": ["runs small"] * 4 + ["runs large", "lovely", "lovely", "lovely"] + ["nice colour"] * 30,
            "rating": [2, 2, 3, 2, 3, 5, 5, 4] + [5, 4] * 15,
        }
    )
    with pytest.raises(rc.RecommendError, match="fewer than 10 rated reviews"):
        rc.item_fit(reviews, [1, 2])
    real = data.load("reviews")
    fit = rc.item_fit(real, real["clothing_id"].value_counts().index[:50])
    assert ((fit >= 0) & (fit <= 1)).all().all() and fit.attrs["penalty"] > 0
    said = rc.fit_mentions(rc.fit._texts(real[real["clothing_id"] == fit.index[0]]))
    n = len(said)
    overall = rc.fit_mentions(rc.fit._texts(real.dropna(subset=["clothing_id"])))["small"].mean()
    assert fit.iloc[0]["small"] == pytest.approx((said["small"].sum() + 5 * overall) / (n + 5))
    with pytest.raises(rc.RecommendError, match="items without any real review"):
        rc.item_fit(real, [-5])


def test_customer_fit_is_the_majority_of_what_they_wrote():
    written = pd.DataFrame({"customer_id": [1, 1, 1, 2, 2, 3], "clothing_id": [5, 6, 7, 5, 6, 7]})
    said = pd.DataFrame(
        {"small": [True, True, False, True, False, False], "large": [False, False, True, False, True, False]}
    )
    t = rc.customer_fit(written, said, [1, 2, 3, 4])
    assert t.tolist() == ["small", "", "", ""]
    shares = rc.item_fit_reading(written, said, prior_reviews=0.0)
    assert shares.loc[5, "small"] == 1.0 and shares.loc[6, "large"] == 0.5
    with pytest.raises(rc.RecommendError, match="one row per review"):
        rc.customer_fit(written, said.iloc[:2], [1])


def test_fit_aware_reranking_changes_only_customers_with_a_tendency(linked):
    w, _, catalogue = linked
    lines = rc.purchases_with_items(w, catalogue, seed=1)
    users = np.sort(lines["user_id"].unique())[:6]
    shares = pd.DataFrame({"small": np.linspace(0, 1, len(catalogue)), "large": 0.0}, index=catalogue.index)
    tendency = pd.Series(["small", "", "large", "", "", ""], index=users)
    zero = pd.Series(0.0, index=catalogue.index)
    plain = rc.ReviewAware(rc.Popularity(), zero).fit(lines).recommend(users, 5)
    fitted = (
        rc.FitAware(rc.Popularity(), zero, shares=shares, tendency=tendency, fit_weight=1e4)
        .fit(lines)
        .recommend(users, 5)
    )
    for u in users:
        a = plain.loc[plain["user_id"] == u, "product_id"].tolist()
        b = fitted.loc[fitted["user_id"] == u, "product_id"].tolist()
        assert (a != b) == (tendency[u] == "small")  # "large" shares are all equal here: nothing to change
    sold = catalogue.index[catalogue.index.isin(lines["product_id"])]
    top_small = fitted.loc[fitted["user_id"] == users[0], "product_id"]
    assert shares.loc[top_small, "small"].max() <= shares.loc[sold, "small"].nsmallest(5).max()
    with pytest.raises(rc.RecommendError, match="shares and tendency are required"):
        rc.FitAware(rc.Popularity(), zero).fit(lines)


def test_fit_misses_hit_only_customers_with_a_tendency(linked):
    w, reviews, catalogue = linked
    fit = rc.fit_world(w, reviews, catalogue.index, sensitivity=3.0)
    assert set(fit.tendency.unique()) <= {"small", "large", ""} and (fit.tendency != "").any()
    lines = rc.purchases_with_items(w, catalogue, seed=1)
    users = w.truth.customers.index.to_numpy()
    recs = rc.Popularity().fit(lines).recommend(users, 5)
    plain = rc.follow_recommendations(w, {"a": recs}, catalogue, 5, seed=2)
    none = rc.follow_recommendations(
        w,
        {"a": recs},
        catalogue,
        5,
        seed=2,
        fit=rc.FitWorld(fit.tendency, fit.shares, sensitivity=0.0, penalty=fit.penalty),
    )
    pd.testing.assert_frame_equal(plain, none.drop(columns=["tendency", "fit_miss"]))  # sensitivity 0: no sizes
    out = rc.follow_recommendations(w, {"a": recs}, catalogue, 5, seed=2, fit=fit)
    assert not out.loc[out["tendency"] == "", "fit_miss"].any() and out.loc[out["tendency"] != "", "fit_miss"].any()
    assert (out["experience"] <= plain["experience"] + 1e-12).all()
    assert (out.loc[out["fit_miss"], "experience"] < plain.loc[out["fit_miss"], "experience"]).all()
    p = fit.miss_probability(out["customer_id"], out["item"])
    sens = out["tendency"] != ""
    assert abs(out.loc[sens, "fit_miss"].mean() - p[sens].mean()) < 4 * np.sqrt(p[sens].mean() / sens.sum())
    with pytest.raises(rc.RecommendError, match="sensitivity and penalty must be >= 0"):
        rc.FitWorld(fit.tendency, fit.shares, sensitivity=-1.0, penalty=0.5)


def test_the_zero_shot_reader_reads_plain_fit_sentences(tmp_path):
    reader = rc.ZeroShotFit(cache=tmp_path / "e.parquet")
    said = reader(
        [
            "Love it. It runs small, order a size up!",
            "It was way too big for me.",
            "Beautiful colour and soft fabric.",
            "",
        ]
    )
    assert said["small"].tolist() == [True, False, False, False]
    assert said["large"].tolist() == [False, True, False, False]
    q = rc.reading_quality(said, rc.fit_mentions(["runs small", "too big", "nice", ""]))
    assert q.loc["small", "precision"] == 1.0 and q.loc["large", "recall"] == 1.0
    with pytest.raises(rc.RecommendError, match="prototypes"):
        rc.ZeroShotFit(prototypes={"small": ["x"]})


def test_true_quality_leaves_out_the_reviews_the_shop_reads(linked):
    w, reviews, catalogue = linked
    pool = wd.review_pool(reviews)
    outside = rc.item_catalogue(reviews, catalogue.index, pool=pool.index)
    assert (outside["real_reviews"] == catalogue["real_reviews"]).all()  # popularity counts every review
    n_out = reviews.loc[reviews.index.difference(pool.index)].dropna(subset=["rating"]).groupby("clothing_id").size()
    assert (outside["truth_reviews"] == n_out.reindex(outside.index).fillna(0)).all()
    # an item's truth moves when its pool reviews are left out, and one reviewed only in the pool gets the prior
    changed = outside["mean_rating"] != catalogue["mean_rating"]
    assert changed.mean() > 0.3
    assert (outside.loc[outside["truth_reviews"] == 0, "quality"] == 0).all()
    with pytest.raises(rc.RecommendError, match="no real review outside the pool"):
        rc.item_catalogue(reviews, catalogue.index, pool=reviews.index)


def test_following_depends_on_relevance_only_when_asked(linked):
    w, reviews, catalogue = linked
    lines = rc.purchases_with_items(w, catalogue, seed=1)
    users = w.truth.customers.index.to_numpy()
    c = w.truth.customers
    # a list of items from one department that few customers shop in, and the popular list
    dept_share = (c["department_1"].value_counts() + c["department_2"].value_counts()).fillna(0)
    rare = dept_share.idxmin()
    odd_items = catalogue[catalogue["department"].astype(str) == rare]["real_reviews"].nlargest(3).index
    odd = pd.DataFrame(
        {
            "user_id": np.repeat(users, 3),
            "rank": np.tile([1, 2, 3], len(users)),
            "product_id": np.tile(odd_items, len(users)),
        }
    )
    lists = {"popular": rc.Popularity().fit(lines).recommend(users, 3), "odd": odd}
    zero = rc.follow_recommendations(w, lists, catalogue, 3, seed=2, relevance=0.0)
    assert zero["took"].all()
    # 0 is the world as it was: these totals were computed with the code before relevance existed (8633c82)
    popular = zero[zero["recommender"] == "popular"]
    assert (len(popular), int(popular["item"].sum()), int(popular["retained"].sum()), int(popular["bad"].sum())) == (
        1087,
        1099810,
        556,
        39,
    )
    assert popular["experience"].sum() == pytest.approx(172.657609, abs=1e-5)
    full = rc.follow_recommendations(w, lists, catalogue, 3, seed=2, relevance=1.0)
    odd_rows = full[full["recommender"] == "odd"]
    own = (c.loc[odd_rows["customer_id"], ["department_1", "department_2"]].astype(str) == rare).any(axis=1).to_numpy()
    assert (odd_rows["took"].to_numpy() == own).all()  # only the customers of that department
    passed = odd_rows[~odd_rows["took"]]
    dept_bought = catalogue.loc[passed["item"], "department"].astype(str).to_numpy()
    mine = c.loc[passed["customer_id"], ["department_1", "department_2"]].astype(str).to_numpy()
    assert ((dept_bought == mine[:, 0]) | (dept_bought == mine[:, 1])).all()  # they buy their own kind of item
    # who buys, and what happens after, is the same under every list and setting (common random numbers)
    assert (full.groupby("recommender").size() == zero.groupby("recommender").size()).all()
    pd.testing.assert_frame_equal(rc.follow_recommendations(w, lists, catalogue, 3, seed=2), zero)  # the default is 0
    half = rc.follow_recommendations(w, lists, catalogue, 3, seed=2, relevance=0.5)
    irrelevant = ~half.loc[half["recommender"] == "odd", "took"]
    assert 0.3 < irrelevant.sum() / (~own).sum() < 0.7
    with pytest.raises(rc.RecommendError, match="relevance must be from 0 to 1"):
        rc.follow_recommendations(w, lists, catalogue, 3, relevance=2.0)


def test_replicated_following_repeats_the_chapter_in_other_worlds():
    reviews = data.load("reviews")
    pool = wd.review_pool(reviews)

    def words(texts):  # a crude, cheap reader: enough to check the plumbing, not a finding
        neg = pd.Series(list(texts)).str.contains("disappoint|return|cheap", case=False).astype(float)
        return pd.DataFrame({"p_negative": neg.to_numpy(), "negative": neg.to_numpy() > 0.5})

    def nothing(texts):
        return pd.DataFrame({"p_negative": np.zeros(len(list(texts))), "negative": False})

    settings = {"text_effect": 1.0}
    rep = rc.replicate_following(
        pool,
        reviews,
        {"words": words, "nothing": nothing},
        settings,
        3000,
        seeds=[1, 2],
        k=5,
        scale=4.0,
        weight=3.0,
        iterations=3,
    )
    assert list(rep.index) == [1, 2]
    assert set(rep.columns) == {
        "retained_als",
        "retained_words",
        "retained_nothing",
        "retained_truth",
        "words_minus_nothing",
    }
    assert np.allclose(rep["words_minus_nothing"], rep["retained_words"] - rep["retained_nothing"])
    assert (rep["retained_nothing"] == 0).all()  # a reading that says nothing leaves ALS's lists as they were
    assert (rep["retained_truth"] > 0).all()  # items that differ a lot: the oracle keeps more customers
    assert rep["retained_als"].nunique() == 2  # other worlds, other numbers
    again = rc.replicate_following(
        pool, reviews, {"words": words}, settings, 3000, seeds=[2], k=5, scale=4.0, weight=3.0, iterations=3
    )
    assert again.loc[2, "retained_words"] == rep.loc[2, "retained_words"]  # a world is its seed
    with pytest.raises(rc.RecommendError, match="at least one reader"):
        rc.replicate_following(pool, reviews, {}, settings, 3000, seeds=[1])
