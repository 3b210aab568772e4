"""The fine-tuning loop: :func:`fine_tune`, one run in named phases (set-up, resume, epochs, evaluation,
checkpoint) with early stopping and resumable checkpoints. Part of the training code whose digest keys a
checkpoint (:data:`.training.TRAINING_CODE`)."""

from __future__ import annotations

import math
import os
import pickle
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score
from sklearn.utils.class_weight import compute_class_weight
from tqdm import tqdm

from retention_lib.base.cache import content_key

from .labels import check_labels, check_texts
from .training import TrainConfig, freeze_layers, train_step, training_code_digest

__all__ = ["fine_tune", "FineTuningRun"]


def fine_tune(
    clf,
    train_texts,
    train_labels,
    val_texts,
    val_labels,
    config: TrainConfig | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    progress: bool = True,
    log=print,
):
    """Fine-tune ``clf`` (a :class:`~retention_lib.sentiment.SentimentClassifier`) on the training reviews,
    evaluating on the validation reviews.

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
        ``clf``, with ``history_`` (one row per evaluation), ``train_seconds_`` and
        ``train_examples_per_second_``.
    """

    run = FineTuningRun(clf, train_texts, train_labels, val_texts, val_labels, config or TrainConfig(), log)
    run.resume(Path(checkpoint_dir) / "checkpoint.pt" if checkpoint_dir else None)
    with tqdm(
        total=run.total_steps,
        initial=run.state["global_step"],
        disable=not progress,
        mininterval=10,
        desc="fine-tuning",
        unit="step",
    ) as bar:
        clf.model.train()
        while run.state["epoch"] < run.cfg.epochs and not run.state["stopped"]:
            run.epoch(bar)
    state = run.state
    if state["best_state"] is not None:
        clf.model.load_state_dict(state["best_state"])
    clf.history_ = pd.DataFrame(state["history"])
    clf.train_seconds_ = state["seconds"]  # optimisation time, including before a resume
    clf.train_examples_per_second_ = state["examples"] / max(state["seconds"], 1e-9)
    return clf


