"""Confidence intervals by the stratified bootstrap (lessons 08 and 10).

A figure on a few hundred test images is one draw; its interval says how far another draw
of the same size could land. Every resample keeps each class's count (stratified).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from medlab import validate
from medlab.metrics._inputs import _both_classes, _labels_scores
from medlab.metrics.classification import auc, binary_metrics


@dataclass(frozen=True)
class Interval:
    """A figure and its bootstrap confidence interval.

    Attributes
    ----------
    estimate : float
        The figure on the data as they are.
    low, high : float
        The interval's ends (percentiles of the bootstrap figures).
    level : float
        Coverage, e.g. 0.95.
    n_boot : int
        Bootstrap resamples it came from.
    """

    estimate: float
    low: float
    high: float
    level: float
    n_boot: int

    @property
    def width(self):
        return self.high - self.low

    def text(self, digits=2):
        """``0.93 (95 % CI 0.91-0.95)``."""
        r = lambda v: f"{v:.{digits}f}"  # noqa: E731
        return f"{r(self.estimate)} ({round(100 * self.level):d} % CI {r(self.low)}-{r(self.high)})"


def stratified_bootstrap_indices(y_true, n_boot=1000, seed=0):
    """Index arrays of stratified bootstrap resamples: each class resampled on its own.

    Every resample keeps the number of positives and negatives of ``y_true`` (so the
    prevalence, and the AUC's and rates' denominators, stay fixed), drawing each class's
    images with replacement.

    Parameters
    ----------
    y_true : array_like (N,) of 0/1, both classes present
    n_boot : int >= 1
    seed : int

    Returns
    -------
    int array (n_boot, N)
    """
    y = validate.binary("y_true", y_true).reshape(-1)
    _both_classes(y, "a stratified bootstrap")
    n_boot = validate.integer("n_boot", n_boot, low=1)
    rng = np.random.default_rng(seed)
    parts = []
    for c in (0, 1):
        members = np.flatnonzero(y == c)
        parts.append(members[rng.integers(0, len(members), size=(int(n_boot), len(members)))])
    return np.concatenate(parts, axis=1)


def class_bootstrap_indices(labels, n_boot=1000, seed=0):
    """Index arrays of bootstrap resamples stratified by class, for any number of classes.

    Each class present in ``labels`` is resampled on its own, with replacement, so every
    resample keeps each class's count. For 0/1 labels the same draws as
    :func:`stratified_bootstrap_indices` with the same seed.

    Parameters
    ----------
    labels : array_like (N,) of ints >= 0, at least two classes present
    n_boot : int >= 1
    seed : int

    Returns
    -------
    int array (n_boot, N)

    >>> class_bootstrap_indices([0, 2, 2, 1, 1, 1], n_boot=3).shape
    (3, 6)
    >>> y = np.array([0, 2, 2, 1, 1, 1])
    >>> [np.bincount(y[i], minlength=3).tolist() for i in class_bootstrap_indices(y, n_boot=2)]
    [[1, 3, 2], [1, 3, 2]]
    """
    y = validate.values("labels", labels, 0).reshape(-1)
    if y.size == 0 or np.any(y != np.round(y)):
        raise ValueError("labels must be a non-empty array of class numbers 0, 1, ...")
    y = y.astype(np.int64)
    classes = np.unique(y)
    if classes.size < 2:
        raise ValueError(f"a stratified bootstrap needs two classes in labels; all labels are {int(y[0])}")
    n_boot = validate.integer("n_boot", n_boot, low=1)
    rng = np.random.default_rng(seed)
    parts = []
    for c in classes:
        members = np.flatnonzero(y == c)
        parts.append(members[rng.integers(0, len(members), size=(int(n_boot), len(members)))])
    return np.concatenate(parts, axis=1)


def _percentiles(level):
    """The two percentiles that bound a central interval of coverage ``level`` in (0, 1)."""
    level = validate.number("level", level, 0, 1, closed="neither")
    tail = 100 * (1 - level) / 2
    return [tail, 100 - tail]


def bootstrap_ci(y_true, scores, statistic, n_boot=1000, level=0.95, seed=0):
    """Stratified bootstrap confidence interval of ``statistic(y_true, scores)``.

    Parameters
    ----------
    y_true : array_like (N,) of 0/1
    scores : array_like (N,) of float
    statistic : callable (y, p) -> float
        E.g. :func:`auc`, or ``lambda y, p: binary_metrics(y, p, t).sensitivity``.
    n_boot : int
        Resamples (1,000 give the 2.5 and 97.5 percentiles to about +-0.005 for an AUC).
    level : float in (0, 1)
    seed : int

    Returns
    -------
    Interval
        The statistic on the data, and the percentile interval of its bootstrap values.
    """
    y, p = _labels_scores(y_true, scores)
    percentiles = _percentiles(level)
    values = np.array([statistic(y[i], p[i]) for i in stratified_bootstrap_indices(y, n_boot, seed)])
    low, high = np.nanpercentile(values, percentiles)
    return Interval(float(statistic(y, p)), float(low), float(high), float(level), int(n_boot))


def _bootstrap_aucs(y, p, index):
    """The AUC of every resample in ``index`` (rows of image indices), all at once.

    AUC = mean over (positive, negative) pairs of [p_pos > p_neg] + 0.5 [p_pos == p_neg]
    (Mann-Whitney; the same as ``roc_auc_score``). A resample draws each image a number of
    times, so its AUC is ``w K v / (n1 n0)`` with K the pair matrix of the original images
    and w, v the multiplicities of the positives and negatives: one matrix product for all.
    """
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    kernel = (p[pos][:, None] > p[neg][None, :]) + 0.5 * (p[pos][:, None] == p[neg][None, :])
    slot = np.full(y.size, -1)
    slot[pos], slot[neg] = np.arange(pos.size), np.arange(neg.size)
    rows = np.arange(len(index))[:, None]
    is_pos = y[index] == 1
    w = np.zeros((len(index), pos.size))
    v = np.zeros((len(index), neg.size))
    np.add.at(w, (np.broadcast_to(rows, index.shape)[is_pos], slot[index][is_pos]), 1.0)
    np.add.at(v, (np.broadcast_to(rows, index.shape)[~is_pos], slot[index][~is_pos]), 1.0)
    return np.einsum("bi,ij,bj->b", w, kernel, v) / (pos.size * neg.size)


def clinical_intervals(y_true, scores, threshold, n_boot=1000, level=0.95, seed=0):
    """Bootstrap intervals of AUC, sensitivity and specificity at ``threshold``.

    The same stratified resamples (:func:`stratified_bootstrap_indices`) serve all three.

    Returns
    -------
    dict of str -> Interval
        ``auc``, ``sensitivity``, ``specificity``.
    """
    threshold = validate.number("threshold", threshold, 0.0, 1.0)
    y, p = _labels_scores(y_true, scores)
    percentiles = _percentiles(level)
    index = stratified_bootstrap_indices(y, n_boot, seed)
    yb, pb = y[index], p[index]
    calls = pb >= threshold
    positives, negatives = yb == 1, yb == 0
    values = {
        "auc": _bootstrap_aucs(y, p, index),
        "sensitivity": (calls & positives).sum(axis=1) / positives.sum(axis=1),
        "specificity": (~calls & negatives).sum(axis=1) / negatives.sum(axis=1),
    }
    m = binary_metrics(y, p, threshold)
    estimates = {"auc": auc(y, p), "sensitivity": m.sensitivity, "specificity": m.specificity}
    out = {}
    for name, v in values.items():
        low, high = np.percentile(v, percentiles)
        out[name] = Interval(float(estimates[name]), float(low), float(high), float(level), int(n_boot))
    return out


def auc_interval(y_true, scores, n_boot=1000, level=0.95, seed=0):
    """``bootstrap_ci(y_true, scores, auc, n_boot, level, seed)``, computed in one matrix product.

    The same stratified resamples and percentiles as :func:`bootstrap_ci`, so the same
    :class:`Interval`; fast enough for a notebook that compares many scores.
    """
    y, p = _labels_scores(y_true, scores)
    percentiles = _percentiles(level)
    values = _bootstrap_aucs(y, p, stratified_bootstrap_indices(y, n_boot, seed))
    low, high = np.nanpercentile(values, percentiles)
    return Interval(auc(y, p), float(low), float(high), float(level), int(n_boot))


def auc_difference_interval(y_true, scores_a, scores_b, n_boot=1000, level=0.95, seed=0):
    """AUC(a) - AUC(b) on the same images, with a *paired* stratified bootstrap interval.

    Each resample scores both on the same images (:func:`stratified_bootstrap_indices`), so
    the interval says whether a beats b on these images, which two separate intervals
    cannot (they overlap long before the difference stops being clear).

    Parameters
    ----------
    y_true : array_like (N,) of 0/1
    scores_a, scores_b : array_like (N,) of float, higher = more likely positive
    n_boot, level, seed
        As in :func:`bootstrap_ci`.

    Returns
    -------
    Interval
        The difference in AUC (units of AUC, in [-1, 1]) and its percentile interval.
    """
    y, a = _labels_scores(y_true, scores_a)
    _, b = _labels_scores(y_true, scores_b)
    percentiles = _percentiles(level)
    index = stratified_bootstrap_indices(y, n_boot, seed)
    values = _bootstrap_aucs(y, a, index) - _bootstrap_aucs(y, b, index)
    low, high = np.percentile(values, percentiles)
    return Interval(auc(y, a) - auc(y, b), float(low), float(high), float(level), int(n_boot))


def paired_difference_interval(y_true, scores_a, scores_b, statistic, n_boot=1000, level=0.95, seed=0):
    """``statistic(y, a) - statistic(y, b)`` on the same images, with a *paired* bootstrap interval.

    The general form of :func:`auc_difference_interval`, for any figure of labels and scores
    (e.g. :func:`medlab.metrics.expected_calibration_error` or the Brier score): each
    stratified resample (:func:`stratified_bootstrap_indices`) scores both on the same images.
    The interval covers the sampling of the *images* only: two fixed models, not two methods
    over training seeds.

    Parameters
    ----------
    y_true : array_like (N,) of 0/1
    scores_a, scores_b : array_like (N,) of float
    statistic : callable (y, p) -> float
    n_boot, level, seed
        As in :func:`bootstrap_ci`.

    Returns
    -------
    Interval
        The difference, in the statistic's units, and its percentile interval.

    >>> y, a = [0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]
    >>> brier = lambda y, p: float(np.mean((np.asarray(p) - y) ** 2))
    >>> round(paired_difference_interval(y, a, a, brier, n_boot=20).high, 12)
    0.0
    """
    if not callable(statistic):
        raise validate.ArgumentError(f"statistic: expected a function (y, p) -> float, got {type(statistic).__name__}")
    y, a = _labels_scores(y_true, scores_a)
    _, b = _labels_scores(y_true, scores_b)
    percentiles = _percentiles(level)
    values = np.array([statistic(y[i], a[i]) - statistic(y[i], b[i])
                       for i in stratified_bootstrap_indices(y, n_boot, seed)])
    if not np.all(np.isfinite(values)):
        raise ValueError(f"statistic: {int(np.sum(~np.isfinite(values)))} of {n_boot} resamples gave no finite "
                         "value: expected a figure defined on every stratified resample")
    low, high = np.percentile(values, percentiles)
    return Interval(float(statistic(y, a) - statistic(y, b)), float(low), float(high), float(level), int(n_boot))


__all__ = ["Interval", "auc_difference_interval", "auc_interval", "bootstrap_ci", "clinical_intervals",
           "paired_difference_interval", "stratified_bootstrap_indices"]
