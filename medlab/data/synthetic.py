"""Synthetic chest radiographs: the kit's embedded, offline default dataset.

``synthetic_chest`` draws frontal (PA) chest-radiograph phantoms. Every image
has a body outline, two air-filled (dark) lungs, a heart and mediastinum
shadow, diaphragm domes, ribs, clavicles and spine, lung markings, soft-tissue
texture, quantum noise and detector blur, and varies in pose, anatomy and
exposure. Label 1 adds a pneumonia-like consolidation: a soft-edged, patchy,
brighter region inside one lung, more often in a lower zone.

Anatomy, pose, exposure and noise are drawn independently of the labels: the
same ``n`` and ``seed`` with ``prevalence=0`` and ``prevalence=1`` give the
same patients without and with a consolidation.

The task is tuned to be learnable but not trivial (``tests/test_synthetic.py``
checks it, ``benchmarks/synthetic.py`` measures it): the mean brightness of an
image says little about its label (ROC-AUC about 0.56: lung density and
exposure vary more than the opacity adds); the article's CNN
(``medlab.models.seed_cnn``, Adam 1e-3) reaches an AUC of about 0.95 after 6
epochs on 4,000 images of 32x32, while a logistic regression on the raw pixels
stays near 0.76; a few faint opacities keep even long training below about
0.97, so learning rate, kernel size and epochs visibly matter in the lessons.
At 64x64 the same CNN learns more slowly per image (the opacities are larger
than its receptive field): about 0.93 after 6 epochs on 1,500 images.

Geometry is written in *canonical* coordinates ``(u, v)``: ``u`` runs from the
image's left (-1) to right (+1) edge, ``v`` from top (-1) to bottom (+1), one
unit is half the image width. As on a real PA film, the patient's right lung
is on the image's left (``u < 0``). The organs and the finding are drawn by
:mod:`medlab.data._phantom`; this module draws the patients, renders and exposes them.
"""

from __future__ import annotations

import math
import os

import numpy as np

from medlab import validate
from medlab.data._phantom import (_body, _clavicles, _col, _gastric_bubble, _heart, _lung_markings, _lungs,
                                  _opacity, _opacity_params, _ribs, _smooth_noise, _spine)

__all__ = ["synthetic_chest"]

_CHUNK_PIXELS = 64 * 64 * 64  # pixels rendered at once: 1 MB float32 work arrays stay in cache
_EDGE_PX = 1.0  # width of the soft edge of organ outlines, in pixels

# Attenuation (brightness before exposure) of each tissue, in units where the
# thickest soft tissue is about 1.
_AIR_DEPTH = (0.55, 0.85)  # how much lung air darkens the chest (per-image range: lung density)
_RIB = 0.1  # ribs
_CLAVICLE = 0.16  # clavicles
_SPINE = 0.07  # vertebral column, faint through the mediastinum
_MARKINGS = 0.10  # lung markings (vessels), over the lung fields
_TISSUE_TEXTURE = 0.03  # low-frequency soft-tissue texture
_GAS = 0.15  # gastric air bubble under the left hemidiaphragm
_FILM_K = 1.5  # film/detector response 1 - exp(-K * attenuation): compresses bright regions
_FULL_SCALE = 1.15  # attenuation shown as full brightness before exposure

# Per-image variation (uniform ranges unless said otherwise). These set the
# difficulty of the task; see the module docstring.
_ANGLE_SD_DEG = 3.0  # patient rotation, normal sd in degrees (clipped at 2.5 sd)
_SCALE = (0.92, 1.08)  # magnification (patient-detector distance, body size)
_SHIFT = 0.06  # +- shift of the patient, canonical units
_BLACK = (0.02, 0.08)  # brightness of no attenuation (direct exposure)
_WHITE = (0.85, 0.98)  # brightness of full-scale attenuation
_GAMMA = 2.0  # display curve (brightness = film ** gamma): dark lungs, mid-grey soft tissue
_LOG_GAMMA = 0.1  # +- natural log of the per-image factor on _GAMMA
_HEEL = 0.03  # +- top-to-bottom brightness gradient (anode heel effect)
_NOISE = (0.02, 0.045)  # quantum noise sd at full brightness, before blur


