"""Uncertainty scores, selective prediction and out-of-distribution detection (lesson 09).

=============================================  ==============================================
``binary_entropy(p)``                          entropy of a Bernoulli(p), in nats, (N,)
``uncertainty_scores(samples)``                entropy, expected entropy, mutual information
                                               and spread of (M, N) sampled probabilities
``coverage_curve(y, p, u, coverages)``         AUC and accuracy of the most certain images
``selective_intervals(y, p, u, coverage)``     those at one coverage and at full coverage,
                                               with paired bootstrap intervals of the gain
``ood_auroc(in_scores, out_scores)``           how well a score separates new images from
                                               the usual ones, with its bootstrap interval
``image_statistics(images)``                   mean and sd of each image's grey levels
``mahalanobis_score(reference, points)``       distance from the reference cloud (OOD score);
                                               with ``labels``, from the nearest class mean
                                               (``MahalanobisScore``: fitted once)
``knn_distance(reference, points, k)``         distance to the k-th nearest reference point
                                               (``mean=True``: mean distance to the k nearest)
``energy_score(logits)``                       free energy of the output logits (OOD score)
``combine_scores(validation, scores)``         several scores standardised on in-distribution
                                               validation images, summed or maxed
=============================================  ==============================================

*Selective prediction*: the model answers only for the fraction ``coverage`` of images it is
most certain about (lowest uncertainty ``u``) and refers the rest, e.g. to a radiologist.
*Out-of-distribution scores* are higher on images unlike the training ones; they are fitted on
in-distribution images only (training features, validation films), never on new images.
"""

from __future__ import annotations

import numpy as np

from medlab import validate
from medlab.metrics._inputs import EPS, _both_classes, _labels_scores
from medlab.metrics.classification import auc
from medlab.metrics.intervals import Interval, _bootstrap_aucs, _percentiles, auc_interval
from medlab.metrics.intervals import stratified_bootstrap_indices


def binary_entropy(p):
    """Entropy of a yes/no answer given with probability ``p``, in nats: ``-p ln p - (1-p) ln(1-p)``.

    0 for p = 0 or 1 (certain), ln 2 = 0.693 for p = 0.5 (no idea).

    >>> np.round(binary_entropy([0.0, 0.5, 0.9]), 3)
    array([0.   , 0.693, 0.325])
    """
    p = np.clip(validate.values("p", p, 0, 1).astype(np.float64), EPS, 1 - EPS)
    return -(p * np.log(p) + (1 - p) * np.log(1 - p))


def uncertainty_scores(samples):
    """Uncertainty of each image from M sampled probabilities (ensemble members, dropout masks, ...).

    Parameters
    ----------
    samples : array (M, N)
        Probability of class 1 for N images under M members or random passes, M >= 1.

    Returns
    -------
    dict of str -> array (N,)
        ``mean`` (the averaged probability, the prediction), ``entropy`` (predictive entropy,
        :func:`binary_entropy` of the mean, nats: total uncertainty), ``expected_entropy``
        (mean of the members' entropies: the noise each member sees, *aleatoric*),
        ``mutual_information`` (their difference, >= 0: how much the members disagree,
        *epistemic*), ``std`` (sd of the M probabilities, ddof 0).

    >>> s = uncertainty_scores([[0.9, 0.5], [0.1, 0.5]])
    >>> np.round(s["entropy"], 3), np.round(s["mutual_information"], 3), s["std"]
    (array([0.693, 0.693]), array([0.368, 0.   ]), array([0.4, 0. ]))
    """
    p = validate.values("samples", samples, 0, 1).astype(np.float64)
    if p.ndim != 2 or p.shape[0] < 1 or p.shape[1] < 1:
        raise validate.ArgumentError(f"samples has shape {p.shape}: expected (M, N) probabilities, M, N >= 1")
    mean = p.mean(axis=0)
    entropy = binary_entropy(mean)
    expected = binary_entropy(p).mean(axis=0)
    return {"mean": mean, "entropy": entropy, "expected_entropy": expected,
            "mutual_information": np.maximum(entropy - expected, 0.0), "std": p.std(axis=0)}


def _kept(uncertainty, coverage):
    """Indices of the ``round(coverage N)`` (at least 1) least uncertain images (ties: lower index first)."""
    n_keep = max(1, int(round(coverage * uncertainty.size)))
    return np.argsort(uncertainty, kind="stable")[:n_keep]


