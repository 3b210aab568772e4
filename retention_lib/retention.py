"""Retention from purchases: calibration/holdout summaries, the BG/NBD model, classifiers, metrics.

Conventions (those of Fader, Hardie and Lee 2005): purchases are counted per customer-day; times
are in weeks (days / 7); a customer's clock starts at the first purchase. For each customer:

- ``frequency_cal``: repeat purchase days in the calibration period (all purchase days but the first);
- ``recency_cal``: weeks from the first to the last purchase day in calibration (0 if no repeat);
- ``T_cal``: weeks from the first purchase to the end of calibration;
- ``monetary_value_cal``: mean spend of the repeat purchase days (0 if none);
- ``frequency_holdout``: purchase days after calibration, up to the observation end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import gammaln, hyp2f1

from .explore import customer_days
from .metrics import expected_calibration_error

__all__ = ["calibration_holdout", "FEATURES_RFM", "FEATURES_RICH", "BGNBD", "fit_bgnbd",
           "bgnbd_log_likelihood", "expected_calibration_error", "gains_table", "evaluate", "bootstrap_ci",
           "paired_bootstrap_diff", "signed_log", "make_models", "cross_validated_predictions", "holdout_by_frequency",
           "FEATURES_EXTRA", "extra_features", "evaluate_by_group", "compare_feature_sets", "auc_learning_curve"]

FEATURES_RFM = ["frequency_cal", "recency_cal", "T_cal", "monetary_value_cal"]
FEATURES_RICH = FEATURES_RFM + [
    "weeks_since_last", "orders_cal", "spend_cal", "quantity_cal", "first_spend", "first_quantity",
    "ipt_mean_weeks", "ipt_std_weeks", "last_spend", "spend_trend", "days_last_13w", "days_last_4w",
]


def _check_transactions(tx: pd.DataFrame, observation_end: pd.Timestamp) -> None:
    if not isinstance(tx, pd.DataFrame) or len(tx) == 0:
        raise ValueError("transactions: no rows (expected one row per purchase)")
    missing = [c for c in ("customer_id", "date", "amount") if c not in tx.columns]
    if missing:
        raise ValueError(f"transactions: missing column(s) {missing}; expected customer_id, date, amount"
                         " (and optionally quantity)")
    if not pd.api.types.is_datetime64_any_dtype(tx["date"]):
        raise ValueError(f"transactions: column 'date' must hold datetimes, got {tx['date'].dtype}")
    for col in ("amount", "quantity"):
        if col in tx.columns:
            bad = tx[col].isna() | (tx[col] < 0)
            if bad.any():
                ex = tx.loc[bad, ["customer_id", col]].head(3).to_dict("records")
                raise ValueError(f"transactions: column '{col}': {int(bad.sum())} negative or missing "
                                 f"value(s), e.g. {ex}")
    late = tx["date"] > observation_end
    if late.any():
        ex = tx.loc[late, ["customer_id", "date"]].head(3).astype(str).to_dict("records")
        raise ValueError(f"transactions: {int(late.sum())} purchase(s) after the observation end "
                         f"{observation_end.date()}, e.g. {ex}; cut the data or move the end")


def calibration_holdout(transactions: pd.DataFrame, calibration_end, observation_end) -> pd.DataFrame:
    """One row per customer whose first purchase is on or before ``calibration_end``.

    Gives the RFM summary of the calibration period, the holdout count, and richer behaviour
    features at the cutoff (see ``FEATURES_RICH``). Indexed by ``customer_id``.
    """
    cal_end, obs_end = pd.Timestamp(calibration_end), pd.Timestamp(observation_end)
    if cal_end >= obs_end:
        raise ValueError(f"calibration_end {cal_end.date()} must be before observation_end {obs_end.date()}")
    _check_transactions(transactions, obs_end)
    tx = transactions if "quantity" in transactions.columns else transactions.assign(quantity=0)
    days = customer_days(tx)
    first = days.groupby("customer_id")["date"].transform("min")
    days = days[first <= cal_end].assign(first=first[first <= cal_end])
    cal, hold = days[days["date"] <= cal_end], days[days["date"] > cal_end]
    if cal.empty:
        raise ValueError(f"transactions: no customer made a first purchase by {cal_end.date()}")

    g = cal.groupby("customer_id")
    out = pd.DataFrame({
        "first": g["first"].first(),
        "last": g["date"].max(),
        "n_days": g.size(),
        "orders_cal": g["orders"].sum(),
        "spend_cal": g["amount"].sum(),
        "quantity_cal": g["quantity"].sum(),
    })
    week = pd.Timedelta(days=7)
    out["frequency_cal"] = out["n_days"] - 1
    out["recency_cal"] = (out["last"] - out["first"]) / week
    out["T_cal"] = (cal_end - out["first"]) / week
    ordered = cal.sort_values(["customer_id", "date"])
    first_rows = ordered.groupby("customer_id").first()
    last_rows = ordered.groupby("customer_id").last()
    repeat_spend = out["spend_cal"] - first_rows["amount"]
    out["monetary_value_cal"] = np.where(out["frequency_cal"] > 0,
                                         repeat_spend / out["frequency_cal"].clip(lower=1), 0.0)
    out["weeks_since_last"] = out["T_cal"] - out["recency_cal"]
    out["first_spend"] = first_rows["amount"]
    out["first_quantity"] = first_rows["quantity"]
    out["last_spend"] = last_rows["amount"]
    out["spend_trend"] = out["last_spend"] - out["first_spend"]
    gaps = ordered.groupby("customer_id")["date"].diff() / week
    ipt = gaps.groupby(ordered["customer_id"])
    out["ipt_mean_weeks"] = ipt.mean().reindex(out.index).fillna(0.0)
    out["ipt_std_weeks"] = ipt.std(ddof=0).reindex(out.index).fillna(0.0)
    for weeks, name in [(13, "days_last_13w"), (4, "days_last_4w")]:
        recent = cal[cal["date"] > cal_end - pd.Timedelta(weeks=weeks)]
        out[name] = recent.groupby("customer_id").size().reindex(out.index, fill_value=0)
    out["frequency_holdout"] = hold.groupby("customer_id").size().reindex(out.index, fill_value=0)
    out["duration_holdout"] = (obs_end - cal_end) / week
    cols = ["frequency_cal", "recency_cal", "T_cal", "monetary_value_cal", "frequency_holdout",
            "duration_holdout"] + [c for c in FEATURES_RICH if c not in FEATURES_RFM]
    return out[cols].astype(float).astype({"frequency_cal": int, "frequency_holdout": int,
                                           "orders_cal": int, "days_last_13w": int, "days_last_4w": int})


FEATURES_EXTRA = ["price_per_cd", "days_first_13w", "weeks_to_second"]


def extra_features(transactions: pd.DataFrame, calibration_end, customers, block_weeks: int = 4,
                   n_blocks: int = 10) -> pd.DataFrame:
    """Behaviour features beyond ``FEATURES_RICH``, used to probe how much purchases can tell.

    One row per customer in ``customers`` (ids whose first purchase is on or before
    ``calibration_end``), from the calibration period only:

    - ``price_per_cd``: calibration spend / CDs bought (0 if no CD was counted);
    - ``days_first_13w``: repeat purchase days in the 13 weeks after the first purchase;
    - ``weeks_to_second``: weeks from the first to the second purchase day; customers without a
      second one get the weeks observed so far (``T_cal``, a lower bound);
    - ``days_block_0`` .. ``days_block_{n_blocks-1}``: purchase days in consecutive blocks of
      ``block_weeks`` weeks counted back from the calibration end (block 0 is the most recent;
      the last block also holds everything older): the customer's timeline.
    """
    cal_end = pd.Timestamp(calibration_end)
    if block_weeks < 1 or n_blocks < 1:
        raise ValueError(f"block_weeks and n_blocks must be >= 1, got {block_weeks} and {n_blocks}")
    _check_transactions(transactions, pd.Timestamp.max)
    if "quantity" not in transactions.columns:
        raise ValueError("transactions: extra_features needs a 'quantity' column (CDs per purchase)")
    ids = pd.Index(customers, name="customer_id")
    days = customer_days(transactions[transactions["date"] <= cal_end])
    missing = ids.difference(days["customer_id"].unique())
    if len(missing):
        raise ValueError(f"customers: {len(missing)} id(s) without a purchase on or before {cal_end.date()}, "
                         f"e.g. {list(missing[:3])}")
    days = days[days["customer_id"].isin(ids)].sort_values(["customer_id", "date"])
    g = days.groupby("customer_id")
    week = pd.Timedelta(days=7)
    first_day = g["date"].min()
    first = days["customer_id"].map(first_day)
    out = pd.DataFrame(index=ids)
    quantity = g["quantity"].sum()
    out["price_per_cd"] = (g["amount"].sum() / quantity.where(quantity > 0)).fillna(0.0)
    early = days[(days["date"] > first) & (days["date"] <= first + pd.Timedelta(weeks=13))]
    out["days_first_13w"] = early.groupby("customer_id").size().reindex(ids, fill_value=0)
    second = days[g.cumcount() == 1].set_index("customer_id")["date"]
    observed = (cal_end - first_day) / week
    out["weeks_to_second"] = ((second - first_day.reindex(second.index)) / week).reindex(ids)
    out["weeks_to_second"] = out["weeks_to_second"].fillna(observed.reindex(ids))
    block = ((cal_end - days["date"]).dt.days // (7 * block_weeks)).clip(upper=n_blocks - 1)
    counts = days.groupby(["customer_id", block.rename("block")]).size().unstack(fill_value=0)
    counts = counts.reindex(index=ids, columns=range(n_blocks), fill_value=0)
    for k in range(n_blocks):
        out[f"days_block_{k}"] = counts[k].astype(int)
    return out.astype({"days_first_13w": int})


# --------------------------------------------------------------------------------------------
# BG/NBD


@dataclass
class BGNBD:
    """A fitted BG/NBD model (Fader, Hardie and Lee 2005). ``params_`` = dict(r, alpha, a, b)."""

    params_: dict
    log_likelihood_: float
    n_customers_: int

    def _p(self):
        p = self.params_
        return p["r"], p["alpha"], p["a"], p["b"]

    def _dead_to_alive(self, x, tx, T) -> np.ndarray:
        """Posterior odds of having dropped out after the last purchase (0 without a repeat purchase)."""
        r, alpha, a, b = self._p()
        return np.where(x > 0, a / np.maximum(b + x - 1, 1e-12) * ((alpha + T) / (alpha + tx)) ** (r + x), 0.0)

    def p_alive(self, x, tx, T) -> np.ndarray:
        """P(the customer is still active at T | x repeat purchases, last at tx)."""
        x, tx, T = (np.asarray(v, dtype=float) for v in (x, tx, T))
        return 1.0 / (1.0 + self._dead_to_alive(x, tx, T))

    def conditional_expected_purchases(self, t, x, tx, T) -> np.ndarray:
        """E[purchases in (T, T + t] | x, tx, T] (equation 10 of the paper)."""
        r, alpha, a, b = self._p()
        x, tx, T = (np.asarray(v, dtype=float) for v in (x, tx, T))
        z = t / (alpha + T + t)
        first = (a + b + x - 1) / (a - 1)
        second = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
        return first * second / (1 + self._dead_to_alive(x, tx, T))

    def prob_any_purchase(self, t, x, tx, T) -> np.ndarray:
        """P(at least one purchase in (T, T + t] | x, tx, T).

        A customer can only drop out right after a purchase, so an active customer's next purchase
        comes before any dropout: P = P(alive) * (1 - E[exp(-lambda t) | data]), with lambda's
        posterior Gamma(r + x, alpha + T).
        """
        r, alpha, _, _ = self._p()
        x, T = np.asarray(x, dtype=float), np.asarray(T, dtype=float)
        return self.p_alive(x, tx, T) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x))

    def expected_purchases_new_customer(self, t) -> np.ndarray:
        """E[X(t)]: repeat purchases in (0, t] of a customer just acquired (equation 9)."""
        r, alpha, a, b = self._p()
        t = np.asarray(t, dtype=float)
        return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))


def bgnbd_log_likelihood(params, x, tx, T) -> np.ndarray:
    """Each customer's BG/NBD log-likelihood (equation 6 of the paper)."""
    r, alpha, a, b = params
    x, tx, T = (np.asarray(v, dtype=float) for v in (x, tx, T))
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore"):
        a4 = np.where(x > 0, np.log(a) - np.log(np.where(x > 0, b + x - 1, 1.0)) - (r + x) * np.log(alpha + tx),
                      -np.inf)
    return a1 + a2 + np.logaddexp(a3, a4)


