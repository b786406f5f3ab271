"""Lesson 05, the seed CNN as a formula: ``seed_forward``, ``seed_param_count``.

Each hint is defined here, beside the mistakes (wrong variants) it explains.
"""

from __future__ import annotations

import functools

import numpy as np

from medlab import ops
from medlab.checks.framework import Case, Hint, arrays_equal, case_rng, run_check
from medlab.checks.convolution import CHANNELS_FIRST, FLIPPED_KERNEL, OFF_BY_ONE
from medlab.checks.dense import MISSING_BIAS, MISSING_RELU, WRONG_ACTIVATION, matmul_error
from medlab.checks.pooling import MAX_AVG_MIXED

FLATTEN_SIZE = Hint("flatten_size", (
    "the flattened length must equal weights[4].shape[0]; check the feature maps' shape "
    "before flattening: a missing pooling, or padding, changes it."))
INPUT_CHANNELS = Hint("input_channels", (
    "conv1's kernels span all C channels of the input: k * k * C * 32 weights plus 32 biases."))
MISSING_SIGMOID = Hint("missing_sigmoid", (
    "the output unit's sigmoid is missing: y = 1 / (1 + exp(-z)) turns the last dense "
    "layer's z into a probability in (0, 1)."))
OUTPUT_SHAPE = Hint("output_shape", "return shape (N, 1): one probability per image, in a column, as model.predict does.")
POOLING_IGNORED = Hint("pooling_ignored", "each 2 x 2 max pooling halves height and width, rounding down: n -> n // 2.")
VALID_NOT_SAME = Hint("valid_not_same", (
    "the convolutions use padding 'valid': each one shrinks the maps from n to n - k + 1 "
    "pixels; it does not keep the size (the article's mistake)."))


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
    """``medlab.forward.numpy_forward`` on a ``seed_cnn`` holding ``weights``."""
    from medlab.forward import numpy_forward

    model = _seed_model(tuple(x.shape[1:]), int(weights[0].shape[0]))
    model.set_weights(weights)
    return numpy_forward(model, x)


def _seed_cases():
    rng = case_rng("seed_forward")
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
        return FLATTEN_SIZE
    return matmul_error(error, case) and FLATTEN_SIZE


def _seed_shape(got, expected, case):
    got = np.asarray(got)
    return OUTPUT_SHAPE if got.size == expected.size and got.shape != expected.shape else None


def check_seed_forward(seed_forward):
    """Check ``seed_forward(x, weights)``: the seed CNN's prediction y = f(x; W).

    ``x`` is (N, H, W, C); ``weights`` is the list ``model.get_weights()`` of a
    ``medlab.models.seed_cnn``: [W1, b1, W2, b2, W3, b3, W4, b4] (conv1, conv2, dense1,
    output). The result is (N, 1) probabilities, as ``medlab.forward.numpy_forward`` (and
    ``model.predict``) give.
    """
    mistakes = [
        (MISSING_SIGMOID, lambda x, w: _seed_layers(x, w, output=lambda z: z)),
        (FLIPPED_KERNEL, lambda x, w: _seed_layers(x, w, flip=True)),
        (MAX_AVG_MIXED, lambda x, w: _seed_layers(x, w, pool=ops.avg_pool2d),
         "The seed CNN uses 2 x 2 max pooling."),
        (CHANNELS_FIRST, lambda x, w: _seed_layers(x, w, channels_first=True),
         "Flatten the (N, H, W, C) maps as they are, x.reshape(N, -1), as Keras's Flatten does."),
        (MISSING_BIAS, lambda x, w: _seed_layers(x, w, bias=False)),
        (MISSING_RELU, lambda x, w: _seed_layers(x, w, relu=(False, False, False))),
        (MISSING_RELU, lambda x, w: _seed_layers(x, w, relu=(False, True, True))),
        (MISSING_RELU, lambda x, w: _seed_layers(x, w, relu=(True, False, True))),
        (MISSING_RELU, lambda x, w: _seed_layers(x, w, relu=(True, True, False))),
        (WRONG_ACTIVATION, lambda x, w: _seed_layers(x, w, output=lambda z: ops.softmax(z)),
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
        (MISSING_BIAS, lambda s, k: _seed_count(s, k, bias=False)),
        (VALID_NOT_SAME, lambda s, k: _seed_count(s, k, conv=lambda n: n)),
        (POOLING_IGNORED, lambda s, k: _seed_count(s, k, pool=lambda n: n)),
        (INPUT_CHANNELS, lambda s, k: _seed_count(s, k, channels=False)),
        (OFF_BY_ONE, lambda s, k: _seed_count(s, k, conv=lambda n: n - k),
         "A 'valid' convolution turns n pixels into n - k + 1."),
        (OFF_BY_ONE, lambda s, k: _seed_count(s, k, pool=lambda n: (n + 1) // 2),
         "Pooling rounds down: n -> n // 2."),
    ]
    return run_check("seed_param_count", seed_param_count, _seed_count_cases(),
                     _seed_count_reference, mistakes, kind="number")
