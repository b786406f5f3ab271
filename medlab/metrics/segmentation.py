"""Segmentation (lesson 12): Dice and IoU of masks, and a measurement taken from a mask.

The measurement is the fetal head circumference: an ellipse fitted to the mask (or, with
:func:`contour_circumference_mm`, to the sub-pixel outline of a probability map), its
circumference in mm, and how it agrees with the sonographer's (Bland-Altman: constant limits,
or limits that depend on the size measured, :func:`bland_altman_regression`).
"""

from __future__ import annotations

import numpy as np

from medlab import validate


def _mask_pairs(reference, estimate):
    """Two masks or batches of masks -> bool (N, P), checked alike (0/1 or bool values)."""
    a, b = np.asarray(reference), np.asarray(estimate)
    if a.shape != b.shape:
        raise ValueError(f"reference has shape {a.shape} but estimate has shape {b.shape}")
    if a.ndim == 2:
        a, b = a[None], b[None]
    if a.ndim not in (3, 4) or a.size == 0:
        raise ValueError(f"expected one mask (H, W) or masks (N, H, W[, 1]), got shape {a.shape}")
    for name, m in (("reference", a), ("estimate", b)):
        if m.dtype != bool and not np.all((m == 0) | (m == 1)):
            raise ValueError(f"{name} must be a binary mask (bool, or only 0 and 1); threshold "
                             "probabilities first (medlab.segmentation.threshold_masks)")
    return a.reshape(len(a), -1).astype(bool), b.reshape(len(b), -1).astype(bool)


def dice_per_image(reference, estimate):
    """Dice coefficient of each mask pair: 2 |A ∩ B| / (|A| + |B|), in [0, 1].

    Parameters
    ----------
    reference, estimate : arrays (N, H, W) or (N, H, W, 1) of 0/1 or bool, or one mask (H, W)

    Returns
    -------
    float64 array (N,)
        Equal to ``sklearn.metrics.f1_score(reference[i].ravel(), estimate[i].ravel())``. Two
        empty masks agree perfectly: Dice 1 (sklearn's ``zero_division=1.0``).
    """
    a, b = _mask_pairs(reference, estimate)
    overlap = np.sum(a & b, axis=1)
    total = a.sum(axis=1) + b.sum(axis=1)
    return np.where(total == 0, 1.0, 2.0 * overlap / np.maximum(total, 1))


def iou_per_image(reference, estimate):
    """Intersection over union (Jaccard index) of each mask pair: |A ∩ B| / |A ∪ B|.

    Equal to ``sklearn.metrics.jaccard_score`` on the flattened masks, and to
    Dice / (2 - Dice). Two empty masks: 1.

    Returns
    -------
    float64 array (N,)
    """
    a, b = _mask_pairs(reference, estimate)
    overlap = np.sum(a & b, axis=1)
    union = np.sum(a | b, axis=1)
    return np.where(union == 0, 1.0, overlap / np.maximum(union, 1))


def dice(reference, estimate):
    """Mean over images of :func:`dice_per_image` (each image counts once, whatever its size)."""
    return float(np.mean(dice_per_image(reference, estimate)))


def iou(reference, estimate):
    """Mean over images of :func:`iou_per_image`."""
    return float(np.mean(iou_per_image(reference, estimate)))


def ellipse_fit(mask):
    """The ellipse with the same second moments as the largest region of a mask.

    ``skimage.measure.regionprops`` of the largest connected component (a prediction may hold
    small stray blobs): for a filled ellipse the moments give its axes exactly, up to the
    pixel grid.

    Parameters
    ----------
    mask : array (H, W) of 0/1 or bool

    Returns
    -------
    tuple (row, col, a, b, angle)
        Centre in pixels, semi-axes a >= b in pixels, orientation in radians (skimage's).
        An empty mask gives ``(nan, nan, 0.0, 0.0, 0.0)``: circumference 0.
    """
    from skimage import measure

    m = np.asarray(mask)
    if m.ndim == 3 and m.shape[-1] == 1:
        m = m[..., 0]
    if m.ndim != 2:
        raise ValueError(f"mask must be one mask (H, W), got shape {m.shape}")
    if m.dtype != bool and not np.all((m == 0) | (m == 1)):
        raise ValueError("mask must be binary (bool, or only 0 and 1)")
    labels = measure.label(m.astype(bool), connectivity=2)
    regions = measure.regionprops(labels)
    if not regions:
        return (float("nan"), float("nan"), 0.0, 0.0, 0.0)
    region = max(regions, key=lambda r: r.area)
    row, col = region.centroid
    return (float(row), float(col), region.axis_major_length / 2, region.axis_minor_length / 2,
            float(region.orientation))


