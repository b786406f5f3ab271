"""Lesson 13, volumes: ``conv3d_output_shape``, ``volume_in_mm3``, ``hd95_by_hand``.

Each hint is defined here, beside the mistakes (wrong variants) it explains.
"""

from __future__ import annotations

import math

import numpy as np

from medlab import metrics, ops
from medlab.checks.framework import Case, Hint, case_rng, numbers_close, run_check

PER_AXIS = Hint("per_axis", (
    "each of the three axes has its own length, kernel side and stride: apply the 1-D rule "
    "floor((n - k) / s) + 1 ('valid') or ceil(n / s) ('same') to (D, k_d, s_d), (H, k_h, s_h) "
    "and (W, k_w, s_w) separately, and return the three sizes."))
SAME_KEEPS_SIZE_ONLY_AT_STRIDE_1 = Hint("same_stride", (
    "'same' keeps the size only with stride 1; with stride s Keras's 'same' gives ceil(n / s)."))
VALID_SHRINKS = Hint("valid_shrinks", (
    "'valid' means no padding: along each axis the output is floor((n - k) / s) + 1, smaller "
    "than the input by k - 1 at stride 1."))
OFF_BY_ONE_3D = Hint("off_by_one_3d", (
    "off by one: along an axis of n voxels a window of k voxels fits in n - k + 1 positions, "
    "so 'valid' gives floor((n - k) / s) + 1."))
VOXEL_COUNT = Hint("voxel_count", (
    "that is the number of voxels; multiply it by the volume of one voxel in mm³, the product "
    "of the three voxel sides: dz * dy * dx."))
SUM_OF_SIDES = Hint("sum_of_sides", (
    "a voxel's volume is the product of its three sides (mm x mm x mm = mm³), not their sum."))
ONE_SIDE = Hint("one_side", (
    "use all three voxel sides: an MRI voxel is often longer along one axis (e.g. 1 x 1 x 3 mm), "
    "so side ** 3 of one of them is wrong."))
MAX_NOT_95 = Hint("max_not_95", (
    "that is the maximum, the plain Hausdorff distance; HD95 takes the 95th percentile "
    "(np.percentile(..., 95)) so that a few stray voxels do not decide it."))
ONE_DIRECTION = Hint("one_direction", (
    "use the distances in both directions: from A's border to B's AND from B's border to A's, "
    "pooled into one array before the percentile. One direction misses where B is too small."))
MEAN_NOT_PERCENTILE = Hint("mean_not_percentile", (
    "that is the mean surface distance; HD95 is the 95th percentile of the pooled distances."))
PERCENTILE_PER_DIRECTION = Hint("percentile_per_direction", (
    "pool the two directions first, then take one 95th percentile; the larger of two "
    "percentiles (or their mean) is a different number."))


# ------------------------------------------------------------------ conv3d_output_shape
def _shape_cases():
    names = ("shape", "kernel", "stride", "padding")
    for args in (((40, 56, 40), (3, 3, 3), (1, 1, 1), "valid"), ((40, 56, 40), (3, 3, 3), (1, 1, 1), "same"),
                 ((40, 56, 40), (2, 2, 2), (2, 2, 2), "valid"), ((35, 51, 35), (3, 3, 3), (2, 2, 2), "same"),
                 ((9, 8, 7), (3, 1, 5), (1, 2, 3), "valid"), ((9, 8, 7), (3, 1, 5), (2, 1, 3), "same"),
                 ((64, 64, 16), (5, 5, 3), (2, 2, 1), "valid")):
        yield Case(args, names)


def _shape(shape, kernel, stride, padding):
    return np.array([ops.output_size(n, k, s, padding) for n, k, s in zip(shape, kernel, stride)])