def _selective_inputs(y_true, scores, uncertainty):
    y, p = _labels_scores(y_true, scores)
    u = validate.values("uncertainty", uncertainty).reshape(-1)
    if u.shape != p.shape:
        raise ValueError(f"uncertainty has {u.size} values for {p.size} scores")
    validate.values("scores", p, 0, 1)
    return y, p, u


def coverage_curve(y_true, scores, uncertainty, coverages=None, threshold=0.5):
    """AUC and accuracy on the most certain fraction of the images, for each coverage.

    Parameters
    ----------
    y_true : array_like (N,) of 0/1
    scores : array_like (N,) of probabilities of class 1
    uncertainty : array_like (N,)
        Higher = less certain (e.g. :func:`binary_entropy` of ``scores``).
    coverages : sequence of float in (0, 1]
        Fractions of images kept; default 0.5 to 1 in steps of 0.05.
    threshold : float
        Calls are ``scores >= threshold``, for the accuracy.

    Returns
    -------
    dict of str -> array (C,)
        ``coverage``, ``kept`` (images answered), ``accuracy``, ``auc`` (NaN where the kept
        images hold one class only) and ``referred`` (1 - coverage).

    >>> c = coverage_curve([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9], [0.1, 0.9, 0.8, 0.1], [0.5, 1.0])
    >>> c["kept"], c["accuracy"], c["auc"]
    (array([2, 4]), array([1. , 0.5]), array([1.  , 0.75]))
    """
    y, p, u = _selective_inputs(y_true, scores, uncertainty)
    threshold = validate.number("threshold", threshold, 0.0, 1.0)
    coverages = np.round(np.arange(0.5, 1.0001, 0.05), 2) if coverages is None else np.asarray(coverages, np.float64)
    validate.values("coverages", coverages, 0, 1)
    if coverages.size == 0 or coverages.min() <= 0:
        raise validate.ArgumentError("coverages: expected fractions in (0, 1]")
    kept, accuracy, aucs = [], [], []
    for c in coverages:
        index = _kept(u, c)
        yk, pk = y[index], p[index]
        kept.append(index.size)
        accuracy.append(float(np.mean((pk >= threshold) == (yk == 1))))
        aucs.append(auc(yk, pk) if 0 < yk.sum() < yk.size else np.nan)
    return {"coverage": coverages, "kept": np.array(kept), "accuracy": np.array(accuracy),
            "auc": np.array(aucs), "referred": 1 - coverages}


def selective_intervals(y_true, scores, uncertainty, coverage=0.8, threshold=0.5, n_boot=1000,
                        level=0.95, seed=0):
    """AUC and accuracy at ``coverage`` and at full coverage, and the gain, with bootstrap intervals.

    Each stratified resample of the images (:func:`stratified_bootstrap_indices`) is scored in
    full and after referring its own most uncertain ``1 - coverage``: the gain's interval is
    paired (the same resamples), so it says whether referring helps on images like these.

    Returns
    -------
    dict of str -> Interval
        ``auc_full``, ``auc_kept``, ``auc_gain`` (kept - full), and the same for ``accuracy``.
    """
    y, p, u = _selective_inputs(y_true, scores, uncertainty)
    coverage = validate.number("coverage", coverage, 0.0, 1.0, low_open=True)
    threshold = validate.number("threshold", threshold, 0.0, 1.0)
    _both_classes(y, "selective_intervals")
    index = stratified_bootstrap_indices(y, n_boot, seed)
    n_keep = max(1, int(round(coverage * y.size)))
    order = np.argsort(u[index], axis=1, kind="stable")[:, :n_keep]
    kept = np.take_along_axis(index, order, axis=1)  # each resample's most certain images
    right = (p >= threshold) == (y == 1)
    figures = {
        "auc_full": _bootstrap_aucs(y, p, index),
        "auc_kept": np.array([auc(y[k], p[k]) if 0 < y[k].sum() < k.size else np.nan for k in kept]),
        "accuracy_full": right[index].mean(axis=1),
        "accuracy_kept": right[kept].mean(axis=1),
    }
    figures["auc_gain"] = figures["auc_kept"] - figures["auc_full"]
    figures["accuracy_gain"] = figures["accuracy_kept"] - figures["accuracy_full"]
    curve = coverage_curve(y, p, u, [coverage, 1.0], threshold)
    estimates = {"auc_kept": curve["auc"][0], "auc_full": curve["auc"][1],
                 "accuracy_kept": curve["accuracy"][0], "accuracy_full": curve["accuracy"][1]}
    estimates["auc_gain"] = estimates["auc_kept"] - estimates["auc_full"]
    estimates["accuracy_gain"] = estimates["accuracy_kept"] - estimates["accuracy_full"]
    percentiles = _percentiles(level)
    out = {}
    for name in ("auc_full", "auc_kept", "auc_gain", "accuracy_full", "accuracy_kept", "accuracy_gain"):
        low, high = np.nanpercentile(figures[name], percentiles)
        out[name] = Interval(float(estimates[name]), float(low), float(high), float(level), int(n_boot))
    return out


