"""Named convolution kernels (blur, edges, sharpen) and a 2-D filter on one image.

Every kind exists in every odd size from 1 to 15, so a kernel-size slider
always has something to show:

==============  ================================================================
kind            kernel of side ``k``
==============  ================================================================
``identity``    1 at the centre, 0 elsewhere: the output equals the input
``mean``        box blur, every weight ``1 / k**2`` (sums to 1)
``gaussian``    sampled Gaussian, ``sigma = 0.3 * ((k - 1) / 2 - 1) + 0.8``
                (OpenCV's rule: 0.8 px for 3x3, 2.6 px for 15x15), sums to 1
``sobel_x``     horizontal derivative: classic ``[[-1, 0, 1], [-2, 0, 2],
                [-1, 0, 1]]`` for k = 3; positive where intensity grows to the
                right (towards larger column index); sums to 0
``sobel_y``     its transpose: positive where intensity grows downwards
``laplacian``   4-neighbour Laplacian ``[[0, 1, 0], [1, -4, 1], [0, 1, 0]]``
                for k = 3; sums to 0
``sharpen``     ``identity - laplacian``: ``[[0, -1, 0], [-1, 5, -1],
                [0, -1, 0]]`` for k = 3; sums to 1
==============  ================================================================

Larger derivative kernels (``sobel_x``, ``sobel_y``, ``laplacian`` and so
``sharpen``) are the 3x3 kernel convolved with a (k-2)x(k-2) binomial
smoothing kernel that sums to 1 (a discrete Gaussian, as OpenCV's larger
Sobel kernels are). They respond to the same slope as the 3x3 kernel, only
less to noise: ``sobel_x`` gives 8 on a ramp rising by 1 per pixel and
``laplacian`` gives 4 on ``x**2 + y**2``, in every size >= 3. A 1x1 kernel
sees a single pixel and cannot measure a difference, so the 1x1 Sobel and
Laplacian kernels are 0 (and the 1x1 ``sharpen`` is the identity).

Kernels are applied by cross-correlation, as ``keras.layers.Conv2D`` does
(no flip), with :func:`filter_image`.
"""

from __future__ import annotations

import numpy as np

from medlab import ops, validate

KERNEL_KINDS = ("identity", "mean", "gaussian", "sobel_x", "sobel_y", "laplacian", "sharpen")
MAX_KERNEL_SIZE = 15


def _check_size(size):
    """An odd side from 1 to MAX_KERNEL_SIZE: the kernel needs a centre pixel."""
    return validate.integer("size", size, 1, MAX_KERNEL_SIZE, odd=True)


def _gaussian_sigma(size):
    """Standard deviation in pixels of the ``gaussian`` kernel of side ``size``.

    ``0.3 * ((size - 1) / 2 - 1) + 0.8``, the rule of OpenCV's ``getGaussianKernel``:
    the kernel then reaches about 2 to 3 sigma from its centre.
    """
    size = _check_size(size)
    return 0.3 * ((size - 1) / 2 - 1) + 0.8


def _binomial(length):
    """Row ``length - 1`` of Pascal's triangle, divided by its sum (float64)."""
    row = np.ones(1)
    for _ in range(length - 1):
        row = np.convolve(row, [1.0, 1.0])
    return row / row.sum()


def _sobel_x(size):
    smooth = _binomial(size - 2)
    derivative = np.convolve([-1.0, 0.0, 1.0], smooth)  # along columns (x)
    across = np.convolve([1.0, 2.0, 1.0], smooth)  # along rows (y)
    return np.outer(across, derivative)


def _laplacian(size):
    smooth = _binomial(size - 2)
    second = np.convolve([1.0, -2.0, 1.0], smooth)
    centre = np.convolve([0.0, 1.0, 0.0], smooth)
    d2x = np.outer(centre, second)
    return d2x + d2x.T


def make_kernel(kind, size=3):
    """A named square kernel for 2-D cross-correlation.

    Parameters
    ----------
    kind : str
        One of :data:`KERNEL_KINDS` (see the module docstring for each one).
    size : int
        Side of the kernel in pixels, odd, 1 to 15.

    Returns
    -------
    float32 array (size, size)
        Indexed ``[row, column]`` (``[y, x]``), as ``w[u, v]`` in the
        convolution formula.

    Raises
    ------
    ValueError
        Unknown ``kind`` (the message lists the valid ones), or ``size`` even,
        below 1 or above 15.
    """
    validate.choice("kind", kind, KERNEL_KINDS)
    size = _check_size(size)
    identity = np.zeros((size, size))
    identity[size // 2, size // 2] = 1.0
    if kind == "identity":
        kernel = identity
    elif kind == "mean":
        kernel = np.full((size, size), 1.0 / size**2)
    elif kind == "gaussian":
        r = np.arange(size) - size // 2
        g = np.exp(-(r**2) / (2 * _gaussian_sigma(size) ** 2))
        kernel = np.outer(g, g)
        kernel /= kernel.sum()
    elif size == 1:  # derivatives need neighbours: a 1x1 kernel cannot see a slope
        kernel = identity if kind == "sharpen" else np.zeros((1, 1))
    elif kind == "sobel_x":
        kernel = _sobel_x(size)
    elif kind == "sobel_y":
        kernel = _sobel_x(size).T
    elif kind == "laplacian":
        kernel = _laplacian(size)
    else:  # sharpen
        kernel = identity - _laplacian(size)
    return np.ascontiguousarray(kernel, dtype=np.float32)


def filter_image(image, kernel, padding="valid", stride=1):
    """Cross-correlate one 2-D image with one 2-D kernel (``medlab.ops.conv2d``).

    Parameters
    ----------
    image : array (H, W)
        One grey-level image.
    kernel : array (kh, kw)
        Weights ``w[u, v]``, e.g. from :func:`make_kernel`.
    padding : {"valid", "same"}
        "valid": the output shrinks by ``k - 1``; "same": zero padding keeps
        ``ceil(H / stride) x ceil(W / stride)``.
    stride : int
        Step between kernel positions.

    Returns
    -------
    float32 array (H_out, W_out)
    """
    image = validate.image_array("image", image, ndims=(2,), dtype_kinds="biuf")
    kernel = validate.image_array("kernel", kernel, ndims=(2,), dtype_kinds="biuf")
    out = ops.conv2d(image[None, :, :, None], kernel[:, :, None, None], stride=stride, padding=padding)
    return out[0, :, :, 0]


__all__ = ["KERNEL_KINDS", "MAX_KERNEL_SIZE", "filter_image", "make_kernel"]