# --------------------------------------------------------------------------
# parameters and pose
# --------------------------------------------------------------------------
#: Keys of ``_draw_params`` that belong to the patient (anatomy); the others are the pose
#: and exposure of one image.
_ANATOMY_KEYS = ("lung_w", "lung_h", "air", "dome_r", "dome_drop", "heart", "heart_u",
                 "rib_phase", "rib_spacing", "gas")
#: Half-width, in canonical units, of the grid on which a patient's texture is drawn.
_TEXTURE_EXTENT = 1.3


def _draw_params(m, rng):
    """Draw the per-image pose, anatomy and exposure parameters.

    Returns
    -------
    dict of str -> float32 ndarray of shape (m, 1, 1)
    """
    u = rng.uniform
    deg = np.pi / 180.0
    p = {
        # pose: patient rotated (up to 7.5 degrees), shifted, closer or farther
        "angle": np.clip(rng.normal(0.0, 1.0, m), -2.5, 2.5) * _ANGLE_SD_DEG * deg,
        "scale": u(*_SCALE, m),
        "tx": u(-_SHIFT, _SHIFT, m),
        "ty": u(-_SHIFT, _SHIFT, m),
        # anatomy
        "lung_w": u(0.9, 1.1, m),  # lung width factor
        "lung_h": u(0.88, 1.08, m),  # lung height factor (depth of inspiration)
        "air": u(*_AIR_DEPTH, m),  # lung density: how dark the lungs are
        "dome_r": u(0.3, 0.4, m),  # top of the right hemidiaphragm (image left), v
        "dome_drop": u(0.02, 0.08, m),  # left dome lies lower than the right
        "heart": u(0.88, 1.15, m),  # heart size factor
        "heart_u": u(0.08, 0.16, m),  # heart centre, u (towards patient's left)
        "rib_phase": u(0.0, 1.0, m),  # where the rib pattern starts, in rib spacings
        "rib_spacing": u(0.14, 0.17, m),  # vertical distance between ribs, canonical units
        "gas": (u(0.0, 1.0, m) < 0.5).astype(np.float32),  # gastric bubble visible (half)?
        # exposure: window (black, white level), gamma, heel-effect gradient, noise
        "black": u(*_BLACK, m),
        "white": u(*_WHITE, m),
        "gamma": _GAMMA * np.exp(u(-_LOG_GAMMA, _LOG_GAMMA, m)),
        "heel": u(-_HEEL, _HEEL, m),
        "noise": u(*_NOISE, m),
    }
    return {k: _col(val) for k, val in p.items()}


def _pose_grid(size, p):
    """Canonical coordinates of every pixel centre of every image.

    Parameters
    ----------
    size : int
    p : dict
        Parameters from ``_draw_params``.

    Returns
    -------
    u, v : float32 ndarrays, shape (m, size, size)
        Canonical coordinates after undoing each image's shift, rotation and scale.
    """
    c = ((np.arange(size, dtype=np.float32) + 0.5) / size) * 2.0 - 1.0
    y, x = c[None, :, None], c[None, None, :]
    x = x - p["tx"]
    y = y - p["ty"]
    cos, sin = np.cos(p["angle"]), np.sin(p["angle"])
    u = (cos * x + sin * y) / p["scale"]
    v = (-sin * x + cos * y) / p["scale"]
    return u, v


