"""Figures of lesson 12 (segmentation): probability maps, masks at several thresholds, and
Bland-Altman limits that depend on the size measured.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from medlab import validate

_PROBABILITY_LABEL = "p(inside), 0 to 1"


def _images(name, images):
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3 or len(images) == 0:
        raise validate.ArgumentError(f"{name} must hold images (N, H, W), got shape {images.shape}")
    return images


def probability_maps(probabilities, titles=None, size=1.7, suptitle=None):
    """A row of probability maps on one fixed scale, 0 to 1, with one shared colourbar.

    Parameters
    ----------
    probabilities : array (N, H, W) or (N, H, W, 1), values in [0, 1]
        The network's probability that each pixel is inside the structure.
    titles : list of N str, optional
    size : float
        Side of one panel in inches.

    Returns
    -------
    matplotlib.figure.Figure
        N image axes (no ticks) and a colourbar labelled with the probability's scale.
    """
    p = _images("probabilities", probabilities)
    if p.min() < 0 or p.max() > 1:
        raise validate.ArgumentError("probabilities must lie in [0, 1]")
    if titles is not None and len(titles) != len(p):
        raise validate.ArgumentError(f"titles has {len(titles)} entries for {len(p)} maps")
    fig, axes = plt.subplots(1, len(p), figsize=(size * len(p) + 0.9, size + 0.4), squeeze=False,
                             layout="constrained")
    for i, ax in enumerate(axes[0]):
        shown = ax.imshow(p[i], cmap="gray", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    fig.colorbar(shown, ax=list(axes[0]), fraction=0.03, pad=0.01, label=_PROBABILITY_LABEL)
    if suptitle:
        fig.suptitle(suptitle, fontsize=9)
    return fig


def masks_at_thresholds(image, probability, reference, thresholds=(0.1, 0.5, 0.9), size=2.2):
    """The probability map, then the mask it gives at each threshold over the image.

    Parameters
    ----------
    image : array (H, W), grey levels (uint8 0 to 255, or floats 0 to 1)
    probability : array (H, W) in [0, 1]
    reference : array (H, W) of 0/1
        The expert's mask, outlined in green; each thresholded mask is outlined in red.
    thresholds : sequence of float in [0, 1]

    Returns
    -------
    matplotlib.figure.Figure
        1 + len(thresholds) image axes; the first has a colourbar of the probability, the
        others are titled with the threshold, the mask's area in pixels and its Dice.
    """
    from medlab import metrics

    image = _images("image", np.asarray(image)[None])[0]
    probability = _images("probability", np.asarray(probability)[None])[0]
    reference = _images("reference", np.asarray(reference)[None])[0]
    if not image.shape == probability.shape == reference.shape:
        raise validate.ArgumentError(f"image {image.shape}, probability {probability.shape} and reference "
                                     f"{reference.shape} must have the same shape (H, W)")
    thresholds = [validate.number("thresholds", t, 0, 1) for t in thresholds]
    if not thresholds:
        raise validate.ArgumentError("thresholds is empty; pass e.g. (0.1, 0.5, 0.9)")
    fig, axes = plt.subplots(1, 1 + len(thresholds), figsize=(size * (1 + len(thresholds)) + 0.8, size + 0.8),
                             layout="constrained")
    shown = axes[0].imshow(probability, cmap="gray", vmin=0, vmax=1)
    axes[0].contour(reference, levels=[0.5], colors="lime", linewidths=1.0)
    axes[0].set_title("probability map", fontsize=8)
    fig.colorbar(shown, ax=axes[0], fraction=0.046, pad=0.02, label=_PROBABILITY_LABEL)
    vmax = 255 if image.dtype.kind in "ui" else 1.0
    for t, ax in zip(thresholds, axes[1:]):
        mask = (probability >= t).astype(np.uint8)
        ax.imshow(image, cmap="gray", vmin=0, vmax=vmax)
        ax.contour(reference, levels=[0.5], colors="lime", linewidths=1.0)
        if mask.any() and not mask.all():
            ax.contour(mask, levels=[0.5], colors="red", linewidths=1.0)
        ax.set_title(f"threshold {t:.1f}: {int(mask.sum())} px\nDice {metrics.dice(reference, mask):.2f}",
                     fontsize=8)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("expert (green) and the mask p >= threshold (red)", fontsize=9)
    return fig


def bland_altman_limits(reference, estimate, units="mm", title="Bland-Altman plot", degree=1):
    """Bland-Altman plot with both kinds of 95 % limits: constant, and depending on the mean.

    Parameters
    ----------
    reference, estimate : array_like (N,)
        Two measurements of the same N things in ``units`` (e.g. the sonographer's head
        circumference and the one measured on the predicted mask, mm).
    units : str
        Shown in the axis labels and the legend.
    degree : int
        Degree of the regressions of :func:`medlab.metrics.bland_altman_regression`.

    Returns
    -------
    matplotlib.figure.Figure
        :func:`medlab.plots.bland_altman_plot` (differences against means, the constant bias
        and bias -/+ 1.96 sd in grey) with the regression bias and 95 % limits of
        :func:`medlab.metrics.bland_altman_regression` as red curves over the mean; each
        named in the legend.
    """
    from medlab import metrics
    from medlab.plots.evaluation import bland_altman_plot

    reg = metrics.bland_altman_regression(reference, estimate, degree=degree)
    fig = bland_altman_plot(reference, estimate, units=units, title=title)
    fig.set_size_inches(6.0, 3.8)
    ax = fig.axes[0]
    for line in ax.get_lines():  # the constant band of bland_altman_plot, named as such
        if not line.get_label().startswith("_"):
            line.set_label("constant " + line.get_label().replace("95 % limits", "95 % limits, bias ± 1.96 sd,"))
            line.set_color("grey")
    for line in ax.get_lines():
        if line.get_linestyle() == "--":
            line.set_color("grey")
    ax.plot(reg["grid"], reg["bias"], color="tab:red", linewidth=1.2, label="bias depending on the mean")
    ax.plot(reg["grid"], reg["lower"], color="tab:red", linestyle="--", linewidth=1.0,
            label="95 % limits depending on the mean")
    ax.plot(reg["grid"], reg["upper"], color="tab:red", linestyle="--", linewidth=1.0)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig

__all__ = ["bland_altman_limits", "masks_at_thresholds", "probability_maps"]
