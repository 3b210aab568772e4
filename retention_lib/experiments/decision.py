"""Testing a decision: whole targeting rules against each other and against no offer, in one randomised
test, repeated many times in the linked world.

A policy acts only on the customers it targets; on everyone else every arm of the test is "no offer"
and the difference between arms is zero. So the test enrols the customers whom *some* policy targets
(the policies are fixed functions of what was known before the test, so this is a choice of population,
not a selection on the outcome), and reads the value per enrolled customer; times the enrolled share it
is the value per customer of the whole population.

:func:`policy_bank` is the population the tests sample: every enrolled customer with ``draws`` fresh
holdouts under every arm (:func:`~retention_lib.world.replay_outcomes`), so that a customer drawn into
a test gets the outcome of the arm their policy gives them, with luck of its own. The truth of every
comparison is then the bank's own mean (:meth:`PolicyBank.truth`), exactly the estimand of a test that
samples it. :func:`decision_tests` runs the tests and reads each with Welch's interval and with a
covariate adjustment (CUPED with pre-period spend, CUPAC with a model's prediction), computed from each
arm's means, variances and covariance (:func:`welch_from_moments`, :func:`adjusted_from_moments`, which
the tests check against :func:`~.analysis.welch` and :func:`~.analysis.cuped` on the raw data).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from retention_lib.world import ARMS, replay_outcomes

from .design import ExperimentError, _check_n, _check_prob

__all__ = [
    "CONTROL",
    "PolicyBank",
    "policy_bank",
    "decision_tests",
    "decision_summary",
    "interaction_tests",
    "welch_from_moments",
    "adjusted_from_moments",
]

#: The name of the test's arm in which nobody gets an offer.
CONTROL = "no offer"
METRICS = ("profit", "bought")


@dataclass(frozen=True)
class PolicyBank:
    """The enrolled customers, the arm each policy gives each of them, and ``draws`` holdouts of each
    under every arm: ``outcomes[metric]`` is (arms, draws, enrolled), arms in the order of
    :data:`~retention_lib.world.ARMS`. ``covariates`` (enrolled x name) were known before the test;
    ``population`` is the number of customers the policies choose from."""

    customers: pd.Index
    actions: pd.DataFrame
    outcomes: dict
    covariates: pd.DataFrame
    population: int

    @property
    def enrolled_share(self) -> float:
        return len(self.customers) / self.population

    def _codes(self, arm: str) -> np.ndarray:
        if arm == CONTROL:
            return np.zeros(len(self.customers), dtype=np.int64)
        return self.actions[arm].map({a: i for i, a in enumerate(ARMS)}).to_numpy(dtype=np.int64)

    @property
    def arms(self) -> list:
        return [CONTROL, *self.actions.columns]

    def subset(self, customers) -> PolicyBank:
        """The same bank restricted to some of its enrolled customers (a subgroup's own test)."""
        keep = self.customers.get_indexer(pd.Index(customers))
        if (keep < 0).any() or len(keep) < 2:
            raise ExperimentError("subset: need at least 2 customers, all of them enrolled in the bank")
        return PolicyBank(
            self.customers[keep],
            self.actions.iloc[keep],
            {m: o[:, :, keep] for m, o in self.outcomes.items()},
            self.covariates.iloc[keep],
            self.population,
        )

    def values(self, arm: str, metric: str = "profit") -> np.ndarray:
        """The outcomes of the bank under ``arm`` (a policy or :data:`CONTROL`): (enrolled, draws)."""
        if arm not in self.arms or metric not in self.outcomes:
            raise ExperimentError(
                f"values: arm among {self.arms} and metric among {list(self.outcomes)}, got {arm!r}, {metric!r}"
            )
        return self.outcomes[metric][self._codes(arm), :, np.arange(len(self.customers))]

    def truth(self) -> pd.DataFrame:
        """Each arm's true mean of each metric per enrolled customer: the mean over all customers and
        draws of the bank (what a test that samples the bank estimates)."""
        return pd.DataFrame({m: {arm: float(self.values(arm, m).mean()) for arm in self.arms} for m in self.outcomes})


def policy_bank(
    world,
    policies: dict,
    draws: int,
    seed: int = 0,
    covariates: pd.DataFrame | None = None,
    chunk_rows: int = 2_000_000,
) -> PolicyBank:
    """The population a test of ``policies`` samples (see the module's docstring).

    ``policies``: name -> Series of arms (``"none"`` or an offer) indexed by customer ids of the world,
    all over the same population (e.g. from :func:`~retention_lib.strategy.assign`). ``covariates``:
    pre-period columns indexed by customer id (at least the enrolled). ``draws``: holdouts per enrolled
    customer (more draws, a finer population; the truth is the bank's own mean either way).
    """
    if not policies:
        raise ExperimentError("policies: give at least one policy to test against no offer")
    if CONTROL in policies:
        raise ExperimentError(f"policies: {CONTROL!r} is the test's control arm, added by itself; rename the policy")
    frame = pd.DataFrame(dict(policies))
    if frame.isna().any().any():
        raise ExperimentError("policies: every policy must give an arm to every customer of the same population")
    unknown = sorted(set(pd.unique(frame.to_numpy().ravel())) - set(ARMS))
    if unknown:
        raise ExperimentError(f"policies: unknown arm(s) {unknown}; expected among {list(ARMS)}")
    ids = world.truth.customers.index
    outside = frame.index.difference(ids)
    if len(outside):
        raise ExperimentError(f"policies: {len(outside)} customer(s) are not in the world, e.g. {list(outside[:3])}")
    if draws < 1:
        raise ExperimentError(f"draws must be >= 1, got {draws}")
    enrolled = frame.index[(frame != "none").any(axis=1).to_numpy()]
    if len(enrolled) < 2:
        raise ExperimentError("policies: they target fewer than 2 customers; there is nothing to test")
    cov = pd.DataFrame(index=enrolled) if covariates is None else covariates.reindex(enrolled)
    if cov.isna().any().any():
        bad = cov.columns[cov.isna().any()].tolist()
        raise ExperimentError(f"covariates: missing for some enrolled customers in {bad}")
    rows = ids.get_indexer(enrolled)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 93]))
    per = max(1, chunk_rows // len(rows))
    parts = {m: [] for m in METRICS}
    for start in range(0, draws, per):
        k = min(per, draws - start)
        out = replay_outcomes(world, np.tile(rows, (k, 1)), seed=int(rng.integers(2**31)))
        for m in METRICS:
            parts[m].append(np.stack([out[a][m].astype(float) for a in ARMS]))
    outcomes = {m: np.concatenate(p, axis=1) for m, p in parts.items()}
    return PolicyBank(enrolled, frame.loc[enrolled], outcomes, cov, len(frame))


def welch_from_moments(m_a, v_a, n_a, m_b, v_b, n_b, confidence: float = 0.95) -> dict:
    """Welch's interval and test of ``a - b`` from each arm's mean, variance (ddof 1) and size; arrays
    are accepted. The same numbers as SciPy's ``ttest_ind(equal_var=False)`` on the raw data."""
    m_a, v_a, n_a, m_b, v_b, n_b = (np.asarray(x, dtype=float) for x in (m_a, v_a, n_a, m_b, v_b, n_b))
    qa, qb = v_a / n_a, v_b / n_b
    se = np.sqrt(qa + qb)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = (qa + qb) ** 2 / (qa**2 / (n_a - 1) + qb**2 / (n_b - 1))
        t = (m_a - m_b) / se
    half = stats.t.ppf(0.5 + confidence / 2, df) * se
    diff = m_a - m_b
    return {"diff": diff, "low": diff - half, "high": diff + half, "p_value": 2 * stats.t.sf(np.abs(t), df), "se": se}


def adjusted_from_moments(ma, mb, confidence: float = 0.95) -> dict:
    """CUPED's difference (:func:`~.analysis.cuped`) from the moments of the two arms.

    ``ma``, ``mb``: dicts of ``n``, ``my``, ``vy``, ``mx``, ``vx``, ``cxy`` (means, variances and the
    covariance, ddof 1; arrays accepted). ``theta`` is pooled over both arms as :func:`cuped` pools it,
    and Welch's test runs on ``y - theta (x - mean x)``.
    """
    na, nb = ma["n"], mb["n"]
    n = na + nb
    between = na * nb / n
    dx, dy = ma["mx"] - mb["mx"], ma["my"] - mb["my"]
    cxy = ((na - 1) * ma["cxy"] + (nb - 1) * mb["cxy"] + between * dx * dy) / (n - 1)
    vx = ((na - 1) * ma["vx"] + (nb - 1) * mb["vx"] + between * dx**2) / (n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        theta = np.where(vx > 0, cxy / vx, 0.0)
    var = lambda m: m["vy"] - 2 * theta * m["cxy"] + theta**2 * m["vx"]  # noqa: E731
    out = welch_from_moments(
        ma["my"] - theta * ma["mx"], var(ma), na, mb["my"] - theta * mb["mx"], var(mb), nb, confidence
    )
    out["theta"] = theta
    return out


def _moments(y: np.ndarray, x: np.ndarray | None = None, of_y: dict | None = None) -> dict:
    """Per test (row): size, mean and variance of ``y`` (or ``of_y``, already computed for this ``y``), and with
    a covariate ``x`` its mean, variance and covariance with ``y``."""
    n = y.shape[1]
    out = (
        dict(of_y)
        if of_y is not None
        else {"n": np.full(y.shape[0], float(n)), "my": y.mean(1), "vy": y.var(1, ddof=1)}
    )
    if x is not None:
        out["mx"], out["vx"] = x.mean(1), x.var(1, ddof=1)
        out["cxy"] = ((y - out["my"][:, None]) * (x - out["mx"][:, None])).sum(1) / (n - 1)
    return out


def decision_tests(
    bank: PolicyBank,
    n_per_arm: int,
    tests: int,
    seed: int = 0,
    confidence: float = 0.95,
    chunk_units: int = 3_000_000,
) -> pd.DataFrame:
    """``tests`` randomised tests of every policy of ``bank`` and no offer, ``n_per_arm`` enrolled
    customers per arm each (drawn from the bank with replacement, each with a draw of luck).

    Every pair of arms is compared on every metric (profit per customer, share who buy), by Welch
    (method ``"Welch"``) and adjusted for each covariate of the bank (the method is the covariate's
    name). Returns one row per test, comparison (``a - b``; no offer is always ``b``), metric and
    method: ``estimate``, ``low``, ``high``, ``p_value``, ``se``, per enrolled customer.
    """
    _check_n("n_per_arm", n_per_arm)
    _check_prob("confidence", confidence)
    if tests < 1:
        raise ExperimentError(f"tests must be >= 1, got {tests}")
    arms = bank.arms
    draws, n_e = bank.outcomes[METRICS[0]].shape[1:]
    codes = {arm: bank._codes(arm) for arm in arms}
    covs = {name: bank.covariates[name].to_numpy(dtype=float) for name in bank.covariates.columns}
    rng = np.random.default_rng(np.random.SeedSequence([seed, 94]))
    per = max(1, chunk_units // (len(arms) * n_per_arm))
    rows = []
    for start in range(0, tests, per):
        k = min(per, tests - start)
        mom = {}
        for arm in arms:
            unit = rng.integers(0, draws * n_e, (k, n_per_arm))
            d, j = np.divmod(unit, n_e)
            a = codes[arm][j]
            for m in METRICS:
                y = bank.outcomes[m][a, d, j]
                mom[arm, m, None] = of_y = _moments(y)
                for name, x in covs.items():
                    mom[arm, m, name] = _moments(y, x[j], of_y)  # y's own moments computed once
        for a_, b_ in combinations(arms, 2):
            first, second = (b_, a_) if a_ == CONTROL else (a_, b_)
            for m in METRICS:
                reads = {
                    "Welch": welch_from_moments(
                        *(mom[first, m, None][key] for key in ("my", "vy", "n")),
                        *(mom[second, m, None][key] for key in ("my", "vy", "n")),
                        confidence,
                    )
                }
                for name in covs:
                    reads[name] = adjusted_from_moments(mom[first, m, name], mom[second, m, name], confidence)
                for method, r in reads.items():
                    rows.append(
                        pd.DataFrame(
                            {
                                "test": np.arange(start, start + k),
                                "comparison": f"{first} - {second}",
                                "metric": m,
                                "method": method,
                                "estimate": r["diff"],
                                "low": r["low"],
                                "high": r["high"],
                                "p_value": r["p_value"],
                                "se": r["se"],
                            }
                        )
                    )
    return pd.concat(rows, ignore_index=True)


def decision_summary(results: pd.DataFrame, truth: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Per comparison, metric and method: the true difference, coverage of the intervals (with its Monte
    Carlo standard error), mean width, the share of tests significant, and the share whose estimate has the
    true sign (the test *picks* the truly better arm) and is significant with it."""
    _check_prob("alpha", alpha)
    out = []
    for (comp, metric, method), g in results.groupby(["comparison", "metric", "method"], sort=False):
        a, b = comp.split(" - ")
        true = truth.loc[a, metric] - truth.loc[b, metric]
        hit = ((g["low"] <= true) & (true <= g["high"])).mean()
        sig = g["p_value"] < alpha
        right = np.sign(g["estimate"]) == np.sign(true)
        out.append(
            {
                "comparison": comp,
                "metric": metric,
                "method": method,
                "true difference": true,
                "mean estimate": g["estimate"].mean(),
                "coverage": hit,
                "coverage se": np.sqrt(hit * (1 - hit) / len(g)),
                "mean width": (g["high"] - g["low"]).mean(),
                "share significant": sig.mean(),
                "picks the better": right.mean(),
                "picks it significantly": (sig & right).mean(),
                "tests": len(g),
            }
        )
    return pd.DataFrame(out).set_index(["comparison", "metric", "method"])


def interaction_tests(
    inside: pd.DataFrame,
    outside: pd.DataFrame,
    comparison: str,
    metric: str = "profit",
    method: str = "Welch",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """The heterogeneity test of each pair of independent tests, one inside a subgroup and one outside it
    (two results of :func:`decision_tests`): the difference of the two effects of ``comparison``, with a
    normal interval from the two standard errors, and its p-value. Returns one row per test: ``estimate``,
    ``low``, ``high``, ``p_value``."""
    _check_prob("confidence", confidence)
    pick = lambda r: r[(r["comparison"] == comparison) & (r["metric"] == metric) & (r["method"] == method)].set_index(  # noqa: E731
        "test"
    )
    a, b = pick(inside), pick(outside)
    if a.empty or not a.index.equals(b.index):
        raise ExperimentError(
            f"interaction_tests: both results need the same tests of {comparison!r} ({metric}, {method}); "
            f"got {len(a)} and {len(b)}"
        )
    est = a["estimate"] - b["estimate"]
    se = np.sqrt(a["se"] ** 2 + b["se"] ** 2)
    half = stats.norm.isf((1 - confidence) / 2) * se
    return pd.DataFrame(
        {"estimate": est, "low": est - half, "high": est + half, "p_value": 2 * stats.norm.sf(np.abs(est) / se)}
    )


def guardrail(results: pd.DataFrame, truth: pd.DataFrame, margin: float, metric: str = "bought", method: str = "Welch"):
    """A non-inferiority guardrail on ``metric`` for every policy against no offer: the policy passes a test
    when the lower end of its interval of ``policy - no offer`` lies above ``-margin`` (with 95 % intervals,
    a one-sided test at 2.5 %). Returns, per policy: the true change, the first test's estimate and lower
    end, whether the first test passes, and the share of tests that pass."""
    if not margin >= 0:
        raise ExperimentError(f"margin must be >= 0 (a largest acceptable fall), got {margin!r}")
    rows = {}
    for policy in [a for a in truth.index if a != CONTROL]:
        g = results[
            (results["comparison"] == f"{policy} - {CONTROL}")
            & (results["metric"] == metric)
            & (results["method"] == method)
        ].sort_values("test")
        if g.empty:
            raise ExperimentError(f"guardrail: no tests of {policy!r} against {CONTROL!r} on {metric!r} by {method!r}")
        rows[policy] = {
            "true change": truth.loc[policy, metric] - truth.loc[CONTROL, metric],
            "first test: estimate": g["estimate"].iloc[0],
            "first test: lower end": g["low"].iloc[0],
            "first test passes": bool(g["low"].iloc[0] > -margin),
            "tests that pass": float((g["low"] > -margin).mean()),
        }
    return pd.DataFrame(rows).T
