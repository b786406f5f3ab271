"""Argument checks shared by the whole kit: one clear ``ValueError`` naming the argument.

Every message reads ``<name> <got>: expected <what>``, e.g.
``size 20000: expected an integer in [8, 4096]`` or
``kind 'gauss': expected one of box, gaussian, sobel_x``::

    from medlab import validate

    size = validate.integer("size", size, low=1, high=4096)
    kind = validate.choice("kind", kind, KERNEL_KINDS)
    images = validate.image_array("images", images, ndims=(3, 4), dtype_kinds="uif")
    labels = validate.values("labels", labels, 0, 1)

The functions share one constraint vocabulary (after scikit-learn's
``utils/_param_validation.py``), which :mod:`medlab.params` uses for notebook parameters too:

- :class:`Interval` ``(kind, low, high, closed=...)``: an :data:`Integer` or :data:`Real` in a
  range whose ends are included or not (``closed`` is "both", "left", "right" or "neither");
- :class:`Options` ``(options)``: one of a fixed set of values;
- :func:`check` ``(name, value, constraint)``: the one ``ArgumentError`` when ``value`` does not
  satisfy ``constraint``.

>>> str(Interval(Real, 0, 1, closed="right"))
'a number in (0, 1]'
>>> Interval(Integer, 1, 15, odd=True).is_satisfied_by(4)
False
>>> check("kernel_size", 4, Interval(Integer, 1, 15, odd=True))
Traceback (most recent call last):
...
medlab.validate.ArgumentError: kernel_size 4: expected an odd integer in [1, 15]

Only NumPy is imported here (the course tooling uses this module too).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

__all__ = ["ArgumentError", "Integer", "Interval", "Options", "Real", "check", "choice", "image_array",
           "integer", "number", "pair", "real_array", "same_shape", "values"]


class ArgumentError(ValueError):
    """A bad argument; ``str()`` is one line naming it and what was expected."""


#: The kinds of :class:`Interval`: Python and NumPy integers (bools excluded), and finite reals.
Integer = numbers.Integral
Real = numbers.Real

#: Which ends of an :class:`Interval` belong to it.
CLOSED = ("both", "left", "right", "neither")

_KIND_NAMES = {"u": "unsigned integer", "i": "integer", "f": "float", "b": "bool"}


def _is_bool(value):
    return isinstance(value, (bool, np.bool_))


@dataclass(frozen=True)
class Interval:
    """Numbers of one kind between ``low`` and ``high`` (None: unbounded on that side).

    ``closed`` says which ends belong to the interval: "both" ``[low, high]`` (the default),
    "left" ``[low, high)``, "right" ``(low, high]``, "neither" ``(low, high)``. ``odd=True``
    (integers only) also requires an odd value. ``str()`` says what is accepted, e.g.
    ``an integer in [1, 15]``, ``a number > 0``, ``a number in [0, 1)``.
    """

    kind: type = Real
    low: float | None = None
    high: float | None = None
    closed: str = "both"
    odd: bool = False

    def __post_init__(self):
        if self.kind not in (Integer, Real):
            raise ArgumentError(f"kind {self.kind!r}: expected validate.Integer or validate.Real")
        choice("closed", self.closed, CLOSED)
        if self.odd and self.kind is not Integer:
            raise ArgumentError("odd=True: expected kind validate.Integer")

    @property
    def low_closed(self):
        return self.closed in ("both", "left")

    @property
    def high_closed(self):
        return self.closed in ("both", "right")

    def outside(self, values):
        """Boolean mask, True where ``values`` (numbers or an array) lie outside the range."""
        values = np.asarray(values)
        outside = np.zeros(values.shape, dtype=bool)
        if self.low is not None:
            outside |= (values < self.low) if self.low_closed else (values <= self.low)
        if self.high is not None:
            outside |= (values > self.high) if self.high_closed else (values >= self.high)
        return outside

    def has_kind(self, value):
        """Whether ``value`` is a number of this interval's kind (bools never; reals finite)."""
        if _is_bool(value) or not isinstance(value, self.kind):
            return False
        return self.kind is Integer or bool(np.isfinite(float(value)))

    def is_satisfied_by(self, value):
        """Whether ``value`` has the kind, lies in the range and (``odd``) is odd."""
        if not self.has_kind(value) or self.outside(value):
            return False
        return not self.odd or int(value) % 2 == 1

    def describe(self, what=None):
        """What is accepted, e.g. ``an integer in [1, 15]``; ``what`` replaces the noun."""
        if what is None:
            what = ("an odd integer" if self.odd else "an integer") if self.kind is Integer else "a number"
        low, high = self.low, self.high
        if low is not None and high is not None:
            return (f"{what} in {'[' if self.low_closed else '('}{low}, "
                    f"{high}{']' if self.high_closed else ')'}")
        if low is not None:
            return f"{what} {'>=' if self.low_closed else '>'} {low}"
        if high is not None:
            return f"{what} {'<=' if self.high_closed else '<'} {high}"
        return what

    def __str__(self):
        return self.describe()


