"""Figures of the FAQ's second part (lesson 15): capacity against fit, and cost against input size.

Every function returns the matplotlib Figure; notebooks call ``plt.show()``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["capacity_plot", "flops_plot"]

#: Figure labels of the columns a capacity sweep plots.
_NAMES = {"train_loss": "training", "val_loss": "validation", "train_auc": "training", "val_auc": "validation"}


def _column(rows, name, where):
    if not rows:
        raise ValueError(f"{where}: no rows")
    if name not in rows[0]:
        raise ValueError(f"{where}: column {name!r} not in the rows; they have {sorted(rows[0])}")
    return np.asarray([float(r[name]) for r in rows], dtype=np.float64)


def capacity_plot(rows, panels=(("train_loss", "val_loss"), ("train_auc", "val_auc")),
                  ylabels=("cross-entropy (nats per image)", "ROC AUC (0 to 1)"), ylims=None, title=None):
    """Training and validation figures against a network's size: seeds as dots, means joined.

    Parameters
    ----------
    rows : list of dict
        One row per network size and seed (e.g. ``experiments.grid(run, seeds=..., width=[...])``),
        with ``parameters`` (trainable weights, count) and the columns of ``panels``.
    panels : sequence of (str, ...)
        One panel per tuple; each column a colour (training blue, validation orange).
    ylabels : sequence of str
        One y label (with units) per panel.
    ylims : sequence of (float or None, float or None), optional
        One y range per panel (None: matplotlib's); fix it so a small gap is not magnified.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        Panels side by side; x: trainable weights on a log scale; each dot one seed, each line
        the mean over seeds at each size.
    """
    if len(ylabels) != len(panels):
        raise ValueError(f"capacity_plot: ylabels has {len(ylabels)} labels for {len(panels)} panels; give one each")
    if ylims is not None and len(ylims) != len(panels):
        raise ValueError(f"capacity_plot: ylims has {len(ylims)} ranges for {len(panels)} panels; give one each")
    weights = _column(rows, "parameters", "capacity_plot")
    sizes = np.unique(weights)
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.2), squeeze=False)
    for index_panel, (ax, columns, ylabel) in enumerate(zip(axes[0], panels, ylabels)):
        for index, name in enumerate(columns):
            values = _column(rows, name, "capacity_plot")
            colour = f"C{index}"
            ax.plot(weights, values, "o", color=colour, alpha=0.45, markersize=4)
            means = [values[weights == w].mean() for w in sizes]
            ax.plot(sizes, means, "-", color=colour, label=f"{_NAMES.get(name, name)} (mean; dots: seeds)")
        ax.set_xscale("log")
        ax.set_xlabel("trainable weights (count, log scale)")
        ax.set_ylabel(ylabel)
        if ylims is not None:
            ax.set_ylim(*ylims[index_panel])
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def flops_plot(rows, title="Cost of one forward pass"):
    """Floating-point operations per image against the input's side, one line per network.

    Parameters
    ----------
    rows : list of dict
        ``network`` (name), ``side`` (input side, pixels) and ``MFLOPs per image``
        (millions of floating-point operations of one forward pass).
    title : str

    Returns
    -------
    matplotlib.figure.Figure
        Both axes on log scales: x the side in pixels, y MFLOPs per image.
    """
    sides = _column(rows, "side", "flops_plot")
    flops = _column(rows, "MFLOPs per image", "flops_plot")
    fig, ax = plt.subplots(figsize=(4.6, 3.2))
    names = list(dict.fromkeys(r["network"] for r in rows))
    for index, name in enumerate(names):
        mine = np.asarray([r["network"] == name for r in rows])
        order = np.argsort(sides[mine])
        ax.plot(sides[mine][order], flops[mine][order], "o-", color=f"C{index}", label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ticks = sorted(set(sides.tolist()))
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("input side (pixels, log scale)")
    ax.set_ylabel("MFLOPs per image (log scale)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
