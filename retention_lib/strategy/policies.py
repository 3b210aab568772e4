"""Retention strategy: whom to give which offer, under a budget, and what each rule truly earns.

Targeting the customers most likely to leave spends offers on customers who are already gone and
on some whom an offer pushes away. The question is whom an offer *changes*, and by how much money.
This module

- turns predictions into policies under **one budget rule** (:func:`policy`): the budget is a cap, and
  no customer gets an offer whose predicted gain is at or below zero; rules that predict no gain at
  all (random, highest risk of leaving: the usual practice) fill their budget (:func:`fill_budget`);
- values a policy two ways: its true value from the world's potential or expected outcomes
  (:func:`true_value`, split by where the money comes from in :func:`value_by_source`), and the
  estimate a shop could make from held-out randomised data by inverse propensity weighting
  (:func:`ipw_value`), with an interval.

The effects themselves are learned in :mod:`~retention_lib.strategy.learners`. Money is per customer of
the population the policy is applied to, and *incremental*: the profit of the policy minus the profit of
sending no offer at all.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from retention_lib.world import OFFERS

__all__ = [
    "OfferCosts",
    "experiment_frame",
    "policy",
    "fill_budget",
    "assign",
    "true_value",
    "value_by_source",
    "ipw_value",
    "ipw_difference",
    "true_gain_curve",
    "budget_curve",
    "customer_kinds",
    "risk_scores",
]


class OfferCosts:
    """What each offer costs a shop: a contact cost per customer and, for the discount, a share of
    every purchase it pays for. Taken from a world's config, the numbers a shop knows."""

    def __init__(self, discount_rate: float, discount_contact_cost: float, recovery_contact_cost: float):
        self.discount_rate = discount_rate
        self.contact = {"discount": discount_contact_cost, "recovery": recovery_contact_cost}

    @classmethod
    def per_contact(cls, costs: dict[str, float]) -> OfferCosts:
        """A shop's own offers: each arm's cost per customer contacted; spend is taken as paid (net of any
        discount), so no discount rate is applied."""
        out = cls(0.0, 0.0, 0.0)
        out.contact = {str(arm): float(cost) for arm, cost in costs.items()}
        return out

    @classmethod
    def from_config(cls, config) -> OfferCosts:
        return cls(config.discount_rate, config.discount_contact_cost, config.recovery_contact_cost)

    def price_factor(self, offer: str) -> float:
        return 1 - self.discount_rate if offer == "discount" else 1.0


def _check_offer(offer: str) -> None:
    if offer not in OFFERS:
        raise ValueError(f"offer must be one of {list(OFFERS)}, got {offer!r}")


def experiment_frame(observed, costs: OfferCosts) -> pd.DataFrame:
    """The randomised experiment as a shop sees it: one row per customer in it.

    Columns: ``arm`` (``none`` for the control group, else the offer), ``bought`` (any holdout
    purchase), ``spend`` (holdout spend, net of the discount, as paid) and ``profit`` (spend minus
    the contact cost of the arm).
    """
    a = observed.assignment.set_index("customer_id")["group"]
    a = a[a != "not in experiment"].astype(str).replace({"control": "none"})
    hold = observed.purchases[observed.purchases["date"] > observed.cutoff]
    spend = hold.groupby("customer_id")["amount"].sum().reindex(a.index, fill_value=0.0)
    bought = hold.groupby("customer_id").size().reindex(a.index, fill_value=0) > 0
    cost = a.map(lambda arm: costs.contact.get(arm, 0.0))
    return pd.DataFrame({"arm": a, "bought": bought.astype(int), "spend": spend, "profit": spend - cost})


def policy(gains: pd.DataFrame, budget: int, control: str = "none") -> pd.Series:
    """The one budget rule: each customer's best offer by predicted gain, to at most ``budget`` customers,
    highest gain first, and never where the best predicted gain is at or below zero.

    Parameters
    ----------
    gains : DataFrame
        Predicted incremental profit of each offer (one column per offer) per customer.
    budget : int
        Largest number of offers (0 <= budget <= customers): a cap, not a quota.
    control : str
        The arm of customers who get nothing.

    Returns
    -------
    Series of str (``control`` or an offer), indexed like ``gains``.
    """
    if not isinstance(gains, pd.DataFrame):
        raise TypeError(
            "gains: expected a DataFrame of predicted gains, one column per offer; "
            "for a rule that predicts no gain (a score) use fill_budget"
        )
    _check_budget(budget, len(gains))
    if control in gains.columns:
        raise ValueError(f"gains: {control!r} is the no-offer arm; expected one column per offer")
    empty = gains.index[gains.isna().all(axis=1).to_numpy()]
    if len(empty):
        raise ValueError(
            f"gains: {len(empty)} customer(s) have no predicted gain for any offer, e.g. {list(empty[:3])}"
        )
    arms = pd.Series(control, index=gains.index, dtype=object)
    best = gains.max(axis=1)
    choice = gains.idxmax(axis=1)
    order = best[best > 0].sort_values(ascending=False, kind="stable").index[:budget]
    arms[order] = choice[order]
    return arms


