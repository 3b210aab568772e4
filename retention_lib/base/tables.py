"""The one check of a table's columns, with an error in the reader's own terms."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

import pandas as pd

__all__ = ["require_columns"]


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
