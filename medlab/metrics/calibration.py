"""Calibration (lesson 08): do the probabilities mean what they say?

Brier score, reliability-diagram bins and the expected calibration error, and temperature
scaling (one number fitted on validation that leaves the ranking alone), and Platt (logistic)
recalibration (a slope and an intercept on the log-odds, which can also move every
probability up or down).
"""

from __future__ import annotations

import numpy as np

from medlab import validate
from medlab.metrics._inputs import EPS, _both_classes, _labels_scores
from medlab.metrics.classification import _cross_entropy


def brier_score(y_true, scores):
    """Mean squared difference between the probability and the outcome, ``mean((p - y)**2)``.

    0 is perfect; always answering the prevalence :math:`\\pi` scores :math:`\\pi(1 - \\pi)`.
    The same as ``sklearn.metrics.brier_score_loss``.
    """
    y, p = _labels_scores(y_true, scores)
    return float(np.mean((p - y) ** 2))


def calibration_bins(y_true, scores, n_bins=10):
    """Reliability-diagram table: per equal-width probability bin, mean score and outcome.

    Parameters
    ----------
    y_true : array_like (N,) of 0/1
    scores : array_like (N,) of probabilities in [0, 1]
    n_bins : int
        Bins ``[0, 1/n), [1/n, 2/n), ..., [(n-1)/n, 1]``.

    Returns
    -------
    dict of str -> array (n_bins,)
        ``confidence`` (mean score in the bin), ``frequency`` (fraction positive in the bin)
        and ``count``; empty bins have NaN means and count 0. A calibrated model has
        frequency = confidence in every bin.
    """
    y, p = _labels_scores(y_true, scores)
    validate.values("scores", p, 0, 1)  # probabilities
    n_bins = validate.integer("n_bins", n_bins, low=1)
    index = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    count = np.bincount(index, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.bincount(index, weights=p, minlength=n_bins) / count
        frequency = np.bincount(index, weights=y, minlength=n_bins) / count
    return {"confidence": confidence, "frequency": frequency, "count": count}


def expected_calibration_error(y_true, scores, n_bins=10):
    """ECE: the count-weighted mean of |frequency - confidence| over the bins.

    :math:`\\mathrm{ECE} = \\sum_b \\frac{n_b}{N} |\\bar y_b - \\bar p_b|` with the bins of
    :func:`calibration_bins` (equal width; for a binary classifier, confidence is the
    probability of class 1). 0 for a calibrated model.
    """
    return ece_from_bins(calibration_bins(y_true, scores, n_bins))


def ece_from_bins(table):
    """ECE from a table of :func:`calibration_bins` (for a caller that already has one)."""
    used = table["count"] > 0
    gaps = np.abs(table["frequency"][used] - table["confidence"][used])
    return float(np.sum(table["count"][used] * gaps) / np.sum(table["count"]))


def logit(p):
    """log(p / (1 - p)), with p clipped to [1e-7, 1 - 1e-7] (float32 sigmoids saturate)."""
    p = np.clip(np.asarray(p, dtype=np.float64), EPS, 1 - EPS)
    return np.log(p) - np.log1p(-p)


def apply_temperature(scores, temperature):
    """Temperature-scaled probabilities: ``sigmoid(logit(p) / T)``.

    T > 1 pulls over-confident probabilities towards 0.5, T < 1 pushes them out; T = 1
    changes nothing. The ranking (so the ROC curve and AUC) never changes.
    """
    temperature = validate.number("temperature", temperature, 0, low_open=True)
    return 1.0 / (1.0 + np.exp(-logit(scores) / temperature))


def fit_temperature(y_val, p_val, bounds=(0.05, 20.0)):
    """The temperature T that minimises the cross-entropy of :func:`apply_temperature` on validation.

    Temperature scaling (Guo et al., ICML 2017) fits one number on the validation split and
    leaves the ranking alone; fit it on validation, judge it on test.

    Parameters
    ----------
    y_val, p_val : array_like (N,)
        Validation labels and probabilities.
    bounds : (float, float)
        Search range of T (searched on log T, ``scipy.optimize.minimize_scalar``).

    Returns
    -------
    float
    """
    from scipy.optimize import minimize_scalar

    y, p = _labels_scores(y_val, p_val)
    _both_classes(y, "fitting a temperature")
    z = logit(p)

    def loss(log_t):
        return _cross_entropy(y, 1.0 / (1.0 + np.exp(-z / np.exp(log_t))))

    result = minimize_scalar(loss, bounds=np.log(bounds), method="bounded",
                             options={"xatol": 1e-6})
    return float(np.exp(result.x))


def platt_fit(y_val, p_val, max_iter=100):
    """Platt (logistic) recalibration: the slope a and intercept b of ``sigmoid(a logit(p) + b)``.

    A logistic regression of the outcome on the log-odds, fitted by damped Newton steps (each
    halved until the likelihood rises) to the maximum likelihood (no penalty) on the validation split (Platt 1999; Cox 1958's
    calibration slope and intercept). Temperature scaling is the special case b = 0,
    a = 1 / T; the intercept b moves every log-odds by the same amount, which is what a
    one-sided error (all probabilities too low, or all too high) needs.

    Parameters
    ----------
    y_val, p_val : array_like (N,)
        Validation labels (0/1) and probabilities in [0, 1]; both classes present.
    max_iter : int
        Newton steps at most (it usually converges in under 10).

    Returns
    -------
    (float, float)
        The slope a (dimensionless; 1 keeps the spread) and the intercept b (log-odds).

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(size=20000)
    >>> y = (rng.random(20000) < 1 / (1 + np.exp(-(2.0 * z - 1.0)))).astype(int)
    >>> a, b = platt_fit(y, 1 / (1 + np.exp(-z)))
    >>> round(a, 1), round(b, 1)
    (2.0, -1.0)
    """
    y, p = _labels_scores(y_val, p_val)
    validate.values("p_val", p, 0, 1)
    _both_classes(y, "fitting Platt recalibration")
    max_iter = validate.integer("max_iter", max_iter, low=1)
    design = np.column_stack([logit(p), np.ones_like(p)])

    def loss(w):  # mean negative log-likelihood, computed stably from the log-odds
        z = design @ w
        return float(np.mean(np.logaddexp(0.0, z) - y * z))

    w = np.array([1.0, 0.0])
    current = loss(w)
    for _ in range(max_iter):
        q = 1.0 / (1.0 + np.exp(-design @ w))
        gradient = design.T @ (q - y) / len(y)
        hessian = (design * (q * (1 - q))[:, None]).T @ design / len(y) + 1e-9 * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        scale = 1.0
        while scale > 1e-6 and loss(w - scale * step) > current:  # damped Newton: never uphill
            scale /= 2
        w, previous, current = w - scale * step, current, loss(w - scale * step)
        if previous - current < 1e-12:
            break
    if w[0] <= 0:
        raise validate.ArgumentError(
            f"p_val ranks the classes the wrong way round (fitted slope {w[0]:.3g} <= 0): "
            "recalibration keeps a ranking, it cannot reverse one; check the labels")
    return float(w[0]), float(w[1])


def platt_apply(scores, slope, intercept):
    """Recalibrated probabilities ``sigmoid(slope * logit(p) + intercept)`` (see :func:`platt_fit`).

    A positive slope keeps the ranking, so the ROC curve and AUC do not change.

    >>> platt_apply([0.5], 1.0, 0.0).round(3).tolist(), platt_apply([0.5], 2.0, 1.0).round(3).tolist()
    ([0.5], [0.731])
    """
    slope = validate.number("slope", slope, 0, low_open=True)
    intercept = validate.number("intercept", intercept)
    scores = validate.values("scores", scores, 0, 1)
    return 1.0 / (1.0 + np.exp(-(slope * logit(scores) + intercept)))


__all__ = ["apply_temperature", "brier_score", "calibration_bins", "ece_from_bins",
           "expected_calibration_error", "fit_temperature", "logit", "platt_apply", "platt_fit"]
