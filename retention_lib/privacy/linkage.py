"""Can an export be undone? Rebuilding a generalised column from the others, and a linkage attack.

Generalising a quasi-identifier protects nothing when another exported column carries the same
information: tenure banded into 13-week bands is back to the day when the export also holds the
weeks since the last purchase, the mean gap between purchases and the number of purchases (for a
customer below the top code, tenure is exactly ``weeks_since_last + ipt_mean_weeks * frequency_cal``).
Two checks, run by the shop on its own export before it leaves:

- :func:`rebuild_audit`: for each quasi-identifier, every exact identity of a simple form over the
  other exported columns (``a``, ``a + b``, ``a - b``, ``a * b``, ``a + b * c``) is tried against the
  true values, and a gradient-boosted model is fitted (out of fold) to rebuild it from all the exported
  columns; its error is set against the error of the band's own midpoint. A column passes when no
  identity rebuilds any row and the model's error is at least ``max_error_ratio`` of the band's.
- :func:`linkage_attack`: someone who knows a few facts about a customer (a partner who knows when they
  joined, how often they bought and what they spent) looks for the rows of the export that agree with
  them, using every band, top code and identity the export offers. The share of customers they would
  name correctly by picking one of the agreeing rows at random is the re-identification rate; a
  k-anonymous export over those facts keeps it at or below 1/k.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import KFold, cross_val_predict
from threadpoolctl import threadpool_limits

__all__ = ["Identity", "find_identities", "rebuild_audit", "export_intervals", "linkage_attack"]

#: the forms tried, with how to write them
_FORMS = {"a": "{0}", "a + b": "{0} + {1}", "a - b": "{0} - {1}", "a * b": "{0} × {1}", "a + b * c": "{0} + {1} × {2}"}


@dataclass(frozen=True)
class Identity:
    """``target = form(columns)`` over exported columns, and the share of rows where it holds exactly."""

    target: str
    form: str
    columns: tuple
    share: float

    def __str__(self) -> str:
        return _FORMS[self.form].format(*self.columns)

    def evaluate(self, table: pd.DataFrame) -> np.ndarray:
        """The identity's value on each row of ``table`` (which needs its columns)."""
        v = [table[c].to_numpy(dtype=float) for c in self.columns]
        return {
            "a": lambda: v[0],
            "a + b": lambda: v[0] + v[1],
            "a - b": lambda: v[0] - v[1],
            "a * b": lambda: v[0] * v[1],
            "a + b * c": lambda: v[0] + v[1] * v[2],
        }[self.form]()


def _numeric(table: pd.DataFrame) -> pd.DataFrame:
    return table.select_dtypes(include=["number", "bool"]).astype(float)


def find_identities(
    export: pd.DataFrame, target: str, truth: pd.Series, min_share: float = 0.01, atol: float = 1e-6
) -> list[Identity]:
    """Every identity of a simple form over ``export``'s numeric columns (``target`` itself excluded)
    that gives the true value of ``target`` (``truth``, aligned with ``export``) on at least
    ``min_share`` of the rows, best first.

    Whether an identity is real is decided on the rows where the export does not already show the true
    value (where the exported ``target``, a band's midpoint, is not itself the truth): a column banded
    with the same bands would otherwise "rebuild" every row whose value sits at the middle of its band.
    The share reported is over every row where a real identity holds. ``min_share`` keeps out the
    coincidences of small whole numbers (1 + 3 x 9 = 28 weeks for a few customers).
    """
    if not truth.index.equals(export.index):
        raise ValueError(f"truth for {target!r}: not indexed like the export")
    x = _numeric(export.drop(columns=[target], errors="ignore"))
    y = truth.to_numpy(dtype=float)
    known = (
        np.isclose(export[target].to_numpy(dtype=float), y, rtol=0, atol=atol)
        if target in export.columns
        else np.zeros(len(y), dtype=bool)
    )
    cols = list(x.columns)
    candidates = [("a", (a,)) for a in cols]
    candidates += [
        (form, (a, b))
        for a, b in itertools.permutations(cols, 2)
        for form in ("a + b", "a - b", "a * b")
        if form == "a - b" or a < b
    ]
    candidates += [
        ("a + b * c", (a, b, c)) for a in cols for b, c in itertools.combinations([c for c in cols if c != a], 2)
    ]
    found = []
    for form, combo in candidates:
        ident = Identity(target, form, combo, 0.0)
        holds = np.isclose(ident.evaluate(x), y, rtol=0, atol=atol)
        if np.mean(holds & ~known) >= min_share:
            found.append(Identity(target, form, combo, float(np.mean(holds))))
    return sorted(found, key=lambda i: (-i.share, len(i.columns), str(i)))


