"""A/B tests: intervals cover by simulation, the design gives its power, the sequential test holds alpha
under peeking, SRM flags a broken split, CUPED agrees with regression, and bad input is a clear error."""

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT
from scipy import stats

from retention_lib import data, world
from retention_lib import experiments as ex

ALPHA = 0.05


def _within(rate, target, draws, sds=3.5):
    """``rate`` over ``draws`` simulated tests is within ``sds`` Monte Carlo standard errors of ``target``."""
    return abs(rate - target) <= sds * np.sqrt(target * (1 - target) / draws)


def test_proportion_intervals_cover_about_95_percent():
    rng = np.random.default_rng(1)
    draws, n, p_c, p_t = 4000, 800, 0.25, 0.28
    st_, sc = rng.binomial(n, p_t, draws), rng.binomial(n, p_c, draws)
    r = ex.compare_proportions(st_, n, sc, n)
    for method in ("wald", "newcombe"):
        cover = ((r[f"{method}_low"] <= p_t - p_c) & (p_t - p_c <= r[f"{method}_high"])).mean()
        assert _within(cover, 0.95, draws), (method, cover)
    lift = ex.relative_lift(r["p_t"], r["p_t"] * (1 - r["p_t"]), n, r["p_c"], r["p_c"] * (1 - r["p_c"]), n)
    cover = ((lift["low"] <= p_t / p_c - 1) & (p_t / p_c - 1 <= lift["high"])).mean()
    assert _within(cover, 0.95, draws), cover
    # the rejection rate under no effect is alpha
    null = ex.compare_proportions(rng.binomial(n, p_c, draws), n, sc, n)
    assert _within((null["p_value"] < ALPHA).mean(), ALPHA, draws)


def test_delta_method_lift_agrees_with_the_log_ratio_interval_in_large_samples():
    from statsmodels.stats.proportion import confint_proportions_2indep

    n, ct, cc = 20000, 5600, 5000
    mine = ex.relative_lift(ct / n, ct / n * (1 - ct / n), n, cc / n, cc / n * (1 - cc / n), n)
    low, high = confint_proportions_2indep(ct, n, cc, n, compare="ratio", method="log")
    assert mine["lift"] == pytest.approx(0.12)
    assert mine["low"] == pytest.approx(low - 1, abs=2e-3) and mine["high"] == pytest.approx(high - 1, abs=2e-3)


def test_welch_and_cuped_cover_on_skewed_spend_and_cuped_removes_the_predicted_variance():
    rng = np.random.default_rng(2)
    draws, n, effect = 600, 600, 3.0
    cover_w = cover_c = 0
    reductions, widths = [], []
    treated = np.r_[np.ones(n, bool), np.zeros(n, bool)]
    for _ in range(draws):
        pre = rng.lognormal(3, 0.8, 2 * n)  # spend before the test
        y = 0.6 * pre * rng.binomial(1, 0.4, 2 * n) + rng.exponential(10, 2 * n) + effect * treated
        w, c = ex.welch(y, treated), ex.cuped(y, pre, treated)
        cover_w += w["low"] <= effect <= w["high"]
        cover_c += c["low"] <= effect <= c["high"]
        reductions.append(c["variance_reduction"] - np.corrcoef(y, pre)[0, 1] ** 2)
        widths.append((c["high"] - c["low"]) / (w["high"] - w["low"]))
    assert _within(cover_w / draws, 0.95, draws) and _within(cover_c / draws, 0.95, draws)
    assert abs(np.mean(reductions)) < 0.01  # variance removed = corr(x, y)^2
    assert np.mean(widths) < 0.95


def test_welch_matches_scipy_and_cuped_matches_regression_on_the_covariate():
    import statsmodels.api as sm

    rng = np.random.default_rng(3)
    n = 3000
    t = rng.integers(0, 2, n).astype(bool)
    x = rng.normal(50, 10, n)
    y = 0.8 * x + 2.0 * t + rng.normal(0, 5, n)
    w = ex.welch(y, t)
    ref = stats.ttest_ind(y[t], y[~t], equal_var=False)
    assert w["p_value"] == pytest.approx(ref.pvalue) and w["diff"] == pytest.approx(y[t].mean() - y[~t].mean())
    c = ex.cuped(y, x, t)
    ols = sm.OLS(y, sm.add_constant(np.c_[t.astype(float), x - x.mean()])).fit(cov_type="HC1")
    assert c["diff"] == pytest.approx(ols.params[1], abs=0.1 * ols.bse[1])
    assert c["high"] - c["low"] == pytest.approx(2 * 1.96 * ols.bse[1], rel=0.05)


