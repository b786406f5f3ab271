"""Lesson 06, how W is learned: ``dense_backward``, ``conv_backward``, ``adam_update``.

Each hint is defined here, beside the mistakes (wrong variants) it explains. The checks work
like every check in :mod:`medlab.checks` (which re-exports them): fixed seeded cases, the reference in
``medlab.backprop`` / ``medlab.optimizers``, one line when right, the failing case and a hint
for a known mistake when wrong.

The exercises return several arrays (``(dx, dW, db)``, ``(w, m, v)``); the check compares
them all at once, laid end to end, and names the part that is wrong.
"""

from __future__ import annotations

import numpy as np

from medlab import backprop
from medlab.checks.framework import Case, Hint, arrays_equal, case_rng, run_check, small_ints

DX_TRANSPOSE = Hint("bp_dx_transpose", (
    "dx = dy W^T: each input feature collects the gradient of every unit it feeds, "
    "through the same weight as in the forward pass, so W is used transposed."))
DW_TRANSPOSE = Hint("bp_dw_transpose", (
    "dW must have W's shape (D, U): dW = x^T dy, not dy^T x."))
DB_NOT_SUMMED = Hint("bp_db_not_summed", (
    "db must have b's shape: b is added to every example of the batch, so its gradient is "
    "the SUM of dy over the batch (and, for a convolution, over every position)."))
DB_MEAN = Hint("bp_db_mean", (
    "sum, do not average: the loss already divided by the batch size, so dy holds each "
    "example's share; db adds them up."))
DB_MISSING = Hint("bp_db_missing", (
    "the bias gradient is missing (zeros): db = dy summed over every axis but the last."))
DB_WRONG_AXIS = Hint("bp_db_wrong_axis", (
    "db is summed over the wrong axes: b has one value per filter (the last axis of dy), "
    "so sum over batch, rows and columns, axes (0, 1, 2), and keep the last."))
KERNEL_NOT_FLIPPED = Hint("bp_kernel_not_flipped", (
    "dx is wrong in a way that matches the kernel turned by 180 degrees. The forward pass "
    "reads x[i + u, j + v] through w[u, v]; the backward pass sends dy[i, j] back along the "
    "same path: dx[i + u, j + v] += w[u, v] dy[i, j]. As one operation that is the full "
    "cross-correlation of dy with the FLIPPED kernel (the convolution with w); a plain "
    "cross-correlation of the padded dy with w as it is turns it the wrong way."))
DW_ONE_IMAGE = Hint("bp_dw_one_image", (
    "dW uses only the first image: the same kernel is applied to every image of the batch, "
    "so its gradient is summed over the batch too."))
DW_MEAN = Hint("bp_dw_mean", (
    "sum dW over the batch, do not average it: the loss's 1/N is already inside dy."))
NO_BIAS_CORRECTION = Hint("bp_no_bias_correction", (
    "the bias correction is missing: m and v start at 0, so early on they are too small by "
    "the factors (1 - beta_1^t) and (1 - beta_2^t); divide by them (Keras folds both into "
    "the step size: lr sqrt(1 - beta_2^t) / (1 - beta_1^t))."))
EPSILON_INSIDE = Hint("bp_epsilon_inside", (
    "epsilon goes outside the square root: m / (sqrt(v) + epsilon)."))
STEP_FROM_ZERO = Hint("bp_step_from_zero", (
    "t is the number of this step counting from 1 (the first update has t = 1), so the first "
    "corrections are 1 - beta_1 and 1 - beta_2."))
ASCENT = Hint("bp_ascent", (
    "the step goes uphill: subtract it, w - step, to lower the loss."))
NOT_THREE = Hint("bp_not_three", (
    "return a tuple of three arrays, in the order the docstring gives."))

_PARTS = {"dense_backward": ("dx", "dW", "db"), "conv_backward": ("dx", "dw", "db"),
          "adam_update": ("w", "m", "v")}


def _packed(function, name):
    """``function``'s tuple of three arrays laid end to end (raises ValueError otherwise)."""
    def packed(*args):
        result = function(*args)
        if result is None:
            return None
        if not isinstance(result, (tuple, list)) or len(result) != 3:
            raise ValueError(f"return {', '.join(_PARTS[name])} as a tuple of three arrays, "
                             f"got a {type(result).__name__}")
        return np.concatenate([np.ravel(np.asarray(part, dtype=np.float64)) for part in result])

    return packed


def _explain_part(name, reference_shapes):
    """A hint saying which part is wrong, when no known mistake matches."""
    def explain(got, expected, case):
        shapes = reference_shapes(*case.args)
        sizes = [int(np.prod(s)) for s in shapes]
        if np.asarray(got).size != sum(sizes):
            return NOT_THREE_SHAPES
        offsets = np.cumsum([0] + sizes)
        wrong = [part for part, a, b in zip(_PARTS[name], offsets[:-1], offsets[1:])
                 if not arrays_equal(got[a:b], expected[a:b])]
        return WRONG_PARTS[tuple(wrong)] if wrong else None

    return explain