def fill_budget(score: pd.Series, budget: int, offer: str, control: str = "none") -> pd.Series:
    """A rule that predicts no gain: ``offer`` to the ``budget`` customers with the highest score
    (customers with a missing score are never chosen). Random targeting and targeting by risk of
    leaving, the usual practice, are such rules: they spend their whole budget."""
    _check_budget(budget, len(score))
    arms = pd.Series(control, index=score.index, dtype=object)
    s = pd.Series(np.asarray(score, dtype=float), index=score.index).dropna()
    order = s.sort_values(ascending=False, kind="stable").index[:budget]
    arms[order] = offer
    return arms


def assign(rule, budget: int) -> pd.Series:
    """Arms of a rule at a budget: a DataFrame of predicted gains obeys :func:`policy`; a
    ``(score, offer)`` pair fills the budget (:func:`fill_budget`)."""
    if isinstance(rule, pd.DataFrame):
        return policy(rule, budget)
    score, offer = rule
    return fill_budget(score, budget, offer)


def _check_budget(budget, n: int) -> None:
    if not isinstance(budget, (int, np.integer)) or isinstance(budget, bool) or budget < 0 or budget > n:
        raise ValueError(f"budget must be a whole number of offers from 0 to {n}, got {budget!r}")


def true_value(arms: pd.Series, truth_customers: pd.DataFrame) -> float:
    """Mean incremental profit per customer of a policy, from the potential outcomes (the truth) or
    their expectations (:func:`~retention_lib.world.expected_outcomes`): ``profit_<arm>`` columns."""
    c = truth_customers.reindex(arms.index)
    unknown = sorted(a for a in pd.unique(arms) if f"profit_{a}" not in c.columns)
    if unknown:
        raise ValueError(
            f"arms: no outcome for {unknown}; expected arms among "
            f"{sorted(k.removeprefix('profit_') for k in c.columns if k.startswith('profit_'))}"
        )
    got = np.zeros(len(arms))
    for arm in pd.unique(arms):
        m = (arms == arm).to_numpy()
        got[m] = c.loc[m, f"profit_{arm}"].to_numpy()
    return float(np.mean(got - c["profit_none"].to_numpy()))


def _ipw_terms(arms: pd.Series, experiment: pd.DataFrame, control: str = "none") -> np.ndarray:
    e = experiment.reindex(arms.index)
    if e["arm"].isna().any():
        missing = arms.index[e["arm"].isna().to_numpy()]
        raise ValueError(f"arms: {len(missing)} customer(s) are not in the experiment, e.g. {list(missing[:3])}")
    tested = set(experiment["arm"])
    if control not in tested:
        raise ValueError(f"control: {control!r} is not an arm of the experiment; its arms are {sorted(tested)}")
    unknown = sorted(set(arms) - tested)
    if unknown:
        raise ValueError(
            f"arms: {unknown} not tested in the experiment (its arms are {sorted(tested)}); "
            "a policy can only be valued on arms the experiment randomised"
        )
    propensity = e["arm"].map(e["arm"].value_counts(normalize=True))
    match = (e["arm"] == arms).to_numpy(dtype=float)
    base = (e["arm"] == control).to_numpy(dtype=float)
    # incremental profit: policy value minus the no-offer policy's, each by inverse propensity weighting
    return (match - base) * e["profit"].to_numpy() / propensity.to_numpy()


def ipw_value(arms: pd.Series, experiment: pd.DataFrame, confidence: float = 0.95, control: str = "none") -> dict:
    """A shop's estimate of a policy's incremental profit per customer, from randomised data.

    Each experiment customer counts when the arm they were randomised to is the one the policy
    gives them, weighted by one over the arm's share (inverse propensity weighting); the no-offer
    policy's value is subtracted the same way. ``arms`` must be indexed by experiment customers.

    Returns
    -------
    dict
        ``value``, ``low``, ``high`` (normal interval of the mean), ``n``.
    """
    terms = _ipw_terms(arms, experiment, control)
    z = stats.norm.ppf(0.5 + confidence / 2)
    se = terms.std(ddof=1) / np.sqrt(len(terms))
    return {
        "value": float(terms.mean()),
        "low": float(terms.mean() - z * se),
        "high": float(terms.mean() + z * se),
        "n": len(terms),
    }


