"""Retention strategy: whom to give which offer, under a budget, and what each rule truly earns.

Targeting the customers most likely to leave spends offers on customers who are already gone and
on some whom an offer pushes away. The question is whom an offer *changes*: the uplift
``P(buy | offer) - P(buy | no offer)``. This module

- learns uplift from a randomised experiment (observed data only): a two-model learner and class
  transformation from scikit-uplift, and an X-learner written here (:class:`XLearner`);
- turns predictions into policies under a budget (:func:`policy`): random, highest risk of leaving
  (the usual practice), highest uplift, highest expected profit, the best offer per customer, and
  the oracle that knows each customer's true effects;
- values a policy two ways: its true value from the world's potential outcomes
  (:func:`true_value`), and the estimate a shop could make from held-out randomised data by inverse
  propensity weighting (:func:`ipw_value`), with an interval.

Money is per customer of the population the policy is applied to, and *incremental*: the profit of
the policy minus the profit of sending no offer at all.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator, clone
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from retention_lib.retention import BGNBD, signed_log
from retention_lib.world import OFFERS

__all__ = [
    "OfferCosts",
    "experiment_frame",
    "XLearner",
    "make_uplift_models",
    "fit_uplift",
    "expected_gain",
    "policy",
    "true_value",
    "ipw_value",
    "ipw_difference",
    "true_gain_curve",
    "budget_curve",
    "customer_kinds",
    "customer_value",
    "risk_scores",
    "cross_fit_uplift",
    "qini_area",
    "uplift_area",
]


class OfferCosts:
    """What each offer costs a shop: a contact cost per customer and, for the discount, a share of
    every purchase it pays for. Taken from a world's config, the numbers a shop knows."""

    def __init__(self, discount_rate: float, discount_contact_cost: float, recovery_contact_cost: float):
        self.discount_rate = discount_rate
        self.contact = {"discount": discount_contact_cost, "recovery": recovery_contact_cost}

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


