"""Images, volumes and masks: grids of images, three planes of a CT, heat maps and masks laid
over images, rows of originals against reconstructions.

Every function returns the matplotlib Figure; notebooks call ``plt.show()``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from medlab import validate

__all__ = ["heatmap_overlay", "image_grid", "image_panels", "image_rows", "kernel_weights", "mask_overlay",
           "shift_tolerance_plot", "sliding_windows", "three_planes"]


def image_grid(images, titles=None, ncols=8, size=1.4, cmap="gray", vmin=0.0, vmax=1.0, suptitle=None,
               colorbar=None):
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
    colorbar : str, optional
        Label (with units) of one colourbar shared by every panel; needs vmin and vmax.

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
    if colorbar is not None:
        if vmin is None or vmax is None:
            raise validate.ArgumentError("colorbar needs vmin and vmax: one scale shared by every image")
        fig.colorbar(axes.flat[0].images[0], ax=list(axes.flat), fraction=0.02, pad=0.01).set_label(colorbar,
                                                                                                   fontsize=8)
    return fig


def three_planes(volume, spacing=None, index=None, titles=("axial (k)", "coronal (j)", "sagittal (i)"),
                 units=None):
    """Three orthogonal slices through the centre (or ``index``) of a 3-D volume.

    Parameters
    ----------
    volume : array (I, J, K)
    spacing : tuple of 3 floats > 0, optional
        Voxel size in mm along (i, j, k); used so that slices keep their true aspect.
    index : tuple of 3 ints, optional
        Voxel the slices pass through; default the centre.
    units : str, optional
        Label of a colourbar beside each slice (e.g. "MR signal (arbitrary units)"); with it,
        the axes are drawn and labelled in mm (``spacing``) or voxels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    volume = validate.real_array("volume", volume, dtype_kinds="uifb", ndim=3, axes="i, j, k")
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
    sizes = ((di, dj), (di, dk), (dj, dk))
    names = (("i", "j"), ("i", "k"), ("j", "k"))
    where = "voxels" if spacing is None else "mm"
    for ax, (image, aspect), title, (dx, dy), (x, y) in zip(axes, slices, titles, sizes, names):
        if units is None:
            ax.imshow(image, cmap="gray", aspect=aspect)
            ax.axis("off")
        else:
            extent = (0, image.shape[1] * dx, 0, image.shape[0] * dy) if spacing is not None else None
            shown = ax.imshow(image, cmap="gray", extent=extent, aspect="equal" if extent else aspect)
            ax.set_xlabel(f"{x} ({where})", fontsize=8)
            ax.set_ylabel(f"{y} ({where})", fontsize=8)
            ax.tick_params(labelsize=7)
            fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.03).set_label(units, fontsize=8)
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def heatmap_overlay(images, maps, titles=None, alpha=0.45, size=1.8, cmap="jet", scales=None):
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
    scales : dict of str -> list of str, optional
        A colourbar (0 to 1) per entry, labelled with the key (what 0 to 1 means, with its unit)
        and drawn beside the rows it names, e.g. ``{"drop in p": ["occlusion"]}``; rows on
        different scales each say theirs. Default: no colourbar.

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
    scales = dict(scales or {})
    for label, names in scales.items():
        if isinstance(names, str):
            raise ValueError(f"scales[{label!r}] is the string {names!r}: expected a list of row names")
        unknown = [name for name in names if name not in rows]
        if unknown or not names:
            raise ValueError(f"scales[{label!r}] names rows {list(names)}; expected some of {list(rows)}")
    n = len(images)
    width = size * n + (0.9 if scales else 0)  # room for the colourbars
    fig, axes = plt.subplots(1 + len(rows), n, figsize=(width, size * (1 + len(rows)) + 0.2),
                             squeeze=False, layout="constrained" if scales else None)
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
    order = list(rows)
    for label, names in scales.items():
        shown = [axes[1 + order.index(name), j] for name in names for j in range(n)]
        bar = fig.colorbar(plt.cm.ScalarMappable(norm=plt.Normalize(0.0, 1.0), cmap=cmap), ax=shown, shrink=0.9, aspect=12 * len(names))
        bar.set_label(label, fontsize=8)
        bar.ax.tick_params(labelsize=7)
    if not scales:
        fig.tight_layout()
    return fig


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


def _per_panel(value, title, default=None):
    """``value[title]`` if ``value`` is a dict, else ``value`` itself (or ``default`` when None)."""
    if isinstance(value, dict):
        return value.get(title, default)
    return default if value is None else value