def ipw_difference(
    arms_a: pd.Series, arms_b: pd.Series, experiment: pd.DataFrame, confidence: float = 0.95, control: str = "none"
) -> dict:
    """Policy a minus policy b, estimated on the same randomised customers (paired), with an interval."""
    d = _ipw_terms(arms_a, experiment, control) - _ipw_terms(arms_b, experiment, control)
    z = stats.norm.ppf(0.5 + confidence / 2)
    se = d.std(ddof=1) / np.sqrt(len(d))
    return {"difference": float(d.mean()), "low": float(d.mean() - z * se), "high": float(d.mean() + z * se)}


def true_gain_curve(score, true_effect, points: int = 50) -> pd.DataFrame:
    """Cumulative true effect of targeting customers in order of ``score``: the Qini curve against the truth.

    Returns ``share targeted`` and ``gain`` (sum of the true effects of those targeted, per customer
    of the population), from 0 to all.
    """
    eff = np.asarray(true_effect, dtype=float)
    order = np.argsort(-np.asarray(score, dtype=float), kind="stable")
    cum = np.r_[0.0, np.cumsum(eff[order])] / len(eff)
    at = np.unique(np.linspace(0, len(eff), points + 1).round().astype(int))
    return pd.DataFrame({"share targeted": at / len(eff), "gain": cum[at]})


def budget_curve(rules: dict, outcomes: pd.DataFrame, shares) -> pd.DataFrame:
    """True incremental profit per customer of every rule at every budget (share of customers offered).

    ``rules`` maps a name to a rule as :func:`assign` takes it; ``outcomes`` holds ``profit_<arm>``
    per customer (the truth's potential outcomes or their expectations).
    """
    rows = []
    for share in shares:
        for name, rule in rules.items():
            n = len(rule if isinstance(rule, pd.DataFrame) else rule[0])
            arms = assign(rule, int(round(share * n)))
            rows.append({"policy": name, "budget": share, "profit": true_value(arms, outcomes)})
    return pd.DataFrame(rows)


def value_by_source(arms: pd.Series, expected: pd.DataFrame) -> pd.Series:
    """Where a policy's expected incremental profit per customer comes from, from the columns
    :func:`~retention_lib.world.expected_outcomes` adds: customers the offer makes buy (``won``), extra
    purchases and the discount of customers who buy anyway (``more``), and the offers' cost on customers
    who buy in neither case or only without the offer (``rest``). The three add up to
    :func:`true_value`."""
    e = expected.reindex(arms.index)
    out = dict.fromkeys(("won", "more", "rest"), 0.0)
    for arm in pd.unique(arms):
        if arm == "none":
            continue
        m = (arms == arm).to_numpy()
        for part in out:
            out[part] += float(e.loc[m, f"gain_{arm}_{part}"].sum()) / len(arms)
    return pd.Series(out, name="profit per customer")


def customer_kinds(truth_customers: pd.DataFrame, offer: str) -> pd.Series:
    """Each customer's kind for ``offer`` (known only in a simulation): sure thing, lost cause,
    persuadable or sleeping dog, by whether they buy without and with the offer."""
    _check_offer(offer)
    base = truth_customers["purchases_none"] > 0
    got = truth_customers[f"purchases_{offer}"] > 0
    kind = np.select(
        [base & got, ~base & ~got, ~base & got], ["sure thing", "lost cause", "persuadable"], "sleeping dog"
    )
    return pd.Series(kind, index=truth_customers.index, name="kind").astype(
        pd.CategoricalDtype(["sure thing", "persuadable", "lost cause", "sleeping dog"], ordered=True)
    )


def risk_scores(model, X: pd.DataFrame, y: pd.Series, no_offer, folds: int, seed: int) -> pd.Series:
    """P(buy again with no offer) for every customer in ``X``: cross-fitted for the customers who got no
    offer (each predicted by a model that did not see them), and from a model fitted on all of them
    for the others (who received an offer, so their outcome says nothing about no offer)."""
    no_offer = X.index.intersection(pd.Index(no_offer))
    Xn, yn = X.loc[no_offer].to_numpy(dtype=float), y.loc[no_offer].to_numpy()
    out = pd.Series(np.nan, index=X.index, name="p_buy_no_offer")
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    out[no_offer] = cross_val_predict(clone(model), Xn, yn, cv=cv, method="predict_proba")[:, 1]
    rest = X.index.difference(no_offer)
    if len(rest):
        out[rest] = clone(model).fit(Xn, yn).predict_proba(X.loc[rest].to_numpy(dtype=float))[:, 1]
    return out
