"""Scoring reviews past one process: Ray Data with one model per worker.

:func:`score_with_ray` turns the texts into a Ray dataset and maps batches through a pool of actors;
each actor loads the saved classifier once and scores its batches with :func:`score_reviews`, so the
output equals single-process scoring with the same backend. With ``address=None`` a local Ray
instance is started on this machine; with the address of a running cluster
(``"ray://host:10001"`` or ``"auto"``) the same call runs there, as long as every node can read
``model_dir``.
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa

from retention_lib.sentiment.classifier import SentimentClassifier
from retention_lib.sentiment.labels import check_texts

from .backends import score_reviews
from .scale import start_ray

__all__ = ["score_with_ray"]


class _Scorer:
    """A Ray actor: one classifier, loaded once, scoring batches of ``{"i", "text"}`` rows."""

    def __init__(self, model_dir: str, backend: str, threads: int, batch_size: int, max_length: int | None):
        import torch

        torch.set_num_threads(threads)
        self.clf = SentimentClassifier.load(model_dir, device="cpu")
        self.clf.max_length = max_length or self.clf.max_length
        self.backend, self.threads, self.batch_size = backend, threads, batch_size

    def __call__(self, batch: dict) -> dict:
        import psutil

        start = time.time()
        p = score_reviews(list(batch["text"]), self.clf, self.backend, self.batch_size, self.threads)
        n = len(p)
        return {
            "i": np.asarray(batch["i"]),
            **{f"p{j}": p[:, j] for j in range(p.shape[1])},
            "start": np.full(n, start),
            "end": np.full(n, time.time()),
            "pid": np.full(n, os.getpid()),
            "rss": np.full(n, psutil.Process().memory_info().rss),
        }


def score_with_ray(
    texts,
    model_dir: str | Path,
    backend: str = "torch",
    workers: int = 2,
    threads_per_worker: int = 1,
    batch_size: int = 64,
    address: str | None = None,
    stats: bool = False,
    max_length: int | None = None,
):
    """Class probabilities of ``texts``, shape (n, k), from ``workers`` Ray actors.

    Parameters
    ----------
    texts : sequence of str
    model_dir : path
        A classifier saved with :meth:`SentimentClassifier.save` (readable by every worker).
    backend : str
        Any backend of :func:`score_reviews`.
    workers, threads_per_worker : int
        Actors in the pool and the intra-op threads (and CPUs reserved) of each.
    batch_size : int
        Reviews per Ray batch (and per model batch).
    address : str, optional
        A Ray cluster to connect to; ``None`` starts (or reuses) a local instance.
    max_length : int, optional
        Tokens read per review (default: the saved model's own).
    stats : bool
        Also return a dict: ``busy_seconds`` (first batch started to last batch done, on the workers'
        clocks: the scoring without Ray's and the workers' start-up), ``workers`` (processes that
        scored) and ``rss_mib`` (mean resident memory of a worker after its last batch).

    Returns
    -------
    array of shape (n, k), or (array, dict) with ``stats``
    """
    import ray

    texts = check_texts(texts)
    model_dir = Path(model_dir)
    if not (model_dir / "retention_lib.json").exists():
        raise FileNotFoundError(f"{model_dir}: not a saved SentimentClassifier (no retention_lib.json)")
    if workers < 1 or threads_per_worker < 1:
        raise ValueError(f"workers and threads_per_worker must be >= 1, got {workers}, {threads_per_worker}")
    start_ray(address, num_cpus=workers * threads_per_worker)
    order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths share a batch: less padding
    ds = ray.data.from_items([{"i": int(i), "text": texts[i]} for i in order])
    with warnings.catch_warnings():
        # max_restarts=0 (what Ray's own code suggests) keeps the core worker from logging an error about
        # restarting actors whose arguments live in the object store; passing it is "deprecated" in 2.60
        # like every other extra remote argument, without a replacement yet
        warnings.simplefilter("ignore", DeprecationWarning)
        scored = ds.map_batches(
            _Scorer,
            batch_size=batch_size,
            batch_format="numpy",
            num_cpus=threads_per_worker,
            compute=ray.data.ActorPoolStrategy(size=workers),
            max_restarts=0,
            fn_constructor_kwargs={
                "model_dir": str(model_dir),
                "backend": backend,
                "threads": threads_per_worker,
                "batch_size": batch_size,
                "max_length": max_length,
            },
        )
    done = pa.concat_tables(ray.get(scored.to_arrow_refs())).to_pandas()
    cols = sorted((c for c in done.columns if c[0] == "p" and c[1:].isdigit()), key=lambda c: int(c[1:]))
    out = np.empty((len(texts), len(cols)))
    out[done["i"].to_numpy()] = done[cols].to_numpy()
    if not stats:
        return out
    last = done.sort_values("end").groupby("pid").tail(1)
    return out, {
        "busy_seconds": float(done["end"].max() - done["start"].min()),
        "workers": int(done["pid"].nunique()),
        "rss_mib": float(last["rss"].mean() / 2**20),
    }
