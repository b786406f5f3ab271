"""Automatic checks for the course exercises, one per exercise: ``check_<exercise>(function)``.

A lesson's exercise cell defines a function; the cell after it calls its check::

    from medlab.checks import check_cross_correlate

    check_cross_correlate(cross_correlate)

The check runs the function on fixed test cases (seeded, so the same on every machine),
compares each result with the reference in ``medlab`` (``ops.conv2d``, ``ops.output_size``,
``ops.max_pool2d``, ``ops.avg_pool2d``, ``ops.dense``, ``models.numpy_forward``, Keras's
``count_params``) and prints one short verdict:

- all cases pass: one line;
- a wrong result: the first failing case (input shapes; small arrays in full; expected and
  got) and, when the wrong result equals a known wrong variant (a flipped kernel, an
  off-by-one output size, a forgotten bias, ...), a hint for that mistake (:data:`HINTS`);
- the function raises: the case, the exception's type and message;
- unfinished (``NotImplementedError``) or returning ``None``: says so.

A check never raises because the student's function is wrong, and returns a
:class:`medlab.verify.Verdict` (``True`` or ``False``, shown as nothing when it is a cell's
last value, because the verdict is already printed).

Adding a check for a new exercise: write the cases (a generator of :class:`Case`), the
reference, and the wrong variants as ``(hint_key, function)`` pairs, and call
:func:`run_check` from a function named ``check_<exercise>``.
"""

from __future__ import annotations

import copy
import functools
import math
import zlib
from dataclasses import dataclass

import numpy as np

from medlab import ops
from medlab.verify import Verdict

#: Hints for common mistakes, by key. A check prints ``hint: HINTS[key]`` (plus a detail
#: specific to the exercise) when the student's result equals that mistake's result.
HINTS = {
    "flipped_kernel": (
        "your result is the true convolution: the kernel is flipped (rotated by 180 degrees). "
        "Keras's Conv2D and this exercise compute the cross-correlation, which slides the kernel "
        "as it is: y[i, j] = sum over u, v of x[i + u, j + v] * w[u, v]."),
    "off_by_one": (
        "off by one in the output size: along an axis of n pixels a window of k pixels fits in "
        "n - k + 1 positions; with padding p and stride s, floor((n + 2p - k) / s) + 1."),
    "same_not_valid": (
        "'valid' means no padding: the windows stay inside the image, so the output shrinks "
        "by k - 1 pixels along each axis; it does not keep the input's size."),
    "padding_one_side": (
        "padding p puts p zeros on EACH side of an axis: the padded length is n + 2p, not n + p."),
    "padding_ignored": (
        "the padding is missing: with p zeros on each side the padded length is n + 2p."),
    "wrong_axes": (
        "padding on the wrong axes: pad only height and width, axes 1 and 2 of (N, H, W, C), "
        "never the batch or channel axis: np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))."),
    "channels_first": (
        "channels first instead of last: medlab and Keras store images as (N, H, W, C), with "
        "the channels on the LAST axis."),
    "not_zeros": "pad with zeros (np.pad's default mode='constant'), not by repeating the edge.",
    "stride_ignored": (
        "the stride is ignored: windows start every s pixels (rows and columns 0, s, 2s, ...), "
        "not every pixel, and not every window size unless s equals it."),
    "floor": (
        "round down: only windows that fit completely count, so the size is the whole number "
        "(n + 2p - k) // s + 1 (floor division), not a fraction and not rounded up."),
    "max_avg_mixed": (
        "max and average are mixed up: max pooling keeps each window's largest value "
        "(window.max()), average pooling its mean (window.mean())."),
    "sum_not_mean": "divide by the number of pixels in the window (size * size) to get the mean.",
    "missing_bias": "the bias is missing: every unit or filter adds its own bias b.",
    "bias_per_input": "there is one bias per unit (U of them), not one per input (D).",
    "bias_after_activation": "add the bias before the activation: relu(x W + b), not relu(x W) + b.",
    "missing_relu": "a ReLU is missing: relu(z) = max(z, 0), elementwise (np.maximum(z, 0)).",
    "missing_sigmoid": (
        "the output unit's sigmoid is missing: y = 1 / (1 + exp(-z)) turns the last dense "
        "layer's z into a probability in (0, 1)."),
    "wrong_activation": "wrong activation function.",
    "transposed": (
        "your result is transposed: in Keras's layout x is (N, D), W is (D, U) and "
        "y = x W + b is (N, U), one row per example."),
    "dense_layout": (
        "in Keras's layout W has shape (D, U) (inputs, units): compute x @ W with x of shape "
        "(N, D); the textbook's W x uses the transpose."),
    "output_shape": "return shape (N, 1): one probability per image, in a column, as model.predict does.",
    "valid_not_same": (
        "the convolutions use padding 'valid': each one shrinks the maps from n to n - k + 1 "
        "pixels; it does not keep the size (the article's mistake)."),
    "pooling_ignored": "each 2 x 2 max pooling halves height and width, rounding down: n -> n // 2.",
    "input_channels": (
        "conv1's kernels span all C channels of the input: k * k * C * 32 weights plus 32 biases."),
    "flatten_size": (
        "the flattened length must equal weights[4].shape[0]; check the feature maps' shape "
        "before flattening: a missing pooling, or padding, changes it."),
    "sens_spec_swapped": (
        "sensitivity and specificity are swapped: sensitivity = TP / (TP + FN) is about the sick "
        "images (y_true == 1), specificity = TN / (TN + FP) about the healthy ones (y_true == 0)."),
    "accuracy_not_rate": (
        "that is the accuracy, (TP + TN) / N, which mixes both classes: sensitivity counts only "
        "the sick images, TP / (TP + FN), specificity only the healthy ones, TN / (TN + FP)."),
    "divided_by_all": (
        "divide by the number of images of that class, not by all N images: sensitivity = "
        "TP / (TP + FN) (the sick ones), specificity = TN / (TN + FP) (the healthy ones)."),
    "predictive_values": (
        "that is PPV and NPV, which divide by the model's calls (TP + FP, TN + FN); sensitivity "
        "and specificity divide by the truth: TP / (TP + FN) and TN / (TN + FP)."),
    "prevalence_swapped": (
        "the weights are swapped: sensitivity applies to the sick fraction (the prevalence pi), "
        "specificity to the healthy one (1 - pi): accuracy = sens * pi + spec * (1 - pi)."),
    "prevalence_ignored": (
        "the prevalence is missing: the plain mean (sens + spec) / 2 is the accuracy only when "
        "half the patients are sick; weigh sens by pi and spec by 1 - pi."),
    "rmse_not_mse": (
        "use the mean squared error, MSE = mean((x - x_hat)**2), without a square root: the "
        "root (RMSE) goes only with 20 log10(data_range / RMSE)."),
    "log_natural": (
        "use the base-10 logarithm, np.log10: decibels are 10 log10(ratio); np.log is the "
        "natural logarithm."),
    "range_not_squared": (
        "the peak power is data_range**2: PSNR = 10 log10(data_range**2 / MSE). With images in "
        "[0, 1] the mistake is invisible; it shows when data_range is 255."),
    "db_factor": (
        "decibels of a power ratio are 10 log10(ratio): 10 log10(data_range**2 / MSE), or "
        "equivalently 20 log10(data_range / RMSE); not 20 with the squares, nor 10 without."),
    "global_mean": (
        "one score per image: average over each image's own pixels, not one mean over the "
        "whole batch; the result has shape (N,)."),
    "per_image_axes": (
        "average over every axis except the first (the image index): "
        "np.mean(..., axis=tuple(range(1, images.ndim))), so the result has shape (N,), also "
        "for (N, H, W, C) images."),
    "abs_not_squared": (
        "square the differences, (x - x_hat)**2, instead of taking their absolute value: the "
        "score is the mean SQUARED error."),
    "sum_not_mean_pixels": (
        "divide by the number of pixels: the mean, not the sum, of the squared errors (np.mean)."),
}

