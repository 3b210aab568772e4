"""What reading reviews costs: each inference backend's speed next to its accuracy, the compute in
one review, and dollars per million reviews and per retraining from measured speed and dated prices.

- :func:`backend_speed`: reviews per second of every backend of
  :func:`retention_lib.sentiment.backends.score_reviews` at each thread count, with its macro-F1, the
  ratio against naive fp32 measured in the same run, and the largest difference in probability;
- :func:`forward_flops`: floating-point operations of one forward pass, counted by PyTorch's
  ``FlopCounterMode`` (not estimated by hand), and :func:`estimated_rate` for hardware not measured;
- :func:`usd_per_million`, :func:`llm_usd_per_million`, :func:`retraining`: money from speed and prices;
- :func:`cost_table`: one row per way of reading the reviews, in the units a budget uses.

Prices are parameters of the chapter (with their dated public sources there), never constants here.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

from retention_lib.base.metrics import paired_bootstrap_diff
from retention_lib.sentiment import SentimentClassifier
from retention_lib.sentiment.labels import check_labels, check_texts

from .backends import BACKENDS, TOLERANCE, score_reviews

__all__ = [
    "saved_split",
    "training_pool",
    "backend_speed",
    "backend_accuracy",
    "accelerator_speed",
    "forward_flops",
    "estimated_rate",
    "usd_per_million",
    "llm_usd_per_million",
    "retraining",
    "cost_table",
    "token_counts",
]


def saved_split(
    labelled: pd.DataFrame, scores: pd.DataFrame, split: str = "test", n: int = 0, seed: int = 0
) -> pd.DataFrame:
    """The labelled reviews of one of chapter 02's splits, as its ``review_scores.parquet`` records them.

    Parameters
    ----------
    labelled : DataFrame
        ``sentiment.make_dataset(...)[0]``: ``text`` and ``label``, indexed like the reviews.
    scores : DataFrame
        Chapter 02's saved scores, with its ``split`` column.
    split : str
        ``"train"``, ``"validation"`` or ``"test"``.
    n : int
        A random sample of this many (0 = all), drawn with ``seed``.
    """
    if "split" not in scores.columns:
        raise ValueError("scores: no 'split' column; expected chapter 02's review_scores.parquet")
    names = sorted(scores["split"].unique())
    if split not in names:
        raise ValueError(f"split {split!r} is not in the saved scores; they have {names}")
    rows = labelled.loc[labelled.index.intersection(scores.index[scores["split"] == split])]
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return rows.sample(min(n, len(rows)), random_state=seed) if n else rows


def training_pool(labelled: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """Every labelled review outside chapter 02's saved test and validation splits: what a retraining
    (or a cheap model such as TF-IDF) may learn from."""
    if "split" not in scores.columns:
        raise ValueError("scores: no 'split' column; expected chapter 02's review_scores.parquet")
    held_out = scores.index[scores["split"].isin(["test", "validation"])]
    return labelled.drop(labelled.index.intersection(held_out))


def backend_speed(
    texts, clf, backends=None, threads=(2,), batch_size: int = 64, warmup: int = 128, log=None
) -> tuple[pd.DataFrame, dict]:
    """Speed of each inference backend on the same reviews, in one run, with its distance from fp32.

    Every backend first scores ``warmup`` reviews (building the exported, quantised or compiled model
    and warming its caches; that time is reported as ``first call (s)``), then all of ``texts`` is
    scored and timed. Ratios are against the naive backend at the same thread count.

    Parameters
    ----------
    texts : sequence of str
    clf : SentimentClassifier
    backends : sequence of str, optional
        Default: every backend; ``"naive"``, the baseline, is always measured (first).
    threads : sequence of int
        Thread counts to measure at.

    Returns
    -------
    (DataFrame, dict)
        ``threads``, ``backend``, ``reviews/s``, ``ratio vs naive``, ``max |p - fp32|``, ``tolerance``
        (promised by the backend; NaN: approximate), ``within tolerance`` and ``first call (s)``,
        where fp32 is the naive backend at the first thread count; and the probabilities of each
        backend at the last thread count, by name.
    """
    texts = check_texts(texts)
    backends = _backends(backends)
    threads = [int(t) for t in threads]
    if not threads or min(threads) < 1:
        raise ValueError(f"threads must be whole numbers >= 1, got {threads}")
    rows, reference, proba = [], None, {}
    for n_threads in threads:
        base = None
        for backend in backends:
            t0 = time.perf_counter()
            score_reviews(texts[:warmup], clf, backend, batch_size, n_threads)
            first = time.perf_counter() - t0
            t0 = time.perf_counter()
            p = score_reviews(texts, clf, backend, batch_size, n_threads)
            rate = len(texts) / (time.perf_counter() - t0)
            base = base or rate
            reference = p if reference is None else reference
            proba[backend] = p
            tol = TOLERANCE[backend]
            gap = float(np.abs(p - reference).max())
            rows.append(
                {
                    "threads": n_threads,
                    "backend": backend,
                    "reviews/s": rate,
                    "ratio vs naive": rate / base,
                    "max |p - fp32|": gap,
                    "tolerance": np.nan if tol is None else tol,
                    "within tolerance": True if tol is None else gap <= tol,
                    "first call (s)": first,
                }
            )
            if log:
                log(f"{backend} at {n_threads} thread(s): {rate:.1f} reviews/s")
    return pd.DataFrame(rows), proba


def _backends(backends) -> list[str]:
    backends = list(BACKENDS if backends is None else backends)
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown:
        raise ValueError(f"backends: unknown {unknown}; choose from {list(BACKENDS)}")
    return ["naive"] + [b for b in dict.fromkeys(backends) if b != "naive"]


def backend_accuracy(
    texts,
    labels,
    clf,
    backends=None,
    reference: str = "torch",
    batch_size: int = 64,
    threads: int | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Macro-F1 of each backend on labelled reviews, and its difference from fp32 with a paired interval.

    fp32 is scored once with ``reference``, an exact backend (its probabilities equal naive fp32's within
    its tolerance, so any exact backend gives the same F1); every approximate backend (int8) is scored
    and compared with it on the same reviews (paired bootstrap, 95 %). Exact backends get fp32's row.

    Returns
    -------
    (DataFrame, array)
        ``backend``, ``macro-F1``, ``F1 - fp32``, ``low``, ``high``, ``how``; fp32's probabilities.
    """

    texts = check_texts(texts)
    labels = check_labels(labels, list(clf.labels), len(texts))
    if TOLERANCE.get(reference) is None:
        raise ValueError(
            f"reference must be an exact backend ({[b for b, t in TOLERANCE.items() if t is not None]}), "
            f"got {reference!r}"
        )
    macro = lambda y, pred: f1_score(y, pred, average="macro")  # noqa: E731
    fp32 = score_reviews(texts, clf, reference, batch_size, threads)
    f1_fp32 = macro(labels, fp32.argmax(axis=1))
    rows = []
    for backend in _backends(backends):
        if TOLERANCE[backend] is not None:
            rows.append(
                {
                    "backend": backend,
                    "macro-F1": f1_fp32,
                    "F1 - fp32": 0.0,
                    "low": 0.0,
                    "high": 0.0,
                    "how": f"exact: fp32 ({reference}) within {TOLERANCE[backend]:.0e}",
                }
            )
            continue
        p = score_reviews(texts, clf, backend, batch_size, threads)
        d = paired_bootstrap_diff(labels, p.argmax(axis=1), fp32.argmax(axis=1), macro, n_resamples, seed=seed)
        rows.append(
            {
                "backend": backend,
                "macro-F1": macro(labels, p.argmax(axis=1)),
                "F1 - fp32": d["difference"],
                "low": d["low"],
                "high": d["high"],
                "how": "scored (approximate)",
            }
        )
    return pd.DataFrame(rows), fp32


