"""Images, volumes and masks: grids of images, three planes of a CT, heat maps and masks laid
over images, rows of originals against reconstructions.

Every function returns the matplotlib Figure; notebooks call ``plt.show()``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from medlab import validate

__all__ = ["heatmap_overlay", "image_grid", "image_rows", "mask_overlay", "three_planes"]


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
    for ax, (image, aspect), title in zip(axes, slices, titles):
        ax.imshow(image, cmap="gray", aspect=aspect)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
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