def test_the_designed_sample_size_gives_the_power_by_simulation():
    p0, effect = 0.3, 0.04
    n = ex.sample_size_proportions(p0, effect, ALPHA, 0.8)
    assert ex.power_proportions(p0, effect, n, ALPHA) >= 0.8 > ex.power_proportions(p0, effect, n - 50, ALPHA)
    rng = np.random.default_rng(4)
    draws = 4000
    r = ex.compare_proportions(rng.binomial(n, p0 + effect, draws), n, rng.binomial(n, p0, draws), n)
    assert _within((r["p_value"] < ALPHA).mean(), 0.8, draws)
    mde = ex.mde_proportions(p0, n, ALPHA, 0.8)
    assert ex.power_proportions(p0, mde, n, ALPHA) == pytest.approx(0.8, abs=1e-4) and mde <= effect


def test_means_design_agrees_with_the_textbook_formula():
    sd, effect = 30.0, 2.0
    n = ex.sample_size_means(sd, effect)
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    assert n == pytest.approx(2 * (z * sd / effect) ** 2, rel=0.01)
    assert ex.mde_means(sd, n) == pytest.approx(effect, rel=0.01)


def test_srm_flags_a_52_48_split_of_10000_and_not_a_fair_one():
    assert ex.srm_check({"treatment": 5200, "control": 4800})["mismatch"]
    assert not ex.srm_check({"treatment": 5000, "control": 5000})["mismatch"]
    assert not ex.srm_check({"treatment": 5060, "control": 4940})["mismatch"]  # within chance at p < 0.001
    assert not ex.srm_check([6000, 4000], expected_shares=[0.6, 0.4])["mismatch"]
    # a fair split is flagged about alpha of the time
    rng = np.random.default_rng(5)
    flags = np.mean(
        [ex.srm_check(list(rng.multinomial(10000, [0.5, 0.5])), alpha=0.05)["mismatch"] for _ in range(2000)]
    )
    assert _within(flags, 0.05, 2000)


def _null_tests(tests, n, rng):
    y = rng.binomial(1, 0.3, (tests, n)).astype(float)
    t = rng.permuted(np.tile(np.arange(n) % 2, (tests, 1)), axis=1)
    return y, t


def test_peeking_inflates_the_naive_test_and_the_always_valid_test_holds_alpha():
    rng = np.random.default_rng(6)
    tests, n = 3000, 4000
    y, t = _null_tests(tests, n, rng)
    at = ex.look_positions(n, 20)
    naive = ex.rejections_by_look(ex.naive_pvalues(y, t, at), ALPHA)
    valid = ex.rejections_by_look(ex.always_valid_pvalues(y, t, at, phi=ex.savvi_phi(0.46, 0.03)), ALPHA)
    assert _within(naive[0], ALPHA, tests)  # one look: the test's level
    assert naive[-1] > 2 * ALPHA  # twenty looks: far above it
    assert valid[-1] <= ALPHA + 3 * np.sqrt(ALPHA * (1 - ALPHA) / tests)
    assert np.all(np.diff(valid) >= 0)


def test_the_bayes_factor_is_savvis():
    """The closed form of the anytime-valid test's Bayes factor equals savvi's (0.3.1), over a grid."""
    from savvi.linear_regression import log_bf

    rng = np.random.default_rng(3)
    t2, z2 = rng.exponential(4.0, 500), rng.uniform(1.0, 5000.0, 500)
    for nu in (3, 40, 2000):
        for phi in (0.5, 4.0, 300.0):
            np.testing.assert_allclose(ex.log_bayes_factor(t2, nu, phi, z2), log_bf(t2, nu, phi, z2), rtol=1e-10)
    assert "savvi" not in (ROOT / "pyproject.toml").read_text().split("[project.optional-dependencies]")[0]