NOT_THREE_SHAPES = Hint("bp_not_three_shapes", (
    "a part has the wrong shape: each gradient has the shape of what it is the gradient of "
    "(dx like x, dW like W, db like b)."))


def _wrong_part_hints():
    """One hint per combination of wrong parts, e.g. "dx and db are wrong, the rest is right"."""
    hints = {}
    for parts in _PARTS.values():
        for mask in range(1, 8):
            chosen = tuple(p for i, p in enumerate(parts) if mask >> i & 1)
            if chosen not in hints:
                hints[chosen] = Hint(
                    f"bp_wrong_{'_'.join(chosen)}",
                    f"{' and '.join(chosen)} {'is' if len(chosen) == 1 else 'are'} wrong, the rest "
                    "is right: work the first case by hand for that part.")
    return hints


WRONG_PARTS = _wrong_part_hints()


def _on_error(error, case):
    text = str(error)
    if "tuple of three" in text:
        return NOT_THREE
    return DX_TRANSPOSE if isinstance(error, ValueError) and "matmul" in text else None


# --------------------------------------------------------------- dense backward
def _dense_cases():
    rng = case_rng("dense_backward")
    names = ("x", "W", "dy")
    yield Case((np.array([[1, 2, -1]], np.float32), np.array([[2, -2], [0, 1], [1, 1]], np.float32),
                np.array([[1, -1]], np.float32)), names, "N=1, D=3, U=2")
    yield Case((small_ints(rng, (3, 4)), small_ints(rng, (4, 2)), small_ints(rng, (3, 2))),
               names, "N=3, D=4, U=2")
    yield Case((rng.standard_normal((5, 7), np.float32), rng.standard_normal((7, 3), np.float32),
                rng.standard_normal((5, 3), np.float32)), names, "N=5, D=7, U=3", show=False)


def _dense_variant(kind):
    def variant(x, w, dy):
        dx, dw, db = backprop.dense_backward(x, w, dy)
        if kind == "dw_t":
            dw = dw.T
        elif kind == "db_not_summed":
            db = dy
        elif kind == "db_mean":
            db = dy.mean(axis=0)
        elif kind == "db_zero":
            db = np.zeros_like(db)
        elif kind == "db_axis":
            db = dy.sum(axis=1)
        return np.concatenate([dx.ravel(), dw.ravel(), np.ravel(db)]).astype(np.float64)

    return variant


def check_dense_backward(dense_backward):
    """Check ``dense_backward(x, W, dy) -> (dx, dW, db)``, the gradients of ``y = x W + b``.

    ``x`` (N, D), ``W`` (D, U), ``dy`` (N, U) = dL/dy; the reference is
    ``medlab.backprop.dense_backward``: dx = dy W^T, dW = x^T dy, db = dy summed over the batch.
    """
    mistakes = [
        (DW_TRANSPOSE, _dense_variant("dw_t")),
        (DB_NOT_SUMMED, _dense_variant("db_not_summed")),
        (DB_MEAN, _dense_variant("db_mean")),
        (DB_MISSING, _dense_variant("db_zero")),
        (DB_WRONG_AXIS, _dense_variant("db_axis"), "For a dense layer: sum over axis 0."),
    ]
    return run_check("dense_backward", _named(_packed(dense_backward, "dense_backward"),
                                              dense_backward),
                     _dense_cases(), _dense_variant("right"), mistakes,
                     explain=_explain_part("dense_backward",
                                           lambda x, w, dy: (x.shape, w.shape, (w.shape[1],))),
                     on_error=_on_error)


def _named(packed, student):
    """The packed function, still recognisable as the student's (callable check, same name)."""
    if not callable(student):
        return student
    packed.__name__ = getattr(student, "__name__", "function")
    return packed


# ------------------------------------------------------------ conv backward
def _conv_cases():
    rng = case_rng("conv_backward")
    names = ("x", "w", "dy")
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    w = np.array([[1, 2], [0, -1]], np.float32).reshape(2, 2, 1, 1)
    yield Case((x, w, small_ints(rng, (1, 3, 3, 1))), names, "one 4x4 image, one 2x2 filter",
               show=False)
    yield Case((small_ints(rng, (2, 5, 4, 1)), small_ints(rng, (3, 2, 1, 1)),
                small_ints(rng, (2, 3, 3, 1))), names, "2 images, 3x2 kernel", show=False)
    yield Case((rng.standard_normal((3, 6, 5, 2), np.float32),
                rng.standard_normal((3, 3, 2, 4), np.float32),
                rng.standard_normal((3, 4, 3, 4), np.float32)), names,
               "3 images, 2 channels, 4 filters", show=False)


