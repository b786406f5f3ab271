"""Lesson 12, segmentation: ``dice_scores``, ``head_circumference``.

Each hint is defined here, beside the mistakes (wrong variants) it explains.
"""

from __future__ import annotations

import functools

import numpy as np

from medlab.checks.framework import Case, Hint, case_rng, numbers_close, run_check
from medlab.checks.image_quality import PER_IMAGE_AXES

BATCH_BEFORE_IMAGE = Hint("batch_before_image", (
    "one Dice per image: sum the overlap and the areas over each image's own pixels "
    "(axis=tuple(range(1, masks.ndim))), then divide. Summing over the whole batch first gives "
    "one pooled number, in which large structures drown small ones."))
BOOL_PLUS_IS_OR = Hint("bool_plus_is_or", (
    "with boolean masks, a + b is the logical OR (True + True is True), so np.sum(a + b) counts "
    "the union, not |A| + |B|; turn the masks into numbers first (a.astype(float)) or sum each "
    "mask on its own: np.sum(a) + np.sum(b)."))
NO_SMOOTHING = Hint("no_smoothing", (
    "add the smoothing term s to both the numerator and the denominator: (2 |A ∩ B| + s) / "
    "(|A| + |B| + s). Without it two empty masks give 0 / 0 = nan instead of 1."))
MISSING_FACTOR_TWO = Hint("missing_factor_two", (
    "Dice counts the overlap twice, once for each mask: (2 |A ∩ B| + s) / (|A| + |B| + s). "
    "Without the 2 a perfect prediction scores only about 0.5."))
LOSS_NOT_COEFFICIENT = Hint("loss_not_coefficient", (
    "that is 1 - Dice, the soft-Dice loss; the exercise asks for the Dice coefficient itself, "
    "(2 |A ∩ B| + s) / (|A| + |B| + s): 1 for a perfect mask."))
BITWISE_ON_FLOATS = Hint("bitwise_on_floats", (
    "& and | work on bool or integer arrays only, and the masks may be float; multiply instead: "
    "the overlap of 0/1 masks is np.sum(a * b) once both are floats (np.asarray(a, float))."))
PIXEL_ACCURACY = Hint("pixel_accuracy", (
    "that is the fraction of pixels that agree (pixel accuracy), which the background "
    "dominates; Dice counts only the structure: 2 |A ∩ B| / (|A| + |B|)."))
IOU_NOT_DICE = Hint("iou_not_dice", (
    "that is the IoU, |A ∩ B| / |A ∪ B|; Dice doubles the overlap and divides by the sum of the "
    "two areas: (2 |A ∩ B| + s) / (|A| + |B| + s)."))
DIAMETERS_NOT_SEMI_AXES = Hint("diameters_not_semi_axes", (
    "a and b are the semi-axes (half the ellipse's width and height); the formula takes them "
    "as they are. For a circle of radius r, a = b = r gives 2 pi r."))
CRUDE_PERIMETER = Hint("crude_perimeter", (
    "use Ramanujan's approximation, pi [3 (a + b) - sqrt((3a + b)(a + 3b))]; pi (a + b) and "
    "2 pi sqrt((a^2 + b^2) / 2) are cruder and miss by millimetres on flat heads."))
PIXEL_SIZE_MISSING = Hint("pixel_size_missing", (
    "multiply the circumference in pixels by the pixel size (mm per pixel) once: lengths scale "
    "with the pixel size, areas with its square."))


# ------------------------------------------------------------------ dice_scores
def _dice_reference(masks, predicted, smooth=1.0):
    a = np.asarray(masks, np.float64)
    b = np.asarray(predicted, np.float64)
    axes = tuple(range(1, a.ndim))
    return (2 * np.sum(a * b, axis=axes) + smooth) / (np.sum(a, axis=axes) + np.sum(b, axis=axes) + smooth)