_MAX_SHOWN = 64  # print arrays in full only up to this many entries


# ------------------------------------------------------------------ the framework
@dataclass
class Case:
    """One test case: the arguments and how to describe them."""

    args: tuple
    names: tuple
    #: extra text after the description (e.g. "stride 2")
    note: str = ""
    #: whether the arrays are small enough to print in full
    show: bool = True

    def describe(self):
        parts = []
        for name, value in zip(self.names, self.args):
            if isinstance(value, np.ndarray):
                parts.append(f"{name} {value.shape}")
            elif isinstance(value, (list, tuple)) and value and isinstance(value[0], np.ndarray):
                parts.append(f"{name}: {len(value)} arrays")
            else:
                parts.append(f"{name}={value!r}")
        return ", ".join(parts) + (f" ({self.note})" if self.note else "")


def _format_array(a):
    a = np.asarray(a)
    if a.dtype.kind == "f" and np.all(np.isfinite(a)) and np.all(a == np.round(a)):
        a = a.astype(np.int64)
    elif a.dtype.kind == "f":
        a = np.round(a, 3) + 0.0  # + 0.0 turns -0.0 into 0.0
    text = np.array2string(a, precision=3, suppress_small=True, max_line_width=88)
    return "\n".join("      " + line for line in text.splitlines())


def _describe_value(value):
    if isinstance(value, np.ndarray):
        shown = value.size <= _MAX_SHOWN and value.ndim <= 2
        return f"shape {value.shape}" + (":\n" + _format_array(value) if shown else "")
    return repr(value)


def _as_array(result):
    """The student's result as a float64 array, or a string saying why it is not one."""
    try:
        array = np.asarray(result, dtype=np.float64)
    except Exception:
        return f"a {type(result).__name__} that is not an array of numbers"
    return array


def _as_number(result):
    if isinstance(result, (bool, np.bool_)):
        return f"a bool ({result!r}), not a number"
    if isinstance(result, np.ndarray):
        if result.size != 1:
            return f"an array of shape {result.shape}, not one number"
        result = result.reshape(()).item()
    if isinstance(result, (int, np.integer)):
        return int(result)
    if isinstance(result, (float, np.floating)):
        value = float(result)
        return int(value) if value.is_integer() else value
    return f"a {type(result).__name__}, not a number"


def arrays_equal(got, expected, rtol=1e-4, atol=1e-5):
    """Same shape and values within tolerance (relative to the expected values' scale)."""
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if got.shape != expected.shape:
        return False
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    return bool(np.allclose(got, expected, rtol=rtol, atol=atol * max(1.0, scale)))


def numbers_equal(got, expected):
    return not isinstance(got, str) and got == expected


def _safe(function, args):
    try:
        return function(*copy.deepcopy(args))
    except Exception:
        return None


def _unfinished(name):
    return (f"{name}: not done yet (it raises NotImplementedError). Write your code in place "
            f"of the `raise NotImplementedError(...)` line, run that cell, then run this check "
            f"again.")


