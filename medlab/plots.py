"""Figures the lessons draw, kept out of the notebooks so they stay thin.

Every function returns the matplotlib Figure; notebooks call ``plt.show()``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from medlab import validate


def image_grid(images, titles=None, ncols=8, size=1.4, cmap="gray", vmin=0.0, vmax=1.0, suptitle=None):
    """Show images in a grid without axes.

    Parameters
    ----------
    images : array (n, H, W) or (n, H, W, 3), or a list of 2-D/RGB arrays
    titles : list of str, optional
        One short title per image (e.g. its label).
    ncols : int
        Images per row.
    size : float
        Side of one panel in inches.
    vmin, vmax : float or None
        Grey-level range for 2-D images; None lets matplotlib scale each image.

    Returns
    -------
    matplotlib.figure.Figure
    """
    n = len(images)
    if n == 0:
        raise ValueError("images must hold at least one image")
    ncols = max(1, min(int(ncols), n))
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.3 if suptitle else 0)),
                             squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index < n:
            ax.imshow(images[index], cmap=cmap, vmin=vmin, vmax=vmax)
            if titles is not None:
                ax.set_title(str(titles[index]), fontsize=8)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return fig


def three_planes(volume, spacing=None, index=None, titles=("axial (k)", "coronal (j)", "sagittal (i)")):
    """Three orthogonal slices through the centre (or ``index``) of a 3-D volume.

    Parameters
    ----------
    volume : array (I, J, K)
    spacing : tuple of 3 floats > 0, optional
        Voxel size in mm along (i, j, k); used so that slices keep their true aspect.
    index : tuple of 3 ints, optional
        Voxel the slices pass through; default the centre.

    Returns
    -------
    matplotlib.figure.Figure
    """
    volume = np.asarray(volume)
    if volume.ndim != 3:
        raise ValueError(f"volume must have rank 3 (i, j, k), got shape {volume.shape}")
    if spacing is not None:
        spacing = validate.values("spacing", spacing, 0, low_open=True, dtype_kinds="uif")
        if spacing.shape != (3,):
            raise ValueError(f"spacing has shape {spacing.shape}: expected 3 voxel sizes (i, j, k)")
    i, j, k = index if index is not None else tuple(s // 2 for s in volume.shape)
    di, dj, dk = spacing if spacing is not None else (1.0, 1.0, 1.0)
    # each slice shown with rows = second axis flipped, so anatomy is upright
    slices = [
        (volume[:, :, k].T[::-1], dj / di),
        (volume[:, j, :].T[::-1], dk / di),
        (volume[i, :, :].T[::-1], dk / dj),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(9, 3))
    for ax, (image, aspect), title in zip(axes, slices, titles):
        ax.imshow(image, cmap="gray", aspect=aspect)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    return fig


# ------------------------------------------------------------ training and evaluation
def _histories(histories):
    """A single history dict -> {"": history}; a dict of histories stays as it is."""
    if not histories:
        raise ValueError("histories is empty")
    if all(isinstance(v, (list, tuple, np.ndarray)) for v in histories.values()):
        return {"": histories}
    return dict(histories)


def loss_curves(histories, metrics=("loss",), validation=True, title=None, best=None):
    """Training (solid) and validation (dashed) curves per epoch, one panel per metric.

    Parameters
    ----------
    histories : dict of str -> list, or dict of name -> such a dict
        One Keras history as a dict (``{"loss": [...], "val_loss": [...]}``) or several by
        name (``{"seed": h1, "improved": h2}``); each gets its own colour.
    metrics : sequence of str
        Keys to draw, e.g. ``("loss", "auc")``; ``val_<key>`` is drawn dashed if present.
    validation : bool
        Draw the ``val_`` curves.
    title : str, optional
    best : dict of name -> int, optional
        Epoch (0-based) to mark with a dot on that history's validation curve (e.g. the
        epoch whose weights early stopping restored).

    Returns
    -------
    matplotlib.figure.Figure
    """
    histories = _histories(histories)
    metrics = tuple(metrics)
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.6 * len(metrics), 3.3), squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, metric in zip(axes[0], metrics):
        for index, (name, history) in enumerate(histories.items()):
            colour = colours[index % len(colours)]
            prefix = f"{name}: " if name else ""
            if metric not in history:
                raise KeyError(f"history {name!r} has no {metric!r}; it has {sorted(history)}")
            train = np.asarray(history[metric], dtype=float)
            epochs = np.arange(1, len(train) + 1)
            ax.plot(epochs, train, "-", color=colour, label=f"{prefix}train")
            val = history.get(f"val_{metric}")
            if validation and val is not None:
                ax.plot(epochs[:len(val)], val, "--", color=colour, label=f"{prefix}validation")
                if best and name in best and best[name] is not None:
                    e = int(best[name])
                    ax.plot([e + 1], [val[e]], "o", color=colour, markersize=7,
                            label=f"{prefix}best epoch ({e + 1})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


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
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center right")
    ax.set_title(title or f"sensitivity {sensitivity:.2f}, specificity {specificity:.2f}", fontsize=10)
    fig.tight_layout()
    return fig


def heatmap_overlay(images, maps, titles=None, alpha=0.45, size=1.8, cmap="jet"):
    """X-rays with Grad-CAM heat maps on top: one row of originals, one row per set of maps.

    Parameters
    ----------
    images : array (n, H, W) or (n, H, W, 1) in [0, 1]
    maps : array (n, H, W) in [0, 1], or dict of row name -> such an array
        E.g. ``{"seed CNN": cam_seed, "improved CNN": cam_improved}``.
    titles : list of str, optional
        One per image (e.g. label and score), shown above the originals.
    alpha : float
        Opacity of the heat map.

    Returns
    -------
    matplotlib.figure.Figure
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3 or len(images) == 0:
        raise ValueError(f"images must have shape (n, H, W) with n >= 1, got {images.shape}")
    rows = maps if isinstance(maps, dict) else {"Grad-CAM": maps}
    for name, m in rows.items():
        if np.shape(m) != images.shape:
            raise ValueError(f"maps {name!r} have shape {np.shape(m)}; expected {images.shape}")
    n = len(images)
    fig, axes = plt.subplots(1 + len(rows), n, figsize=(size * n, size * (1 + len(rows)) + 0.2),
                             squeeze=False)
    for j in range(n):
        axes[0, j].imshow(images[j], cmap="gray", vmin=0, vmax=1)
        if titles is not None:
            axes[0, j].set_title(str(titles[j]), fontsize=8)
        for i, m in enumerate(rows.values(), start=1):
            axes[i, j].imshow(images[j], cmap="gray", vmin=0, vmax=1)
            axes[i, j].imshow(np.asarray(m)[j], cmap=cmap, vmin=0, vmax=1, alpha=alpha)
    for i, name in enumerate(["image", *rows], start=0):
        axes[i, 0].set_ylabel(name, fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


# ------------------------------------------------------------ autoencoders (lesson 08)
def image_rows(rows, titles=None, size=1.3, vmin=0.0, vmax=1.0, cmap="gray", suptitle=None):
    """Images side by side: one row per method, one column per image, rows labelled.

    Parameters
    ----------
    rows : dict of row name -> array (n, H, W) or (n, H, W, 1)
        E.g. ``{"clean": x, "noisy": y, "Gaussian filter": g, "denoiser": d}``; every row
        holds the same number n of images.
    titles : dict of row name -> list of n str, optional
        A title above each image of that row (e.g. its PSNR).
    size : float
        Side of one panel in inches.
    vmin, vmax : float or None
        Grey-level range shared by every panel (None: each image scaled on its own).

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not rows:
        raise ValueError("rows is empty")
    arrays = {}
    for name, images in rows.items():
        images = np.asarray(images)
        if images.ndim == 4 and images.shape[-1] == 1:
            images = images[..., 0]
        if images.ndim != 3 or len(images) == 0:
            raise ValueError(f"row {name!r} must hold images (n, H, W), got shape {images.shape}")
        arrays[name] = images
    n = {len(images) for images in arrays.values()}
    if len(n) != 1:
        raise ValueError(f"every row must hold the same number of images, got {sorted(n)}")
    n = n.pop()
    fig, axes = plt.subplots(len(arrays), n, figsize=(size * n + 0.9, size * len(arrays) + 0.3),
                             squeeze=False)
    for i, (name, images) in enumerate(arrays.items()):
        for j in range(n):
            ax = axes[i, j]
            ax.imshow(images[j], cmap=cmap, vmin=vmin, vmax=vmax)
            ax.set_xticks([])
            ax.set_yticks([])
            if titles and name in titles:
                ax.set_title(str(titles[name][j]), fontsize=7)
        axes[i, 0].set_ylabel(name, fontsize=8)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
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
        The diagonal is perfect calibration; points below it are over-confident
        predictions of pneumonia. The legend gives each model's ECE and Brier score.
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


# ----------------------------------------- anomaly scores and label fractions (lesson 08)
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


def label_fraction_curve(summary, ylabel="test ROC-AUC", title=None):
    """Mean +- sd of a figure against the fraction of labels, pretrained and from scratch.

    Parameters
    ----------
    summary : list of dict
        From :func:`medlab.pretraining.mean_sd_by_fraction`: ``fraction``, ``pretrained_mean``,
        ``pretrained_sd``, ``scratch_mean``, ``scratch_sd``.

    Returns
    -------
    matplotlib.figure.Figure
        Log-scaled x axis in percent; error bars are one sd over seeds.
    """
    if not summary:
        raise ValueError("summary is empty")
    percent = [100 * e["fraction"] for e in summary]
    fig, ax = plt.subplots(figsize=(4.6, 3.2))
    for start, marker in (("pretrained", "o-"), ("scratch", "s--")):
        ax.errorbar(percent, [e[f"{start}_mean"] for e in summary], yerr=[e[f"{start}_sd"] for e in summary],
                    fmt=marker, capsize=3, label="autoencoder-pretrained" if start == "pretrained" else "from scratch")
    ax.set_xscale("log")
    ax.set_xticks(percent, [f"{p:g} %" for p in percent])
    ax.set_xlabel("labelled training images")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------ segmentation (lesson 09)
def mask_overlay(images, masks, predicted=None, titles=None, ncols=6, size=1.7, suptitle=None):
    """Images with the outline of their masks: expert in green, prediction (if given) in red.

    Parameters
    ----------
    images : array (N, H, W) (uint8 or floats in [0, 1])
    masks : array (N, H, W) of 0/1, the reference outlines
    predicted : array (N, H, W) of 0/1, optional
    titles : list of str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    images = np.asarray(images)
    masks = np.asarray(masks)
    if images.ndim != 3 or masks.shape != images.shape:
        raise ValueError(f"images {images.shape} and masks {masks.shape}: expected equal (N, H, W)")
    if predicted is not None and np.shape(predicted) != images.shape:
        raise ValueError(f"predicted has shape {np.shape(predicted)}: expected {images.shape}")
    n = len(images)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.3), squeeze=False)
    vmax = 255 if images.dtype.kind in "ui" else 1.0
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(images[i], cmap="gray", vmin=0, vmax=vmax)
        ax.contour(masks[i], levels=[0.5], colors="lime", linewidths=1.0)
        if predicted is not None and np.any(predicted[i]):
            ax.contour(predicted[i], levels=[0.5], colors="red", linewidths=1.0)
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
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