def _dice_variant(kind):
    def variant(masks, predicted, smooth=1.0):
        a_raw, b_raw = np.asarray(masks), np.asarray(predicted)
        a, b = a_raw.astype(np.float64), b_raw.astype(np.float64)
        axes = tuple(range(1, a.ndim))
        inter, sa, sb = np.sum(a * b, axis=axes), np.sum(a, axis=axes), np.sum(b, axis=axes)
        with np.errstate(invalid="ignore", divide="ignore"):
            if kind == "no_smoothing":
                return 2 * inter / (sa + sb)
            if kind == "smooth_denominator_only":
                return 2 * inter / (sa + sb + smooth)
            if kind == "no_factor_two":
                return (inter + smooth) / (sa + sb + smooth)
            if kind == "loss":
                return 1 - (2 * inter + smooth) / (sa + sb + smooth)
            if kind == "batch":
                return np.full(len(a), (2 * inter.sum() + smooth) / (sa.sum() + sb.sum() + smooth))
            if kind == "batch_scalar":
                return (2 * inter.sum() + smooth) / (sa.sum() + sb.sum() + smooth)
            if kind == "bool_or":
                union = np.sum(a_raw + b_raw, axis=axes).astype(np.float64)
                return (2 * inter + smooth) / (union + smooth)
            if kind == "accuracy":
                return np.mean(a == b, axis=axes)
            if kind == "iou":
                return (inter + smooth) / (sa + sb - inter + smooth)
            if kind == "axes12":
                return (2 * np.sum(a * b, axis=(1, 2)) + smooth) / (
                    np.sum(a, axis=(1, 2)) + np.sum(b, axis=(1, 2)) + smooth)
        raise ValueError(kind)

    return variant


def _dice_cases():
    rng = case_rng("dice_scores")
    names = ("masks", "predicted", "smooth")
    a = np.array([[[1, 1, 0], [1, 1, 0], [0, 0, 0]], [[0, 0, 0], [0, 1, 0], [0, 0, 0]]], np.uint8)
    b = np.array([[[1, 1, 0], [1, 0, 0], [0, 0, 0]], [[0, 0, 0], [0, 0, 0], [0, 0, 1]]], np.uint8)
    yield Case((a, b, 1.0), names, "2 masks of 3 x 3, uint8 0/1")
    empty = np.zeros((2, 4, 4), np.uint8)
    full = empty.copy()
    full[1, 1:3, 1:3] = 1
    yield Case((empty, full, 1.0), names, "image 0: both masks empty")
    big = (rng.random((3, 16, 16)) < np.array([0.6, 0.05, 0.3])[:, None, None])
    guess = big ^ (rng.random(big.shape) < 0.1)
    yield Case((big, guess, 1.0), names, "boolean masks", show=False)
    x = (rng.random((4, 8, 8, 1)) < 0.4).astype(np.float32)
    yield Case((x, (rng.random(x.shape) < 0.4).astype(np.float32), 0.5), names,
               "(N, H, W, 1) float masks, as Keras stores them", show=False)


def _dice_explain(got, expected, case):
    got = np.asarray(got)
    if got.ndim == 0 or (got.size == 1 and expected.size != 1):
        return BATCH_BEFORE_IMAGE
    if got.shape != expected.shape:
        return PER_IMAGE_AXES
    if np.isnan(got).any():
        return NO_SMOOTHING
    return None


def _dice_on_error(error, case):
    if isinstance(error, TypeError) and "bitwise" in str(error):
        return BITWISE_ON_FLOATS
    return None