def run_check(name, student, cases, reference, mistakes=(), *, kind="array", equal=None,
              explain=None, on_error=None):
    """Run ``student`` on ``cases`` against ``reference``; print the verdict; return it.

    Parameters
    ----------
    name : str
        The exercise's function name, for the printed lines.
    student : callable
        The student's function.
    cases : iterable of Case
        Consumed lazily: an unfinished function costs only the first case.
    reference : callable
        ``reference(*case.args)``: the right result.
    mistakes : sequence of (hint_key, callable) or (hint_key, callable, detail)
        Wrong variants, most specific first. When the student's results equal a variant's on
        every case, that variant's hint is printed.
    kind : {"array", "number"}
        How results are converted and compared.
    equal : callable, optional
        ``equal(got, expected) -> bool``; default :func:`arrays_equal` or exact numbers.
    explain : callable, optional
        ``explain(got, expected, case) -> hint key or None``, used when no variant matches.
    on_error : callable, optional
        ``on_error(exception, case) -> hint key or None`` for a function that raises.

    Returns
    -------
    Verdict
    """
    if not callable(student):
        print(f"check_{name} needs the function itself: check_{name}({name}), without calling "
              f"it (got a {type(student).__name__}).")
        return Verdict(False)
    convert = _as_array if kind == "array" else _as_number
    equal = equal or (arrays_equal if kind == "array" else numbers_equal)
    cases = iter(cases)
    seen = []  # (case, expected, got)
    failure = None
    for number, case in enumerate(cases, 1):
        expected = reference(*case.args)
        try:
            result = student(*copy.deepcopy(case.args))
        except NotImplementedError:
            print(_unfinished(name))
            return Verdict(False)
        except Exception as error:  # the student's bug, reported, never raised
            _report_error(name, number, case, error, on_error)
            return Verdict(False)
        if result is None:
            print(f"{name}: returned None on case {number} ({case.describe()}). Is a `return` "
                  f"missing, or is the function not finished?")
            return Verdict(False)
        got = convert(result)
        if isinstance(got, str):
            print(f"{name}: case {number} ({case.describe()}) returned {got}.")
            return Verdict(False)
        seen.append((case, expected, got))
        if not equal(got, expected):
            failure = number
            break
    if failure is None:
        print(f"{name}: all {len(seen)} test cases pass. Well done!")
        return Verdict(True)
    # the rest of the cases, to tell which mistake explains every result
    for case in cases:
        expected = reference(*case.args)
        result = _safe(student, case.args)
        got = None if result is None else convert(result)
        seen.append((case, expected, None if isinstance(got, str) else got))
    case, expected, got = seen[failure - 1]
    hint = _find_mistake(seen, mistakes, equal, failure)
    if hint is None and explain is not None:
        key = explain(got, expected, case)
        hint = (key, "") if key else None
    _report_failure(name, failure, len(seen), case, expected, got, hint)
    return Verdict(False)


def _find_mistake(seen, mistakes, equal, failure):
    """The first variant matching every result, else the first matching the failing case."""
    partial = None
    for mistake in mistakes:
        key, variant = mistake[0], mistake[1]
        detail = mistake[2] if len(mistake) > 2 else ""
        matches = []
        for case, _, got in seen:
            if got is None:
                continue
            wrong = _safe(variant, case.args)
            matches.append(wrong is not None and equal(got, wrong))
        case, _, got = seen[failure - 1]
        wrong = _safe(variant, case.args)
        fails_alike = wrong is not None and equal(got, wrong)
        if fails_alike and all(matches):
            return key, detail
        if fails_alike and partial is None:
            partial = (key, detail)
    return partial


def _report_error(name, number, case, error, on_error):
    message = str(error).strip().splitlines()
    message = message[0] if message else ""
    lines = [f"{name}: case {number} ({case.describe()}) raised {type(error).__name__}"
             + (f": {message}" if message else "")]
    lines += _show_inputs(case)
    key = on_error(error, case) if on_error else None
    if key:
        lines.append(f"  hint: {HINTS[key]}")
    print("\n".join(lines))


def _show_inputs(case):
    lines = []
    if case.show:
        for arg_name, value in zip(case.names, case.args):
            if isinstance(value, np.ndarray) and value.size <= _MAX_SHOWN and value.ndim <= 2:
                lines.append(f"  {arg_name}:\n{_format_array(value)}")
    return lines


def _report_failure(name, number, total, case, expected, got, hint):
    lines = [f"{name}: case {number} of {total} fails: {case.describe()}"]
    lines += _show_inputs(case)
    lines.append(f"  expected {_describe_value(expected)}")
    lines.append(f"  got      {_describe_value(got)}")
    if hint is not None:
        key, detail = hint
        lines.append(f"  hint: {HINTS[key]}" + (f" {detail}" if detail else ""))
    else:
        lines.append("  no hint for this one: work the case above by hand and compare.")
    print("\n".join(lines))


def _rng(name):
    return np.random.default_rng(zlib.crc32(name.encode()))


def _small_ints(rng, shape, low=-3, high=5):
    return rng.integers(low, high, size=shape).astype(np.float32)


def _shape_off_by_one(got, expected, case):
    got, expected = np.asarray(got), np.asarray(expected)
    if got.ndim == expected.ndim and got.shape != expected.shape:
        if all(abs(a - b) <= 1 for a, b in zip(got.shape, expected.shape)):
            return "off_by_one"
    return None


# ------------------------------------------------------------ lesson 02: convolution
def _correlate(image, kernel):
    return ops.conv2d(np.asarray(image, np.float32)[None, :, :, None],
                      np.asarray(kernel, np.float32)[:, :, None, None])[0, :, :, 0]


def _correlate_cases():
    rng = _rng("cross_correlate")
    names = ("image", "kernel")
    lesson_x = np.array([[1, 2, 0, 1, 3], [0, 1, 3, 1, 0], [2, 1, 0, 2, 1],
                         [1, 0, 2, 3, 1], [0, 2, 1, 0, 2]], np.float32)
    lesson_w = np.array([[1, 0, -1], [2, 1, 0], [0, -1, 1]], np.float32)
    yield Case((_small_ints(rng, (4, 4)), np.array([[1, 2], [0, -1]], np.float32)), names)
    yield Case((lesson_x, lesson_w), names, "the lesson's x and w")
    yield Case((_small_ints(rng, (3, 5)), _small_ints(rng, (2, 3))), names)
    yield Case((_small_ints(rng, (4, 3)), np.array([[2]], np.float32)), names, "a 1x1 kernel")
    yield Case((_small_ints(rng, (3, 4)), _small_ints(rng, (3, 4))), names, "kernel as large as the image")
    yield Case((rng.random((9, 11), np.float32), rng.standard_normal((3, 4), np.float32)), names, show=False)
    yield Case((rng.random((12, 10), np.float32), rng.standard_normal((5, 5), np.float32)), names, show=False)


