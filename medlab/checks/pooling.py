"""Lesson 03, pooling: ``max_pool``, ``avg_pool``.

Each hint is defined here, beside the mistakes (wrong variants) it explains.
"""

from __future__ import annotations

import functools

import numpy as np

from medlab import ops
from medlab.checks.framework import Case, Hint, case_rng, run_check, small_ints
from medlab.checks.convolution import OFF_BY_ONE, STRIDE_IGNORED, shape_off_by_one

MAX_AVG_MIXED = Hint("max_avg_mixed", (
    "max and average are mixed up: max pooling keeps each window's largest value "
    "(window.max()), average pooling its mean (window.mean())."))
SUM_NOT_MEAN = Hint("sum_not_mean", "divide by the number of pixels in the window (size * size) to get the mean.")


def _pool_with(function):
    def pool(image, size, stride):
        return function(np.asarray(image, np.float32)[None, :, :, None], size, stride)[0, :, :, 0]

    return pool


_max_pool = _pool_with(ops.max_pool2d)
_avg_pool = _pool_with(ops.avg_pool2d)


def _sum_pool(image, size, stride):
    return _avg_pool(image, size, stride) * size * size


def _pool_cases(name):
    rng = case_rng(name)
    names = ("image", "size", "stride")
    lesson_x = np.array([[1, 3, 2, 0], [4, 2, 1, 5], [0, 1, 3, 2], [6, 2, 0, 1]], np.float32)
    yield Case((lesson_x, 2, 2), names, "the lesson's 4x4 example")
    yield Case((small_ints(rng, (5, 5), 0, 9), 2, 2), names, "odd side: the last row and column drop out")
    yield Case((small_ints(rng, (5, 6), 0, 9), 3, 2), names, "overlapping windows")
    yield Case((small_ints(rng, (4, 5), 0, 9), 2, 1), names)
    yield Case((rng.random((9, 11), np.float32), 3, 3), names, show=False)
    yield Case((rng.random((10, 7), np.float32), 2, 3), names, show=False)


def _pool_mistakes(this, other):
    return [
        (MAX_AVG_MIXED, other),
        (STRIDE_IGNORED, lambda x, size, stride: this(x, size, size),
         "Use the stride argument as the step between windows."),
        (STRIDE_IGNORED, lambda x, size, stride: this(x, size, 1),
         "Use the stride argument as the step between windows."),
        (OFF_BY_ONE, lambda x, size, stride: _pool_with(
            functools.partial(ops.max_pool2d if this is _max_pool else ops.avg_pool2d,
                              padding="same"))(x, size, stride),
         "Only windows that fit inside the image count (no padding)."),
    ]


def check_max_pool(max_pool):
    """Check ``max_pool(image, size, stride)``: the largest value of each size x size window.

    ``image`` is 2-D (H, W); windows start every ``stride`` pixels and must fit inside the
    image, so the result is (floor((H - size) / stride) + 1, floor((W - size) / stride) + 1).
    The reference is ``medlab.ops.max_pool2d``.
    """
    return run_check("max_pool", max_pool, _pool_cases("max_pool"), _max_pool,
                     _pool_mistakes(_max_pool, _avg_pool), explain=shape_off_by_one)


def check_avg_pool(avg_pool):
    """Check ``avg_pool(image, size, stride)``: the mean of each size x size window.

    Same windows as :func:`check_max_pool`; the reference is ``medlab.ops.avg_pool2d``.
    """
    mistakes = _pool_mistakes(_avg_pool, _max_pool)
    mistakes.insert(1, (SUM_NOT_MEAN, _sum_pool))
    mistakes.insert(2, (SUM_NOT_MEAN, lambda x, size, stride: _sum_pool(x, size, stride) / size))
    return run_check("avg_pool", avg_pool, _pool_cases("avg_pool"), _avg_pool, mistakes,
                     explain=shape_off_by_one)
