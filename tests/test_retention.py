import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from retention_lib import data, retention
from retention_lib.base import metrics


def tx(rows):
    df = pd.DataFrame(rows, columns=["customer_id", "date", "quantity", "amount"])
    df["date"] = pd.to_datetime(df["date"])
    return df


# customer 1: first 2020-01-01, again 01-15 (twice that day), 02-12; holdout 03-04
# customer 2: one purchase 2020-01-29, nothing after
# customer 3: first purchase in the holdout only: not in the summary
TINY = tx(
    [
        (1, "2020-01-01", 1, 10.0),
        (1, "2020-01-15", 1, 5.0),
        (1, "2020-01-15", 2, 7.0),
        (1, "2020-02-12", 1, 20.0),
        (1, "2020-03-04", 1, 9.0),
        (2, "2020-01-29", 3, 30.0),
        (3, "2020-03-11", 1, 4.0),
    ]
)


def test_summary_by_hand():
    s = retention.calibration_holdout(TINY, "2020-02-26", "2020-03-25")
    assert list(s.index) == [1, 2]
    c1, c2 = s.loc[1], s.loc[2]
    # customer 1: purchase days 01-01, 01-15, 02-12 in calibration -> 2 repeats
    assert c1["frequency_cal"] == 2
    assert c1["recency_cal"] == pytest.approx(6.0)  # 01-01 -> 02-12 = 42 days
    assert c1["T_cal"] == pytest.approx(8.0)  # 01-01 -> 02-26 = 56 days
    assert c1["monetary_value_cal"] == pytest.approx((12.0 + 20.0) / 2)  # same-day orders summed
    assert c1["frequency_holdout"] == 1
    assert c1["orders_cal"] == 4 and c1["spend_cal"] == pytest.approx(42.0)
    assert c1["weeks_since_last"] == pytest.approx(2.0)
    assert c1["ipt_mean_weeks"] == pytest.approx(3.0)  # gaps of 2 and 4 weeks
    assert c1["ipt_std_weeks"] == pytest.approx(1.0)
    assert c1["first_spend"] == 10.0 and c1["last_spend"] == 20.0 and c1["spend_trend"] == 10.0
    assert c1["days_last_4w"] == 1 and c1["days_last_13w"] == 3
    assert c2["frequency_cal"] == 0 and c2["recency_cal"] == 0 and c2["monetary_value_cal"] == 0
    assert c2["T_cal"] == pytest.approx(4.0) and c2["frequency_holdout"] == 0
    assert s["duration_holdout"].iloc[0] == pytest.approx(4.0)


@pytest.mark.parametrize(
    "mutate,match",
    [
        (lambda d: d.iloc[0:0], "no rows"),
        (lambda d: d.assign(amount=-d["amount"]), "'amount': 7 negative"),
        (lambda d: pd.concat([d, tx([(9, "2021-01-01", 1, 1.0)])]), "1 purchase\\(s\\) after the observation end"),
        (lambda d: d.drop(columns="amount"), "missing column"),
        (lambda d: d.assign(date=d["date"].astype(str)), "must hold datetimes"),
    ],
)
def test_bad_input_gives_clear_errors(mutate, match):
    with pytest.raises(ValueError, match=match):
        retention.calibration_holdout(mutate(TINY), "2020-02-26", "2020-03-25")


def test_calibration_must_end_before_observation():
    with pytest.raises(ValueError, match="must be before"):
        retention.calibration_holdout(TINY, "2020-03-25", "2020-02-26")


@pytest.fixture(scope="module")
def sample_summary():
    return retention.calibration_holdout(data.load("cdnow_sample"), "1997-09-30", "1998-06-30")