class XLearner(BaseEstimator):
    """The X-learner (Kunzel et al. 2019) for a binary outcome and a randomised treatment.

    1. Outcome models ``mu0`` (control) and ``mu1`` (treated), classifiers with ``predict_proba``.
    2. Imputed effects: ``y - mu0(x)`` for the treated, ``mu1(x) - y`` for the controls.
    3. Effect models ``tau1``, ``tau0`` (regressors) on them, combined with the propensity ``g``
       (known in an experiment: the treated share): ``g tau0(x) + (1 - g) tau1(x)``.

    In formulas, with ``g = P(treated)``::

        D1 = y - mu0(x)  (treated),  D0 = mu1(x) - y  (controls)
        tau(x) = g * tau0(x) + (1 - g) * tau1(x),  tau1 ~ E[D1 | x],  tau0 ~ E[D0 | x]

    Same surface as scikit-uplift's models: ``fit(X, y, treatment)``, ``predict(X)`` -> uplift (n,).

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression, LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2000, 2)); t = rng.random(2000) < 0.5
    >>> y = (rng.random(2000) < 0.3 + 0.2 * t * (X[:, 0] > 0)).astype(int)  # the offer works when x0 > 0
    >>> up = XLearner(LogisticRegression(), LinearRegression()).fit(X, y, t).predict(X)
    >>> bool(up[X[:, 0] > 0].mean() > up[X[:, 0] <= 0].mean())
    True
    """

    def __init__(self, outcome_model, effect_model):
        self.outcome_model = outcome_model
        self.effect_model = effect_model

    def fit(self, X, y, treatment) -> XLearner:
        X, y, t = np.asarray(X, dtype=float), np.asarray(y, dtype=float), np.asarray(treatment).astype(bool)
        if t.all() or (~t).all():
            raise ValueError("treatment: need both treated and control customers")
        self.mu0_ = clone(self.outcome_model).fit(X[~t], y[~t])
        self.mu1_ = clone(self.outcome_model).fit(X[t], y[t])
        d1 = y[t] - self.mu0_.predict_proba(X[t])[:, 1]
        d0 = self.mu1_.predict_proba(X[~t])[:, 1] - y[~t]
        self.tau1_ = clone(self.effect_model).fit(X[t], d1)
        self.tau0_ = clone(self.effect_model).fit(X[~t], d0)
        self.propensity_ = float(t.mean())
        return self

    def predict(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        g = self.propensity_
        return g * self.tau0_.predict(X) + (1 - g) * self.tau1_.predict(X)


def make_uplift_models(seed: int) -> dict:
    """The uplift models compared, unfitted: ``t_learner`` and ``class_transformation`` (scikit-uplift)
    and ``x_learner`` (here), all on regularised logistic regressions (an experiment arm holds a few
    hundred customers: flexible models overfit). Missing text features are imputed by the mean."""
    from sklift.models import ClassTransformation, TwoModels

    def prep():
        return [SimpleImputer(strategy="mean"), FunctionTransformer(signed_log), StandardScaler()]

    def clf():
        return make_pipeline(*prep(), LogisticRegression(C=0.1, max_iter=2000, random_state=seed))

    return {
        "t_learner": TwoModels(estimator_trmnt=clf(), estimator_ctrl=clf(), method="vanilla"),
        "class_transformation": ClassTransformation(estimator=clf()),
        "x_learner": XLearner(outcome_model=clf(), effect_model=make_pipeline(*prep(), Ridge(alpha=10.0))),
    }


def fit_uplift(model, features: pd.DataFrame, experiment: pd.DataFrame, offer: str):
    """Fit an uplift model of ``offer`` against control on the experiment's customers in ``features``."""
    _check_offer(offer)
    e = experiment[experiment["arm"].isin(["none", offer])]
    X = features.reindex(e.index)
    if X.isna().all(axis=1).any():
        raise ValueError("features: some experiment customers have no features")
    return clone(model).fit(X.to_numpy(dtype=float), e["bought"].to_numpy(), (e["arm"] == offer).to_numpy().astype(int))


def expected_gain(uplift, p_buy_offer, value, offer: str, costs: OfferCosts) -> np.ndarray:
    """Expected incremental profit of giving ``offer``: ``uplift * value - p1 * value * d - contact``.

    ``p_buy_offer`` is P(buy | offer), ``value`` the spend of a customer who buys (before any
    discount); the discount (rate ``d``) is paid on every purchase made under it, including by
    customers who would have bought anyway.
    """
    _check_offer(offer)
    uplift, p1, value = (np.asarray(v, dtype=float) for v in (uplift, p_buy_offer, value))
    return uplift * value - p1 * value * (1 - costs.price_factor(offer)) - costs.contact[offer]


def policy(scores: pd.DataFrame | pd.Series, budget: int, offer: str | None = None, seed: int = 0) -> pd.Series:
    """Which arm each customer gets: the ``budget`` customers with the highest score get the offer.

    Parameters
    ----------
    scores : Series or DataFrame
        One score per customer (higher = more deserving of ``offer``); or one column per offer
        (expected gains), in which case each customer's best offer competes, and only customers
        whose best gain is positive are targeted, up to ``budget``. ``"random"`` as ``scores`` is
        not accepted: pass random numbers.
    budget : int
        Largest number of offers (0 <= budget <= customers).
    offer : str or None
        The offer given, for a single score.

    Returns
    -------
    Series of str (``none`` or an offer), indexed like ``scores``.
    """
    n = len(scores)
    if not isinstance(budget, (int, np.integer)) or budget < 0 or budget > n:
        raise ValueError(f"budget must be a whole number of offers from 0 to {n}, got {budget!r}")
    arms = pd.Series("none", index=scores.index, dtype=object)
    if isinstance(scores, pd.DataFrame):
        for col in scores.columns:
            _check_offer(col)
        best = scores.max(axis=1)
        choice = scores.idxmax(axis=1)
        order = best[best > 0].sort_values(ascending=False, kind="stable").index[:budget]
        arms[order] = choice[order]
        return arms
    if offer is None:
        raise ValueError("offer: name the offer a single score targets")
    _check_offer(offer)
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")[:budget]
    arms.iloc[order] = offer
    return arms


def true_value(arms: pd.Series, truth_customers: pd.DataFrame) -> float:
    """Mean incremental profit per customer of a policy, from the potential outcomes (the truth)."""
    c = truth_customers.reindex(arms.index)
    got = np.zeros(len(arms))
    for arm in pd.unique(arms):
        m = (arms == arm).to_numpy()
        got[m] = c.loc[m, f"profit_{arm}"].to_numpy()
    return float(np.mean(got - c["profit_none"].to_numpy()))


def _ipw_terms(arms: pd.Series, experiment: pd.DataFrame) -> np.ndarray:
    e = experiment.reindex(arms.index)
    propensity = e["arm"].map(e["arm"].value_counts(normalize=True))
    match = (e["arm"] == arms).to_numpy(dtype=float)
    base = (e["arm"] == "none").to_numpy(dtype=float)
    # incremental profit: policy value minus the no-offer policy's, each by inverse propensity weighting
    return (match - base) * e["profit"].to_numpy() / propensity.to_numpy()


def ipw_value(arms: pd.Series, experiment: pd.DataFrame, confidence: float = 0.95) -> dict:
    """A shop's estimate of a policy's incremental profit per customer, from randomised data.

    Each experiment customer counts when the arm they were randomised to is the one the policy
    gives them, weighted by one over the arm's share (inverse propensity weighting); the no-offer
    policy's value is subtracted the same way. ``arms`` must be indexed by experiment customers.

    Returns
    -------
    dict
        ``value``, ``low``, ``high`` (normal interval of the mean), ``n``.
    """
    terms = _ipw_terms(arms, experiment)
    z = stats.norm.ppf(0.5 + confidence / 2)
    se = terms.std(ddof=1) / np.sqrt(len(terms))
    return {
        "value": float(terms.mean()),
        "low": float(terms.mean() - z * se),
        "high": float(terms.mean() + z * se),
        "n": len(terms),
    }


def ipw_difference(arms_a: pd.Series, arms_b: pd.Series, experiment: pd.DataFrame, confidence: float = 0.95) -> dict:
    """Policy a minus policy b, estimated on the same randomised customers (paired), with an interval."""
    d = _ipw_terms(arms_a, experiment) - _ipw_terms(arms_b, experiment)
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


def budget_curve(score_policies: dict, truth_customers: pd.DataFrame, shares) -> pd.DataFrame:
    """True incremental profit per customer of every policy at every budget (share of customers offered).

    ``score_policies`` maps a policy name to ``(scores, offer)`` (offer None for per-offer score
    frames) as :func:`policy` takes them.
    """
    rows = []
    for share in shares:
        for name, (scores, offer) in score_policies.items():
            budget = int(round(share * len(scores)))
            rows.append(
                {"policy": name, "budget": share, "profit": true_value(policy(scores, budget, offer), truth_customers)}
            )
    return pd.DataFrame(rows)


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


def customer_value(summary: pd.DataFrame, purchases: pd.DataFrame, cutoff, horizon: float) -> pd.Series:
    """What a customer who buys in the next ``horizon`` weeks is worth, from observed data only:
    BG/NBD's expected purchases given at least one (expected purchases / P(any purchase)) times the
    customer's mean spend per purchase before ``cutoff``."""
    bg = BGNBD(horizon=horizon).fit(summary)
    n_if_buy = bg.expected_purchases(summary) / np.clip(bg.predict_proba(summary)[:, 1], 1e-9, 1)
    spend = purchases[purchases["date"] <= pd.Timestamp(cutoff)].groupby("customer_id")["amount"].mean()
    return (pd.Series(n_if_buy, index=summary.index) * spend.reindex(summary.index)).rename("value")


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


def cross_fit_uplift(
    model, features: pd.DataFrame, experiment: pd.DataFrame, offer: str, folds: int = 2, seed: int = 0
) -> pd.Series:
    """Uplift of ``offer`` for every experiment customer, each predicted by a model fitted on the
    other folds (so that evaluating on the experiment is honest)."""
    _check_offer(offer)
    ids = experiment.index
    fold = np.random.default_rng(seed).integers(0, folds, len(ids))
    out = pd.Series(np.nan, index=ids, name=f"uplift_{offer}")
    for f in range(folds):
        fitted = fit_uplift(model, features, experiment.iloc[fold != f], offer)
        out.iloc[fold == f] = fitted.predict(features.loc[ids[fold == f]].to_numpy(dtype=float))
    return out


def uplift_area(bought, uplift, treated) -> float:
    """scikit-uplift's area under the uplift curve (the cumulative difference in purchase rates between
    treated and control customers, taken in order of predicted uplift), with the same warning silenced
    as :func:`qini_area`."""
    from sklift.metrics import uplift_auc_score

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*stable_cumsum.*", category=FutureWarning)
        return float(uplift_auc_score(np.asarray(bought), np.asarray(uplift), np.asarray(treated)))


def qini_area(bought, uplift, treated) -> float:
    """scikit-uplift's normalised area under the Qini curve (1 = the best possible ranking, 0 = random)
    of an uplift prediction on randomised data. scikit-uplift 0.5.1 calls a scikit-learn helper that
    warns it is deprecated; the warning is silenced here (the pin scikit-learn<1.10 keeps it working)."""
    from sklift.metrics import qini_auc_score

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*stable_cumsum.*", category=FutureWarning)
        return float(qini_auc_score(np.asarray(bought), np.asarray(uplift), np.asarray(treated)))
