"""How fast the sentiment model trains and reads, under padding, bucketing and bf16 settings.

Every number is a ratio against the naive setting measured in the same call, so that results
from different machines compare.
"""

from __future__ import annotations

from time import perf_counter

import numpy as np
import pandas as pd

from .classifier import SentimentClassifier
from .labels import check_labels, check_texts

__all__ = ["SPEED_SETTINGS", "throughput", "speed_table"]


def throughput(
    clf: SentimentClassifier,
    texts,
    labels,
    batch_size: int,
    train: bool,
    pad_to_max_length: bool,
    bucket: bool,
    bf16: bool,
    repeats: int = 1,
    warmup_batches: int = 2,
) -> float:
    """Reviews per second for training steps (:meth:`SentimentClassifier.train_step`) or inference.

    The model's weights change during a training measurement: use a throwaway classifier.

    Parameters
    ----------
    clf : SentimentClassifier
    texts, labels : lists of the same length
    batch_size : int
    train : bool
        Training steps (True) or inference (False).
    pad_to_max_length, bucket, bf16 : bool
        The setting measured.
    repeats, warmup_batches : int
        Passes over the texts timed, and batches run first without timing.

    Returns
    -------
    float
    """
    import torch

    texts = check_texts(texts)
    y = check_labels(labels, clf.labels, len(texts))
    ids = clf.encode(texts)
    lengths = np.array([len(x) for x in ids])
    rng = np.random.default_rng(0)
    batches = clf.batches(lengths, batch_size, shuffle=True, bucket=bucket, rng=rng)
    pad_to = clf.max_length if pad_to_max_length else None
    opt = torch.optim.AdamW([p for p in clf.model.parameters() if p.requires_grad], lr=1e-5) if train else None
    clf.model.train(train)
    sync = torch.cuda.synchronize if clf.device.startswith("cuda") else (lambda: None)

    def step(b):
        x, m = clf.collate([ids[i] for i in b], pad_to)
        if train:
            clf.train_step(x, m, torch.as_tensor(y[b], device=clf.device), opt, bf16=bf16)
        else:
            with torch.inference_mode(), clf.autocast(bf16):
                clf.model(input_ids=x, attention_mask=m)

    for b in batches[:warmup_batches]:
        step(b)
    sync()
    t0 = perf_counter()
    n = 0
    for _ in range(repeats):
        for b in batches:
            step(b)
            n += len(b)
    sync()
    return n / (perf_counter() - t0)


SPEED_SETTINGS = [  # name, pad to max length, bucket, bf16
    ("fp32, padded to max length (naive)", True, False, False),
    ("fp32, dynamic padding", False, False, False),
    ("fp32, dynamic padding + length bucketing", False, True, False),
    ("bf16, dynamic padding + length bucketing", False, True, True),
]


def speed_table(clf: SentimentClassifier, texts, labels, batch_sizes=(32,), bf16: bool | None = None) -> pd.DataFrame:
    """Inference and training throughput of each setting, as reviews/s and as a ratio against the
    naive setting measured in the same call at the same batch size. bf16 rows only where it runs
    (``None``: on a CUDA device that supports it)."""
    import torch

    if bf16 is None:
        bf16 = clf.device.startswith("cuda") and torch.cuda.is_bf16_supported()
    settings = [s for s in SPEED_SETTINGS if bf16 or not s[3]]
    rows = []
    for mode in ("inference", "training"):
        for bs in batch_sizes:
            base = None
            for name, pad, bucket, use_bf16 in settings:
                rate = throughput(
                    clf,
                    texts,
                    labels,
                    bs,
                    train=(mode == "training"),
                    pad_to_max_length=pad,
                    bucket=bucket,
                    bf16=use_bf16,
                )
                base = base or rate
                rows.append(
                    {"mode": mode, "batch size": bs, "setting": name, "reviews/s": rate, "ratio vs naive": rate / base}
                )
    return pd.DataFrame(rows)
