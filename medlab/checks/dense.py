"""Lesson 04, dense layers: ``dense_forward``, ``dense_param_count``.

Each hint is defined here, beside the mistakes (wrong variants) it explains.
"""

from __future__ import annotations

import numpy as np

from medlab import ops
from medlab.checks.framework import Case, Hint, case_rng, run_check, small_ints

BIAS_AFTER_ACTIVATION = Hint("bias_after_activation", "add the bias before the activation: relu(x W + b), not relu(x W) + b.")
BIAS_PER_INPUT = Hint("bias_per_input", "there is one bias per unit (U of them), not one per input (D).")
DENSE_LAYOUT = Hint("dense_layout", (
    "in Keras's layout W has shape (D, U) (inputs, units): compute x @ W with x of shape "
    "(N, D); the textbook's W x uses the transpose."))
MISSING_BIAS = Hint("missing_bias", "the bias is missing: every unit or filter adds its own bias b.")
MISSING_RELU = Hint("missing_relu", "a ReLU is missing: relu(z) = max(z, 0), elementwise (np.maximum(z, 0)).")
TRANSPOSED = Hint("transposed", (
    "your result is transposed: in Keras's layout x is (N, D), W is (D, U) and "
    "y = x W + b is (N, U), one row per example."))
WRONG_ACTIVATION = Hint("wrong_activation", "wrong activation function.")


def _dense_relu(x, w, b):
    return ops.relu(ops.dense(x, w, b))


def _dense_cases():
    rng = case_rng("dense_forward")
    names = ("x", "W", "b")
    yield Case((np.array([[1, 2, -1]], np.float32), np.array([[2, -2], [0, 1], [1, 1]], np.float32),
                np.array([1, -1], np.float32)), names, "N=1, D=3, U=2")
    yield Case((small_ints(rng, (2, 4)), small_ints(rng, (4, 3)), small_ints(rng, (3,))), names,
               "N=2, D=4, U=3")
    yield Case((rng.standard_normal((5, 7), np.float32), rng.standard_normal((7, 4), np.float32),
                rng.standard_normal(4, np.float32)), names, "N=5, D=7, U=4", show=False)
    yield Case((rng.standard_normal((3, 10), np.float32), rng.standard_normal((10, 6), np.float32),
                rng.standard_normal(6, np.float32)), names, "N=3, D=10, U=6", show=False)


def matmul_error(error, case):
    text = str(error).lower()
    return DENSE_LAYOUT if isinstance(error, ValueError) and ("matmul" in text or "align" in text
                                                                or "shape" in text) else None


def check_dense_forward(dense_forward):
    """Check ``dense_forward(x, W, b)``: a dense layer with ReLU, relu(x W + b).

    ``x`` (N, D), ``W`` (D, U) as Keras stores it, ``b`` (U,); the result is (N, U). The
    reference is ``medlab.ops.relu(medlab.ops.dense(x, W, b))``.
    """
    mistakes = [
        (MISSING_BIAS, lambda x, w, b: ops.relu(ops.dense(x, w))),
        (MISSING_RELU, lambda x, w, b: ops.dense(x, w, b)),
        (BIAS_AFTER_ACTIVATION, lambda x, w, b: ops.relu(ops.dense(x, w)) + b),
        (WRONG_ACTIVATION, lambda x, w, b: ops.sigmoid(ops.dense(x, w, b)),
         "This layer uses ReLU, max(z, 0); the sigmoid is for the output unit."),
        (TRANSPOSED, lambda x, w, b: _dense_relu(x, w, b).T),
    ]
    return run_check("dense_forward", dense_forward, _dense_cases(), _dense_relu, mistakes,
                     on_error=matmul_error)


def _dense_count_cases():
    for args in ((10, 64), (3, 5), (64, 1), (82944, 64), (784, 10)):
        yield Case(args, ("d", "u"))


def check_dense_param_count(dense_param_count):
    """Check ``dense_param_count(d, u)``: the parameters of a dense layer, D * U + U.

    The reference is Keras's count for ``Dense(u)`` on ``d`` inputs (the same formula).
    """
    mistakes = [
        (MISSING_BIAS, lambda d, u: d * u),
        (BIAS_PER_INPUT, lambda d, u: d * u + d),
    ]
    return run_check("dense_param_count", dense_param_count, _dense_count_cases(),
                     lambda d, u: d * u + u, mistakes, kind="number")