@dataclass(frozen=True)
class Options:
    """One of a fixed set of values; ``str()`` lists them (``quoted=True``: as Python literals).

    >>> str(Options(("mean", "gaussian")))
    'one of mean, gaussian'
    >>> str(Options(("mean", "gaussian"), quoted=True))
    "one of 'mean', 'gaussian'"
    """

    options: tuple
    quoted: bool = False

    def __post_init__(self):
        object.__setattr__(self, "options", tuple(self.options))

    def is_satisfied_by(self, value):
        try:
            return value in self.options
        except TypeError:  # unhashable value against a dict or set of options
            return False

    def __str__(self):
        return "one of " + ", ".join(map(repr if self.quoted else str, self.options))


def check(name, value, constraint):
    """``value`` if it satisfies ``constraint`` (an :class:`Interval` or :class:`Options`),
    else ``ArgumentError("<name> <value>: expected <constraint>")``."""
    if not constraint.is_satisfied_by(value):
        raise ArgumentError(f"{name} {value!r}: expected {constraint}")
    return value


def integer(name, value, low=None, high=None, *, odd=False, allow_none=False):
    """``value`` as a Python int, checked: an integer in [low, high].

    Python and NumPy integers are accepted; bools, floats (even ``3.0``) and strings
    (``"2"``) are not. Returns the int (or None when ``allow_none`` and ``value`` is None).
    """
    if value is None and allow_none:
        return None
    interval = Interval(Integer, low, high, odd=odd)
    what = interval.describe() + (" or None" if allow_none else "")
    if not interval.has_kind(value):
        raise ArgumentError(f"{name} {value!r} ({type(value).__name__}): expected {what}")
    if not interval.is_satisfied_by(value):
        raise ArgumentError(f"{name} {value!r}: expected {what}")
    return int(value)


def _closed(low_open, closed):
    return closed if closed is not None else ("right" if low_open else "both")


def number(name, value, low=None, high=None, *, allow_none=False, low_open=False, closed=None):
    """``value`` as a finite float in [low, high] (bools and strings refused).

    ``low_open=True`` excludes ``low`` itself: ``number("data_range", x, 0, low_open=True)``
    accepts only x > 0. ``closed`` ("both", "left", "right", "neither") says it for both
    ends, as in :class:`Interval`.
    """
    if value is None and allow_none:
        return None
    interval = Interval(Real, low, high, _closed(low_open, closed))
    check(name, value, interval)
    return float(value)


def values(name, value, low=None, high=None, *, low_open=False, closed=None, dtype_kinds="uifb"):
    """``value`` as a float64 array of finite numbers in [low, high] (any shape).

    For arrays of labels, probabilities, sizes: the first bad value is named, e.g.
    ``labels holds 2.0: expected finite values in [0, 1]``. Bools count as 0 and 1 unless
    ``dtype_kinds`` leaves out ``"b"``; complex, string and object arrays are refused.
    """
    interval = Interval(Real, low, high, _closed(low_open, closed))
    array = real_array(name, value, dtype_kinds=dtype_kinds).astype(np.float64, copy=False)
    bad = ~np.isfinite(array) | interval.outside(array)
    if bad.any():
        raise ArgumentError(f"{name} holds {float(array[bad].flat[0])!r}: expected "
                            f"{interval.describe('finite values')}")
    return array


def boolean(name, value):
    """``value`` as a bool when it is ``True`` or ``False`` (NumPy's bools too); "no", 0, None
    are refused, so a flag is never turned on by a truthy string.

    >>> boolean("mean", "no")
    Traceback (most recent call last):
    ...
    medlab.validate.ArgumentError: mean 'no': expected True or False
    """
    if not _is_bool(value):
        raise ArgumentError(f"{name} {value!r}: expected True or False")
    return bool(value)


def binary(name, value, meaning="negative, positive"):
    """``value`` as an int64 array of 0s and 1s (labels or a mask, any shape).

    Bools count as 0 and 1. The first other value is named:

    >>> binary("y_true", [0, 1, 1]).tolist()
    [0, 1, 1]
    >>> binary("y_true", [0, 2])
    Traceback (most recent call last):
    ...
    medlab.validate.ArgumentError: y_true holds 2: expected only 0 and 1 (negative, positive)
    """
    array = real_array(name, value, dtype_kinds="uifb")
    bad = (array != 0) & (array != 1)
    if bad.any():
        first = array[bad].flat[0]
        whole = float(first).is_integer() and abs(float(first)) < 1e15  # 1e300 stays 1e+300
        shown = int(first) if whole else float(first)
        raise ArgumentError(f"{name} holds {shown!r}: expected only 0 and 1"
                            + (f" ({meaning})" if meaning else ""))
    return array.astype(np.int64)