def check_dice_scores(dice_scores):
    """Check ``dice_scores(masks, predicted, smooth=1.0)``: one smoothed Dice per image.

    ``masks`` and ``predicted`` are (N, H, W) or (N, H, W, 1) arrays of 0/1 (uint8, bool or
    float); the result is the (N,) array (2 |A ∩ B| + s) / (|A| + |B| + s) over each image's
    pixels. With s = 0 it is ``medlab.metrics.dice_per_image`` (for non-empty masks).
    """
    mistakes = [
        (NO_SMOOTHING, _dice_variant("no_smoothing")),
        (NO_SMOOTHING, _dice_variant("smooth_denominator_only")),
        (MISSING_FACTOR_TWO, _dice_variant("no_factor_two")),
        (LOSS_NOT_COEFFICIENT, _dice_variant("loss")),
        (BATCH_BEFORE_IMAGE, _dice_variant("batch")),
        (BATCH_BEFORE_IMAGE, _dice_variant("batch_scalar")),
        (BOOL_PLUS_IS_OR, _dice_variant("bool_or")),
        (PIXEL_ACCURACY, _dice_variant("accuracy")),
        (IOU_NOT_DICE, _dice_variant("iou")),
        (PER_IMAGE_AXES, _dice_variant("axes12")),
    ]
    return run_check("dice_scores", dice_scores, _dice_cases(), _dice_reference, mistakes,
                     explain=_dice_explain, on_error=_dice_on_error)


# ------------------------------------------------------------------ head_circumference
def _hc_reference(a, b, pixel_size_mm):
    from medlab import metrics

    return metrics.ellipse_circumference(a, b) * pixel_size_mm


def _hc_variant(kind):
    def variant(a, b, pixel_size_mm):
        ramanujan = lambda p, q: np.pi * (3 * (p + q) - np.sqrt((3 * p + q) * (p + 3 * q)))  # noqa: E731
        return float({
            "half": lambda: ramanujan(a / 2, b / 2) * pixel_size_mm,
            "double": lambda: ramanujan(2 * a, 2 * b) * pixel_size_mm,
            "sum": lambda: np.pi * (a + b) * pixel_size_mm,
            "rms": lambda: 2 * np.pi * np.sqrt((a ** 2 + b ** 2) / 2) * pixel_size_mm,
            "no_pixel": lambda: ramanujan(a, b),
            "pixel_squared": lambda: ramanujan(a, b) * pixel_size_mm ** 2,
        }[kind]())

    return variant


def _hc_cases():
    rng = case_rng("head_circumference")
    names = ("a", "b", "pixel_size_mm")
    yield Case((10.0, 10.0, 1.0), names, "a circle of radius 10 pixels, 1 mm pixels")
    yield Case((20.0, 15.0, 2.5), names, "a fetal head at 64 px")
    yield Case((24.0, 12.0, 0.4), names, "a flat ellipse, small pixels")
    for _ in range(3):
        a = float(rng.uniform(8, 28))
        yield Case((a, float(a * rng.uniform(0.6, 0.95)), float(rng.uniform(0.6, 4.9))), names,
                   show=False)


def check_head_circumference(head_circumference):
    """Check ``head_circumference(a, b, pixel_size_mm)``: Ramanujan's circumference in mm.

    ``a`` and ``b`` are the semi-axes of the fitted ellipse in pixels, ``pixel_size_mm`` the
    side of one pixel; the result is pi [3 (a + b) - sqrt((3a + b)(a + 3b))] x pixel size
    (``medlab.metrics.ellipse_circumference``).
    """
    mistakes = [
        (DIAMETERS_NOT_SEMI_AXES, _hc_variant("half")),
        (DIAMETERS_NOT_SEMI_AXES, _hc_variant("double")),
        (PIXEL_SIZE_MISSING, _hc_variant("no_pixel")),
        (PIXEL_SIZE_MISSING, _hc_variant("pixel_squared")),
        (CRUDE_PERIMETER, _hc_variant("sum")),
        (CRUDE_PERIMETER, _hc_variant("rms")),
    ]
    return run_check("head_circumference", head_circumference, _hc_cases(), _hc_reference, mistakes,
                     kind="number", equal=functools.partial(numbers_close, rel=1e-6, abs_=1e-6))