def ellipse_circumference(a, b):
    """Circumference of an ellipse of semi-axes a and b, by Ramanujan's approximation.

    C ≈ π [3 (a + b) - sqrt((3a + b)(a + 3b))]; exact for a circle (2πa), relative error
    below 5e-5 for axes ratios up to 3 : 1 (fetal heads are about 1.3 : 1) and 0.4 % for a
    flat segment (b = 0).

    Parameters
    ----------
    a, b : float or array, same unit (pixels or mm), finite and >= 0

    Returns
    -------
    float or array, in the unit of a and b
    """
    a = validate.values("semi-axis a", a, 0, dtype_kinds="uif")
    b = validate.values("semi-axis b", b, 0, dtype_kinds="uif")
    c = np.pi * (3 * (a + b) - np.sqrt((3 * a + b) * (a + 3 * b)))
    return float(c) if c.ndim == 0 else c


def mask_circumference_mm(masks, pixel_size_mm):
    """Head circumference of each mask in mm: the fitted ellipse's circumference x pixel size.

    Parameters
    ----------
    masks : array (N, H, W) or (N, H, W, 1) of 0/1 or bool
    pixel_size_mm : float or array (N,)
        Side of one pixel in mm: finite and > 0 (its values are checked before its shape).

    Returns
    -------
    float64 array (N,), in mm
    """
    size = validate.values("pixel_size_mm", pixel_size_mm, 0, low_open=True, dtype_kinds="uif")
    m = np.asarray(masks)
    if m.ndim == 4 and m.shape[-1] == 1:
        m = m[..., 0]
    if m.ndim != 3:
        raise ValueError(f"masks must be (N, H, W), got shape {m.shape}")
    if size.ndim > 1 or (size.ndim == 1 and len(size) != len(m)):
        raise ValueError(f"pixel_size_mm has shape {size.shape}: expected one size, or one per mask: "
                         f"({len(m)},)")
    size = np.broadcast_to(size, (len(m),))
    pixels = np.array([ellipse_circumference(*ellipse_fit(one)[2:4]) for one in m])
    return pixels * size


def _fit_ellipse_axes(points):
    """Semi-axes (a, b) of skimage's least-squares ellipse through (x, y) points, or None."""
    from skimage.measure import EllipseModel

    if hasattr(EllipseModel, "from_estimate"):  # scikit-image >= 0.26
        model = EllipseModel.from_estimate(points)
        axes = tuple(model.axis_lengths) if model else None
    else:
        model = EllipseModel()
        axes = tuple(model.params[2:4]) if model.estimate(points) else None
    if axes is None or not np.all(np.isfinite(axes)):
        return None
    return float(abs(axes[0])), float(abs(axes[1]))


