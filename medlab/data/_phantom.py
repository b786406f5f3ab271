"""The drawing of :mod:`medlab.data.synthetic`'s chest phantom: organ outlines and the finding.

Every function works in canonical coordinates ``(u, v)`` (see :mod:`medlab.data.synthetic`)
and broadcasts over a batch of images; :func:`medlab.data.synthetic.synthetic_chest`
composes them into attenuation, then exposes it into a radiograph.
"""

from __future__ import annotations

import numpy as np

# The consolidation (label 1).
_OPACITY_RADIUS = (0.15, 0.35)  # canonical units
_OPACITY_SOFTNESS = (0.5, 1.0)  # width of its soft edge, as a fraction of the radius
_OPACITY_CONTRAST = (0.1, 1.0)  # fraction of the lung air it replaces at its core
# contrast = lo + (hi - lo) * Beta(a, b): with (1.5, 1) most opacities are plain to
# see and a few percent are faint: they cap the achievable AUC below 1
_OPACITY_CONTRAST_BETA = (1.5, 1.0)


# --------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------
def _soft(distance, width):
    """Soft inside-indicator: 0 outside, 1 inside, a linear ramp ``width`` wide.

    ``distance`` is a signed distance (positive inside) in canonical units.
    """
    ramp = distance / width
    ramp += 0.5
    return np.clip(ramp, 0.0, 1.0, out=ramp)