def _conv_variant(kind):
    def variant(x, w, dy):
        dx, dw, db = backprop.conv2d_backward(x, w, dy)
        if kind == "flipped":
            dx = backprop.conv2d_backward(x, w[::-1, ::-1], dy)[0]
        elif kind == "one_image":
            dw = backprop.conv2d_backward(x[:1], w, dy[:1])[1]
        elif kind == "dw_mean":
            dw = dw / len(x)
        elif kind == "db_zero":
            db = np.zeros_like(db)
        elif kind == "db_one_image":
            db = dy[0].sum(axis=(0, 1))
        elif kind == "db_mean":
            db = dy.mean(axis=(0, 1, 2))
        elif kind == "db_axis":
            db = dy.sum(axis=(1, 2, 3))
        elif kind == "db_axis_last":
            db = dy.sum(axis=(0, 1, 3))
        return np.concatenate([dx.ravel(), dw.ravel(), np.ravel(db)]).astype(np.float64)

    return variant


def check_conv_backward(conv_backward):
    """Check ``conv_backward(x, w, dy) -> (dx, dw, db)`` for the "valid", stride-1 cross-correlation.

    ``x`` (N, H, W, C), ``w`` (kh, kw, C, F), ``dy`` (N, H - kh + 1, W - kw + 1, F); the
    reference is ``medlab.backprop.conv2d_backward``.
    """
    mistakes = [
        (KERNEL_NOT_FLIPPED, _conv_variant("flipped")),
        (DW_ONE_IMAGE, _conv_variant("one_image")),
        (DW_MEAN, _conv_variant("dw_mean")),
        (DB_MISSING, _conv_variant("db_zero")),
        (DB_NOT_SUMMED, _conv_variant("db_one_image"), "Sum over the images as well."),
        (DB_MEAN, _conv_variant("db_mean")),
        (DB_WRONG_AXIS, _conv_variant("db_axis")),
        (DB_WRONG_AXIS, _conv_variant("db_axis_last")),
    ]
    return run_check("conv_backward", _named(_packed(conv_backward, "conv_backward"),
                                             conv_backward),
                     _conv_cases(), _conv_variant("right"), mistakes,
                     explain=_explain_part("conv_backward",
                                           lambda x, w, dy: (x.shape, w.shape, (w.shape[3],))),
                     on_error=_on_error)


# ---------------------------------------------------------------- Adam update
def _adam(w, g, m, v, t, lr, beta_1, beta_2, epsilon, kind="right"):
    m = m + (1 - beta_1) * (g - m)
    v = v + (1 - beta_2) * (g * g - v)
    step_t = t + 1 if kind == "from_zero" else t
    if kind == "no_correction":
        step = lr * m / (np.sqrt(v) + epsilon)
    else:
        alpha = lr * np.sqrt(1 - beta_2 ** step_t) / (1 - beta_1 ** step_t)
        root = np.sqrt(v + epsilon) if kind == "epsilon_inside" else np.sqrt(v) + epsilon
        step = alpha * m / root
    w = w + step if kind == "ascent" else w - step
    return np.concatenate([np.ravel(w), np.ravel(m), np.ravel(v)]).astype(np.float64)


def _adam_cases():
    rng = case_rng("adam_update")
    names = ("w", "g", "m", "v", "t", "learning_rate", "beta_1", "beta_2", "epsilon")
    # epsilon small next to sqrt(v), or t large: Keras's form and the textbook's
    # (m_hat / (sqrt(v_hat) + epsilon)) agree, and epsilon inside the root still shows
    yield Case((np.array([1.0, -2.0]), np.array([0.5, -0.1]), np.zeros(2), np.zeros(2), 1,
                0.1, 0.9, 0.999, 1e-10), names, "the first step")
    yield Case((rng.standard_normal(4), rng.standard_normal(4), rng.standard_normal(4) * 0.1,
                rng.random(4) * 0.01, 3, 0.01, 0.9, 0.999, 1e-10), names, "step 3")
    yield Case((rng.standard_normal((2, 3)), rng.standard_normal((2, 3)) * 1e-2,
                rng.standard_normal((2, 3)) * 1e-2, 1e-4 * (1 + rng.random((2, 3))), 100, 0.5,
                0.8, 0.9, 1e-6), names, "step 100, small gradients, epsilon 1e-6", show=False)


def check_adam_update(adam_update):
    """Check ``adam_update(w, g, m, v, t, learning_rate, beta_1, beta_2, epsilon) -> (w, m, v)``.

    One Adam step at step number ``t`` (1 for the first update), as ``keras.optimizers.Adam``
    and ``medlab.optimizers.Adam``: m and v updated first, then the bias-corrected step.
    """
    mistakes = [(key, lambda *a, kind=kind: _adam(*a, kind=kind))
                for key, kind in ((NO_BIAS_CORRECTION, "no_correction"),
                                  (EPSILON_INSIDE, "epsilon_inside"),
                                  (STEP_FROM_ZERO, "from_zero"),
                                  (ASCENT, "ascent"))]
    return run_check("adam_update", _named(_packed(adam_update, "adam_update"), adam_update),
                     _adam_cases(), _adam, mistakes,
                     explain=_explain_part("adam_update",
                                           lambda w, *rest: (np.shape(w),) * 3),
                     on_error=_on_error)


__all__ = ["check_adam_update", "check_conv_backward", "check_dense_backward"]