def fit_bgnbd(summary: pd.DataFrame, x="frequency_cal", tx="recency_cal", T="T_cal",
              start=(1.0, 1.0, 1.0, 1.0)) -> BGNBD:
    """Maximum-likelihood BG/NBD on a calibration summary (L-BFGS-B on log-parameters)."""
    for col in (x, tx, T):
        if col not in summary.columns:
            raise ValueError(f"summary: missing column '{col}' (from calibration_holdout)")
    xs, txs, Ts = (summary[c].to_numpy(dtype=float) for c in (x, tx, T))
    if len(xs) == 0:
        raise ValueError("summary: no customers")
    if np.any(xs < 0) or np.any(txs < 0) or np.any(txs > Ts + 1e-9) or np.any((xs == 0) & (txs > 0)):
        raise ValueError("summary: need 0 <= recency <= T, and recency 0 when frequency is 0")

    def nll(logp):
        return -np.sum(bgnbd_log_likelihood(np.exp(logp), xs, txs, Ts))

    res = optimize.minimize(nll, np.log(start), method="L-BFGS-B")
    if not res.success:
        raise RuntimeError(f"BG/NBD fit did not converge: {res.message}")
    r, alpha, a, b = np.exp(res.x)
    return BGNBD(params_={"r": float(r), "alpha": float(alpha), "a": float(a), "b": float(b)},
                 log_likelihood_=float(-res.fun), n_customers_=len(xs))