def check_cross_correlate(cross_correlate):
    """Check ``cross_correlate(image, kernel)``: the "valid" 2-D cross-correlation.

    ``image`` (H, W) and ``kernel`` (kh, kw) are 2-D arrays; the result is the 2-D array
    y[i, j] = sum over u, v of image[i + u, j + v] * kernel[u, v], of shape
    (H - kh + 1, W - kw + 1), as ``medlab.ops.conv2d`` (and Keras's Conv2D) compute it.

    Returns
    -------
    Verdict
        True when every case passes. The verdict is printed.
    """
    mistakes = [
        ("flipped_kernel", lambda x, w: _correlate(x, np.flip(w))),
        ("same_not_valid", lambda x, w: ops.conv2d(x[None, :, :, None], w[:, :, None, None],
                                                    padding="same")[0, :, :, 0]),
        ("off_by_one", lambda x, w: _correlate(x, w)[:-1, :-1]),
    ]
    return run_check("cross_correlate", cross_correlate, _correlate_cases(), _correlate, mistakes,
                     explain=_shape_off_by_one)


def _output_size_cases():
    names = ("n", "k", "p", "s")
    for args in ((5, 3, 0, 1), (150, 3, 0, 1), (150, 3, 1, 1), (64, 5, 0, 2), (7, 3, 1, 2),
                 (10, 4, 2, 3), (28, 5, 2, 1), (9, 3, 0, 3), (1, 1, 0, 1), (224, 7, 3, 2)):
        yield Case(args, names)


def _output_size(n, k, p, s):
    return ops.output_size(n, k, stride=s, padding=p)


def check_conv_output_size(conv_output_size):
    """Check ``conv_output_size(n, k, p, s)``: floor((n + 2p - k) / s) + 1, an int.

    ``n`` input length, ``k`` kernel length, ``p`` zeros added on each side, ``s`` stride;
    the reference is ``medlab.ops.output_size(n, k, stride=s, padding=p)``.
    """
    mistakes = [
        ("off_by_one", lambda n, k, p, s: (n + 2 * p - k) // s, "You forgot the + 1."),
        ("stride_ignored", lambda n, k, p, s: n + 2 * p - k + 1),
        ("padding_one_side", lambda n, k, p, s: (n + p - k) // s + 1),
        ("padding_ignored", lambda n, k, p, s: (n - k) // s + 1),
        ("floor", lambda n, k, p, s: (n + 2 * p - k) / s + 1),
        ("floor", lambda n, k, p, s: math.ceil((n + 2 * p - k) / s) + 1),
        ("off_by_one", lambda n, k, p, s: (n + 2 * p - k + 1) // s,
         "Divide only n + 2p - k by s, then add 1."),
        ("off_by_one", lambda n, k, p, s: (n + 2 * p - k) // s + 2),
    ]
    return run_check("conv_output_size", conv_output_size, _output_size_cases(), _output_size,
                     mistakes, kind="number")


def _pad(x, p):
    return np.pad(np.asarray(x, np.float32), ((0, 0), (p, p), (p, p), (0, 0)))


def _pad_cases():
    rng = _rng("zero_pad")
    names = ("images", "p")
    yield Case((_small_ints(rng, (1, 2, 3, 1), 1, 9), 1), names)
    yield Case((rng.random((2, 3, 4, 3), np.float32), 2), names)
    yield Case((rng.random((1, 3, 3, 2), np.float32), 0), names, "no padding")
    yield Case((rng.random((3, 5, 2, 4), np.float32), 1), names)


def check_zero_pad(zero_pad):
    """Check ``zero_pad(images, p)``: p zeros on each side of height and width.

    ``images`` is (N, H, W, C), channels last; the result is (N, H + 2p, W + 2p, C) with the
    images in the middle. ``ops.conv2d(zero_pad(x, (k - 1) // 2), w)`` then equals
    ``ops.conv2d(x, w, padding="same")`` for an odd kernel side k.
    """
    mistakes = [
        ("wrong_axes", lambda x, p: np.pad(x, p), "You padded all four axes."),
        ("channels_first", lambda x, p: np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))),
         "You padded axes 2 and 3, as if the images were (N, C, H, W)."),
        ("wrong_axes", lambda x, p: np.pad(x, ((p, p), (p, p), (0, 0), (0, 0)))),
        ("wrong_axes", lambda x, p: np.pad(x, ((0, 0), (p, p), (0, 0), (0, 0))), "Pad the width too."),
        ("wrong_axes", lambda x, p: np.pad(x, ((0, 0), (0, 0), (p, p), (0, 0))), "Pad the height too."),
        ("padding_one_side", lambda x, p: np.pad(x, ((0, 0), (0, p), (0, p), (0, 0)))),
        ("padding_one_side", lambda x, p: np.pad(x, ((0, 0), (p, 0), (p, 0), (0, 0)))),
        ("not_zeros", lambda x, p: np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)), mode="edge")),
    ]
    return run_check("zero_pad", zero_pad, _pad_cases(), _pad, mistakes)


# --------------------------------------------------------------- lesson 03: pooling
def _pool_with(function):
    def pool(image, size, stride):
        return function(np.asarray(image, np.float32)[None, :, :, None], size, stride)[0, :, :, 0]

    return pool


_max_pool = _pool_with(ops.max_pool2d)
_avg_pool = _pool_with(ops.avg_pool2d)


def _sum_pool(image, size, stride):
    return _avg_pool(image, size, stride) * size * size


