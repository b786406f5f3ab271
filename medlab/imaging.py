"""Intensity transforms for medical images: CT windows and 8-bit conversion.

A CT scanner measures X-ray attenuation in Hounsfield units (HU): air is
-1000 HU, water 0 HU, dense bone above +1000 HU. A screen shows only 256 grey
levels, so a radiologist picks a *window*: a centre (level) and a width in HU.
Values below ``center - width / 2`` turn black, values above
``center + width / 2`` turn white, and the grey ramp in between is spent on
the tissue of interest.

>>> import numpy as np
>>> from medlab.imaging import window
>>> window(np.array([-1000.0, 40.0, 1000.0]), preset="soft_tissue")
array([0. , 0.5, 1. ], dtype=float32)
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from medlab import validate

#: Standard CT display windows, ``name -> (center, width)`` in HU.
#: Values as tabulated by Radiopaedia ("Windowing (CT)") and common PACS presets.
WINDOWS = MappingProxyType(
    {
        "lung": (-600.0, 1500.0),
        "soft_tissue": (40.0, 400.0),
        "bone": (400.0, 1800.0),
        "brain": (40.0, 80.0),
    }
)


def window(hu, center=None, width=None, preset=None):
    """Map Hounsfield units to display intensities in [0, 1] through a window.

    ``out = clip((hu - (center - width / 2)) / width, 0, 1)``

    Parameters
    ----------
    hu : array_like of float, any shape
        CT values in Hounsfield units (HU).
    center : float, optional
        Window centre (level) in HU. Overrides the preset's centre if both are
        given.
    width : float, optional
        Window width in HU, > 0. Overrides the preset's width if both are given.
    preset : str, optional
        A key of :data:`WINDOWS`: ``"lung"``, ``"soft_tissue"``, ``"bone"``
        or ``"brain"``.

    Returns
    -------
    numpy.ndarray of float32, same shape as ``hu``
        0.0 (black) at and below the window's lower edge, 1.0 (white) at and
        above its upper edge, linear in between. NaN stays NaN.

    Raises
    ------
    ValueError
        If ``preset`` is not a key of :data:`WINDOWS`, if ``center`` or
        ``width`` is missing and no preset supplies it, or if ``width <= 0``.
    """
    if preset is not None:
        validate.choice("preset", preset, sorted(WINDOWS))
        preset_center, preset_width = WINDOWS[preset]
        center = preset_center if center is None else center
        width = preset_width if width is None else width
    if center is None or width is None:
        missing = "center" if center is None else "width"
        raise ValueError(
            f"{missing} is missing: give both center and width in HU, "
            f"or a preset (one of {sorted(WINDOWS)})"
        )
    center = validate.number("center", center)
    width = validate.number("width", width, 0, low_open=True)
    hu = np.asarray(hu, dtype=np.float32)
    lower = np.float32(center - width / 2.0)
    out = (hu - lower) / np.float32(width)
    return np.clip(out, 0.0, 1.0).astype(np.float32, copy=False)


def to_hounsfield(stored, slope=1.0, intercept=0.0):
    """Convert stored CT pixel values to Hounsfield units.

    ``hu = stored * slope + intercept`` (DICOM RescaleSlope, RescaleIntercept).

    Parameters
    ----------
    stored : array_like of int or float, any shape
        Pixel values as stored in the file (e.g. int16 ``pixel_array``).
    slope, intercept : float
        DICOM RescaleSlope (0028,1053) and RescaleIntercept (0028,1052).

    Returns
    -------
    numpy.ndarray of float32, same shape as ``stored``
        Values in HU.
    """
    stored = np.asarray(stored, dtype=np.float32)
    return (stored * np.float32(slope) + np.float32(intercept)).astype(np.float32, copy=False)


def to_uint8(images, *, name="images"):
    """Convert images to uint8 grey levels 0..255 for PNG files or MedMNIST.

    Parameters
    ----------
    images : array_like, any shape
        Either uint8 (returned unchanged) or floating point in [0, 1]
        (scaled by 255 and rounded to the nearest level).
    name : str
        Name used in error messages.

    Returns
    -------
    numpy.ndarray of uint8, same shape as ``images``

    Raises
    ------
    ValueError
        If float values lie outside [0, 1] or are NaN, or the dtype is neither
        uint8 nor floating point.
    """
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(
            f"{name} must be uint8 (0..255) or float in [0, 1], got dtype {images.dtype}"
        )
    if images.size:
        if np.isnan(images).any():
            raise ValueError(f"{name} contains NaN; expected float values in [0, 1]")
        low, high = float(images.min()), float(images.max())
        if low < 0.0 or high > 1.0:
            raise ValueError(
                f"{name} has values in [{low:g}, {high:g}]; expected float values in [0, 1] "
                "(scale them first, e.g. with medlab.imaging.window for CT)"
            )
    return np.rint(images * 255.0).astype(np.uint8)


__all__ = ["WINDOWS", "window", "to_hounsfield", "to_uint8", "transmitted_fraction", "hounsfield"]


def transmitted_fraction(mu, thickness):
    """Beer-Lambert law: the fraction of X-ray photons that cross a stack of materials.

    ``I / I0 = exp(-sum_i mu_i x_i)``, for a narrow beam of one energy.

    Parameters
    ----------
    mu : array_like of float, shape (m,)
        Linear attenuation coefficient of each layer, in 1/cm (>= 0).
    thickness : array_like of float, shape (m,)
        Thickness of each layer along the ray, in cm (>= 0).

    Returns
    -------
    float
        I / I0, between 0 and 1.

    >>> round(transmitted_fraction([0.2], [10.0]), 4)
    0.1353
    """
    mu = validate.values("mu", np.atleast_1d(mu), 0, dtype_kinds="uif")
    thickness = validate.values("thickness", np.atleast_1d(thickness), 0, dtype_kinds="uif")
    validate.same_shape("thickness", thickness, mu.shape, of="mu")
    return float(np.exp(-np.sum(mu.astype(np.float64) * thickness)))


def hounsfield(mu, mu_water, mu_air=0.0):
    """CT number of a material from its linear attenuation coefficient.

    ``HU = 1000 (mu - mu_water) / (mu_water - mu_air)``: water is 0 HU, air -1000 HU.

    Parameters
    ----------
    mu : array_like of float, any shape
        Linear attenuation coefficients, in 1/cm, at the beam's (effective) energy.
    mu_water, mu_air : float
        Those of water and air at the same energy, in 1/cm; ``mu_water > mu_air >= 0``.

    Returns
    -------
    numpy.ndarray of float64, same shape as ``mu``
        Hounsfield units.

    >>> hounsfield([0.2, 0.0, 0.4], mu_water=0.2).tolist()
    [0.0, -1000.0, 1000.0]
    """
    mu = validate.values("mu", np.asarray(mu, dtype=np.float64), 0, dtype_kinds="uif")
    mu_air = validate.number("mu_air", mu_air, 0)
    mu_water = validate.number("mu_water", mu_water, mu_air, low_open=True)
    return 1000.0 * (mu - mu_water) / (mu_water - mu_air)
