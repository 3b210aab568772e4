"""Fine-tuning a BERT-family encoder to classify reviews.

:class:`SentimentClassifier` fine-tunes any checkpoint that ``AutoModelForSequenceClassification``
can load (by default the packaged all-MiniLM-L6-v2) with dynamic padding and length bucketing,
class-weighted cross-entropy, AdamW with linear warmup and decay, gradient clipping, early
stopping on validation macro-F1, bf16 autocast on GPUs that support it, and checkpoints that let
an interrupted run resume where it stopped. Checkpoints hold only tensors and plain data and are
loaded with ``weights_only=True``: a checkpoint cannot run code on the reader's machine.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import pickle
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from .labels import SCHEMES, check_labels, check_texts

__all__ = ["TrainConfig", "SentimentClassifier", "default_checkpoint"]


@dataclass
class TrainConfig:
    """Everything that shapes a fine-tuning run (saved with the model and in checkpoints)."""

    epochs: int = 2
    lr: float = 1e-4
    batch_size: int = 32
    max_length: int = 128
    warmup_ratio: float = 0.06
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    class_weighting: str = "balanced"  # "balanced" or "none"
    patience: int = 2  # evaluations without a better validation macro-F1 before stopping
    evals_per_epoch: int = 1
    bucket: bool = True  # group reviews of similar length into batches
    pad_to_max_length: bool = False  # the naive alternative to dynamic padding
    freeze_layers: int = 0  # bottom encoder layers (and embeddings) kept frozen
    bf16: str = "auto"  # "auto": on CUDA devices that support it; "on"; "off"
    checkpoint_every: int = 200  # optimisation steps between checkpoints (when a folder is given)
    seed: int = 0

    def __post_init__(self):
        checks = [("epochs", self.epochs >= 1), ("lr", self.lr > 0), ("batch_size", self.batch_size >= 1),
                  ("max_length", 8 <= self.max_length <= 512), ("warmup_ratio", 0 <= self.warmup_ratio < 1),
                  ("class_weighting", self.class_weighting in ("balanced", "none")),
                  ("bf16", self.bf16 in ("auto", "on", "off")), ("patience", self.patience >= 1),
                  ("evals_per_epoch", self.evals_per_epoch >= 1), ("freeze_layers", self.freeze_layers >= 0)]
        for name, ok in checks:
            if not ok:
                raise ValueError(f"TrainConfig: invalid {name}={getattr(self, name)!r}")


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
            from types import SimpleNamespace

            h = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(h.dtype)
            pooled = (h * m).sum(dim=1) / m.sum(dim=1).clamp(min=1.0)
            return SimpleNamespace(logits=self.classifier(self.dropout(pooled)))

    return MeanPoolClassifier()


class _quiet_transformers:
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
    from .. import assets

    return assets.fetch("minilm")


class SentimentClassifier:
    """A sequence classifier over reviews: ``fit``, ``predict_proba`` (n, k), ``save``, ``load``.

    ``labels`` are the class names; ``classes_`` their indices 0..k-1 (the columns of
    ``predict_proba``).
    """

    def __init__(self, model, tokenizer, labels: Sequence[str], max_length: int = 128, device: str | None = None,
                 pooling: str = "cls"):
        from ..session import device as best_device

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
    def from_pretrained(cls, name_or_path: str | os.PathLike | None = None, labels=SCHEMES["3class"],
                        max_length: int = 128, device: str | None = None, seed: int = 0, pooling: str = "cls"):
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
            with _quiet_transformers():  # the load report is summarised in new_parameters_ instead
                tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local)
                if pooling == "mean":
                    encoder = AutoModel.from_pretrained(source, local_files_only=local, add_pooling_layer=False)
                    model = _mean_pool_model(encoder, len(labels))
                    info = {"missing_keys": ["classifier.bias", "classifier.weight"]}
                else:
                    model, info = AutoModelForSequenceClassification.from_pretrained(
                        source, num_labels=len(labels), id2label=dict(enumerate(labels)),
                        label2id={n: i for i, n in enumerate(labels)}, local_files_only=local,
                        output_loading_info=True)
        except OSError as exc:
            raise OSError(f"cannot load a model from {source!r}: give a local folder (config.json, weights, "
                          f"tokenizer files) or a hub name on a machine that reaches the hub ({exc})") from exc
        clf = cls(model, tokenizer, labels, max_length=max_length, device=device, pooling=pooling)
        clf.new_parameters_ = sorted(info.get("missing_keys", []))
        clf.source_ = source
        return clf

    def save(self, folder: str | os.PathLike) -> Path:
        """Weights (safetensors), tokenizer, label map, training parameters and history."""
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with _quiet_transformers():
            if self.pooling == "mean":
                self.model.encoder.save_pretrained(folder, safe_serialization=True)
                save_file({k: v.detach().cpu().contiguous() for k, v in self.model.classifier.state_dict().items()},
                          str(folder / "head.safetensors"))
            else:
                self.model.save_pretrained(folder, safe_serialization=True)
            self.tokenizer.save_pretrained(folder)
        meta = {"labels": list(self.labels), "max_length": self.max_length, "pooling": self.pooling,
                "config": asdict(self.config_) if self.config_ else None}
        (folder / "retention_lib.json").write_text(json.dumps(meta, indent=1))
        if self.history_ is not None:
            self.history_.to_csv(folder / "history.csv", index=False)
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike, device: str | None = None) -> "SentimentClassifier":
        """Load what :meth:`save` wrote."""
        from safetensors.torch import load_file
        from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

        folder = Path(folder)
        meta_file = folder / "retention_lib.json"
        if not meta_file.exists():
            raise FileNotFoundError(f"{folder} is not a saved SentimentClassifier (no retention_lib.json)")
        meta = json.loads(meta_file.read_text())
        pooling = meta.get("pooling", "cls")
        with _quiet_transformers():
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
        return self.tokenizer(texts, truncation=True, max_length=self.max_length,
                              add_special_tokens=True)["input_ids"]

    def batches(self, lengths: np.ndarray, batch_size: int, shuffle: bool, bucket: bool,
                 rng: np.random.Generator | None) -> list[np.ndarray]:
        """Index arrays of the batches; with ``bucket``, texts of similar length share a batch."""
        idx = rng.permutation(len(lengths)) if shuffle else np.arange(len(lengths))
        if bucket:  # sort by length inside chunks of 50 batches, so batches need little padding
            chunk = batch_size * 50
            idx = np.concatenate([c[np.argsort(lengths[c], kind="stable")]
                                  for c in np.array_split(idx, max(1, math.ceil(len(idx) / chunk)))])
        batches = [idx[i:i + batch_size] for i in range(0, len(idx), batch_size)]
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
            input_ids[i, :len(x)] = torch.tensor(x)
            mask[i, :len(x)] = 1
        return input_ids.to(self.device), mask.to(self.device)

    def autocast(self, enabled: bool):
        """bf16 autocast on the model's device when ``enabled``, else a no-op context."""
        import contextlib

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

    def predict_proba(self, texts, batch_size: int = 64, bf16: str = "auto", pad_to_max_length: bool = False) -> np.ndarray:
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

    # ---- training

    def train_step(self, input_ids, attention_mask, y, optimizer, scheduler=None, class_weight=None,
                   bf16: bool = False, grad_clip: float | None = None) -> float:
        """One optimisation step on one batch: forward, weighted cross-entropy, backward, clip, step.

        The one training step of the book: :meth:`fit` and the speed measurements both call it.

        Parameters
        ----------
        input_ids, attention_mask : tensors of shape (batch, length)
            From :meth:`collate`.
        y : tensor of shape (batch,)
            Class indices.
        optimizer, scheduler : torch optimiser and (optional) learning-rate scheduler
        class_weight : tensor of shape (k,) or None
        bf16 : bool
            bf16 autocast for the forward pass.
        grad_clip : float or None
            Largest gradient norm.

        Returns
        -------
        float
            The batch's loss.
        """
        import torch
        import torch.nn.functional as F

        with self.autocast(bf16):
            logits = self.model(input_ids=input_ids, attention_mask=attention_mask).logits
        loss = F.cross_entropy(logits.float(), y, weight=class_weight)
        loss.backward()
        if grad_clip is not None:
            torch.nn.utils.clip_grad_norm_([p for p in self.model.parameters() if p.requires_grad], grad_clip)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item()

    def _freeze(self, n_layers: int) -> None:
        if self.pooling == "mean":
            base = self.model.encoder
        else:
            base = getattr(self.model, self.model.base_model_prefix, None)
        if n_layers <= 0 or base is None:
            return
        for p in base.embeddings.parameters():
            p.requires_grad = False
        for layer in base.encoder.layer[:n_layers]:
            for p in layer.parameters():
                p.requires_grad = False

    def fit(self, train_texts, train_labels, val_texts, val_labels, config: TrainConfig | None = None,
            checkpoint_dir: str | os.PathLike | None = None, progress: bool = True,
            log=print) -> "SentimentClassifier":
        """Fine-tune on the training reviews, evaluating on the validation reviews.

        With ``checkpoint_dir``, the run state is saved every ``checkpoint_every`` steps and at
        every evaluation; calling ``fit`` again with the same data and config resumes from it
        (or reuses it when finished). The weights of the evaluation with the best validation
        macro-F1 are kept.

        Parameters
        ----------
        train_texts, val_texts : list of str
        train_labels, val_labels : list of int or str
            Class indices or names of ``labels``.
        config : TrainConfig or None
        checkpoint_dir : path or None
        progress : bool
            A progress bar.
        log : callable
            Receives one line per evaluation and about checkpoints.

        Returns
        -------
        SentimentClassifier
            ``self``, with ``history_`` (one row per evaluation), ``train_seconds_`` and
            ``train_examples_per_second_``.
        """
        import torch
        from sklearn.metrics import f1_score
        from sklearn.utils.class_weight import compute_class_weight
        from tqdm import tqdm
        from transformers import get_linear_schedule_with_warmup

        cfg = config or TrainConfig()
        tr_texts, va_texts = check_texts(train_texts), check_texts(val_texts)
        y_tr = check_labels(train_labels, self.labels, len(tr_texts))
        y_va = check_labels(val_labels, self.labels, len(va_texts))
        self.max_length = cfg.max_length
        self.config_ = cfg
        torch.manual_seed(cfg.seed)
        self._freeze(cfg.freeze_layers)
        ids_tr = self.encode(tr_texts)
        lengths = np.array([len(x) for x in ids_tr])
        steps_per_epoch = math.ceil(len(ids_tr) / cfg.batch_size)
        total_steps = steps_per_epoch * cfg.epochs
        eval_at = {min(steps_per_epoch, round(steps_per_epoch * (k + 1) / cfg.evals_per_epoch))
                   for k in range(cfg.evals_per_epoch)}

        params = [p for p in self.model.parameters() if p.requires_grad]
        decay = [p for p in params if p.ndim > 1]
        no_decay = [p for p in params if p.ndim <= 1]  # biases and LayerNorm weights
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                                 {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr)
        sched = get_linear_schedule_with_warmup(opt, int(cfg.warmup_ratio * total_steps), total_steps)
        if cfg.class_weighting == "balanced":
            absent = sorted(set(range(len(self.labels))) - set(y_tr.tolist()))
            if absent:
                raise ValueError(f"train_labels: no example of {[self.labels[k] for k in absent]}; balanced "
                                 "class weights need every class (or use class_weighting='none')")
            w = compute_class_weight("balanced", classes=np.arange(len(self.labels)), y=y_tr)
            class_w = torch.tensor(w, dtype=torch.float32, device=self.device)
        else:
            class_w = None
        bf16 = self.use_bf16(cfg.bf16)

        # a checkpoint is only resumed by the same data, configuration, model and training code
        code = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()  # this module only: not the speed code
        fingerprint = hashlib.sha256(json.dumps([asdict(cfg), list(self.labels), tr_texts[:50], len(tr_texts),
                                                 va_texts[:20], len(va_texts), self.pooling,
                                                 getattr(self, "source_", None), code]).encode()).hexdigest()
        ckpt = Path(checkpoint_dir) / "checkpoint.pt" if checkpoint_dir else None
        state = {"epoch": 0, "step_in_epoch": 0, "global_step": 0, "history": [], "best_f1": -1.0,
                 "bad_evals": 0, "best_state": None, "seconds": 0.0, "examples": 0, "loss_sum": 0.0,
                 "loss_n": 0, "stopped": False}
        if ckpt is not None and ckpt.exists():
            try:  # tensors and plain data only: a checkpoint handed over by someone else cannot run code
                saved = torch.load(ckpt, map_location=self.device, weights_only=True)
            except pickle.UnpicklingError:
                saved = {}
                log(f"ignoring {ckpt}: it holds objects other than tensors and plain data (an older format, or "
                    f"not written by this library), so it is not loaded; training from the start")
            if not saved:
                pass
            elif saved.get("fingerprint") == fingerprint:
                self.model.load_state_dict(saved["model"])
                opt.load_state_dict(saved["optimizer"])
                sched.load_state_dict(saved["scheduler"])
                torch.set_rng_state(saved["rng"].cpu())  # dropout masks continue as if never stopped
                if saved.get("cuda_rng") is not None and torch.cuda.is_available():
                    torch.cuda.set_rng_state_all([t.cpu() for t in saved["cuda_rng"]])
                state = saved["state"]
                if state["stopped"] or state["epoch"] >= cfg.epochs:
                    log(f"{ckpt} holds this run, finished: reusing it ({state['seconds'] / 60:.1f} min of training)")
                else:
                    log(f"resuming from {ckpt}: epoch {state['epoch'] + 1}, step {state['step_in_epoch']} "
                        f"of {steps_per_epoch}")
            else:
                log(f"ignoring {ckpt}: it belongs to another run (data or config differ)")

        def save_checkpoint():
            if ckpt is None:
                return
            ckpt.parent.mkdir(parents=True, exist_ok=True)
            tmp = ckpt.with_suffix(".tmp")
            torch.save({"fingerprint": fingerprint, "model": self.model.state_dict(),
                        "optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "state": state,
                        "rng": torch.get_rng_state(),
                        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}, tmp)
            tmp.replace(ckpt)

        def evaluate_now(epoch_float: float) -> bool:
            proba = self.predict_proba(va_texts, batch_size=max(64, cfg.batch_size), bf16=cfg.bf16)
            pred = proba.argmax(axis=1)
            f1 = f1_score(y_va, pred, average="macro")
            row = {"epoch": round(epoch_float, 3), "step": state["global_step"], "examples": state["examples"],
                   "train_loss": state["loss_sum"] / max(state["loss_n"], 1),
                   "val_loss": float(-np.mean(np.log(np.clip(proba[np.arange(len(y_va)), y_va], 1e-12, 1)))),
                   "val_accuracy": float((pred == y_va).mean()), "val_macro_f1": float(f1),
                   "train_seconds": round(state["seconds"], 1)}
            state["history"].append(row)
            state["loss_sum"], state["loss_n"] = 0.0, 0
            log(f"epoch {row['epoch']:.2f}: train loss {row['train_loss']:.4f}, validation macro-F1 {f1:.4f}, "
                f"accuracy {row['val_accuracy']:.4f}")
            if f1 > state["best_f1"]:
                state["best_f1"], state["bad_evals"] = float(f1), 0
                state["best_state"] = {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}
            else:
                state["bad_evals"] += 1
            self.model.train()
            return state["bad_evals"] >= cfg.patience

        bar = tqdm(total=total_steps, initial=state["global_step"], disable=not progress, mininterval=10,
                   desc="fine-tuning", unit="step")
        self.model.train()
        while state["epoch"] < cfg.epochs and not state["stopped"]:
            rng = np.random.default_rng([cfg.seed, state["epoch"]])  # the same order on resume
            pad_to = cfg.max_length if cfg.pad_to_max_length else None
            batches = self.batches(lengths, cfg.batch_size, shuffle=True, bucket=cfg.bucket, rng=rng)
            for b in batches[state["step_in_epoch"]:]:
                t0 = time.perf_counter()
                x, m = self.collate([ids_tr[i] for i in b], pad_to)
                yb = torch.as_tensor(y_tr[b], device=self.device)
                loss = self.train_step(x, m, yb, opt, sched, class_w, bf16, cfg.grad_clip)
                if self.device.startswith("cuda"):
                    torch.cuda.synchronize()
                state["seconds"] += time.perf_counter() - t0
                state["examples"] += len(b)
                state["loss_sum"] += loss * len(b)
                state["loss_n"] += len(b)
                state["global_step"] += 1
                state["step_in_epoch"] += 1
                bar.update(1)
                if state["step_in_epoch"] in eval_at:
                    if evaluate_now(state["epoch"] + state["step_in_epoch"] / steps_per_epoch):
                        state["stopped"] = True
                        log(f"early stop: no better validation macro-F1 in {cfg.patience} evaluation(s)")
                    save_checkpoint()
                    if state["stopped"]:
                        break
                elif ckpt is not None and state["global_step"] % cfg.checkpoint_every == 0:
                    save_checkpoint()
            else:
                state["epoch"] += 1
                state["step_in_epoch"] = 0
                save_checkpoint()
        bar.close()
        if state["best_state"] is not None:
            self.model.load_state_dict(state["best_state"])
        self.history_ = pd.DataFrame(state["history"])
        self.train_seconds_ = state["seconds"]  # optimisation time, including before a resume
        self.train_examples_per_second_ = state["examples"] / max(state["seconds"], 1e-9)
        return self
