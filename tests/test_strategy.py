"""Retention strategy: budgets hold exactly, IPW recovers true policy values, the oracle's curve is the best."""

import numpy as np
import pandas as pd
import pytest

from retention_lib import data, world
from retention_lib import strategy as st


@pytest.fixture(scope="module")
def w():
    return world.simulate(30000, seed=7, pool=world.review_pool(data.load("reviews")), experiment_share=0.6)


def test_budgets_hold_exactly():
    scores = pd.Series([0.3, 0.9, 0.1, 0.5], index=[10, 11, 12, 13])
    arms = st.policy(scores, 2, "discount")
    assert (arms == "discount").sum() == 2 and list(arms[arms != "none"].index) == [11, 13]
    gains = pd.DataFrame({"discount": [1.0, -2.0, 0.5, 3.0], "recovery": [2.0, -1.0, 0.1, 0.0]}, index=scores.index)
    best = st.policy(gains, 3)
    assert best.tolist() == ["recovery", "none", "discount", "discount"]  # 11 has no positive gain
    assert (st.policy(gains, 1) != "none").sum() == 1 and st.policy(gains, 1)[13] == "discount"
    assert (st.policy(scores, 0, "recovery") == "none").all()


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda s: st.policy(s, -1, "discount"), "budget must be a whole number of offers from 0 to 4"),
        (lambda s: st.policy(s, 5, "discount"), "from 0 to 4, got 5"),
        (lambda s: st.policy(s, 2.5, "discount"), "whole number"),
        (lambda s: st.policy(s, 2, "voucher"), "offer must be one of \\['discount', 'recovery'\\], got 'voucher'"),
        (lambda s: st.policy(s, 2), "name the offer"),
        (lambda s: st.policy(pd.DataFrame({"coupon": s}), 2), "got 'coupon'"),
    ],
)
def test_bad_parameters_are_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call(pd.Series([0.3, 0.9, 0.1, 0.5]))


def test_the_experiment_frame_is_the_truth_of_the_arm_received(w):
    costs = st.OfferCosts.from_config(w.config)
    exp = st.experiment_frame(w.observed, costs)
    c = w.truth.customers
    for arm in ("none", "discount", "recovery"):
        got = exp[exp["arm"] == arm]
        np.testing.assert_allclose(got["profit"], c.loc[got.index, f"profit_{arm}"], rtol=1e-9, atol=1e-9)


def test_ipw_is_unbiased_and_its_interval_covers_over_many_experiments(w):
    """200 experiments in the same world, each on 3,000 fresh customers with fresh luck and a fresh
    randomisation (world.replay_outcomes): the IPW estimate of a policy's incremental profit averages to
    the population's true value, and its 95 % interval covers that value about 95 % of the time."""
    c = w.truth.customers
    expected = world.expected_outcomes(w, draws=40, seed=11)
    rule = np.where(c["price_sensitivity"] > c["price_sensitivity"].quantile(0.6), "discount", "none")
    rule = np.where(c["last_bad"] & (rule == "none"), "recovery", rule)
    value = {a: expected[f"profit_{a}"].to_numpy() for a in world.ARMS}
    truth = float(np.mean(np.select([rule == a for a in world.ARMS], [value[a] for a in world.ARMS]) - value["none"]))
    rng = np.random.default_rng(5)
    estimates, covered, widths = [], 0, []
    for r in range(200):
        rows = rng.choice(len(c), 3000, replace=False)
        arm = rng.permutation(np.arange(3000) % 3)
        out = world.replay_outcomes(w, rows, seed=r)
        profit = np.choose(arm, [out[a]["profit"] for a in world.ARMS])
        exp = pd.DataFrame({"arm": np.array(world.ARMS)[arm], "profit": profit})
        est = st.ipw_value(pd.Series(rule[rows]), exp)
        estimates.append(est["value"])
        covered += est["low"] <= truth <= est["high"]
        widths.append(est["high"] - est["low"])
    estimates = np.array(estimates)
    se_of_mean = estimates.std(ddof=1) / np.sqrt(len(estimates))
    assert abs(estimates.mean() - truth) < 3.5 * se_of_mean, (estimates.mean(), truth, se_of_mean)
    assert 0.89 <= covered / 200 <= 0.99, covered
    # the interval's width matches the estimates' spread (a valid interval, not a wide one)
    assert np.mean(widths) / 3.92 == pytest.approx(estimates.std(ddof=1), rel=0.2)


