"""Reading reviews: labels from ratings, baselines, and fine-tuning a BERT-family classifier.

The task is sequence classification: one label per review (not per token). Labels come from
the star rating: 1-2 negative, 3 neutral, 4-5 positive (``"3class"``), or negative/positive
without the 3-star reviews (``"binary"``). The input is the title and the text of the review.

:class:`SentimentClassifier` fine-tunes any checkpoint that ``AutoModelForSequenceClassification``
can load (by default the packaged all-MiniLM-L6-v2) with dynamic padding and length bucketing,
class-weighted cross-entropy, AdamW with linear warmup and decay, gradient clipping, early
stopping on validation macro-F1, bf16 autocast on GPUs that support it, and checkpoints that let
an interrupted run resume where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

__all__ = ["SCHEMES", "review_texts", "make_dataset", "split", "TrainConfig", "SentimentClassifier",
           "tfidf_baseline", "tfidf_learning_curve", "VaderBaseline", "evaluate", "confident_errors", "default_checkpoint",
           "throughput", "speed_table"]

SCHEMES = {"3class": ("negative", "neutral", "positive"), "binary": ("negative", "positive")}


def review_texts(reviews: pd.DataFrame) -> pd.Series:
    """Title and text joined as 'title. text'; <NA> when a review has neither."""
    title = reviews["title"].astype("string").str.strip()
    body = reviews["review_text"].astype("string").str.strip()
    both = title.notna() & body.notna()
    out = body.where(title.isna(), title).astype("string")
    out[both] = title[both] + ". " + body[both]
    return out


def make_dataset(reviews: pd.DataFrame, scheme: str = "3class") -> tuple[pd.DataFrame, dict]:
    """One row per usable review: ``text``, ``label`` (int), ``rating``, indexed like ``reviews``.

    Returns the frame and a dict counting what was left out and why (reviews without title and
    text; 3-star reviews in the binary scheme), so that nothing disappears silently.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {sorted(SCHEMES)}, got {scheme!r}")
    text = review_texts(reviews)
    rating = reviews["rating"]
    keep = text.notna()
    excluded = {"no title and no text": int((~keep).sum())}
    if scheme == "3class":
        label = np.select([rating <= 2, rating == 3], [0, 1], 2)
    else:
        neutral = rating == 3
        excluded["3-star (neutral) reviews"] = int((neutral & keep).sum())
        keep &= ~neutral
        label = np.where(rating <= 2, 0, 1)
    df = pd.DataFrame({"text": text, "label": label, "rating": rating}, index=reviews.index)[keep]
    df["text"] = df["text"].astype(str)
    return df, excluded


def split(df: pd.DataFrame, seed: int, test_size: float = 0.2, val_size: float = 0.1) -> dict[str, pd.DataFrame]:
    """Stratified train/validation/test split, fixed by ``seed`` (shares of the whole frame)."""
    from sklearn.model_selection import train_test_split

    if not 0 < test_size < 1 or not 0 < val_size < 1 or test_size + val_size >= 1:
        raise ValueError(f"test_size and val_size must be in (0, 1) with a sum below 1, got {test_size}, {val_size}")
    rest, test = train_test_split(df, test_size=test_size, random_state=seed, stratify=df["label"])
    train, val = train_test_split(rest, test_size=val_size / (1 - test_size), random_state=seed,
                                  stratify=rest["label"])
    return {"train": train, "val": val, "test": test}


# --------------------------------------------------------------------------------------------
# input checks shared by every model


def _check_texts(texts) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("texts must be a list of strings, not one string")
    texts = list(texts)
    if not texts:
        raise ValueError("texts is empty: give at least one review")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"texts[{i}] is {type(t).__name__}, expected str")
    return texts


def _check_labels(labels, names: Sequence[str], n: int) -> np.ndarray:
    labels = list(labels)
    if len(labels) != n:
        raise ValueError(f"{len(labels)} labels for {n} texts")
    out = np.empty(n, dtype=np.int64)
    for i, lab in enumerate(labels):
        if isinstance(lab, str):
            if lab not in names:
                raise ValueError(f"labels[{i}] = {lab!r} is not a known label; known: {list(names)}")
            out[i] = names.index(lab)
        elif isinstance(lab, (int, np.integer)) and not isinstance(lab, bool) and 0 <= lab < len(names):
            out[i] = int(lab)
        else:
            raise ValueError(f"labels[{i}] = {lab!r} is not a known label: expected 0..{len(names) - 1} "
                             f"or one of {list(names)}")
    return out