def image_panels(panels, units, pixel_mm=None, limits=None, cmap="gray", ncols=None, size=2.6,
                 suptitle=None):
    """Images side by side, each with a colourbar in its units and axes in mm.

    Parameters
    ----------
    panels : dict of title -> array (H, W)
        The images, e.g. ``{"CT": hu, "max pool 2x2": pooled}``.
    units : str or dict of title -> str
        Colourbar label of every panel (e.g. ``"HU"``), or one per panel.
    pixel_mm : float or dict of title -> float, optional
        Pixel side in mm: the axes then read "x (mm)" and "y (mm)", so images of different
        sizes covering the same field line up. Without it the axes count pixels.
    limits : dict of title -> (vmin, vmax) or "symmetric", optional
        Grey-level range of a panel ("symmetric": -max|x| to +max|x|, 0 in the middle);
        a panel not named uses its own range.
    cmap : str or dict of title -> str
        Colour map of every panel, or one per panel.
    ncols : int, optional
        Panels per row (default: all in one row).
    size : float
        Width of one panel in inches.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not panels:
        raise validate.ArgumentError("panels is empty: give at least one title -> image")
    images = {title: validate.real_array(f"panels[{title!r}]", image, dtype_kinds="uifb", ndim=2)
              for title, image in panels.items()}
    n = len(images)
    ncols = n if ncols is None else max(1, min(int(ncols), n))
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, 0.85 * size * nrows + (0.3 if suptitle else 0)),
                             squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    for ax, (title, image) in zip(axes.flat, images.items()):
        low_high = _per_panel(limits, title)
        if isinstance(low_high, str):
            if low_high != "symmetric":
                raise validate.ArgumentError(f"limits[{title!r}] {low_high!r}: expected (vmin, vmax) or 'symmetric'")
            top = float(np.abs(image).max()) or 1.0
            low_high = (-top, top)
        vmin, vmax = low_high if low_high is not None else (None, None)
        pixel = _per_panel(pixel_mm, title)
        extent = None if pixel is None else (0, image.shape[1] * pixel, image.shape[0] * pixel, 0)
        shown = ax.imshow(image, cmap=_per_panel(cmap, title, "gray"), vmin=vmin, vmax=vmax, extent=extent,
                          interpolation="nearest")
        ax.set_title(str(title), fontsize=9)
        where = "pixels" if pixel is None else "mm"
        ax.set_xlabel(f"x ({where})", fontsize=8)
        ax.set_ylabel(f"y ({where})", fontsize=8)
        ax.tick_params(labelsize=7)
        bar = fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.03)
        bar.set_label(_per_panel(units, title, ""), fontsize=8)
        bar.ax.tick_params(labelsize=7)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return fig


def kernel_weights(kernels, digits=2, size=2.4):
    """Convolution kernels as images, each weight written in its cell, on one colour scale.

    Parameters
    ----------
    kernels : dict of name -> array (k, k)
        E.g. ``{"sobel_x": make_kernel("sobel_x", 3)}``. Weights have no unit (they multiply
        the image's values).
    digits : int
        Significant digits of the written weights (written only for kernels up to 7x7).
    size : float
        Width of one panel in inches.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per kernel: x axis "column v", y axis "row u"; blue negative, red positive,
        white 0; a shared colourbar labelled "weight".
    """
    if not kernels:
        raise validate.ArgumentError("kernels is empty: give at least one name -> kernel")
    arrays = {name: validate.real_array(f"kernels[{name!r}]", k, ndim=2) for name, k in kernels.items()}
    top = max(float(np.abs(k).max()) for k in arrays.values()) or 1.0
    fig, axes = plt.subplots(1, len(arrays), figsize=(size * len(arrays) + 0.8, size + 0.3), squeeze=False,
                             layout="constrained")
    for ax, (name, k) in zip(axes[0], arrays.items()):
        shown = ax.imshow(k, cmap="RdBu_r", vmin=-top, vmax=top)
        if max(k.shape) <= 7:
            for (u, v), value in np.ndenumerate(k):
                ax.text(v, u, f"{value:.{digits}g}", ha="center", va="center", fontsize=7,
                        color="white" if abs(value) > 0.6 * top else "black")
        ax.set_title(f"{name} {k.shape[0]}x{k.shape[1]}, sum {float(k.sum()):.2g}", fontsize=9)
        ax.set_xticks(range(k.shape[1]))
        ax.set_yticks(range(k.shape[0]))
        ax.set_xlabel("column v", fontsize=8)
        ax.set_ylabel("row u", fontsize=8)
    fig.colorbar(shown, ax=list(axes[0]), fraction=0.03, pad=0.02).set_label("weight (no unit)", fontsize=8)
    return fig


def sliding_windows(n, k, stride=1, padding=0, positions=3):
    """Where a k x k window lands on an n x n image: input (with its zero padding) and output.

    Parameters
    ----------
    n : int
        Side of the image in pixels (2 to 16).
    k : int
        Side of the window (kernel or pooling), 1 to n + 2 padding.
    stride : int
        Step between windows, in pixels.
    padding : int
        Zeros added on each side.
    positions : int
        How many windows of the first output row to outline (each in its own colour, the
        matching output pixel filled in the same colour).

    Returns
    -------
    matplotlib.figure.Figure
        Two panels, axes "column (pixels)" and "row (pixels)"; the title gives
        ``floor((n + 2p - k) / s) + 1``; the legend names padding and windows.
    """
    from matplotlib.patches import Patch, Rectangle

    n = validate.integer("n", n, 2, 16)
    padding = validate.integer("padding", padding, 0, 8)
    k = validate.integer("k", k, 1, n + 2 * padding)
    stride = validate.integer("stride", stride, 1, 16)
    n_out = (n + 2 * padding - k) // stride + 1
    positions = validate.integer("positions", positions, 1, 8)
    side = n + 2 * padding
    colours = plt.cm.tab10(np.arange(min(positions, n_out)))
    fig, (left, right) = plt.subplots(1, 2, figsize=(8.5, 4.2), gridspec_kw={"width_ratios": [side, max(n_out, 3)]})
    for row in range(side):
        for col in range(side):
            pad = not (padding <= row < padding + n and padding <= col < padding + n)
            left.add_patch(Rectangle((col - padding - 0.5, row - padding - 0.5), 1, 1, facecolor="0.85" if pad else "white",
                                     edgecolor="0.5", linewidth=0.6, hatch="//" if pad else None))
    handles = [Patch(facecolor="white", edgecolor="0.5", label=f"image pixel ({n}x{n})")]
    if padding:
        handles.append(Patch(facecolor="0.85", edgecolor="0.5", hatch="//", label=f"zero padding (p = {padding})"))
    for j, colour in enumerate(colours):
        start = j * stride - padding
        left.add_patch(Rectangle((start - 0.5 + 0.06 * j, -padding - 0.5 + 0.06 * j), k - 0.12 * j, k - 0.12 * j,
                                 fill=False,
                                 edgecolor=colour, linewidth=2.2))
        right.add_patch(Rectangle((j - 0.5, -0.5), 1, 1, facecolor=colour, alpha=0.6))
        handles.append(Patch(facecolor="none", edgecolor=colour, linewidth=2, label=f"window of output (0, {j})"))
    for row in range(n_out):
        for col in range(n_out):
            right.add_patch(Rectangle((col - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="0.3", linewidth=0.8))
    for ax, low, high in ((left, -padding, n + padding), (right, 0, max(n_out, 3))):
        ax.set_xlim(low - 0.7, high - 0.3)
        ax.set_ylim(high - 0.3, low - 0.7)
        ax.set_xticks(range(low, high))
        ax.set_yticks(range(low, high))
        ax.set_aspect("equal")
        ax.set_xlabel("column (pixels)", fontsize=8)
        ax.set_ylabel("row (pixels)", fontsize=8)
        ax.tick_params(labelsize=7)
    left.set_title(f"input: n = {n}, k = {k}, p = {padding}, s = {stride}", fontsize=9)
    right.set_title(f"output: floor(({n} + {2 * padding} - {k}) / {stride}) + 1 = {n_out}", fontsize=9)
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return fig


def shift_tolerance_plot(shifts, unchanged):
    """Percentage of values unchanged after shifting an image, against the shift.

    Parameters
    ----------
    shifts : array_like of int, shape (m,)
        Shifts in pixels.
    unchanged : dict of label -> array_like shape (m,)
        Per label (e.g. "raw pixels", "max pool 4x4"), the percentage (0 to 100) of values
        identical before and after each shift.

    Returns
    -------
    matplotlib.figure.Figure
        One line per label (its own dash and hollow marker, so coinciding lines show); x "shift (pixels)", y "values unchanged (%)", 0 to 100.
    """
    shifts = validate.real_array("shifts", shifts, dtype_kinds="iu", ndim=1)
    if not unchanged:
        raise validate.ArgumentError("unchanged is empty: give at least one label -> percentages")
    fig, ax = plt.subplots(figsize=(6, 3.6))
    styles = [("-", "o"), ("--", "s"), (":", "^"), ("-.", "D")]  # lines that coincide stay visible
    for i, (label, values) in enumerate(unchanged.items()):
        values = validate.values(f"unchanged[{label!r}]", np.asarray(values, float), 0, 100)
        validate.same_shape(f"unchanged[{label!r}]", values, shifts.shape, of="shifts")
        line, marker = styles[i % len(styles)]
        ax.plot(shifts, values, linestyle=line, marker=marker, markerfacecolor="none", label=label)
    ax.set_xlabel("shift to the right (pixels)")
    ax.set_ylabel("values unchanged (%)")
    ax.set_ylim(0, 100)
    ax.set_xticks(shifts)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