def rebuild_audit(
    export: pd.DataFrame,
    truth: pd.DataFrame,
    max_error_ratio: float = 0.5,
    folds: int = 3,
    seed: int = 0,
    exact=(),
    min_share: float = 0.01,
) -> tuple[pd.DataFrame, dict]:
    """Try to rebuild each quasi-identifier of ``truth`` from the exported columns.

    Parameters
    ----------
    export : DataFrame
        The table as it leaves the shop (numbers; a generalised column as its band's midpoint).
    truth : DataFrame
        The exact values of the quasi-identifiers, indexed like ``export`` (the shop has them).
    max_error_ratio : float
        A column is flagged when a model rebuilds it with less than this share of the band's own error.
    exact : list of str
        Quasi-identifiers the export shows as they are (every row "rebuilt": the column fails).
    min_share : float
        An identity counts when it holds on at least this share of the rows (:func:`find_identities`);
        a column passes only when no identity does.

    Returns
    -------
    (DataFrame, dict)
        One row per quasi-identifier: the best identity and the share of rows it rebuilds exactly
        (``rebuilt exactly``), the band's mean absolute error (the band midpoint, or the median when the
        column is not exported), the model's, their ratio and ``passes``; and quasi-identifier -> its
        identities (:class:`Identity`, best first).
    """
    if not truth.index.equals(export.index):
        raise ValueError("truth: not indexed like the export (give the exact values of the exported rows)")
    x = _numeric(export)
    rows, identities = [], {}
    for q in truth.columns:
        y = truth[q].to_numpy(dtype=float)
        ids = find_identities(export, q, truth[q], min_share=min_share)
        identities[q] = ids
        band = x[q].to_numpy() if q in x.columns else np.full(len(y), np.median(y))
        model = HistGradientBoostingRegressor(max_iter=200, random_state=seed)
        with threadpool_limits(
            1, user_api="openmp"
        ):  # small fits: threads only wait on each other (and on a busy machine, spin)
            rebuilt = cross_val_predict(model, x.to_numpy(), y, cv=KFold(folds, shuffle=True, random_state=seed))
        band_error, model_error = float(np.mean(np.abs(band - y))), float(np.mean(np.abs(rebuilt - y)))
        ratio = model_error / band_error if band_error > 0 else np.inf
        shown = q in exact
        share = 1.0 if shown else (ids[0].share if ids else 0.0)
        what = "exported as it is" if shown else (str(ids[0]) if ids else "none found")
        rows.append(
            {
                "quasi-identifier": q,
                "identity": what,
                "rebuilt exactly": share,
                "band's error": band_error,
                "model's error": model_error,
                "error ratio": ratio,
                "passes": bool(share == 0 and ratio >= max_error_ratio),
            }
        )
    return pd.DataFrame(rows).set_index("quasi-identifier"), identities


