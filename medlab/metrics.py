"""What a clinician asks of a classifier: ROC and AUC, sensitivity and specificity at a
threshold, the confusion matrix, and what prevalence does to accuracy, PPV and NPV.

ROC, AUC and the confusion matrix come from scikit-learn; this module adds the clinical
vocabulary around them. Labels are 0 (normal, negative) and 1 (pneumonia, positive);
scores are the model's probabilities of class 1. An image is called positive when its
score is ``>= threshold`` (the convention of ``sklearn.metrics.roc_curve``); a threshold is a
number in [0, 1] (nan, inf and anything outside are refused).

The threshold is chosen on the validation split (:func:`choose_threshold`), never on the
test split: a threshold tuned on the test images makes the test figures optimistic.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from sklearn.metrics import confusion_matrix as _sk_confusion_matrix
from sklearn.metrics import roc_auc_score, roc_curve

from medlab import validate

THRESHOLD_RULES = ("youden", "sensitivity", "specificity")


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


def roc(y_true, scores):
    """ROC curve: false-positive rate, true-positive rate and the threshold of each point.

    Parameters
    ----------
    y_true : array_like (N,) of 0/1
    scores : array_like (N,) of float

    Returns
    -------
    fpr, tpr, thresholds : float arrays (M,)
        ``sklearn.metrics.roc_curve``; the first point is (0, 0) at threshold ``inf``.
    """
    y, p = _labels_scores(y_true, scores)
    _both_classes(y, "an ROC curve")
    return roc_curve(y, p)


def auc(y_true, scores):
    """Area under the ROC curve (``sklearn.metrics.roc_auc_score``).

    The probability that a random positive image scores higher than a random negative one:
    0.5 is guessing, 1.0 perfect ranking. It does not depend on a threshold or on prevalence.
    """
    y, p = _labels_scores(y_true, scores)
    _both_classes(y, "AUC")
    return float(roc_auc_score(y, p))


def confusion(y_true, scores, threshold=0.5):
    """2 x 2 confusion matrix ``[[TN, FP], [FN, TP]]`` at ``threshold`` (rows: truth).

    Returns
    -------
    int array (2, 2)
    """
    threshold = validate.number("threshold", threshold, 0.0, 1.0)
    y, p = _labels_scores(y_true, scores)
    return _sk_confusion_matrix(y, (p >= threshold).astype(np.int64), labels=[0, 1])


def _ratio(numerator, denominator):
    return float(numerator / denominator) if denominator else float("nan")


@dataclass(frozen=True)
class BinaryMetrics:
    """Counts and rates of a binary classifier at one threshold.

    Attributes
    ----------
    threshold : float
    tp, fp, tn, fn : int
    sensitivity : float
        TP / (TP + FN): the fraction of sick patients found (recall, true-positive rate).
    specificity : float
        TN / (TN + FP): the fraction of healthy patients cleared.
    accuracy : float
        (TP + TN) / N.
    ppv : float
        TP / (TP + FP): of the positive calls, the fraction truly sick (precision).
    npv : float
        TN / (TN + FN): of the negative calls, the fraction truly healthy.
    prevalence : float
        (TP + FN) / N: the fraction of sick patients in this data.
    n : int

    A rate whose denominator is 0 is NaN.
    """

    threshold: float
    tp: int
    fp: int
    tn: int
    fn: int
    sensitivity: float
    specificity: float
    accuracy: float
    ppv: float
    npv: float
    prevalence: float
    n: int

    def as_dict(self):
        return asdict(self)

    def text(self, digits=2):
        """One line of rounded rates and the counts, stable enough for a notebook."""
        r = lambda v: f"{v:.{digits}f}"  # noqa: E731
        return (f"threshold {r(self.threshold)}: sensitivity {r(self.sensitivity)}, "
                f"specificity {r(self.specificity)}, accuracy {r(self.accuracy)}, "
                f"PPV {r(self.ppv)}, NPV {r(self.npv)}")


def binary_metrics(y_true, scores, threshold=0.5):
    """Sensitivity, specificity, accuracy, PPV, NPV and the counts at ``threshold``.

    Parameters
    ----------
    y_true : array_like (N,) of 0/1
    scores : array_like (N,) of float
        Probabilities of class 1; ``score >= threshold`` is a positive call.
    threshold : float in [0, 1]

    Returns
    -------
    BinaryMetrics
    """
    threshold = validate.number("threshold", threshold, 0.0, 1.0)
    y, p = _labels_scores(y_true, scores)
    (tn, fp), (fn, tp) = confusion(y, p, threshold)
    n = int(y.size)
    return BinaryMetrics(
        threshold=float(threshold), tp=int(tp), fp=int(fp), tn=int(tn), fn=int(fn),
        sensitivity=_ratio(tp, tp + fn), specificity=_ratio(tn, tn + fp),
        accuracy=_ratio(tp + tn, n), ppv=_ratio(tp, tp + fp), npv=_ratio(tn, tn + fn),
        prevalence=_ratio(tp + fn, n), n=n,
    )


def choose_threshold(y_val, p_val, rule="youden", target=None):
    """Choose a decision threshold on the validation split.

    Parameters
    ----------
    y_val : array_like (N,) of 0/1
        Validation labels (never the test split's).
    p_val : array_like (N,) of float
        The model's validation scores.
    rule : {"youden", "sensitivity", "specificity"}
        ``"youden"``: maximise Youden's J = sensitivity + specificity - 1 (ties: the higher
        threshold). ``"sensitivity"``: the highest threshold whose sensitivity is at least
        ``target`` (the best specificity that keeps ``target`` of the sick patients found,
        as for a screening test). ``"specificity"``: the lowest threshold whose specificity
        is at least ``target``.
    target : float in (0, 1], optional
        Required for the ``"sensitivity"`` and ``"specificity"`` rules.

    Returns
    -------
    float
        A threshold; one of the validation scores (an ROC point), so that ``p >= threshold``
        reproduces that point on the validation split.
    """
    y, p = _labels_scores(y_val, p_val)
    _both_classes(y, "choosing a threshold")
    if rule not in THRESHOLD_RULES:
        raise ValueError(f"rule must be one of {', '.join(THRESHOLD_RULES)}; got {rule!r}")
    if rule == "youden":
        if target is not None:
            raise ValueError("the 'youden' rule takes no target")
    elif target is None:
        raise ValueError(f"rule {rule!r} needs a target in (0, 1], got None")
    else:
        target = validate.number("target", target, 0.0, 1.0, low_open=True)
    fpr, tpr, thresholds = roc_curve(y, p, drop_intermediate=False)
    finite = np.isfinite(thresholds)  # the first point (threshold inf) calls no one positive
    fpr, tpr, thresholds = fpr[finite], tpr[finite], thresholds[finite]
    if rule == "youden":
        index = int(np.argmax(tpr - fpr))  # thresholds decrease: the first maximum is the highest
    elif rule == "sensitivity":
        index = int(np.argmax(tpr >= float(target) - 1e-12))  # first (highest) threshold reaching it
    else:
        ok = np.flatnonzero(1.0 - fpr >= float(target) - 1e-12)
        if ok.size == 0:
            raise ValueError(f"no threshold reaches specificity {target}")
        index = int(ok[-1])  # lowest threshold still reaching it
    return float(thresholds[index])


def at_prevalence(sensitivity, specificity, prevalence):
    """Accuracy, PPV and NPV of a test with fixed sensitivity and specificity at a prevalence.

    Bayes' rule, with :math:`\\pi` the prevalence:

    - accuracy = sens * pi + spec * (1 - pi)
    - PPV = sens * pi / (sens * pi + (1 - spec) * (1 - pi))
    - NPV = spec * (1 - pi) / (spec * (1 - pi) + (1 - sens) * pi)

    Parameters
    ----------
    sensitivity, specificity : float in [0, 1]
    prevalence : float or array in [0, 1]

    Returns
    -------
    dict with float or array values: ``accuracy``, ``ppv``, ``npv``
        (NaN where a denominator is 0).
    """
    for name, value in (("sensitivity", sensitivity), ("specificity", specificity)):
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    pi = np.asarray(prevalence, dtype=np.float64)
    if np.any((pi < 0) | (pi > 1)) or not np.all(np.isfinite(pi)):
        raise ValueError("prevalence must be in [0, 1]")
    sens, spec = float(sensitivity), float(specificity)
    true_pos, false_pos = sens * pi, (1 - spec) * (1 - pi)
    true_neg, false_neg = spec * (1 - pi), (1 - sens) * pi
    with np.errstate(invalid="ignore", divide="ignore"):
        ppv = np.where(true_pos + false_pos > 0, true_pos / (true_pos + false_pos), np.nan)
        npv = np.where(true_neg + false_neg > 0, true_neg / (true_neg + false_neg), np.nan)
    out = {"accuracy": true_pos + true_neg, "ppv": ppv, "npv": npv}
    if pi.ndim == 0:
        out = {key: float(value) for key, value in out.items()}
    return out


__all__ = [
    "BinaryMetrics", "THRESHOLD_RULES", "at_prevalence", "auc", "binary_metrics",
    "choose_threshold", "confusion", "roc",
]


# ------------------------------------------- image quality and reconstruction (lesson 08)
def _image_pairs(reference, estimate):
    """Two arrays of images -> float64 (N, H, W[, C]) with N >= 1, checked alike."""
    # complex values are refused: a cast would drop their imaginary part
    a = validate.real_array("reference", reference, dtype_kinds="uifb").astype(np.float64, copy=False)
    b = validate.real_array("estimate", estimate, dtype_kinds="uifb").astype(np.float64, copy=False)
    if a.shape != b.shape:
        raise ValueError(f"reference has shape {a.shape} but estimate has shape {b.shape}")
    if a.ndim == 2:
        a, b = a[None], b[None]
    if a.ndim not in (3, 4) or a.shape[0] == 0:
        raise ValueError(f"expected one image (H, W) or images (N, H, W[, C]), got shape {a.shape}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("images must be finite")
    return a, b


def reconstruction_error(reference, estimate):
    """Mean squared error of each image: ``mean((x - x_hat)**2)`` over its pixels.

    Parameters
    ----------
    reference, estimate : arrays (N, H, W) or (N, H, W, C), or one image (H, W)

    Returns
    -------
    float64 array (N,)
        The anomaly score of lesson 08: large when the autoencoder cannot rebuild an image.
    """
    a, b = _image_pairs(reference, estimate)
    return np.mean((a - b) ** 2, axis=tuple(range(1, a.ndim)))


def psnr_per_image(reference, estimate, data_range=1.0):
    """Peak signal-to-noise ratio of each image, in dB: ``10 log10(data_range**2 / MSE)``.

    The same as ``skimage.metrics.peak_signal_noise_ratio(reference[i], estimate[i],
    data_range=data_range)``; +inf for a perfect copy.

    Returns
    -------
    float64 array (N,)
    """
    data_range = validate.number("data_range", data_range, 0, low_open=True)
    mse = reconstruction_error(reference, estimate)
    with np.errstate(divide="ignore"):  # in logs: data_range**2 overflows at 1e308
        return 20.0 * np.log10(data_range) - 10.0 * np.log10(mse)


def psnr(reference, estimate, data_range=1.0):
    """Mean over images of their PSNR (dB), the usual figure of a denoiser.

    Parameters
    ----------
    reference : array (N, H, W[, C]) or (H, W)
        Clean images.
    estimate : array, the same shape
        Noisy or denoised images.
    data_range : float > 0
        Brightness range of the images: 1.0 for images in [0, 1] (255 for uint8).

    Returns
    -------
    float
        Higher is better; +3 dB halves the mean squared error, +10 dB divides it by 10.
    """
    return float(np.mean(psnr_per_image(reference, estimate, data_range)))


def ssim_per_image(reference, estimate, data_range=1.0):
    """Structural similarity of each image (``skimage.metrics.structural_similarity``).

    Compares local means, contrasts and correlations in 7 x 7 windows (scikit-image's
    defaults) rather than pixel errors: 1 for identical images, near 0 for unrelated ones.
    Images need H and W of at least 7. Channels (a last axis C > 1) are averaged.

    Returns
    -------
    float64 array (N,)
    """
    from skimage.metrics import structural_similarity

    data_range = validate.number("data_range", data_range, 0, low_open=True)
    a, b = _image_pairs(reference, estimate)
    if a.ndim == 4 and a.shape[-1] == 1:
        a, b = a[..., 0], b[..., 0]
    if min(a.shape[1:3]) < 7:
        raise ValueError(f"SSIM needs images of at least 7 x 7 pixels, got {a.shape[1:3]}")
    channel_axis = -1 if a.ndim == 4 else None
    return np.array([structural_similarity(x, y, data_range=data_range,
                                           channel_axis=channel_axis) for x, y in zip(a, b)])


def ssim(reference, estimate, data_range=1.0):
    """Mean over images of their SSIM (see :func:`ssim_per_image`)."""
    return float(np.mean(ssim_per_image(reference, estimate, data_range)))


__all__ += ["psnr", "psnr_per_image", "reconstruction_error", "ssim", "ssim_per_image"]


# ------------------------------------------- uncertainty, calibration, imbalance (lesson 07)
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
    y = np.asarray(y_true).reshape(-1)
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("y_true must hold only 0 (negative) and 1 (positive)")
    _both_classes(y.astype(np.int64), "a stratified bootstrap")
    n_boot = validate.integer("n_boot", n_boot, low=1)
    rng = np.random.default_rng(seed)
    parts = []
    for c in (0, 1):
        members = np.flatnonzero(y == c)
        parts.append(members[rng.integers(0, len(members), size=(int(n_boot), len(members)))])
    return np.concatenate(parts, axis=1)


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
    if not 0.0 < float(level) < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    values = np.array([statistic(y[i], p[i]) for i in stratified_bootstrap_indices(y, n_boot, seed)])
    tail = 100 * (1 - float(level)) / 2
    low, high = np.nanpercentile(values, [tail, 100 - tail])
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
    if not 0.0 < float(level) < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
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
    tail = 100 * (1 - float(level)) / 2
    out = {}
    for name, v in values.items():
        low, high = np.percentile(v, [tail, 100 - tail])
        out[name] = Interval(float(estimates[name]), float(low), float(high), float(level), int(n_boot))
    return out


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
    if np.any((p < 0) | (p > 1)):
        raise ValueError("scores must be probabilities in [0, 1]")
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


_EPS = 1e-7


def logit(p):
    """log(p / (1 - p)), with p clipped to [1e-7, 1 - 1e-7] (float32 sigmoids saturate)."""
    p = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return np.log(p) - np.log1p(-p)


def apply_temperature(scores, temperature):
    """Temperature-scaled probabilities: ``sigmoid(logit(p) / T)``.

    T > 1 pulls over-confident probabilities towards 0.5, T < 1 pushes them out; T = 1
    changes nothing. The ranking (so the ROC curve and AUC) never changes.
    """
    temperature = float(temperature)
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    return 1.0 / (1.0 + np.exp(-logit(scores) / temperature))


def log_loss(y_true, scores):
    """Mean binary cross-entropy (natural log), probabilities clipped to [1e-7, 1 - 1e-7].

    ``y_true`` holds 0 and 1, ``scores`` probabilities in [0, 1]: anything else is refused
    (a score of 3 is no probability, and clipping it would hide the mistake).
    """
    validate.values("scores", scores, 0, 1)
    y, p = _labels_scores(y_true, scores)
    p = np.clip(p, _EPS, 1 - _EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


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
        q = np.clip(1.0 / (1.0 + np.exp(-z / np.exp(log_t))), _EPS, 1 - _EPS)
        return -np.mean(y * np.log(q) + (1 - y) * np.log1p(-q))

    result = minimize_scalar(loss, bounds=np.log(bounds), method="bounded",
                             options={"xatol": 1e-6})
    return float(np.exp(result.x))


def precision_recall(y_true, scores):
    """Precision-recall curve (``sklearn.metrics.precision_recall_curve``).

    Returns
    -------
    precision, recall, thresholds : arrays
        Recall is the sensitivity, precision the PPV at each threshold.
    """
    from sklearn.metrics import precision_recall_curve

    y, p = _labels_scores(y_true, scores)
    _both_classes(y, "a precision-recall curve")
    return precision_recall_curve(y, p)


def average_precision(y_true, scores):
    """Area under the precision-recall curve as a step sum (``sklearn.metrics.average_precision_score``).

    Unlike the AUC it depends on the prevalence: a random ranking scores about the
    prevalence, not 0.5.
    """
    from sklearn.metrics import average_precision_score

    y, p = _labels_scores(y_true, scores)
    _both_classes(y, "average precision")
    return float(average_precision_score(y, p))


def multiclass_auc(y_true, probabilities):
    """AUC as MedMNIST reports it: binary AUC for 2 classes, else the one-vs-rest mean.

    Parameters
    ----------
    y_true : array_like (N,) of ints in [0, K)
    probabilities : array (N,) of class-1 probabilities, or (N, K) of class probabilities

    Returns
    -------
    float
        With (N, K): the mean over classes k of AUC(y == k, probabilities[:, k]) (classes absent
        from ``y_true`` are skipped). With K = 2 the AUC of column 1.
    """
    y = np.asarray(y_true).reshape(-1).astype(np.int64)
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim == 1 or (p.ndim == 2 and p.shape[1] == 1):
        return auc(y, p.reshape(-1))
    if p.ndim != 2 or p.shape[0] != y.size:
        raise ValueError(f"probabilities must have shape (N, K) with N = {y.size}, got {p.shape}")
    if y.min() < 0 or y.max() >= p.shape[1]:
        raise ValueError(f"labels must be in [0, {p.shape[1]}), found {y.min()}..{y.max()}")
    if p.shape[1] == 2:
        return auc(y, p[:, 1])
    aucs = [roc_auc_score(y == k, p[:, k]) for k in range(p.shape[1]) if 0 < np.sum(y == k) < y.size]
    if not aucs:
        raise ValueError("multiclass AUC needs at least two classes in y_true")
    return float(np.mean(aucs))


__all__ += [
    "Interval", "apply_temperature", "average_precision", "bootstrap_ci", "brier_score",
    "calibration_bins", "clinical_intervals", "ece_from_bins", "expected_calibration_error", "fit_temperature",
    "log_loss", "logit", "multiclass_auc", "precision_recall", "stratified_bootstrap_indices",
]


# ------------------------------------------- ROC-AUC interval, all resamples at once (lesson 08)
def auc_interval(y_true, scores, n_boot=1000, level=0.95, seed=0):
    """``bootstrap_ci(y_true, scores, auc, n_boot, level, seed)``, computed in one matrix product.

    The same stratified resamples and percentiles as :func:`bootstrap_ci`, so the same
    :class:`Interval`; fast enough for a notebook that compares many scores.
    """
    y, p = _labels_scores(y_true, scores)
    if not 0.0 < float(level) < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    values = _bootstrap_aucs(y, p, stratified_bootstrap_indices(y, n_boot, seed))
    tail = 100 * (1 - float(level)) / 2
    low, high = np.nanpercentile(values, [tail, 100 - tail])
    return Interval(auc(y, p), float(low), float(high), float(level), int(n_boot))


__all__ += ["auc_interval"]


# ------------------------------------------------------------ segmentation (lesson 09)
def _mask_pairs(reference, estimate):
    """Two masks or batches of masks -> bool (N, P), checked alike (0/1 or bool values)."""
    a, b = np.asarray(reference), np.asarray(estimate)
    if a.shape != b.shape:
        raise ValueError(f"reference has shape {a.shape} but estimate has shape {b.shape}")
    if a.ndim == 2:
        a, b = a[None], b[None]
    if a.ndim not in (3, 4) or a.size == 0:
        raise ValueError(f"expected one mask (H, W) or masks (N, H, W[, 1]), got shape {a.shape}")
    for name, m in (("reference", a), ("estimate", b)):
        if m.dtype != bool and not np.all((m == 0) | (m == 1)):
            raise ValueError(f"{name} must be a binary mask (bool, or only 0 and 1); threshold "
                             "probabilities first (medlab.segmentation.threshold_masks)")
    return a.reshape(len(a), -1).astype(bool), b.reshape(len(b), -1).astype(bool)


def dice_per_image(reference, estimate):
    """Dice coefficient of each mask pair: 2 |A ∩ B| / (|A| + |B|), in [0, 1].

    Parameters
    ----------
    reference, estimate : arrays (N, H, W) or (N, H, W, 1) of 0/1 or bool, or one mask (H, W)

    Returns
    -------
    float64 array (N,)
        Equal to ``sklearn.metrics.f1_score(reference[i].ravel(), estimate[i].ravel())``. Two
        empty masks agree perfectly: Dice 1 (sklearn's ``zero_division=1.0``).
    """
    a, b = _mask_pairs(reference, estimate)
    overlap = np.sum(a & b, axis=1)
    total = a.sum(axis=1) + b.sum(axis=1)
    return np.where(total == 0, 1.0, 2.0 * overlap / np.maximum(total, 1))


def iou_per_image(reference, estimate):
    """Intersection over union (Jaccard index) of each mask pair: |A ∩ B| / |A ∪ B|.

    Equal to ``sklearn.metrics.jaccard_score`` on the flattened masks, and to
    Dice / (2 - Dice). Two empty masks: 1.

    Returns
    -------
    float64 array (N,)
    """
    a, b = _mask_pairs(reference, estimate)
    overlap = np.sum(a & b, axis=1)
    union = np.sum(a | b, axis=1)
    return np.where(union == 0, 1.0, overlap / np.maximum(union, 1))


def dice(reference, estimate):
    """Mean over images of :func:`dice_per_image` (each image counts once, whatever its size)."""
    return float(np.mean(dice_per_image(reference, estimate)))


def iou(reference, estimate):
    """Mean over images of :func:`iou_per_image`."""
    return float(np.mean(iou_per_image(reference, estimate)))


def ellipse_fit(mask):
    """The ellipse with the same second moments as the largest region of a mask.

    ``skimage.measure.regionprops`` of the largest connected component (a prediction may hold
    small stray blobs): for a filled ellipse the moments give its axes exactly, up to the
    pixel grid.

    Parameters
    ----------
    mask : array (H, W) of 0/1 or bool

    Returns
    -------
    tuple (row, col, a, b, angle)
        Centre in pixels, semi-axes a >= b in pixels, orientation in radians (skimage's).
        An empty mask gives ``(nan, nan, 0.0, 0.0, 0.0)``: circumference 0.
    """
    from skimage import measure

    m = np.asarray(mask)
    if m.ndim == 3 and m.shape[-1] == 1:
        m = m[..., 0]
    if m.ndim != 2:
        raise ValueError(f"mask must be one mask (H, W), got shape {m.shape}")
    if m.dtype != bool and not np.all((m == 0) | (m == 1)):
        raise ValueError("mask must be binary (bool, or only 0 and 1)")
    labels = measure.label(m.astype(bool), connectivity=2)
    regions = measure.regionprops(labels)
    if not regions:
        return (float("nan"), float("nan"), 0.0, 0.0, 0.0)
    region = max(regions, key=lambda r: r.area)
    row, col = region.centroid
    return (float(row), float(col), region.axis_major_length / 2, region.axis_minor_length / 2,
            float(region.orientation))


def ellipse_circumference(a, b):
    """Circumference of an ellipse of semi-axes a and b, by Ramanujan's approximation.

    C ≈ π [3 (a + b) - sqrt((3a + b)(a + 3b))]; exact for a circle (2πa), relative error
    below 5e-5 for axes ratios up to 3 : 1 (fetal heads are about 1.3 : 1) and 0.4 % for a
    flat segment (b = 0).

    Parameters
    ----------
    a, b : float or array, same unit (pixels or mm), finite and >= 0

    Returns
    -------
    float or array, in the unit of a and b
    """
    a = validate.values("semi-axis a", a, 0, dtype_kinds="uif")
    b = validate.values("semi-axis b", b, 0, dtype_kinds="uif")
    c = np.pi * (3 * (a + b) - np.sqrt((3 * a + b) * (a + 3 * b)))
    return float(c) if c.ndim == 0 else c


def mask_circumference_mm(masks, pixel_size_mm):
    """Head circumference of each mask in mm: the fitted ellipse's circumference x pixel size.

    Parameters
    ----------
    masks : array (N, H, W) or (N, H, W, 1) of 0/1 or bool
    pixel_size_mm : float or array (N,)
        Side of one pixel in mm: finite and > 0 (its values are checked before its shape).

    Returns
    -------
    float64 array (N,), in mm
    """
    size = validate.values("pixel_size_mm", pixel_size_mm, 0, low_open=True, dtype_kinds="uif")
    m = np.asarray(masks)
    if m.ndim == 4 and m.shape[-1] == 1:
        m = m[..., 0]
    if m.ndim != 3:
        raise ValueError(f"masks must be (N, H, W), got shape {m.shape}")
    if size.ndim > 1 or (size.ndim == 1 and len(size) != len(m)):
        raise ValueError(f"pixel_size_mm has shape {size.shape}: expected one size, or one per mask: "
                         f"({len(m)},)")
    size = np.broadcast_to(size, (len(m),))
    pixels = np.array([ellipse_circumference(*ellipse_fit(one)[2:4]) for one in m])
    return pixels * size


def mean_absolute_difference(reference, estimate):
    """Mean of |estimate - reference|, in the unit of the inputs (e.g. mm)."""
    a = np.asarray(reference, dtype=np.float64).reshape(-1)
    b = np.asarray(estimate, dtype=np.float64).reshape(-1)
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"reference and estimate need the same, non-zero length: {a.size}, {b.size}")
    return float(np.mean(np.abs(b - a)))


def bland_altman(reference, estimate):
    """Bias and 95 % limits of agreement of two measurements of the same things.

    Returns
    -------
    dict
        ``mean`` (N,) = (reference + estimate) / 2, ``difference`` (N,) = estimate - reference,
        ``bias`` = mean difference, ``sd`` its standard deviation (ddof 1), ``lower`` and
        ``upper`` = bias -/+ 1.96 sd (Bland & Altman, Lancet 1986).
    """
    a = np.asarray(reference, dtype=np.float64).reshape(-1)
    b = np.asarray(estimate, dtype=np.float64).reshape(-1)
    if a.shape != b.shape or a.size < 2:
        raise ValueError(f"reference and estimate need the same length >= 2: {a.size}, {b.size}")
    difference = b - a
    bias, sd = float(difference.mean()), float(difference.std(ddof=1))
    return {"mean": (a + b) / 2, "difference": difference, "bias": bias, "sd": sd,
            "lower": bias - 1.96 * sd, "upper": bias + 1.96 * sd}


__all__ += [
    "bland_altman", "dice", "dice_per_image", "ellipse_circumference", "ellipse_fit", "iou",
    "iou_per_image", "mask_circumference_mm", "mean_absolute_difference",
]


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
    if not 0.0 < float(level) < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    index = stratified_bootstrap_indices(y, n_boot, seed)
    values = _bootstrap_aucs(y, a, index) - _bootstrap_aucs(y, b, index)
    tail = 100 * (1 - float(level)) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return Interval(auc(y, a) - auc(y, b), float(low), float(high), float(level), int(n_boot))


__all__ += ["auc_difference_interval"]
