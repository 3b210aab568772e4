"""Metrics shared by several chapters (the retention models and the sentiment classifier)."""

from __future__ import annotations

import numpy as np

__all__ = ["expected_calibration_error"]


def expected_calibration_error(y, p, n_bins: int = 10, strategy: str = "quantile") -> float:
    """Weighted mean |observed rate - mean predicted probability| over bins of the prediction.

    ``quantile`` bins hold equal numbers of customers; ``uniform`` bins have equal widths.
    """
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    if y.shape != p.shape or y.ndim != 1 or len(y) == 0:
        raise ValueError(f"y and p must be equal-length 1-D arrays, got {y.shape} and {p.shape}")
    if np.any((p < 0) | (p > 1)):
        raise ValueError("p must hold probabilities in [0, 1]")
    if strategy == "quantile":
        edges = np.unique(np.quantile(p, np.linspace(0, 1, n_bins + 1)))
    elif strategy == "uniform":
        edges = np.linspace(0, 1, n_bins + 1)
    else:
        raise ValueError(f"strategy must be 'quantile' or 'uniform', got {strategy!r}")
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    ece = 0.0
    for k in range(len(edges) - 1):
        m = idx == k
        if m.any():
            ece += m.mean() * abs(y[m].mean() - p[m].mean())
    return float(ece)