def contour_circumference_mm(probabilities, pixel_size_mm, level=0.5):
    """Head circumference of each map in mm, from an ellipse fitted to its sub-pixel outline.

    ``skimage.measure.find_contours`` traces the iso-line ``level`` of each map between pixel
    centres (linear interpolation: a probability map places its outline between pixels, a 0/1
    mask on its pixels' edges); the longest line gets a least-squares ellipse
    (``skimage.measure.EllipseModel``) and Ramanujan's circumference, times the pixel size.
    Unlike :func:`mask_circumference_mm` it does not round the outline to whole pixels. A map
    with no outline, or one whose fit fails, falls back to :func:`mask_circumference_mm` of
    ``probabilities >= level`` (0 for an empty map).

    Parameters
    ----------
    probabilities : array (N, H, W) or (N, H, W, 1) of values in [0, 1] (or 0/1 masks)
    pixel_size_mm : float or array (N,), finite and > 0
    level : float in (0, 1)

    Returns
    -------
    float64 array (N,), in mm

    >>> rows, cols = np.mgrid[:64, :64]
    >>> disc = ((rows - 31.5) ** 2 + (cols - 31.5) ** 2 <= 20.0 ** 2).astype(float)[None]
    >>> round(float(contour_circumference_mm(disc, 1.0)[0] / (2 * np.pi * 20)), 2)
    1.0
    """
    from skimage import measure

    size = validate.values("pixel_size_mm", pixel_size_mm, 0, low_open=True, dtype_kinds="uif")
    level = validate.number("level", level, 0.0, 1.0, closed="neither")
    p, size = _maps_with_sizes(probabilities, size)
    pixels = np.zeros(len(p))
    for i, one in enumerate(p):
        lines = measure.find_contours(one, level)
        line = max(lines, key=len) if lines else None
        axes = _fit_ellipse_axes(line[:, ::-1]) if line is not None and len(line) >= 6 else None
        if axes is not None:
            pixels[i] = ellipse_circumference(*axes)
            continue
        pixels[i] = ellipse_circumference(*ellipse_fit(one >= level)[2:4])
    return pixels * size


def _maps_with_sizes(probabilities, size):
    """Probability maps as float64 (N, H, W) in [0, 1] and the checked pixel sizes as (N,)."""
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim == 4 and p.shape[-1] == 1:
        p = p[..., 0]
    if p.ndim != 3:
        raise ValueError(f"probabilities must be (N, H, W), got shape {p.shape}")
    if not np.all(np.isfinite(p) & (p >= 0) & (p <= 1)):
        raise ValueError("probabilities must hold finite values in [0, 1]")
    if size.ndim > 1 or (size.ndim == 1 and len(size) != len(p)):
        raise ValueError(f"pixel_size_mm has shape {size.shape}: expected one size, or one per map: "
                         f"({len(p)},)")
    size = np.broadcast_to(size, (len(p),))
    return p, size


def moment_circumference_mm(probabilities, pixel_size_mm, level=0.5, margin=2):
    """Head circumference of each map in mm, from the probability-weighted second moments.

    For a map of the share of each pixel inside an ellipse (anti-aliased), the moments of
    the map itself are the ellipse's, without rounding its outline to whole pixels: the
    covariance of the weighted pixel positions has eigenvalues a^2 / 4 and b^2 / 4. The
    weights are the probabilities within ``margin`` pixels (``scipy.ndimage.binary_dilation``)
    of the largest region of ``probabilities >= level`` (stray blobs stay out, as in
    :func:`ellipse_fit`); the moments are ``skimage.measure.moments_central``'s; the
    semi-axes give Ramanujan's circumference (:func:`ellipse_circumference`), times the
    pixel size. ``level`` only picks the region. A map with nothing at or above ``level``: 0.

    Parameters
    ----------
    probabilities : array (N, H, W) or (N, H, W, 1) of values in [0, 1] (or 0/1 masks)
    pixel_size_mm : float or array (N,), finite and > 0
    level : float in (0, 1)
    margin : int >= 0
        Pixels around the region whose probabilities count.

    Returns
    -------
    float64 array (N,), in mm

    >>> rows, cols = np.mgrid[:64, :64]
    >>> disc = ((rows - 31.5) ** 2 + (cols - 31.5) ** 2 <= 20.0 ** 2).astype(float)[None]
    >>> round(float(moment_circumference_mm(disc, 1.0)[0] / (2 * np.pi * 20)), 2)
    1.0
    """
    from scipy import ndimage
    from skimage import measure

    size = validate.values("pixel_size_mm", pixel_size_mm, 0, low_open=True, dtype_kinds="uif")
    level = validate.number("level", level, 0.0, 1.0, closed="neither")
    margin = validate.integer("margin", margin, 0)
    p, size = _maps_with_sizes(probabilities, size)
    pixels = np.zeros(len(p))
    for i, one in enumerate(p):
        labels = measure.label(one >= level, connectivity=2)
        if labels.max() == 0:
            continue
        largest = labels == np.argmax(np.bincount(labels.ravel())[1:]) + 1
        support = ndimage.binary_dilation(largest, iterations=margin) if margin else largest
        weights = np.where(support, one, 0.0)
        raw = measure.moments(weights, order=1)
        centre = (raw[1, 0] / raw[0, 0], raw[0, 1] / raw[0, 0])
        mu = measure.moments_central(weights, center=centre, order=2) / raw[0, 0]
        variances = np.clip(np.linalg.eigvalsh([[mu[2, 0], mu[1, 1]], [mu[1, 1], mu[0, 2]]]), 0, None)
        pixels[i] = ellipse_circumference(*(2 * np.sqrt(variances[::-1])))
    return pixels * size


