"""Print checks whose text is the same on every machine, for notebooks under strict nbval.

A notebook states an equation, computes it two ways and calls::

    verify.same("medlab.ops.conv2d", y_numpy, "keras Conv2D", y_keras)

which prints the shapes and whether the largest difference is below the
tolerance, never the difference itself (its last digits change with the CPU).
"""

from __future__ import annotations

import numpy as np


class Verdict(int):
    """The outcome of a check: truthy like a bool, but silent as a notebook cell's last value.

    The check already printed its verdict; echoing ``True`` below it would only add noise.
    """

    def __repr__(self):
        return "True" if self else "False"

    def _ipython_display_(self):  # IPython: display nothing (the check printed its line)
        pass


def max_abs_difference(a, b):
    """Largest |a - b| over all elements (inf when the shapes differ)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return float("inf")
    return float(np.max(np.abs(a - b))) if a.size else 0.0


def same(name_a, a, name_b, b, atol=1e-5):
    """Print and return whether ``a`` and ``b`` have the same shape and agree to ``atol``.

    Parameters
    ----------
    name_a, name_b : str
        What computed each array, for the printed line.
    a, b : array_like
    atol : float
        Largest allowed absolute difference.

    Returns
    -------
    Verdict
        True when they agree; shows nothing as a cell's last expression.
    """
    a, b = np.asarray(a), np.asarray(b)
    ok = a.shape == b.shape and max_abs_difference(a, b) <= atol
    print(f"{name_a} {a.shape} vs {name_b} {b.shape}: max |difference| <= {atol:g}: {ok}")
    return Verdict(ok)


def claim(text, holds):
    """Print a claim and whether the computation supports it; return it as a :class:`Verdict`."""
    holds = bool(holds)
    print(f"{text}: {holds}")
    return Verdict(holds)
