"""Lessons 09 and 10, image quality and anomaly scores: ``psnr``, ``anomaly_scores``.

Each hint is defined here, beside the mistakes (wrong variants) it explains.
"""

from __future__ import annotations

import functools

import numpy as np

from medlab.checks.framework import Case, Hint, case_rng, numbers_close, run_check, small_ints

ABS_NOT_SQUARED = Hint("abs_not_squared", (
    "square the differences, (x - x_hat)**2, instead of taking their absolute value: the "
    "score is the mean SQUARED error."))
DB_FACTOR = Hint("db_factor", (
    "decibels of a power ratio are 10 log10(ratio): 10 log10(data_range**2 / MSE), or "
    "equivalently 20 log10(data_range / RMSE); not 20 with the squares, nor 10 without."))
GLOBAL_MEAN = Hint("global_mean", (
    "one score per image: average over each image's own pixels, not one mean over the "
    "whole batch; the result has shape (N,)."))
LOG_NATURAL = Hint("log_natural", (
    "use the base-10 logarithm, np.log10: decibels are 10 log10(ratio); np.log is the "
    "natural logarithm."))
PER_IMAGE_AXES = Hint("per_image_axes", (
    "average over every axis except the first (the image index): "
    "np.mean(..., axis=tuple(range(1, images.ndim))), so the result has shape (N,), also "
    "for (N, H, W, C) images."))
RANGE_NOT_SQUARED = Hint("range_not_squared", (
    "the peak power is data_range**2: PSNR = 10 log10(data_range**2 / MSE). With images in "
    "[0, 1] the mistake is invisible; it shows when data_range is 255."))
RMSE_NOT_MSE = Hint("rmse_not_mse", (
    "use the mean squared error, MSE = mean((x - x_hat)**2), without a square root: the "
    "root (RMSE) goes only with 20 log10(data_range / RMSE)."))
SUM_NOT_MEAN_PIXELS = Hint("sum_not_mean_pixels", (
    "divide by the number of pixels: the mean, not the sum, of the squared errors (np.mean)."))


def _psnr(clean, noisy, data_range=1.0):
    from medlab import metrics

    return metrics.psnr(clean, noisy, data_range)


def _psnr_variant(make):
    def variant(clean, noisy, data_range=1.0):
        mse = float(np.mean((np.asarray(clean, np.float64) - np.asarray(noisy, np.float64)) ** 2))
        return float(make(float(data_range), mse))

    return variant


def _psnr_cases():
    rng = case_rng("psnr")
    clean = np.array([[0.2, 0.4, 0.6], [0.3, 0.5, 0.7], [0.1, 0.9, 0.5]], np.float32)
    noisy = clean + np.array([[0.1, -0.1, 0.0], [0.05, 0.0, -0.05], [0.0, 0.1, 0.1]], np.float32)
    yield Case((clean, noisy), ("clean", "noisy"), "data_range left at its default, 1.0")
    names = ("clean", "noisy", "data_range")
    x = small_ints(rng, (4, 4), 0, 256)
    yield Case((x, np.clip(x + small_ints(rng, (4, 4), -9, 10), 0, 255), 255.0), names,
               "8-bit values")
    x = rng.random((32, 32), np.float32)
    yield Case((x, x + 0.05 * rng.standard_normal((32, 32), np.float32), 1.0), names, show=False)
    x = rng.random((24, 20), np.float32) * 4095
    yield Case((x, x + 40 * rng.standard_normal((24, 20), np.float32), 4095.0), names,
               "12-bit CT values", show=False)
    x = rng.random((16, 16), np.float32) * 2
    yield Case((x, x + 0.2 * rng.standard_normal((16, 16), np.float32), 2.0), names, show=False)