def mean_absolute_difference(reference, estimate):
    """Mean of |estimate - reference|, in the unit of the inputs (e.g. mm); both of one shape.

    >>> mean_absolute_difference([180.0, 250.0], [182.0, 247.0])
    2.5
    """
    a = np.asarray(reference, dtype=np.float64)
    b = np.asarray(estimate, dtype=np.float64)
    if a.shape != b.shape or a.size == 0:  # (2, 3) against (3, 2) would pair the wrong values
        raise ValueError(f"reference {a.shape} and estimate {b.shape}: expected the same, non-empty shape")
    return float(np.mean(np.abs(b - a)))


def mask_defects(masks):
    """What could pull an ellipse fit: regions, holes and the image edge, per mask.

    Parameters
    ----------
    masks : array (N, H, W) or (N, H, W, 1) of 0/1 or bool

    Returns
    -------
    dict of int arrays (N,)
        ``regions``: connected regions (8-neighbourhood, ``skimage.measure.label``; the fit
        keeps the largest, :func:`ellipse_fit`); ``hole_pixels``: background pixels enclosed
        by the mask (``scipy.ndimage.binary_fill_holes``); ``edge_pixels``: mask pixels on
        the image's border (a head cut by the edge). No masks (N = 0): empty arrays.

    >>> m = np.zeros((1, 8, 8), int); m[0, 1:5, 1:5] = 1; m[0, 2, 2] = 0; m[0, 7, 7] = 1
    >>> {k: v.tolist() for k, v in mask_defects(m).items()}
    {'regions': [2], 'hole_pixels': [1], 'edge_pixels': [1]}
    """
    from scipy import ndimage
    from skimage import measure

    m = np.asarray(masks)
    if m.ndim == 4 and m.shape[-1] == 1:
        m = m[..., 0]
    if m.ndim != 3:
        raise ValueError(f"masks must be (N, H, W), got shape {m.shape}")
    m = _binary("masks", m)
    border = np.ones(m.shape[1:], bool)
    border[1:-1, 1:-1] = False
    return {"regions": np.array([measure.label(one, connectivity=2).max() for one in m], dtype=np.int64),
            "hole_pixels": np.array([(ndimage.binary_fill_holes(one) & ~one).sum() for one in m], dtype=np.int64),
            "edge_pixels": (m & border).sum(axis=(1, 2)).astype(np.int64)}


def error_summary(reference, estimate, large=5.0):
    """Where a measurement's error comes from: a general bias, or a few large failures.

    Parameters
    ----------
    reference, estimate : array_like (N,), or any one shape for both
        The same N things measured twice, same unit (e.g. the expert's HC and the predicted
        one, in mm), finite, N >= 1; shapes that differ are refused, even with equal sizes.
    large : float > 0
        An error larger than this (in the unit of the inputs) counts as a large failure.

    Returns
    -------
    dict of float
        ``mae`` and ``median`` of |estimate - reference|; ``signed``, the mean of
        estimate - reference (> 0: measured too large on average, a bias that a shifted
        threshold or factor could remove; near 0 with a large ``mae``: scatter);
        ``share_large``, the fraction of errors > ``large``; ``large_part``, the fraction of
        the summed absolute error that those carry.

    >>> s = error_summary([100, 100, 100, 100], [101, 101, 99, 112])
    >>> s["mae"], s["median"], s["signed"], s["share_large"], s["large_part"]
    (3.75, 1.0, 3.25, 0.25, 0.8)
    """
    large = validate.number("large", large, 0, low_open=True)
    a = np.asarray(reference, dtype=np.float64)
    b = np.asarray(estimate, dtype=np.float64)
    if a.shape != b.shape or a.size == 0:  # (2, 3) against (3, 2) would pair the wrong things
        raise validate.ArgumentError(f"reference {a.shape} and estimate {b.shape}: expected the same, "
                                     "non-empty shape")
    a, b = a.reshape(-1), b.reshape(-1)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("reference and estimate must be finite")
    error = b - a
    absolute = np.abs(error)
    big = absolute > large
    total = absolute.sum()
    return {"mae": float(absolute.mean()), "median": float(np.median(absolute)), "signed": float(error.mean()),
            "share_large": float(big.mean()), "large_part": float(absolute[big].sum() / total) if total > 0 else 0.0}