def _pool_cases(name):
    rng = _rng(name)
    names = ("image", "size", "stride")
    lesson_x = np.array([[1, 3, 2, 0], [4, 2, 1, 5], [0, 1, 3, 2], [6, 2, 0, 1]], np.float32)
    yield Case((lesson_x, 2, 2), names, "the lesson's 4x4 example")
    yield Case((_small_ints(rng, (5, 5), 0, 9), 2, 2), names, "odd side: the last row and column drop out")
    yield Case((_small_ints(rng, (5, 6), 0, 9), 3, 2), names, "overlapping windows")
    yield Case((_small_ints(rng, (4, 5), 0, 9), 2, 1), names)
    yield Case((rng.random((9, 11), np.float32), 3, 3), names, show=False)
    yield Case((rng.random((10, 7), np.float32), 2, 3), names, show=False)


def _pool_mistakes(this, other):
    return [
        ("max_avg_mixed", other),
        ("stride_ignored", lambda x, size, stride: this(x, size, size),
         "Use the stride argument as the step between windows."),
        ("stride_ignored", lambda x, size, stride: this(x, size, 1),
         "Use the stride argument as the step between windows."),
        ("off_by_one", lambda x, size, stride: _pool_with(
            functools.partial(ops.max_pool2d if this is _max_pool else ops.avg_pool2d,
                              padding="same"))(x, size, stride),
         "Only windows that fit inside the image count (no padding)."),
    ]


def check_max_pool(max_pool):
    """Check ``max_pool(image, size, stride)``: the largest value of each size x size window.

    ``image`` is 2-D (H, W); windows start every ``stride`` pixels and must fit inside the
    image, so the result is (floor((H - size) / stride) + 1, floor((W - size) / stride) + 1).
    The reference is ``medlab.ops.max_pool2d``.
    """
    return run_check("max_pool", max_pool, _pool_cases("max_pool"), _max_pool,
                     _pool_mistakes(_max_pool, _avg_pool), explain=_shape_off_by_one)


def check_avg_pool(avg_pool):
    """Check ``avg_pool(image, size, stride)``: the mean of each size x size window.

    Same windows as :func:`check_max_pool`; the reference is ``medlab.ops.avg_pool2d``.
    """
    mistakes = _pool_mistakes(_avg_pool, _max_pool)
    mistakes.insert(1, ("sum_not_mean", _sum_pool))
    mistakes.insert(2, ("sum_not_mean", lambda x, size, stride: _sum_pool(x, size, stride) / size))
    return run_check("avg_pool", avg_pool, _pool_cases("avg_pool"), _avg_pool, mistakes,
                     explain=_shape_off_by_one)


# ----------------------------------------------------------- lesson 04: dense layers
def _dense_relu(x, w, b):
    return ops.relu(ops.dense(x, w, b))


def _dense_cases():
    rng = _rng("dense_forward")
    names = ("x", "W", "b")
    yield Case((np.array([[1, 2, -1]], np.float32), np.array([[2, -2], [0, 1], [1, 1]], np.float32),
                np.array([1, -1], np.float32)), names, "N=1, D=3, U=2")
    yield Case((_small_ints(rng, (2, 4)), _small_ints(rng, (4, 3)), _small_ints(rng, (3,))), names,
               "N=2, D=4, U=3")
    yield Case((rng.standard_normal((5, 7), np.float32), rng.standard_normal((7, 4), np.float32),
                rng.standard_normal(4, np.float32)), names, "N=5, D=7, U=4", show=False)
    yield Case((rng.standard_normal((3, 10), np.float32), rng.standard_normal((10, 6), np.float32),
                rng.standard_normal(6, np.float32)), names, "N=3, D=10, U=6", show=False)


def _matmul_error(error, case):
    text = str(error).lower()
    return "dense_layout" if isinstance(error, ValueError) and ("matmul" in text or "align" in text
                                                                or "shape" in text) else None


def check_dense_forward(dense_forward):
    """Check ``dense_forward(x, W, b)``: a dense layer with ReLU, relu(x W + b).

    ``x`` (N, D), ``W`` (D, U) as Keras stores it, ``b`` (U,); the result is (N, U). The
    reference is ``medlab.ops.relu(medlab.ops.dense(x, W, b))``.
    """
    mistakes = [
        ("missing_bias", lambda x, w, b: ops.relu(ops.dense(x, w))),
        ("missing_relu", lambda x, w, b: ops.dense(x, w, b)),
        ("bias_after_activation", lambda x, w, b: ops.relu(ops.dense(x, w)) + b),
        ("wrong_activation", lambda x, w, b: ops.sigmoid(ops.dense(x, w, b)),
         "This layer uses ReLU, max(z, 0); the sigmoid is for the output unit."),
        ("transposed", lambda x, w, b: _dense_relu(x, w, b).T),
    ]
    return run_check("dense_forward", dense_forward, _dense_cases(), _dense_relu, mistakes,
                     on_error=_matmul_error)


def _dense_count_cases():
    for args in ((10, 64), (3, 5), (64, 1), (82944, 64), (784, 10)):
        yield Case(args, ("d", "u"))


def check_dense_param_count(dense_param_count):
    """Check ``dense_param_count(d, u)``: the parameters of a dense layer, D * U + U.

    The reference is Keras's count for ``Dense(u)`` on ``d`` inputs (the same formula).
    """
    mistakes = [
        ("missing_bias", lambda d, u: d * u),
        ("bias_per_input", lambda d, u: d * u + d),
    ]
    return run_check("dense_param_count", dense_param_count, _dense_count_cases(),
                     lambda d, u: d * u + u, mistakes, kind="number")


# ---------------------------------------------------------- lesson 05: the seed CNN
def _seed_layers(x, weights, *, pool=ops.max_pool2d, flip=False, relu=(True, True, True),
                 bias=True, output=ops.sigmoid, channels_first=False):
    """The seed CNN's forward pass with ``medlab.ops``, and its wrong variants."""
    w1, b1, w2, b2, w3, b3, w4, b4 = weights
    if not bias:
        b1, b2, b3, b4 = (None,) * 4
    if flip:
        w1, w2 = w1[::-1, ::-1], w2[::-1, ::-1]
    same = lambda z: z  # noqa: E731
    act = [ops.relu if r else same for r in relu]
    y = pool(act[0](ops.conv2d(x, w1, b1)), 2)
    y = pool(act[1](ops.conv2d(y, w2, b2)), 2)
    if channels_first:
        y = y.transpose(0, 3, 1, 2)
    y = act[2](ops.dense(ops.flatten(y), w3, b3))
    return output(ops.dense(y, w4, b4))