def check_conv3d_output_shape(conv3d_output_shape):
    """Check ``conv3d_output_shape(shape, kernel, stride, padding)``: the (D', H', W') of a Conv3D.

    ``shape``, ``kernel`` and ``stride`` are 3-tuples (D, H, W order), ``padding`` "valid" or
    "same"; the reference is :func:`medlab.ops.output_size` along each axis (Keras's rule).
    """
    mistakes = [
        (SAME_KEEPS_SIZE_ONLY_AT_STRIDE_1, lambda sh, k, s, p: np.array(
            [n if p == "same" else (n - kk) // ss + 1 for n, kk, ss in zip(sh, k, s)])),
        (VALID_SHRINKS, lambda sh, k, s, p: np.array([math.ceil(n / ss) for n, ss in zip(sh, s)])),
        (OFF_BY_ONE_3D, lambda sh, k, s, p: np.array(
            [math.ceil(n / ss) if p == "same" else (n - kk) // ss for n, kk, ss in zip(sh, k, s)])),
        (PER_AXIS, lambda sh, k, s, p: np.array([ops.output_size(n, k[0], s[0], p) for n in sh])),
    ]
    return run_check("conv3d_output_shape", conv3d_output_shape, _shape_cases(), _shape, mistakes)


# ------------------------------------------------------------------ volume_in_mm3
def _volume_cases():
    rng = case_rng("volume_in_mm3")
    names = ("mask", "spacing_mm")
    yield Case((np.ones((2, 3, 4), np.uint8), (1.0, 1.0, 1.0)), names, "1 mm voxels")
    yield Case((rng.random((6, 7, 5)) > 0.5, (0.5, 0.8, 3.0)), names, "anisotropic voxels")
    yield Case(((rng.random((10, 12, 8)) > 0.7).astype(np.uint8), (1.2, 0.9, 0.9)), names)
    yield Case((np.zeros((4, 4, 4), bool), (1.0, 2.0, 3.0)), names, "an empty mask")


def _volume(mask, spacing_mm):
    return metrics.volume_mm3(mask, spacing_mm)


def check_volume_in_mm3(volume_in_mm3):
    """Check ``volume_in_mm3(mask, spacing_mm)``: voxels inside x the volume of one voxel, in mm³.

    Reference: :func:`medlab.metrics.volume_mm3`.
    """
    mistakes = [
        (VOXEL_COUNT, lambda m, s: float(np.sum(m))),
        (SUM_OF_SIDES, lambda m, s: float(np.sum(m)) * float(np.sum(s))),
        (ONE_SIDE, lambda m, s: float(np.sum(m)) * float(s[0]) ** 3),
        (ONE_SIDE, lambda m, s: float(np.sum(m)) * float(s[-1]) ** 3),
    ]
    return run_check("volume_in_mm3", volume_in_mm3, _volume_cases(), _volume, mistakes, kind="number",
                     equal=numbers_close)


# ------------------------------------------------------------------ hd95_by_hand
def _hd_cases():
    rng = case_rng("hd95_by_hand")
    names = ("reference", "estimate", "spacing_mm")
    a = np.zeros((12, 12, 12), bool)
    a[3:9, 3:9, 3:9] = True
    yield Case((a, np.roll(a, 1, axis=0), (1.0, 1.0, 1.0)), names, "a cube moved by one voxel", show=False)
    b = a.copy()
    b[4:6, 4:6, 4:6] = False
    b[2:10, 5:7, 5:7] = True
    yield Case((a, b, (2.0, 1.0, 0.5)), names, "anisotropic voxels", show=False)
    c = np.zeros_like(a)
    c[4:8, 4:8, 4:8] = True
    yield Case((a, c, (1.0, 1.0, 1.0)), names, "the estimate too small", show=False)
    for _ in range(2):
        r = rng.random((10, 11, 9)) > 0.6
        e = rng.random((10, 11, 9)) > 0.6
        yield Case((r, e, tuple(float(v) for v in rng.uniform(0.5, 2.0, 3))), names, "random masks", show=False)


def _hd(reference, estimate, spacing_mm):
    return metrics.hausdorff95_mm(reference, estimate, spacing_mm)


def _hd_variant(kind):
    def variant(reference, estimate, spacing_mm):
        ab = metrics.surface_distances_mm(reference, estimate, spacing_mm)
        ba = metrics.surface_distances_mm(estimate, reference, spacing_mm)
        if kind == "max":
            return float(max(ab.max(), ba.max()))
        if kind == "one_way":
            return float(np.percentile(ab, 95))
        if kind == "other_way":
            return float(np.percentile(ba, 95))
        if kind == "mean":
            return float(np.mean(np.concatenate([ab, ba])))
        if kind == "max_of_two":
            return float(max(np.percentile(ab, 95), np.percentile(ba, 95)))
        return float((np.percentile(ab, 95) + np.percentile(ba, 95)) / 2)
    return variant


def check_hd95_by_hand(hd95_by_hand):
    """Check ``hd95_by_hand(reference, estimate, spacing_mm)``: the 95th-percentile Hausdorff distance in mm.

    Reference: :func:`medlab.metrics.hausdorff95_mm` (equal to MedPy's ``hd95``).
    """
    mistakes = [
        (MAX_NOT_95, _hd_variant("max")),
        (ONE_DIRECTION, _hd_variant("one_way")),
        (ONE_DIRECTION, _hd_variant("other_way")),
        (MEAN_NOT_PERCENTILE, _hd_variant("mean")),
        (PERCENTILE_PER_DIRECTION, _hd_variant("max_of_two")),
        (PERCENTILE_PER_DIRECTION, _hd_variant("mean_of_two")),
    ]
    return run_check("hd95_by_hand", hd95_by_hand, _hd_cases(), _hd, mistakes, kind="number",
                     equal=lambda got, expected: numbers_close(got, expected, rel=1e-6, abs_=1e-6))


__all__ = ["check_conv3d_output_shape", "check_hd95_by_hand", "check_volume_in_mm3"]