# --------------------------------------------------------------------------------------------
# evaluation


def gains_table(y, score, n_groups: int = 10) -> pd.DataFrame:
    """Cumulative gains and lift by group of customers ranked from highest score down."""
    y, score = np.asarray(y, dtype=float), np.asarray(score, dtype=float)
    order = np.argsort(-score, kind="stable")
    groups = np.array_split(y[order], min(n_groups, len(y)))
    total = y.sum()
    rows, cum_n, cum_pos = [], 0, 0.0
    for k, g in enumerate(groups, 1):
        cum_n += len(g)
        cum_pos += g.sum()
        rows.append({"group": k, "share_targeted": cum_n / len(y), "rate_in_group": g.mean(),
                     "cumulative_capture": cum_pos / total if total else np.nan,
                     "lift": (g.mean() / y.mean()) if y.mean() else np.nan,
                     "cumulative_lift": (cum_pos / cum_n) / y.mean() if y.mean() else np.nan})
    return pd.DataFrame(rows).set_index("group")


def evaluate(y, p, probability: bool = True) -> dict:
    """ROC AUC, PR AUC, log loss, Brier score, expected calibration error, top-decile capture.

    With ``probability=False`` the score is only a ranking (such as expected purchases): the
    metrics that need probabilities are NaN.
    """
    from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    if not probability:
        return {"ROC AUC": roc_auc_score(y, p), "PR AUC": average_precision_score(y, p),
                "log loss": np.nan, "Brier": np.nan, "ECE": np.nan,
                "top-decile capture": gains_table(y, p).loc[1, "cumulative_capture"]}
    if np.any((p < 0) | (p > 1)):
        raise ValueError("p must hold probabilities in [0, 1]; pass probability=False for a ranking score")
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return {"ROC AUC": roc_auc_score(y, p), "PR AUC": average_precision_score(y, p),
            "log loss": log_loss(y, p), "Brier": brier_score_loss(y, p),
            "ECE": expected_calibration_error(y, p),
            "top-decile capture": gains_table(y, p).loc[1, "cumulative_capture"]}


