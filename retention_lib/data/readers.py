"""Readers: a file in, raw strings out; validation decides what they mean."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from .schema import DataValidationError, Violation


def _read_csv(path: Path, **kw) -> pd.DataFrame:
    if not path.exists():
        raise FileNotFoundError(f"data file not found: {path}")
    if path.stat().st_size == 0:
        raise DataValidationError([Violation(str(path), "*", "the file is empty", 0)])
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], **kw)
    except UnicodeDecodeError as exc:
        raw = path.read_bytes()
        try:  # the parser decodes in chunks: find the first bad byte in the whole file
            raw.decode("utf-8")
            where = ""
        except UnicodeDecodeError as whole:
            line = raw[: whole.start].count(b"\n") + 1
            where = f": byte 0x{raw[whole.start]:02x} on line {line}"
        raise DataValidationError(
            [Violation(str(path), "*", f"not UTF-8 text{where} (save the file as UTF-8)", 1)]
        ) from exc
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataValidationError([Violation(str(path), "*", f"not a readable table ({exc})", 0)]) from exc


def _read_whitespace(path: Path) -> pd.DataFrame:
    """A whitespace-separated table with a header line (the CDNOW master file)."""
    return _read_csv(path, sep=r"\s+")


def _read_whitespace_no_header(names: tuple[str, ...]) -> Callable[[Path], pd.DataFrame]:
    """A whitespace-separated table without a header line (the CDNOW sample)."""
    return lambda path: _read_csv(path, sep=r"\s+", header=None, names=list(names))


def read_table(path: Path) -> pd.DataFrame:
    """A parquet file (``.parquet`` anywhere in its name, any case: the reviews are ``.parquet.brotli``), else a
    CSV, whatever its extension (``.CSV``, ``.txt``); columns named 'Unnamed: ...' (a saved index) are dropped."""
    if not path.exists():
        raise FileNotFoundError(f"data file not found: {path}")
    if path.stat().st_size == 0:
        raise DataValidationError([Violation(str(path), "*", "the file is empty", 0)])
    if ".parquet" not in path.name.lower():
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