def ood_auroc(in_scores, out_scores, n_boot=1000, level=0.95, seed=0):
    """AUROC of a score that should be higher on out-of-distribution images, with its interval.

    The probability that a random new (out-of-distribution) image scores higher than a random
    usual one: 0.5 is no separation, 1 perfect. The bootstrap resamples each group on its
    own (:func:`medlab.metrics.auc_interval` with the groups as classes).

    Parameters
    ----------
    in_scores : array_like (N_in,)
        The score (e.g. an uncertainty) on images like the training ones (test X-rays).
    out_scores : array_like (N_out,)
        The score on the new images.

    Returns
    -------
    Interval

    >>> ood_auroc([0.1, 0.2, 0.3], [0.25, 0.9], n_boot=100).estimate
    0.8333333333333334
    """
    a = validate.values("in_scores", in_scores).reshape(-1)
    b = validate.values("out_scores", out_scores).reshape(-1)
    if a.size == 0 or b.size == 0:
        raise validate.ArgumentError("in_scores and out_scores: expected at least one score each")
    y = np.concatenate([np.zeros(a.size, np.int64), np.ones(b.size, np.int64)])
    return auc_interval(y, np.concatenate([a, b]), n_boot=n_boot, level=level, seed=seed)


def image_statistics(images):
    """Mean and standard deviation of each image's grey levels: array (N, 2), grey-level units.

    The trivial out-of-distribution baseline: an ultrasound frame (a black fan) or a blank film
    differs from a chest film in these two numbers before any network looks at it.

    >>> image_statistics(np.array([[[0.0, 1.0]], [[0.5, 0.5]]]))
    array([[0.5, 0.5],
           [0.5, 0. ]])
    """
    x = validate.values("images", images).astype(np.float64)
    if x.ndim < 2 or x.shape[0] == 0:
        raise validate.ArgumentError(f"images has shape {x.shape}: expected (N, ...) with N >= 1")
    flat = x.reshape(len(x), -1)
    return np.stack([flat.mean(axis=1), flat.std(axis=1)], axis=1)


def mahalanobis_score(reference, points, labels=None):
    """Mahalanobis distance of each point from the cloud of ``reference`` points (higher = farther).

    :math:`d(z) = \\sqrt{(z - \\mu)^T \\Sigma^{-1} (z - \\mu)}` with the mean and a
    Ledoit-Wolf shrunk covariance of ``reference`` (``sklearn.covariance.LedoitWolf``: it
    stays invertible with more dimensions than points). On image statistics it is the
    baseline; on a network's features, a feature-space OOD score.

    With ``labels`` (the reference points' classes) it is Lee et al.'s class-conditional form
    (NeurIPS 2018): one mean :math:`\\mu_c` per class, one covariance shared by the classes
    (Ledoit-Wolf on the points minus their class mean), and the distance to the *nearest*
    class mean, :math:`\\min_c d_c(z)`. To score several sets of points against one
    reference, fit once: :class:`MahalanobisScore`.

    Parameters
    ----------
    reference : array (N_ref, D)
        E.g. the training images' statistics or features.
    points : array (N, D)
    labels : array (N_ref,) of class labels, optional
        One per reference point; the classes share the covariance.

    Returns
    -------
    float array (N,), in units of the reference's spread (no unit)

    >>> ref = np.array([[-3.0], [-1], [1], [3]])  # class means -2 and 2, within-class sd 1
    >>> np.round(mahalanobis_score(ref, [[2.5], [0]], labels=[0, 0, 1, 1]), 3)
    array([0.5, 2. ])
    """
    return MahalanobisScore(reference, labels)(points)


