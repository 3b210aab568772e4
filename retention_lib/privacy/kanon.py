"""k-anonymity of a table before it leaves the shop: generalise numbers into bands, suppress what remains.

A table is k-anonymous over its quasi-identifiers (columns that are not names but that, combined,
can single a person out: age, department, region, the week a customer joined, what they spent) when
every combination of their values is shared by at least k rows. :func:`k_anonymise` generalises one
or more numeric columns (ages, tenure, spend) into bands, each along its own ladder of widths (one
width per column for the whole table, so a band means the same in every row), and chooses the
least generalisation that leaves at most ``max_suppressed`` of the rows in groups smaller than k;
then it removes those rows and reports every combination it tried.

With several ladders the combinations form a lattice (Samarati 2001): the search takes the lowest
total height (sum of the steps up each ladder) at which some combination is good enough, and at that
height the combination that removes the fewest rows.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from retention_lib.base.tables import require_columns

__all__ = ["k_of", "KAnonymised", "k_anonymise", "bands", "band_bounds", "band_midpoints", "top_code"]


def k_of(table: pd.DataFrame, quasi) -> int:
    """The k the table has: the size of its smallest group over the quasi-identifiers (missing is a value)."""
    quasi = list(quasi)
    require_columns(table, quasi, "the table", "every quasi-identifier")
    if table.empty:
        raise ValueError("the table is empty")
    return int(table.groupby(quasi, dropna=False).size().min())


def bands(values: pd.Series, width, cap=None) -> pd.Series:
    """Numbers as bands of ``width`` ("30-39" for width 10, whole units); width 1 keeps the whole number,
    as text. With ``cap``, every value at or above it falls in one top band, ``"<cap>+"`` ("200+")."""
    a = pd.to_numeric(values, errors="raise")
    if a.isna().any():
        raise ValueError(f"{values.name or 'column'}: {int(a.isna().sum())} missing value(s); give every row a value")
    if width < 1 or float(width) != int(width):
        raise ValueError(f"{values.name or 'column'}: band width must be a whole number >= 1, got {width!r}")
    width = int(width)
    lo = (np.floor(a / width) * width).astype(int)
    out = lo.astype(str) if width == 1 else lo.astype(str) + "-" + (lo + width - 1).astype(str)
    if cap is not None:
        if cap % width:
            raise ValueError(f"{values.name or 'column'}: the top code {cap} must be a multiple of the width {width}")
        out = out.where(a < cap, f"{int(cap)}+")
    return out


def band_bounds(labels: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The interval ``[low, high)`` each band label of :func:`bands` stands for ("30-39" -> [30, 40),
    "23" -> [23, 24), "200+" -> [200, inf))."""
    s = labels.astype(str)
    top = s.str.endswith("+")
    parts = s.str.rstrip("+").str.split("-", expand=True)
    lo = parts[0].astype(float)
    hi = (parts[1].astype(float) if parts.shape[1] > 1 else lo).fillna(lo) + 1
    return lo.rename(labels.name), hi.where(~top, np.inf).rename(labels.name)


def band_midpoints(labels: pd.Series) -> pd.Series:
    """The middle of each band of :func:`bands` ("30-39" -> 35.0, "23" -> 23.5), for models that need
    numbers; a top band ("200+") gets its lower end."""
    lo, hi = band_bounds(labels)
    return ((lo + hi) / 2).where(np.isfinite(hi), lo)


def top_code(table: pd.DataFrame, caps: dict) -> pd.DataFrame:
    """Counts above a cap set to the cap ("10 or more" becomes 10): the few customers with extreme counts
    are otherwise alone in their group. ``caps`` maps a column to its cap."""
    require_columns(table, caps, "top_code's table", "a column for every cap")
    return table.assign(**{c: table[c].clip(upper=cap) for c, cap in caps.items()})