def test_ipw_difference_is_the_difference_of_values_on_the_same_customers(w):
    costs = st.OfferCosts.from_config(w.config)
    exp = st.experiment_frame(w.observed, costs)
    c = w.truth.customers
    rng = np.random.default_rng(0)
    random = st.policy(pd.Series(rng.random(len(exp)), index=exp.index), len(exp) // 3, "discount")
    oracle = st.policy(
        pd.DataFrame({o: c.loc[exp.index, f"profit_{o}"] - c.loc[exp.index, "profit_none"] for o in world.OFFERS}),
        len(exp) // 5,
    )
    d = st.ipw_difference(oracle, random, exp)
    assert d["low"] > 0 and d["difference"] == pytest.approx(
        st.ipw_value(oracle, exp)["value"] - st.ipw_value(random, exp)["value"]
    )


def test_the_oracle_curve_is_the_highest(w):
    c = w.truth.customers
    effect = (c["purchases_discount"] > 0).astype(int) - (c["purchases_none"] > 0).astype(int)
    oracle = st.true_gain_curve(effect, effect)
    rng = np.random.default_rng(1)
    for score in (rng.random(len(c)), c["price_sensitivity"], -c["satisfaction"]):
        other = st.true_gain_curve(score, effect)
        assert (oracle["gain"].to_numpy() >= other["gain"].to_numpy() - 1e-12).all()
    assert oracle["gain"].iloc[-1] == pytest.approx(effect.mean())
    kinds = st.customer_kinds(c, "discount")
    assert kinds.value_counts(normalize=True)["persuadable"] == pytest.approx((effect == 1).mean())


def test_uplift_models_find_a_strong_planted_effect():
    rng = np.random.default_rng(3)
    n = 6000
    X = rng.normal(size=(n, 3))
    t = rng.integers(0, 2, n)
    base = 1 / (1 + np.exp(-(X[:, 1] - 0.5)))
    lift = np.where(X[:, 0] > 0, 0.3, 0.0)  # the offer works only when x0 > 0
    y = (rng.random(n) < np.clip(base + t * lift, 0, 1)).astype(int)
    for key, model in st.make_uplift_models(0).items():
        up = model.fit(X, y, t).predict(X)
        assert up[X[:, 0] > 0].mean() > up[X[:, 0] <= 0].mean() + 0.1, key
    with pytest.raises(ValueError, match="both treated and control"):
        st.XLearner(st.make_uplift_models(0)["t_learner"].estimator_ctrl, None).fit(X, y, np.ones(n))


def test_the_x_learner_is_the_x_learner_not_a_t_learner():
    """Against its definition (Kunzel et al. 2019), rebuilt here from scikit-learn models fitted by hand:
    imputed effects y - mu0(x) for the treated and mu1(x) - y for the controls, a regression of each, and
    their propensity-weighted mix. A T-learner (mu1 - mu0) gives other numbers, and fails."""
    from sklearn.linear_model import LinearRegression, LogisticRegression

    rng = np.random.default_rng(8)
    n = 4000
    X = rng.normal(size=(n, 3))
    t = rng.random(n) < 0.2  # unbalanced, where the two learners differ most
    y = (rng.random(n) < 1 / (1 + np.exp(-(X[:, 0] + t * (0.5 + X[:, 1]))))).astype(int)
    xl = st.XLearner(LogisticRegression(C=1.0), LinearRegression()).fit(X, y, t)
    mu0 = LogisticRegression(C=1.0).fit(X[~t], y[~t])
    mu1 = LogisticRegression(C=1.0).fit(X[t], y[t])
    tau1 = LinearRegression().fit(X[t], y[t] - mu0.predict_proba(X[t])[:, 1])
    tau0 = LinearRegression().fit(X[~t], mu1.predict_proba(X[~t])[:, 1] - y[~t])
    g = t.mean()
    np.testing.assert_allclose(xl.predict(X), g * tau0.predict(X) + (1 - g) * tau1.predict(X), atol=1e-10)
    t_learner = mu1.predict_proba(X)[:, 1] - mu0.predict_proba(X)[:, 1]
    assert np.abs(xl.predict(X) - t_learner).mean() > 0.005


def test_the_x_learner_follows_scikit_learns_estimator_contract():
    """scikit-learn's own checks of an estimator's API (get_params, set_params, clone) on the X-learner."""
    from sklearn.base import clone
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.utils.estimator_checks import check_get_params_invariance, check_set_params

    xl = st.XLearner(LogisticRegression(), LinearRegression())
    check_get_params_invariance("XLearner", xl)
    check_set_params("XLearner", xl)
    twin = clone(xl).set_params(outcome_model__C=0.5)
    assert twin.outcome_model.C == 0.5 and xl.outcome_model.C == 1.0


def test_expected_gain_counts_the_discount_paid_by_customers_who_buy_anyway():
    costs = st.OfferCosts(discount_rate=0.2, discount_contact_cost=0.5, recovery_contact_cost=3.0)
    # no uplift, a sure buyer worth 100: the discount only costs 20 + 0.5
    assert st.expected_gain([0.0], [1.0], [100.0], "discount", costs)[0] == pytest.approx(-20.5)
    assert st.expected_gain([0.1], [0.4], [50.0], "recovery", costs)[0] == pytest.approx(5.0 - 3.0)


def test_expected_outcomes_average_the_luck_away(w):
    """The expected outcome under no offer is the mean of fresh draws from the same hidden state:
    0 for a customer gone at the cutoff, 1 - exp(-lambda * tau) for P(buy) of one alive."""
    e = world.expected_outcomes(w, draws=40, seed=0)
    c = w.truth.customers
    assert list(e.columns) == [f"{what}_{arm}" for what in ("p_buy", "spend", "profit") for arm in world.ARMS]
    gone = ~c["alive_at_cutoff"]
    assert (e.loc[gone, "p_buy_none"] == 0).all() and (e.loc[gone, "profit_none"] == 0).all()
    alive = c["alive_at_cutoff"]
    exact = 1 - np.exp(-c.loc[alive, "purchase_rate"] * w.config.holdout_weeks)
    err = (e.loc[alive, "p_buy_none"] - exact).mean()
    assert abs(err) < 0.01  # unbiased: the mean error is far below one draw's noise
    # the realised outcomes are one draw of the same distribution
    assert (c["purchases_none"] > 0).mean() == pytest.approx(e["p_buy_none"].mean(), abs=0.01)
    with pytest.raises(ValueError, match="draws"):
        world.expected_outcomes(w, draws=0)


def test_cross_fitting_and_risk_scores_never_score_a_customer_with_a_model_that_saw_it(w):
    from retention_lib import retention
    from retention_lib.profiles import text_value as tv

    costs = st.OfferCosts.from_config(w.config)
    exp = st.experiment_frame(w.observed, costs)
    sets, y = tv.observed_sets(w.observed, {})
    X = sets["behaviour"]
    up = st.cross_fit_uplift(st.make_uplift_models(0)["t_learner"], X, exp, "discount", folds=2, seed=0)
    assert up.index.equals(exp.index) and up.notna().all()
    # a customer's own outcome does not move its own prediction
    flipped = exp.copy()
    i = exp.index[0]
    flipped.loc[i, "bought"] = 1 - flipped.loc[i, "bought"]
    again = st.cross_fit_uplift(st.make_uplift_models(0)["t_learner"], X, flipped, "discount", folds=2, seed=0)
    assert again[i] == pytest.approx(up[i])
    p0 = st.risk_scores(
        st.make_uplift_models(0)["t_learner"].estimator_ctrl, X, y, tv.no_offer_customers(w.observed), 3, 0
    )
    assert p0.between(0, 1).all() and p0.index.equals(X.index)
    summary = retention.calibration_holdout(w.observed.purchases, w.observed.cutoff, w.observed.end)
    value = st.customer_value(summary, w.observed.purchases, w.observed.cutoff, 39.0)
    assert (value.dropna() > 0).all()
    q = st.qini_area(exp["bought"], up, (exp["arm"] == "discount").astype(int))
    assert -1 < q < 1
