"""Figures of networks and of their training: the flatten order, a dense kernel, activation
curves, the article's network as a diagram, feature maps layer by layer, a loss along one
weight and optimiser paths on a 2-D loss surface (lessons 04 to 06).

Every function returns the matplotlib Figure; notebooks call ``plt.show()``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from medlab import validate

__all__ = [
    "activation_curves", "dense_kernel_plot", "feature_maps_plot", "flatten_order_plot",
    "loss_along_weight", "loss_surface_paths", "network_diagram", "parameter_bars",
]


def flatten_order_plot(maps, flat):
    """A small stack of maps with every entry numbered, and the flattened vector below it.

    Parameters
    ----------
    maps : array (H, W, C)
        One image's feature maps; the entries are best ``arange(H * W * C)`` so that each
        number is its own position in row-major order.
    flat : array (H * W * C,)
        The flattened vector (e.g. Keras ``Flatten``'s output for this image).

    Returns
    -------
    matplotlib.figure.Figure
        One panel per channel (rows i, columns j) and one strip (position d), coloured by
        value with a colourbar.
    """
    maps = validate.real_array("maps", maps, ndim=3, axes="height, width, channels")
    flat = validate.real_array("flat", flat, ndim=1)
    if flat.size != maps.size:
        raise ValueError(f"flat has {flat.size} entries: expected H * W * C = {maps.size}")
    h, w, c = maps.shape
    fig = plt.figure(figsize=(max(6.0, 0.32 * flat.size), 3.4))
    grid = fig.add_gridspec(2, c, height_ratios=[h, 1.4], hspace=0.75)
    norm = plt.Normalize(float(flat.min()), float(flat.max()))
    for channel in range(c):
        ax = fig.add_subplot(grid[0, channel])
        image = ax.imshow(maps[..., channel], cmap="viridis", norm=norm)
        for (i, j), value in np.ndenumerate(maps[..., channel]):
            ax.text(j, i, f"{value:g}", ha="center", va="center", fontsize=8, color="w")
        ax.set(xticks=range(w), yticks=range(h), xlabel="column j (pixel)", ylabel="row i (pixel)",
               title=f"channel c = {channel}")
    strip = fig.add_subplot(grid[1, :])
    strip.imshow(flat[None, :], cmap="viridis", norm=norm, aspect="auto")
    for d, value in enumerate(flat):
        strip.text(d, 0, f"{value:g}", ha="center", va="center", fontsize=7, color="w")
    strip.set(yticks=[], xticks=range(0, flat.size, max(1, flat.size // 12)),
              xlabel="position d in the flattened vector (index)", title="Flatten: one row per image")
    fig.colorbar(image, ax=fig.axes, label="entry's value (here its row-major index)", shrink=0.8)
    return fig


def dense_kernel_plot(kernel, image_shape, unit=0):
    """A dense layer's kernel as an image, and one unit's weights laid back on the image grid.

    Parameters
    ----------
    kernel : array (D, U)
        Keras's kernel of a dense layer on flattened images, D = H * W (one channel).
    image_shape : (H, W)
        The shape of the images that were flattened.
    unit : int
        The unit whose column is drawn as an H x W image.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels, each with a colourbar of the weight (no unit: it multiplies a grey value).
    """
    kernel = validate.real_array("kernel", kernel, ndim=2, axes="inputs, units")
    h, w = validate.pair("image_shape", image_shape, low=1)
    if h * w != kernel.shape[0]:
        raise ValueError(f"image_shape {(h, w)} has {h * w} pixels: expected D = {kernel.shape[0]}")
    unit = validate.integer("unit", unit, low=0, high=kernel.shape[1] - 1)
    limit = float(np.abs(kernel).max()) or 1.0
    fig, (left, right) = plt.subplots(1, 2, figsize=(8.4, 3.4), gridspec_kw={"width_ratios": [1.2, 1]})
    image = left.imshow(kernel, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto", interpolation="nearest")
    left.set(xlabel="unit u (output)", ylabel="input d (pixel index)", title=f"W: {kernel.shape}")
    fig.colorbar(image, ax=left, label="weight (per unit of grey value)")
    image = right.imshow(kernel[:, unit].reshape(h, w), cmap="RdBu_r", vmin=-limit, vmax=limit)
    right.set(xlabel="column (pixel)", ylabel="row (pixel)", title=f"unit {unit}'s weights on the image grid")
    fig.colorbar(image, ax=right, label="weight (per unit of grey value)")
    fig.tight_layout()
    return fig


def activation_curves(z, curves, markers=None, title="Activations", ylabel="output (probability, no unit)"):
    """Activation functions against their input.

    Parameters
    ----------
    z : array (n,)
        Inputs (logits, no unit).
    curves : dict of str -> array (n,)
        Lines, by legend label.
    markers : dict of str -> array (n,), optional
        Points drawn over the lines (e.g. a softmax column that should equal the sigmoid).
    title, ylabel : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    z = validate.real_array("z", z, ndim=1)
    if not curves:
        raise ValueError("curves is empty")
    fig, ax = plt.subplots(figsize=(5.6, 3.4))
    for label, values in curves.items():
        ax.plot(z, validate.same_shape(f"curves[{label!r}]", np.asarray(values), z.shape, of="z"), label=label)
    for label, values in (markers or {}).items():
        ax.plot(z[::4], np.asarray(values)[::4], "o", mfc="none", ms=5, label=label)
    ax.axhline(0.5, color="grey", lw=0.6, ls=":")
    ax.axvline(0, color="grey", lw=0.6, ls=":")
    ax.set(xlabel="input z (logit, no unit)", ylabel=ylabel, title=title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def network_diagram(rows, input_shape, title="The network"):
    """A layered network drawn top to bottom: every tensor's shape and every layer's parameters.

    Parameters
    ----------
    rows : list of dict
        ``medlab.summary.layer_table(model)``: keys ``name``, ``kind``, ``output_shape``,
        ``parameters``.
    input_shape : tuple
        One image's shape, e.g. (150, 150, 3).
    title : str

    Returns
    -------
    matplotlib.figure.Figure
        One box per tensor (its shape), one arrow per layer (its kind and parameters).
    """
    if not rows:
        raise ValueError("rows is empty")
    shapes = [tuple(input_shape)] + [tuple(row["output_shape"][1:]) for row in rows]
    fig, ax = plt.subplots(figsize=(6.4, 0.72 * len(shapes) + 0.5))
    sizes = np.array([np.prod(shape) for shape in shapes], float)
    widths = 0.25 + 0.65 * np.log10(sizes) / np.log10(sizes.max())
    for k, (shape, width) in enumerate(zip(shapes, widths)):
        y = -1.5 * k
        ax.add_patch(plt.Rectangle((-width / 2, y - 0.4), width, 0.8, color="C0", alpha=0.25))
        text = " x ".join(map(str, shape))
        ax.text(0, y, f"{'input' if k == 0 else rows[k - 1]['name']}: {text}  ({int(sizes[k]):,} numbers)",
                ha="center", va="center", fontsize=8)
        if k:
            row = rows[k - 1]
            ax.annotate("", xy=(0, y + 0.4), xytext=(0, y + 1.1), arrowprops={"arrowstyle": "->"})
            ax.text(0.05, y + 0.75, f"{row['kind']}, {row['parameters']:,} parameters", fontsize=7,
                    va="center", color="C3")
    ax.set(xlim=(-0.6, 0.6), ylim=(-1.5 * (len(shapes) - 1) - 0.6, 0.6), title=title)
    ax.axis("off")
    fig.tight_layout()
    return fig


def parameter_bars(rows):
    """Parameters per layer, on a log scale (layers without weights are left out).

    Parameters
    ----------
    rows : list of dict
        ``medlab.summary.layer_table(model)``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = [row for row in rows if row["parameters"]]
    if not rows:
        raise ValueError("rows: no layer has parameters")
    total = sum(row["parameters"] for row in rows)
    fig, ax = plt.subplots(figsize=(6.0, 0.5 * len(rows) + 1.2))
    names = [row["name"] for row in rows][::-1]
    counts = [row["parameters"] for row in rows][::-1]
    ax.barh(names, counts, color="C0")
    for k, count in enumerate(counts):
        ax.text(count, k, f" {count:,} ({100 * count / total:.1f} %)", va="center", fontsize=8)
    ax.set_xscale("log")
    ax.set(xlabel="parameters (count, log scale)", ylabel="layer", title=f"Where the {total:,} parameters live",
           xlim=(1, 40 * max(counts)))
    fig.tight_layout()
    return fig


def feature_maps_plot(outputs, channels=4, title=None):
    """Some channels of several layers' outputs for one image, one row per layer.

    Parameters
    ----------
    outputs : list of (str, array (H, W, C)) or (str, array (H, W, C), list of int)
        Layer name, its output for one image (any sizes) and, optionally, the channels to show
        (default: the first ``channels``). A layer named ``"input"`` is labelled a grey value.
    channels : int
        Panels per row.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        One colour scale per row, with its colourbar (activation, no unit).
    """
    if not outputs:
        raise ValueError("outputs is empty")
    channels = validate.integer("channels", channels, low=1)
    fig, axes = plt.subplots(len(outputs), channels, figsize=(1.6 * channels + 1.4, 1.6 * len(outputs)),
                             squeeze=False)
    for row, entry in zip(axes, outputs):
        name, maps = entry[0], validate.real_array(f"outputs[{entry[0]!r}]", entry[1], ndim=3,
                                                     axes="height, width, channels")
        chosen = list(entry[2]) if len(entry) > 2 else list(range(min(channels, maps.shape[-1])))
        shown = maps[..., chosen[:channels]]
        image = None
        for k, ax in enumerate(row):
            ax.set(xticks=[], yticks=[])
            if k < shown.shape[-1]:
                image = ax.imshow(shown[..., k], cmap="magma", vmin=float(shown.min()), vmax=float(shown.max()))
                ax.set_title(f"{name} ch {chosen[k]}", fontsize=7)
            else:
                ax.axis("off")
        row[0].set_ylabel(f"{maps.shape[0]}x{maps.shape[1]} px", fontsize=7)
        bar = fig.colorbar(image, ax=list(row), shrink=0.9)
        bar.set_label("grey value (no unit)" if name == "input" else "activation (no unit)", fontsize=7)
        bar.ax.tick_params(labelsize=6)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def loss_along_weight(values, losses, at, slope, xlabel="weight w", title=None):
    """The loss as a function of one weight, with the tangent whose slope is the gradient.

    Parameters
    ----------
    values : array (n,)
        The weight's values (no unit).
    losses : array (n,)
        The loss at each value (binary cross-entropy, nats).
    at : float
        The weight's current value, where the tangent touches.
    slope : float
        dL/dw at ``at`` (e.g. from backpropagation).
    xlabel, title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    values = validate.real_array("values", values, ndim=1)
    losses = validate.same_shape("losses", np.asarray(losses, float), values.shape, of="values")
    at_loss = float(np.interp(at, values, losses))
    fig, ax = plt.subplots(figsize=(5.2, 3.2))
    ax.plot(values, losses, label="loss L (BCE, nats)")
    ax.plot(values, at_loss + slope * (values - at), "--", label=f"tangent, slope dL/dw = {slope:.3g}")
    ax.plot([at], [at_loss], "ko", ms=4, label="current weight")
    ax.set(xlabel=xlabel, ylabel="loss L (binary cross-entropy, nats)", title=title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def loss_surface_paths(w1, w2, losses, paths, title="Optimiser paths"):
    """Contours of a loss over two weights, with the path each optimiser took.

    Parameters
    ----------
    w1, w2 : array (n1,), (n2,)
        The grid of the two weights (no unit).
    losses : array (n2, n1)
        The loss at each grid point (rows follow ``w2``).
    paths : dict of str -> array (steps + 1, 2)
        Each optimiser's weights after every step, by legend label.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    w1 = validate.real_array("w1", w1, ndim=1)
    w2 = validate.real_array("w2", w2, ndim=1)
    losses = validate.same_shape("losses", np.asarray(losses, float), (w2.size, w1.size), of="the grid (w2, w1)")
    fig, ax = plt.subplots(figsize=(6.2, 4.8))
    filled = ax.contourf(w1, w2, losses, levels=20, cmap="viridis")
    fig.colorbar(filled, ax=ax, label="loss L (no unit)")
    for label, path in paths.items():
        path = validate.real_array(f"paths[{label!r}]", path, ndim=2)
        ax.plot(path[:, 0], path[:, 1], ".-", lw=1.2, ms=3, label=label)
    ax.plot([0], [0], "w*", ms=12, markeredgecolor="k", label="minimum")
    ax.set(xlabel="weight w1 (no unit)", ylabel="weight w2 (no unit)", title=title,
           xlim=(w1.min(), w1.max()), ylim=(w2.min(), w2.max()))
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    fig.tight_layout()
    return fig
