"""Off-policy evaluation: the per-round terms reproduce obp's estimates, the estimators are unbiased on a
simulated three-slot bandit whose truth is known, the logging policy evaluated on its own logs gives its
on-policy value, and bad logs or policies are clear errors."""

import numpy as np
import pandas as pd
import pytest

from retention_lib import data
from retention_lib.experiments import offpolicy as op

N_ITEMS = 8


def _click_prob(user, item, slot):
    """Known click model: items differ, lower slots are clicked less, users of kind 1 click more."""
    return 0.02 + 0.01 * (item % 4) + 0.01 * user - 0.005 * slot


def _simulated_logs(rng, n):
    """Uniform-random logging over 8 items at 3 slots, in the Open Bandit layout."""
    user = rng.integers(0, 2, n)
    item = rng.integers(0, N_ITEMS, n)
    slot = rng.integers(0, 3, n)
    click = rng.random(n) < _click_prob(user, item, slot)
    return pd.DataFrame(
        {
            "item_id": item,
            "position": slot + 1,
            "click": click.astype(int),
            "propensity_score": 1 / N_ITEMS,
            "user_feature_0": np.where(user == 1, "a1", "b0"),
        }
    )


def _evaluation_policy():
    """A fixed policy that favours the good items, differently per slot (columns sum to 1)."""
    w = np.array([[1, 2, 3, 8, 1, 2, 3, 8], [2, 2, 3, 5, 2, 2, 3, 5], [1, 1, 1, 1, 1, 1, 1, 1]], dtype=float).T
    return w / w.sum(axis=0)


def _true_q(fb):
    user = (fb["context"][:, 0] == 0).astype(int)  # one-hot of 'b0' with drop_first: column is 1 for b0
    items, slots = np.arange(N_ITEMS), fb["position"]
    return (
        _click_prob(user[:, None, None], items[None, :, None], np.arange(3)[None, None, :]) + 0 * slots[:, None, None]
    )


def _true_value(dist):
    users, items, slots = np.arange(2), np.arange(N_ITEMS), np.arange(3)
    q = _click_prob(users[:, None, None], items[None, :, None], slots[None, None, :])
    return float((q * dist[None]).sum(axis=1).mean())  # users and slots equally likely


def test_terms_reproduce_obps_estimates():
    from obp.ope import (
        DirectMethod,
        DoublyRobust,
        InverseProbabilityWeighting,
        OffPolicyEvaluation,
        SelfNormalizedInverseProbabilityWeighting,
    )

    fb = op.feedback(_simulated_logs(np.random.default_rng(0), 6000), N_ITEMS)
    dist = _evaluation_policy()
    q = op.reward_model(fb, dist, seed=0)
    assert q.shape == (6000, N_ITEMS, 3) and ((q >= 0) & (q <= 1)).all()
    ope = OffPolicyEvaluation(
        bandit_feedback={k: fb[k] for k in ["n_rounds", "action", "position", "reward", "pscore"]},
        ope_estimators=[
            InverseProbabilityWeighting(),
            SelfNormalizedInverseProbabilityWeighting(),
            DirectMethod(),
            DoublyRobust(),
        ],
    )
    ref = ope.estimate_policy_values(
        action_dist=np.repeat(dist[None], fb["n_rounds"], 0), estimated_rewards_by_reg_model=q
    )
    mine = op.estimates(fb, dist, q)
    for e in op.ESTIMATORS:
        assert mine[e] == pytest.approx(ref[e], rel=1e-9)


def test_estimators_are_unbiased_on_a_simulated_bandit():
    rng = np.random.default_rng(1)
    dist, truth = _evaluation_policy(), _true_value(_evaluation_policy())
    runs = {e: [] for e in op.ESTIMATORS}
    for _ in range(150):
        fb = op.feedback(_simulated_logs(rng, 4000), N_ITEMS)
        est = op.estimates(fb, dist, _true_q(fb))  # DM and DR with the true click model
        for e in op.ESTIMATORS:
            runs[e].append(est[e])
    for e in op.ESTIMATORS:
        r = np.array(runs[e])
        assert abs(r.mean() - truth) < 4 * r.std(ddof=1) / np.sqrt(r.size) + 1e-4, (e, r.mean(), truth)
    # with the true model, DM only averages it (no click noise): far steadier than the weighted estimators
    assert np.std(runs["dm"]) < 0.5 * np.std(runs["ipw"])


