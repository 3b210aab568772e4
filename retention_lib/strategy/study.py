"""The decision study: the book's policy set, and how large an experiment must be before targeting pays.

A :class:`StudyWorld` is a linked world simulated large enough to hold many experiments: its first
customers are the pool experiments are drawn from (nested: a larger experiment contains the smaller),
its last ``n_eval`` customers the population the learned rules are applied to, whose expected outcomes
(:func:`~retention_lib.world.expected_outcomes`) give every rule's true value. :func:`size_study` runs
experiments of several sizes in several worlds; :func:`exploration_sweep` counts what an experiment
costs a fixed population against targeting by risk at once. :func:`rule_set` is the one place the
policies compared in chapter 08 are defined.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor

from retention_lib import world as world_mod
from retention_lib.profiles.text_value import last_review_groups, observed_sets
from retention_lib.retention.classifiers import gradient_boosting

from .learners import PolicyTree, ProfitEffects
from .policies import assign, fill_budget, ipw_value, true_value

__all__ = [
    "StudyWorld",
    "study_world",
    "rule_set",
    "text_rule_score",
    "size_study",
    "exploration_sweep",
    "feature_ceiling",
    "LEARNERS",
]

#: The learned rules of the study: name -> (feature set, learner class).
LEARNERS = {
    "DR, behaviour": ("behaviour", ProfitEffects),
    "DR, behaviour + reviews": ("behaviour + lm", ProfitEffects),
    "policy tree": ("behaviour + lm", PolicyTree),
}


@dataclass
class StudyWorld:
    """A world for the study, with what the rules need: features of every customer, the experiment
    pool's ids (in order) and the arm each is randomised to, the population's ids, its expected outcomes
    (what every rule is valued on) and risk of leaving, every customer's text score
    (:func:`text_rule_score`), the oracle's gains (expected gains from *independent* draws, so that the
    oracle is not valued on the noise it chose by) and the ceiling's (:func:`feature_ceiling`)."""

    world: object
    features: dict
    pool_ids: pd.Index
    eval_ids: pd.Index
    expected: pd.DataFrame
    risk: pd.Series
    text_score: pd.Series
    oracle: pd.DataFrame
    ceiling: pd.DataFrame
    pool_arms: pd.Series


def text_rule_score(observed, reading: pd.DataFrame, customers) -> pd.Series:
    """The text rule's score: the last review's ``p_negative`` where that review reads negative, missing
    otherwise (so :func:`fill_budget` sends the recovery contact only to those customers, surest first)."""
    groups = last_review_groups(observed, reading, customers)
    r = observed.reviews.assign(p=reading["p_negative"].to_numpy())
    r = r[r["date"] <= observed.cutoff].sort_values(["customer_id", "date"], kind="stable")
    last = r.groupby("customer_id")["p"].last().reindex(pd.Index(customers))
    return last.where((groups == "negative").to_numpy()).rename("text score")