def evaluate_by_group(y, scores: dict, groups) -> pd.DataFrame:
    """How each score ranks and how calibrated it is within each group of customers.

    ``scores`` maps a name to ``(score, is_probability)``; ``groups`` gives each customer's group
    (a categorical keeps its order). One row per group: ``customers``, ``observed rate``, then
    ``AUC: name`` for every score (NaN where the group holds one class only) and ``mean p: name``
    for the probability scores, to set against the observed rate.
    """
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y, dtype=float)
    groups = pd.Series(groups).reset_index(drop=True)
    if len(groups) != len(y):
        raise ValueError(f"groups: {len(groups)} values, but y has {len(y)}")
    cols = {}
    for name, (score, _) in scores.items():
        cols[name] = np.asarray(score, dtype=float)
        if cols[name].shape != y.shape:
            raise ValueError(f"score {name!r}: shape {cols[name].shape}, expected {y.shape}")
    rows = {}
    for g, idx in groups.groupby(groups, observed=True, sort=True).indices.items():
        yy = y[idx]
        row = {"customers": len(yy), "observed rate": yy.mean()}
        for name in scores:
            row[f"AUC: {name}"] = roc_auc_score(yy, cols[name][idx]) if 0 < yy.sum() < len(yy) else np.nan
        for name, (_, is_probability) in scores.items():
            if is_probability:
                row[f"mean p: {name}"] = cols[name][idx].mean()
        rows[g] = row
    out = pd.DataFrame(rows).T.astype({"customers": int})
    out.index.name = "group"
    return out