def test_bgnbd_reproduces_the_published_parameters(sample_summary):
    """Fader, Hardie and Lee (2005): r 0.243, alpha 4.414, a 0.793, b 2.426 on the CDNOW sample."""
    assert len(sample_summary) == 2357
    assert sample_summary["frequency_holdout"].sum() == 1882
    m = retention.BGNBD(horizon=39.0).fit(sample_summary)
    got = {k: round(v, 3) for k, v in m.params_.items()}
    assert got == {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    assert m.log_likelihood_ == pytest.approx(-9582.43, abs=0.01)
    ce = m.expected_purchases(sample_summary)
    np.testing.assert_array_equal(
        ce,
        m.conditional_expected_purchases(
            39.0, sample_summary["frequency_cal"], sample_summary["recency_cal"], sample_summary["T_cal"]
        ),
    )
    proba = m.predict_proba(sample_summary)
    assert proba.shape == (2357, 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert np.corrcoef(ce, sample_summary["frequency_holdout"])[0, 1] == pytest.approx(0.626, abs=0.0015)


def test_bgnbd_quantities_are_consistent(sample_summary):
    m = retention.BGNBD(horizon=39.0).fit(sample_summary)
    x, tx_, T = (sample_summary[c] for c in ("frequency_cal", "recency_cal", "T_cal"))
    alive = m.p_alive(x, tx_, T)
    assert np.all((alive > 0) & (alive <= 1))
    assert np.all(alive[x == 0] == 1)  # no repeat purchase: never had a chance to drop out
    p_any = m.prob_any_purchase(39.0, x, tx_, T)
    ce = m.conditional_expected_purchases(39.0, x, tx_, T)
    assert np.all((p_any >= 0) & (p_any <= alive)) and np.all(ce >= p_any - 1e-9)
    # expected purchases of a new customer grow with the horizon and start at zero
    e = m.expected_purchases_new_customer([0.0, 10.0, 39.0, 78.0])
    assert e[0] == pytest.approx(0.0) and np.all(np.diff(e) > 0)


def test_prob_any_purchase_matches_a_monte_carlo_of_the_model():
    """Simulate the BG/NBD story for one customer history and compare P(any purchase)."""
    m = retention.BGNBD.from_params({"r": 0.8, "alpha": 5.0, "a": 0.9, "b": 2.5})
    rng = np.random.default_rng(0)
    n, T, t = 400_000, 20.0, 10.0
    lam = rng.gamma(0.8, 1 / 5.0, n)  # dropout (beta-distributed p) cannot happen before a first repeat
    # customers with x = 0 repeat purchases in (0, T]: first repeat would come after T
    first = rng.exponential(1 / lam)
    keep = first > T
    # among them, alive at T for sure (dropout only after a purchase): any purchase in (T, T+t]?
    nxt = T + rng.exponential(1 / lam[keep])
    mc = np.mean(nxt <= T + t)
    assert m.prob_any_purchase(t, 0, 0, T) == pytest.approx(mc, abs=0.004)


def test_bgnbd_rejects_an_impossible_summary():
    bad = pd.DataFrame({"frequency_cal": [0, 2], "recency_cal": [1.0, 5.0], "T_cal": [10.0, 4.0]})
    with pytest.raises(ValueError, match="recency"):
        retention.BGNBD().fit(bad)
    with pytest.raises(ValueError, match="missing column"):
        retention.BGNBD().fit(bad.drop(columns="T_cal"))
    good = pd.DataFrame({"frequency_cal": [0, 2], "recency_cal": [0.0, 3.0], "T_cal": [10.0, 4.0]})
    with pytest.raises(ValueError, match="set horizon"):
        retention.BGNBD.from_params({"r": 0.8, "alpha": 5.0, "a": 0.9, "b": 2.5}).predict_proba(good)


def test_expected_calibration_error_by_hand():
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.1, 0.9, 0.9])
    assert metrics.expected_calibration_error(y, p, n_bins=2) == pytest.approx(0.1)
    assert metrics.expected_calibration_error(y, np.array([0.0, 0.0, 1.0, 1.0]), n_bins=2) == 0.0
    with pytest.raises(ValueError, match="probabilities"):
        metrics.expected_calibration_error(y, p + 1)


def test_expected_calibration_error_agrees_with_sklearn_calibration_curve():
    from sklearn.calibration import calibration_curve

    rng = np.random.default_rng(3)
    p = rng.uniform(0, 1, 5000)
    y = (rng.uniform(0, 1, 5000) < p**1.5).astype(int)
    frac, mean_pred = calibration_curve(y, p, n_bins=10, strategy="uniform")
    counts = np.histogram(p, bins=np.linspace(0, 1, 11))[0]
    ref = np.sum(counts[counts > 0] / len(p) * np.abs(frac - mean_pred))
    assert metrics.expected_calibration_error(y, p, 10, "uniform") == pytest.approx(ref, rel=1e-9)


def test_gains_table_by_hand():
    g = metrics.gains_table([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1], n_groups=2)
    assert g["cumulative_capture"].tolist() == [0.5, 1.0]
    assert g["lift"].tolist() == [1.0, 1.0]


def test_paired_bootstrap_interval_contains_the_difference_and_excludes_zero_for_a_clear_gain():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 2000)
    good = y + rng.normal(0, 0.8, 2000)
    bad = y + rng.normal(0, 3.0, 2000)
    d = metrics.paired_bootstrap_diff(y, good, bad, roc_auc_score, n_resamples=200)
    assert d["low"] < d["difference"] < d["high"] and d["low"] > 0
    same = metrics.paired_bootstrap_diff(y, good, good, roc_auc_score, n_resamples=50)
    assert same["difference"] == 0 and same["low"] == 0 and same["high"] == 0