def accelerator_speed(texts, model_dir, device: str, batch_sizes=(64, 256), warmup: int = 2) -> pd.DataFrame:
    """Reviews per second of the saved model on ``device`` (a GPU, when one is present), fp32 and bf16,
    at each batch size, with the largest difference in probability from fp32 at the first batch size.

    The model reads the texts with dynamic padding and length bucketing (``predict_proba``); every
    setting first scores ``warmup`` batches (CUDA kernels and memory pools start lazily), and the
    device is synchronised before the clock stops.
    """
    import torch

    texts = check_texts(texts)
    clf = SentimentClassifier.load(model_dir, device=device)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    rows, reference = [], None
    for bf16 in ("off", "on"):
        for bs in batch_sizes:
            clf.predict_proba(texts[: warmup * bs], batch_size=bs, bf16=bf16)
            sync()
            t0 = time.perf_counter()
            p = clf.predict_proba(texts, batch_size=bs, bf16=bf16)
            sync()
            rate = len(texts) / (time.perf_counter() - t0)
            reference = p if reference is None else reference
            rows.append(
                {
                    "device": device,
                    "precision": "bf16" if bf16 == "on" else "fp32",
                    "batch size": bs,
                    "reviews/s": rate,
                    "max |p - fp32|": float(np.abs(p - reference).max()),
                }
            )
    return pd.DataFrame(rows)


def token_counts(texts, tokenizer, max_length: int | None = None) -> np.ndarray:
    """Tokens per text (with the model's special tokens), cut at ``max_length`` when given."""
    enc = tokenizer(list(texts), truncation=max_length is not None, max_length=max_length)["input_ids"]
    return np.array([len(x) for x in enc])