def test_always_valid_pvalues_match_savvi_fed_one_customer_at_a_time():
    from savvi.linear_regression import LinearRegression

    rng = np.random.default_rng(7)
    n = 300
    t = rng.integers(0, 2, n)
    y = rng.normal(0, 1, n) + 0.3 * t
    model, ref = LinearRegression(alpha=ALPHA, p=2, phi=4.0), []
    for i in range(n):
        model.update(np.array([y[i], 1.0, t[i]]))
        model.infer()
        ref.append(model.p_value[1])
    mine = ex.always_valid_pvalues(y[None], t[None], np.arange(1, n + 1), phi=4.0)[0]
    np.testing.assert_allclose(mine[20:], np.array(ref)[20:], rtol=1e-5, atol=1e-9)


def test_naive_pvalues_at_the_end_are_welchs():
    rng = np.random.default_rng(8)
    y, t = _null_tests(1, 2000, rng)
    p = ex.naive_pvalues(y, t, np.array([2000]))[0, 0]
    ref = stats.ttest_ind(y[0][t[0] == 1], y[0][t[0] == 0], equal_var=False).pvalue
    assert p == pytest.approx(ref, rel=0.01)


def test_significance_filter_counts_power_exaggeration_and_wrong_signs():
    r = ex.significance_filter([0.5, 0.1, -0.4, 0.05], [0.01, 0.3, 0.02, 0.9], truth=0.1)
    assert r["power"] == 0.5 and r["exaggeration"] == pytest.approx(4.5) and r["wrong_sign"] == 0.5


def test_analyse_reads_a_table_and_names_bad_columns_and_values():
    rng = np.random.default_rng(9)
    n = 400
    frame = pd.DataFrame(
        {
            "arm": ["treatment"] * n + ["control"] * n,
            "bought": rng.integers(0, 2, 2 * n),
            "spend": rng.exponential(20, 2 * n),
            "pre_spend": rng.exponential(20, 2 * n),
        }
    )
    out = ex.analyse(frame, "bought", "spend", "pre_spend")
    assert out.shape == (6, 4) and out.attrs["n_treatment"] == n
    assert (out["low"] <= out["estimate"]).all() and (out["estimate"] <= out["high"]).all()
    with pytest.raises(
        ex.ExperimentError, match=r"missing column\(s\) \['revenue'\].*it has \['arm', 'bought', 'spend', 'pre_spend'\]"
    ):
        ex.analyse(frame, "bought", "revenue", "pre_spend")
    with pytest.raises(ex.ExperimentError, match=r"column 'arm' has value\(s\) \['B'\]"):
        ex.analyse(frame.replace({"arm": {"control": "B"}}), "bought", "spend", "pre_spend")
    with pytest.raises(ex.ExperimentError, match="column 'bought' must be 0/1"):
        ex.analyse(frame.assign(bought=frame["bought"] * 2), "bought", "spend", "pre_spend")
    with pytest.raises(ex.ExperimentError, match="1 missing or infinite"):
        ex.analyse(frame.assign(spend=frame["spend"].where(frame.index != 3)), "bought", "spend", "pre_spend")


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: ex.sample_size_proportions(1.2, 0.02), "p_control must be a number strictly between 0 and 1, got 1.2"),
        (lambda: ex.sample_size_proportions(0.3, 0.0), "effect must be non-zero"),
        (lambda: ex.sample_size_proportions(0.3, 0.02, power=1.0), "power must be"),
        (lambda: ex.power_proportions(0.3, 0.02, 1), "n_per_arm must be a whole number of customers >= 2, got 1"),
        (lambda: ex.sample_size_means(0.0, 1.0), "sd must be > 0"),
        (lambda: ex.compare_proportions(11, 10, 5, 10), "0 <= successes <= customers"),
        (lambda: ex.srm_check([5000]), "at least two arms"),
        (lambda: ex.srm_check([5000, 5000], [0.7, 0.7]), "summing to 1"),
        (lambda: ex.look_positions(100, 50), "looks must be between 1 and n/4 = 25, got 50"),
        (lambda: ex.welch([1.0, 2.0, 3.0], [1, 0]), "same length"),
        (lambda: ex.welch([1.0, 2.0, 3.0, 4.0], [1, 0, 2, 0]), "0/1"),
        (lambda: ex.cuped([1.0, 2.0, 3.0, 4.0], [5.0] * 4, [1, 1, 0, 0]), "constant"),
        (lambda: ex.relative_lift(1.0, 1.0, 10, 0.0, 1.0, 10), "control mean must be > 0"),
    ],
)
def test_bad_input_is_a_clear_error(call, match):
    with pytest.raises(ex.ExperimentError, match=match):
        call()