def test_evaluate_rejects_a_ranking_as_probability():
    with pytest.raises(ValueError, match="probability=False"):
        metrics.binary_metrics([0, 1], [0.5, 2.0])
    r = metrics.binary_metrics([0, 1, 0, 1], [0.1, 3.0, 0.2, 2.0], probability=False)
    assert r["roc_auc"] == 1.0 and np.isnan(r["log_loss"])
    t = metrics.evaluate_binary(
        [0, 1, 0, 1], {"p": [0.1, 0.9, 0.2, 0.6], "rank": [0.1, 3.0, 0.2, 2.0]}, rankings=["rank"]
    )
    assert list(t.columns) == list(metrics.BINARY_METRICS) and list(t.index) == ["p", "rank"]
    assert np.isnan(t.loc["rank", "brier"]) and t.loc["p", "brier"] == pytest.approx(np.mean([0.01, 0.01, 0.04, 0.16]))
    with pytest.raises(ValueError, match="rankings"):
        metrics.evaluate_binary([0, 1], {"p": [0.1, 0.9]}, rankings=["q"])


@pytest.fixture(scope="module")
def subsample():
    full = retention.calibration_holdout(data.load("cdnow"), "1997-09-30", "1998-06-30")
    return full.sample(1500, random_state=0)


@pytest.fixture(scope="module")
def oof(subsample):
    return retention.cross_validated_predictions(subsample, folds=3, seed=0, mlp_epochs=2)


@pytest.mark.slow
def test_cross_validated_predictions_on_a_subsample(subsample, oof):
    assert oof["fold"].between(0, 2).all() and len(oof) == 1500
    assert list(oof.columns) == [
        "y",
        "fold",
        "bgnbd_expected",
        "bgnbd_p",
        "lr_rfm",
        "lr_rich",
        "gb_rich",
        "mlp_rich",
        "lr_gb_rich",
    ]
    assert (oof["y"] == retention.retained(subsample)).all()
    probs = oof.drop(columns=["y", "fold", *retention.RANKINGS])
    assert ((probs >= 0) & (probs <= 1)).all().all()
    for col in probs:
        assert roc_auc_score(oof["y"], oof[col]) > 0.68, col


def test_extra_features_by_hand():
    e = retention.extra_features(TINY, "2020-02-26", [1, 2], block_weeks=2, n_blocks=3)
    assert list(e.index) == [1, 2]
    c1, c2 = e.loc[1], e.loc[2]
    assert c1["price_per_cd"] == pytest.approx(42.0 / 5)  # 5 CDs for 42 in calibration
    assert c1["days_first_13w"] == 2  # 01-15 and 02-12
    assert c1["weeks_to_second"] == pytest.approx(2.0)  # 01-01 -> 01-15
    # days before 02-26: 02-12 = 14 (block 1), 01-15 = 42 and 01-01 = 56 (block 3, clipped to 2)
    assert [c1[f"days_block_{k}"] for k in range(3)] == [0, 1, 2]
    assert c2["price_per_cd"] == pytest.approx(10.0) and c2["days_first_13w"] == 0
    assert c2["weeks_to_second"] == pytest.approx(4.0)  # no second purchase: weeks observed
    assert [c2[f"days_block_{k}"] for k in range(3)] == [0, 0, 1]


def test_extra_features_bad_input():
    with pytest.raises(ValueError, match="1 id\\(s\\) without a purchase on or before 2020-02-26, e.g. \\[3\\]"):
        retention.extra_features(TINY, "2020-02-26", [1, 3])
    with pytest.raises(ValueError, match="needs a 'quantity' column"):
        retention.extra_features(TINY.drop(columns="quantity"), "2020-02-26", [1])
    with pytest.raises(ValueError, match="block_weeks and n_blocks must be >= 1"):
        retention.extra_features(TINY, "2020-02-26", [1], block_weeks=0)


@pytest.mark.slow
def test_compare_feature_sets_uses_the_chapter_folds_and_sees_noise_as_noise(subsample, oof):
    y = oof["y"].to_numpy()
    noise = pd.DataFrame(np.random.default_rng(0).normal(size=(len(y), 3)), index=subsample.index)
    t = retention.compare_feature_sets({"rich": subsample[retention.FEATURES_RICH], "noise": noise}, y, folds=3, seed=0)
    assert list(t.columns) == ["features", "lr", "gb", "lr_gb"]
    assert t.loc["rich", "features"] == len(retention.FEATURES_RICH) and t.loc["noise", "features"] == 3
    # same folds and models as cross_validated_predictions: the same out-of-fold AUCs
    assert t.loc["rich", "lr"] == pytest.approx(roc_auc_score(y, oof["lr_rich"]), abs=1e-12)
    assert t.loc["rich", "lr_gb"] == pytest.approx(roc_auc_score(y, oof["lr_gb_rich"]), abs=1e-12)
    assert (t.loc["noise", ["lr", "gb"]] < 0.6).all()
    with pytest.raises(ValueError, match="feature set 'short': 10 rows, but y has 1500"):
        retention.compare_feature_sets({"short": noise.iloc[:10]}, y, folds=3, seed=0)


