"""The one check of a table's columns, with an error in the reader's own terms; and a table as a reader sees it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = ["require_columns", "readable"]


def require_columns(
    table: pd.DataFrame,
    columns: Iterable[str],
    what: str,
    expected: str | None = None,
    error: type[Exception] = ValueError,
) -> None:
    """Raise ``error`` when ``table`` lacks any of ``columns``; do nothing otherwise.

    The message names the table as the caller's reader knows it (``what``: "transactions", "chapter
    02's scores"), the missing columns in the order asked for, what was expected (``expected`` when
    given, else every column asked for), the columns the table has, and for a missing column the closest
    one it has (a misspelling), so a wrong file is recognised at once.

    Examples
    --------
    >>> require_columns(pd.DataFrame({"customer_id": [1]}), ["customer_id", "date"], "purchases")
    Traceback (most recent call last):
    ...
    ValueError: purchases: missing column(s) ['date']; expected ['customer_id', 'date'] (it has ['customer_id'])
    """
    columns = list(columns)
    missing = [c for c in dict.fromkeys(columns) if c not in table.columns]
    if missing:
        has = list(map(str, table.columns[:20])) + (["..."] if len(table.columns) > 20 else [])
        near = {m: difflib.get_close_matches(str(m), list(map(str, table.columns)), n=1, cutoff=0.6) for m in missing}
        hint = "".join(f"; did you mean {n[0]!r} for {m!r}?" for m, n in near.items() if n)
        raise error(f"{what}: missing column(s) {missing}; expected {expected or columns} (it has {has}){hint}")


def readable(
    table: pd.DataFrame,
    percent: Iterable[str] = (),
    integer: Iterable[str] = (),
    pvalue: Iterable[str] = (),
    decimals: int = 3,
    percent_decimals: int = 1,
) -> pd.DataFrame:
    """``table`` with every number written as a reader reads it: shares as percentages, counts as whole
    numbers with thousands separators, p-values in scientific notation when small, other numbers at
    ``decimals`` places, and a missing value as "-". Text columns are left as they are.

    Returns a table of strings, so that what the page shows is exactly what a rerun shows (a pandas
    ``Styler`` would also do, but its plain-text form carries a memory address).

    Examples
    --------
    >>> t = pd.DataFrame({"share": [0.9531, None], "n": [15848.0, 3.0], "p": [3.9e-07, 0.21], "x": [2.114412, -0.5]})
    >>> readable(t, percent=["share"], integer=["n"], pvalue=["p"]).to_dict("list")
    {'share': ['95.3%', '-'], 'n': ['15,848', '3'], 'p': ['3.9e-07', '0.21'], 'x': ['2.114', '-0.500']}
    >>> readable(pd.DataFrame({"passes": [True, False]})).to_dict("list")
    {'passes': ['yes', 'no']}
    """
    percent, integer, pvalue = set(percent), set(integer), set(pvalue)
    unknown = (percent | integer | pvalue) - set(table.columns)
    if unknown:
        raise ValueError(
            f"readable: no column(s) {sorted(map(str, unknown))} in the table (it has {list(table.columns)})"
        )

    def write(value, column):
        if isinstance(value, str):
            return value
        if value is None or pd.isna(value):
            return "-"
        if isinstance(value, (bool, np.bool_)):
            return "yes" if value else "no"
        if column in percent:
            return f"{value:.{percent_decimals}%}"
        if column in integer:
            return f"{value:,.0f}"
        if column in pvalue:
            return f"{value:.2g}"
        return f"{value:.{decimals}f}"

    return pd.DataFrame({c: [write(v, c) for v in table[c]] for c in table.columns}, index=table.index)
