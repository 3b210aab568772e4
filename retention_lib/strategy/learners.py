"""Each offer's effect on *profit*, learned from a randomised experiment with econml's doubly robust learners.

The decision is about money, so the learners learn the effect of each arm on the outcome the shop banks
(profit per customer: spend, net of any discount, minus the contact cost), not on whether a customer buys.
In an experiment the propensities are known (each arm's share), so the doubly robust (DR) learner's
propensity model is the arm's share (``DummyClassifier(strategy="prior")``, exact for simple
randomisation); its outcome models are cross-fitted gradient boosting; its final model regresses the DR
pseudo-outcome on the features, one per offer. :class:`ProfitEffects` wraps ``econml.dr.DRLearner``,
:class:`PolicyTree` wraps ``econml.policy.DRPolicyTree`` (a shallow tree a manager can read), and
:func:`cross_fit_gains` scores every experiment customer with a model that did not see them.

econml rejects missing values; missing text features (customers without a review) are imputed by the
mean of the training customers, beside the ``has_reviews`` indicator. Trees need nothing else: a monotone
transform does not change them, and thresholds stay in the features' own units.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer

__all__ = ["ProfitEffects", "PolicyTree", "cross_fit_gains", "check_effects", "experiment_arrays", "stratified_folds"]


def experiment_arrays(features: pd.DataFrame, arm, outcome, control: str) -> tuple:
    """Features, arm and outcome of the experiment's customers, checked: every customer has features,
    the control arm is present and every arm has at least two customers. ``arm`` and ``outcome`` are
    Series indexed by customer."""
    arm, outcome = pd.Series(arm), pd.Series(outcome)
    if not arm.index.equals(outcome.index):
        raise ValueError("arm and outcome: expected the same customers in the same order")
    missing = arm.index.difference(features.index)
    if len(missing):
        raise ValueError(f"features: {len(missing)} experiment customer(s) have no features, e.g. {list(missing[:3])}")
    counts = arm.value_counts()
    if control not in counts.index:
        raise ValueError(f"arm: the control arm {control!r} is missing; arms present: {sorted(counts.index)}")
    if (counts < 2).any():
        raise ValueError(f"arm: every arm needs at least two customers, got {counts.to_dict()}")
    if not np.isfinite(outcome.to_numpy(dtype=float)).all():
        raise ValueError("outcome: expected finite numbers for every experiment customer")
    return features.loc[arm.index], arm.astype(str), outcome.astype(float)


def _quiet_ray() -> None:
    """econml imports Ray when it is installed, and Ray's import logs an INFO line about ipywidgets
    inside a notebook; a reader has nothing to do about it."""
    logging.getLogger("ray.widgets.util").setLevel(logging.WARNING)


def _regressor(seed: int, min_leaf: int) -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(max_iter=100, learning_rate=0.1, min_samples_leaf=min_leaf, random_state=seed)


def _final(seed: int, n: int) -> HistGradientBoostingRegressor:
    # the DR pseudo-outcome is the outcome divided by a share (about 1/3): very noisy, so large leaves, slow learning
    return HistGradientBoostingRegressor(
        max_iter=100, learning_rate=0.05, min_samples_leaf=max(50, n // 150), random_state=seed
    )


class _ExperimentLearner:
    """What both learners share: checking the experiment, imputing missing features by the training
    customers' mean, and fitting an econml model (each subclass's ``_model``) on arm and outcome."""

    control: str
    seed: int

    def fit(self, features: pd.DataFrame, arm, outcome):
        """Learn from the experiment: ``features`` of (at least) its customers, ``arm`` and ``outcome``
        Series indexed by customer."""
        X, arm, y = experiment_arrays(features, arm, outcome, self.control)
        self.columns_ = list(features.columns)
        self.offers_ = sorted(set(arm) - {self.control})
        self.imputer_ = SimpleImputer(strategy="mean", keep_empty_features=True).fit(X.to_numpy(dtype=float))
        _quiet_ray()
        self.model_ = self._model(len(arm))
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FutureWarning)
            self.model_.fit(y.to_numpy(), arm.to_numpy(), X=self._matrix(X))
        return self

    def _model(self, n: int):
        raise NotImplementedError

    def _matrix(self, features: pd.DataFrame) -> np.ndarray:
        return self.imputer_.transform(features[self.columns_].to_numpy(dtype=float))


class ProfitEffects(_ExperimentLearner):
    """Each arm's effect on an outcome (profit) against the control arm, by econml's ``DRLearner``.

    Parameters
    ----------
    control : str
        The arm every effect is measured against (``"none"``: no offer).
    seed : int
        Seed of the cross-fitting and of the gradient boosting.

    Examples
    --------
    A planted effect: the offer adds 10 to the outcome of customers with ``x > 0`` and costs 2 elsewhere.

    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"x": rng.normal(size=6000)})
    >>> arm = pd.Series(rng.choice(["none", "offer"], 6000))
    >>> y = rng.normal(size=6000) + (arm == "offer") * np.where(X["x"] > 0, 10.0, -2.0)
    >>> g = ProfitEffects("none", seed=0).fit(X, arm, y).gains(X)
    >>> bool(g["offer"][X["x"] > 0.5].mean() > 8 and g["offer"][X["x"] < -0.5].mean() < 0)
    True
    """

    def __init__(self, control: str = "none", seed: int = 0):
        self.control = control
        self.seed = seed

    def _model(self, n: int):
        from econml.dr import DRLearner

        return DRLearner(
            model_propensity=DummyClassifier(strategy="prior"),
            model_regression=_regressor(self.seed, 50),
            model_final=_final(self.seed, n),
            categories=[self.control, *self.offers_],
            cv=2,
            random_state=self.seed,
        )

    def gains(self, features: pd.DataFrame) -> pd.DataFrame:
        """Predicted effect of each offer (against control) for every row of ``features``: one column per offer."""
        X = self._matrix(features)
        return pd.DataFrame(
            {o: self.model_.effect(X, T0=self.control, T1=o) for o in self.offers_}, index=features.index
        )


class PolicyTree(_ExperimentLearner):
    """A shallow policy tree (econml's ``DRPolicyTree``): which arm, by a few readable thresholds.

    Fitted on the same doubly robust scores as :class:`ProfitEffects`; each leaf's estimated effect of
    each offer is the customer's predicted gain, so the tree obeys the same budget rule as every policy.
    """

    def __init__(self, control: str = "none", max_depth: int = 2, seed: int = 0):
        self.control = control
        self.max_depth = max_depth
        self.seed = seed

    def _model(self, n: int):
        from econml.policy import DRPolicyTree

        return DRPolicyTree(
            model_regression=_regressor(self.seed, 50),
            model_propensity=DummyClassifier(strategy="prior"),
            categories=[self.control, *self.offers_],
            max_depth=self.max_depth,
            min_samples_leaf=max(20, n // 20),
            honest=True,
            random_state=self.seed,
        )

    def gains(self, features: pd.DataFrame) -> pd.DataFrame:
        """Each leaf's estimated effect of each offer, for every row of ``features``."""
        X = self._matrix(features)
        values = np.asarray(self.model_.predict_value(X)).reshape(len(X), -1)
        return pd.DataFrame(values, columns=self.offers_, index=features.index)

    def plot(self, ax, feature_names=None) -> None:
        """Draw the tree on ``ax`` (econml's drawing) with the features' and arms' names."""
        self.model_.plot(
            ax=ax,
            feature_names=list(feature_names or self.columns_),
            treatment_names=[self.control, *self.offers_],
            fontsize=9,
            precision=1,  # dollars to one decimal: wider numbers push the leaves into each other
        )


def stratified_folds(arm: pd.Series, folds: int, rng: np.random.Generator) -> pd.Series:
    """A fold number (0 .. folds - 1) per customer, dealt in turn within each arm and shuffled, so that
    every fold holds each arm in the same proportion."""
    fold = pd.Series(0, index=arm.index)
    for _, ids in arm.groupby(arm).groups.items():
        fold[ids] = rng.permutation(np.arange(len(ids)) % folds)
    return fold


def cross_fit_gains(learner, features: pd.DataFrame, arm, outcome, folds: int = 2, seed: int = 0) -> pd.DataFrame:
    """Predicted gains of every experiment customer, each from a ``learner`` (:class:`ProfitEffects` or
    :class:`PolicyTree`, unfitted) fitted on the other folds, so that valuing a policy on the same
    experiment is honest. Folds are stratified by arm."""
    if not isinstance(folds, (int, np.integer)) or folds < 2:
        raise ValueError(f"folds: expected a whole number of at least 2, got {folds!r}")
    arm, outcome = pd.Series(arm), pd.Series(outcome)
    rng = np.random.default_rng(seed)
    fold = stratified_folds(arm, folds, rng)
    parts = []
    for f in range(folds):
        train, test = fold.index[fold != f], fold.index[fold == f]
        fitted = _clone(learner).fit(features, arm[train], outcome[train])
        parts.append(fitted.gains(features.loc[test]))
    return pd.concat(parts).reindex(arm.index)


def _clone(learner):
    params = {k: v for k, v in vars(learner).items() if not k.endswith("_")}
    return clone(learner) if hasattr(learner, "get_params") else type(learner)(**params)


class _IntegerArms:
    """econml's DRTester wants integer arms with control lowest: ``effect`` of a fitted
    :class:`ProfitEffects` on integer codes (0 = control, 1.. = its offers in order)."""

    def __init__(self, effects: ProfitEffects):
        self.effects = effects
        self.arms = [effects.control, *effects.offers_]

    def effect(self, X, T0=0, T1=1):
        return self.effects.model_.effect(X, T0=self.arms[int(T0)], T1=self.arms[int(T1)])


def check_effects(
    effects: ProfitEffects, features: pd.DataFrame, arm, outcome, held_out, n_groups: int = 4, n_bootstrap: int = 200
) -> dict:
    """Check fitted effects on held-out experiment customers, as a practitioner would, with econml's
    ``DRTester``: calibration (the DR estimate of the effect in groups of customers by predicted effect,
    against the mean prediction; Dwivedi et al. 2020) and the Qini coefficient with its standard error
    (econml 0.17 computes it from the influence function; ``n_bootstrap`` sets only its uniform bands)
    and p-value ``P(|Z| > |q / se|)`` one-sided (0 = no better than random ranking).

    ``arm`` and ``outcome`` cover the whole experiment (indexed by customer); ``effects`` must have been
    fitted on the customers not in ``held_out``, on whom the checks are made.

    Returns
    -------
    dict
        ``calibration`` (DataFrame: offer, group, predicted, estimated, its standard error),
        ``qini`` (DataFrame: offer, Qini coefficient, standard error, p-value), ``qini_curves`` (offer,
        share targeted (%), gain over random, and ``band``: the half-width of a 95 % uniform band whose
        critical value comes from ``n_bootstrap`` multiplier-bootstrap draws) and ``tester`` (econml's
        fitted tester).
    """
    _quiet_ray()
    from econml.validate import DRTester

    X, arm, y = experiment_arrays(features, arm, outcome, effects.control)
    names = [effects.control, *effects.offers_]
    codes = pd.Series(pd.Categorical(arm, categories=names).codes, index=arm.index)
    if (codes < 0).any():
        raise ValueError(f"arm: arms other than the fitted ones: {sorted(set(arm) - set(names))}")
    held_out = pd.Index(held_out)
    outside = held_out.difference(arm.index)
    if len(outside):
        raise ValueError(f"held_out: {len(outside)} customer(s) are not in the experiment, e.g. {list(outside[:3])}")
    train = arm.index.difference(held_out)
    Xt, Xv = (effects._matrix(X.loc[ids]) for ids in (train, held_out))
    tester = DRTester(
        model_regression=_regressor(effects.seed, 50),
        model_propensity=DummyClassifier(strategy="prior"),
        cate=_IntegerArms(effects),
        cv=2,
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)
        tester.fit_nuisance(
            Xv, codes[held_out].to_numpy(), y[held_out].to_numpy(), Xt, codes[train].to_numpy(), y[train].to_numpy()
        )
        cal = tester.evaluate_cal(Xv, Xt, n_groups=n_groups)
        qini = tester.evaluate_uplift(Xv, Xt, metric="qini", n_bootstrap=n_bootstrap)
    cal_rows = [
        df.rename(columns={"g_cate": "predicted", "gate": "estimated", "se_gate": "standard error"}).assign(
            offer=names[int(k)], group=np.arange(1, len(df) + 1)
        )[["offer", "group", "predicted", "estimated", "standard error"]]
        for k, df in cal.plot_data_dict.items()
    ]
    q = qini.summary().rename(columns={"est": "Qini coefficient", "se": "standard error", "pval": "p-value"})
    q["treatment"] = q["treatment"].map(lambda t: names[int(t)])
    curves = pd.concat(
        [
            pd.DataFrame(
                {
                    "offer": names[int(k)],
                    "share targeted (%)": df["Percentage treated"].to_numpy(),
                    "gain over random": df["value"].to_numpy(),
                    "band": (df["uniform_critical_value"] * df["err"]).to_numpy(),
                }
            )
            for k, df in qini.curves.items()
        ],
        ignore_index=True,
    )
    return {
        "calibration": pd.concat(cal_rows, ignore_index=True),
        "qini": q.rename(columns={"treatment": "offer"}),
        "qini_curves": curves,
        "tester": tester,
    }
