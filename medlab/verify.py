"""Print checks whose text is the same on every machine, for notebooks under strict nbval.

A notebook states an equation, computes it two ways and calls::

    verify.same("medlab.ops.conv2d", y_numpy, "keras Conv2D", y_keras)

which prints the shapes and whether the largest difference is below the
tolerance, never the difference itself (its last digits change with the CPU).

A trained network's figures (an AUC, a loss, a chosen threshold) differ from CPU to CPU
in their last digits, and a few epochs on a few hundred images can amplify that to the
second decimal. The lesson still shows them, through :func:`measured`, which ends each
line with :data:`MEASURED`: ``tests/nbval_sanitize.cfg`` turns every number on such a
line into ``#``, so nbval compares the words and the layout but not the figures. What
the lesson concludes from them goes into a :func:`claim` with a margin chosen from the
spread over seeds and math back-ends, and that line is compared in full.
"""

from __future__ import annotations

import numpy as np

#: The end of every line that :func:`measured` prints (see the module docstring).
MEASURED = "(measured)"


class Outcome(int):
    """The outcome of a check: truthy like a bool, but silent as a notebook cell's last value.

    The check already printed its verdict; echoing ``True`` below it would only add noise.
    """

    def __repr__(self):
        return "True" if self else "False"

    def _ipython_display_(self):  # IPython: display nothing (the check printed its line)
        pass


def _max_abs_difference(a, b):
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
    Outcome
        True when they agree; shows nothing as a cell's last expression.
    """
    a, b = np.asarray(a), np.asarray(b)
    ok = a.shape == b.shape and _max_abs_difference(a, b) <= atol
    print(f"{name_a} {a.shape} vs {name_b} {b.shape}: max |difference| <= {atol:g}: {ok}")
    return Outcome(ok)


def claim(text, holds):
    """Print a claim and whether the computation supports it; return it as a :class:`Outcome`."""
    holds = bool(holds)
    print(f"{text}: {holds}")
    return Outcome(holds)


def measured(text):
    """Print ``text`` with :data:`MEASURED` at the end of each line; nbval skips its figures.

    For figures of a trained network that differ in their last digits between CPUs. A table
    works too: every line is marked, so its layout is compared and its numbers are not.
    """
    for line in str(text).splitlines() or [""]:
        print(f"{line}  {MEASURED}")
