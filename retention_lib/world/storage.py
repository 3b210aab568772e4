"""Saving a world so that later chapters study the same customers, and reading it back."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd

from .config import Observed, Truth, World, WorldConfig


def save(world: World, folder) -> Path:
    """Write a world to ``folder``: ``observed/`` and ``truth/`` as parquet files, ``config.json``.

    Later chapters :func:`load` it, so that they all measure the same customers.
    """
    folder = Path(folder)
    for part, tables in (("observed", world.observed), ("truth", world.truth)):
        (folder / part).mkdir(parents=True, exist_ok=True)
        for f in fields(tables):
            value = getattr(tables, f.name)
            if isinstance(value, pd.DataFrame):
                value.to_parquet(folder / part / f"{f.name}.parquet")
    meta = {
        "config": world.config.as_dict(),
        "cutoff": str(world.observed.cutoff.date()),
        "end": str(world.observed.end.date()),
        "rating_thresholds": world.truth.rating_thresholds.tolist(),
    }
    (folder / "config.json").write_text(json.dumps(meta, indent=1))
    return folder


def load(folder) -> World:
    """Read a world written by :func:`save`."""
    folder = Path(folder)
    if not (folder / "config.json").exists():
        raise FileNotFoundError(f"{folder} holds no saved world (no config.json); simulate one and save it")
    meta = json.loads((folder / "config.json").read_text())

    def read(part, name):
        return pd.read_parquet(folder / part / f"{name}.parquet")

    observed = Observed(
        purchases=read("observed", "purchases"),
        reviews=read("observed", "reviews"),
        assignment=read("observed", "assignment"),
        cutoff=pd.Timestamp(meta["cutoff"]),
        end=pd.Timestamp(meta["end"]),
    )
    truth = Truth(
        customers=read("truth", "customers"),
        purchases=read("truth", "purchases"),
        reviews=read("truth", "reviews"),
        rating_thresholds=np.array(meta["rating_thresholds"]),
    )
    return World(config=WorldConfig(**meta["config"]), observed=observed, truth=truth)
