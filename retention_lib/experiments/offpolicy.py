"""Off-policy evaluation on logged bandit data: what would another policy have earned on these logs?

The estimators are obp's (Saito et al. 2021): inverse probability weighting (IPW), its
self-normalised form (SNIPW), the direct method (DM, a reward model's prediction) and doubly
robust (DR), with obp's ``RegressionModel`` as the reward model and obp's ``BernoulliTS`` with the
production prior of the Open Bandit Dataset for Thompson sampling's action probabilities.

What obp does not do, written here: the per-round terms of the four estimators, so that one
resampling of the logs gives all four estimates and, resampling the evaluation policy's own logs
at the same time, the relative estimation error ``|estimate - on-policy value| / on-policy value``
with a bootstrap interval. A test checks that the terms' means equal obp's estimates, and that the
estimators are unbiased on a simulated bandit whose truth is known.

Positions: the Open Bandit data number slots 1..3; obp numbers them 0..2 (``feedback`` converts).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from retention_lib import experiments as ex
from retention_lib.base.tables import require_columns

__all__ = [
    "ESTIMATORS",
    "feedback",
    "bts_action_dist",
    "reward_model",
    "round_terms",
    "estimates",
    "on_policy_table",
    "policies_as_ab_test",
    "evaluate_campaigns",
    "bootstrap",
    "OffPolicyError",
]

#: the estimators, in the order tables show them
ESTIMATORS = ("ipw", "snipw", "dm", "dr")


class OffPolicyError(ValueError):
    """Logged data or an evaluation policy that cannot be used."""


def feedback(logs: pd.DataFrame, n_actions: int) -> dict:
    """Logged bandit feedback in obp's form from one policy's logs of the Open Bandit Dataset.

    ``logs`` has ``item_id`` (0 .. n_actions - 1), ``position`` (1..3), ``click``,
    ``propensity_score`` and the ``user_feature_*`` columns. The context is the one-hot user
    features (the hashed categories as the file names them).
    """
    need = ["item_id", "position", "click", "propensity_score"]
    require_columns(logs, need, "logs", f"the Open Bandit columns {need}", OffPolicyError)
    if len(logs) == 0:
        raise OffPolicyError("logs: no rows")
    item = logs["item_id"].to_numpy()
    if item.min() < 0 or item.max() >= n_actions:
        raise OffPolicyError(
            f"logs: column 'item_id' must be from 0 to {n_actions - 1} (n_actions={n_actions}), "
            f"got {item.min()} to {item.max()}"
        )
    pos = logs["position"].to_numpy()
    if not np.isin(pos, [1, 2, 3]).all():
        raise OffPolicyError("logs: column 'position' must be 1, 2 or 3")
    users = [c for c in logs.columns if str(c).startswith("user_feature_")]
    context = (
        pd.get_dummies(logs[users].astype(str), drop_first=True).to_numpy(dtype=float)
        if users
        else np.ones((len(logs), 1))
    )
    return {
        "n_rounds": len(logs),
        "n_actions": n_actions,
        "action": item,
        "position": pos - 1,
        "reward": logs["click"].to_numpy(dtype=float),
        "pscore": logs["propensity_score"].to_numpy(dtype=float),
        "context": context,
    }


def bts_action_dist(campaign: str, n_actions: int, n_sim: int = 100_000, seed: int = 0) -> np.ndarray:
    """Bernoulli Thompson sampling's probability of showing each item at each slot, (n_actions, 3).

    Computed by obp's Monte Carlo simulation of the policy with the production prior that ships in
    the obp package (``is_zozotown_prior=True``). The policy is context-free: the same for every
    impression.
    """
    from obp.policy import BernoulliTS

    if n_sim < 100:
        raise OffPolicyError(f"n_sim must be >= 100 simulated impressions, got {n_sim}")
    ts = BernoulliTS(n_actions=n_actions, len_list=3, is_zozotown_prior=True, campaign=campaign, random_state=seed)
    return ts.compute_batch_action_dist(n_rounds=1, n_sim=n_sim)[0]


def reward_model(fb: dict, action_dist: np.ndarray, seed: int = 0, folds: int = 3) -> np.ndarray:
    """Cross-fitted click probabilities of every item at every slot for every logged impression,
    (n_rounds, n_actions, 3): obp's ``RegressionModel`` with a logistic regression per slot on the
    user features and the item (one-hot)."""
    from obp.ope import RegressionModel

    model = RegressionModel(
        n_actions=fb["n_actions"], len_list=3, base_model=LogisticRegression(C=1.0, max_iter=1000, random_state=seed)
    )
    dist = np.broadcast_to(action_dist, (fb["n_rounds"], *action_dist.shape))
    return model.fit_predict(
        context=fb["context"],
        action=fb["action"],
        reward=fb["reward"],
        pscore=fb["pscore"],
        position=fb["position"],
        action_dist=np.ascontiguousarray(dist),
        n_folds=folds,
        random_state=seed,
    )


def _check_dist(fb: dict, action_dist: np.ndarray) -> None:
    if action_dist.shape != (fb["n_actions"], 3):
        raise OffPolicyError(
            f"action_dist must have shape (n_actions, 3) = ({fb['n_actions']}, 3), got {action_dist.shape}"
        )
    if not np.allclose(action_dist.sum(axis=0), 1, atol=1e-6) or (action_dist < 0).any():
        raise OffPolicyError("action_dist: each slot's probabilities must be >= 0 and sum to 1")


def round_terms(fb: dict, action_dist: np.ndarray, q_hat: np.ndarray) -> dict:
    """Per-impression terms whose means are the estimates: ``w r`` and ``w`` (IPW, SNIPW = mean(w r) /
    mean(w)), ``dm`` (the model's value of the evaluation policy at this slot), ``dr`` (dm plus the
    weighted error of the model on the logged item). ``w = pi_e(item | slot) / pscore``."""
    _check_dist(fb, action_dist)
    a, k, r = fb["action"], fb["position"], fb["reward"]
    w = action_dist[a, k] / fb["pscore"]
    dm = (action_dist[:, k].T * q_hat[np.arange(fb["n_rounds"]), :, k]).sum(axis=1)
    q_logged = q_hat[np.arange(fb["n_rounds"]), a, k]
    return {"wr": w * r, "w": w, "dm": dm, "dr": dm + w * (r - q_logged)}


def _from_means(m: dict) -> dict:
    return {"ipw": m["wr"], "snipw": m["wr"] / m["w"], "dm": m["dm"], "dr": m["dr"]}


def estimates(fb: dict, action_dist: np.ndarray, q_hat: np.ndarray) -> dict:
    """The four estimates of the evaluation policy's value (click rate per impression)."""
    terms = round_terms(fb, action_dist, q_hat)
    return _from_means({k: v.mean() for k, v in terms.items()})