def check_psnr(psnr):
    """Check ``psnr(clean, noisy, data_range=1.0)``: 10 log10(data_range**2 / MSE), in dB.

    ``clean`` and ``noisy`` are one image (H, W) each; MSE is the mean of (clean - noisy)**2
    over the pixels. The reference is ``medlab.metrics.psnr`` (the same as
    ``skimage.metrics.peak_signal_noise_ratio``).
    """
    mistakes = [
        (RMSE_NOT_MSE, _psnr_variant(lambda r, mse: 10 * np.log10(r ** 2 / np.sqrt(mse)))),
        (RMSE_NOT_MSE, _psnr_variant(lambda r, mse: 20 * np.log10(r ** 2 / np.sqrt(mse)))),
        (LOG_NATURAL, _psnr_variant(lambda r, mse: 10 * np.log(r ** 2 / mse))),
        (LOG_NATURAL, _psnr_variant(lambda r, mse: 20 * np.log(r / np.sqrt(mse)))),
        (RANGE_NOT_SQUARED, _psnr_variant(lambda r, mse: 10 * np.log10(r / mse))),
        (RANGE_NOT_SQUARED, _psnr_variant(lambda r, mse: 10 * np.log10(1 / mse)),
         "You left data_range out."),
        (DB_FACTOR, _psnr_variant(lambda r, mse: 20 * np.log10(r ** 2 / mse))),
        (DB_FACTOR, _psnr_variant(lambda r, mse: 10 * np.log10(r / np.sqrt(mse)))),
    ]
    return run_check("psnr", psnr, _psnr_cases(), _psnr, mistakes, kind="number",
                     equal=functools.partial(numbers_close, rel=1e-5, abs_=1e-4))


def _anomaly_scores(images, reconstructions):
    from medlab import metrics

    return metrics.reconstruction_error(images, reconstructions)


def _anomaly_cases():
    rng = case_rng("anomaly_scores")
    names = ("images", "reconstructions")
    x = np.array([[[1, 0], [0, 1]], [[1, 1], [1, 1]], [[0, 0], [0, 0]]], np.float32)
    xhat = np.array([[[1, 0], [0, 0]], [[0.5, 0.5], [1, 1]], [[0, 0], [0, 0]]], np.float32)
    yield Case((x, xhat), names, "3 images of 2 x 2 pixels")
    x = rng.random((4, 6, 5), np.float32)
    yield Case((x, np.clip(x + 0.2 * rng.standard_normal(x.shape, np.float32), 0, 1)), names,
               show=False)
    x = rng.random((5, 8, 8, 1), np.float32)
    yield Case((x, np.clip(x + 0.1 * rng.standard_normal(x.shape, np.float32), 0, 1)), names,
               "(N, H, W, 1) images, as Keras stores them", show=False)
    x = rng.random((3, 6, 7, 3), np.float32)
    yield Case((x, rng.random(x.shape, np.float32)), names, "3 channels", show=False)


def _anomaly_variant(kind):
    def variant(x, xhat):
        d = np.asarray(x, np.float64) - np.asarray(xhat, np.float64)
        axes = tuple(range(1, d.ndim))
        return {
            "global": lambda: np.mean(d ** 2),
            "abs": lambda: np.mean(np.abs(d), axis=axes),
            "sum": lambda: np.sum(d ** 2, axis=axes),
            "rmse": lambda: np.sqrt(np.mean(d ** 2, axis=axes)),
            "axis0": lambda: np.mean(d ** 2, axis=0),
            "axis12": lambda: np.mean(d ** 2, axis=(1, 2)),
            "last": lambda: np.mean(d ** 2, axis=-1),
        }[kind]()

    return variant


def _anomaly_shape(got, expected, case):
    got = np.asarray(got)
    if got.ndim == 0 or got.size == 1 and expected.size != 1:
        return GLOBAL_MEAN
    return PER_IMAGE_AXES if got.shape != expected.shape else None


def check_anomaly_scores(anomaly_scores):
    """Check ``anomaly_scores(images, reconstructions)``: each image's mean squared error.

    ``images`` and ``reconstructions`` are (N, H, W) or (N, H, W, C) arrays; the result is
    the (N,) array mean((x - x_hat)**2) over each image's pixels (and channels), the anomaly
    score of lesson 10. The reference is ``medlab.metrics.reconstruction_error``.
    """
    mistakes = [
        (GLOBAL_MEAN, _anomaly_variant("global")),
        (ABS_NOT_SQUARED, _anomaly_variant("abs")),
        (SUM_NOT_MEAN_PIXELS, _anomaly_variant("sum")),
        (RMSE_NOT_MSE, _anomaly_variant("rmse"), "The score is the MSE itself."),
        (PER_IMAGE_AXES, _anomaly_variant("axis0"),
         "You averaged over the images (axis 0), one value per pixel."),
        (PER_IMAGE_AXES, _anomaly_variant("axis12")),
        (PER_IMAGE_AXES, _anomaly_variant("last")),
    ]
    return run_check("anomaly_scores", anomaly_scores, _anomaly_cases(), _anomaly_scores,
                     mistakes, explain=_anomaly_shape)