@pytest.fixture(scope="module")
def small_world():
    return world.simulate(3000, seed=3, pool=world.review_pool(data.load("reviews")))


def _pre(w):
    obs = w.observed
    return (
        obs.purchases[obs.purchases["date"] <= obs.cutoff]
        .groupby("customer_id")["amount"]
        .sum()
        .reindex(w.truth.customers.index, fill_value=0.0)
    )


def test_world_tests_draw_fresh_luck_for_the_same_customers(small_world):
    w = small_world
    pre = _pre(w)
    d = ex.world_tests(w, "discount", 500, 40, pre, seed=1)
    assert d["bought_t"].shape == (40, 500) and set(d) >= {"x_t", "x_c", "null_bought_t", "null_spend_t"}
    again = ex.world_tests(w, "discount", 500, 40, pre, seed=1)
    assert all(np.array_equal(d[k], again[k]) for k in d)  # same seed, same numbers
    one = ex.world_tests(w, "discount", 1500, 1, pre, seed=1, replace=False)
    assert len(np.unique(np.r_[one["x_t"][0], one["x_c"][0]])) > 1000
    frame = ex.as_frame(one)
    assert list(frame["arm"].value_counts()) == [1500, 1500]
    # the discount never lowers the share who buy of a customer who is not contact-averse, and the
    # A/A outcomes are the treated customers' outcomes without the offer
    assert d["null_bought_t"].mean() < d["bought_t"].mean()
    with pytest.raises(ex.ExperimentError, match="at most 1500 per arm fits in this world of 3000 customers"):
        ex.world_tests(w, "discount", 1501, 1, pre, replace=False)
    with pytest.raises(ex.ExperimentError, match="offer must be one of"):
        ex.world_tests(w, "voucher", 100, 1, pre)
    with pytest.raises(ex.ExperimentError, match="indexed like the world's customers"):
        ex.world_tests(w, "discount", 100, 1, pre.iloc[1:])


def test_replayed_outcomes_average_to_the_expected_outcomes(small_world):
    w = small_world
    rows = np.tile(np.arange(len(w.truth.customers)), (40, 1))
    out = world.replay_outcomes(w, rows, seed=5)
    expected = world.expected_outcomes(w, draws=40, seed=11)
    for arm in world.ARMS:
        assert out[arm]["bought"].mean() == pytest.approx(expected[f"p_buy_{arm}"].mean(), abs=0.01)
        assert out[arm]["spend"].mean() == pytest.approx(expected[f"spend_{arm}"].mean(), rel=0.05)
    with pytest.raises(ValueError, match="positions of customers from 0 to 2999"):
        world.replay_outcomes(w, np.array([0, 3000]))


def test_coverage_table_counts_hits():
    ints = {
        "m": pd.DataFrame(
            {
                "estimate": [1.0, 2.0, 3.0, 4.0],
                "low": [0.0, 1.5, 2.5, 0.5],
                "high": [2.0, 2.5, 3.5, 5.0],
                "p_value": [0.01, 0.2, 0.04, 0.5],
            }
        )
    }
    t = ex.coverage_table(ints, {"m": 1.0})
    assert t.loc["m", "coverage"] == 0.5 and t.loc["m", "share significant"] == 0.5 and t.loc["m", "tests"] == 4