# --------------------------------------------------------------------------
# imaging
# --------------------------------------------------------------------------
def _expose(attenuation, v, p, rng):
    """Turn attenuation into a noisy, blurred radiograph with this image's exposure.

    Brightness = black + (white - black) * film ** gamma, where film is the
    saturating response 1 - exp(-K * attenuation) scaled to 1 at full scale,
    plus a vertical heel-effect gradient, plus quantum (Poisson-like) noise
    whose standard deviation grows with the square root of the signal, then a
    detector blur of about half a pixel.

    Returns
    -------
    float32 ndarray in [0, 1], same shape as ``attenuation``
    """
    from scipy import ndimage

    film = (1.0 - np.exp(-_FILM_K * np.maximum(attenuation, 0.0))) / (
        1.0 - math.exp(-_FILM_K * _FULL_SCALE)
    )
    level = np.clip(film, 0.0, 1.0) ** p["gamma"]
    image = p["black"] + (p["white"] - p["black"]) * level + p["heel"] * v
    image = np.clip(image, 0.0, 1.0)
    noise = rng.standard_normal(image.shape, dtype=np.float32)
    # Poisson-like: variance proportional to the signal (+0.05: electronic noise floor)
    image = image + p["noise"] * np.sqrt(image + 0.05) * noise
    blur_px = 0.6  # detector point-spread function, Gaussian sigma in pixels
    image = ndimage.gaussian_filter(image, sigma=blur_px, axes=(1, 2), mode="nearest")
    return np.clip(image, 0.0, 1.0)


def _sample_canonical(fields, index, u, v):
    """Sample per-patient texture fields at the canonical coordinates of each image.

    Parameters
    ----------
    fields : float32 ndarray (P, g, g)
        One field per patient on a grid spanning [-_TEXTURE_EXTENT, _TEXTURE_EXTENT]^2.
    index : int ndarray (m,)
        The patient of each image.
    u, v : float32 ndarrays (m, size, size)

    Returns
    -------
    float32 ndarray (m, size, size), bilinear samples
    """
    from scipy import ndimage

    g = fields.shape[-1]
    scale = (g - 1) / (2.0 * _TEXTURE_EXTENT)
    out = np.empty(u.shape, dtype=np.float32)
    for k in range(u.shape[0]):
        rows = (v[k] + _TEXTURE_EXTENT) * scale
        cols = (u[k] + _TEXTURE_EXTENT) * scale
        out[k] = ndimage.map_coordinates(fields[index[k]], [rows, cols], order=1, mode="reflect")
    return out


def _draw_patients(n_patients, size, rng):
    """The parts of an image that belong to the patient: anatomy, consolidation, texture.

    Returns
    -------
    dict with ``anatomy`` and ``opacity`` (dicts of (P, 1, 1) arrays), ``fine`` and
    ``tissue`` (float32 (P, g, g) texture fields in canonical space)
    """
    anatomy = _draw_params(n_patients, rng)
    edge = np.full_like(anatomy["scale"], _EDGE_PX * 2.0 / size)
    opacity = _opacity_params(n_patients, rng, anatomy, edge)
    g = int(math.ceil(size * _TEXTURE_EXTENT)) + 1  # about the images' pixel pitch
    pitch = g / (2.0 * _TEXTURE_EXTENT)  # grid points per canonical unit
    shape = (n_patients, g, g)
    return {"anatomy": {k: anatomy[k] for k in _ANATOMY_KEYS}, "opacity": opacity,
            "fine": _smooth_noise(rng, shape, sigma_px=0.04 * pitch),
            "tissue": _smooth_noise(rng, shape, sigma_px=0.1 * pitch)}


