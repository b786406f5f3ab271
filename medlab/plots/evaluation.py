"""How good a model's scores are: ROC and precision-recall curves, the confusion matrix,
sensitivity and specificity against prevalence, calibration (reliability diagram), score
distributions and histograms per class, a 2-D code coloured by class, Bland-Altman.

Every function returns the matplotlib Figure; notebooks call ``plt.show()``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from medlab import validate

__all__ = ["bland_altman_plot", "confusion_plot", "distributions", "latent_scatter", "pr_plot", "prevalence_plot", "reliability_diagram", "roc_plot", "score_histogram"]
__all__ += ["roc_band_plot"]


def roc_plot(y_true, scores, thresholds=None, title="ROC curve"):
    """ROC curves of one or more models on the same labels, with their AUC.

    Parameters
    ----------
    y_true : array (N,) of 0/1
    scores : array (N,) or dict of model name -> array (N,)
    thresholds : float or dict of name -> float, optional
        Operating point to mark on each curve (sensitivity and 1 - specificity there).
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    from medlab import metrics

    scores = scores if isinstance(scores, dict) else {"model": scores}
    if thresholds is not None and not isinstance(thresholds, dict):
        thresholds = {name: thresholds for name in scores}
    if thresholds:  # checked before a figure is opened
        thresholds = {name: validate.number("threshold", t, 0.0, 1.0) for name, t in thresholds.items()}
    fig, ax = plt.subplots(figsize=(4.4, 4.2))
    ax.plot([0, 1], [0, 1], ":", color="grey", label="chance (AUC 0.50)")
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, (name, p) in enumerate(scores.items()):
        colour = colours[index % len(colours)]
        fpr, tpr, _ = metrics.roc(y_true, p)
        ax.plot(fpr, tpr, "-", color=colour, label=f"{name} (AUC {metrics.auc(y_true, p):.2f})")
        if thresholds and name in thresholds:
            m = metrics.binary_metrics(y_true, p, thresholds[name])
            ax.plot([1 - m.specificity], [m.sensitivity], "o", color=colour,
                    label=f"{name} at threshold {m.threshold:.2f}")
    return _finish_unit_square(fig, ax, "1 - specificity (false-positive rate)", "sensitivity (true-positive rate)", title, legend="lower right")


def _finish_unit_square(fig, ax, xlabel, ylabel, title, legend):
    """Label, frame and title a plot of two rates in [0, 1] (ROC, reliability, precision-recall)."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_aspect("equal")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc=legend)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def confusion_plot(matrix, class_names=("normal", "pneumonia"), title=None):
    """A 2 x 2 confusion matrix ``[[TN, FP], [FN, TP]]`` as a labelled table of counts.

    Returns
    -------
    matplotlib.figure.Figure
    """
    matrix = np.asarray(matrix)
    if matrix.shape != (2, 2):
        raise ValueError(f"matrix must be 2 x 2 [[TN, FP], [FN, TP]], got shape {matrix.shape}")
    fig, ax = plt.subplots(figsize=(3.6, 3.2))
    ax.imshow(matrix, cmap="Blues", vmin=0, vmax=max(int(matrix.max()), 1))
    names = [["TN", "FP"], ["FN", "TP"]]
    for i in range(2):
        for j in range(2):
            dark = matrix[i, j] > 0.6 * matrix.max()
            ax.text(j, i, f"{names[i][j]}\n{int(matrix[i, j])}", ha="center", va="center",
                    color="white" if dark else "black", fontsize=10)
    ax.set_xticks([0, 1], [f"called {c}" for c in class_names], fontsize=8)
    ax.set_yticks([0, 1], [f"truly {c}" for c in class_names], fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def prevalence_plot(sensitivity, specificity, marks=None, title=None):
    """Accuracy, PPV and NPV of a fixed test as the prevalence goes from 0 to 1.

    Parameters
    ----------
    sensitivity, specificity : float in [0, 1]
    marks : dict of label -> prevalence, optional
        Vertical lines, e.g. ``{"test split": 0.74, "outpatients": 0.05}``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from medlab.metrics import at_prevalence

    prevalence = np.linspace(0.0, 1.0, 201)
    values = at_prevalence(sensitivity, specificity, prevalence)
    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    for key, label in (("accuracy", "accuracy"), ("ppv", "PPV (positive calls truly sick)"),
                       ("npv", "NPV (negative calls truly healthy)")):
        ax.plot(prevalence, values[key], label=label)
    for index, (label, pi) in enumerate((marks or {}).items()):
        ax.axvline(pi, color="grey", linestyle=":" if index else "--", linewidth=1)
        ax.text(pi, 0.02 + 0.08 * index, f" {label}", fontsize=7, color="dimgrey")
    ax.set_xlabel("prevalence (fraction of patients with pneumonia)")
    ax.set_ylabel("fraction (0 to 1)")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center right")
    ax.set_title(title or f"sensitivity {sensitivity:.2f}, specificity {specificity:.2f}", fontsize=10)
    fig.tight_layout()
    return fig


