"""The one check of a table's columns, with an error in the reader's own terms; and a table as a reader sees it."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from retention_lib.base.names import LABELS, in_words

__all__ = ["require_columns", "readable", "shown"]


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
        if column in pvalue:  # two significant digits; below 0.001 in scientific notation (7.4e-04, not 0.00074)
            return f"{value:.2g}" if abs(value) >= 1e-3 else f"{value:.1e}"
        return f"{value:.{decimals}f}"

    return pd.DataFrame({c: [write(v, c) for v in table[c]] for c in table.columns}, index=table.index)


def _significant(value: float) -> str:
    """A number at about four significant digits (none after the point from 100 up), never more than four
    decimals; tiny ones in scientific notation (a p-value of 3.9e-07 is not "0.0000")."""
    if np.isinf(value):
        return "∞" if value > 0 else "-∞"  # a reader's sign, not Python's "inf"
    if value == 0 or not np.isfinite(value):
        return f"{value:g}"
    if abs(value) < 1e-4:  # 0.0006 stays a decimal beside 0.0021 in its column; 3.9e-07 needs the exponent
        return f"{value:.2e}"
    magnitude = abs(float(f"{value:.4g}"))  # after rounding: 99.996 is 100, written "100", not "100.00"
    decimals = 0 if magnitude >= 100 else int(min(4, 3 - np.floor(np.log10(magnitude))))  # 245, 12.35, 0.7205
    text = f"{value:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text  # 0.243, not 0.2430: no digit it does not have


def shown(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` as the book shows a table nobody formatted by hand: headers and row labels that are code keys
    become their labels (:func:`~retention_lib.base.names.label`; an unknown ``snake_case`` key its words),
    a float column of whole numbers is written as counts, other floats at about four significant digits,
    a missing value as "-". Text is left as it is. The book's kernels display every DataFrame through it
    (:func:`retention_lib.machinery.session.start`); :func:`readable` says more where a column's kind is known
    (shares as percentages, p-values).

    Examples
    --------
    >>> t = pd.DataFrame({"roc_auc": [0.720453, None], "n_customers": [15848.0, 3.0], "p": [3.9e-07, 0.21]})
    >>> shown(t).to_dict("list")
    {'ROC AUC': ['0.7205', '-'], 'n customers': ['15,848', '3'], 'p': ['3.90e-07', '0.21']}
    """

    def words(key):
        if isinstance(key, tuple):
            return tuple(words(k) for k in key)
        if not isinstance(key, str):
            return key
        if key in LABELS or _SNAKE.match(key):
            return LABELS.get(key, key.replace("_", " ").lower())
        return in_words(key) if "_" in key else key  # "fit_miss vs als_lm": the keys inside become words

    out = {}
    for j in range(table.shape[1]):  # by position: column names may repeat
        values = table.iloc[:, j]
        if pd.api.types.is_float_dtype(values):
            finite = values.dropna()
            whole = len(finite) > 0 and bool((finite == finite.round()).all()) and bool((finite.abs() < 1e15).all())
            out[j] = ["-" if pd.isna(v) else f"{v:,.0f}" if whole else _significant(float(v)) for v in values]
        elif pd.api.types.is_bool_dtype(values) or pd.api.types.is_integer_dtype(values):
            out[j] = ["-" if pd.isna(v) else v for v in values]  # a nullable column's <NA> too
        else:  # text, or a mix: numbers among text are written as in a float column
            out[j] = [_cell(v) for v in values]
    frame = pd.DataFrame(out, index=table.index)
    frame.columns = table.columns.map(words).set_names([words(n) for n in table.columns.names])
    frame.index = table.index.map(words).set_names([words(n) for n in table.index.names])
    return frame


def _cell(value):
    if isinstance(value, str) or isinstance(value, (bool, np.bool_)):
        return value
    if isinstance(value, (float, np.floating)):
        return "-" if np.isnan(value) else f"{value:,.0f}" if float(value).is_integer() else _significant(float(value))
    return "-" if _missing(value) else value


def _missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or an array in a cell
        return False


_SNAKE = re.compile(r"^([a-z][a-z0-9]*(_[a-z0-9]+)+|[A-Z][A-Z0-9]*(_[A-Z0-9]+)+)$")  # fit_miss, CREDIT_CARD