def _render(labels, size, rng, patient=None):
    """Render one chunk of images.

    Parameters
    ----------
    labels : int ndarray, shape (m,)
    size : int
    rng : numpy.random.Generator
    patient : dict, optional
        ``_draw_patients``'s output plus ``index`` (m,), the patient of each image: their
        anatomy, consolidation and texture replace freshly drawn ones.

    Returns
    -------
    float32 ndarray, shape (m, size, size), values in [0, 1]
    """
    m = labels.shape[0]
    shape = (m, size, size)
    p = _draw_params(m, rng)
    if patient is not None:  # the patient's anatomy, this image's pose and exposure
        p.update({k: patient["anatomy"][k][patient["index"]] for k in _ANATOMY_KEYS})
    edge = _EDGE_PX * 2.0 / size / p["scale"]  # one pixel in canonical units
    if patient is None:
        q = _opacity_params(m, rng, p, edge)
    else:
        q = {k: val[patient["index"]] for k, val in patient["opacity"].items()}
    u, v = _pose_grid(size, p)

    body = _body(u, v, edge)
    lung_mask, air = _lungs(u, v, p, edge)
    heart = _heart(u, v, p, edge)
    air = air * (1.0 - heart)  # the heart hides the lung behind it
    # texture correlation lengths are set in canonical units so that images
    # look alike at any size: 0.04 (vessels) and 0.1 (soft tissue) half-widths
    if patient is None:
        fine = _smooth_noise(rng, shape, sigma_px=0.04 * size / 2)
        tissue = _smooth_noise(rng, shape, sigma_px=0.1 * size / 2)
    else:  # the patient's own vessels and tissue, seen in this image's pose
        fine = _sample_canonical(patient["fine"], patient["index"], u, v)
        tissue = _sample_canonical(patient["tissue"], patient["index"], u, v)
    markings = _lung_markings(fine, u, v)
    patchiness = 0.7 * tissue + 0.7 * fine  # both scales; about unit variance
    opacity = np.zeros(shape, dtype=np.float32)
    positive = np.flatnonzero(labels)  # draw the consolidation only where needed
    if positive.size:
        qp = {k: val[positive] for k, val in q.items()}
        opacity[positive] = qp["contrast"] * _opacity(
            u[positive], v[positive], qp, lung_mask[positive], patchiness[positive]
        )
    ventilated = air * (1.0 - opacity)  # consolidation replaces air and hides vessels

    bone = (
        _RIB * _ribs(u, v, p, edge)
        + _CLAVICLE * _clavicles(u, v, edge)
        + _SPINE * _spine(u, v, edge)
    )
    attenuation = (
        body * (1.0 + _TISSUE_TEXTURE * tissue - _GAS * _gastric_bubble(u, v, p, edge))
        - p["air"] * ventilated
        + _MARKINGS * markings * ventilated
        + bone * (body > 0)
    )
    return _expose(attenuation, v, p, rng)


# --------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------
#: Bytes per pixel while drawing: the float32 result plus the uint8 copy a caller makes.
_BYTES_PER_PIXEL = 5


