"""Retention strategy: budgets hold exactly, IPW recovers true policy values, the oracle's curve is the best."""

import numpy as np
import pandas as pd
import pytest

from retention_lib import data, world
from retention_lib import strategy as st
from retention_lib.strategy import learners, real, study


@pytest.fixture(scope="module")
def w():
    return world.simulate(30000, seed=7, pool=world.review_pool(data.load("reviews")), experiment_share=0.6)


def test_one_budget_rule_a_cap_and_never_a_gain_at_or_below_zero():
    ids = [10, 11, 12, 13]
    gains = pd.DataFrame({"discount": [1.0, -2.0, 0.5, 3.0], "recovery": [2.0, -1.0, 0.1, 0.0]}, index=ids)
    assert st.policy(gains, 4).tolist() == ["recovery", "none", "discount", "discount"]  # 11 gains nothing
    assert st.policy(gains, 1).tolist() == ["none", "none", "none", "discount"]  # the cap: highest first
    assert (st.policy(gains, 0) == "none").all()
    assert (st.policy(gains.assign(discount=0.0, recovery=0.0), 4) == "none").all()  # zero is not a gain
    # a rule with no predicted gain fills its budget, skipping customers it does not score
    score = pd.Series([0.3, 0.9, np.nan, 0.5], index=ids)
    arms = st.fill_budget(score, 2, "discount")
    assert list(arms[arms != "none"].index) == [11, 13]
    assert (st.fill_budget(score, 4, "recovery") != "none").sum() == 3
    assert st.assign(gains, 4).equals(st.policy(gains, 4)) and st.assign((score, "discount"), 2).equals(arms)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda g: st.policy(g, -1), "budget must be a whole number of offers from 0 to 4"),
        (lambda g: st.policy(g, 5), "from 0 to 4, got 5"),
        (lambda g: st.policy(g, 2.5), "whole number"),
        (lambda g: st.policy(g["discount"], 2), "for a rule that predicts no gain"),
        (lambda g: st.policy(g.rename(columns={"recovery": "none"}), 2), "'none' is the no-offer arm"),
        (lambda g: st.fill_budget(g["discount"], 9, "discount"), "from 0 to 4, got 9"),
    ],
)
def test_bad_parameters_are_clear_errors(call, match):
    gains = pd.DataFrame({"discount": [0.3, 0.9, 0.1, 0.5], "recovery": [0.0, 0.1, 0.2, 0.3]})
    with pytest.raises((ValueError, TypeError), match=match):
        call(gains)


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
    random = st.fill_budget(pd.Series(rng.random(len(exp)), index=exp.index), len(exp) // 3, "discount")
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


def test_expected_outcomes_average_the_luck_away(w):
    """The expected outcome under no offer is the mean of fresh draws from the same hidden state:
    0 for a customer gone at the cutoff, 1 - exp(-lambda * tau) for P(buy) of one alive."""
    e = world.expected_outcomes(w, draws=40, seed=0)
    c = w.truth.customers
    assert list(e.columns[:9]) == [f"{what}_{arm}" for what in ("p_buy", "spend", "profit") for arm in world.ARMS]
    # customers who buy without any offer gain nothing from being "won": only from buying more, or losing
    sure = e["p_buy_none"] == 1
    assert (e.loc[sure, [f"gain_{o}_won" for o in world.OFFERS]] == 0).all().all()
    # a customer gone at the cutoff who stays gone has nothing from extra purchases
    assert (e.loc[~c["alive_at_cutoff"], "gain_discount_more"] == 0).all()
    some = world.expected_outcomes(w, draws=40, seed=0, rows=[3, 1])
    assert list(some.index) == list(c.index[[3, 1]])
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
    from retention_lib.profiles import text_value as tv

    costs = st.OfferCosts.from_config(w.config)
    exp = st.experiment_frame(w.observed, costs).iloc[:3000]
    sets, y = tv.observed_sets(w.observed, {})
    X = sets["behaviour"]
    g = learners.cross_fit_gains(learners.ProfitEffects(seed=0), X, exp["arm"], exp["profit"], folds=2, seed=0)
    assert g.index.equals(exp.index) and g.notna().all().all() and list(g.columns) == ["discount", "recovery"]
    # a customer's own outcome does not move its own prediction
    i = exp.index[0]
    flipped = exp["profit"].copy()
    flipped[i] += 5000.0
    again = learners.cross_fit_gains(learners.ProfitEffects(seed=0), X, exp["arm"], flipped, folds=2, seed=0)
    assert again.loc[i].tolist() == pytest.approx(g.loc[i].tolist())
    p0 = st.risk_scores(tv.make_text_models(0)["lr"], X, y, tv.no_offer_customers(w.observed), 3, 0)
    assert p0.between(0, 1).all() and p0.index.equals(X.index)


def _planted(n: int, seed: int):
    """Three arms; profit heavy-tailed (lognormal spend); the discount adds 8 where x0 > 0 and costs 4
    elsewhere, the recovery adds 6 where x1 > 1 and costs 3 elsewhere."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=["x0", "x1", "x2"])
    arm = pd.Series(rng.choice(["none", "discount", "recovery"], n))
    effect = pd.DataFrame({"discount": np.where(X["x0"] > 0, 8.0, -4.0), "recovery": np.where(X["x1"] > 1, 6.0, -3.0)})
    base = rng.lognormal(2.0, 1.0, n) * (X["x2"] > -1)
    y = base + np.select([arm == "discount", arm == "recovery"], [effect["discount"], effect["recovery"]], 0.0)
    return X, arm, pd.Series(y), effect


def test_dr_effects_are_unbiased_on_a_planted_effect():
    """Over five experiments, the DR learner's mean predicted effect of each offer is the planted mean
    effect, and it finds where each offer works."""
    means = []
    for seed in range(5):
        X, arm, y, effect = _planted(6000, seed)
        g = learners.ProfitEffects(seed=seed).fit(X, arm, y).gains(X)
        means.append(g.mean() - effect.mean())
        assert g["discount"][X["x0"] > 0.5].mean() > g["discount"][X["x0"] < -0.5].mean() + 6
    bias = pd.DataFrame(means)
    assert (bias.mean().abs() < 3 * bias.std(ddof=1) / np.sqrt(5) + 0.3).all(), bias
    X, arm, y, effect = _planted(6000, 0)
    with pytest.raises(ValueError, match="the control arm 'none' is missing"):
        learners.ProfitEffects().fit(X, arm.replace({"none": "discount"}), y)
    with pytest.raises(ValueError, match="2 experiment customer\\(s\\) have no features"):
        learners.ProfitEffects().fit(X.iloc[2:], arm, y)


def test_the_policy_tree_and_the_checks_find_a_planted_effect():
    X, arm, y, effect = _planted(8000, 1)
    tree = learners.PolicyTree(max_depth=2, seed=0).fit(X, arm, y)
    arms = st.policy(tree.gains(X), len(X))
    assert (arms[X["x0"] > 0.5] == "discount").mean() > 0.8 and (
        arms[(X["x0"] < -0.5) & (X["x1"] < 0)] == "none"
    ).mean() > 0.8
    train = X.index[: len(X) // 2]
    fitted = learners.ProfitEffects(seed=0).fit(X.loc[train], arm[train], y[train])
    check = learners.check_effects(fitted, X, arm, y, held_out=X.index[len(X) // 2 :], n_bootstrap=50)
    assert check["qini"].set_index("offer").loc["discount", "p-value"] < 0.01
    cal = check["calibration"].query("offer == 'discount'")
    assert cal["estimated"].iloc[-1] > cal["estimated"].iloc[0]  # the top group gains more than the bottom


def test_the_learned_policy_on_a_real_shaped_experiment_beats_the_best_single_arm_where_it_should():
    X, arm, y, _ = _planted(9000, 2)
    out = real.cross_fit_policy_value(X, arm, y, "none", folds=2, repeats=1, seed=0)
    assert out.loc[0, "low"] > 0 and 0.3 < out.loc[0, "share targeted"] < 0.9
    hill = data.load("hillstrom").sample(3000, random_state=0)
    hX, harm, hy = real.hillstrom_experiment(hill)
    assert len(hX) == 3000 and set(harm) == {"No E-Mail", "Mens E-Mail", "Womens E-Mail"} and hX.notna().all().all()
    with pytest.raises(ValueError, match="spend"):
        real.hillstrom_experiment(hill.drop(columns="spend"))


def test_the_size_study_values_every_rule_against_the_oracle():
    pool = world.review_pool(data.load("reviews"))

    def read(texts):  # a stub reader: every third review reads negative
        neg = np.arange(len(texts)) % 3 == 0
        return pd.DataFrame({"p_negative": np.where(neg, 0.9, 0.1), "negative": neg})

    sw = study.study_world(3, 1500, 2000, pool, read, {}, draws=5)
    assert len(sw.eval_ids) == 2000 and sw.pool_ids.intersection(sw.eval_ids).empty
    assert sw.text_score.notna().any() and not sw.oracle.equals(study.true_gains(sw.expected))  # independent draws
    # experiments are nested, arms included, and balanced at every size
    small, large = study._experiment(sw, 200), study._experiment(sw, 500)
    assert large.iloc[:600].equals(small) and (small["arm"].value_counts() == 200).all()
    dr = {"DR, behaviour": ("behaviour", learners.ProfitEffects)}
    out = study.size_study([sw], [200, 500], 0.2, seed=0, learners=dr)
    v = out[out["policy"] != "text rule (IPW on the experiment)"].pivot_table(
        index="policy", columns="per_arm", values="value"
    )
    assert set(v.index) == {"random", "risk", "text rule", "DR, behaviour", "best from features", "oracle"}
    assert v.loc["text rule"].iloc[0] != 0.0  # the text rule sends offers
    ipw_rows = out[out["policy"] == "text rule (IPW on the experiment)"]
    assert (ipw_rows["low"] < ipw_rows["value"]).all() and (ipw_rows["value"] < ipw_rows["high"]).all()
    sources = st.value_by_source(st.policy(sw.oracle, 400), sw.expected)
    assert sources.sum() == pytest.approx(v.loc["oracle"].iloc[0])
    sweep = study.exploration_sweep([sw], [0.1, 0.3], 0.2, seed=0)
    assert (sweep["experiment"] < 0).all() and np.allclose(sweep["total"], sweep["experiment"] + sweep["targeting"])
    assert sweep.set_index("share").loc[0.3, "offers left"] == 0  # the experiment's offers spend the budget
    with pytest.raises(ValueError, match="per_arm: 600 per arm needs 1800 customers; the pool has 1500"):
        study.size_study([sw], [600], 0.2, seed=0)
    with pytest.raises(ValueError, match="between 0 and 1"):
        study.exploration_sweep([sw], [0.0], 0.2, seed=0)


def test_ipw_refuses_what_it_cannot_value():
    exp = pd.DataFrame({"arm": ["none", "discount", "none", "discount"], "profit": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(ValueError, match=r"\['discont'\] not tested in the experiment"):
        st.ipw_value(pd.Series(["discont", "none", "none", "none"]), exp)
    with pytest.raises(ValueError, match="control: 'No E-Mail' is not an arm of the experiment"):
        st.ipw_value(pd.Series(["none"] * 4), exp, control="No E-Mail")
    with pytest.raises(ValueError, match=r"1 customer\(s\) are not in the experiment"):
        st.ipw_value(pd.Series(["none"] * 5), exp)
    with pytest.raises(ValueError, match=r"no outcome for \['discont'\]"):
        st.true_value(pd.Series(["discont"]), pd.DataFrame({"profit_none": [1.0], "profit_discount": [2.0]}))
    with pytest.raises(ValueError, match="no predicted gain for any offer"):
        st.policy(pd.DataFrame({"discount": [np.nan, 1.0]}), 1)
    with pytest.raises(ValueError, match="folds: expected a whole number of at least 2"):
        learners.cross_fit_gains(
            learners.ProfitEffects(), pd.DataFrame({"x": [1.0]}), exp["arm"], exp["profit"], folds=1
        )