@dataclass
class KAnonymised:
    """What :func:`k_anonymise` returns."""

    table: pd.DataFrame  #: the exported table: the generalised columns as bands, suppressed rows removed
    steps: pd.DataFrame  #: one row per combination of widths tried: k reached, rows in groups smaller than k
    widths: dict  #: the band width chosen for each generalised column
    suppressed: pd.Index  #: the index of the rows removed
    k: int  #: the k the exported table has


def _check(table, quasi, k, ladders, max_suppressed, caps):
    if not ladders:
        raise ValueError("ladders: name at least one column to generalise, with its widths")
    outside = [c for c in ladders if c not in quasi]
    if outside:
        raise ValueError(f"the generalised column(s) {outside} must be among the quasi-identifiers {quasi}")
    for c, widths in ladders.items():
        if len(widths) == 0 or list(widths) != sorted(widths):
            raise ValueError(f"ladders[{c!r}]: expected widths from fine to coarse, got {widths!r}")
    stray = [c for c in caps if c not in ladders]
    if stray:
        raise ValueError(f"caps: {stray} are not generalised columns (those are {list(ladders)})")
    if not isinstance(k, (int, np.integer)) or k < 2:
        raise ValueError(f"k must be a whole number >= 2, got {k!r}")
    if not 0 <= max_suppressed < 1:
        raise ValueError(f"max_suppressed must be in [0, 1), got {max_suppressed}")
    k_of(table, quasi)  # checks the columns


def k_anonymise(
    table: pd.DataFrame,
    quasi,
    k: int,
    ladders: dict | None = None,
    max_suppressed: float = 0.02,
    caps: dict | None = None,
) -> KAnonymised:
    """Generalise the columns of ``ladders`` into bands until at most ``max_suppressed`` of the rows are
    in groups smaller than ``k`` over ``quasi``, then remove those rows.

    Parameters
    ----------
    table : DataFrame
    quasi : list of str
        The quasi-identifiers.
    k : int
    ladders : dict
        Column -> band widths from fine to coarse (default: ``{"age": (1, 5, 10, 20, 40)}``).
    max_suppressed : float
        Largest share of rows that may be removed.
    caps : dict or None
        Column -> top code: values at or above it form one band at every width (a multiple of each width).

    Raises when even the coarsest combination leaves more than ``max_suppressed`` of the rows to remove
    (the other quasi-identifiers are then too fine: coarsen them, or drop one).
    """
    quasi, ladders, caps = list(quasi), dict(ladders or {"age": (1, 5, 10, 20, 40)}), dict(caps or {})
    _check(table, quasi, k, ladders, max_suppressed, caps)
    names = list(ladders)
    lattice = sorted(itertools.product(*(range(len(ladders[c])) for c in names)), key=sum)
    steps, best = [], None
    for height, group in itertools.groupby(lattice, key=sum):
        for levels in group:
            widths = {c: ladders[c][i] for c, i in zip(names, levels)}
            t = table.assign(**{c: bands(table[c], w, caps.get(c)) for c, w in widths.items()})
            size = t.groupby(quasi, dropna=False)[quasi[0]].transform("size")
            small = size < k
            steps.append(
                {
                    **{f"{c} width": w for c, w in widths.items()},
                    "height": height,
                    "groups": int(t.groupby(quasi, dropna=False).ngroups),
                    "k before suppression": int(size.min()),
                    "rows in groups < k": int(small.sum()),
                    "share in groups < k": float(small.mean()),
                }
            )
            if small.mean() <= max_suppressed and (best is None or small.sum() < best[2].sum()):
                best = (widths, t, small)
        if best is not None:
            widths, t, small = best
            out = t[~small]
            return KAnonymised(out, pd.DataFrame(steps), widths, t.index[small], k_of(out, quasi) if len(out) else 0)
    coarsest = steps[-1]
    raise ValueError(
        f"even the coarsest bands { ({c: ladders[c][-1] for c in names}) } leave "
        f"{coarsest['share in groups < k']:.1%} of the rows in groups smaller than k={k} (allowed: "
        f"{max_suppressed:.1%}); coarsen the other quasi-identifiers "
        f"{[q for q in quasi if q not in ladders]} or drop one"
    )