# ------------------------------------------- several seeds per setting (lesson 10)
def mean_sd_plot(summaries, by, value="val_auc", title=None):
    """One panel per experiment: each setting's seeds as dots, their mean ± sd as a bar.

    Parameters
    ----------
    summaries : dict of str -> list of dict
        Panel title -> rows of :func:`medlab.evidence.mean_sd_by` (``values``, ``mean``, ``sd``).
    by : dict of str -> str
        Panel title -> the column that names the setting in that panel.
    value : str
        The figure's name, for the y label.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    n = len(summaries)
    if n == 0:
        raise ValueError("mean_sd_plot: no summaries")
    missing = [name for name in summaries if name not in by]
    if missing:
        raise ValueError(f"mean_sd_plot: by names no column for the panel {missing[0]!r}; expected a key for "
                         f"each of {list(summaries)}")
    fig, axes = plt.subplots(1, n, figsize=(2.6 * n + 0.6, 2.9), squeeze=False, sharey=True)
    for ax, (name, rows) in zip(axes[0], summaries.items()):
        labels = [str(row[by[name]]) for row in rows]
        for i, row in enumerate(rows):
            ax.plot([i] * len(row["values"]), row["values"], "o", color="0.6", markersize=3)
            ax.errorbar([i], [row["mean"]], yerr=[row["sd"]], fmt="s", color="C0", capsize=4, markersize=5)
        ax.set_xticks(range(len(rows)), labels, rotation=30, fontsize=8)
        ax.set_xlim(-0.6, len(rows) - 0.4)
        ax.set_title(name, fontsize=9)
    axes[0][0].set_ylabel(value)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def mean_curves(curves, keys=("train_loss", "val_loss"), title=None, ylabel="loss"):
    """Mean ± sd over seeds of per-epoch curves, one line (and band) per key.

    Parameters
    ----------
    curves : list of dict of str -> list of float
        One dict per seed (e.g. ``Trial.curves``), same epochs each.
    keys : sequence of str
    title, ylabel : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not curves:
        raise ValueError("mean_curves: no curves")
    fig, ax = plt.subplots(figsize=(5.2, 3.2))
    for index, key in enumerate(keys):
        values = np.array([c[key] for c in curves], dtype=np.float64)
        epochs = np.arange(1, values.shape[1] + 1)
        mean, sd = values.mean(axis=0), values.std(axis=0, ddof=1) if len(values) > 1 else 0 * values[0]
        ax.plot(epochs, mean, color=f"C{index}", label=f"{key} (mean of {len(values)})")
        ax.fill_between(epochs, mean - sd, mean + sd, color=f"C{index}", alpha=0.2)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