def bland_altman(reference, estimate):
    """Bias and 95 % limits of agreement of two measurements of the same things.

    Returns
    -------
    dict
        ``mean`` (N,) = (reference + estimate) / 2, ``difference`` (N,) = estimate - reference,
        ``bias`` = mean difference, ``sd`` its standard deviation (ddof 1), ``lower`` and
        ``upper`` = bias -/+ 1.96 sd (Bland & Altman, Lancet 1986).
    """
    a = np.asarray(reference, dtype=np.float64).reshape(-1)
    b = np.asarray(estimate, dtype=np.float64).reshape(-1)
    if a.shape != b.shape or a.size < 2:
        raise ValueError(f"reference and estimate need the same length >= 2: {a.size}, {b.size}")
    difference = b - a
    bias, sd = float(difference.mean()), float(difference.std(ddof=1))
    return {"mean": (a + b) / 2, "difference": difference, "bias": bias, "sd": sd,
            "lower": bias - 1.96 * sd, "upper": bias + 1.96 * sd}


def bland_altman_regression(reference, estimate, degree=1):
    """Limits of agreement that depend on the size measured (Bland & Altman 1999, section 3.2).

    When the differences' bias or spread changes along the range, one band bias ± 1.96 sd
    is too wide in one place and too narrow in another. The regression method models both
    against the mean M of the two measurements:

    1. the bias: the differences D regressed on M, ``D^(M)`` (a polynomial of ``degree``);
    2. the spread: the absolute residuals |D - D^| regressed on M, ``R^(M)``. For normal
       errors of sd s, the mean of |residual| is s sqrt(2 / pi), so s(M) = R^(M) sqrt(pi / 2);
    3. the 95 % limits: ``D^(M) ± 1.96 sqrt(pi / 2) R^(M)``, i.e. ± 2.46 R^(M).

    Parameters
    ----------
    reference, estimate : array_like (N,)
        Two measurements of the same N things, same unit (e.g. mm); N >= degree + 3.
    degree : int
        1 (straight lines, as in the paper) or 2 (a spread that is larger at both ends).

    Returns
    -------
    dict
        ``mean`` (N,) and ``difference`` (N,) as :func:`bland_altman`; ``bias_coef`` and
        ``spread_coef`` (``numpy.polyval`` coefficients, highest power first, in the unit of
        the inputs); ``grid`` (200,) from the lowest to the highest mean and, on it, ``bias``,
        ``lower``, ``upper`` (200,); ``inside``: fraction of the N differences between their
        own limits (about 0.95 when the model fits).

    >>> r = bland_altman_regression([100, 150, 200, 250, 300], [104, 148, 209, 243, 314])
    >>> r["grid"].shape, round(float(r["inside"]), 2)
    ((200,), 1.0)
    """
    degree = validate.integer("degree", degree, 1, 2)
    a = np.asarray(reference, dtype=np.float64).reshape(-1)
    b = np.asarray(estimate, dtype=np.float64).reshape(-1)
    if a.shape != b.shape or a.size < degree + 3:
        raise ValueError(f"reference and estimate need the same length >= {degree + 3}: {a.size}, {b.size}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("reference and estimate must be finite")
    mean, difference = (a + b) / 2, b - a
    if np.ptp(mean) == 0:
        raise ValueError("reference and estimate: every mean is the same; nothing to regress on")
    bias_coef = np.polyfit(mean, difference, degree)
    spread_coef = np.polyfit(mean, np.abs(difference - np.polyval(bias_coef, mean)), degree)
    factor = 1.96 * np.sqrt(np.pi / 2)

    def limits(m):
        centre = np.polyval(bias_coef, m)
        half = factor * np.maximum(np.polyval(spread_coef, m), 0.0)
        return centre, centre - half, centre + half

    grid = np.linspace(mean.min(), mean.max(), 200)
    centre, lower, upper = limits(grid)
    _, low_own, high_own = limits(mean)
    inside = float(np.mean((difference >= low_own) & (difference <= high_own)))
    return {"mean": mean, "difference": difference, "bias_coef": bias_coef, "spread_coef": spread_coef,
            "grid": grid, "bias": centre, "lower": lower, "upper": upper, "inside": inside}


# ------------------------------------------------------------------ volumes (lesson 13)
def _spacing(spacing_mm, ndim):
    """Voxel size in mm, one number > 0 per axis of a mask with ``ndim`` axes."""
    size = validate.values("spacing_mm", spacing_mm, 0, low_open=True, dtype_kinds="uif")
    size = np.broadcast_to(size, (ndim,)) if size.ndim == 0 else size
    if size.shape != (ndim,):
        raise ValueError(f"spacing_mm has shape {size.shape}: expected one voxel size per axis: ({ndim},)")
    return tuple(float(v) for v in size)


def _binary(name, mask, ndim=None):
    m = np.asarray(mask)
    if m.dtype != bool and not np.all((m == 0) | (m == 1)):
        raise ValueError(f"{name} must be a binary mask (bool, or only 0 and 1)")
    if ndim is not None and m.ndim != ndim:
        raise ValueError(f"{name} has shape {m.shape}: expected {ndim} axes")
    return m.astype(bool)


def volume_mm3(masks, spacing_mm):
    """Volume of each mask in mm³: voxels inside x the volume of one voxel.

    Parameters
    ----------
    masks : array (N, D, H, W) of 0/1 or bool (a single (D, H, W) mask gives one value)
    spacing_mm : float or 3 floats > 0
        Voxel size along (D, H, W) in mm.

    Returns
    -------
    float64 array (N,), or float for one mask, in mm³

    >>> volume_mm3(np.ones((2, 3, 4), bool), (0.5, 1.0, 2.0))
    24.0
    """
    m = _binary("masks", masks)
    if m.ndim not in (3, 4):
        raise ValueError(f"masks has shape {m.shape}: expected one mask (D, H, W) or masks (N, D, H, W)")
    voxel = float(np.prod(_spacing(spacing_mm, 3)))
    counts = m.reshape(-1 if m.ndim == 4 else 1, *m.shape[-3:]).sum(axis=(1, 2, 3)) * voxel
    return float(counts[0]) if m.ndim == 3 else counts.astype(np.float64)


def dice_per_class(reference, estimate, classes=(1, 2)):
    """Dice of each class of label maps, per image or volume: (N, len(classes)).

    Parameters
    ----------
    reference, estimate : int arrays (N, ...) of class numbers (0 background)
    classes : sequence of int
        The class numbers to score, each as its own binary mask (:func:`dice_per_image`; a
        class absent from both gives 1).

    Returns
    -------
    float64 array (N, len(classes))
    """
    a, b = np.asarray(reference), np.asarray(estimate)
    if a.shape != b.shape or a.ndim < 3:
        raise ValueError(f"reference {a.shape} and estimate {b.shape}: expected label maps (N, ...) of one shape")
    return np.stack([dice_per_image(a == k, b == k) for k in classes], axis=1)


def surface_distances_mm(reference, estimate, spacing_mm):
    """Distances in mm from each border voxel of ``estimate`` to the border of ``reference``.

    A border voxel is inside the mask with a face-neighbour outside (the mask minus its
    erosion by the 6-neighbourhood in 3-D, 4 in 2-D, as MedPy). The distance transform of
    "not on the reference's border", scaled by ``spacing_mm`` per axis
    (``scipy.ndimage.distance_transform_edt(..., sampling=spacing_mm)``), read at those voxels.

    Parameters
    ----------
    reference, estimate : arrays of one shape (D, H, W) or (H, W), 0/1 or bool, neither empty
    spacing_mm : float or one float > 0 per axis

    Returns
    -------
    float64 array (number of border voxels of estimate,), in mm
    """
    from scipy import ndimage

    a, b = _binary("reference", reference), _binary("estimate", estimate)
    if a.shape != b.shape or a.ndim not in (2, 3):
        raise ValueError(f"reference {a.shape} and estimate {b.shape}: expected two masks of one shape, 2-D or 3-D")
    if not a.any() or not b.any():
        raise ValueError("reference and estimate must each hold at least one voxel: the distance to an empty mask is undefined")
    spacing = _spacing(spacing_mm, a.ndim)
    face = ndimage.generate_binary_structure(a.ndim, 1)
    border_a = a ^ ndimage.binary_erosion(a, structure=face, iterations=1)
    border_b = b ^ ndimage.binary_erosion(b, structure=face, iterations=1)
    return ndimage.distance_transform_edt(~border_a, sampling=spacing)[border_b]


def hausdorff95_mm(reference, estimate, spacing_mm):
    """The 95th-percentile Hausdorff distance in mm between two masks (HD95).

    The 95th percentile of the border distances in both directions pooled,
    :func:`surface_distances_mm` (reference -> estimate and back): the largest distance
    between the two outlines, ignoring the worst 5 % of border voxels. Equal to
    ``medpy.metric.binary.hd95(estimate, reference, voxelspacing=spacing_mm)``
    (``tests/test_volumes.py``).

    Parameters
    ----------
    reference, estimate : arrays (D, H, W) or (H, W) of 0/1 or bool
    spacing_mm : float or one float > 0 per axis

    Returns
    -------
    float, in mm; nan when either mask is empty (no outline to measure from)

    >>> a = np.zeros((9, 9, 9), bool); a[2:7, 2:7, 2:7] = True
    >>> hausdorff95_mm(a, np.roll(a, 1, axis=0), (2.0, 1.0, 1.0))
    2.0
    """
    a, b = _binary("reference", reference), _binary("estimate", estimate)
    if a.shape == b.shape and (not a.any() or not b.any()):
        return float("nan")
    distances = np.concatenate([surface_distances_mm(a, b, spacing_mm), surface_distances_mm(b, a, spacing_mm)])
    return float(np.percentile(distances, 95))


def percent_differences(reference, estimate):
    """Bland-Altman in percent: each difference as a share of the mean of its pair.

    For measurements whose spread grows with their size (volumes of small and large
    hippocampi): 100 (estimate - reference) / ((estimate + reference) / 2).

    Returns
    -------
    dict
        :func:`bland_altman` of the percentages: ``mean`` (N,) in the unit of the inputs,
        ``difference`` (N,) in %, ``bias``, ``sd``, ``lower``, ``upper`` in %.
    """
    a = np.asarray(reference, dtype=np.float64).reshape(-1)
    b = np.asarray(estimate, dtype=np.float64).reshape(-1)
    if a.shape != b.shape or a.size < 2:
        raise ValueError(f"reference and estimate need the same length >= 2: {a.size}, {b.size}")
    mean = (a + b) / 2
    if np.any(mean <= 0) or not np.all(np.isfinite(mean)):
        raise ValueError("reference and estimate must be finite with (reference + estimate) / 2 > 0")
    percent = 100 * (b - a) / mean
    result = bland_altman(np.zeros_like(percent), percent)
    result["mean"] = mean
    return result


__all__ = [
    "dice_per_class", "hausdorff95_mm", "percent_differences", "surface_distances_mm", "volume_mm3",
    "bland_altman", "bland_altman_regression", "dice", "dice_per_image", "ellipse_circumference", "ellipse_fit", "iou",
    "iou_per_image", "mask_circumference_mm", "mean_absolute_difference",
]
