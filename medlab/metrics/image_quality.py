"""Image quality and reconstruction (lessons 10 and 11): squared error, PSNR and SSIM per image
(and SSIM per pixel, :func:`ssim_maps`)."""

from __future__ import annotations

import numpy as np

from medlab import validate


def _image_pairs(reference, estimate):
    """Two arrays of images -> float64 (N, H, W[, C]) with N >= 1, checked alike."""
    # complex values are refused: a cast would drop their imaginary part
    a = validate.real_array("reference", reference, dtype_kinds="uifb").astype(np.float64, copy=False)
    b = validate.real_array("estimate", estimate, dtype_kinds="uifb").astype(np.float64, copy=False)
    if a.shape != b.shape:
        raise ValueError(f"reference has shape {a.shape} but estimate has shape {b.shape}")
    if a.ndim == 2:
        a, b = a[None], b[None]
    if a.ndim not in (3, 4) or a.shape[0] == 0:
        raise ValueError(f"expected one image (H, W) or images (N, H, W[, C]), got shape {a.shape}")
    validate.values("reference", a)  # finite
    validate.values("estimate", b)
    return a, b


def reconstruction_error(reference, estimate):
    """Mean squared error of each image: ``mean((x - x_hat)**2)`` over its pixels.

    Parameters
    ----------
    reference, estimate : arrays (N, H, W) or (N, H, W, C), or one image (H, W)

    Returns
    -------
    float64 array (N,)
        The anomaly score of lesson 11: large when the autoencoder cannot rebuild an image.
    """
    a, b = _image_pairs(reference, estimate)
    return np.mean((a - b) ** 2, axis=tuple(range(1, a.ndim)))


def psnr_per_image(reference, estimate, data_range=1.0):
    """Peak signal-to-noise ratio of each image, in dB: ``10 log10(data_range**2 / MSE)``.

    The same as ``skimage.metrics.peak_signal_noise_ratio(reference[i], estimate[i],
    data_range=data_range)``; +inf for a perfect copy.

    Returns
    -------
    float64 array (N,)
    """
    data_range = validate.number("data_range", data_range, 0, low_open=True)
    mse = reconstruction_error(reference, estimate)
    with np.errstate(divide="ignore"):  # in logs: data_range**2 overflows at 1e308
        return 20.0 * np.log10(data_range) - 10.0 * np.log10(mse)


def psnr(reference, estimate, data_range=1.0):
    """Mean over images of their PSNR (dB), the usual figure of a denoiser.

    Parameters
    ----------
    reference : array (N, H, W[, C]) or (H, W)
        Clean images.
    estimate : array, the same shape
        Noisy or denoised images.
    data_range : float > 0
        Brightness range of the images: 1.0 for images in [0, 1] (255 for uint8).

    Returns
    -------
    float
        Higher is better; +3 dB halves the mean squared error, +10 dB divides it by 10.
    """
    return float(np.mean(psnr_per_image(reference, estimate, data_range)))


def _ssim_inputs(reference, estimate, data_range):
    """The checks of the SSIM functions -> (a, b, channel_axis, data_range): grey images as
    float64 (N, H, W) (a last axis of 1 dropped), colour ones (N, H, W, C), H and W >= 7."""
    data_range = validate.number("data_range", data_range, 0, low_open=True)
    a, b = _image_pairs(reference, estimate)
    if a.ndim == 4 and a.shape[-1] == 1:
        a, b = a[..., 0], b[..., 0]
    if min(a.shape[1:3]) < 7:
        raise ValueError(f"SSIM needs images of at least 7 x 7 pixels, got {a.shape[1:3]}")
    return a, b, (-1 if a.ndim == 4 else None), data_range


def ssim_per_image(reference, estimate, data_range=1.0):
    """Structural similarity of each image (``skimage.metrics.structural_similarity``).

    Compares local means, contrasts and correlations in 7 x 7 windows (scikit-image's
    defaults) rather than pixel errors: 1 for identical images, near 0 for unrelated ones.
    Images need H and W of at least 7. Channels (a last axis C > 1) are averaged.

    Returns
    -------
    float64 array (N,)
    """
    from skimage.metrics import structural_similarity

    a, b, channel_axis, data_range = _ssim_inputs(reference, estimate, data_range)
    return np.array([structural_similarity(x, y, data_range=data_range,
                                           channel_axis=channel_axis) for x, y in zip(a, b)])


def ssim_maps(reference, estimate, data_range=1.0):
    """SSIM at every pixel, each image's 7 x 7 window centred there (scikit-image's ``full=True``).

    The same checks and windows as :func:`ssim_per_image`, whose figure is the mean of this map
    without its 3-pixel border. Values in [-1, 1]; 1 where the images agree in structure.

    Parameters
    ----------
    reference, estimate : arrays (N, H, W) or (N, H, W, C), or one image (H, W); H, W >= 7

    Returns
    -------
    float64 array (N, H, W), or (N, H, W, C) for C > 1 channels (one map per channel)

    >>> x = np.linspace(0, 1, 100).reshape(1, 10, 10)
    >>> maps = ssim_maps(x, x)
    >>> maps.shape, bool(np.allclose(maps, 1.0))
    ((1, 10, 10), True)
    """
    from skimage.metrics import structural_similarity

    a, b, channel_axis, data_range = _ssim_inputs(reference, estimate, data_range)
    return np.stack([structural_similarity(x, y, data_range=data_range, channel_axis=channel_axis,
                                           full=True)[1] for x, y in zip(a, b)])


def ssim(reference, estimate, data_range=1.0):
    """Mean over images of their SSIM (see :func:`ssim_per_image`)."""
    return float(np.mean(ssim_per_image(reference, estimate, data_range)))


__all__ = ["psnr", "psnr_per_image", "reconstruction_error", "ssim", "ssim_maps", "ssim_per_image"]
