"""Lesson 08, evaluating a classifier: ``sensitivity_specificity``, ``accuracy_at_prevalence``.

Each hint is defined here, beside the mistakes (wrong variants) it explains.
"""

from __future__ import annotations

import numpy as np

from medlab.checks.framework import Case, Hint, case_rng, numbers_close, run_check

ACCURACY_NOT_RATE = Hint("accuracy_not_rate", (
    "that is the accuracy, (TP + TN) / N, which mixes both classes: sensitivity counts only "
    "the sick images, TP / (TP + FN), specificity only the healthy ones, TN / (TN + FP)."))
DIVIDED_BY_ALL = Hint("divided_by_all", (
    "divide by the number of images of that class, not by all N images: sensitivity = "
    "TP / (TP + FN) (the sick ones), specificity = TN / (TN + FP) (the healthy ones)."))
PREDICTIVE_VALUES = Hint("predictive_values", (
    "that is PPV and NPV, which divide by the model's calls (TP + FP, TN + FN); sensitivity "
    "and specificity divide by the truth: TP / (TP + FN) and TN / (TN + FP)."))
PREVALENCE_IGNORED = Hint("prevalence_ignored", (
    "the prevalence is missing: the plain mean (sens + spec) / 2 is the accuracy only when "
    "half the patients are sick; weigh sens by pi and spec by 1 - pi."))
PREVALENCE_SWAPPED = Hint("prevalence_swapped", (
    "the weights are swapped: sensitivity applies to the sick fraction (the prevalence pi), "
    "specificity to the healthy one (1 - pi): accuracy = sens * pi + spec * (1 - pi)."))
SENS_SPEC_SWAPPED = Hint("sens_spec_swapped", (
    "sensitivity and specificity are swapped: sensitivity = TP / (TP + FN) is about the sick "
    "images (y_true == 1), specificity = TN / (TN + FP) about the healthy ones (y_true == 0)."))


def _counts(y_true, y_pred):
    y, c = np.asarray(y_true).astype(bool), np.asarray(y_pred).astype(bool)
    tp, fn = int(np.sum(y & c)), int(np.sum(y & ~c))
    tn, fp = int(np.sum(~y & ~c)), int(np.sum(~y & c))
    return tp, fp, tn, fn


def _sens_spec(y_true, y_pred):
    from medlab import metrics

    m = metrics.binary_metrics(y_true, np.asarray(y_pred, np.float64), threshold=0.5)
    return np.array([m.sensitivity, m.specificity])


def _sens_spec_variant(kind):
    def variant(y_true, y_pred):
        tp, fp, tn, fn = _counts(y_true, y_pred)
        n = tp + fp + tn + fn
        return np.array({
            "swapped": (tn / (tn + fp), tp / (tp + fn)),
            "accuracy": ((tp + tn) / n, (tp + tn) / n),
            "all": (tp / n, tn / n),
            "predictive": (tp / (tp + fp), tn / (tn + fn)),
        }[kind])

    return variant


def _sens_spec_cases():
    rng = case_rng("sensitivity_specificity")
    names = ("y_true", "y_pred")
    yield Case((np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0]), np.array([1, 1, 1, 0, 0, 0, 0, 0, 1, 1])),
               names, "TP 3, FN 1, TN 4, FP 2")
    yield Case((np.array([0, 1, 0, 1, 1, 0, 1, 1]), np.array([0, 1, 1, 1, 0, 0, 1, 1])), names)
    for n, prevalence in ((40, 0.7), (200, 0.2), (500, 0.5)):
        y = (rng.random(n) < prevalence).astype(np.int64)
        y[:2] = (0, 1)  # both classes
        right = rng.random(n) < np.where(y == 1, 0.85, 0.7)
        yield Case((y, np.where(right, y, 1 - y)), names, f"{n} images", show=False)


def check_sensitivity_specificity(sensitivity_specificity):
    """Check ``sensitivity_specificity(y_true, y_pred)``: (sensitivity, specificity).

    ``y_true`` and ``y_pred`` are (N,) arrays of 0/1 (1 = pneumonia, the positive class);
    the result is the pair (TP / (TP + FN), TN / (TN + FP)), as
    ``medlab.metrics.binary_metrics`` computes them.
    """
    mistakes = [
        (SENS_SPEC_SWAPPED, _sens_spec_variant("swapped")),
        (ACCURACY_NOT_RATE, _sens_spec_variant("accuracy")),
        (DIVIDED_BY_ALL, _sens_spec_variant("all")),
        (PREDICTIVE_VALUES, _sens_spec_variant("predictive")),
    ]
    return run_check("sensitivity_specificity", sensitivity_specificity, _sens_spec_cases(),
                     _sens_spec, mistakes)


def _accuracy_at(sensitivity, specificity, prevalence):
    from medlab import metrics

    return metrics.at_prevalence(sensitivity, specificity, prevalence)["accuracy"]


def _prevalence_cases():
    names = ("sensitivity", "specificity", "prevalence")
    for args in ((0.9, 0.8, 0.5), (0.95, 0.9, 0.74), (0.95, 0.9, 0.05), (0.6, 0.99, 0.3),
                 (0.8, 0.7, 0.0), (0.8, 0.7, 1.0), (0.99, 0.5, 0.9)):
        yield Case(args, names)


def check_accuracy_at_prevalence(accuracy_at_prevalence):
    """Check ``accuracy_at_prevalence(sensitivity, specificity, prevalence)``.

    The accuracy of a test with the given sensitivity and specificity when a fraction
    ``prevalence`` (pi) of the patients is sick: sens * pi + spec * (1 - pi), a float; the
    reference is ``medlab.metrics.at_prevalence(...)["accuracy"]``.
    """
    mistakes = [
        (PREVALENCE_SWAPPED, lambda se, sp, pi: se * (1 - pi) + sp * pi),
        (PREVALENCE_IGNORED, lambda se, sp, pi: (se + sp) / 2),
        (PREVALENCE_IGNORED, lambda se, sp, pi: se + sp),
    ]
    return run_check("accuracy_at_prevalence", accuracy_at_prevalence, _prevalence_cases(),
                     _accuracy_at, mistakes, kind="number", equal=numbers_close)