def bootstrap_ci(y, p, metric, n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0):
    """Percentile bootstrap interval of ``metric(y, p)`` over customers (scipy.stats.bootstrap)."""
    from scipy import stats

    res = stats.bootstrap((np.asarray(y), np.asarray(p)), metric, paired=True, vectorized=False,
                          n_resamples=n_resamples, confidence_level=confidence, method="percentile",
                          random_state=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def paired_bootstrap_diff(y, p_a, p_b, metric, n_resamples: int = 1000, confidence: float = 0.95,
                          seed: int = 0) -> dict:
    """metric(y, p_a) - metric(y, p_b) with a paired percentile bootstrap interval.

    Both models are scored on the same resampled customers, so the interval reflects the
    difference itself rather than two independent noises.
    """
    from scipy import stats

    y, p_a, p_b = (np.asarray(v) for v in (y, p_a, p_b))
    stat = lambda yy, aa, bb: metric(yy, aa) - metric(yy, bb)  # noqa: E731
    res = stats.bootstrap((y, p_a, p_b), stat, paired=True, vectorized=False, n_resamples=n_resamples,
                          confidence_level=confidence, method="percentile",
                          random_state=np.random.default_rng(seed))
    return {"difference": float(stat(y, p_a, p_b)), "low": float(res.confidence_interval.low),
            "high": float(res.confidence_interval.high)}


# --------------------------------------------------------------------------------------------
# classifiers for "any purchase in the holdout"


def signed_log(a):
    """sign(a) * log(1 + |a|): tames the long tails of counts and amounts, keeps the sign."""
    a = np.asarray(a, dtype=float)
    return np.sign(a) * np.log1p(np.abs(a))


def make_models(seed: int, mlp_epochs: int = 30) -> dict[str, tuple[list[str], object]]:
    """The chapter's classifiers: name -> (feature columns, unfitted model with fit/predict_proba)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    from .mlp import MLPRetention

    def logistic():
        # L2 strength chosen by 5-fold cross-validation on log loss, inside each outer fold
        return make_pipeline(FunctionTransformer(signed_log), StandardScaler(),
                             LogisticRegressionCV(Cs=10, cv=5, l1_ratios=(0.0,), scoring="neg_log_loss",
                                                  max_iter=3000, use_legacy_attributes=False))

    return {
        "logistic regression, RFM": (FEATURES_RFM, logistic()),
        "logistic regression, rich": (FEATURES_RICH, logistic()),
        "gradient boosting, rich": (FEATURES_RICH, HistGradientBoostingClassifier(
            learning_rate=0.05, max_iter=300, max_leaf_nodes=15, min_samples_leaf=100,
            l2_regularization=1.0, early_stopping=True, random_state=seed)),
        "MLP, rich": (FEATURES_RICH, make_pipeline(FunctionTransformer(signed_log), MLPRetention(
            hidden=(32, 16), dropout=0.2, weight_decay=1e-3, epochs=mlp_epochs, batch_size=256,
            patience=None, seed=seed))),
    }


def _outer_folds(folds: int, seed: int):
    """The chapter's outer cross-validation: every function that compares models uses these folds."""
    from sklearn.model_selection import StratifiedKFold

    return StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)


def cross_validated_predictions(summary: pd.DataFrame, folds: int, seed: int, mlp_epochs: int = 30,
                                horizon: float | None = None, log=None) -> pd.DataFrame:
    """Out-of-fold P(any holdout purchase) of BG/NBD and of every classifier, one row per customer.

    Every classifier is fitted on the other folds' customers only. BG/NBD uses no label, so, as in
    the original paper, it is fitted once on every customer's calibration data. Adds ``"average of LR and GB, rich"``, the mean of the two rich models.
    Columns: ``y`` (1 if any holdout purchase), ``BG/NBD, expected purchases`` (a ranking score,
    not a probability), then one probability column per model. The fold of each customer is in
    ``fold``.
    """
    y = (summary["frequency_holdout"] > 0).astype(int).to_numpy()
    t = float(summary["duration_holdout"].iloc[0]) if horizon is None else horizon
    out = pd.DataFrame({"y": y, "fold": -1}, index=summary.index)
    bg = fit_bgnbd(summary)
    args = (summary["frequency_cal"], summary["recency_cal"], summary["T_cal"])
    out["BG/NBD, expected purchases"] = bg.conditional_expected_purchases(t, *args)
    out["BG/NBD, P(any purchase)"] = bg.prob_any_purchase(t, *args)
    cv = _outer_folds(folds, seed)
    for k, (train, test) in enumerate(cv.split(summary, y)):
        out.iloc[test, out.columns.get_loc("fold")] = k
        te = summary.iloc[test]
        for name, (cols, model) in make_models(seed, mlp_epochs).items():
            model.fit(summary.iloc[train][cols].to_numpy(), y[train])
            out.loc[te.index, name] = model.predict_proba(te[cols].to_numpy())[:, 1]
        if log:
            log(f"fold {k + 1}/{folds} done")
    out["average of LR and GB, rich"] = (out["logistic regression, rich"] + out["gradient boosting, rich"]) / 2
    return out