def export_intervals(
    export: pd.DataFrame, columns: dict, identities: dict | None = None, caps: dict | None = None
) -> dict:
    """What an attacker learns about each quasi-identifier from each exported row: an interval ``[low, high)``.

    Parameters
    ----------
    export : DataFrame
    columns : dict
        Quasi-identifier -> how the export shows it: ``("exact",)``, ``("band", width)`` (the band's
        midpoint, or ``("band", width, cap)`` with a top band from ``cap`` up), ``("cap", cap)`` (a count
        top-coded at ``cap``) or ``("absent",)``.
    identities : dict or None
        Quasi-identifier -> identities (:func:`find_identities`): where one gives a value inside the
        row's interval, the attacker narrows the interval to that value, except on rows where one of its
        inputs sits at its top code (``caps``: column -> cap), where it cannot be trusted.
    """
    caps = caps or {}
    out = {}
    for q, how in columns.items():
        kind, n = how[0], len(export)
        if kind == "absent":
            lo, hi = np.full(n, -np.inf), np.full(n, np.inf)
        else:
            v = export[q].to_numpy(dtype=float)
            if kind == "exact":
                lo, hi = v, np.nextafter(v, np.inf)
            elif kind == "cap":
                lo, hi = v, np.where(v >= how[1], np.inf, np.nextafter(v, np.inf))
            elif kind == "band":
                width, cap = how[1], (how[2] if len(how) > 2 else np.inf)
                lo = np.where(v >= cap, cap, v - width / 2)
                hi = np.where(v >= cap, np.inf, v + width / 2)
            else:
                raise ValueError(f"columns[{q!r}]: unknown kind {kind!r} (exact, band, cap or absent)")
        for ident in (identities or {}).get(q, [])[:1]:
            r = ident.evaluate(export)
            capped = np.zeros(n, dtype=bool)
            for c in ident.columns:
                if c in caps:
                    capped |= export[c].to_numpy(dtype=float) >= caps[c]
            inside = (r >= lo - 1e-9) & (r < hi) & ~capped
            lo, hi = np.where(inside, r - 1e-6, lo), np.where(inside, r + 1e-6, hi)
        out[q] = (np.asarray(lo, dtype=float), np.asarray(hi, dtype=float))
    return out


def linkage_attack(
    intervals: dict, known: pd.DataFrame, rows_of: np.ndarray, known_widths: dict | None = None, chunk: int = 256
) -> dict:
    """Link each customer an attacker knows to the export rows that agree with what they know.

    Parameters
    ----------
    intervals : dict
        From :func:`export_intervals`: quasi-identifier -> (low, high) per exported row.
    known : DataFrame
        One row per customer the attacker knows; the columns are quasi-identifiers (exact values).
    rows_of : array of int
        For each row of ``known``, the position of that customer's own row in the export (to score the
        attack; the attacker does not have it).
    known_widths : dict or None
        Quasi-identifier -> how coarsely the attacker knows it (1 = tenure in whole weeks: the join
        week); exact when absent.

    Returns
    -------
    dict
        ``reidentified``: the share of known customers named correctly by picking one agreeing row at
        random (mean of 1 / agreeing rows, when the own row agrees); ``unique``: the share whose own
        row is the only one that agrees; ``median_candidates``.
    """
    missing = [q for q in known.columns if q not in intervals]
    if missing:
        raise ValueError(f"known: {missing} have no intervals in the export (give them as ('absent',))")
    widths = known_widths or {}
    k_lo = {
        q: (np.floor(known[q].to_numpy(dtype=float) / widths[q]) * widths[q])
        if q in widths
        else known[q].to_numpy(dtype=float)
        for q in known.columns
    }
    k_hi = {q: k_lo[q] + widths[q] if q in widths else np.nextafter(k_lo[q], np.inf) for q in known.columns}
    rows_of = np.asarray(rows_of)
    score, unique, counts = np.zeros(len(known)), np.zeros(len(known), dtype=bool), np.zeros(len(known), dtype=int)
    for start in range(0, len(known), chunk):
        sl = slice(start, start + chunk)
        agree = None
        for q in known.columns:
            lo, hi = intervals[q]
            ok = (k_lo[q][sl, None] < hi[None, :]) & (lo[None, :] < k_hi[q][sl, None])
            agree = ok if agree is None else agree & ok
        n = agree.sum(axis=1)
        own = agree[np.arange(agree.shape[0]), rows_of[sl]]
        counts[sl] = n
        score[sl] = np.where(own, 1 / np.maximum(n, 1), 0.0)
        unique[sl] = own & (n == 1)
    return {
        "reidentified": float(score.mean()),
        "unique": float(unique.mean()),
        "median_candidates": float(np.median(counts)),
    }
