"""Lessons 10 and 11, the autoencoder's code, image quality and anomaly scores:
``compression_ratio``, ``psnr`` (09), ``anomaly_scores``, ``auc_by_ranking`` (10).

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
    score of lesson 11. The reference is ``medlab.metrics.reconstruction_error``.
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


# ------------------------------------------------------------------ compression_ratio (09)
CHANNELS_IGNORED = Hint("channels_ignored", (
    "count every number of the image, channels too: a (64, 64, 3) colour image holds "
    "64 * 64 * 3 numbers; np.prod(image_shape) multiplies all the sides."))
RATIO_FLOOR = Hint("ratio_floor", (
    "divide with /, not //: 784 / 32 = 24.5 : 1, a ratio need not be a whole number."))
RATIO_INVERTED = Hint("ratio_inverted", (
    "the ratio is upside down: numbers in the image divided by numbers in the code, "
    "784 / 16 = 49 (49 : 1), not 16 / 784."))
SHAPE_SUMMED = Hint("shape_summed", (
    "the number of pixels is the PRODUCT of the sides, 28 * 28 * 1 = 784 (np.prod), "
    "not their sum."))


def _compression_ratio(image_shape, latent_dim):
    return int(np.prod(image_shape)) / latent_dim


def _compression_cases():
    names = ("image_shape", "latent_dim")
    yield Case(((28, 28, 1), 16), names, "a PneumoniaMNIST X-ray")
    yield Case(((28, 28, 1), 32), names, "the lesson's autoencoder")
    yield Case(((64, 64, 3), 128), names, "a colour image")
    yield Case(((256, 256), 64), names, "no channel axis")
    yield Case(((28, 28, 1), 1024), names, "a code longer than the image")


def check_compression_ratio(compression_ratio):
    """Check ``compression_ratio(image_shape, latent_dim)``: numbers in one image per number
    in its code z, a float (784 / 16 = 49.0). ``image_shape`` is (H, W) or (H, W, C); the
    lesson's ``medlab.models.compression_ratio`` reads the same from an encoder's shapes.
    """
    mistakes = [
        (RATIO_INVERTED, lambda s, d: d / int(np.prod(s))),
        (SHAPE_SUMMED, lambda s, d: sum(s) / d),
        (CHANNELS_IGNORED, lambda s, d: s[0] * s[1] / d),
        (RATIO_FLOOR, lambda s, d: int(np.prod(s)) // d),
    ]
    return run_check("compression_ratio", compression_ratio, _compression_cases(),
                     _compression_ratio, mistakes, kind="number", equal=numbers_close)


# ------------------------------------------------------------------ auc_by_ranking (10)
AUC_REVERSED = Hint("auc_reversed", (
    "the comparison is the wrong way round: the AUC is the probability that the ABNORMAL "
    "image scores higher than the normal one; yours is 1 - AUC."))
EVERY_PAIR = Hint("every_pair", (
    "compare every abnormal score with every normal one (n_normal * n_abnormal pairs, e.g. "
    "by broadcasting: abnormal[:, None] > normal[None, :]), not the i-th with the i-th."))
PAIRS_COUNT = Hint("pairs_count", (
    "divide by the number of pairs, n_normal * n_abnormal, to get a probability."))
TIES_HALF = Hint("ties_half", (
    "a tie (equal scores) counts one half: the ranking cannot tell the pair apart, so it "
    "is right half the time: (count(a > n) + 0.5 * count(a == n)) / pairs."))


def _auc_by_ranking(scores_normal, scores_abnormal):
    from medlab import metrics

    normal, abnormal = np.asarray(scores_normal), np.asarray(scores_abnormal)
    y = np.r_[np.zeros(len(normal)), np.ones(len(abnormal))]
    return metrics.auc(y, np.r_[normal, abnormal])


def _auc_variant(kind):
    def variant(scores_normal, scores_abnormal):
        n = np.asarray(scores_normal, np.float64)
        a = np.asarray(scores_abnormal, np.float64)
        if kind == "zip":
            m = min(len(n), len(a))
            a, n = a[:m], n[:m]
            return float(np.mean((a > n) + 0.5 * (a == n)))
        greater, equal = a[:, None] > n[None, :], a[:, None] == n[None, :]
        return {
            "reversed": lambda: np.mean((a[:, None] < n[None, :]) + 0.5 * equal),
            "ties0": lambda: np.mean(greater),
            "ties1": lambda: np.mean(greater | equal),
            "count": lambda: np.sum(greater + 0.5 * equal) / (len(n) + len(a)),
        }[kind]()

    return variant


def _auc_cases():
    rng = case_rng("auc_by_ranking")
    names = ("scores_normal", "scores_abnormal")
    yield Case((np.array([0.1, 0.4, 0.35, 0.8]), np.array([0.9, 0.4, 0.6])), names,
               "12 pairs, one tie")
    yield Case((np.array([1.0, 2.0, 3.0]), np.array([2.0, 3.0, 4.0, 5.0, 1.0])), names)
    for n_normal, n_abnormal, shift in ((30, 50, 0.5), (234, 390, 0.3), (40, 25, -0.2)):
        yield Case((np.round(rng.standard_normal(n_normal), 1),
                    np.round(rng.standard_normal(n_abnormal) + shift, 1)), names,
                   "scores rounded to 0.1, many ties", show=False)


def check_auc_by_ranking(auc_by_ranking):
    """Check ``auc_by_ranking(scores_normal, scores_abnormal)``: the ROC AUC as a probability.

    The fraction of (normal, abnormal) pairs in which the abnormal image scores higher, a tie
    counting one half, a float; ``scores_normal`` (N0,) and ``scores_abnormal`` (N1,) may
    differ in length. The reference is ``medlab.metrics.auc`` on both groups together.
    """
    mistakes = [
        (AUC_REVERSED, _auc_variant("reversed")),
        (TIES_HALF, _auc_variant("ties0")),
        (TIES_HALF, _auc_variant("ties1")),
        (EVERY_PAIR, _auc_variant("zip")),
        (PAIRS_COUNT, _auc_variant("count")),
    ]
    return run_check("auc_by_ranking", auc_by_ranking, _auc_cases(), _auc_by_ranking, mistakes,
                     kind="number", equal=numbers_close)