def reliability_diagram(y_true, scores, n_bins=10, title="reliability diagram"):
    """Observed frequency of pneumonia against the predicted probability, per bin.

    Parameters
    ----------
    y_true : array (N,) of 0/1
    scores : array (N,) of probabilities, or dict of name -> array (N,) (e.g. before and
        after temperature scaling)
    n_bins : int
        Equal-width bins (:func:`medlab.metrics.calibration_bins`).
    title : str

    Returns
    -------
    matplotlib.figure.Figure
        The diagonal is perfect calibration; points below it mean the model over-predicts
        pneumonia there (fewer images show it than p says), points above it under-predicts. The legend gives each model's ECE and Brier score.
    """
    from medlab import metrics

    scores = scores if isinstance(scores, dict) else {"model": scores}
    fig, ax = plt.subplots(figsize=(4.4, 4.2))
    ax.plot([0, 1], [0, 1], ":", color="grey", label="perfectly calibrated")
    for name, p in scores.items():
        table = metrics.calibration_bins(y_true, p, n_bins)
        used = table["count"] > 0
        ece = metrics.ece_from_bins(table)
        ax.plot(table["confidence"][used], table["frequency"][used], "o-", ms=4,
                label=f"{name} (ECE {ece:.3f}, Brier {metrics.brier_score(y_true, p):.3f})")
    return _finish_unit_square(fig, ax, "predicted probability of pneumonia", "observed fraction with pneumonia", title, legend="upper left")


def pr_plot(y_true, scores, title="precision-recall curve"):
    """Precision (PPV) against recall (sensitivity) for one or more models, with their AP.

    Parameters
    ----------
    y_true : array (N,) of 0/1
    scores : array (N,) or dict of name -> array (N,)

    Returns
    -------
    matplotlib.figure.Figure
        The dotted line is the prevalence: the precision of a random ranking.
    """
    from medlab import metrics

    scores = scores if isinstance(scores, dict) else {"model": scores}
    prevalence = float(np.mean(np.asarray(y_true).reshape(-1)))
    fig, ax = plt.subplots(figsize=(4.4, 4.2))
    ax.axhline(prevalence, ls=":", color="grey", label=f"random (prevalence {prevalence:.2f})")
    for name, p in scores.items():
        precision, recall, _ = metrics.precision_recall(y_true, p)
        ax.step(recall, precision, where="post",
                label=f"{name} (AP {metrics.average_precision(y_true, p):.2f})")
    return _finish_unit_square(fig, ax, "recall (sensitivity)", "precision (PPV)", title, legend="lower left")


