"""The rules a dataset must meet (columns, types, ranges, keys) and the validation that checks them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


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
        extra = tuple(
            Column(str(n), col.kind, col.meaning, col.nullable, col.min, col.max, col.date_format)
            for n in names
            for rx, col in self.patterns
            if re.fullmatch(rx, str(n))
        )
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
        num = pd.to_numeric(
            raw.astype("string").str.strip() if not pd.api.types.is_numeric_dtype(raw) else raw, errors="coerce"
        ).astype(float)
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


def validate(
    raw: pd.DataFrame, schema: Schema, source: str, renames: dict | None = None, first_line: int | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
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
            violations.append(
                Violation(
                    source, column, rule, n, _examples(pos, vals, first_line), file_column=in_file.get(column, column)
                )
            )

    if len(raw) == 0:
        raise DataValidationError([Violation(source, "*", "the file holds no data rows", 0)])
    _check_present(raw, schema, source, in_file)

    out = raw.copy()
    for col in schema.present_columns(raw.columns):
        s = raw[col.name]
        blank = _is_blank(s)
        if not col.nullable:
            check(col.name, "null or empty value where a value is required", blank)
        conv, bad = _convert(s, col)
        expected = {
            "int": "a whole number",
            "float": "a number",
            "bool": "0 or 1",
            "str": "text",
            "datetime": f"a date ({col.date_format or 'ISO 8601'})",
        }[col.kind]
        rule = "unparsable date" if col.kind == "datetime" else f"wrong type: expected {expected}"
        check(col.name, rule, bad)
        if col.min is not None or col.max is not None:
            check(col.name, *_out_of_range(col, s, conv))
        out[col.name] = conv

    if schema.unique:
        row, violation = _duplicate_keys(raw, list(schema.unique), source, first_line, in_file)
        report.append(row)
        violations += [violation] if violation else []
    if violations:
        raise DataValidationError(violations)
    return out, pd.DataFrame(report)


def _check_present(raw: pd.DataFrame, schema: Schema, source: str, in_file: dict) -> None:
    """Every required column is in the file; otherwise one violation per missing column, naming what the file has."""
    missing = [c.name for c in schema.columns if c.name not in raw.columns]
    if missing:
        found = ", ".join(str(in_file.get(c, c)) for c in raw.columns)
        raise DataValidationError(
            [
                Violation(
                    source,
                    m,
                    f"required column is missing (the file has: {found})",
                    len(raw),
                    file_column=in_file.get(m, m),
                )
                for m in missing
            ]
        )


def _out_of_range(col: Column, s: pd.Series, conv: pd.Series) -> tuple[str, pd.Series]:
    """The range rule of a column with ``min`` or ``max``, and the rows that break it."""
    if col.kind == "datetime":
        lo = pd.Timestamp(col.min) if col.min is not None else None
        hi = pd.Timestamp(col.max) + pd.Timedelta(days=1) if col.max is not None else None
        out_of = pd.Series(False, index=s.index)
        if lo is not None:
            out_of |= (conv < lo).fillna(False).astype(bool)
        if hi is not None:
            out_of |= (conv >= hi).fillna(False).astype(bool)
        return f"implausible date: expected between {col.min} and {col.max}", out_of
    num = pd.to_numeric(conv.astype("Float64") if col.kind != "float" else conv, errors="coerce")
    out_of = pd.Series(False, index=s.index)
    if col.min is not None:
        out_of |= (num < col.min).fillna(False).astype(bool)
    if col.max is not None:
        out_of |= (num > col.max).fillna(False).astype(bool)
    lo = "-inf" if col.min is None else col.min
    hi = "inf" if col.max is None else col.max
    what = "negative value" if col.min == 0 and col.max is None else "value out of range"
    return f"{what}: expected between {lo} and {hi}", out_of


def _duplicate_keys(raw: pd.DataFrame, key: list[str], source: str, first_line: int | None, in_file: dict):
    """The report row of the unique-key rule, and its violation (or None)."""
    dup = raw.duplicated(subset=key, keep=False)
    n = int(dup.sum())
    row = {"column": "+".join(key), "rule": "duplicate key (must be unique)", "rows_checked": len(raw), "violations": n}
    if not n:
        return row, None
    pos = np.flatnonzero(dup.to_numpy())
    vals = [tuple(raw.iloc[p][key]) for p in pos[:3]]
    file_column = "+".join(in_file.get(k, k) for k in key)
    return row, Violation(
        source,
        "+".join(key),
        "duplicate key (must be unique)",
        n,
        _examples(pos, vals, first_line),
        file_column=file_column,
    )