def study_world(seed: int, n_pool: int, n_eval: int, pool, read, settings: dict, draws: int) -> StudyWorld:
    """Simulate a world of ``n_pool + n_eval`` customers with ``settings`` (chapter 05's) and ``seed``;
    read its reviews with ``read`` (texts -> reading); fit the risk model on the pool's customers who got
    no offer in the world's own experiment; expected outcomes of the population from ``draws`` draws
    (twice, independently: one set values the rules, the other is the oracle's knowledge); randomise the
    pool to the three arms once, in consecutive triples, so that every experiment is balanced and a
    larger one contains a smaller one, arms included."""
    w = world_mod.simulate(n_pool + n_eval, seed=seed, pool=pool, **settings)
    reading = read(w.observed.reviews["text"])
    ids = w.truth.customers.index
    sets, bought = observed_sets(w.observed, {"lm": reading}, customers=ids)
    pool_ids, eval_ids = ids[:n_pool], ids[n_pool:]
    no_offer = world_mod.no_offer_customers(w.observed).intersection(pool_ids)
    X = sets["behaviour + lm"]
    risk_model = gradient_boosting(seed).fit(X.loc[no_offer].to_numpy(dtype=float), bought.loc[no_offer].to_numpy())
    risk = pd.Series(1 - risk_model.predict_proba(X.loc[eval_ids].to_numpy(dtype=float))[:, 1], index=eval_ids)
    rows = np.arange(n_pool, n_pool + n_eval)
    expected = world_mod.expected_outcomes(w, draws=draws, seed=seed, rows=rows)
    oracle = true_gains(world_mod.expected_outcomes(w, draws=draws, seed=seed + 10_000, rows=rows))
    rng = np.random.default_rng([seed, 3])
    triples = -(-n_pool // 3)
    pool_arms = pd.Series(
        np.concatenate([rng.permutation(world_mod.ARMS) for _ in range(triples)])[:n_pool], index=pool_ids
    )
    ceiling = feature_ceiling(w, X, pool_ids[: min(n_pool, 2 * n_eval)], eval_ids, draws, seed)
    score = text_rule_score(w.observed, reading, ids)
    return StudyWorld(w, sets, pool_ids, eval_ids, expected, risk, score, oracle, ceiling, pool_arms)


def rule_set(learned: dict, risk: pd.Series, text_score: pd.Series, oracle: pd.DataFrame | None, seed: int) -> dict:
    """The policies compared, over one population, as :func:`~.policies.assign` takes them.

    ``random`` and ``risk`` (the discount to a random set, or to the customers most likely to leave:
    the usual practice) predict no gain and fill the budget; the ``text rule`` sends the recovery
    contact to customers whose last review reads negative, up to the budget; every learned rule (a frame
    of predicted gains) and the ``oracle`` (expected true gains) obey the one budget rule.
    """
    rng = np.random.default_rng(seed)
    rules = {
        "random": (pd.Series(rng.random(len(risk)), index=risk.index), "discount"),
        "risk": (risk, "discount"),
        "text rule": (text_score.loc[risk.index], "recovery"),
        **learned,
    }
    if oracle is not None:
        rules["oracle"] = oracle
    return rules


def _experiment(sw: StudyWorld, per_arm: int) -> pd.DataFrame:
    """The first ``3 * per_arm`` customers of the pool with the arms they were randomised to (equal
    numbers), and the profit of the arm each received (the world's potential outcomes)."""
    if 3 * per_arm > len(sw.pool_ids):
        raise ValueError(f"per_arm: {per_arm} per arm needs {3 * per_arm} customers; the pool has {len(sw.pool_ids)}")
    arms = sw.pool_arms.iloc[: 3 * per_arm]
    return pd.DataFrame({"arm": arms.to_numpy(), "profit": _received_profit(sw, arms)}, index=arms.index)


def _received_profit(sw: StudyWorld, arms: pd.Series) -> pd.Series:
    """Each customer's profit under the arm they received (the world's potential outcomes)."""
    c = sw.world.truth.customers.loc[arms.index]
    codes = pd.Categorical(arms, categories=world_mod.ARMS).codes
    return pd.Series(np.choose(codes, [c[f"profit_{a}"] for a in world_mod.ARMS]), index=arms.index)


def true_gains(expected: pd.DataFrame) -> pd.DataFrame:
    """Each offer's expected true gain per customer (``profit_<offer> - profit_none``): the oracle's scores."""
    return pd.DataFrame({o: expected[f"profit_{o}"] - expected["profit_none"] for o in world_mod.OFFERS})


def size_study(worlds: list, sizes, budget_share: float, seed: int, learners: dict | None = None) -> pd.DataFrame:
    """True value per customer of every rule after experiments of each size (customers per arm), in
    every world.

    Returns one row per world, size and rule: ``world`` (its seed), ``per_arm``, ``policy``, ``value``
    (true incremental profit per customer of the population); and, per world and size, the text rule's
    IPW estimate on the experiment itself (``policy`` = ``text rule (IPW on the experiment)``, with
    ``low`` and ``high``): what a shop could confirm at that size.
    """
    learners = LEARNERS if learners is None else learners
    rows = []
    for sw in worlds:
        seed_w = sw.world.config.seed
        budget = int(round(budget_share * len(sw.eval_ids)))
        for per_arm in sizes:
            exp = _experiment(sw, per_arm)
            learned = {
                name: cls(seed=seed)
                .fit(sw.features[fs], exp["arm"], exp["profit"])
                .gains(sw.features[fs].loc[sw.eval_ids])
                for name, (fs, cls) in learners.items()
            }
            rules = rule_set({**learned, "best from features": sw.ceiling}, sw.risk, sw.text_score, sw.oracle, seed)
            for name, rule in rules.items():
                value = true_value(assign(rule, budget), sw.expected)
                rows.append({"world": seed_w, "per_arm": per_arm, "policy": name, "value": value})
            text_exp = _text_rule_on_experiment(sw, exp, budget_share)
            rows.append(
                {"world": seed_w, "per_arm": per_arm, "policy": "text rule (IPW on the experiment)", **text_exp}
            )
    return pd.DataFrame(rows)


def feature_ceiling(w, features: pd.DataFrame, train_ids, eval_ids, draws: int, seed: int) -> pd.DataFrame:
    """Gains predicted from the shop's features by a learner that sees the *true* expected gains of
    ``train_ids`` (other customers of the same world; known only here): what an experiment of unlimited
    size could teach a learner of this kind. An estimate, not a bound: another learner might find more."""
    c = w.truth.customers
    rows = c.index.get_indexer(pd.Index(train_ids))
    truth = true_gains(world_mod.expected_outcomes(w, draws=draws, seed=seed + 20_000, rows=rows))
    X = features.loc[train_ids].to_numpy(dtype=float)
    out = {}
    for o in truth.columns:
        m = HistGradientBoostingRegressor(max_iter=200, learning_rate=0.05, min_samples_leaf=50, random_state=seed)
        out[o] = m.fit(X, truth[o].to_numpy()).predict(features.loc[eval_ids].to_numpy(dtype=float))
    return pd.DataFrame(out, index=pd.Index(eval_ids))


def _text_rule_on_experiment(sw: StudyWorld, exp: pd.DataFrame, budget_share: float) -> dict:
    arms = fill_budget(sw.text_score.loc[exp.index], int(round(budget_share * len(exp))), "recovery")
    est = ipw_value(arms, exp)
    return {"value": est["value"], "low": est["low"], "high": est["high"]}


def exploration_sweep(worlds: list, shares, budget_share: float, seed: int) -> pd.DataFrame:
    """What exploring costs, at the same budget: in each world's population (its ``eval_ids``, a fixed set
    of customers), a share of the customers is randomised to the three arms (their expected gains, negative
    for most, are counted, and the experiment's offers count against the budget), a DR learner on profit
    is fitted on them, and the rest are targeted with what is left of the budget. Against it, targeting
    the whole population by risk at once with the whole budget.

    Returns one row per world and share: ``world``, ``share``, ``experiment`` (the experiment's own
    incremental profit, per customer of the population), ``targeting`` (the rest's, same unit), ``total``,
    ``risk now`` and ``offers left`` (the targeting budget after the experiment's offers).
    """
    bad = [s for s in shares if not 0 < s < 1]
    if bad:
        raise ValueError(f"shares: expected shares of the population between 0 and 1 (exclusive), got {bad}")
    rows = []
    for sw in worlds:
        ids, n = sw.eval_ids, len(sw.eval_ids)
        budget = int(round(budget_share * n))
        risk_now = true_value(fill_budget(sw.risk, budget, "discount"), sw.expected)
        gains = true_gains(sw.expected)
        fs = sw.features["behaviour + lm"]
        for share in shares:
            rng = np.random.default_rng([seed, int(share * 1e6), sw.world.config.seed])
            k = 3 * max(1, int(share * n / 3))
            order = rng.permutation(n)
            in_exp, rest = ids[order[:k]], ids[order[k:]]
            arms = pd.Series(np.repeat(np.array(world_mod.ARMS), k // 3), index=in_exp)
            profit = _received_profit(sw, arms)
            explore = sum(float(gains.loc[arms.index[arms == o], o].sum()) for o in world_mod.OFFERS) / n
            left = max(0, budget - int((arms != "none").sum()))
            learned = ProfitEffects(seed=seed).fit(fs, arms, profit).gains(fs.loc[rest])
            target = true_value(assign(learned, left), sw.expected) * len(rest) / n
            rows.append(
                {
                    "world": sw.world.config.seed,
                    "share": share,
                    "experiment": explore,
                    "targeting": target,
                    "total": explore + target,
                    "risk now": risk_now,
                    "offers left": left,
                }
            )
    return pd.DataFrame(rows)