def score_histogram(scores, labels, class_names=("normal", "pneumonia"), bins=30, title=None,
                    xlabel="anomaly score"):
    """Overlaid histograms of a score per class (e.g. reconstruction errors).

    Returns
    -------
    matplotlib.figure.Figure
    """
    scores = np.asarray(scores, dtype=float).reshape(-1)
    labels = np.asarray(labels).reshape(-1)
    if scores.shape != labels.shape or scores.size == 0:
        raise ValueError(f"scores {scores.shape} and labels {labels.shape} must be equal, non-empty")
    edges = np.histogram_bin_edges(scores, bins=bins)
    fig, ax = plt.subplots(figsize=(5.0, 3.0))
    for k, name in enumerate(class_names):
        ax.hist(scores[labels == k], bins=edges, alpha=0.55, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("images")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def distributions(groups, bins=40, xlabel="score", title=None):
    """Overlaid density histograms of several groups of one quantity (shared bin edges).

    Parameters
    ----------
    groups : dict of name -> array (n,)
        E.g. ``{"train normals": e_train, "val normals": e_val, "test normals": e_test}``.

    Returns
    -------
    matplotlib.figure.Figure
        One step histogram per group, scaled to unit area, its mean in the legend.
    """
    arrays = {name: np.asarray(v, dtype=float).reshape(-1) for name, v in groups.items()}
    if not arrays or any(v.size == 0 for v in arrays.values()):
        raise ValueError("groups must hold at least one non-empty array")
    edges = np.histogram_bin_edges(np.concatenate(list(arrays.values())), bins=bins)
    fig, ax = plt.subplots(figsize=(5.0, 3.0))
    for name, v in arrays.items():
        ax.hist(v, bins=edges, density=True, histtype="step", lw=1.6, label=f"{name} (mean {v.mean():.3g})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def latent_scatter(points, labels, class_names=("normal", "pneumonia"), title=None,
                   axis_names=("PC 1", "PC 2")):
    """2-D points (e.g. the codes z projected by PCA) coloured by class.

    Parameters
    ----------
    points : array (N, 2)
    labels : array (N,) of ints in [0, len(class_names))
    class_names : sequence of str
    title : str, optional
    axis_names : two str

    Returns
    -------
    matplotlib.figure.Figure
    """
    points = np.asarray(points, dtype=float)
    labels = np.asarray(labels).reshape(-1)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) != len(labels):
        raise ValueError(f"points must be (N, 2) with N labels; got {points.shape} and {labels.shape}")
    fig, ax = plt.subplots(figsize=(4.6, 4.0))
    markers = "os^Dv"
    for k, name in enumerate(class_names):
        chosen = labels == k
        ax.scatter(points[chosen, 0], points[chosen, 1], s=14, alpha=0.7,
                   marker=markers[k % len(markers)], label=f"{name} ({int(chosen.sum())})")
    ax.set_xlabel(axis_names[0])
    ax.set_ylabel(axis_names[1])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def bland_altman_plot(reference, estimate, units="mm", title="Bland-Altman plot"):
    """Difference against mean of two measurements, with the bias and 95 % limits of agreement.

    Parameters
    ----------
    reference, estimate : array_like (N,)
        E.g. the sonographer's head circumference and the one measured on the predicted mask.
    units : str
        Shown in the axis labels.

    Returns
    -------
    matplotlib.figure.Figure
        Horizontal lines at the bias and at bias -/+ 1.96 sd (``medlab.metrics.bland_altman``).
    """
    from medlab import metrics

    ba = metrics.bland_altman(reference, estimate)
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    ax.scatter(ba["mean"], ba["difference"], s=10, alpha=0.6)
    ax.axhline(ba["bias"], color="k", label=f"bias {ba['bias']:+.2f} {units}")
    for key in ("lower", "upper"):
        ax.axhline(ba[key], color="k", linestyle="--", linewidth=0.8)
    ax.plot([], [], "k--", linewidth=0.8,
            label=f"95 % limits {ba['lower']:+.2f} to {ba['upper']:+.2f} {units}")
    ax.set_xlabel(f"mean of the two measurements ({units})")
    ax.set_ylabel(f"estimate - reference ({units})")
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


# evaluation (lesson 08)
def roc_band_plot(y_true, scores, n_boot=1000, seed=0, threshold=None, title="ROC curve"):
    """One model's ROC curve with its 95 % stratified-bootstrap band, named in the legend.

    The band is pointwise: at each false-positive rate of a grid of 101 points, the middle
    95 % of the sensitivities of ``n_boot`` stratified bootstrap resamples of the images
    (:func:`medlab.metrics.stratified_bootstrap_indices`, the resampling of the AUC's
    interval), each curve interpolated on the grid.

    Parameters
    ----------
    y_true : array (N,) of 0/1, both classes present
    scores : array (N,) of float, higher = more likely positive
    n_boot : int
        Resamples (at least 20).
    seed : int
        Seed of the resampling.
    threshold : float in [0, 1], optional
        Operating point to mark (sensitivity and 1 - specificity there).
    title : str

    Returns
    -------
    matplotlib.figure.Figure
        Both axes are rates (fractions, 0 to 1).
    """
    from medlab import metrics

    n_boot = validate.integer("n_boot", n_boot, low=20)
    if threshold is not None:
        threshold = validate.number("threshold", threshold, 0.0, 1.0)
    y, p = np.asarray(y_true).reshape(-1), np.asarray(scores, dtype=np.float64).reshape(-1)
    grid = np.linspace(0.0, 1.0, 101)
    curves = []
    for index in metrics.stratified_bootstrap_indices(y, n_boot, seed):
        fpr, tpr, _ = metrics.roc(y[index], p[index])
        curves.append(np.interp(grid, fpr, tpr))
    low, high = np.percentile(np.array(curves), [2.5, 97.5], axis=0)
    interval = metrics.auc_interval(y, p, n_boot=n_boot, seed=seed)
    fig, ax = plt.subplots(figsize=(4.4, 4.2))
    ax.plot([0, 1], [0, 1], ":", color="grey", label="chance (AUC 0.50)")
    ax.fill_between(grid, low, high, color="tab:blue", alpha=0.25, linewidth=0,
                    label=f"95 % bootstrap band ({n_boot} resamples)")
    fpr, tpr, _ = metrics.roc(y, p)
    ax.plot(fpr, tpr, "-", color="tab:blue", label=f"test ROC, AUC {interval.text()}")
    if threshold is not None:
        m = metrics.binary_metrics(y, p, threshold)
        ax.plot([1 - m.specificity], [m.sensitivity], "o", color="black", label=f"threshold {m.threshold:.2f}")
    return _finish_unit_square(fig, ax, "1 - specificity (false-positive rate)", "sensitivity (true-positive rate)", title, legend="lower right")
