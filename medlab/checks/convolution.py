"""Lesson 02, convolution: ``cross_correlate``, ``conv_output_size``, ``zero_pad``.

Each hint is defined here, beside the mistakes (wrong variants) it explains.
"""

from __future__ import annotations

import math

import numpy as np

from medlab import ops
from medlab.checks.framework import Case, Hint, case_rng, run_check, small_ints

CHANNELS_FIRST = Hint("channels_first", (
    "channels first instead of last: medlab and Keras store images as (N, H, W, C), with "
    "the channels on the LAST axis."))
FLIPPED_KERNEL = Hint("flipped_kernel", (
    "your result is the true convolution: the kernel is flipped (rotated by 180 degrees). "
    "Keras's Conv2D and this exercise compute the cross-correlation, which slides the kernel "
    "as it is: y[i, j] = sum over u, v of x[i + u, j + v] * w[u, v]."))
FLOOR = Hint("floor", (
    "round down: only windows that fit completely count, so the size is the whole number "
    "(n + 2p - k) // s + 1 (floor division), not a fraction and not rounded up."))
NOT_ZEROS = Hint("not_zeros", "pad with zeros (np.pad's default mode='constant'), not by repeating the edge.")
OFF_BY_ONE = Hint("off_by_one", (
    "off by one in the output size: along an axis of n pixels a window of k pixels fits in "
    "n - k + 1 positions; with padding p and stride s, floor((n + 2p - k) / s) + 1."))
PADDING_IGNORED = Hint("padding_ignored", (
    "the padding is missing: with p zeros on each side the padded length is n + 2p."))
PADDING_ONE_SIDE = Hint("padding_one_side", (
    "padding p puts p zeros on EACH side of an axis: the padded length is n + 2p, not n + p."))
SAME_NOT_VALID = Hint("same_not_valid", (
    "'valid' means no padding: the windows stay inside the image, so the output shrinks "
    "by k - 1 pixels along each axis; it does not keep the input's size."))
STRIDE_IGNORED = Hint("stride_ignored", (
    "the stride is ignored: windows start every s pixels (rows and columns 0, s, 2s, ...), "
    "not every pixel, and not every window size unless s equals it."))
WRONG_AXES = Hint("wrong_axes", (
    "padding on the wrong axes: pad only height and width, axes 1 and 2 of (N, H, W, C), "
    "never the batch or channel axis: np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))."))


def _correlate(image, kernel):
    return ops.conv2d(np.asarray(image, np.float32)[None, :, :, None],
                      np.asarray(kernel, np.float32)[:, :, None, None])[0, :, :, 0]


def _correlate_cases():
    rng = case_rng("cross_correlate")
    names = ("image", "kernel")
    lesson_x = np.array([[1, 2, 0, 1, 3], [0, 1, 3, 1, 0], [2, 1, 0, 2, 1],
                         [1, 0, 2, 3, 1], [0, 2, 1, 0, 2]], np.float32)
    lesson_w = np.array([[1, 0, -1], [2, 1, 0], [0, -1, 1]], np.float32)
    yield Case((small_ints(rng, (4, 4)), np.array([[1, 2], [0, -1]], np.float32)), names)
    yield Case((lesson_x, lesson_w), names, "the lesson's x and w")
    yield Case((small_ints(rng, (3, 5)), small_ints(rng, (2, 3))), names)
    yield Case((small_ints(rng, (4, 3)), np.array([[2]], np.float32)), names, "a 1x1 kernel")
    yield Case((small_ints(rng, (3, 4)), small_ints(rng, (3, 4))), names, "kernel as large as the image")
    yield Case((rng.random((9, 11), np.float32), rng.standard_normal((3, 4), np.float32)), names, show=False)
    yield Case((rng.random((12, 10), np.float32), rng.standard_normal((5, 5), np.float32)), names, show=False)


def check_cross_correlate(cross_correlate):
    """Check ``cross_correlate(image, kernel)``: the "valid" 2-D cross-correlation.

    ``image`` (H, W) and ``kernel`` (kh, kw) are 2-D arrays; the result is the 2-D array
    y[i, j] = sum over u, v of image[i + u, j + v] * kernel[u, v], of shape
    (H - kh + 1, W - kw + 1), as ``medlab.ops.conv2d`` (and Keras's Conv2D) compute it.

    Returns
    -------
    Outcome
        True when every case passes. The verdict is printed.
    """
    mistakes = [
        (FLIPPED_KERNEL, lambda x, w: _correlate(x, np.flip(w))),
        (SAME_NOT_VALID, lambda x, w: ops.conv2d(x[None, :, :, None], w[:, :, None, None],
                                                    padding="same")[0, :, :, 0]),
        (OFF_BY_ONE, lambda x, w: _correlate(x, w)[:-1, :-1]),
    ]
    return run_check("cross_correlate", cross_correlate, _correlate_cases(), _correlate, mistakes,
                     explain=shape_off_by_one)


