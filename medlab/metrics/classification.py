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

from medlab import validate
from medlab.metrics._inputs import EPS, _both_classes, _labels_scores

THRESHOLD_RULES = ("youden", "sensitivity", "specificity", "accuracy")


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
    from sklearn.metrics import roc_curve

    y, p = _labels_scores(y_true, scores)
    _both_classes(y, "an ROC curve")
    return roc_curve(y, p)


def auc(y_true, scores):
    """Area under the ROC curve (``sklearn.metrics.roc_auc_score``).

    The probability that a random positive image scores higher than a random negative one:
    0.5 is guessing, 1.0 perfect ranking. It does not depend on a threshold or on prevalence.
    """
    from sklearn.metrics import roc_auc_score

    y, p = _labels_scores(y_true, scores)
    _both_classes(y, "AUC")
    return float(roc_auc_score(y, p))


def confusion(y_true, scores, threshold=0.5):
    """2 x 2 confusion matrix ``[[TN, FP], [FN, TP]]`` at ``threshold`` (rows: truth).

    Returns
    -------
    int array (2, 2)
    """
    from sklearn.metrics import confusion_matrix

    threshold = validate.number("threshold", threshold, 0.0, 1.0)
    y, p = _labels_scores(y_true, scores)
    return confusion_matrix(y, (p >= threshold).astype(np.int64), labels=[0, 1])


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
    rule : {"youden", "sensitivity", "specificity", "accuracy"}
        ``"youden"``: maximise Youden's J = sensitivity + specificity - 1 (ties: the higher
        threshold). ``"accuracy"``: maximise the accuracy on these labels (ties: the higher
        threshold); it weighs each class by its share of ``y_val``, Youden's J by one half
        each. ``"sensitivity"``: the highest threshold whose sensitivity is at least
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
    from sklearn.metrics import roc_curve

    y, p = _labels_scores(y_val, p_val)
    _both_classes(y, "choosing a threshold")
    rule = validate.choice("rule", rule, THRESHOLD_RULES)
    if rule in ("youden", "accuracy"):
        if target is not None:
            raise ValueError(f"the {rule!r} rule takes no target")
    elif target is None:
        raise ValueError(f"rule {rule!r} needs a target in (0, 1], got None")
    else:
        target = validate.number("target", target, 0.0, 1.0, low_open=True)
    fpr, tpr, thresholds = roc_curve(y, p, drop_intermediate=False)
    finite = np.isfinite(thresholds)  # the first point (threshold inf) calls no one positive
    fpr, tpr, thresholds = fpr[finite], tpr[finite], thresholds[finite]
    if rule == "youden":
        index = int(np.argmax(tpr - fpr))  # thresholds decrease: the first maximum is the highest
    elif rule == "accuracy":
        positives = int(np.sum(y == 1))  # correct calls counted in whole numbers, so ties go to the highest
        index = int(np.argmax(np.rint(tpr * positives) + np.rint((1.0 - fpr) * (y.size - positives))))
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
    sens = validate.number("sensitivity", sensitivity, 0.0, 1.0)
    spec = validate.number("specificity", specificity, 0.0, 1.0)
    pi = validate.values("prevalence", prevalence, 0.0, 1.0)
    true_pos, false_pos = sens * pi, (1 - spec) * (1 - pi)
    true_neg, false_neg = spec * (1 - pi), (1 - sens) * pi
    with np.errstate(invalid="ignore", divide="ignore"):
        ppv = np.where(true_pos + false_pos > 0, true_pos / (true_pos + false_pos), np.nan)
        npv = np.where(true_neg + false_neg > 0, true_neg / (true_neg + false_neg), np.nan)
    out = {"accuracy": true_pos + true_neg, "ppv": ppv, "npv": npv}
    if pi.ndim == 0:
        out = {key: float(value) for key, value in out.items()}
    return out


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
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y_true).reshape(-1).astype(np.int64)
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim == 1 or (p.ndim == 2 and p.shape[1] == 1):
        return auc(y, p.reshape(-1))
    if p.ndim != 2 or p.shape[0] != y.size:
        raise ValueError(f"probabilities must have shape (N, K) with N = {y.size}, got {p.shape}")
    validate.values("labels", y, 0, p.shape[1] - 1)
    if p.shape[1] == 2:
        return auc(y, p[:, 1])
    aucs = [roc_auc_score(y == k, p[:, k]) for k in range(p.shape[1]) if 0 < np.sum(y == k) < y.size]
    if not aucs:
        raise ValueError("multiclass AUC needs at least two classes in y_true")
    return float(np.mean(aucs))


def binary_cross_entropy(y_true, scores, from_logits=False):
    """Mean binary cross-entropy in nats: ``mean(-y log p - (1 - y) log(1 - p))``.

    The loss of a sigmoid output (Keras' ``binary_crossentropy``), and scikit-learn's
    ``log_loss`` for 0/1 labels.

    Parameters
    ----------
    y_true : array_like (N,) of 0/1 (or soft targets in [0, 1]; anything else is refused)
    scores : array_like (N,)
        Probabilities p in [0, 1] (a score of 3 is no probability, and clipping it would hide
        the mistake); clipped to [1e-7, 1 - 1e-7] so that a confident mistake costs a large
        but finite loss. With ``from_logits=True``: the logits z before the sigmoid, as float32.
    from_logits : bool
        Compute from z without overflow (lesson 06):
        ``mean(max(z, 0) - z y + log(1 + exp(-|z|)))``, in float32 like ``medlab.ops``.

    Returns
    -------
    float
    """
    if from_logits:
        z = validate.real_array("logits", scores).astype(np.float32, copy=False)
        y = validate.values("y_true", y_true, 0, 1).astype(np.float32)
    else:
        y = validate.values("y_true", y_true, 0, 1)
        z = validate.values("scores", scores, 0, 1)
    y, z = y.reshape(-1), z.reshape(-1)
    if y.shape != z.shape:
        raise ValueError(f"y_true has {y.size} labels but {'logits' if from_logits else 'scores'} "
                         f"has {z.size} values")
    if y.size == 0:
        raise ValueError("y_true and scores are empty")
    if from_logits:
        loss = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
        return float(np.mean(loss, dtype=np.float64))
    return _cross_entropy(y, z)


def _cross_entropy(y, p):
    """Mean cross-entropy of float64 labels and probabilities, p clipped to [EPS, 1 - EPS]."""
    p = np.clip(p, EPS, 1 - EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


__all__ = [
    "BinaryMetrics", "THRESHOLD_RULES", "at_prevalence", "auc", "average_precision",
    "binary_cross_entropy", "binary_metrics", "choose_threshold", "confusion", "multiclass_auc",
    "precision_recall", "roc",
]