class MahalanobisScore:
    """:func:`mahalanobis_score` fitted once on ``reference`` (and ``labels``); call it on points (N, D).

    The distances are solved with the Cholesky factor of the shrunk covariance, plus a ridge
    of 1e-9 of its mean variance so that a direction in which the reference never varies
    still counts (a deviation there is far out of distribution, not ignored). Each class
    needs 2 reference points, and the reference must vary.

    >>> score = MahalanobisScore(np.array([[0.0, 0], [2, 0], [0, 2], [2, 2]]))
    >>> np.round(score([[1.0, 1.0]]), 3)
    array([0.])
    """

    def __init__(self, reference, labels=None):
        from scipy import linalg
        from sklearn.covariance import LedoitWolf

        ref = validate.values("reference", reference).astype(np.float64)
        if ref.ndim != 2 or len(ref) < 2:
            raise validate.ArgumentError(f"reference has shape {ref.shape}: expected (N_ref >= 2, D)")
        labels = np.zeros(len(ref), np.int64) if labels is None else np.asarray(labels).reshape(-1)
        if labels.shape != (len(ref),):
            raise validate.ArgumentError(f"labels has {labels.size} values for {len(ref)} reference points: expected one each")
        classes, counts = np.unique(labels, return_counts=True)
        if np.any(counts < 2):
            raise validate.ArgumentError(f"labels: class {classes[np.argmin(counts)]} has {counts.min()} reference "
                                         "point(s): expected at least 2 per class")
        self.means = np.stack([ref[labels == c].mean(axis=0) for c in classes])  # (C, D)
        residuals = ref - self.means[np.searchsorted(classes, labels)]
        self.covariance = LedoitWolf(store_precision=False, assume_centered=True).fit(residuals).covariance_
        mean_variance = np.trace(self.covariance) / len(self.covariance)
        if not mean_variance > 0:
            raise validate.ArgumentError("reference: its points do not vary around their class means, so no "
                                         "covariance can be fitted")
        ridged = self.covariance + 1e-9 * mean_variance * np.eye(len(self.covariance))
        self._factor = linalg.cholesky(ridged, lower=True)

    def __call__(self, points):
        from scipy import linalg

        z = validate.values("points", points).astype(np.float64)
        if z.ndim != 2 or z.shape[1] != self.means.shape[1]:
            raise validate.ArgumentError(f"points has shape {z.shape}: expected (N, {self.means.shape[1]}), as the reference")
        squared = []
        for mean in self.means:
            r = (z - mean).T  # (D, N)
            squared.append(np.sum(linalg.solve_triangular(self._factor, r, lower=True) ** 2, axis=0))
        return np.sqrt(np.maximum(np.min(squared, axis=0), 0.0))


def knn_distance(reference, points, k=1, normalise=True, mean=False):
    """Distance of each point to its ``k``-th nearest reference point (Sun et al., ICML 2022).

    A density score without a Gaussian: far from every training feature = out of
    distribution. With ``normalise`` (as Sun et al.) every feature vector is first scaled to
    unit length, so the distance compares directions (0 to 2).

    Parameters
    ----------
    reference : array (N_ref, D)
        Training features.
    points : array (N, D)
    k : int, 1 <= k <= N_ref
    normalise : bool
    mean : bool
        The mean distance to the ``k`` nearest reference points instead of the ``k``-th
        (SPADE-like; ``medlab.anomaly.FeatureNearestNeighbours``).

    Returns
    -------
    float array (N,), in the features' units (no unit with ``normalise``)

    >>> np.round(knn_distance([[1.0, 0], [0, 1]], [[2.0, 0], [-1, 0]], k=1), 3)
    array([0.   , 1.414])
    >>> knn_distance([[0.0], [1.0], [3.0]], [[0.0]], k=2, normalise=False, mean=True)
    array([0.5])
    """
    from sklearn.neighbors import NearestNeighbors

    ref = validate.values("reference", reference).astype(np.float64)
    z = validate.values("points", points).astype(np.float64)
    if ref.ndim != 2 or z.ndim != 2 or ref.shape[1] != z.shape[1] or len(ref) < 1 or ref.shape[1] < 1:
        raise validate.ArgumentError(f"reference {ref.shape} and points {z.shape}: expected (N_ref >= 1, D >= 1) "
                                     f"and (N, D)")
    if len(z) == 0:
        raise validate.ArgumentError(f"points has shape {z.shape}: expected N >= 1 points")
    k = validate.integer("k", k, low=1, high=len(ref))
    normalise, mean = validate.boolean("normalise", normalise), validate.boolean("mean", mean)
    if normalise:
        ref, z = (a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), EPS) for a in (ref, z))
    distances = NearestNeighbors(n_neighbors=k).fit(ref).kneighbors(z)[0]
    return distances.mean(axis=1) if mean else distances[:, -1]