def test_the_logging_policy_evaluated_on_its_own_logs_gives_its_click_rate():
    logs = _simulated_logs(np.random.default_rng(2), 5000)
    fb = op.feedback(logs, N_ITEMS)
    uniform = np.full((N_ITEMS, 3), 1 / N_ITEMS)
    est = op.estimates(fb, uniform, np.zeros((5000, N_ITEMS, 3)))
    assert est["ipw"] == pytest.approx(logs["click"].mean()) and est["snipw"] == pytest.approx(logs["click"].mean())


def test_bootstrap_intervals_contain_the_estimates_and_are_reproducible():
    rng = np.random.default_rng(3)
    fb = op.feedback(_simulated_logs(rng, 4000), N_ITEMS)
    dist = _evaluation_policy()
    on = (rng.random(4000) < _true_value(dist)).astype(int)
    a = op.bootstrap(fb, dist, _true_q(fb), on, reps=200, seed=4)
    b = op.bootstrap(fb, dist, _true_q(fb), on, reps=200, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.index) == list(op.ESTIMATORS)
    assert ((a["low"] <= a["estimate"]) & (a["estimate"] <= a["high"])).all()
    assert (a["re_low"] >= 0).all() and (a["on_policy"] == on.mean()).all()


def test_thompson_sampling_probabilities_from_the_shipped_prior():
    dist = op.bts_action_dist("men", 34, n_sim=2000, seed=0)
    assert dist.shape == (34, 3) and np.allclose(dist.sum(axis=0), 1)
    assert dist.max() > 5 / 34  # TS concentrates on some items, unlike random


def test_on_policy_table_on_the_open_bandit_data():
    t = op.on_policy_table(data.load("obd"))
    assert len(t) == 6 and (t["impressions"] == 10000).all()
    assert t.loc[("men", "bts"), "clicks"] == 69 and t.loc[("all", "random"), "clicks"] == 38
    assert ((t["low"] < t["click rate"]) & (t["click rate"] < t["high"])).all()


@pytest.mark.parametrize(
    "change,match",
    [
        (lambda d: d.drop(columns="propensity_score"), r"missing column\(s\) \['propensity_score'\]"),
        (lambda d: d.assign(item_id=d["item_id"] + 1), "'item_id' must be from 0 to 7 \\(n_actions=8\\), got 1 to 8"),
        (lambda d: d.assign(position=d["position"] - 1), "'position' must be 1, 2 or 3"),
        (lambda d: d.iloc[:0], "no rows"),
    ],
)
def test_bad_logs_are_clear_errors(change, match):
    logs = _simulated_logs(np.random.default_rng(5), 100)
    with pytest.raises(op.OffPolicyError, match=match):
        op.feedback(change(logs), N_ITEMS)


def test_bad_policies_and_clickless_logs_are_clear_errors():
    fb = op.feedback(_simulated_logs(np.random.default_rng(6), 500), N_ITEMS)
    q = np.zeros((500, N_ITEMS, 3))
    with pytest.raises(op.OffPolicyError, match=r"shape \(n_actions, 3\) = \(8, 3\), got \(7, 3\)"):
        op.estimates(fb, np.full((7, 3), 1 / 7), q)
    with pytest.raises(op.OffPolicyError, match="sum to 1"):
        op.estimates(fb, np.full((N_ITEMS, 3), 0.5), q)
    with pytest.raises(op.OffPolicyError, match="no clicks"):
        op.bootstrap(fb, np.full((N_ITEMS, 3), 1 / N_ITEMS), q, np.zeros(100), reps=20)
    with pytest.raises(op.OffPolicyError, match="n_sim must be >= 100"):
        op.bts_action_dist("all", 80, n_sim=10)


def test_the_two_policies_read_as_an_ab_test_and_evaluated_off_policy_on_the_real_logs():
    obd = data.load("obd")
    ab = op.policies_as_ab_test(op.on_policy_table(obd))
    assert list(ab.index) == ["all", "men", "women"]
    assert ab.loc["men", "difference / 1,000"] == pytest.approx(2.3) and ab.loc["women", "p-value"] == pytest.approx(
        1.0
    )
    assert (ab["Holm-adjusted p"] >= ab["p-value"]).all() and (ab["minimum detectable lift"] > 0.5).all()
    table, drift = op.evaluate_campaigns(obd[obd["campaign"] == "men"], n_sim=2000, reps=20, seed=0)
    assert list(table.index.get_level_values("estimator")) == list(op.ESTIMATORS)
    assert (table["on_policy"] == 0.0069).all() and table["inside"].dtype == bool
    assert set(drift.columns) == {"campaign", "spread", "logged", "prior"} and (drift["spread"] >= 1).all()
