"""Lesson 09, trustworthy predictions: ``predictive_entropy``, ``accuracy_at_coverage``.

Each hint is defined here, beside the mistakes (wrong variants) it explains.
"""

from __future__ import annotations

import numpy as np

from medlab.checks.framework import Case, Hint, case_rng, numbers_close, run_check

MEAN_OF_ENTROPIES = Hint("mean_of_entropies", (
    "that is the mean of the members' entropies (the expected entropy), which stays low when "
    "each member is sure but they disagree; the predictive entropy is the entropy of the "
    "MEAN probability: average over axis 0 first, then take the entropy."))
ENTROPY_BITS = Hint("entropy_bits", (
    "your entropy is in bits (log base 2; 1 at p = 0.5): use the natural log, np.log, so "
    "that p = 0.5 gives ln 2 = 0.693 nats."))
ENTROPY_ONE_TERM = Hint("entropy_one_term", (
    "a yes/no answer has two outcomes: H(p) = -p ln p - (1 - p) ln(1 - p); the term of "
    "the 'no' outcome is missing."))
ENTROPY_WRONG_AXIS = Hint("entropy_wrong_axis", (
    "members are the rows (axis 0) and images the columns: average over axis 0 so that one "
    "value per image is left, shape (N,)."))
KEPT_UNCERTAIN = Hint("kept_uncertain", (
    "you kept the MOST uncertain images: sort by uncertainty in increasing order and keep the "
    "first round(coverage * N), the ones the model is surest about."))
KEPT_ALL = Hint("kept_all", (
    "that is the accuracy on all images: keep only the round(coverage * N) least uncertain "
    "ones and score those."))
KEPT_FLOOR = Hint("kept_floor", (
    "round the number of images kept to the nearest whole number, round(coverage * N), "
    "not down with int(...)."))


def _entropy(p):
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return -(p * np.log(p) + (1 - p) * np.log(1 - p))


def _predictive_entropy(member_probabilities):
    from medlab import metrics

    return metrics.uncertainty_scores(member_probabilities)["entropy"]


def _entropy_cases():
    rng = case_rng("predictive_entropy")
    name = ("member_probabilities",)
    yield Case((np.array([[0.9, 0.5, 0.2], [0.1, 0.5, 0.3]]),), name,
               "2 members, 3 images: the first image split 0.9 / 0.1")
    yield Case((np.array([[0.5, 0.99, 0.01, 0.7]]),), name, "one member")
    for m, n in ((5, 8), (3, 40), (10, 100)):
        yield Case((rng.uniform(0.02, 0.98, (m, n)),), name, f"{m} members, {n} images", show=False)


def check_predictive_entropy(predictive_entropy):
    """Check ``predictive_entropy(member_probabilities)``: (M, N) probabilities -> (N,) nats.

    The entropy of the members' mean probability, -p ln p - (1 - p) ln(1 - p) with p the
    mean over axis 0, as ``medlab.metrics.uncertainty_scores(...)["entropy"]`` computes it.
    """
    mistakes = [
        (MEAN_OF_ENTROPIES, lambda P: _entropy(np.asarray(P)).mean(axis=0)),
        (ENTROPY_BITS, lambda P: _entropy(np.asarray(P).mean(axis=0)) / np.log(2)),
        (ENTROPY_ONE_TERM, lambda P: -np.asarray(P).mean(axis=0) * np.log(np.asarray(P).mean(axis=0))),
        (ENTROPY_WRONG_AXIS, lambda P: _entropy(np.asarray(P).mean(axis=1))),
    ]
    return run_check("predictive_entropy", predictive_entropy, _entropy_cases(), _predictive_entropy,
                     mistakes)


def _accuracy_at(y_true, p, uncertainty, coverage):
    from medlab import metrics

    return float(metrics.coverage_curve(y_true, p, uncertainty, [coverage])["accuracy"][0])


def _coverage_variant(kind):
    def variant(y_true, p, uncertainty, coverage):
        y, p, u = np.asarray(y_true), np.asarray(p), np.asarray(uncertainty)
        n = {"floor": int(coverage * len(u)), "all": len(u)}.get(kind, int(round(coverage * len(u))))
        order = np.argsort(-u if kind == "uncertain" else u, kind="stable")[:max(n, 1)]
        return float(np.mean((p[order] >= 0.5) == (y[order] == 1)))

    return variant


def _coverage_cases():
    rng = case_rng("accuracy_at_coverage")
    names = ("y_true", "p", "uncertainty", "coverage")
    y = np.array([1, 0, 1, 1, 0, 0, 1, 0])
    p = np.array([0.9, 0.2, 0.45, 0.8, 0.6, 0.05, 0.7, 0.52])
    yield Case((y, p, np.abs(p - 0.5) * -1 + 0.5, 0.5), names, "8 images, uncertainty 0.5 - |p - 0.5|")
    yield Case((y, p, np.abs(p - 0.5) * -1 + 0.5, 1.0), names, "coverage 1: every image")
    for n, coverage in ((25, 0.7), (120, 0.8), (333, 0.65)):
        y = (rng.random(n) < 0.6).astype(np.int64)
        p = np.clip(np.where(y == 1, 0.65, 0.35) + rng.normal(0, 0.25, n), 0, 1)
        yield Case((y, p, rng.random(n) * 0.3 + 0.7 - np.abs(p - 0.5), coverage), names,
                   f"{n} images, coverage {coverage}", show=False)


def check_accuracy_at_coverage(accuracy_at_coverage):
    """Check ``accuracy_at_coverage(y_true, p, uncertainty, coverage)``: a float.

    The accuracy (calls ``p >= 0.5``) on the ``round(coverage * N)`` images with the lowest
    ``uncertainty``, as ``medlab.metrics.coverage_curve`` computes it.
    """
    mistakes = [
        (KEPT_UNCERTAIN, _coverage_variant("uncertain")),
        (KEPT_ALL, _coverage_variant("all")),
        (KEPT_FLOOR, _coverage_variant("floor")),
    ]
    return run_check("accuracy_at_coverage", accuracy_at_coverage, _coverage_cases(), _accuracy_at,
                     mistakes, kind="number", equal=numbers_close)
