"""Figures of the autoencoder lessons (09, 10): anomaly scores compared, paired differences,
mean error maps with their scale.

Every function returns the matplotlib Figure; notebooks call ``plt.show()``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["error_gallery", "error_map_comparison", "interval_plot", "score_auc_plot"]


def score_auc_plot(rows, title="anomaly scores: ROC-AUC"):
    """Validation and test ROC-AUC of every score, the test AUC with its 95 % interval.

    Parameters
    ----------
    rows : list of medlab.anomaly.ScoreRow
        From :func:`medlab.anomaly.compare_scores`: ``name``, ``val_auc`` (float),
        ``test`` (an Interval: ``estimate``, ``low``, ``high``), ``baseline`` (bool).
    title : str

    Returns
    -------
    matplotlib.figure.Figure
        One row per score (baselines marked in the label), AUC on x from 0.4 to 1 (no unit,
        0.5 = chance, drawn and named in the legend).
    """
    rows = list(rows)
    if not rows:
        raise ValueError("rows is empty; pass the ScoreRows of anomaly.compare_scores")
    fig, ax = plt.subplots(figsize=(6.0, 0.42 * len(rows) + 1.8))
    y = np.arange(len(rows))[::-1]
    test = np.array([[r.test.estimate, r.test.low, r.test.high] for r in rows])
    ax.errorbar(test[:, 0], y, xerr=[test[:, 0] - test[:, 1], test[:, 2] - test[:, 0]], fmt="o",
                color="C0", capsize=3, label="test AUC, 95 % bootstrap interval")
    ax.plot([r.val_auc for r in rows], y, "s", mfc="none", color="C1", label="validation AUC")
    ax.axvline(0.5, color="k", linestyle=":", linewidth=1, label="chance (0.5)")
    ax.set_yticks(y, [r.name + (" (baseline)" if r.baseline else "") for r in rows], fontsize=8)
    ax.set_xlim(0.4, 1.0)
    ax.set_xlabel("ROC-AUC (no unit; 0.5 = chance, 1 = perfect ranking)")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def interval_plot(intervals, xlabel, title=None):
    """Paired differences with their intervals (a forest plot), zero drawn as "no difference".

    Parameters
    ----------
    intervals : dict of name -> Interval
        E.g. ``metrics.auc_difference_interval`` results: ``estimate``, ``low``, ``high``
        (in the units of ``xlabel``).
    xlabel : str
        What the difference is, with its unit.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not intervals:
        raise ValueError("intervals is empty; pass a dict of name -> Interval")
    names = list(intervals)
    fig, ax = plt.subplots(figsize=(6.0, 0.5 * len(names) + 1.9))
    y = np.arange(len(names))[::-1]
    est = np.array([[intervals[n].estimate, intervals[n].low, intervals[n].high] for n in names])
    ax.errorbar(est[:, 0], y, xerr=[est[:, 0] - est[:, 1], est[:, 2] - est[:, 0]], fmt="o",
                capsize=4, label="difference, paired 95 % bootstrap interval")
    ax.axvline(0.0, color="k", linestyle=":", linewidth=1, label="no difference (0)")
    ax.set_yticks(y, names, fontsize=8)
    ax.set_ylim(-0.8, len(names) - 0.2)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def error_map_comparison(reference, other, names=("train normals", "test normals"),
                         units="grey level, 1 = full scale"):
    """Two mean error maps and their difference, each with a colourbar in ``units``.

    Parameters
    ----------
    reference, other : arrays (H, W) or (H, W, 1)
        E.g. the mean of ``|x - x_hat|`` over the normal images of two splits.
    names : (str, str)
        Their titles; the third panel is ``other - reference``.
    units : str
        The unit of the maps, written on the colourbars.

    Returns
    -------
    matplotlib.figure.Figure
        Three panels: the two maps on one shared grey scale from 0, then the difference on a
        red-blue scale symmetric about 0 (red: ``other`` has the larger error).
    """
    a = np.asarray(reference, dtype=float).squeeze()
    b = np.asarray(other, dtype=float).squeeze()
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"reference and other must be two maps (H, W) of one shape; got {a.shape} and {b.shape}")
    fig, axes = plt.subplots(1, 3, figsize=(8.4, 2.9))
    top = max(a.max(), b.max(), 1e-12)
    for ax, image, name in zip(axes[:2], (a, b), names):
        shown = ax.imshow(image, cmap="gray", vmin=0.0, vmax=top)
        ax.set_title(f"mean |x - x_hat|, {name}", fontsize=8)
        fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04).set_label(units, fontsize=7)
    diff = b - a
    limit = max(float(np.abs(diff).max()), 1e-12)
    shown = axes[2].imshow(diff, cmap="RdBu_r", vmin=-limit, vmax=limit)
    axes[2].set_title(f"{names[1]} - {names[0]}", fontsize=8)
    fig.colorbar(shown, ax=axes[2], fraction=0.046, pad=0.04).set_label(units, fontsize=7)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def error_gallery(images, reconstructions, titles=None, vmax=0.25, suptitle=None,
                  units="grey level, 1 = full scale"):
    """Images, their reconstructions and the error maps ``|x - x_hat|``, one column per image.

    Parameters
    ----------
    images, reconstructions : arrays (N, H, W) or (N, H, W, 1), values in [0, 1]
    titles : sequence of N str, optional
        Above each column (e.g. the label and the score).
    vmax : float
        The error shown white; larger errors are clipped to it.
    suptitle : str, optional
    units : str
        The unit of the pixel values, written on both colourbars.

    Returns
    -------
    matplotlib.figure.Figure
        Three rows (x, x_hat, |x - x_hat|, named on the left); a colourbar for the grey rows
        (0 to 1) and one for the error row (0 to ``vmax``), both labelled ``units``.
    """
    x = np.asarray(images, dtype=float)
    r = np.asarray(reconstructions, dtype=float)
    if x.ndim == 4:
        x, r = x[..., 0], r[..., 0]
    if x.ndim != 3 or x.shape != r.shape or len(x) == 0:
        raise ValueError(f"images and reconstructions must be (N, H, W) of one shape, N >= 1; got {x.shape} and {r.shape}")
    n = len(x)
    fig, axes = plt.subplots(3, n, figsize=(1.35 * n + 1.0, 4.3), squeeze=False)
    for j in range(n):
        grey = axes[0, j].imshow(x[j], cmap="gray", vmin=0.0, vmax=1.0)
        axes[1, j].imshow(r[j], cmap="gray", vmin=0.0, vmax=1.0)
        err = axes[2, j].imshow(np.abs(x[j] - r[j]), cmap="magma", vmin=0.0, vmax=vmax)
        if titles is not None:
            axes[0, j].set_title(titles[j], fontsize=7)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    for i, name in enumerate(("x", "x_hat", "|x - x_hat|")):
        axes[i, 0].set_ylabel(name, fontsize=8)
    fig.colorbar(grey, ax=axes[:2, :].ravel().tolist(), fraction=0.03, pad=0.02).set_label(units, fontsize=7)
    fig.colorbar(err, ax=axes[2, :].ravel().tolist(), fraction=0.03, pad=0.02, extend="max").set_label(
        units, fontsize=7)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    return fig