@functools.lru_cache(maxsize=None)
def _seed_model(input_shape, kernel_size):
    from medlab import models

    return models.seed_cnn(input_shape, kernel_size=kernel_size)


def _seed_reference(x, weights):
    """``medlab.models.numpy_forward`` on a ``seed_cnn`` holding ``weights``."""
    from medlab import models

    model = _seed_model(tuple(x.shape[1:]), int(weights[0].shape[0]))
    model.set_weights(weights)
    return models.numpy_forward(model, x)


def _seed_cases():
    rng = _rng("seed_forward")
    for n, shape, k in ((2, (16, 16, 1), 3), (1, (12, 14, 2), 3), (2, (22, 20, 3), 5)):
        model = _seed_model(shape, k)
        weights = []
        for variable in model.weights:
            fan_in = int(np.prod(variable.shape[:-1])) if len(variable.shape) > 1 else 1
            scale = 1.0 / np.sqrt(fan_in) if len(variable.shape) > 1 else 0.3
            weights.append((rng.standard_normal(tuple(variable.shape)) * scale).astype(np.float32))
        weights[-2] *= 4  # spread the probabilities away from 0.5
        x = rng.random((n, *shape), np.float32)
        yield Case((x, weights), ("x", "weights"), f"kernel {k}x{k}")


def _seed_error(error, case):
    if isinstance(error, ValueError) and "features" in str(error):  # from ops.dense
        return "flatten_size"
    return _matmul_error(error, case) and "flatten_size"


def _seed_shape(got, expected, case):
    got = np.asarray(got)
    return "output_shape" if got.size == expected.size and got.shape != expected.shape else None


def check_seed_forward(seed_forward):
    """Check ``seed_forward(x, weights)``: the seed CNN's prediction y = f(x; W).

    ``x`` is (N, H, W, C); ``weights`` is the list ``model.get_weights()`` of a
    ``medlab.models.seed_cnn``: [W1, b1, W2, b2, W3, b3, W4, b4] (conv1, conv2, dense1,
    output). The result is (N, 1) probabilities, as ``medlab.models.numpy_forward`` (and
    ``model.predict``) give.
    """
    mistakes = [
        ("missing_sigmoid", lambda x, w: _seed_layers(x, w, output=lambda z: z)),
        ("flipped_kernel", lambda x, w: _seed_layers(x, w, flip=True)),
        ("max_avg_mixed", lambda x, w: _seed_layers(x, w, pool=ops.avg_pool2d),
         "The seed CNN uses 2 x 2 max pooling."),
        ("channels_first", lambda x, w: _seed_layers(x, w, channels_first=True),
         "Flatten the (N, H, W, C) maps as they are, x.reshape(N, -1), as Keras's Flatten does."),
        ("missing_bias", lambda x, w: _seed_layers(x, w, bias=False)),
        ("missing_relu", lambda x, w: _seed_layers(x, w, relu=(False, False, False))),
        ("missing_relu", lambda x, w: _seed_layers(x, w, relu=(False, True, True))),
        ("missing_relu", lambda x, w: _seed_layers(x, w, relu=(True, False, True))),
        ("missing_relu", lambda x, w: _seed_layers(x, w, relu=(True, True, False))),
        ("wrong_activation", lambda x, w: _seed_layers(x, w, output=lambda z: ops.softmax(z)),
         "The output is one sigmoid unit: softmax over one number is always 1."),
    ]
    return run_check("seed_forward", seed_forward, _seed_cases(), _seed_reference, mistakes,
                     equal=functools.partial(arrays_equal, rtol=1e-4, atol=1e-4),
                     explain=_seed_shape, on_error=_seed_error)


def _seed_count(input_shape, kernel_size, *, conv=None, pool=lambda n: n // 2, bias=True,
                channels=True):
    h, w, c = input_shape
    k = kernel_size
    conv = conv or (lambda n: n - k + 1)
    c = c if channels else 1
    h, w = pool(conv(pool(conv(h)))), pool(conv(pool(conv(w))))
    b = 1 if bias else 0
    return (k * k * c * 32 + 32 * b) + (k * k * 32 * 64 + 64 * b) + (h * w * 64 * 64 + 64 * b) + (64 + b)


def _seed_count_reference(input_shape, kernel_size):
    return int(_seed_model(tuple(input_shape), kernel_size).count_params())


def _seed_count_cases():
    for args in (((150, 150, 3), 3), ((28, 28, 1), 3), ((64, 64, 1), 5), ((31, 40, 2), 3),
                 ((22, 22, 1), 7)):
        yield Case(args, ("input_shape", "kernel_size"))