def bootstrap(
    fb: dict,
    action_dist: np.ndarray,
    q_hat: np.ndarray,
    on_policy_reward: np.ndarray,
    reps: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Each estimator's estimate and its relative error against the evaluation policy's on-policy value,
    with percentile bootstrap intervals.

    The logged impressions and the evaluation policy's own impressions (``on_policy_reward``, its
    clicks) are resampled independently in each replicate; the reward model is held fixed (as in
    obp's ``estimate_interval``). Returns one row per estimator: ``estimate``, ``low``, ``high``,
    ``relative_error``, ``re_low``, ``re_high``, and ``on_policy``.
    """
    if reps < 10:
        raise OffPolicyError(f"reps must be >= 10, got {reps}")
    on = np.asarray(on_policy_reward, dtype=float)
    if on.size == 0 or on.sum() == 0:
        raise OffPolicyError(
            "on_policy_reward: the evaluation policy's logs have no clicks; a relative error is undefined"
        )
    terms = round_terms(fb, action_dist, q_hat)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 91]))
    lo_q, hi_q = 50 * (1 - confidence), 100 - 50 * (1 - confidence)
    point = _from_means({k: v.mean() for k, v in terms.items()})
    boot = {e: np.empty(reps) for e in ESTIMATORS}
    truth = np.empty(reps)
    for b in range(reps):
        idx = rng.integers(0, fb["n_rounds"], fb["n_rounds"])
        est = _from_means({k: v[idx].mean() for k, v in terms.items()})
        for e in ESTIMATORS:
            boot[e][b] = est[e]
        truth[b] = on[rng.integers(0, on.size, on.size)].mean()
    v_on = on.mean()
    rows = {}
    for e in ESTIMATORS:
        with np.errstate(divide="ignore", invalid="ignore"):
            re = np.abs(boot[e] - truth) / truth
        re = re[np.isfinite(re)]
        rows[e] = {
            "estimate": point[e],
            "low": np.percentile(boot[e], lo_q),
            "high": np.percentile(boot[e], hi_q),
            "relative_error": abs(point[e] - v_on) / v_on,
            "re_low": np.percentile(re, lo_q),
            "re_high": np.percentile(re, hi_q),
            "on_policy": v_on,
        }
    return pd.DataFrame(rows).T


def on_policy_table(logs: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Each logging policy's own click rate per campaign with a Wilson interval (statsmodels).

    ``logs``: the Open Bandit rows with ``campaign``, ``policy`` and ``click``. Index (campaign,
    policy); columns ``impressions``, ``clicks``, ``click rate``, ``low``, ``high``.
    """
    require_columns(logs, ["campaign", "policy", "click"], "logs", error=OffPolicyError)
    g = logs.groupby(["campaign", "policy"], observed=True)["click"].agg(impressions="size", clicks="sum")
    low, high = proportion_confint(g["clicks"], g["impressions"], alpha=1 - confidence, method="wilson")
    return g.assign(**{"click rate": g["clicks"] / g["impressions"], "low": low, "high": high})


def policies_as_ab_test(on_policy: pd.DataFrame, alpha: float = 0.05, power: float = 0.8) -> pd.DataFrame:
    """Thompson sampling against the random policy in each campaign, read as the A/B test it was.

    ``on_policy``: :func:`on_policy_table`. Clicks per 1,000 impressions, the difference with its
    Newcombe interval, the p-value and its Holm adjustment over the campaigns (statsmodels), the
    relative lift, and the smallest lift this many impressions could detect with ``power``.
    """

    rows = {}
    for campaign in on_policy.index.get_level_values("campaign").unique():
        r, b = on_policy.loc[(campaign, "random")], on_policy.loc[(campaign, "bts")]
        cmp = ex.compare_proportions(b["clicks"], b["impressions"], r["clicks"], r["impressions"])
        lift = ex.relative_lift(
            cmp["p_t"],
            cmp["p_t"] * (1 - cmp["p_t"]),
            b["impressions"],
            cmp["p_c"],
            cmp["p_c"] * (1 - cmp["p_c"]),
            r["impressions"],
        )
        rows[campaign] = {
            "random: clicks / 1,000": 1000 * cmp["p_c"],
            "TS: clicks / 1,000": 1000 * cmp["p_t"],
            "difference / 1,000": 1000 * cmp["diff"],
            "low": 1000 * cmp["newcombe_low"],
            "high": 1000 * cmp["newcombe_high"],
            "p-value": cmp["p_value"],
            "relative lift": float(lift["lift"]),
            "minimum detectable lift": ex.mde_proportions(cmp["p_c"], int(r["impressions"]), alpha, power) / cmp["p_c"],
        }
    table = pd.DataFrame(rows).T.astype(float)
    table.insert(
        table.columns.get_loc("p-value") + 1, "Holm-adjusted p", multipletests(table["p-value"], method="holm")[1]
    )
    return table


def evaluate_campaigns(
    obd: pd.DataFrame, n_sim: int = 100_000, reps: int = 1000, seed: int = 0, confidence: float = 0.95
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Thompson sampling's click rate estimated from the random policy's logs, in every campaign.

    For each campaign: the evaluation policy's action probabilities (:func:`bts_action_dist`), the
    click model (:func:`reward_model`), the four estimators with bootstrap intervals and relative
    errors against TS's own logs (:func:`bootstrap`), and whether each estimate falls inside TS's
    on-policy interval.

    Returns
    -------
    table : DataFrame
        Index (campaign, estimator); the columns of :func:`bootstrap` plus ``on_low``, ``on_high``
        (TS's Wilson interval) and ``inside`` (the estimate is in it).
    drift : DataFrame
        One row per (campaign, item, slot) seen in TS's logs: ``spread`` (largest over smallest logged
        probability: how much the production policy changed during the week), ``logged`` (their
        mean) and ``prior`` (the probability simulated from the shipped prior).
    """
    on_policy = on_policy_table(obd, confidence)
    rows, drift = [], []
    for campaign in obd["campaign"].unique():
        logs = obd[obd["campaign"] == campaign]
        n_items = int(logs["item_id"].max()) + 1
        random_logs, ts_logs = logs[logs["policy"] == "random"], logs[logs["policy"] == "bts"]
        fb = feedback(random_logs, n_items)
        dist = bts_action_dist(str(campaign), n_items, n_sim, seed)
        q_hat = reward_model(fb, dist, seed)
        logged = ts_logs.groupby(["item_id", "position"])["propensity_score"]
        mean = logged.mean()
        drift.append(
            pd.DataFrame(
                {
                    "campaign": campaign,
                    "spread": logged.max() / logged.min(),
                    "logged": mean,
                    "prior": [dist[i, k - 1] for i, k in mean.index],
                }
            )
        )
        res = bootstrap(fb, dist, q_hat, ts_logs["click"].to_numpy(), reps, seed, confidence)
        on = on_policy.loc[(campaign, "bts")]
        rows.append(res.assign(campaign=campaign, on_low=on["low"], on_high=on["high"]))
    table = pd.concat(rows).rename_axis("estimator").reset_index().set_index(["campaign", "estimator"])
    table["inside"] = (table["estimate"] >= table["on_low"]) & (table["estimate"] <= table["on_high"])
    return table, pd.concat(drift)