def test_design_table_and_its_display():
    d = ex.design(0.26, 0.02, 0.05, 0.8, enrol_per_week=2000, outcome_weeks=39, current_per_arm=1334)
    n = ex.sample_size_proportions(0.26, 0.02)
    assert d["customers per arm needed"] == n and d["customers in the test (both arms)"] == 2 * n
    assert d["weeks until the answer (enrolment + outcome window)"] == pytest.approx(2 * n / 2000 + 39)
    assert d["its minimum detectable effect (points)"] == pytest.approx(100 * ex.mde_proportions(0.26, 1334))
    shown = ex.formatted(d)
    assert shown["customers per arm needed"] == f"{n:,}" and shown["baseline share who buy"] == "0.26"
    with pytest.raises(ex.ExperimentError, match="enrol_per_week must be >= 1"):
        ex.design(0.26, 0.02, enrol_per_week=0)


def test_a_lost_records_bug_is_flagged_and_biases_the_effect():
    rng = np.random.default_rng(10)
    n = 5000
    frame = pd.DataFrame(
        {
            "arm": ["treatment"] * n + ["control"] * n,
            "bought": rng.binomial(1, 0.3, 2 * n),
            "spend": rng.exponential(20, 2 * n),
            "pre_spend": rng.exponential(20, 2 * n),
        }
    )
    broken = ex.lose_records(frame, 0.08, seed=1)
    assert len(frame) - len(broken) == 400 and broken["arm"].eq("control").sum() == n
    report = ex.srm_report({"fair": frame, "broken": broken}, "bought", "spend", "pre_spend")
    assert not report.loc["fair", "mismatch flagged"] and report.loc["broken", "mismatch flagged"]
    assert report.loc["broken", "effect (points)"] > report.loc["fair", "effect (points)"] + 2
    with pytest.raises(ex.ExperimentError, match="non-buyers"):
        ex.lose_records(frame, 0.9)


def test_peeking_study_reports_naive_and_valid_error_rates():
    rng = np.random.default_rng(11)
    tests, n = 1500, 1000
    y0, yc = rng.binomial(1, 0.3, (tests, n)), rng.binomial(1, 0.3, (tests, n))
    yt = rng.binomial(1, 0.36, (tests, n))
    peek = ex.peeking_study(yt, yc, y0, looks=10, phi=ex.savvi_phi(0.46, 0.06), alpha=ALPHA, seed=0)
    assert list(peek["customers"])[-1] == 2 * n and len(peek) == 10
    assert _within(peek.attrs["fixed_fp"], ALPHA, tests)
    assert peek["naive test, no effect"].iloc[-1] > 1.5 * ALPHA
    assert peek["always-valid, no effect"].iloc[-1] <= ALPHA + 3 * np.sqrt(ALPHA * (1 - ALPHA) / tests)
    assert peek.attrs["fixed_power"] > peek["always-valid, real effect"].iloc[-1] > 0.3
    with pytest.raises(ex.ExperimentError, match="share one"):
        ex.peeking_study(yt, yc[:, :10], y0, 10, 1.0)


def test_pre_period_spend_and_true_effects(small_world):
    w = small_world
    pre = ex.pre_period_spend(w.observed, w.truth.customers.index)
    obs = w.observed
    assert pre.sum() == pytest.approx(obs.purchases.loc[obs.purchases["date"] <= obs.cutoff, "amount"].sum())
    assert (pre >= 0).all() and pre.index.equals(w.truth.customers.index)
    expected = world.expected_outcomes(w, draws=5, seed=0)
    t = ex.true_effects(expected, "discount")
    assert t["diff"] == pytest.approx(expected["p_buy_discount"].mean() - expected["p_buy_none"].mean())
    assert t["spend_lift"] == pytest.approx(expected["spend_discount"].mean() / expected["spend_none"].mean() - 1)


def test_the_breakeven_lift_is_where_the_offer_stops_losing_money():
    p0, v, d, c = 0.27, 120.0, 0.2, 0.5
    lift = ex.breakeven_lift(p0, v, d, c)

    def profit_change(dp):  # with the offer: (p0 + dp) buy at (1 - d) v, everyone costs c; without: p0 buy at v
        return (p0 + dp) * (1 - d) * v - c - p0 * v

    assert profit_change(lift) == pytest.approx(0.0, abs=1e-12)
    assert profit_change(lift - 0.01) < 0 < profit_change(lift + 0.01)
    assert ex.breakeven_lift(p0, v, 0.0, 3.0) == pytest.approx(3.0 / v)
    with pytest.raises(ex.ExperimentError, match="discount_rate must be at least 0 and below 1, got 1.0"):
        ex.breakeven_lift(p0, v, 1.0, c)
    with pytest.raises(ex.ExperimentError, match="spend_per_buyer must be > 0"):
        ex.breakeven_lift(p0, 0.0, d, c)


