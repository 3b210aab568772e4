"""Checks of what leaves the shop: raw ids in an exported file, and ids an attacker could guess back."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["raw_ids_in", "plain_hash", "guessable_share"]


def raw_ids_in(path, ids) -> pd.DataFrame:
    """Every place a raw id appears in a saved table (parquet or CSV): its index and every column,
    compared as text, so an id stored as a number or as a string is found either way.

    Returns
    -------
    DataFrame
        ``where`` (index or column name) and ``matches`` (how many values are raw ids); empty when clean.
    """
    path = Path(path)
    if path.suffix == ".parquet":
        table = pd.read_parquet(path)
    elif path.suffix == ".csv":
        table = pd.read_csv(path, dtype=str)
    else:
        raise ValueError(f"{path}: expected a .parquet or .csv file")
    wanted = set(pd.Series(np.asarray(ids, dtype=object)).astype(str))
    rows = []
    for name, values in [("(index)", pd.Series(table.index))] + list(table.items()):
        hits = int(values.astype(str).isin(wanted).sum())
        if hits:
            rows.append({"where": name, "matches": hits})
    return pd.DataFrame(rows, columns=["where", "matches"])


def plain_hash(ids, length: int = 32) -> np.ndarray:
    """SHA-256 of each id without a key: what a shop does when it "hashes the ids" (shown to fail)."""
    return np.array(
        [hashlib.sha256(str(v).encode()).hexdigest()[:length] for v in np.asarray(ids, dtype=object)], dtype=object
    )


def guessable_share(pseudonyms, candidates, length: int = 32) -> float:
    """Share of ``pseudonyms`` an attacker without the key recovers by hashing every candidate id
    (customer ids are few and sequential, so the candidates are easy to list) and looking them up."""
    guesses = set(plain_hash(candidates, length))
    p = pd.Series(np.asarray(pseudonyms, dtype=object))
    return float(p.isin(guesses).mean()) if len(p) else float("nan")