class FineTuningRun:
    """One fine-tuning run in its phases: set-up (checked data, tokens, optimiser, schedule, class
    weights), :meth:`resume` from a checkpoint of the same run, :meth:`epoch` (steps, with evaluations
    and checkpoints), :meth:`evaluate` (validation macro-F1, early stopping) and :meth:`save`."""

    def __init__(self, clf, train_texts, train_labels, val_texts, val_labels, cfg: TrainConfig, log):
        import torch

        self.clf, self.cfg, self.log = clf, cfg, log
        self.tr_texts, self.va_texts = check_texts(train_texts), check_texts(val_texts)
        self.y_tr = check_labels(train_labels, clf.labels, len(self.tr_texts))
        self.y_va = check_labels(val_labels, clf.labels, len(self.va_texts))
        clf.max_length = cfg.max_length
        clf.config_ = cfg
        torch.manual_seed(cfg.seed)
        freeze_layers(clf, cfg.freeze_layers)
        self.ids_tr = clf.encode(self.tr_texts)
        self.lengths = np.array([len(x) for x in self.ids_tr])
        self.steps_per_epoch = math.ceil(len(self.ids_tr) / cfg.batch_size)
        self.total_steps = self.steps_per_epoch * cfg.epochs
        self.eval_at = {
            min(self.steps_per_epoch, round(self.steps_per_epoch * (k + 1) / cfg.evals_per_epoch))
            for k in range(cfg.evals_per_epoch)
        }
        self.opt, self.sched = self._optimiser()
        self.class_w = self._class_weights()
        self.bf16 = clf.use_bf16(cfg.bf16)
        self.fingerprint = self._fingerprint()
        self.ckpt = None
        self.state = {
            "epoch": 0,
            "step_in_epoch": 0,
            "global_step": 0,
            "history": [],
            "best_f1": -1.0,
            "bad_evals": 0,
            "best_state": None,
            "seconds": 0.0,
            "examples": 0,
            "loss_sum": 0.0,
            "loss_n": 0,
            "stopped": False,
        }

    def _optimiser(self):
        """AdamW with weight decay on the weight matrices only, and a linear schedule with warm-up."""
        import torch
        from transformers import get_linear_schedule_with_warmup

        cfg = self.cfg
        params = [p for p in self.clf.model.parameters() if p.requires_grad]
        decay = [p for p in params if p.ndim > 1]
        no_decay = [p for p in params if p.ndim <= 1]  # biases and LayerNorm weights
        opt = torch.optim.AdamW(
            [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr
        )
        return opt, get_linear_schedule_with_warmup(opt, int(cfg.warmup_ratio * self.total_steps), self.total_steps)

    def _class_weights(self):
        """Balanced class weights (every class must be present), or ``None``."""
        import torch

        labels = self.clf.labels
        if self.cfg.class_weighting != "balanced":
            return None
        absent = sorted(set(range(len(labels))) - set(self.y_tr.tolist()))
        if absent:
            raise ValueError(
                f"train_labels: no example of {[labels[k] for k in absent]}; balanced "
                "class weights need every class (or use class_weighting='none')"
            )
        w = compute_class_weight("balanced", classes=np.arange(len(labels)), y=self.y_tr)
        return torch.tensor(w, dtype=torch.float32, device=self.clf.device)

    def _fingerprint(self) -> str:
        """A checkpoint is only resumed by the same data, configuration, model and training code."""
        clf = self.clf
        return content_key(
            [
                asdict(self.cfg),
                list(clf.labels),
                self.tr_texts[:50],
                len(self.tr_texts),
                self.va_texts[:20],
                len(self.va_texts),
                clf.pooling,
                getattr(clf, "source_", None),
                training_code_digest(),
            ]
        )

    def resume(self, ckpt: Path | None) -> None:
        """Continue from ``ckpt`` when it holds this run (weights, optimiser, schedule, random state)."""
        import torch

        self.ckpt, log = ckpt, self.log
        if ckpt is None or not ckpt.exists():
            return
        try:  # tensors and plain data only: a checkpoint handed over by someone else cannot run code
            saved = torch.load(ckpt, map_location=self.clf.device, weights_only=True)
        except pickle.UnpicklingError:
            saved = {}
            log(
                f"ignoring {ckpt}: it holds objects other than tensors and plain data (an older format, or "
                f"not written by this library), so it is not loaded; training from the start"
            )
        if not saved:
            return
        if saved.get("fingerprint") != self.fingerprint:
            log(f"ignoring {ckpt}: it belongs to another run (data or config differ)")
            return
        self.clf.model.load_state_dict(saved["model"])
        self.opt.load_state_dict(saved["optimizer"])
        self.sched.load_state_dict(saved["scheduler"])
        torch.set_rng_state(saved["rng"].cpu())  # dropout masks continue as if never stopped
        if saved.get("cuda_rng") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([t.cpu() for t in saved["cuda_rng"]])
        state = self.state = saved["state"]
        if state["stopped"] or state["epoch"] >= self.cfg.epochs:
            log(f"{ckpt} holds this run, finished: reusing it ({state['seconds'] / 60:.1f} min of training)")
        else:
            log(
                f"resuming from {ckpt}: epoch {state['epoch'] + 1}, step {state['step_in_epoch']} "
                f"of {self.steps_per_epoch}"
            )

    def save(self) -> None:
        """Write the run's state atomically (a temporary file, then a rename)."""
        import torch

        if self.ckpt is None:
            return
        self.ckpt.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.ckpt.with_suffix(".tmp")
        torch.save(
            {
                "fingerprint": self.fingerprint,
                "model": self.clf.model.state_dict(),
                "optimizer": self.opt.state_dict(),
                "scheduler": self.sched.state_dict(),
                "state": self.state,
                "rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            },
            tmp,
        )
        tmp.replace(self.ckpt)

    def evaluate(self, epoch_float: float) -> bool:
        """One evaluation on the validation reviews; keeps the best weights. True when training should stop."""
        clf, cfg, state, y_va = self.clf, self.cfg, self.state, self.y_va
        proba = clf.predict_proba(self.va_texts, batch_size=max(64, cfg.batch_size), bf16=cfg.bf16)
        pred = proba.argmax(axis=1)
        f1 = f1_score(y_va, pred, average="macro")
        row = {
            "epoch": round(epoch_float, 3),
            "step": state["global_step"],
            "examples": state["examples"],
            "train_loss": state["loss_sum"] / max(state["loss_n"], 1),
            "val_loss": float(-np.mean(np.log(np.clip(proba[np.arange(len(y_va)), y_va], 1e-12, 1)))),
            "val_accuracy": float((pred == y_va).mean()),
            "val_macro_f1": float(f1),
            "train_seconds": round(state["seconds"], 1),
        }
        state["history"].append(row)
        state["loss_sum"], state["loss_n"] = 0.0, 0
        self.log(
            f"epoch {row['epoch']:.2f}: train loss {row['train_loss']:.4f}, validation macro-F1 {f1:.4f}, "
            f"accuracy {row['val_accuracy']:.4f}"
        )
        if f1 > state["best_f1"]:
            state["best_f1"], state["bad_evals"] = float(f1), 0
            state["best_state"] = {k: v.detach().to("cpu", copy=True) for k, v in clf.model.state_dict().items()}
        else:
            state["bad_evals"] += 1
        clf.model.train()
        return state["bad_evals"] >= cfg.patience

    def epoch(self, bar) -> None:
        """The rest of the current epoch, in the same order on resume; evaluations and checkpoints on the way."""
        import torch

        clf, cfg, state = self.clf, self.cfg, self.state
        rng = np.random.default_rng([cfg.seed, state["epoch"]])  # the same order on resume
        pad_to = cfg.max_length if cfg.pad_to_max_length else None
        batches = clf.batches(self.lengths, cfg.batch_size, shuffle=True, bucket=cfg.bucket, rng=rng)
        for b in batches[state["step_in_epoch"] :]:
            t0 = time.perf_counter()
            x, m = clf.collate([self.ids_tr[i] for i in b], pad_to)
            yb = torch.as_tensor(self.y_tr[b], device=clf.device)
            loss = train_step(clf, x, m, yb, self.opt, self.sched, self.class_w, self.bf16, cfg.grad_clip)
            if clf.device.startswith("cuda"):
                torch.cuda.synchronize()
            state["seconds"] += time.perf_counter() - t0
            state["examples"] += len(b)
            state["loss_sum"] += loss * len(b)
            state["loss_n"] += len(b)
            state["global_step"] += 1
            state["step_in_epoch"] += 1
            bar.update(1)
            if state["step_in_epoch"] in self.eval_at:
                if self.evaluate(state["epoch"] + state["step_in_epoch"] / self.steps_per_epoch):
                    state["stopped"] = True
                    self.log(f"early stop: no better validation macro-F1 in {cfg.patience} evaluation(s)")
                self.save()
                if state["stopped"]:
                    return
            elif self.ckpt is not None and state["global_step"] % cfg.checkpoint_every == 0:
                self.save()
        state["epoch"] += 1
        state["step_in_epoch"] = 0
        self.save()
