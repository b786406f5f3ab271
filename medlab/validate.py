"""Argument checks shared by the whole kit: one clear ``ValueError`` naming the argument.

Every message reads ``<name> <got>: expected <what>``, e.g.
``size 20000: expected an integer in [8, 4096]`` or
``kind 'gauss': expected one of box, gaussian, sobel_x``::

    from medlab import validate

    size = validate.integer("size", size, low=1, high=4096)
    kind = validate.choice("kind", kind, KERNEL_KINDS)
    images = validate.image_array("images", images, ndims=(3, 4), dtype_kinds="uif")
    labels = validate.values("labels", labels, 0, 1)

Only NumPy is imported here (the course tooling uses this module too).
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["ArgumentError", "choice", "image_array", "integer", "number", "real_array", "values"]


class ArgumentError(ValueError):
    """A bad argument; ``str()`` is one line naming it and what was expected."""


_KIND_NAMES = {"u": "unsigned integer", "i": "integer", "f": "float", "b": "bool"}


def _range_text(low, high, what, low_open=False):
    if low is not None and high is not None:
        return f"{what} in {'(' if low_open else '['}{low}, {high}]"
    if low is not None:
        return f"{what} {'>' if low_open else '>='} {low}"
    if high is not None:
        return f"{what} <= {high}"
    return what


def integer(name, value, low=None, high=None, *, odd=False, allow_none=False):
    """``value`` as a Python int, checked: an integer in [low, high].

    Python and NumPy integers are accepted; bools, floats (even ``3.0``) and strings
    (``"2"``) are not. Returns the int (or None when ``allow_none`` and ``value`` is None).
    """
    if value is None and allow_none:
        return None
    what = _range_text(low, high, "an odd integer" if odd else "an integer")
    if allow_none:
        what += " or None"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ArgumentError(f"{name} {value!r} ({type(value).__name__}): expected {what}")
    number = int(value)
    if (low is not None and number < low) or (high is not None and number > high) \
            or (odd and number % 2 == 0):
        raise ArgumentError(f"{name} {value!r}: expected {what}")
    return number


def _outside(values, low, high, low_open):
    """True where ``values`` (floats) lie outside [low, high] (or (low, high] when ``low_open``)."""
    outside = np.zeros(np.shape(values), dtype=bool)
    if low is not None:
        outside |= (values <= low) if low_open else (values < low)
    if high is not None:
        outside |= values > high
    return outside


def number(name, value, low=None, high=None, *, allow_none=False, low_open=False):
    """``value`` as a finite float in [low, high] (bools and strings refused).

    ``low_open=True`` excludes ``low`` itself: ``number("data_range", x, 0, low_open=True)``
    accepts only x > 0.
    """
    if value is None and allow_none:
        return None
    what = _range_text(low, high, "a number", low_open)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) \
            or not np.isfinite(float(value)):
        raise ArgumentError(f"{name} {value!r}: expected {what}")
    result = float(value)
    if _outside(result, low, high, low_open):
        raise ArgumentError(f"{name} {value!r}: expected {what}")
    return result


def values(name, value, low=None, high=None, *, low_open=False, dtype_kinds="uifb"):
    """``value`` as a float64 array of finite numbers in [low, high] (any shape).

    For arrays of labels, probabilities, sizes: the first bad value is named, e.g.
    ``labels holds 2.0: expected finite values in [0, 1]``. Bools count as 0 and 1 unless
    ``dtype_kinds`` leaves out ``"b"``; complex, string and object arrays are refused.
    """
    array = real_array(name, value, dtype_kinds=dtype_kinds).astype(np.float64, copy=False)
    bad = ~np.isfinite(array) | _outside(array, low, high, low_open)
    if bad.any():
        raise ArgumentError(f"{name} holds {float(array[bad].flat[0])!r}: expected "
                            f"{_range_text(low, high, 'finite values', low_open)}")
    return array


def real_array(name, value, *, dtype_kinds="uif"):
    """``np.asarray(value)`` when it holds real numbers of an accepted dtype kind.

    Complex values (whose imaginary part a cast to float would drop), strings, objects
    (``None``, ragged lists) and, unless ``dtype_kinds`` has ``"b"``, bools are refused.
    """
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise ArgumentError(f"{name}: expected an array of numbers, got {type(value).__name__} "
                            f"({exc})") from None
    if array.dtype.kind not in dtype_kinds:
        kinds = ", ".join(_KIND_NAMES.get(kind, kind) for kind in dtype_kinds)
        raise ArgumentError(f"{name} has dtype {array.dtype}: expected real numbers ({kinds})")
    return array


def choice(name, value, options):
    """``value`` if it is one of ``options``, else ArgumentError listing them."""
    options = tuple(options)
    try:
        if value in options:
            return value
    except TypeError:  # unhashable value against a dict or set of options
        pass
    listed = ", ".join(str(option) for option in options)
    raise ArgumentError(f"{name} {value!r}: expected one of {listed}")


def image_array(name, value, *, ndims=(2,), dtype_kinds="uif", min_size=1, channels=None):
    """``value`` as a NumPy array of images, checked: rank, dtype kind, non-empty axes.

    Parameters
    ----------
    name : str
        Argument name for the message.
    value : array-like
        The images.
    ndims : tuple of int
        Accepted ranks, e.g. ``(2,)`` for one (H, W) image, ``(3, 4)`` for (N, H, W) or
        (N, H, W, C) batches.
    dtype_kinds : str
        Accepted NumPy dtype kinds (``"u"`` unsigned, ``"i"`` signed, ``"f"`` float, ``"b"`` bool).
    min_size : int
        Smallest length of every axis.
    channels : tuple of int, optional
        Accepted sizes of the last axis when the array has the largest rank in ``ndims``.

    Returns
    -------
    numpy.ndarray
        ``np.asarray(value)`` (no copy when it already is an array).
    """
    shapes = {2: "(H, W)", 3: "(N, H, W)", 4: "(N, H, W, C)"}
    expected = " or ".join(shapes.get(n, f"{n}-D") for n in ndims)
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise ArgumentError(f"{name}: expected an array {expected}, got {type(value).__name__} ({exc})") from None
    if array.ndim not in ndims:
        raise ArgumentError(f"{name} has shape {array.shape}: expected {expected}")
    if array.dtype.kind not in dtype_kinds:
        kinds = ", ".join(_KIND_NAMES.get(kind, kind) for kind in dtype_kinds)
        raise ArgumentError(f"{name} has dtype {array.dtype}: expected {kinds} values")
    if any(length < min_size for length in array.shape):
        raise ArgumentError(f"{name} has shape {array.shape}: expected at least {min_size} "
                            "along every axis")
    if channels is not None and array.ndim == max(ndims) and array.shape[-1] not in channels:
        raise ArgumentError(f"{name} has shape {array.shape}: expected "
                            f"{' or '.join(map(str, channels))} channels on the last axis")
    return array
