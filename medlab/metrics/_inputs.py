"""Argument checks shared by the metrics: labels and scores, both classes, the clipping eps."""

from __future__ import annotations

import numpy as np

#: Probabilities are clipped to [EPS, 1 - EPS] before a log (float32 sigmoids saturate).
EPS = 1e-7


def _labels_scores(y_true, scores):
    y = np.asarray(y_true).reshape(-1)
    p = np.asarray(scores, dtype=np.float64).reshape(-1)
    if y.shape != p.shape:
        raise ValueError(f"y_true has {y.size} labels but scores has {p.size} values")
    if y.size == 0:
        raise ValueError("y_true and scores are empty")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("y_true must hold only 0 (negative) and 1 (positive)")
    if not np.all(np.isfinite(p)):
        raise ValueError("scores must be finite numbers")
    return y.astype(np.int64), p


def _both_classes(y, what):
    if y.min() == y.max():
        raise ValueError(f"{what} needs both classes in y_true; all labels are {int(y[0])}")
