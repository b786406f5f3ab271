"""Figures the lessons draw, kept out of the notebooks so they stay thin.

Every function returns the matplotlib Figure; notebooks call ``plt.show()``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


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
    spacing : tuple of 3 floats, optional
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