def image_shape(name, value, *, min_side=1, multiple_of=1, unknown_sides=False):
    """``value`` as a (height, width, channels) tuple of ints, for a model's input.

    ``min_side``: the least height and width; ``multiple_of``: height and width divisible by
    it (a network that halves the image k times needs 2 ** k); ``unknown_sides``: height and
    width may be None (any size), the channels never.

    >>> image_shape("input_shape", [28, 28, 1])
    (28, 28, 1)
    >>> image_shape("input_shape", (30, 28, 1), multiple_of=4)
    Traceback (most recent call last):
    ...
    medlab.validate.ArgumentError: input_shape (30, 28, 1): expected (height, width, channels), height and width divisible by 4
    """
    min_side = integer("min_side", min_side, low=1)
    multiple_of = integer("multiple_of", multiple_of, low=1)
    if not isinstance(unknown_sides, (bool, np.bool_)):
        raise ArgumentError(f"unknown_sides {unknown_sides!r}: expected True or False")
    wants = ["(height, width, channels)"]
    if min_side > 1:
        wants.append(f"height and width >= {min_side}")
    if multiple_of > 1:
        wants.append(f"height and width divisible by {multiple_of}")
    try:
        shape = None if isinstance(value, (dict, set, str, bytes)) else tuple(value)
    except TypeError:
        shape = None
    def good_side(side, low):
        return isinstance(side, numbers.Integral) and not _is_bool(side) and side >= low
    ok = shape is not None and len(shape) == 3 and good_side(shape[2], 1) and all(
        (side is None and unknown_sides) or (good_side(side, max(min_side, 1)) and side % multiple_of == 0)
        for side in shape[:2])
    if not ok:
        raise ArgumentError(f"{name} {value!r}: expected " + ", ".join(wants))
    return tuple(None if side is None else int(side) for side in shape)


def _ranks(ndim):
    """``ndim`` (an int, ints, or an Interval of ranks) as (accepts(rank), text)."""
    if isinstance(ndim, Interval):
        return ndim.is_satisfied_by, ndim.describe("rank")
    ranks = (ndim,) if isinstance(ndim, numbers.Integral) else tuple(ndim)
    return (lambda rank: rank in ranks), "rank " + " or ".join(map(str, ranks))


def real_array(name, value, *, dtype_kinds="uif", ndim=None, axes=None):
    """``np.asarray(value)`` when it holds real numbers of an accepted dtype kind.

    Complex values (whose imaginary part a cast to float would drop), strings, objects
    (``None``, ragged lists) and, unless ``dtype_kinds`` has ``"b"``, bools are refused.
    ``ndim`` (an int, a tuple of ints or an :class:`Interval`) checks the rank too; ``axes``
    names them in the message, e.g. ``x has shape (5, 5): expected rank 4 (batch, height,
    width, channels)``.
    """
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise ArgumentError(f"{name}: expected an array of numbers, got {type(value).__name__} "
                            f"({exc})") from None
    if array.dtype.kind not in dtype_kinds:
        kinds = ", ".join(_KIND_NAMES.get(kind, kind) for kind in dtype_kinds)
        raise ArgumentError(f"{name} has dtype {array.dtype}: expected real numbers ({kinds})")
    if ndim is not None:
        accepts, text = _ranks(ndim)
        if not accepts(array.ndim):
            raise ArgumentError(f"{name} has shape {array.shape}: expected {text}"
                                + (f" ({axes})" if axes else ""))
    return array


def choice(name, value, options):
    """``value`` if it is one of ``options``, else ArgumentError listing them."""
    return check(name, value, Options(options))


def pair(name, value, low=None, high=None):
    """``value`` (an integer, or a pair of them) as a pair of ints in [low, high].

    >>> pair("stride", 2, low=1)
    (2, 2)
    >>> pair("stride", (1, 2, 3), low=1)
    Traceback (most recent call last):
    ...
    medlab.validate.ArgumentError: stride (1, 2, 3): expected an integer >= 1 or a pair of them
    """
    interval = Interval(Integer, low, high)
    items = value if isinstance(value, (tuple, list)) and len(value) == 2 else (value, value)
    if not all(interval.is_satisfied_by(item) for item in items):
        raise ArgumentError(f"{name} {value!r}: expected {interval} or a pair of them")
    return int(items[0]), int(items[1])


def same_shape(name, value, expected, of=None):
    """``value`` if its shape (``np.shape``) is ``expected``, else an ArgumentError saying both.

    >>> same_shape("dy", np.zeros((1, 2)), (1, 3), of="the forward output")
    Traceback (most recent call last):
    ...
    medlab.validate.ArgumentError: dy has shape (1, 2): expected (1, 3), the shape of the forward output
    """
    actual, expected = np.shape(value), tuple(int(n) for n in expected)
    if actual != expected:
        raise ArgumentError(f"{name} has shape {actual}: expected {expected}" + (f", the shape of {of}" if of else ""))
    return value


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