def test_power_of_means_is_the_inverse_of_the_sample_size():
    n = ex.sample_size_means(60.0, 0.5, 0.05, 0.8)
    assert ex.power_means(60.0, 0.5, n, 0.05) == pytest.approx(0.8, abs=0.002)
    assert ex.power_means(60.0, 0.5, n // 4, 0.05) < 0.35


# --- testing a decision: policies against each other (experiments.decision) ---------------------------------


def test_welch_and_cuped_from_moments_equal_the_raw_data_versions():
    from retention_lib.experiments import decision as dc

    rng = np.random.default_rng(5)
    x = rng.lognormal(3, 1, 900)
    treated = np.r_[np.ones(400, bool), np.zeros(500, bool)]
    y = 0.4 * x + rng.gamma(0.3, 40, 900) + 3 * treated
    mom = {}
    for arm, m in (("t", treated), ("c", ~treated)):
        ya, xa = y[m][None, :], x[m][None, :]
        mom[arm] = dc._moments(ya, xa)
    w = dc.welch_from_moments(
        mom["t"]["my"], mom["t"]["vy"], mom["t"]["n"], mom["c"]["my"], mom["c"]["vy"], mom["c"]["n"]
    )
    raw = ex.welch(y, treated)
    for k in ("diff", "low", "high", "p_value", "se"):
        assert float(w[k][0]) == pytest.approx(raw[k], rel=1e-9), k
    a = dc.adjusted_from_moments(mom["t"], mom["c"])
    raw = ex.cuped(y, x, treated)
    for k in ("diff", "low", "high", "p_value", "theta"):
        assert float(np.atleast_1d(a[k])[0]) == pytest.approx(raw[k], rel=1e-9), k


@pytest.fixture(scope="module")
def decision_bank(small_world):
    from retention_lib.experiments import decision as dc

    w = small_world
    ids = w.truth.customers.index
    rng = np.random.default_rng(0)
    score = pd.Series(rng.random(len(ids)), index=ids)
    first = pd.Series(np.where(score > 0.8, "recovery", "none"), index=ids)
    second = pd.Series(np.where(score < 0.3, "discount", "none"), index=ids)
    cov = pd.DataFrame({"CUPED": _pre(w)})
    return dc.policy_bank(w, {"first": first, "second": second}, draws=40, seed=1, covariates=cov)


def test_a_policy_bank_enrols_exactly_the_targeted_and_knows_its_truth(decision_bank, small_world):
    from retention_lib.experiments import decision as dc

    b = decision_bank
    assert set(b.arms) == {dc.CONTROL, "first", "second"}
    assert ((b.actions != "none").any(axis=1)).all()  # nobody enrolled whom no policy targets
    assert 0.45 < b.enrolled_share < 0.55 and b.population == 3000
    truth = b.truth()
    # the truth is the bank's mean; with many draws it approaches the world's expected outcomes
    expected = world.expected_outcomes(small_world, draws=40, seed=7).loc[b.customers]
    got = expected["profit_none"].where(b.actions["first"] == "none", expected["profit_recovery"]).mean()
    se = b.outcomes["profit"].std() / np.sqrt(b.outcomes["profit"][0].size)
    assert truth.loc["first", "profit"] == pytest.approx(got, abs=6 * se)
    sub = b.subset(b.customers[:10])
    assert sub.outcomes["profit"].shape == (3, 40, 10) and sub.population == b.population


def test_decision_tests_cover_the_bank_truth_and_flag_no_effect_at_alpha(decision_bank):
    from retention_lib.experiments import decision as dc

    tests = 600
    res = dc.decision_tests(decision_bank, 300, tests, seed=2)
    summary = dc.decision_summary(res, decision_bank.truth())
    assert len(res) == tests * 3 * 2 * 2 and set(res["method"]) == {"Welch", "CUPED"}
    for key, row in summary.iterrows():
        assert _within(row["coverage"], 0.95, tests, sds=4), (key, row["coverage"])
    # an A/A comparison: no offer against itself is not a comparison, but a policy that never acts is one
    same = decision_bank.subset(decision_bank.customers[(decision_bank.actions["first"] == "none").to_numpy()])
    aa = dc.decision_summary(dc.decision_tests(same, 300, tests, seed=3), same.truth())
    fp = aa.loc[("first - no offer", "profit", "Welch"), "share significant"]
    assert aa.loc[("first - no offer", "profit", "Welch"), "true difference"] == 0
    assert _within(fp, ALPHA, tests, sds=4), fp
    # the same seed gives the same tests
    again = dc.decision_tests(decision_bank, 300, 5, seed=2)
    assert np.allclose(again["estimate"], dc.decision_tests(decision_bank, 300, 5, seed=2)["estimate"])


def test_policy_bank_refuses_what_it_cannot_test(small_world):
    from retention_lib.experiments import decision as dc

    ids = small_world.truth.customers.index
    none = pd.Series("none", index=ids)
    one = none.copy()
    one.iloc[:5] = "recovery"
    with pytest.raises(ex.ExperimentError, match="control arm"):
        dc.policy_bank(small_world, {dc.CONTROL: one}, 2)
    with pytest.raises(ex.ExperimentError, match="fewer than 2 customers"):
        dc.policy_bank(small_world, {"idle": none}, 2)
    with pytest.raises(ex.ExperimentError, match=r"unknown arm\(s\) \['coupon'\]"):
        dc.policy_bank(small_world, {"odd": one.replace("recovery", "coupon")}, 2)
    with pytest.raises(ex.ExperimentError, match="not in the world"):
        dc.policy_bank(small_world, {"p": one.rename(index=lambda i: i + 10**9)}, 2)
    with pytest.raises(ex.ExperimentError, match="missing for some enrolled"):
        dc.policy_bank(small_world, {"p": one}, 2, covariates=pd.DataFrame({"x": [1.0]}, index=ids[:1]))


# --- group-sequential plan with delayed outcomes (experiments.sequential) ------------------------------------


def test_obrien_fleming_bounds_equal_gsdesign_and_hold_alpha_by_simulation():
    # gsDesign (R), gsDesign(k=5, test.type=2, alpha=0.025, sfu=sfLDOF): the published two-sided boundaries
    b = ex.group_sequential_bounds([0.2, 0.4, 0.6, 0.8, 1.0], 0.05)
    assert np.allclose(b, [4.8769, 3.3569, 2.6803, 2.2898, 2.0310], atol=2e-3)
    assert ex.group_sequential_bounds([1.0], 0.05)[0] == pytest.approx(stats.norm.isf(0.025))
    # unequal fractions (looks placed by matured customers): Brownian motion, no effect, crosses at rate alpha,
    # and the cumulative crossing by each look is the spending function's value there
    t = np.array([0.16, 0.44, 0.72, 1.0])
    b = ex.group_sequential_bounds(t, 0.05)
    rng = np.random.default_rng(0)
    sims = 400_000
    w = np.cumsum(rng.standard_normal((sims, t.size)) * np.sqrt(np.diff(np.r_[0, t])), axis=1)
    crossed = np.maximum.accumulate(np.abs(w / np.sqrt(t)) >= b, axis=1).mean(0)
    se = np.sqrt(0.05 * 0.95 / sims)
    assert np.allclose(crossed, ex.obf_spending(t, 0.05), atol=4 * se)
    with pytest.raises(ex.ExperimentError, match="increasing information fractions"):
        ex.group_sequential_bounds([0.5, 0.5, 1.0])


def test_matured_looks_see_only_closed_windows():
    looks = ex.matured_looks(customers=17_000, enrol_per_week=2000, delay_weeks=39, looks=20)
    # enrolment takes 8.5 weeks; nothing matures before week 39, so 16 of the 20 calendar looks see nothing
    assert len(looks) == 4 and looks["week"].min() > 39
    assert looks["customers"].iloc[-1] == 17_000 and looks["week"].iloc[-1] == pytest.approx(47.5)
    assert (looks["customers"] <= looks["enrolled"]).all() and looks["customers"].is_monotonic_increasing
    assert (ex.matured_looks(1000, 100, 0, 10)["customers"] == np.arange(100, 1001, 100)).all()
    with pytest.raises(ex.ExperimentError, match="enrol_per_week > 0"):
        ex.matured_looks(1000, 0, 39, 10)


def test_the_group_sequential_plan_holds_alpha_where_peeking_does_not():
    rng = np.random.default_rng(4)
    tests, n = 2000, 1000
    yc = rng.binomial(1, 0.25, (tests, n)).astype(float)
    y0 = rng.binomial(1, 0.25, (tests, n)).astype(float)
    yt = rng.binomial(1, 0.31, (tests, n)).astype(float)
    peek = ex.peeking_study(yt, yc, y0, 10, 1.0, seed=1, at=np.linspace(200, 2 * n, 10).astype(int))
    last = peek.iloc[-1]
    bound = ALPHA + 2 * np.sqrt(ALPHA * (1 - ALPHA) / tests)
    assert last["group-sequential, no effect"] <= bound
    assert last["naive test, no effect"] > 1.5 * ALPHA
    # O'Brien-Fleming costs little power against the fixed test read once
    assert last["group-sequential, real effect"] > peek.attrs["fixed_power"] - 0.04
    with pytest.raises(ex.ExperimentError, match="increasing sample sizes"):
        ex.peeking_study(yt, yc, y0, 10, 1.0, at=[100, 50])


def test_policy_bank_values_are_the_outcomes_of_each_customers_arm(decision_bank):
    from retention_lib.experiments import decision as dc

    b = decision_bank
    v = b.values("first", "bought")
    assert v.shape == (len(b.customers), 40)
    k = int(np.flatnonzero((b.actions["first"] == "recovery").to_numpy())[0])
    assert np.array_equal(v[k], b.outcomes["bought"][2, :, k])  # ARMS = none, discount, recovery
    assert np.array_equal(b.values(dc.CONTROL)[k], b.outcomes["profit"][0, :, k])
    with pytest.raises(ex.ExperimentError, match="arm among"):
        b.values("third")


def test_the_heterogeneity_test_covers_the_difference_of_two_subgroup_effects(decision_bank):
    from retention_lib.experiments import decision as dc

    b = decision_bank
    inside = b.subset(b.customers[(b.actions["first"] == "recovery").to_numpy()])
    outside = b.subset(b.customers[(b.actions["first"] == "none").to_numpy()])
    tests = 500
    ra, rb = dc.decision_tests(inside, 200, tests, seed=4), dc.decision_tests(outside, 200, tests, seed=5)
    het = ex.interaction_tests(ra, rb, "first - no offer")
    ta, tb = inside.truth(), outside.truth()
    true = (ta.loc["first", "profit"] - ta.loc[dc.CONTROL, "profit"]) - (
        tb.loc["first", "profit"] - tb.loc[dc.CONTROL, "profit"]
    )
    cover = ((het["low"] <= true) & (true <= het["high"])).mean()
    assert len(het) == tests and _within(cover, 0.95, tests, sds=4), cover
    with pytest.raises(ex.ExperimentError, match="same tests"):
        ex.interaction_tests(ra, rb[rb["test"] < 10], "first - no offer")


def test_the_guardrail_passes_a_harmless_policy_and_fails_a_harmful_one(decision_bank):
    from retention_lib.experiments import decision as dc

    res = dc.decision_tests(decision_bank, 400, 50, seed=6)
    truth = decision_bank.truth()
    g = ex.guardrail(res, truth, margin=1.0)  # a fall of 100 points: everything passes
    assert (g["tests that pass"] == 1.0).all() and list(g.index) == ["first", "second"]
    strict = ex.guardrail(res, truth, margin=0.0)
    first = res[(res["comparison"] == "first - no offer") & (res["metric"] == "bought") & (res["method"] == "Welch")]
    assert strict.loc["first", "tests that pass"] == pytest.approx((first["low"] > 0).mean())
    assert strict.loc["first", "true change"] == pytest.approx(
        truth.loc["first", "bought"] - truth.loc[dc.CONTROL, "bought"]
    )
    with pytest.raises(ex.ExperimentError, match="margin must be >= 0"):
        ex.guardrail(res, truth, margin=-0.1)
