"""Sentence embeddings of review texts with the packaged all-MiniLM-L6-v2, computed once per text.

The mean of the model's token vectors (padding excluded), L2-normalised, as the model was trained to
be used; kept in a cache file by a hash of the text, so each distinct text is embedded once, ever.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from retention_lib.base.assets import cache_dir
from retention_lib.base.cache import content_key
from retention_lib.base.devices import device as best_device
from retention_lib.sentiment.classifier import default_checkpoint, quiet_transformers

__all__ = ["embed_texts", "embedding_cache"]


def embedding_cache() -> Path:
    """Where sentence embeddings are kept: one file in the asset cache, shared by every profile and run."""
    return cache_dir() / "embeddings" / "all-MiniLM-L6-v2_mean_128.parquet"


def _text_key(text: str) -> str:
    return content_key(text, algorithm="sha1")  # sha1: the keys of embedding caches made before, still valid


def _sentence_model(model_dir, max_length: int):
    """The packaged all-MiniLM-L6-v2 as sentence-transformers builds it from the folder's own modules.json
    (transformer, mean pooling, normalisation), from local files only, truncating at ``max_length`` tokens."""
    from sentence_transformers import SentenceTransformer

    with quiet_transformers():
        model = SentenceTransformer(str(model_dir or default_checkpoint()), device=best_device(), local_files_only=True)
    model.max_seq_length = max_length
    return model


def embed_texts(
    texts,
    cache: str | Path | None = None,
    batch_size: int = 64,
    max_length: int = 128,
    model_dir: str | Path | None = None,
    log=print,
) -> np.ndarray:
    """Sentence embeddings of ``texts`` with the packaged all-MiniLM-L6-v2, computed by sentence-transformers:
    mean of the token vectors (padding excluded), L2-normalised, as the model was trained to be used.
    Shape (n, 384).

    With ``cache`` (a ``.parquet`` file), embeddings are stored by a hash of the text and each
    distinct text is embedded once, ever.
    """
    texts = list(texts)
    keys = [_text_key(t) for t in texts]
    cached = pd.DataFrame()
    cache = Path(cache) if cache else None
    if cache is not None and cache.exists():
        cached = pd.read_parquet(cache)
    todo = sorted(set(keys) - set(cached.index))
    if todo:
        by_key = dict(zip(keys, texts))
        model = _sentence_model(model_dir, max_length)
        log(f"embedding {len(todo):,} distinct text(s) on {model.device} ...")
        out = model.encode(
            [by_key[k] for k in todo],
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        ).astype(np.float32)
        fresh = pd.DataFrame(out, index=pd.Index(todo, name="key"), columns=[f"e{j}" for j in range(out.shape[1])])
        cached = pd.concat([cached, fresh]) if len(cached) else fresh
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            part = cache.with_name(f"{cache.name}.{os.getpid()}.part")  # written whole, then renamed: a reader
            cached.to_parquet(part)  # running at the same time sees the old file or the new, never half of one
            os.replace(part, cache)
    return cached.loc[keys].to_numpy(dtype=np.float32)
