"""Fine-tuning a :class:`~retention_lib.sentiment.SentimentClassifier`: the configuration and the one
training step; the loop with early stopping and resumable checkpoints is :mod:`.fine_tuning`.

A checkpoint is resumed only by the same data, configuration, model and *training code*: the code is
this module, :mod:`.fine_tuning` and :mod:`.classifier` (batching, padding and the model itself), listed in
:data:`TRAINING_CODE`; the speed measurements and the backends live elsewhere, so editing them never
discards a fine-tuning run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from retention_lib.base.cache import content_key

__all__ = ["TrainConfig", "train_step", "freeze_layers", "TRAINING_CODE", "training_code_digest"]

TRAINING_CODE = ("classifier.py", "training.py", "fine_tuning.py")


def training_code_digest() -> str:
    """SHA-256 of the modules whose code shapes a fine-tuning run (:data:`TRAINING_CODE`)."""
    return content_key(*(Path(__file__).with_name(name) for name in TRAINING_CODE))


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
        checks = [
            ("epochs", self.epochs >= 1),
            ("lr", self.lr > 0),
            ("batch_size", self.batch_size >= 1),
            ("max_length", 8 <= self.max_length <= 512),
            ("warmup_ratio", 0 <= self.warmup_ratio < 1),
            ("class_weighting", self.class_weighting in ("balanced", "none")),
            ("bf16", self.bf16 in ("auto", "on", "off")),
            ("patience", self.patience >= 1),
            ("evals_per_epoch", self.evals_per_epoch >= 1),
            ("freeze_layers", self.freeze_layers >= 0),
        ]
        for name, ok in checks:
            if not ok:
                raise ValueError(f"TrainConfig: invalid {name}={getattr(self, name)!r}")


def train_step(
    clf,
    input_ids,
    attention_mask,
    y,
    optimizer,
    scheduler=None,
    class_weight=None,
    bf16: bool = False,
    grad_clip: float | None = None,
) -> float:
    """One optimisation step on one batch: forward, weighted cross-entropy, backward, clip, step.

    The one training step of the book: :func:`.fine_tuning.fine_tune` and the speed measurements both call it
    (through :meth:`SentimentClassifier.train_step`).

    Parameters
    ----------
    input_ids, attention_mask : tensors of shape (batch, length)
        From ``clf.collate``.
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

    with clf.autocast(bf16):
        logits = clf.model(input_ids=input_ids, attention_mask=attention_mask).logits
    loss = F.cross_entropy(logits.float(), y, weight=class_weight)
    loss.backward()
    if grad_clip is not None:
        torch.nn.utils.clip_grad_norm_([p for p in clf.model.parameters() if p.requires_grad], grad_clip)
    optimizer.step()
    if scheduler is not None:
        scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return loss.item()


def freeze_layers(clf, n_layers: int) -> None:
    """Keep the embeddings and the bottom ``n_layers`` encoder layers of ``clf``'s model frozen."""
    if clf.pooling == "mean":
        base = clf.model.encoder
    else:
        base = getattr(clf.model, clf.model.base_model_prefix, None)
    if n_layers <= 0 or base is None:
        return
    for p in base.embeddings.parameters():
        p.requires_grad = False
    for layer in base.encoder.layer[:n_layers]:
        for p in layer.parameters():
            p.requires_grad = False