# --------------------------------------------------------------------------------------------
# baselines


def tfidf_baseline(seed: int = 0):
    """TF-IDF of words and word pairs + logistic regression with balanced class weights."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                         LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000, random_state=seed))


def tfidf_learning_curve(train: pd.DataFrame, val: pd.DataFrame, sizes, seed: int = 0) -> pd.DataFrame:
    """Validation macro-F1 of the TF-IDF baseline trained on growing random subsets of ``train``."""
    from sklearn.metrics import f1_score

    rows = []
    for n in sorted({min(int(n), len(train)) for n in sizes}):
        part = train.sample(n, random_state=seed)
        t0 = time.perf_counter()
        model = tfidf_baseline(seed).fit(part["text"], part["label"])
        seconds = time.perf_counter() - t0
        f1 = f1_score(val["label"], model.predict(val["text"]), average="macro")
        rows.append({"examples": n, "val_macro_f1": f1, "train_seconds": seconds})
    return pd.DataFrame(rows)


class VaderBaseline:
    """VADER's lexicon score (compound, -1..1) cut into classes at thresholds chosen on training data.

    VADER has no notion of these labels; choosing its two cut points to maximise macro-F1 on the
    training split is the fairest use of it.
    """

    def __init__(self, n_classes: int = 3):
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self.n_classes = n_classes
        self._analyzer = SentimentIntensityAnalyzer()

    def scores(self, texts) -> np.ndarray:
        return np.array([self._analyzer.polarity_scores(t)["compound"] for t in _check_texts(texts)])

    def _cut(self, s: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.thresholds_, s, side="right")

    def fit(self, texts, labels) -> "VaderBaseline":
        from sklearn.metrics import f1_score

        s, y = self.scores(texts), np.asarray(labels)
        grid = np.round(np.arange(-0.95, 0.951, 0.05), 2)
        best, best_t = -1.0, None
        if self.n_classes == 2:
            for t in grid:
                f = f1_score(y, (s > t).astype(int), average="macro")
                if f > best:
                    best, best_t = f, [t]
        else:
            for i, lo in enumerate(grid):
                for hi in grid[i + 1:]:
                    f = f1_score(y, np.searchsorted([lo, hi], s, side="right"), average="macro")
                    if f > best:
                        best, best_t = f, [lo, hi]
        self.thresholds_ = np.array(best_t)
        return self

    def predict(self, texts) -> np.ndarray:
        return self._cut(self.scores(texts))


# --------------------------------------------------------------------------------------------
# fine-tuning


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
    from . import assets

    return assets.fetch("minilm")


class SentimentClassifier:
    """A sequence classifier over reviews: ``fit``, ``predict_proba`` (n, k), ``save``, ``load``."""

    def __init__(self, model, tokenizer, labels: Sequence[str], max_length: int = 128, device: str | None = None,
                 pooling: str = "cls"):
        from .session import device as best_device

        if pooling not in ("cls", "mean"):
            raise ValueError(f"pooling must be 'cls' or 'mean', got {pooling!r}")
        self.pooling = pooling
        self.model, self.tokenizer = model, tokenizer
        self.labels = tuple(labels)
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

    def _encode(self, texts: list[str]) -> list[list[int]]:
        return self.tokenizer(texts, truncation=True, max_length=self.max_length,
                              add_special_tokens=True)["input_ids"]

    def _batches(self, lengths: np.ndarray, batch_size: int, shuffle: bool, bucket: bool,
                 rng: np.random.Generator | None) -> list[np.ndarray]:
        idx = rng.permutation(len(lengths)) if shuffle else np.arange(len(lengths))
        if bucket:  # sort by length inside chunks of 50 batches, so batches need little padding
            chunk = batch_size * 50
            idx = np.concatenate([c[np.argsort(lengths[c], kind="stable")]
                                  for c in np.array_split(idx, max(1, math.ceil(len(idx) / chunk)))])
        batches = [idx[i:i + batch_size] for i in range(0, len(idx), batch_size)]
        if shuffle and bucket:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def _collate(self, ids: list[list[int]], pad_to: int | None = None):
        import torch

        width = pad_to or max(len(x) for x in ids)
        pad = self.tokenizer.pad_token_id or 0
        input_ids = torch.full((len(ids), width), pad, dtype=torch.long)
        mask = torch.zeros((len(ids), width), dtype=torch.long)
        for i, x in enumerate(ids):
            input_ids[i, :len(x)] = torch.tensor(x)
            mask[i, :len(x)] = 1
        return input_ids.to(self.device), mask.to(self.device)

    def _autocast(self, enabled: bool):
        import contextlib

        import torch

        if not enabled:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.split(":")[0], dtype=torch.bfloat16)

    def _bf16(self, setting: str) -> bool:
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

        texts = _check_texts(texts)
        ids = self._encode(texts)
        lengths = np.array([len(x) for x in ids])
        out = np.empty((len(texts), len(self.labels)), dtype=np.float64)
        self.model.eval()
        with torch.inference_mode(), self._autocast(self._bf16(bf16)):
            for b in self._batches(lengths, batch_size, shuffle=False, bucket=True, rng=None):
                x, m = self._collate([ids[i] for i in b], self.max_length if pad_to_max_length else None)
                logits = self.model(input_ids=x, attention_mask=m).logits.float()
                out[b] = torch.softmax(logits, dim=-1).double().cpu().numpy()
        return out

    def predict(self, texts, **kw) -> np.ndarray:
        return self.predict_proba(texts, **kw).argmax(axis=1)

    # ---- training

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
            checkpoint_dir: str | os.PathLike | None = None, progress: bool = True, log=print) -> pd.DataFrame:
        """Fine-tune; return the history (one row per evaluation on the validation set).

        With ``checkpoint_dir``, the run state is saved every ``checkpoint_every`` steps and at
        every evaluation; calling ``fit`` again with the same data and config resumes from it.
        The weights of the evaluation with the best validation macro-F1 are kept.
        """
        import torch
        import torch.nn.functional as F
        from sklearn.metrics import f1_score
        from tqdm import tqdm
        from transformers import get_linear_schedule_with_warmup

        cfg = config or TrainConfig()
        tr_texts, va_texts = _check_texts(train_texts), _check_texts(val_texts)
        y_tr = _check_labels(train_labels, self.labels, len(tr_texts))
        y_va = _check_labels(val_labels, self.labels, len(va_texts))
        self.max_length = cfg.max_length
        self.config_ = cfg
        torch.manual_seed(cfg.seed)
        self._freeze(cfg.freeze_layers)
        ids_tr = self._encode(tr_texts)
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
            counts = np.bincount(y_tr, minlength=len(self.labels)).astype(float)
            w = len(y_tr) / (len(self.labels) * np.maximum(counts, 1))
            class_w = torch.tensor(w, dtype=torch.float32, device=self.device)
        else:
            class_w = None
        bf16 = self._bf16(cfg.bf16)

        # a checkpoint is only resumed by the same data, configuration, model and training code
        code = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
        fingerprint = hashlib.sha256(json.dumps([asdict(cfg), list(self.labels), tr_texts[:50], len(tr_texts),
                                                 va_texts[:20], len(va_texts), self.pooling,
                                                 getattr(self, "source_", None), code]).encode()).hexdigest()
        ckpt = Path(checkpoint_dir) / "checkpoint.pt" if checkpoint_dir else None
        state = {"epoch": 0, "step_in_epoch": 0, "global_step": 0, "history": [], "best_f1": -1.0,
                 "bad_evals": 0, "best_state": None, "seconds": 0.0, "examples": 0, "loss_sum": 0.0,
                 "loss_n": 0, "stopped": False}
        if ckpt is not None and ckpt.exists():
            saved = torch.load(ckpt, map_location=self.device, weights_only=False)
            if saved.get("fingerprint") == fingerprint:
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
                state["best_f1"], state["bad_evals"] = f1, 0
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
            batches = self._batches(lengths, cfg.batch_size, shuffle=True, bucket=cfg.bucket, rng=rng)
            for b in batches[state["step_in_epoch"]:]:
                t0 = time.perf_counter()
                x, m = self._collate([ids_tr[i] for i in b], pad_to)
                yb = torch.as_tensor(y_tr[b], device=self.device)
                with self._autocast(bf16):
                    logits = self.model(input_ids=x, attention_mask=m).logits
                loss = F.cross_entropy(logits.float(), yb, weight=class_w)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
                opt.step()
                sched.step()
                opt.zero_grad(set_to_none=True)
                if self.device.startswith("cuda"):
                    torch.cuda.synchronize()
                state["seconds"] += time.perf_counter() - t0
                state["examples"] += len(b)
                state["loss_sum"] += loss.item() * len(b)
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
        return self.history_


def throughput(clf: "SentimentClassifier", texts, labels, batch_size: int, train: bool,
               pad_to_max_length: bool, bucket: bool, bf16: bool, repeats: int = 1, warmup_batches: int = 2) -> float:
    """Reviews per second for training steps (forward, backward, AdamW step) or inference.

    The model's weights change during a training measurement: use a throwaway classifier.
    """
    import torch
    import torch.nn.functional as F

    texts = _check_texts(texts)
    y = _check_labels(labels, clf.labels, len(texts))
    ids = clf._encode(texts)
    lengths = np.array([len(x) for x in ids])
    rng = np.random.default_rng(0)
    batches = clf._batches(lengths, batch_size, shuffle=True, bucket=bucket, rng=rng)
    pad_to = clf.max_length if pad_to_max_length else None
    opt = torch.optim.AdamW([p for p in clf.model.parameters() if p.requires_grad], lr=1e-5) if train else None
    clf.model.train(train)
    sync = torch.cuda.synchronize if clf.device.startswith("cuda") else (lambda: None)

    def step(b):
        x, m = clf._collate([ids[i] for i in b], pad_to)
        if train:
            with clf._autocast(bf16):
                logits = clf.model(input_ids=x, attention_mask=m).logits
            loss = F.cross_entropy(logits.float(), torch.as_tensor(y[b], device=clf.device))
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
        else:
            with torch.inference_mode(), clf._autocast(bf16):
                clf.model(input_ids=x, attention_mask=m)

    for b in batches[:warmup_batches]:
        step(b)
    sync()
    t0 = time.perf_counter()
    n = 0
    for _ in range(repeats):
        for b in batches:
            step(b)
            n += len(b)
    sync()
    return n / (time.perf_counter() - t0)


SPEED_SETTINGS = [  # name, pad to max length, bucket, bf16
    ("fp32, padded to max length (naive)", True, False, False),
    ("fp32, dynamic padding", False, False, False),
    ("fp32, dynamic padding + length bucketing", False, True, False),
    ("bf16, dynamic padding + length bucketing", False, True, True),
]


def speed_table(clf: "SentimentClassifier", texts, labels, batch_sizes=(32,), bf16: bool | None = None) -> pd.DataFrame:
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
                rate = throughput(clf, texts, labels, bs, train=(mode == "training"), pad_to_max_length=pad,
                                  bucket=bucket, bf16=use_bf16)
                base = base or rate
                rows.append({"mode": mode, "batch size": bs, "setting": name, "reviews/s": rate,
                             "ratio vs naive": rate / base})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# evaluation


def evaluate(y_true, proba: np.ndarray, labels: Sequence[str]) -> dict:
    """Accuracy, macro-F1, per-class precision/recall/F1, confusion matrix, top-label ECE."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    from .metrics import expected_calibration_error

    y = np.asarray(y_true)
    proba = np.asarray(proba, dtype=float)
    if proba.ndim != 2 or proba.shape != (len(y), len(labels)):
        raise ValueError(f"proba must have shape ({len(y)}, {len(labels)}), got {proba.shape}")
    pred = proba.argmax(axis=1)
    k = list(range(len(labels)))
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=k, zero_division=0)
    confidence = proba.max(axis=1)
    correct = (pred == y).astype(float)
    return {
        "accuracy": accuracy_score(y, pred),
        "macro_f1": f1_score(y, pred, average="macro", labels=k, zero_division=0),
        "per_class": pd.DataFrame({"precision": p, "recall": r, "f1": f, "support": s}, index=list(labels)),
        "confusion": pd.DataFrame(confusion_matrix(y, pred, labels=k), index=[f"true {n}" for n in labels],
                                  columns=[f"predicted {n}" for n in labels]),
        "ece": expected_calibration_error(correct, confidence, n_bins=10, strategy="uniform"),
        "confidence": confidence,
        "correct": correct,
    }


def confident_errors(texts, y_true, proba: np.ndarray, labels: Sequence[str], k: int = 8) -> pd.DataFrame:
    """The ``k`` wrong predictions the model was most sure of."""
    y = np.asarray(y_true)
    pred = proba.argmax(axis=1)
    wrong = np.flatnonzero(pred != y)
    top = wrong[np.argsort(-proba[wrong, pred[wrong]])][:k]
    texts = list(texts)
    return pd.DataFrame({"true": [labels[y[i]] for i in top], "predicted": [labels[pred[i]] for i in top],
                         "confidence": proba[top, pred[top]], "text": [texts[i] for i in top]})