def check_seed_param_count(seed_param_count):
    """Check ``seed_param_count(input_shape, kernel_size)``: all parameters of the seed CNN.

    ``input_shape`` is (H, W, C); the network is ``medlab.models.seed_cnn(input_shape,
    kernel_size)``, whose ``count_params()`` is the reference.
    """
    mistakes = [
        ("missing_bias", lambda s, k: _seed_count(s, k, bias=False)),
        ("valid_not_same", lambda s, k: _seed_count(s, k, conv=lambda n: n)),
        ("pooling_ignored", lambda s, k: _seed_count(s, k, pool=lambda n: n)),
        ("input_channels", lambda s, k: _seed_count(s, k, channels=False)),
        ("off_by_one", lambda s, k: _seed_count(s, k, conv=lambda n: n - k),
         "A 'valid' convolution turns n pixels into n - k + 1."),
        ("off_by_one", lambda s, k: _seed_count(s, k, pool=lambda n: (n + 1) // 2),
         "Pooling rounds down: n -> n // 2."),
    ]
    return run_check("seed_param_count", seed_param_count, _seed_count_cases(),
                     _seed_count_reference, mistakes, kind="number")


# ------------------------------------------------- lesson 06: evaluating a classifier
def _counts(y_true, y_pred):
    y, c = np.asarray(y_true).astype(bool), np.asarray(y_pred).astype(bool)
    tp, fn = int(np.sum(y & c)), int(np.sum(y & ~c))
    tn, fp = int(np.sum(~y & ~c)), int(np.sum(~y & c))
    return tp, fp, tn, fn


def _sens_spec(y_true, y_pred):
    from medlab import metrics

    m = metrics.binary_metrics(y_true, np.asarray(y_pred, np.float64), threshold=0.5)
    return np.array([m.sensitivity, m.specificity])


def _sens_spec_variant(kind):
    def variant(y_true, y_pred):
        tp, fp, tn, fn = _counts(y_true, y_pred)
        n = tp + fp + tn + fn
        return np.array({
            "swapped": (tn / (tn + fp), tp / (tp + fn)),
            "accuracy": ((tp + tn) / n, (tp + tn) / n),
            "all": (tp / n, tn / n),
            "predictive": (tp / (tp + fp), tn / (tn + fn)),
        }[kind])

    return variant


def _sens_spec_cases():
    rng = _rng("sensitivity_specificity")
    names = ("y_true", "y_pred")
    yield Case((np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0]), np.array([1, 1, 1, 0, 0, 0, 0, 0, 1, 1])),
               names, "TP 3, FN 1, TN 4, FP 2")
    yield Case((np.array([0, 1, 0, 1, 1, 0, 1, 1]), np.array([0, 1, 1, 1, 0, 0, 1, 1])), names)
    for n, prevalence in ((40, 0.7), (200, 0.2), (500, 0.5)):
        y = (rng.random(n) < prevalence).astype(np.int64)
        y[:2] = (0, 1)  # both classes
        right = rng.random(n) < np.where(y == 1, 0.85, 0.7)
        yield Case((y, np.where(right, y, 1 - y)), names, f"{n} images", show=False)


def check_sensitivity_specificity(sensitivity_specificity):
    """Check ``sensitivity_specificity(y_true, y_pred)``: (sensitivity, specificity).

    ``y_true`` and ``y_pred`` are (N,) arrays of 0/1 (1 = pneumonia, the positive class);
    the result is the pair (TP / (TP + FN), TN / (TN + FP)), as
    ``medlab.metrics.binary_metrics`` computes them.
    """
    mistakes = [
        ("sens_spec_swapped", _sens_spec_variant("swapped")),
        ("accuracy_not_rate", _sens_spec_variant("accuracy")),
        ("divided_by_all", _sens_spec_variant("all")),
        ("predictive_values", _sens_spec_variant("predictive")),
    ]
    return run_check("sensitivity_specificity", sensitivity_specificity, _sens_spec_cases(),
                     _sens_spec, mistakes)


def _close(got, expected, rel=1e-6, abs_=1e-9):
    return not isinstance(got, str) and math.isclose(got, expected, rel_tol=rel, abs_tol=abs_)


def _accuracy_at(sensitivity, specificity, prevalence):
    from medlab import metrics

    return metrics.at_prevalence(sensitivity, specificity, prevalence)["accuracy"]


def _prevalence_cases():
    names = ("sensitivity", "specificity", "prevalence")
    for args in ((0.9, 0.8, 0.5), (0.95, 0.9, 0.74), (0.95, 0.9, 0.05), (0.6, 0.99, 0.3),
                 (0.8, 0.7, 0.0), (0.8, 0.7, 1.0), (0.99, 0.5, 0.9)):
        yield Case(args, names)


def check_accuracy_at_prevalence(accuracy_at_prevalence):
    """Check ``accuracy_at_prevalence(sensitivity, specificity, prevalence)``.

    The accuracy of a test with the given sensitivity and specificity when a fraction
    ``prevalence`` (pi) of the patients is sick: sens * pi + spec * (1 - pi), a float; the
    reference is ``medlab.metrics.at_prevalence(...)["accuracy"]``.
    """
    mistakes = [
        ("prevalence_swapped", lambda se, sp, pi: se * (1 - pi) + sp * pi),
        ("prevalence_ignored", lambda se, sp, pi: (se + sp) / 2),
        ("prevalence_ignored", lambda se, sp, pi: se + sp),
    ]
    return run_check("accuracy_at_prevalence", accuracy_at_prevalence, _prevalence_cases(),
                     _accuracy_at, mistakes, kind="number", equal=_close)


# ---------------------------------------------------- lesson 07: image quality, anomalies
def _psnr(clean, noisy, data_range=1.0):
    from medlab import metrics

    return metrics.psnr(clean, noisy, data_range)


def _psnr_variant(make):
    def variant(clean, noisy, data_range=1.0):
        mse = float(np.mean((np.asarray(clean, np.float64) - np.asarray(noisy, np.float64)) ** 2))
        return float(make(float(data_range), mse))

    return variant


def _psnr_cases():
    rng = _rng("psnr")
    clean = np.array([[0.2, 0.4, 0.6], [0.3, 0.5, 0.7], [0.1, 0.9, 0.5]], np.float32)
    noisy = clean + np.array([[0.1, -0.1, 0.0], [0.05, 0.0, -0.05], [0.0, 0.1, 0.1]], np.float32)
    yield Case((clean, noisy), ("clean", "noisy"), "data_range left at its default, 1.0")
    names = ("clean", "noisy", "data_range")
    x = _small_ints(rng, (4, 4), 0, 256)
    yield Case((x, np.clip(x + _small_ints(rng, (4, 4), -9, 10), 0, 255), 255.0), names,
               "8-bit values")
    x = rng.random((32, 32), np.float32)
    yield Case((x, x + 0.05 * rng.standard_normal((32, 32), np.float32), 1.0), names, show=False)
    x = rng.random((24, 20), np.float32) * 4095
    yield Case((x, x + 40 * rng.standard_normal((24, 20), np.float32), 4095.0), names,
               "12-bit CT values", show=False)
    x = rng.random((16, 16), np.float32) * 2
    yield Case((x, x + 0.2 * rng.standard_normal((16, 16), np.float32), 2.0), names, show=False)