def _synthetic_chest_bytes(n, size=64):
    """Memory, in bytes, that ``synthetic_chest(n, size)`` and its uint8 copy need.

    The float32 images (4 bytes per pixel), the uint8 copy written to disk (1 byte) and the
    work arrays of one chunk (about 32 MB).
    """
    chunk = max(1, _CHUNK_PIXELS // (size * size)) * size * size
    return int(n) * int(size) ** 2 * _BYTES_PER_PIXEL + 8 * 4 * chunk


def _available_memory():
    """Bytes of memory available to a new allocation here (MemAvailable), or None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _gigabytes(count):
    return f"{count / 1e9:.3g} GB"


def check_memory(n, size, available=None):
    """Refuse a request that cannot fit in memory, before allocating anything.

    Raises
    ------
    ValueError
        ``n`` images of ``size`` x ``size`` need more than the memory available.
    """
    needed = _synthetic_chest_bytes(n, size)
    available = _available_memory() if available is None else available
    if available is not None and needed > available:
        raise ValueError(
            f"n {n} images of size {size}x{size} need about {_gigabytes(needed)} of memory; "
            f"{_gigabytes(available)} is available: expected a smaller n or size")
    return needed


def synthetic_chest(n, size=64, seed=0, prevalence=0.5, images_per_patient=None):
    """Draw synthetic chest radiographs, half (by default) with a consolidation.

    Parameters
    ----------
    n : int >= 1
        Number of images.
    size : int >= 16
        Height and width of each image, in pixels. The difficulty is tuned for
        the default 64; anatomy scales with ``size``, the per-pixel noise does not.
    seed : int or None
        Seed of ``numpy.random.default_rng``. The same ``(n, size, seed,
        prevalence)`` gives byte-identical arrays; ``None`` draws fresh entropy.
        Anatomy, pose, exposure and noise do not depend on ``prevalence``.
    prevalence : float in [0, 1]
        Fraction of positive images. Exactly ``round(n * prevalence)``
        images are positive (Python rounding: halves to even), in random order.
        With ``images_per_patient``, exactly ``round(n_patients * prevalence)``
        patients are.
    images_per_patient : int >= 1, optional
        Draw ``n / images_per_patient`` patients (``n`` must be a multiple) and
        that many images of each, as in a real archive where one patient has
        several X-rays: the same anatomy (lung and heart shape and size, lung
        density, ribs, vessels and soft-tissue texture) and the same
        consolidation, with a new pose (rotation, shift, magnification),
        exposure (window, gamma, heel effect) and noise in every image. Then a
        third array, ``patient``, is returned. Default ``None``: every image
        is its own patient and two arrays are returned, as before.

    Returns
    -------
    images : float32 ndarray, shape (n, size, size)
        Brightness in [0, 1] (bright = attenuating, as on a radiograph film;
        air around the patient and in the lungs is dark).
    labels : int64 ndarray, shape (n,)
        1 if the image contains a consolidation (pneumonia-like opacity), else 0.
    patient : int64 ndarray, shape (n,)
        Only with ``images_per_patient``: the patient of each image, 0 to
        ``n / images_per_patient - 1``; each patient's images are consecutive.

    Raises
    ------
    ValueError
        If ``n`` is not an int >= 1, ``size`` not an int >= 16,
        ``prevalence`` not a number in [0, 1], or ``images_per_patient`` not
        an int >= 1 that divides ``n``.

    Examples
    --------
    >>> images, labels = synthetic_chest(8, seed=1)
    >>> images.shape, images.dtype, labels.tolist().count(1)
    ((8, 64, 64), dtype('float32'), 4)
    """
    n = validate.integer("n", n, low=1)
    size = validate.integer("size", size, low=16)
    prevalence = validate.number("prevalence", prevalence, low=0, high=1)
    check_memory(n, size)

    if images_per_patient is not None:
        return _patients_chest(n, size, seed, float(prevalence),
                               validate.integer("images_per_patient", images_per_patient, low=1))

    rng = np.random.default_rng(seed)
    labels = np.zeros(n, dtype=np.int64)
    labels[: round(n * float(prevalence))] = 1
    rng.shuffle(labels)

    images = np.empty((n, size, size), dtype=np.float32)
    chunk = max(1, _CHUNK_PIXELS // (size * size))
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        images[start:stop] = _render(labels[start:stop], size, rng)
    return images, labels


def _patients_chest(n, size, seed, prevalence, per_patient):
    """``synthetic_chest`` with ``images_per_patient``: see its docstring."""
    if n % per_patient:
        raise validate.ArgumentError(f"images_per_patient {per_patient}: expected a divisor of n ({n})")
    n_patients = n // per_patient
    rng = np.random.default_rng(seed)
    patient_labels = np.zeros(n_patients, dtype=np.int64)
    patient_labels[: round(n_patients * prevalence)] = 1
    rng.shuffle(patient_labels)
    patients = _draw_patients(n_patients, size, rng)
    patient = np.repeat(np.arange(n_patients, dtype=np.int64), per_patient)
    labels = patient_labels[patient]
    images = np.empty((n, size, size), dtype=np.float32)
    chunk = max(1, _CHUNK_PIXELS // (size * size))
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        images[start:stop] = _render(labels[start:stop], size, rng,
                                     {**patients, "index": patient[start:stop]})
    return images, labels, patient