@pytest.mark.slow
def test_auc_learning_curve(subsample):
    curve = retention.auc_learning_curve(subsample, ["lr_rfm"], [300, 1000], folds=3, seed=0)
    assert list(curve["customers"]) == [300, 1000]
    assert list(curve.columns) == ["model", "customers", "training_auc", "validation_auc", "validation_auc_sd"]
    assert (curve["validation_auc"] > 0.68).all() and (curve["validation_auc_sd"] > 0).all()
    with pytest.raises(ValueError, match="unknown \\['LSTM'\\]"):
        retention.auc_learning_curve(subsample, ["LSTM"], [300], folds=3, seed=0)


def test_evaluate_by_group_by_hand():
    y = [0, 1, 0, 1, 1, 0, 1, 1]
    groups = pd.Categorical(["b", "b", "b", "a", "a", "a", "c", "c"], categories=["c", "b", "a"])
    score = [0.1, 0.9, 0.2, 0.3, 0.8, 0.5, 0.6, 0.7]
    t = metrics.evaluate_by_group(y, {"m": score, "rank": np.arange(8)}, groups, probabilities=["m"])
    assert list(t.index) == ["c", "b", "a"]  # the categories' order
    assert list(t.columns) == [
        ("customers", ""),
        ("observed_rate", ""),
        ("roc_auc", "m"),
        ("roc_auc", "rank"),
        ("mean_p", "m"),
    ]
    assert t.loc["b", ("roc_auc", "m")] == 1.0 and t.loc["a", ("roc_auc", "m")] == 0.5  # a: 0.3, 0.8 vs 0.5
    assert np.isnan(t.loc["c", ("roc_auc", "m")])  # one class only
    assert t.loc["a", ("mean_p", "m")] == pytest.approx(1.6 / 3)
    assert t.loc["b", ("observed_rate", "")] == pytest.approx(1 / 3)
    assert t[("customers", "")].tolist() == [2, 3, 3]
    with pytest.raises(ValueError, match="groups: 3 values, but y has 8"):
        metrics.evaluate_by_group(y, {"m": score}, ["a", "b", "c"])
    with pytest.raises(ValueError, match="score 'm': shape \\(2,\\), expected \\(8,\\)"):
        metrics.evaluate_by_group(y, {"m": [0.1, 0.2]}, groups)
    with pytest.raises(ValueError, match="probabilities"):
        metrics.evaluate_by_group(y, {"m": score}, groups, probabilities=["x"])


def test_retained_and_fold_sizes():
    s = retention.calibration_holdout(TINY, "2020-02-26", "2020-03-25")
    assert retention.retained(s).tolist() == [1, 0]
    with pytest.raises(ValueError, match="frequency_holdout"):
        retention.retained(s.drop(columns="frequency_holdout"))
    from sklearn.model_selection import StratifiedKFold

    y = np.r_[np.zeros(40), np.ones(63)]
    smallest = min(len(tr) for tr, _ in StratifiedKFold(5, shuffle=True, random_state=0).split(y, y))
    assert retention.smallest_training_fold(103, 5) == smallest == 82
    with pytest.raises(ValueError, match="folds"):
        retention.smallest_training_fold(3, 5)


def test_the_share_of_a_gain_has_a_paired_interval_or_none():
    rng = np.random.default_rng(0)
    n = 3000
    x, z = rng.normal(size=n), rng.normal(size=n)
    y = (x + z + rng.normal(size=n) > 0).astype(int)
    part, whole, base = x + 0.5 * z, x + z, x
    s = metrics.paired_bootstrap_share(y, part, whole, base, roc_auc_score, n_resamples=200, seed=3)
    by_hand = (roc_auc_score(y, part) - roc_auc_score(y, base)) / (roc_auc_score(y, whole) - roc_auc_score(y, base))
    assert s["share"] == pytest.approx(by_hand) and 0 < s["low"] < s["share"] < s["high"] < 1 and s["defined"] == 1
    assert metrics.paired_bootstrap_share(y, part, whole, base, roc_auc_score, n_resamples=200, seed=3) == s
    # the whole gain is nothing: no share can be stated, and the function says so instead of dividing by noise
    none = metrics.paired_bootstrap_share(y, part, base, base, roc_auc_score, n_resamples=50)
    assert np.isnan(none["share"]) and np.isnan(none["low"]) and none["defined"] == 0
