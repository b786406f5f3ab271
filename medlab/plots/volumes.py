"""Plots of lesson 13 (volumes): three planes with masks, methods side by side, volume agreement.

Every function returns a :class:`matplotlib.figure.Figure` with axes in mm (or labelled units).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

from medlab import validate

#: Colours of classes 1, 2, ... in overlays (anterior orange, posterior blue).
CLASS_COLOURS = ("tab:orange", "tab:cyan", "tab:green", "tab:purple")


def plane(volume, axis, index):
    """The 2-D slice of a (D, H, W) volume at ``index`` along ``axis``, as drawn (rows, cols)."""
    v = np.asarray(volume)
    axis = validate.integer("axis", axis, 0, 2)
    index = validate.integer("index", index, 0, v.shape[axis] - 1)
    return np.take(v, index, axis=axis)


def _overlay(ax, labels, extent, outline=False):
    """Classes 1, 2, ... of a slice over what ``ax`` shows: filled, or as outlines."""
    k = int(max(np.max(labels), 1))
    colours = ListedColormap(["none", *CLASS_COLOURS[:k]])
    if outline:
        for c in range(1, k + 1):
            if np.any(labels == c):
                ax.contour(labels == c, levels=[0.5], colors=[CLASS_COLOURS[c - 1]], linewidths=1.0,
                           extent=extent, origin="lower")
    else:
        ax.imshow(np.ma.masked_equal(labels, 0), cmap=colours, vmin=0, vmax=k, alpha=0.45, extent=extent,
                  origin="lower", interpolation="nearest")


def volume_planes(volume, labels=None, spacing_mm=(1.0, 1.0, 1.0), index=None, names=("anterior", "posterior"),
                  predicted=None, title=None, size=2.6, units="MR signal (scaled, no unit)"):
    """The three orthogonal planes through a voxel, with the classes overlaid, axes in mm.

    Parameters
    ----------
    volume : array (D, H, W)
    labels : int array (D, H, W), optional
        Class numbers, filled in colour (1 orange, 2 cyan).
    spacing_mm : 3 floats
    index : 3 ints, optional
        The voxel the planes pass through; default the centre of the labelled voxels (or of
        the volume).
    names : class names of 1, 2, ... for the legend
    predicted : int array (D, H, W), optional
        Drawn as outlines over the filled ``labels`` (a prediction against the expert).
    units : str
        Label of the grey scale's colourbar.

    Returns
    -------
    matplotlib.figure.Figure
    """
    v = validate.real_array("volume", volume, dtype_kinds="uifb", ndim=3, axes="D, H, W")
    spacing = [float(s) for s in spacing_mm]
    if index is None:
        where = np.argwhere(labels > 0) if labels is not None and np.any(labels) else None
        index = tuple(int(i) for i in (where.mean(axis=0) if where is not None else np.array(v.shape) // 2))
    fig, axes = plt.subplots(1, 3, figsize=(3 * size + 1.2, size))
    vmin, vmax = float(v.min()), float(v.max())
    for axis, ax in enumerate(axes):
        rows, cols = [a for a in range(3) if a != axis]
        image = plane(v, axis, index[axis]).T  # rows: the later axis, drawn upwards
        extent = (0, v.shape[rows] * spacing[rows], 0, v.shape[cols] * spacing[cols])
        shown = ax.imshow(image, cmap="gray", extent=extent, origin="lower", interpolation="nearest",
                          vmin=vmin, vmax=vmax)
        if labels is not None:
            _overlay(ax, plane(labels, axis, index[axis]).T, extent)
        if predicted is not None:
            _overlay(ax, plane(predicted, axis, index[axis]).T, extent, outline=True)
        ax.set_xlabel(f"axis {rows} (mm)", fontsize=8)
        ax.set_ylabel(f"axis {cols} (mm)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_title(f"axis {axis} at voxel {index[axis]}", fontsize=9)
    handles = [Patch(color=CLASS_COLOURS[i], alpha=0.6, label=f"{names[i]} ({'filled: expert' if predicted is not None else 'expert'})")
               for i in range(len(names))] if labels is not None else []
    if predicted is not None:
        handles += [Patch(facecolor="none", edgecolor=CLASS_COLOURS[i], label=f"{names[i]} (outline: predicted)")
                    for i in range(len(names))]
    fig.subplots_adjust(left=0.07, right=0.88, bottom=0.3 if handles else 0.18, top=0.8, wspace=0.45)
    bar = fig.colorbar(shown, cax=fig.add_axes((0.91, 0.3 if handles else 0.18, 0.012, 0.5)))
    bar.set_label(units, fontsize=7)
    bar.ax.tick_params(labelsize=7)
    if handles:
        fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 4), fontsize=7, frameon=False)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def method_seeds(values, ylabel="mean test Dice of the two structures", title=None):
    """One column per method, one dot per seed, lines joining a seed's runs (paired by seed).

    Parameters
    ----------
    values : dict of method name -> list of float (one per seed, same seeds in the same order)

    Returns
    -------
    matplotlib.figure.Figure
    """
    names = list(values)
    data = np.array([values[n] for n in names], dtype=np.float64)
    if data.ndim != 2 or data.size == 0:
        raise ValueError("values: expected one list of per-seed figures per method, all of one length")
    fig, ax = plt.subplots(figsize=(4.6, 3.2))
    x = np.arange(len(names))
    for s in range(data.shape[1]):
        ax.plot(x, data[:, s], color="grey", alpha=0.5, linewidth=0.8, marker="o", markersize=4,
                label="one seed (paired runs)" if s == 0 else None)
    ax.errorbar(x + 0.12, data.mean(axis=1), yerr=data.std(axis=1, ddof=1) if data.shape[1] > 1 else None,
                fmt="s", color="tab:red", capsize=3, label="mean ± sd over seeds")
    ax.set_xticks(x, names)
    ax.set_xlabel("method")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def volume_agreement(reference_mm3, estimate_mm3, title="hippocampal volume: prediction against expert"):
    """Bland-Altman in percent: the difference as a share of the pair's mean, against the mean in mm³.

    Returns
    -------
    matplotlib.figure.Figure
        Dots per volume, the bias and bias ± 1.96 sd in % (:func:`medlab.metrics.percent_differences`).
    """
    from medlab import metrics

    agreement = metrics.percent_differences(reference_mm3, estimate_mm3)
    fig, ax = plt.subplots(figsize=(5.0, 3.4))
    ax.scatter(agreement["mean"], agreement["difference"], s=14, color="tab:blue", label="one test volume")
    ax.axhline(agreement["bias"], color="tab:red", label=f"bias {agreement['bias']:+.1f} %")
    for key in ("lower", "upper"):
        ax.axhline(agreement[key], color="tab:red", linestyle="--",
                   label="95 % limits, bias ± 1.96 sd" if key == "lower" else None)
    ax.axhline(0, color="grey", linewidth=0.6)
    ax.set_xlabel("mean of the two volumes (mm³)")
    ax.set_ylabel("predicted - expert (% of the mean)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


__all__ = ["CLASS_COLOURS", "method_seeds", "plane", "volume_agreement", "volume_planes"]
