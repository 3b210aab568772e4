"""Scoring reviews past one process: Ray Data with one model per worker.

:func:`score_with_ray` turns the texts into a Ray dataset and maps batches through a pool of actors;
each actor loads the saved classifier once and scores its batches with :func:`score_reviews`, so the
output equals single-process scoring with the same backend. With ``address=None`` a local Ray
instance is started on this machine; with the address of a running cluster
(``"ray://host:10001"`` or ``"auto"``) the same call runs there, as long as every node can read
``model_dir``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["score_with_ray"]


class _Scorer:
    """A Ray actor: one classifier, loaded once, scoring batches of ``{"i", "text"}`` rows."""

    def __init__(self, model_dir: str, backend: str, threads: int, batch_size: int):
        import torch

        from .classifier import SentimentClassifier

        torch.set_num_threads(threads)
        self.clf = SentimentClassifier.load(model_dir, device="cpu")
        self.backend, self.threads, self.batch_size = backend, threads, batch_size

    def __call__(self, batch: dict) -> dict:
        from .backends import score_reviews

        p = score_reviews(list(batch["text"]), self.clf, self.backend, self.batch_size, self.threads)
        return {"i": np.asarray(batch["i"]), "proba": list(p)}


def score_with_ray(texts, model_dir: str | Path, backend: str = "torch", workers: int = 2, threads_per_worker: int = 1,
                   batch_size: int = 64, address: str | None = None) -> np.ndarray:
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
    """
    import ray

    from .labels import check_texts

    texts = check_texts(texts)
    model_dir = Path(model_dir)
    if not (model_dir / "retention_lib.json").exists():
        raise FileNotFoundError(f"{model_dir}: not a saved SentimentClassifier (no retention_lib.json)")
    if workers < 1 or threads_per_worker < 1:
        raise ValueError(f"workers and threads_per_worker must be >= 1, got {workers}, {threads_per_worker}")
    if not ray.is_initialized():
        kw = {"address": address} if address else {"num_cpus": workers * threads_per_worker}
        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False, **kw)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ds = ray.data.from_items([{"i": i, "text": t} for i, t in enumerate(texts)])
    scored = ds.map_batches(_Scorer, batch_size=batch_size, batch_format="numpy", num_cpus=threads_per_worker,
                            compute=ray.data.ActorPoolStrategy(size=workers),
                            fn_constructor_kwargs={"model_dir": str(model_dir), "backend": backend,
                                                   "threads": threads_per_worker, "batch_size": batch_size})
    rows = scored.take_all()
    out = np.empty((len(texts), len(rows[0]["proba"]) if rows else 0))
    for r in rows:
        out[int(r["i"])] = r["proba"]
    return out
