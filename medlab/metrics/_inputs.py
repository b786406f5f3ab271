"""Argument checks shared by the metrics: labels and scores, both classes, the clipping eps."""

from __future__ import annotations

import numpy as np

from medlab import validate

#: Probabilities are clipped to [EPS, 1 - EPS] before a log (float32 sigmoids saturate).
EPS = 1e-7


def _labels_scores(y_true, scores):
    y = validate.binary("y_true", y_true).reshape(-1)
    p = validate.values("scores", scores).reshape(-1)
    if y.shape != p.shape:
        raise ValueError(f"y_true has {y.size} labels but scores has {p.size} values")
    if y.size == 0:
        raise ValueError("y_true and scores are empty")
    return y, p


def _both_classes(y, what):
    if y.min() == y.max():
        raise ValueError(f"{what} needs both classes in y_true; all labels are {int(y[0])}")
