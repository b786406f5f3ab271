"""medlab.checks.segmentation (lesson 12): right answers pass, each mistake gets its hint."""

import numpy as np
import pytest

from medlab import checks
from medlab.checks import segmentation as checks_segmentation


def dice_scores(masks, predicted, smooth=1.0):
    a, b = np.asarray(masks, float), np.asarray(predicted, float)
    axes = tuple(range(1, a.ndim))
    return (2 * (a * b).sum(axis=axes) + smooth) / (a.sum(axis=axes) + b.sum(axis=axes) + smooth)


def head_circumference(a, b, pixel_size_mm):
    return np.pi * (3 * (a + b) - np.sqrt((3 * a + b) * (a + 3 * b))) * pixel_size_mm


RIGHT = {"dice_scores": dice_scores, "head_circumference": head_circumference}


@pytest.mark.parametrize("exercise", sorted(RIGHT))
def test_right_answer_passes_with_one_line(run_check, exercise):
    ok, out = run_check(exercise, RIGHT[exercise])
    assert ok and out.startswith(f"{exercise}: all ") and out.count("\n") == 1, out


def _sums(masks, predicted):
    axes = tuple(range(1, np.ndim(masks)))
    return axes, np.sum(np.asarray(masks) * np.asarray(predicted), axis=axes)


def dice_no_smoothing(m, p, smooth=1.0):
    axes, inter = _sums(m, p)
    with np.errstate(invalid="ignore"):
        return 2 * inter / (np.sum(m, axis=axes) + np.sum(p, axis=axes))


def dice_batch_first(m, p, smooth=1.0):
    m, p = np.asarray(m, float), np.asarray(p, float)
    return (2 * np.sum(m * p) + smooth) / (np.sum(m) + np.sum(p) + smooth)


def dice_bool_plus(m, p, smooth=1.0):
    axes, inter = _sums(m, p)
    return (2 * inter + smooth) / (np.sum(np.asarray(m) + np.asarray(p), axis=axes) + smooth)


def dice_pixel_accuracy(m, p, smooth=1.0):
    return np.mean(np.asarray(m) == np.asarray(p), axis=tuple(range(1, np.ndim(m))))


def dice_three_axes(m, p, smooth=1.0):
    m, p = np.asarray(m, float), np.asarray(p, float)
    return (2 * np.sum(m * p, axis=(1, 2)) + smooth) / (m.sum(axis=(1, 2)) + p.sum(axis=(1, 2)) + smooth)


def ramanujan(a, b):
    return np.pi * (3 * (a + b) - np.sqrt((3 * a + b) * (a + 3 * b)))


MISTAKES = [
    ("dice_scores", dice_no_smoothing, "no_smoothing"),
    ("dice_scores", dice_batch_first, "batch_before_image"),
    ("dice_scores", dice_bool_plus, "bool_plus_is_or"),
    ("dice_scores", dice_pixel_accuracy, "pixel_accuracy"),
    ("dice_scores", dice_three_axes, "per_image_axes"),
    ("dice_scores", lambda m, p, s=1.0: (lambda axes, i: (i + s) / (np.sum(m, axis=axes) + np.sum(p, axis=axes)
                                                                 - i + s))(*_sums(m, p)), "iou_not_dice"),
    ("dice_scores", lambda m, p, s=1.0: (lambda axes, i: 2 * i / (np.sum(m, axis=axes) + np.sum(p, axis=axes)
                                                                 + s))(*_sums(m, p)), "no_smoothing"),
    ("dice_scores", lambda m, p, s=1.0: (lambda axes, i: (i + s) / (np.sum(m, axis=axes) + np.sum(p, axis=axes)
                                                                 + s))(*_sums(m, p)), "missing_factor_two"),
    ("dice_scores", lambda m, p, s=1.0: (lambda axes, i: 1 - (2 * i + s) / (
        np.sum(m, axis=axes) + np.sum(p, axis=axes) + s))(*_sums(m, p)), "loss_not_coefficient"),
    ("dice_scores", lambda m, p, s=1.0: (lambda axes: (2 * np.sum(np.asarray(m) & np.asarray(p), axis=axes) + s)
                                         / (np.sum(m, axis=axes) + np.sum(p, axis=axes) + s))(
        tuple(range(1, np.ndim(m)))), "bitwise_on_floats"),
    ("head_circumference", lambda a, b, s: ramanujan(a / 2, b / 2) * s, "diameters_not_semi_axes"),
    ("head_circumference", lambda a, b, s: ramanujan(a, b), "pixel_size_missing"),
    ("head_circumference", lambda a, b, s: ramanujan(a, b) * s * s, "pixel_size_missing"),
    ("head_circumference", lambda a, b, s: np.pi * (a + b) * s, "crude_perimeter"),
    ("head_circumference", lambda a, b, s: 2 * np.pi * np.sqrt((a * a + b * b) / 2) * s, "crude_perimeter"),
]


@pytest.mark.parametrize("exercise, function, key", MISTAKES,
                         ids=[f"{e}-{k}-{i}" for i, (e, _, k) in enumerate(MISTAKES)])
def test_mistake_fails_with_its_hint(run_check, exercise, function, key):
    ok, out = run_check(exercise, function)
    assert not ok
    assert f"hint: {checks.HINTS[key]}" in out, out


def test_every_segmentation_hint_is_tested():
    hints = {value.key for value in vars(checks_segmentation).values()
             if isinstance(value, checks.Hint) and value.key in checks.HINTS}
    own = hints - {"per_image_axes"}
    assert own <= {key for _, _, key in MISTAKES}


@pytest.mark.parametrize("exercise", sorted(RIGHT))
def test_unfinished_function_is_reported(run_check, exercise):
    def unfinished(*args):
        raise NotImplementedError("write this")

    ok, out = run_check(exercise, unfinished)
    assert not ok and "not done yet (it raises NotImplementedError)" in out, out