def _output_size_cases():
    names = ("n", "k", "p", "s")
    for args in ((5, 3, 0, 1), (150, 3, 0, 1), (150, 3, 1, 1), (64, 5, 0, 2), (7, 3, 1, 2),
                 (10, 4, 2, 3), (28, 5, 2, 1), (9, 3, 0, 3), (1, 1, 0, 1), (224, 7, 3, 2)):
        yield Case(args, names)


def _output_size(n, k, p, s):
    return ops.output_size(n, k, stride=s, padding=p)


def check_conv_output_size(conv_output_size):
    """Check ``conv_output_size(n, k, p, s)``: floor((n + 2p - k) / s) + 1, an int.

    ``n`` input length, ``k`` kernel length, ``p`` zeros added on each side, ``s`` stride;
    the reference is ``medlab.ops.output_size(n, k, stride=s, padding=p)``.
    """
    mistakes = [
        (OFF_BY_ONE, lambda n, k, p, s: (n + 2 * p - k) // s, "You forgot the + 1."),
        (STRIDE_IGNORED, lambda n, k, p, s: n + 2 * p - k + 1),
        (PADDING_ONE_SIDE, lambda n, k, p, s: (n + p - k) // s + 1),
        (PADDING_IGNORED, lambda n, k, p, s: (n - k) // s + 1),
        (FLOOR, lambda n, k, p, s: (n + 2 * p - k) / s + 1),
        (FLOOR, lambda n, k, p, s: math.ceil((n + 2 * p - k) / s) + 1),
        (OFF_BY_ONE, lambda n, k, p, s: (n + 2 * p - k + 1) // s,
         "Divide only n + 2p - k by s, then add 1."),
        (OFF_BY_ONE, lambda n, k, p, s: (n + 2 * p - k) // s + 2),
    ]
    return run_check("conv_output_size", conv_output_size, _output_size_cases(), _output_size,
                     mistakes, kind="number")


def _pad(x, p):
    return np.pad(np.asarray(x, np.float32), ((0, 0), (p, p), (p, p), (0, 0)))


def _pad_cases():
    rng = case_rng("zero_pad")
    names = ("images", "p")
    yield Case((small_ints(rng, (1, 2, 3, 1), 1, 9), 1), names)
    yield Case((rng.random((2, 3, 4, 3), np.float32), 2), names)
    yield Case((rng.random((1, 3, 3, 2), np.float32), 0), names, "no padding")
    yield Case((rng.random((3, 5, 2, 4), np.float32), 1), names)


def check_zero_pad(zero_pad):
    """Check ``zero_pad(images, p)``: p zeros on each side of height and width.

    ``images`` is (N, H, W, C), channels last; the result is (N, H + 2p, W + 2p, C) with the
    images in the middle. ``ops.conv2d(zero_pad(x, (k - 1) // 2), w)`` then equals
    ``ops.conv2d(x, w, padding="same")`` for an odd kernel side k.
    """
    mistakes = [
        (WRONG_AXES, lambda x, p: np.pad(x, p), "You padded all four axes."),
        (CHANNELS_FIRST, lambda x, p: np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))),
         "You padded axes 2 and 3, as if the images were (N, C, H, W)."),
        (WRONG_AXES, lambda x, p: np.pad(x, ((p, p), (p, p), (0, 0), (0, 0)))),
        (WRONG_AXES, lambda x, p: np.pad(x, ((0, 0), (p, p), (0, 0), (0, 0))), "Pad the width too."),
        (WRONG_AXES, lambda x, p: np.pad(x, ((0, 0), (0, 0), (p, p), (0, 0))), "Pad the height too."),
        (PADDING_ONE_SIDE, lambda x, p: np.pad(x, ((0, 0), (0, p), (0, p), (0, 0)))),
        (PADDING_ONE_SIDE, lambda x, p: np.pad(x, ((0, 0), (p, 0), (p, 0), (0, 0)))),
        (NOT_ZEROS, lambda x, p: np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)), mode="edge")),
    ]
    return run_check("zero_pad", zero_pad, _pad_cases(), _pad, mistakes)




def shape_off_by_one(got, expected, case):
    got, expected = np.asarray(got), np.asarray(expected)
    if got.ndim == expected.ndim and got.shape != expected.shape:
        if all(abs(a - b) <= 1 for a, b in zip(got.shape, expected.shape)):
            return OFF_BY_ONE
    return None