def _smoothstep(x):
    """Smooth 0-to-1 step of ``x`` clipped to [0, 1] (cubic Hermite)."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _smooth_noise(rng, shape, sigma_px):
    """Gaussian-filtered white noise, rescaled to unit standard deviation.

    Parameters
    ----------
    rng : numpy.random.Generator
    shape : tuple (m, size, size)
    sigma_px : float
        Correlation length in pixels.

    Returns
    -------
    ndarray, float32, shape ``shape``
    """
    # uniform white noise is 5x cheaper to draw than normal; after the filter
    # (a weighted sum of many pixels) the field is Gaussian all the same
    white = rng.random(shape, dtype=np.float32) - np.float32(0.5)  # variance 1/12
    from scipy import ndimage

    smooth = ndimage.gaussian_filter(
        white, sigma=sigma_px, axes=(1, 2), mode="reflect", truncate=3.0
    )
    # the filter divides the variance of white noise by 4*pi*sigma^2 (2-D Gaussian)
    return smooth * np.float32(np.sqrt(12.0 * 4.0 * np.pi) * sigma_px)


def _col(x):
    """Per-image parameter vector (m,) -> float32 (m, 1, 1) for broadcasting."""
    return np.asarray(x, dtype=np.float32)[:, None, None]


# --------------------------------------------------------------------------
# anatomy (all in canonical coordinates, broadcasting over the batch)
# --------------------------------------------------------------------------
def _body(u, v, edge):
    """Soft-tissue thickness of the trunk, neck and shoulders.

    Parameters
    ----------
    u, v : float32 ndarrays, shape (m, size, size)
        Canonical coordinates (``_pose_grid``); the other anatomy functions take
        the same ``u, v`` and per-image parameters ``p`` of shape (m, 1, 1).
    edge : float32 ndarray, shape (m, 1, 1)
        One pixel in canonical units: the width of soft edges.

    Returns
    -------
    float32 ndarray in [0, 1]: 0 is air around the patient, 1 the thickest
    (central) part of the chest.
    """
    # trunk: a superellipse (exponent 4: square flanks, rounded corners)
    # centred low, cut at the top by the sloping shoulders
    ax, ay, cy = 0.9, 1.1, 0.3  # half-width, half-height, centre v of the trunk
    x2, y2 = (u / ax) ** 2, ((v - cy) / ay) ** 2
    r = np.sqrt(np.sqrt(x2 * x2 + y2 * y2))
    shoulders = v + 0.8 - 0.35 * np.maximum(np.abs(u) - 0.2, 0.0)  # 0.35: shoulder slope
    trunk = _soft(np.minimum((1.0 - r) * ax, shoulders), edge)
    neck = _soft(0.2 - np.abs(u), edge) * _soft(-0.5 - v, edge)  # 0.4 wide, above v = -0.5
    outline = np.maximum(trunk, neck)
    # X-ray path length through a cylinder-like body: thicker in the middle
    thickness = 0.6 + 0.4 * np.sqrt(np.clip(1.0 - (u / 0.95) ** 2, 0.0, 1.0))
    return outline * thickness


def _lung(u, v, side, p, edge):
    """Air content of one lung: an egg-shaped field cut by its diaphragm dome.

    Parameters
    ----------
    side : {-1, +1}
        -1 for the patient's right lung (image left), +1 for the left lung.

    Returns
    -------
    mask : float32 ndarray in [0, 1]
        Soft lung outline.
    depth : float32 ndarray in [0, 1]
        Air thickness: largest in the centre of the lung, thinner at its edges.
    """
    s = side * u  # distance from the midline towards this lung's chest wall
    # an ellipse 0.66 wide and 1.54 high centred 0.45 from the midline: apex
    # near v = -0.72, medial edge 0.12 from the midline (the mediastinum)
    centre_s, centre_v = 0.45, 0.05
    half_v = 0.77 * p["lung_h"]
    # narrower apex, wider base (egg shape): half-width +-30 % from top to bottom
    half_s = 0.33 * p["lung_w"] * (1.0 + 0.3 * (v - centre_v) / half_v)
    q = np.sqrt(((s - centre_s) / half_s) ** 2 + ((v - centre_v) / half_v) ** 2)
    inside_ellipse = (1.0 - q) * half_s
    # diaphragm dome: highest near the mid-clavicular line, deep lateral
    # (costophrenic) and medial angles; the left dome (side +1) sits lower
    top = p["dome_r"] + (side > 0) * p["dome_drop"]
    dome = top + 1.5 * (s - 0.38) ** 2  # 1.5: curvature; the angles lie ~0.2 below the top
    mask = _soft(np.minimum(inside_ellipse, dome - v), edge)
    depth = mask * (0.75 + 0.25 * np.clip(1.0 - q * q, 0.0, 1.0))  # 25 % thinner at edges
    return mask, depth


def _lungs(u, v, p, edge):
    """Both lungs: (mask, air depth) as in ``_lung``, summed over the sides."""
    mask_r, depth_r = _lung(u, v, -1, p, edge)
    mask_l, depth_l = _lung(u, v, +1, p, edge)
    return mask_r + mask_l, depth_r + depth_l


def _heart(u, v, p, edge):
    """Heart and aortic knob: mediastinal shadows that hide the lung behind them.

    Returns
    -------
    float32 ndarray in [0, 1]
    """
    # heart: ellipse tilted so that its apex points down towards the patient's left
    tilt = np.float32(-25.0 * np.pi / 180.0)
    # centred at v = 0.3 on the diaphragm, half-axes 0.36 x 0.26: cardiothoracic ratio ~0.45
    du, dv = u - p["heart_u"], v - 0.3
    a = (np.cos(tilt) * du + np.sin(tilt) * dv) / (0.36 * p["heart"])
    b = (-np.sin(tilt) * du + np.cos(tilt) * dv) / (0.26 * p["heart"])
    heart = _soft((1.0 - np.sqrt(a * a + b * b)) * 0.26, edge)
    # aortic knob: the arch bulging to the patient's left above the heart
    knob = _soft(0.08 - np.sqrt((u - 0.14) ** 2 + (v + 0.3) ** 2), edge)  # radius 0.08
    return np.maximum(heart, knob)


def _ribs(u, v, p, edge):
    """Posterior ribs: bright bands that rise from the spine and curve down laterally.

    Returns
    -------
    float32 ndarray in [0, 1]
    """
    s = np.abs(u)
    # rib centre line: slight rise next to the spine, then falling to the chest wall
    curve = -0.25 * s + 0.75 * s * s
    below = v - curve
    # ribs lie farther apart lower down (spacing grows ~25 % over the chest)
    phase = (below - 0.12 * below * below) / p["rib_spacing"] + p["rib_phase"]
    # a band where cos > 0.4: about 37 % of each rib spacing is bone
    band = np.clip((np.cos(2.0 * np.pi * phase) - 0.4) / 0.3, 0.0, 1.0)
    # from the spine (|u| = 0.1) to the chest wall, from the apices to the upper abdomen,
    # fading out over a few pixels
    lateral = _soft(s - 0.1, 4 * edge) * _soft(0.88 - s, 4 * edge)
    vertical = _soft(v + 0.85, 4 * edge) * _soft(0.55 - v, 8 * edge)
    return band * lateral * vertical


def _clavicles(u, v, edge):
    """Clavicles: S-shaped bands from the sternum up to the shoulders."""
    s = np.abs(u)
    centre = -0.6 - 0.28 * s + 0.15 * s * s  # from v = -0.62 at the sternum up to -0.72
    band = _soft(0.035 - np.abs(v - centre), edge)  # 0.07 thick, from |u| = 0.07 to 0.68
    return band * _soft(s - 0.07, edge) * _soft(0.68 - s, edge)


def _spine(u, v, edge):
    """Vertebral column: a segmented vertical band in the midline."""
    # one vertebra every 0.13 canonical units, discs slightly darker
    segments = 0.7 + 0.3 * np.cos(2.0 * np.pi * v / 0.13)
    return _soft(0.075 - np.abs(u), edge) * segments  # 0.15 wide


def _gastric_bubble(u, v, p, edge):
    """Air in the stomach fundus under the left hemidiaphragm (image right)."""
    top = p["dome_r"] + p["dome_drop"]
    # a flat ellipse (half-axes 0.09 x 0.045) 0.42 left of the midline, 0.12 below the dome
    q = np.sqrt(((u - 0.42) / 0.09) ** 2 + ((v - top - 0.12) / 0.045) ** 2)
    return _soft((1.0 - q) * 0.045, edge) * p["gas"]


def _lung_markings(field, u, v):
    """Vessel-like lung markings, densest at the hila.

    Thin curvy ridges at the zero crossings of smooth noise, faded with the
    distance from each hilum.

    Parameters
    ----------
    field : float32 ndarray, shape (m, size, size)
        Unit-variance smooth noise (``_smooth_noise``).

    Returns
    -------
    float32 ndarray in [0, 1], shape (m, size, size)
    """
    ridges = np.exp(-((field / 0.35) ** 2))  # 1 on zero crossings; 0.35 sets line width
    # squared distance to the nearer hilum, at u = +-0.22, v = -0.02
    hilum = np.minimum((u + 0.22) ** 2, (u - 0.22) ** 2) + (v + 0.02) ** 2
    # 30 % of the markings everywhere, 70 % fading over 0.35 from the hilum
    return ridges * (0.3 + 0.7 * np.exp(-np.sqrt(hilum) / 0.35))


# --------------------------------------------------------------------------
# the finding
# --------------------------------------------------------------------------
def _opacity_params(m, rng, p, edge):
    """Centre, size, shape and contrast of a consolidation for every image.

    Drawn for every image (used only where the label is 1), so that anatomy
    and exposure do not depend on the label. Centres are drawn inside one lung,
    lower zones more likely, and kept off the heart shadow.

    Returns
    -------
    dict of str -> float32 ndarray of shape (m, 1, 1)
    """
    candidates = 8  # tries per image for a centre in visible lung
    side = np.where(rng.uniform(size=m) < 0.5, -1.0, 1.0)[:, None, None]  # either lung
    # within 80 % of the lung's half-width (0.33) of its centre line (0.45), see _lung
    s = 0.45 + 0.33 * p["lung_w"] * rng.uniform(-0.8, 0.8, (m, 1, candidates))
    # v from -0.55 (below the apex) to 0.45 (the costophrenic angles); Beta(2, 1.3)
    # leans towards 1: lower lobes more often than upper
    v = -0.55 + 1.0 * rng.beta(2.0, 1.3, (m, 1, candidates))
    u = (side * s).astype(np.float32)
    v = v.astype(np.float32)
    mask, _ = _lungs(u, v, p, edge)
    visible = (mask > 0.99) & (_heart(u, v, p, edge) < 0.01)
    first = np.argmax(visible, axis=2)[:, :, None]  # 0 if none visible
    ok = np.take_along_axis(visible, first, axis=2)
    # fallback: mid-zone of the chosen lung, always inside and above the heart
    cu = np.where(ok, np.take_along_axis(u, first, axis=2), side * 0.5)
    cv = np.where(ok, np.take_along_axis(v, first, axis=2), -0.05)
    q = {
        "cu": cu,
        "cv": cv,
        "radius": rng.uniform(*_OPACITY_RADIUS, m),
        "aspect": np.exp(rng.uniform(-0.35, 0.35, m)),  # up to 1.4:1 elongated
        "angle": rng.uniform(0.0, np.pi, m),
        "wobble2": rng.uniform(0.0, 0.2, m),  # irregular outline, 2nd harmonic
        "wobble3": rng.uniform(0.0, 0.15, m),  # 3rd harmonic
        "phase2": rng.uniform(0.0, 2 * np.pi, m),
        "phase3": rng.uniform(0.0, 2 * np.pi, m),
        "softness": rng.uniform(*_OPACITY_SOFTNESS, m),
        "contrast": _OPACITY_CONTRAST[0]
        + (_OPACITY_CONTRAST[1] - _OPACITY_CONTRAST[0]) * rng.beta(*_OPACITY_CONTRAST_BETA, m),
    }
    return {k: val.astype(np.float32) if val.ndim == 3 else _col(val) for k, val in q.items()}


def _opacity(u, v, q, lung_mask, patchiness):
    """Consolidation: soft-edged, irregular, patchy, confined to the lung.

    Parameters
    ----------
    q : dict
        From ``_opacity_params``.
    lung_mask : float32 ndarray
        Soft outline of both lungs (the opacity does not cross the pleura).
    patchiness : float32 ndarray
        Unit-variance smooth noise that makes the consolidation patchy.

    Returns
    -------
    float32 ndarray in [0, 1]: fraction of lung air replaced by fluid/tissue,
    before scaling by ``q["contrast"]``.
    """
    du, dv = u - q["cu"], v - q["cv"]
    cos, sin = np.cos(q["angle"]), np.sin(q["angle"])
    a = (cos * du + sin * dv) * q["aspect"]
    b = (-sin * du + cos * dv) / q["aspect"]
    r = np.sqrt(a * a + b * b) / q["radius"]
    phi = np.arctan2(b, a)
    outline = 1.0 + q["wobble2"] * np.cos(2 * phi + q["phase2"]) + q["wobble3"] * np.cos(
        3 * phi + q["phase3"]
    )
    core = _smoothstep((outline - r) / q["softness"] + 0.5)
    # patchy: 75 % on average, +-35 % per sd of the noise, never below 20 %
    texture = np.clip(0.75 + 0.35 * patchiness, 0.2, 1.0)
    return core * texture * lung_mask
