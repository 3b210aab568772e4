"""A small torch MLP for tabular retention data, trained on the retention loss (BCE with logits).

Dropout and weight decay are the two regularisers; class weighting answers imbalanced labels.
The surface follows scikit-learn: ``fit(X, y)``, ``predict_proba(X)`` of shape (N, 2).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from retention_lib.base.devices import device as best_device

__all__ = ["MLPRetention"]


class MLPRetention(ClassifierMixin, BaseEstimator):
    """Feed-forward network: inputs standardised, ``hidden`` ReLU layers with dropout, one logit.

    ``weight_decay`` is AdamW's decoupled decay; ``pos_weight`` multiplies the loss of positive
    examples (``"balanced"`` sets it to negatives / positives). With validation data, the weights
    of the epoch with the lowest validation loss are kept (early stopping with ``patience``).

    It minimises the retention loss of chapter 03, binary cross-entropy on the logit ``z = f(x)``::

        L = -mean[ w_i (y_i log sigma(z_i) + (1 - y_i) log(1 - sigma(z_i))) ],  w_i = pos_weight if y_i = 1 else 1

    (computed from logits, as ``torch.nn.functional.binary_cross_entropy_with_logits`` does, never from
    ``sigma(z)``), plus AdamW's decay of the weights.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 3)); y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
    >>> model = MLPRetention(hidden=(16,), epochs=20, device="cpu").fit(X, y)
    >>> model.predict_proba(X[:2]).shape, list(model.history_.columns)
    ((2, 2), ['train_loss'])
    """

    def __init__(
        self,
        hidden: tuple[int, ...] = (32, 16),
        dropout: float = 0.2,
        weight_decay: float = 1e-4,
        lr: float = 1e-3,
        epochs: int = 50,
        batch_size: int = 256,
        pos_weight: float | str | None = None,
        patience: int | None = 10,
        seed: int = 0,
        device: str | None = None,
    ):
        self.hidden = hidden
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.pos_weight = pos_weight
        self.patience = patience
        self.seed = seed
        self.device = device

    def _net(self, d: int):
        import torch.nn as nn

        layers, width = [], d
        for h in self.hidden:
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(self.dropout)]
            width = h
        layers.append(nn.Linear(width, 1))
        return nn.Sequential(*layers)

    def _tensor(self, X):
        import torch

        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != self.mean_.shape[0]:
            raise ValueError(f"X must have shape (N, {self.mean_.shape[0]}), got {X.shape}")
        if not np.all(np.isfinite(X)):
            raise ValueError("X holds NaN or infinite values")
        return torch.from_numpy((X - self.mean_) / self.scale_).to(self.device_)

    def fit(self, X, y, X_val=None, y_val=None) -> MLPRetention:
        """Train; return the model, with ``history_`` (one row per epoch: ``train_loss``, ``val_loss``).

        Parameters
        ----------
        X : array of shape (n, d)
        y : array of shape (n,), 0 or 1
        X_val, y_val : optional validation data (enables early stopping with ``patience``)
        """
        import torch
        import torch.nn.functional as F

        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        X, y = validate_data(self, X, y, dtype=np.float32)  # 2-D, finite, not sparse; sets n_features_in_
        check_classification_targets(y)
        labels = np.unique(y)
        if len(labels) > 2:
            raise ValueError(f"Only binary classification is supported (one logit); y holds {len(labels)} classes")
        if len(labels) < 2:
            raise ValueError(f"y holds one class only ({labels.tolist()}): a classifier needs both")
        # the retention label: 1 = bought again; any other two labels: the second in sorted order counts as 1
        self.classes_ = np.array([0, 1]) if set(labels.tolist()) <= {0, 1} else labels
        y = (y == self.classes_[1]).astype(np.float32)
        self.n_features_in_ = X.shape[1]
        self.device_ = self.device or best_device()
        self.mean_ = X.mean(axis=0)
        self.scale_ = X.std(axis=0) + 1e-8
        torch.manual_seed(self.seed)
        gen = torch.Generator().manual_seed(self.seed)
        self.net_ = self._net(X.shape[1]).to(self.device_)
        opt = torch.optim.AdamW(self.net_.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        pw = self.pos_weight
        if pw == "balanced":  # w(1) / w(0) of scikit-learn's balanced class weights = negatives / positives
            if len(np.unique(y)) < 2:
                raise ValueError("pos_weight='balanced' needs both classes in y")
            w0, w1 = compute_class_weight("balanced", classes=np.array([0.0, 1.0]), y=y)
            pw = float(w1 / w0)
        pw_t = None if pw is None else torch.tensor([float(pw)], device=self.device_)
        Xt, yt = self._tensor(X), torch.from_numpy(y).to(self.device_)
        has_val = X_val is not None
        if has_val:
            Xv, yv = self._tensor(X_val), torch.from_numpy(self._encode(y_val, len(X_val))).to(self.device_)
        rows, best, best_state, bad = [], np.inf, None, 0
        for epoch in range(1, self.epochs + 1):
            self.net_.train()
            order = torch.randperm(len(Xt), generator=gen).to(self.device_)
            total = 0.0
            for start in range(0, len(Xt), self.batch_size):
                idx = order[start : start + self.batch_size]
                logits = self.net_(Xt[idx]).squeeze(1)
                loss = F.binary_cross_entropy_with_logits(logits, yt[idx], pos_weight=pw_t)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
            row = {"epoch": epoch, "train_loss": total / len(Xt)}
            if has_val:
                self.net_.eval()
                with torch.no_grad():
                    row["val_loss"] = float(
                        F.binary_cross_entropy_with_logits(self.net_(Xv).squeeze(1), yv, pos_weight=pw_t)
                    )
                if row["val_loss"] < best - 1e-6:
                    best, bad = row["val_loss"], 0
                    best_state = {k: v.detach().clone() for k, v in self.net_.state_dict().items()}
                else:
                    bad += 1
            rows.append(row)
            if has_val and self.patience is not None and bad >= self.patience:
                break
        if best_state is not None:
            self.net_.load_state_dict(best_state)
        self.history_ = pd.DataFrame(rows).set_index("epoch")
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Probabilities of class 0 and class 1, shape (N, 2); rows sum to 1."""
        import torch

        check_is_fitted(self, "net_")
        X = validate_data(self, X, dtype=np.float32, reset=False)
        self.net_.eval()
        with torch.no_grad():
            p = torch.sigmoid(self.net_(self._tensor(X)).squeeze(1)).double().cpu().numpy()
        return np.column_stack([1 - p, p])

    def _encode(self, y, n: int) -> np.ndarray:
        """Validation labels as the training labels were encoded (the second class is 1)."""
        y = np.asarray(y)
        if y.shape != (n,):
            raise ValueError(f"y_val must have shape ({n},), like X_val's rows; got {y.shape}")
        unknown = sorted(set(y.tolist()) - set(self.classes_.tolist()))
        if unknown:
            raise ValueError(
                f"y_val holds label(s) {unknown[:3]} not among the training classes {self.classes_.tolist()}"
            )
        return (y == self.classes_[1]).astype(np.float32)

    def predict(self, X) -> np.ndarray:
        """The second class where its probability is at least 0.5, else the first; shape (N,)."""
        check_is_fitted(self, "net_")
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False  # one logit: a binary classifier
        tags.non_deterministic = self.device != "cpu"  # GPU kernels may differ run to run
        return tags
