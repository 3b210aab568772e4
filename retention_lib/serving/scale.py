"""Past one process: per-customer profiles for millions of customers on Ray.

A customer's profile depends only on that customer's own purchases and reviews, so the work splits
by customer: :func:`shard_of` gives every customer a shard by a stable hash of the id, each shard's
rows go through the very same pandas code as in-process (:func:`profile_features`: chapter 4's
behaviour summary and chapter 5's text features), and the shards' results are put together. Ray Data
runs the shards as tasks, ``workers`` at a time; on a cluster (``address``) the same call runs on
its nodes. The result equals the in-process one (the tests and the chapter check it).

:func:`start_ray` starts (or joins) Ray once, the same way for every Ray call of the book.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd
import pyarrow as pa

from retention_lib.profiles.user_profiles import text_features
from retention_lib.retention import calibration_holdout

__all__ = ["start_ray", "stop_ray", "shard_of", "profile_features", "profiles_with_ray", "profile_timings"]


def start_ray(address: str | None = None, num_cpus: int | None = None) -> None:
    """Start a local Ray instance with ``num_cpus`` (or connect to ``address``), quietly, once per process."""
    _quiet_ray()  # before the import too: in a notebook, importing Ray logs about widgets
    import ray

    _quiet_ray()
    import ray.data

    _quiet_ray()  # importing ray.data installs its own logging configuration
    if ray.is_initialized():
        return
    kw = {"address": address} if address else {"num_cpus": num_cpus}
    ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False, **kw)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False


def _quiet_ray() -> None:
    """Ray's start-up, progress and notebook-widget chatter off (errors still show)."""
    for name in ("ray", "ray.data", "ray.widgets"):
        logging.getLogger(name).setLevel(logging.ERROR)


def stop_ray() -> None:
    """Shut down the Ray instance this process started or joined (nothing when there is none)."""
    import ray

    if ray.is_initialized():
        ray.shutdown()


def shard_of(ids, shards: int) -> np.ndarray:
    """The shard (0 .. shards-1) of each customer id: a stable hash, the same on every machine and run."""
    if not isinstance(shards, (int, np.integer)) or shards < 1:
        raise ValueError(f"shards must be a whole number >= 1, got {shards!r}")
    ids = np.asarray(ids)
    if ids.dtype.kind in "US":  # text ids: pandas hashes them as Python objects
        ids = ids.astype(object)
    h = pd.util.hash_array(ids, categorize=False)
    return (h % np.uint64(shards)).astype(np.int64)


def profile_features(purchases: pd.DataFrame, reviews: pd.DataFrame, proba: pd.DataFrame, cutoff, end) -> pd.DataFrame:
    """Behaviour (:func:`retention_lib.retention.calibration_holdout`) and text features
    (:func:`retention_lib.profiles.user_profiles.text_features`) of every customer with a purchase by ``cutoff``.

    ``proba`` has one row per review (same order): the sentiment model's ``p_negative``, ``p_neutral``,
    ``p_positive``. Indexed by ``customer_id``, sorted.
    """
    summary = calibration_holdout(purchases, cutoff, end)
    return summary.join(text_features(reviews, proba, cutoff, summary.index)).sort_index()


def _shard_task(batch: dict, parts: list, cutoff, end) -> pd.DataFrame:
    """A Ray Data task: the profiles of the shards named in ``batch["shard"]``."""
    import ray

    frames = []
    for s in np.asarray(batch["shard"]):
        purchases, reviews, proba = ray.get(parts[int(s)])
        frames.append(profile_features(purchases, reviews, proba, cutoff, end).reset_index())
    return pd.concat(frames, ignore_index=True)


def profiles_with_ray(
    observed, proba: pd.DataFrame, workers: int = 2, shards: int | None = None, address: str | None = None
) -> pd.DataFrame:
    """:func:`profile_features` of a world's (or a shop's) observed data, computed in shards on Ray.

    Parameters
    ----------
    observed : retention_lib.world.Observed
        ``purchases``, ``reviews``, ``cutoff``, ``end``.
    proba : DataFrame
        Sentiment probabilities of each review, in the order of ``observed.reviews``.
    workers : int
        Shards computed at the same time (Ray tasks of one CPU each).
    shards : int, optional
        How many pieces the customers are cut into (default: 4 per worker, so a slow shard does not
        leave the other workers idle at the end).
    address : str, optional
        A Ray cluster to run on; ``None`` starts (or reuses) a local instance with ``workers`` CPUs.

    Returns
    -------
    DataFrame
        Equal to ``profile_features(observed.purchases, observed.reviews, proba, observed.cutoff, observed.end)``.
    """
    import ray

    if not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f"workers must be a whole number >= 1, got {workers!r}")
    shards = 4 * workers if shards is None else shards
    purchases, reviews = observed.purchases, observed.reviews
    if len(proba) != len(reviews):
        raise ValueError(f"proba: {len(proba)} rows, but the reviews have {len(reviews)}")
    start_ray(address, num_cpus=workers)
    p_shard = shard_of(purchases["customer_id"].to_numpy(), shards)
    r_shard = shard_of(reviews["customer_id"].to_numpy(), shards)
    proba = proba.reset_index(drop=True)
    parts, used = [], []
    for s in range(shards):
        keep = r_shard == s
        parts.append(ray.put((purchases[p_shard == s], reviews[keep], proba[keep])))
        if (p_shard == s).any():
            used.append(s)
    ds = ray.data.from_items([{"shard": s} for s in used], override_num_blocks=len(used))

    done = ds.map_batches(
        _shard_task,
        batch_size=1,
        batch_format="numpy",
        num_cpus=1,
        compute=ray.data.TaskPoolStrategy(size=workers),
        fn_kwargs={"parts": parts, "cutoff": observed.cutoff, "end": observed.end},
    )
    out = pa.concat_tables(ray.get(done.to_arrow_refs())).to_pandas()  # numpy dtypes, as in-process
    return out.set_index("customer_id").sort_index()


def profile_timings(observed, proba: pd.DataFrame, workers: int = 2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The same profiles three ways, timed: pandas in this process, Ray with 1 worker, Ray with ``workers``.

    Every Ray result is checked against pandas' (an error if they differ). Starts Ray with ``workers``
    CPUs when it is not running, and leaves it running.

    Returns
    -------
    (DataFrame, DataFrame)
        ``how``, ``seconds``, ``customers/s``, ``speed-up vs Ray, 1 worker``; the profiles.
    """
    start_ray(num_cpus=workers)
    t0 = time.perf_counter()
    reference = profile_features(observed.purchases, observed.reviews, proba, observed.cutoff, observed.end)
    rows = [{"how": "pandas, this process", "seconds": time.perf_counter() - t0}]
    for n in sorted({1, workers}):
        t0 = time.perf_counter()
        got = profiles_with_ray(observed, proba, workers=n)
        rows.append({"how": f"Ray, {n} worker{'s' if n > 1 else ''}", "seconds": time.perf_counter() - t0})
        try:
            pd.testing.assert_frame_equal(got, reference)
        except AssertionError as e:
            raise ValueError(f"Ray's profiles with {n} worker(s) differ from pandas': {e}") from e
    table = pd.DataFrame(rows)
    table["customers/s"] = len(reference) / table["seconds"]
    table["speed-up vs Ray, 1 worker"] = table["seconds"].iloc[1] / table["seconds"]
    return table, reference