def holdout_by_frequency(summary: pd.DataFrame, expected, cap: int = 7) -> pd.DataFrame:
    """Mean actual and mean expected holdout purchases by calibration frequency (cap = 'cap or more')."""
    group = summary["frequency_cal"].clip(upper=cap)
    t = pd.DataFrame({"frequency_cal": group, "actual": summary["frequency_holdout"],
                      "expected": np.asarray(expected, dtype=float)})
    out = t.groupby("frequency_cal").agg(customers=("actual", "size"), actual=("actual", "mean"),
                                         expected=("expected", "mean"))
    out.index = [str(i) if i < cap else f"{cap}+" for i in out.index]
    out.index.name = "repeat purchases in calibration"
    return out


def compare_feature_sets(frames: dict, y, folds: int, seed: int) -> pd.DataFrame:
    """Out-of-fold ROC AUC of the chapter's logistic regression, gradient boosting and their
    average on each feature set (``name -> DataFrame`` of features, one row per customer).

    The folds are those of :func:`cross_validated_predictions` (``_outer_folds``), so the
    chapter's own feature set gives the same numbers here as in its main table.
    """
    from sklearn.base import clone
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import cross_val_predict

    y = np.asarray(y)
    models = make_models(seed)
    lr, gb = models["logistic regression, rich"][1], models["gradient boosting, rich"][1]
    cv = _outer_folds(folds, seed)
    rows = {}
    for name, X in frames.items():
        if len(X) != len(y):
            raise ValueError(f"feature set {name!r}: {len(X)} rows, but y has {len(y)}")
        X = np.asarray(X, dtype=float)
        p_lr = cross_val_predict(clone(lr), X, y, cv=cv, method="predict_proba")[:, 1]
        p_gb = cross_val_predict(clone(gb), X, y, cv=cv, method="predict_proba")[:, 1]
        rows[name] = {"features": X.shape[1], "logistic regression": roc_auc_score(y, p_lr),
                      "gradient boosting": roc_auc_score(y, p_gb),
                      "average of the two": roc_auc_score(y, (p_lr + p_gb) / 2)}
    out = pd.DataFrame(rows).T.astype({"features": int})
    out.index.name = "feature set"
    return out


def auc_learning_curve(summary: pd.DataFrame, model_names, train_sizes, folds: int, seed: int) -> pd.DataFrame:
    """ROC AUC on training and validation folds as the number of training customers grows.

    A thin layer over ``sklearn.model_selection.learning_curve`` for the chapter's models
    (names of :func:`make_models`). ``train_sizes`` are fractions of a training fold. Returns one
    row per model and size: ``customers`` trained on, ``training AUC``, ``validation AUC`` (mean
    over folds) and ``validation AUC sd``.
    """
    from sklearn.base import clone
    from sklearn.model_selection import learning_curve

    y = (summary["frequency_holdout"] > 0).astype(int).to_numpy()
    models = make_models(seed)
    unknown = [m for m in model_names if m not in models]
    if unknown:
        raise ValueError(f"model_names: unknown {unknown}; expected some of {list(models)}")
    cv = _outer_folds(folds, seed)
    rows = []
    for name in model_names:
        cols, model = models[name]
        sizes, train, test = learning_curve(clone(model), summary[cols].to_numpy(dtype=float), y,
                                            train_sizes=train_sizes, cv=cv, scoring="roc_auc",
                                            shuffle=True, random_state=seed)
        for n, tr, te in zip(sizes, train, test):
            rows.append({"model": name, "customers": int(n), "training AUC": tr.mean(),
                         "validation AUC": te.mean(), "validation AUC sd": te.std(ddof=1)})
    return pd.DataFrame(rows)
