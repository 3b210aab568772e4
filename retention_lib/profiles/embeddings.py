"""Sentence embeddings of review texts with the packaged all-MiniLM-L6-v2, computed once per text.

The mean of the model's token vectors (padding excluded), L2-normalised, as the model was trained to
be used; kept in a cache file by a hash of the text, so each distinct text is embedded once, ever.
"""

from __future__ import annotations

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


def embed_texts(
    texts,
    cache: str | Path | None = None,
    batch_size: int = 64,
    max_length: int = 128,
    model_dir: str | Path | None = None,
    log=print,
) -> np.ndarray:
    """Sentence embeddings of ``texts`` with the packaged all-MiniLM-L6-v2: mean of the token vectors
    (padding excluded), L2-normalised, as the model was trained to be used. Shape (n, 384).

    With ``cache`` (a ``.parquet`` file), embeddings are stored by a hash of the text and each
    distinct text is embedded once, ever.
    """
    import torch
    from transformers import AutoModel, AutoTokenizer

    texts = list(texts)
    keys = [_text_key(t) for t in texts]
    cached = pd.DataFrame()
    cache = Path(cache) if cache else None
    if cache is not None and cache.exists():
        cached = pd.read_parquet(cache)
    todo = sorted(set(keys) - set(cached.index))
    if todo:
        by_key = dict(zip(keys, texts))
        new_texts = [by_key[k] for k in todo]
        source = str(model_dir or default_checkpoint())
        dev = best_device()
        with quiet_transformers():
            tok = AutoTokenizer.from_pretrained(source, local_files_only=True)
            enc = AutoModel.from_pretrained(source, local_files_only=True).to(dev).eval()
        log(f"embedding {len(new_texts):,} distinct text(s) on {dev} ...")
        ids = tok(new_texts, truncation=True, max_length=max_length)["input_ids"]
        order = np.argsort([len(x) for x in ids], kind="stable")
        out = np.empty((len(new_texts), enc.config.hidden_size), dtype=np.float32)
        pad = tok.pad_token_id or 0
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                b = order[start : start + batch_size]
                width = max(len(ids[i]) for i in b)
                x = torch.full((len(b), width), pad, dtype=torch.long)
                m = torch.zeros((len(b), width), dtype=torch.long)
                for row, i in enumerate(b):
                    x[row, : len(ids[i])] = torch.tensor(ids[i])
                    m[row, : len(ids[i])] = 1
                h = enc(input_ids=x.to(dev), attention_mask=m.to(dev)).last_hidden_state
                mm = m.to(dev).unsqueeze(-1).to(h.dtype)
                v = (h * mm).sum(1) / mm.sum(1).clamp(min=1.0)
                out[b] = torch.nn.functional.normalize(v, dim=1).float().cpu().numpy()
        fresh = pd.DataFrame(out, index=pd.Index(todo, name="key"), columns=[f"e{j}" for j in range(out.shape[1])])
        cached = pd.concat([cached, fresh]) if len(cached) else fresh
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            cached.to_parquet(cache)
    return cached.loc[keys].to_numpy(dtype=np.float32)
