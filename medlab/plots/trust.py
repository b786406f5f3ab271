"""Figures of lesson 09: coverage curves, OOD separation, saliency under randomisation."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def coverage_plot(curves, marks=(0.8,), title="selective prediction on the test split"):
    """AUC and accuracy against coverage, one line per uncertainty score.

    Parameters
    ----------
    curves : dict of name -> dict
        Results of :func:`medlab.metrics.coverage_curve` (``coverage``, ``auc``, ``accuracy``).
    marks : sequence of float
        Coverages marked with a dotted vertical line (e.g. the operating point 0.8).
    title : str

    Returns
    -------
    matplotlib.figure.Figure
        Two panels; x: fraction of images the model answers (the rest referred), y: the figure
        on the answered images.
    """
    if not curves:
        raise ValueError("curves is empty; pass a dict of name -> coverage_curve(...)")
    fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.3))
    for ax, key, label in zip(axes, ("auc", "accuracy"), ("ROC AUC of the answered images",
                                                        "accuracy of the answered images")):
        for name, c in curves.items():
            ax.plot(100 * np.asarray(c["coverage"]), c[key], "o-", ms=3, label=name)
        for mark in marks:
            ax.axvline(100 * mark, color="grey", linestyle=":", label=f"{100 * mark:.0f} % answered")
        ax.set_xlabel("coverage: images answered (%), the rest referred")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.invert_xaxis()
    axes[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def ood_auroc_plot(intervals, title="separating new images from test X-rays", usual="a test X-ray"):
    """AUROC of each out-of-distribution score with its bootstrap interval (a forest plot).

    Parameters
    ----------
    intervals : dict of name -> medlab.metrics.Interval
        From :func:`medlab.metrics.ood_auroc`.
    usual : str
        What the new images were compared with, for the axis label.

    Returns
    -------
    matplotlib.figure.Figure
        0.5 (no separation) and 0.95 (the lesson's bar) drawn as dotted lines.
    """
    if not intervals:
        raise ValueError("intervals is empty; pass a dict of name -> Interval")
    names = list(intervals)
    fig, ax = plt.subplots(figsize=(6.2, 0.42 * len(names) + 1.6))
    y = np.arange(len(names))[::-1]
    est = np.array([[intervals[n].estimate, intervals[n].low, intervals[n].high] for n in names])
    ax.errorbar(est[:, 0], y, xerr=[est[:, 0] - est[:, 1], est[:, 2] - est[:, 0]], fmt="o", capsize=3,
                label="AUROC, 95 % bootstrap interval")
    ax.axvline(0.5, color="k", linestyle=":", linewidth=1, label="0.5: no separation")
    ax.axvline(0.95, color="C2", linestyle="--", linewidth=1, label="0.95")
    ax.set_yticks(y, names, fontsize=8)
    ax.set_xlim(0, 1.02)
    ax.set_xlabel(f"AUROC: new image scored above {usual} (0 to 1)")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def randomisation_plot(rows, labels=None, title="saliency after randomising the weights"):
    """Similarity of the saliency maps to the trained network's, step by step of randomisation.

    Parameters
    ----------
    rows : list of dict, or dict of name -> list of dict
        From :func:`medlab.trust.cascading_randomisation` (``randomised``, ``spearman``,
        ``ssim``); a dict draws several methods.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
        x: the layers randomised so far (output first); y: rank correlation and SSIM (-1 to 1;
        1 = unchanged). A method that explains the model falls towards 0.
    """
    groups = rows if isinstance(rows, dict) else {"saliency": rows}
    if not groups or any(not r for r in groups.values()):
        raise ValueError("rows is empty; pass cascading_randomisation's rows")
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    for name, r in groups.items():
        steps = [row["randomised"] for row in r]
        for key, style in (("spearman", "o-"), ("ssim", "s--")):
            ax.plot(range(len(steps)), [row[key] for row in r], style, ms=4,
                    label=f"{name}: {'rank correlation' if key == 'spearman' else 'SSIM'}")
    ax.set_xticks(range(len(steps)), steps, rotation=30, ha="right", fontsize=7)
    ax.set_xlabel("layers re-initialised, from the output down")
    ax.set_ylabel("similarity to the trained\nnetwork's maps (1 = same)")
    lowest = min(min(row[k] for row in r for k in ("spearman", "ssim")) for r in groups.values())
    ax.set_ylim(min(-0.1, lowest - 0.05), 1.05)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


__all__ = ["coverage_plot", "ood_auroc_plot", "randomisation_plot"]
