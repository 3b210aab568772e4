"""Fine-tuning a BERT-family encoder to classify reviews.

:class:`SentimentClassifier` fine-tunes any checkpoint that ``AutoModelForSequenceClassification``
can load (by default the packaged all-MiniLM-L6-v2) with dynamic padding and length bucketing,
class-weighted cross-entropy, AdamW with linear warmup and decay, gradient clipping, early
stopping on validation macro-F1, bf16 autocast on GPUs that support it, and checkpoints that let
an interrupted run resume where it stopped. Checkpoints hold only tensors and plain data and are
loaded with ``weights_only=True``: a checkpoint cannot run code on the reader's machine.

This module holds the model: construction, persistence, batching and inference; the training loop
is in :mod:`.training` (``fit`` and ``train_step`` call it).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from retention_lib.base import assets
from retention_lib.base.devices import device as best_device

from .fine_tuning import fine_tune
from .labels import SCHEMES, check_texts
from .training import TrainConfig, train_step

__all__ = ["SentimentClassifier", "default_checkpoint"]


def _mean_pool_model(encoder, n_labels: int, dropout: float = 0.1):
    """Encoder + mean of the token vectors (padding excluded) + dropout + linear layer.

    Sentence-embedding checkpoints such as all-MiniLM-L6-v2 were trained to summarise a text by
    the mean of its token vectors, not by the [CLS] vector that BERT's own classification head uses.
    """
    import torch.nn as nn

    class MeanPoolClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = encoder
            self.dropout = nn.Dropout(dropout)
            self.classifier = nn.Linear(encoder.config.hidden_size, n_labels)

        def forward(self, input_ids, attention_mask):
            h = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(h.dtype)
            pooled = (h * m).sum(dim=1) / m.sum(dim=1).clamp(min=1.0)
            return SimpleNamespace(logits=self.classifier(self.dropout(pooled)))

    return MeanPoolClassifier()


class quiet_transformers:
    """Silence transformers' load reports and progress bars inside a notebook's output."""

    def __enter__(self):
        from transformers.utils import logging as hf_logging

        self._verbosity = hf_logging.get_verbosity()
        self._bars = hf_logging.is_progress_bar_enabled()
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()

    def __exit__(self, *exc):
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity(self._verbosity)
        if self._bars:
            hf_logging.enable_progress_bar()


def default_checkpoint() -> Path:
    """The packaged all-MiniLM-L6-v2 folder (fetched and verified on first use)."""
    return assets.fetch("minilm")


class SentimentClassifier:
    """A sequence classifier over reviews: ``fit``, ``predict_proba`` (n, k), ``save``, ``load``.

    ``labels`` are the class names; ``classes_`` their indices 0..k-1 (the columns of
    ``predict_proba``).
    """

    def __init__(
        self,
        model,
        tokenizer,
        labels: Sequence[str],
        max_length: int = 128,
        device: str | None = None,
        pooling: str = "cls",
    ):
        if pooling not in ("cls", "mean"):
            raise ValueError(f"pooling must be 'cls' or 'mean', got {pooling!r}")
        self.pooling = pooling
        self.model, self.tokenizer = model, tokenizer
        self.labels = tuple(labels)
        self.classes_ = np.arange(len(self.labels))
        self.max_length = max_length
        self.device = device or best_device()
        self.model.to(self.device)
        self.history_: pd.DataFrame | None = None
        self.config_: TrainConfig | None = None

    # ---- construction and persistence

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | os.PathLike | None = None,
        labels=SCHEMES["3class"],
        max_length: int = 128,
        device: str | None = None,
        seed: int = 0,
        pooling: str = "cls",
    ):
        """A new classifier on a pretrained encoder: a local folder, or a hub name where a hub is reachable.

        ``None`` means the packaged all-MiniLM-L6-v2. The classification head is new (random,
        seeded by ``seed``); ``self.new_parameters_`` lists its tensors. ``pooling="cls"`` uses
        ``AutoModelForSequenceClassification`` (the [CLS] vector); ``"mean"`` averages the token
        vectors, as sentence-embedding checkpoints were trained to.
        """
        import torch
        from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

        source = str(default_checkpoint() if name_or_path is None else name_or_path)
        local = Path(source).expanduser().is_dir()
        labels = tuple(labels)
        torch.manual_seed(seed)
        try:
            with quiet_transformers():  # the load report is summarised in new_parameters_ instead
                tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local)
                if pooling == "mean":
                    encoder = AutoModel.from_pretrained(source, local_files_only=local, add_pooling_layer=False)
                    model = _mean_pool_model(encoder, len(labels))
                    info = {"missing_keys": ["classifier.bias", "classifier.weight"]}
                else:
                    model, info = AutoModelForSequenceClassification.from_pretrained(
                        source,
                        num_labels=len(labels),
                        id2label=dict(enumerate(labels)),
                        label2id={n: i for i, n in enumerate(labels)},
                        local_files_only=local,
                        output_loading_info=True,
                    )
        except OSError as exc:
            raise OSError(
                f"cannot load a model from {source!r}: give a local folder (config.json, weights, "
                f"tokenizer files) or a hub name on a machine that reaches the hub ({exc})"
            ) from exc
        clf = cls(model, tokenizer, labels, max_length=max_length, device=device, pooling=pooling)
        clf.new_parameters_ = sorted(info.get("missing_keys", []))
        clf.source_ = source
        return clf

    def save(self, folder: str | os.PathLike) -> Path:
        """Weights (safetensors), tokenizer, label map, training parameters and history."""
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with quiet_transformers():
            if self.pooling == "mean":
                self.model.encoder.save_pretrained(folder, safe_serialization=True)
                save_file(
                    {k: v.detach().cpu().contiguous() for k, v in self.model.classifier.state_dict().items()},
                    str(folder / "head.safetensors"),
                )
            else:
                self.model.save_pretrained(folder, safe_serialization=True)
            self.tokenizer.save_pretrained(folder)
        meta = {
            "labels": list(self.labels),
            "max_length": self.max_length,
            "pooling": self.pooling,
            "config": asdict(self.config_) if self.config_ else None,
        }
        (folder / "retention_lib.json").write_text(json.dumps(meta, indent=1))
        if self.history_ is not None:
            self.history_.to_csv(folder / "history.csv", index=False)
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike, device: str | None = None) -> SentimentClassifier:
        """Load what :meth:`save` wrote."""
        from safetensors.torch import load_file
        from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

        folder = Path(folder)
        meta_file = folder / "retention_lib.json"
        if not meta_file.exists():
            raise FileNotFoundError(f"{folder} is not a saved SentimentClassifier (no retention_lib.json)")
        meta = json.loads(meta_file.read_text())
        pooling = meta.get("pooling", "cls")
        with quiet_transformers():
            if pooling == "mean":
                encoder = AutoModel.from_pretrained(folder, local_files_only=True, add_pooling_layer=False)
                model = _mean_pool_model(encoder, len(meta["labels"]))
                model.classifier.load_state_dict(load_file(str(folder / "head.safetensors")))
            else:
                model = AutoModelForSequenceClassification.from_pretrained(folder, local_files_only=True)
            tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        clf = cls(model, tokenizer, meta["labels"], max_length=meta["max_length"], device=device, pooling=pooling)
        clf.config_ = TrainConfig(**meta["config"]) if meta.get("config") else None
        if (folder / "history.csv").exists():
            clf.history_ = pd.read_csv(folder / "history.csv")
        return clf

    # ---- batching

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text (with [CLS] and [SEP]), cut at ``max_length``; no padding."""
        return self.tokenizer(texts, truncation=True, max_length=self.max_length, add_special_tokens=True)["input_ids"]

    def batches(
        self, lengths: np.ndarray, batch_size: int, shuffle: bool, bucket: bool, rng: np.random.Generator | None
    ) -> list[np.ndarray]:
        """Index arrays of the batches; with ``bucket``, texts of similar length share a batch."""
        idx = rng.permutation(len(lengths)) if shuffle else np.arange(len(lengths))
        if bucket:  # sort by length inside chunks of 50 batches, so batches need little padding
            chunk = batch_size * 50
            idx = np.concatenate(
                [
                    c[np.argsort(lengths[c], kind="stable")]
                    for c in np.array_split(idx, max(1, math.ceil(len(idx) / chunk)))
                ]
            )
        batches = [idx[i : i + batch_size] for i in range(0, len(idx), batch_size)]
        if shuffle and bucket:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def collate(self, ids: list[list[int]], pad_to: int | None = None):
        """(input_ids, attention_mask) tensors on the device, padded to the longest text or ``pad_to``."""
        import torch

        width = pad_to or max(len(x) for x in ids)
        pad = self.tokenizer.pad_token_id or 0
        input_ids = torch.full((len(ids), width), pad, dtype=torch.long)
        mask = torch.zeros((len(ids), width), dtype=torch.long)
        for i, x in enumerate(ids):
            input_ids[i, : len(x)] = torch.tensor(x)
            mask[i, : len(x)] = 1
        return input_ids.to(self.device), mask.to(self.device)

    def autocast(self, enabled: bool):
        """bf16 autocast on the model's device when ``enabled``, else a no-op context."""
        import torch

        if not enabled:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.split(":")[0], dtype=torch.bfloat16)

    def use_bf16(self, setting: str) -> bool:
        """Whether bf16 is used: ``"on"``, ``"off"``, or ``"auto"`` (a CUDA device that supports it)."""
        import torch

        if setting == "off":
            return False
        if setting == "on":
            return True
        return self.device.startswith("cuda") and torch.cuda.is_bf16_supported()

    # ---- inference

    def predict_proba(
        self, texts, batch_size: int = 64, bf16: str = "auto", pad_to_max_length: bool = False
    ) -> np.ndarray:
        """Class probabilities, shape (n, k); rows sum to 1. Column j is ``labels[j]``."""
        import torch

        texts = check_texts(texts)
        ids = self.encode(texts)
        lengths = np.array([len(x) for x in ids])
        out = np.empty((len(texts), len(self.labels)), dtype=np.float64)
        self.model.eval()
        with torch.inference_mode(), self.autocast(self.use_bf16(bf16)):
            for b in self.batches(lengths, batch_size, shuffle=False, bucket=True, rng=None):
                x, m = self.collate([ids[i] for i in b], self.max_length if pad_to_max_length else None)
                logits = self.model(input_ids=x, attention_mask=m).logits.float()
                out[b] = torch.softmax(logits, dim=-1).double().cpu().numpy()
        return out

    def predict(self, texts, **kw) -> np.ndarray:
        """Class indices, shape (n,)."""
        return self.predict_proba(texts, **kw).argmax(axis=1)

    # ---- training (in :mod:`.training`)

    def train_step(
        self,
        input_ids,
        attention_mask,
        y,
        optimizer,
        scheduler=None,
        class_weight=None,
        bf16: bool = False,
        grad_clip: float | None = None,
    ) -> float:
        """One optimisation step on one batch (:func:`.training.train_step`); returns the batch's loss."""
        return train_step(self, input_ids, attention_mask, y, optimizer, scheduler, class_weight, bf16, grad_clip)

    def fit(
        self,
        train_texts,
        train_labels,
        val_texts,
        val_labels,
        config: TrainConfig | None = None,
        checkpoint_dir: str | os.PathLike | None = None,
        progress: bool = True,
        log=print,
    ) -> SentimentClassifier:
        """Fine-tune on the training reviews, evaluating on the validation reviews, with early stopping
        and resumable checkpoints in ``checkpoint_dir`` (:func:`.fine_tuning.fine_tune`). Returns ``self``,
        with ``history_``, ``train_seconds_`` and ``train_examples_per_second_``."""
        return fine_tune(self, train_texts, train_labels, val_texts, val_labels, config, checkpoint_dir, progress, log)
