"""Noise models of medical images: pure, seeded functions on images in [0, 1].

=========================================  ============================================
``gaussian(images, sigma, seed)``          electronic (read-out) noise: x + N(0, sigma^2)
``poisson(images, photons, seed)``         quantum noise of a low-dose X-ray:
                                           counts ~ Poisson(photons * x), shown as counts / photons
``salt_and_pepper(images, amount, seed)``  random impulse noise: pixels set to 0 or 1, a fraction ``amount``
``add_noise(images, kind, level, seed)``   any of them, with one ``level`` scale (below)
=========================================  ============================================

Every function returns a new float32 array of the input's shape, clipped to [0, 1], and
never changes its input. The same ``seed`` gives the same noise; ``seed`` may be an int, a
sequence of ints (e.g. ``(seed, epoch, batch)``) or a ``numpy.random.Generator``.

``add_noise`` puts the three kinds on one scale, ``level``:

- ``"gaussian"``: the standard deviation ``sigma = level`` (0.1 is 10 % of full brightness);
- ``"poisson"``: ``photons = 1 / level**2`` counts at full brightness, so that the noise's
  standard deviation at full brightness is ``level`` too (0.1 -> 100 photons). The noise
  grows with the signal (sd ``sqrt(x / photons)``): dark (air) regions are less noisy in
  absolute terms; the *relative* noise ``1 / sqrt(photons * x)`` is worst in the dark;
- ``"salt_and_pepper"``: the fraction of pixels replaced, ``amount = level``.
"""

from __future__ import annotations

import numpy as np

from medlab import validate

#: Noise kinds accepted by :func:`add_noise`.
NOISE_KINDS = ("gaussian", "poisson", "salt_and_pepper")


def _rng(seed):
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def _images(images):
    x = validate.real_array("images", images).astype(np.float32)  # always a copy: the input is never changed
    validate.values("images", x, 0, 1)
    return x


def gaussian(images, sigma, seed=0, clip=True):
    """Additive white Gaussian noise: ``x + sigma * N(0, 1)``, clipped to [0, 1].

    Parameters
    ----------
    images : array (...) in [0, 1]
        Any shape, e.g. (N, H, W) or (N, H, W, 1).
    sigma : float >= 0
        Standard deviation, in units of full brightness.
    seed : int, sequence of ints or numpy.random.Generator
    clip : bool
        Clip the result to [0, 1] (a detector cannot show values outside its range).

    Returns
    -------
    float32 array, the shape of ``images``
    """
    x = _images(images)
    sigma = validate.number("sigma", sigma, 0)
    noisy = x + np.float32(sigma) * _rng(seed).standard_normal(x.shape, dtype=np.float32)
    return np.clip(noisy, 0.0, 1.0) if clip else noisy


def poisson(images, photons, seed=0):
    """Quantum (shot) noise: ``Poisson(photons * x) / photons``, clipped to [0, 1].

    A pixel of brightness ``x`` collects on average ``photons * x`` quanta; fewer photons
    (a lower dose) means noisier images. Mean ``x``, standard deviation ``sqrt(x / photons)``.

    Parameters
    ----------
    images : array (...) in [0, 1]
    photons : float > 0
        Expected count at full brightness (x = 1).
    seed : int, sequence of ints or numpy.random.Generator

    Returns
    -------
    float32 array, the shape of ``images``
    """
    x = _images(images)
    photons = validate.number("photons", photons, 0, low_open=True)
    counts = _rng(seed).poisson(x.astype(np.float64) * photons)
    return np.clip(counts / photons, 0.0, 1.0).astype(np.float32)


def salt_and_pepper(images, amount, seed=0, salt=0.5):
    """Impulse noise: a fraction ``amount`` of pixels set to 0 (pepper) or 1 (salt).

    Parameters
    ----------
    images : array (...) in [0, 1]
    amount : float in [0, 1]
        Fraction of pixels replaced (each pixel independently).
    seed : int, sequence of ints or numpy.random.Generator
    salt : float in [0, 1]
        Fraction of the replaced pixels that become 1.

    Returns
    -------
    float32 array, the shape of ``images``
    """
    x = _images(images)
    amount = validate.number("amount", amount, 0, 1)
    salt = validate.number("salt", salt, 0, 1)
    rng = _rng(seed)
    hit = rng.random(x.shape) < amount
    white = rng.random(x.shape) < salt
    x[hit & white] = 1.0
    x[hit & ~white] = 0.0
    return x


def add_noise(images, kind="gaussian", level=0.1, seed=0):
    """Noise of one of :data:`NOISE_KINDS` at a common ``level`` (see the module docstring).

    Parameters
    ----------
    images : array (...) in [0, 1]
    kind : {"gaussian", "poisson", "salt_and_pepper"}
    level : float
        Gaussian sigma; Poisson 1 / sqrt(photons); salt-and-pepper fraction of pixels.
        0 returns a float32 copy of ``images``.
    seed : int, sequence of ints or numpy.random.Generator

    Returns
    -------
    float32 array, the shape of ``images``, in [0, 1]
    """
    validate.choice("kind", kind, NOISE_KINDS)
    level = validate.number("level", level, 0, 1)
    if level == 0:
        return _images(images)
    if kind == "gaussian":
        return gaussian(images, level, seed)
    if kind == "poisson":
        return poisson(images, 1.0 / level**2, seed)
    return salt_and_pepper(images, level, seed)


__all__ = ["NOISE_KINDS", "add_noise", "gaussian", "poisson", "salt_and_pepper"]