def energy_score(logits):
    """Free energy of the output logits, :math:`E(x) = -\\log \\sum_k e^{f_k(x)}` (Liu et al., NeurIPS 2020).

    Higher = more likely out of distribution, for K softmax logits: training images tend to get
    large logits, so low energy. A one-unit sigmoid output with logit :math:`z` is the
    two-class softmax of :math:`(0, z)`, so ``logits`` of shape (N,) give
    :math:`E = -\\log(1 + e^z) = \\log(1 - p)`: a function of the predicted probability alone,
    which ranks images by their predicted class, not by how unusual they are. With one
    sigmoid unit it is therefore a negative control, not an OOD score.

    Parameters
    ----------
    logits : array (N,) (one sigmoid unit) or (N, K >= 2) (softmax)

    Returns
    -------
    float array (N,)

    >>> np.round(energy_score([0.0, 5.0]), 3)
    array([-0.693, -5.007])
    """
    from scipy.special import logsumexp

    z = validate.values("logits", logits).astype(np.float64)
    if z.ndim == 1:
        z = np.stack([np.zeros_like(z), z], axis=1)
    if z.ndim != 2 or z.shape[1] < 2:
        raise validate.ArgumentError(f"logits has shape {z.shape}: expected (N,) or (N, K >= 2)")
    return -logsumexp(z, axis=1)


def combine_scores(validation, scores, how="sum"):
    """Several OOD scores in one: each standardised on in-distribution validation images, then combined.

    Score :math:`s` becomes :math:`(s - m_s) / \\sigma_s`, with the mean and sd (ddof 0) of
    its values on validation images like the training ones, so that every score counts in
    units of its own in-distribution spread; they are then summed (evidence adds up) or
    maxed (one alarming score is enough). No out-of-distribution image is needed (Lee et
    al. instead weighted the layers by a regression fitted on OOD or adversarial images).

    Parameters
    ----------
    validation : dict of str -> array (N_val,)
        Each score on in-distribution validation images (not the images its reference was
        fitted on).
    scores : dict of str -> array (N,)
        The same scores (same names) on the images to judge.
    how : "sum" or "max"

    Returns
    -------
    float array (N,), in in-distribution standard deviations (no unit)

    >>> v = {"a": np.array([0.0, 2.0]), "b": np.array([10.0, 30.0])}
    >>> combine_scores(v, {"a": np.array([3.0]), "b": np.array([20.0])}, how="max")
    array([2.])
    """
    how = validate.choice("how", how, ("sum", "max"))
    if not validation or set(validation) != set(scores):
        raise validate.ArgumentError(f"validation {sorted(validation)} and scores {sorted(scores)}: "
                                     "expected the same score names, at least one")
    standardised = []
    for name in validation:
        v = validate.values(f"validation[{name!r}]", validation[name]).astype(np.float64).reshape(-1)
        s = validate.values(f"scores[{name!r}]", scores[name]).astype(np.float64).reshape(-1)
        if v.size < 2 or v.std() == 0:
            raise validate.ArgumentError(f"validation[{name!r}]: expected at least two values that are not all equal")
        standardised.append((s - v.mean()) / v.std())
    if len({s.size for s in standardised}) != 1:
        raise validate.ArgumentError("scores: expected arrays of one length")
    stacked = np.stack(standardised)
    return stacked.sum(axis=0) if how == "sum" else stacked.max(axis=0)


__all__ = [
    "MahalanobisScore", "binary_entropy", "combine_scores", "coverage_curve", "energy_score", "image_statistics",
    "knn_distance", "mahalanobis_score", "ood_auroc", "selective_intervals", "uncertainty_scores",
]