def forward_flops(clf, n_tokens: int) -> float:
    """Floating-point operations of one forward pass of ``clf``'s model over one review of ``n_tokens``.

    Counted by :class:`torch.utils.flop_counter.FlopCounterMode`: every matrix product of the linear
    layers, the pooler and the head. The counter has no formula for the attention kernel PyTorch runs
    on a CPU, so when it saw no attention product, attention's own products (scores and weighted
    values: 4 n^2 d per layer) are added from the model's configuration. Element-wise work (softmax,
    layer norms, GELU) is not counted, so this is a slight lower bound and the basis of every
    estimate for hardware that was not measured.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    if n_tokens < 2:
        raise ValueError(f"n_tokens must be >= 2 ([CLS] and [SEP]), got {n_tokens}")
    x = torch.ones((1, int(n_tokens)), dtype=torch.long, device=clf.device)
    counter = FlopCounterMode(display=False)
    clf.model.eval()
    with torch.inference_mode(), counter:
        clf.model(input_ids=x, attention_mask=torch.ones_like(x))
    total = float(counter.get_total_flops())
    ops = {str(op) for per_module in counter.get_flop_counts().values() for op in per_module}
    if not any("scaled_dot_product" in op or "bmm" in op for op in ops):
        cfg = clf.model.config if hasattr(clf.model, "config") else clf.model.encoder.config
        total += 4.0 * n_tokens**2 * cfg.hidden_size * cfg.num_hidden_layers
    return total


def estimated_rate(flops_per_review: float, peak_tflops: float, utilisation: float) -> float:
    """Reviews per second on hardware with ``peak_tflops`` used at ``utilisation`` (an assumption, not a measurement)."""
    if flops_per_review <= 0 or peak_tflops <= 0 or not 0 < utilisation <= 1:
        raise ValueError(
            f"need flops_per_review > 0, peak_tflops > 0 and 0 < utilisation <= 1, got "
            f"{flops_per_review}, {peak_tflops}, {utilisation}"
        )
    return peak_tflops * 1e12 * utilisation / flops_per_review


def usd_per_million(reviews_per_second: float, usd_per_hour: float) -> float:
    """Dollars to score one million reviews at ``reviews_per_second`` on hardware rented at ``usd_per_hour``."""
    if reviews_per_second <= 0 or usd_per_hour < 0:
        raise ValueError(f"need reviews_per_second > 0 and usd_per_hour >= 0, got {reviews_per_second}, {usd_per_hour}")
    return 1e6 / reviews_per_second / 3600 * usd_per_hour


def llm_usd_per_million(
    input_tokens: float, output_tokens: float, usd_per_m_input: float, usd_per_m_output: float
) -> float:
    """Dollars for one million reviews sent to an LLM API, each with ``input_tokens`` in and ``output_tokens`` out."""
    if min(input_tokens, output_tokens, usd_per_m_input, usd_per_m_output) < 0:
        raise ValueError("token counts and prices must be >= 0")
    return input_tokens * usd_per_m_input + output_tokens * usd_per_m_output


def retraining(examples: int, epochs: float, examples_per_second: float, usd_per_hour: float) -> dict:
    """Hours and dollars of one fine-tuning run of ``examples`` x ``epochs`` at a measured training speed."""
    if examples < 1 or epochs <= 0 or examples_per_second <= 0:
        raise ValueError(
            f"need examples >= 1, epochs > 0 and examples_per_second > 0, got {examples}, {epochs}, "
            f"{examples_per_second}"
        )
    hours = examples * epochs / examples_per_second / 3600
    return {"hours": hours, "usd": hours * usd_per_hour}


def cost_table(rows: list[dict]) -> pd.DataFrame:
    """One row per way of reading the reviews, with hours and dollars per million reviews.

    Each row needs ``method``, ``hardware``, ``usd_per_hour`` and ``reviews/s`` (or ``usd per 1M`` given
    directly, for an API), and may give ``macro-F1`` and ``basis`` ("measured" or "estimate").
    """
    out = []
    for r in rows:
        r = dict(r)
        for key in ("method", "hardware"):
            if key not in r:
                raise ValueError(f"cost row {r}: missing {key!r}")
        if "usd per 1M" not in r:
            if "reviews/s" not in r or "usd_per_hour" not in r:
                raise ValueError(f"cost row {r['method']!r}: give reviews/s and usd_per_hour, or usd per 1M")
            r["hours per 1M"] = 1e6 / r["reviews/s"] / 3600
            r["usd per 1M"] = usd_per_million(r["reviews/s"], r["usd_per_hour"])
        r.setdefault("macro-F1", np.nan)
        r.setdefault("basis", "measured")
        out.append(r)
    cols = ["method", "hardware", "reviews/s", "hours per 1M", "usd per 1M", "macro-F1", "basis"]
    table = pd.DataFrame(out)
    return table[[c for c in cols if c in table.columns]]