def check_psnr(psnr):
    """Check ``psnr(clean, noisy, data_range=1.0)``: 10 log10(data_range**2 / MSE), in dB.

    ``clean`` and ``noisy`` are one image (H, W) each; MSE is the mean of (clean - noisy)**2
    over the pixels. The reference is ``medlab.metrics.psnr`` (the same as
    ``skimage.metrics.peak_signal_noise_ratio``).
    """
    mistakes = [
        ("rmse_not_mse", _psnr_variant(lambda r, mse: 10 * np.log10(r ** 2 / np.sqrt(mse)))),
        ("rmse_not_mse", _psnr_variant(lambda r, mse: 20 * np.log10(r ** 2 / np.sqrt(mse)))),
        ("log_natural", _psnr_variant(lambda r, mse: 10 * np.log(r ** 2 / mse))),
        ("log_natural", _psnr_variant(lambda r, mse: 20 * np.log(r / np.sqrt(mse)))),
        ("range_not_squared", _psnr_variant(lambda r, mse: 10 * np.log10(r / mse))),
        ("range_not_squared", _psnr_variant(lambda r, mse: 10 * np.log10(1 / mse)),
         "You left data_range out."),
        ("db_factor", _psnr_variant(lambda r, mse: 20 * np.log10(r ** 2 / mse))),
        ("db_factor", _psnr_variant(lambda r, mse: 10 * np.log10(r / np.sqrt(mse)))),
    ]
    return run_check("psnr", psnr, _psnr_cases(), _psnr, mistakes, kind="number",
                     equal=functools.partial(_close, rel=1e-5, abs_=1e-4))


def _anomaly_scores(images, reconstructions):
    from medlab import metrics

    return metrics.reconstruction_error(images, reconstructions)


def _anomaly_cases():
    rng = _rng("anomaly_scores")
    names = ("images", "reconstructions")
    x = np.array([[[1, 0], [0, 1]], [[1, 1], [1, 1]], [[0, 0], [0, 0]]], np.float32)
    xhat = np.array([[[1, 0], [0, 0]], [[0.5, 0.5], [1, 1]], [[0, 0], [0, 0]]], np.float32)
    yield Case((x, xhat), names, "3 images of 2 x 2 pixels")
    x = rng.random((4, 6, 5), np.float32)
    yield Case((x, np.clip(x + 0.2 * rng.standard_normal(x.shape, np.float32), 0, 1)), names,
               show=False)
    x = rng.random((5, 8, 8, 1), np.float32)
    yield Case((x, np.clip(x + 0.1 * rng.standard_normal(x.shape, np.float32), 0, 1)), names,
               "(N, H, W, 1) images, as Keras stores them", show=False)
    x = rng.random((3, 6, 7, 3), np.float32)
    yield Case((x, rng.random(x.shape, np.float32)), names, "3 channels", show=False)


def _anomaly_variant(kind):
    def variant(x, xhat):
        d = np.asarray(x, np.float64) - np.asarray(xhat, np.float64)
        axes = tuple(range(1, d.ndim))
        return {
            "global": lambda: np.mean(d ** 2),
            "abs": lambda: np.mean(np.abs(d), axis=axes),
            "sum": lambda: np.sum(d ** 2, axis=axes),
            "rmse": lambda: np.sqrt(np.mean(d ** 2, axis=axes)),
            "axis0": lambda: np.mean(d ** 2, axis=0),
            "axis12": lambda: np.mean(d ** 2, axis=(1, 2)),
            "last": lambda: np.mean(d ** 2, axis=-1),
        }[kind]()

    return variant


def _anomaly_shape(got, expected, case):
    got = np.asarray(got)
    if got.ndim == 0 or got.size == 1 and expected.size != 1:
        return "global_mean"
    return "per_image_axes" if got.shape != expected.shape else None


def check_anomaly_scores(anomaly_scores):
    """Check ``anomaly_scores(images, reconstructions)``: each image's mean squared error.

    ``images`` and ``reconstructions`` are (N, H, W) or (N, H, W, C) arrays; the result is
    the (N,) array mean((x - x_hat)**2) over each image's pixels (and channels), the anomaly
    score of lesson 07. The reference is ``medlab.metrics.reconstruction_error``.
    """
    mistakes = [
        ("global_mean", _anomaly_variant("global")),
        ("abs_not_squared", _anomaly_variant("abs")),
        ("sum_not_mean_pixels", _anomaly_variant("sum")),
        ("rmse_not_mse", _anomaly_variant("rmse"), "The score is the MSE itself."),
        ("per_image_axes", _anomaly_variant("axis0"),
         "You averaged over the images (axis 0), one value per pixel."),
        ("per_image_axes", _anomaly_variant("axis12")),
        ("per_image_axes", _anomaly_variant("last")),
    ]
    return run_check("anomaly_scores", anomaly_scores, _anomaly_cases(), _anomaly_scores,
                     mistakes, explain=_anomaly_shape)


# the backpropagation lesson's checks live in their own module
from medlab.checks_backprop import (  # noqa: E402  (needs run_check and Case above)
    check_adam_update, check_conv_backward, check_dense_backward,
)

#: Every check, by exercise name.
CHECKS = {name[len("check_"):]: function for name, function in globals().items()
          if name.startswith("check_") and callable(function)}

__all__ = ["HINTS", "CHECKS", "Case", "run_check", "arrays_equal"] + [f"check_{n}" for n in CHECKS]
