"""medlab.checks.volumes (lesson 13): right answers pass, each mistake gets its hint."""

import math

import numpy as np
import pytest
from scipy import ndimage

from medlab import checks
from medlab.checks import volumes as checks_volumes


def conv3d_output_shape(shape, kernel, stride, padding):
    if padding == "same":
        return tuple(math.ceil(n / s) for n, s in zip(shape, stride))
    return tuple((n - k) // s + 1 for n, k, s in zip(shape, kernel, stride))


def volume_in_mm3(mask, spacing_mm):
    return float(np.sum(mask)) * float(np.prod(spacing_mm))


def _distances(a, b, spacing):
    face = ndimage.generate_binary_structure(3, 1)
    border_a = a ^ ndimage.binary_erosion(a, face)
    border_b = b ^ ndimage.binary_erosion(b, face)
    return ndimage.distance_transform_edt(~border_a, sampling=spacing)[border_b]


def hd95_by_hand(reference, estimate, spacing_mm):
    a, b = np.asarray(reference, bool), np.asarray(estimate, bool)
    return float(np.percentile(np.concatenate([_distances(a, b, spacing_mm), _distances(b, a, spacing_mm)]), 95))


RIGHT = {"conv3d_output_shape": conv3d_output_shape, "volume_in_mm3": volume_in_mm3,
         "hd95_by_hand": hd95_by_hand}


@pytest.mark.parametrize("exercise", sorted(RIGHT))
def test_right_answer_passes_with_one_line(run_check, exercise):
    ok, out = run_check(exercise, RIGHT[exercise])
    assert ok and out.startswith(f"{exercise}: all ") and out.count("\n") == 1, out


def _pooled(r, e, s):
    a, b = np.asarray(r, bool), np.asarray(e, bool)
    return _distances(a, b, s), _distances(b, a, s)


MISTAKES = [
    ("conv3d_output_shape", lambda sh, k, s, p: tuple(n if p == "same" else (n - kk) // ss + 1
                                                      for n, kk, ss in zip(sh, k, s)), "same_stride"),
    ("conv3d_output_shape", lambda sh, k, s, p: tuple(math.ceil(n / ss) for n, ss in zip(sh, s)), "valid_shrinks"),
    ("conv3d_output_shape", lambda sh, k, s, p: tuple(math.ceil(n / ss) if p == "same" else (n - kk) // ss
                                                      for n, kk, ss in zip(sh, k, s)), "off_by_one_3d"),
    ("conv3d_output_shape", lambda sh, k, s, p: tuple(conv3d_output_shape((n,), k[:1], s[:1], p)[0] for n in sh),
     "per_axis"),
    ("volume_in_mm3", lambda m, s: float(np.sum(m)), "voxel_count"),
    ("volume_in_mm3", lambda m, s: float(np.sum(m)) * sum(s), "sum_of_sides"),
    ("volume_in_mm3", lambda m, s: float(np.sum(m)) * s[0] ** 3, "one_side"),
    ("hd95_by_hand", lambda r, e, s: float(max(d.max() for d in _pooled(r, e, s))), "max_not_95"),
    ("hd95_by_hand", lambda r, e, s: float(np.percentile(_pooled(r, e, s)[0], 95)), "one_direction"),
    ("hd95_by_hand", lambda r, e, s: float(np.mean(np.concatenate(_pooled(r, e, s)))), "mean_not_percentile"),
    ("hd95_by_hand", lambda r, e, s: float(max(np.percentile(d, 95) for d in _pooled(r, e, s))),
     "percentile_per_direction"),
]


@pytest.mark.parametrize("exercise, function, key", MISTAKES,
                         ids=[f"{e}-{k}-{i}" for i, (e, _, k) in enumerate(MISTAKES)])
def test_mistake_fails_with_its_hint(run_check, exercise, function, key):
    ok, out = run_check(exercise, function)
    assert not ok
    assert f"hint: {checks.HINTS[key]}" in out, out


def test_every_volumes_hint_is_tested():
    hints = {value.key for value in vars(checks_volumes).values() if isinstance(value, checks.Hint)}
    assert hints <= {key for _, _, key in MISTAKES}


@pytest.mark.parametrize("exercise", sorted(RIGHT))
def test_unfinished_function_is_reported(run_check, exercise):
    def unfinished(*args):
        raise NotImplementedError("write this")

    ok, out = run_check(exercise, unfinished)
    assert not ok and "not done yet (it raises NotImplementedError)" in out, out
