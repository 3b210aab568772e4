"""k-anonymity of a table before it leaves the shop: generalise ages into bands, suppress what remains.

A table is k-anonymous over its quasi-identifiers (columns that are not names but that, combined,
can single a person out: age, department, region, the week a customer joined) when every combination
of their values is shared by at least k rows. :func:`k_anonymise` generalises one numeric column
(ages, tenure) into bands of growing width (one width for the whole table, so a band means the same
in every row) until at most ``max_suppressed`` of the rows
sit in groups smaller than k, then removes those rows, and reports every step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["k_of", "KAnonymised", "k_anonymise", "bands", "band_midpoints", "top_code"]


def k_of(table: pd.DataFrame, quasi) -> int:
    """The k the table has: the size of its smallest group over the quasi-identifiers (missing is a value)."""
    quasi = list(quasi)
    missing = [c for c in quasi if c not in table.columns]
    if missing:
        raise ValueError(f"quasi-identifiers {missing} are not columns of the table (it has {list(table.columns)})")
    if table.empty:
        raise ValueError("the table is empty")
    return int(table.groupby(quasi, dropna=False).size().min())


def bands(values: pd.Series, width: int) -> pd.Series:
    """Numbers as bands of ``width`` ("30-39" for width 10, whole units); width 1 keeps the whole number, as text."""
    a = pd.to_numeric(values, errors="raise")
    if a.isna().any():
        raise ValueError(f"{values.name or 'column'}: {int(a.isna().sum())} missing value(s); give every row a value")
    lo = (np.floor(a / width) * width).astype(int)
    return lo.astype(str) if width == 1 else lo.astype(str) + "-" + (lo + width - 1).astype(str)


def top_code(table: pd.DataFrame, caps: dict) -> pd.DataFrame:
    """Counts above a cap set to the cap ("10 or more" becomes 10): the few customers with extreme counts
    are otherwise alone in their group. ``caps`` maps a column to its cap."""
    missing = [c for c in caps if c not in table.columns]
    if missing:
        raise ValueError(f"top_code: columns {missing} are not in the table")
    return table.assign(**{c: table[c].clip(upper=cap) for c, cap in caps.items()})


def band_midpoints(labels: pd.Series) -> pd.Series:
    """The middle of each band of :func:`bands` ("30-39" -> 35.0, "23" -> 23.5), for models that need numbers."""
    parts = labels.astype(str).str.split("-", expand=True)
    lo = parts[0].astype(float)
    hi = parts[1].astype(float) if parts.shape[1] > 1 else lo
    return ((lo + hi.fillna(lo) + 1) / 2).rename(labels.name)


@dataclass
class KAnonymised:
    """What :func:`k_anonymise` returns."""
    table: pd.DataFrame        #: the exported table: the column as bands, suppressed rows removed
    steps: pd.DataFrame        #: one row per band width tried: k reached, rows in groups smaller than k
    width: int                 #: the band width chosen
    suppressed: pd.Index       #: the index of the rows removed
    k: int                     #: the k the exported table has


def k_anonymise(table: pd.DataFrame, quasi, k: int, column: str = "age", widths=(1, 5, 10, 20, 40),
                max_suppressed: float = 0.02) -> KAnonymised:
    """Generalise ``column`` (ages, or any number) into bands until at most ``max_suppressed`` of the
    rows are in groups smaller than ``k`` over ``quasi``, then remove those rows.

    Raises when even the widest band leaves more than ``max_suppressed`` of the rows to remove (the
    other quasi-identifiers are then too fine: coarsen them, or drop one).
    """
    quasi = list(quasi)
    if column not in quasi:
        raise ValueError(f"the generalised column {column!r} must be one of the quasi-identifiers {quasi}")
    if not isinstance(k, (int, np.integer)) or k < 2:
        raise ValueError(f"k must be a whole number >= 2, got {k!r}")
    if not 0 <= max_suppressed < 1:
        raise ValueError(f"max_suppressed must be in [0, 1), got {max_suppressed}")
    k_of(table, quasi)                                      # checks the columns
    steps = []
    for width in widths:
        t = table.assign(**{column: bands(table[column], width)})
        size = t.groupby(quasi, dropna=False)[quasi[0]].transform("size")
        small = size < k
        steps.append({"band width": width, "groups": int(t.groupby(quasi, dropna=False).ngroups),
                      "k before suppression": int(size.min()), "rows in groups < k": int(small.sum()),
                      "share in groups < k": float(small.mean())})
        if small.mean() <= max_suppressed:
            out = t[~small]
            return KAnonymised(out, pd.DataFrame(steps), width, t.index[small], k_of(out, quasi) if len(out) else 0)
    raise ValueError(f"even bands of {widths[-1]} for {column!r} leave {steps[-1]['share in groups < k']:.1%} of the rows in "
                     f"groups smaller than k={k} (allowed: {max_suppressed:.1%}); coarsen the other quasi-identifiers "
                     f"{[q for q in quasi if q != column]} or drop one")
