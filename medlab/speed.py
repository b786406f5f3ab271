"""Why one network trains faster than another: weights, FLOPs per layer, images per second.

=====================================  ===================================================
``layer_costs(model)``                 per layer: output shape, weights, FLOPs per image
``flops(model)``                       FLOPs of one image's forward pass
``training_speed(model, ...)``         images per second of training, measured
``gpus()``                             the GPUs TensorFlow sees (empty list: CPU only)
=====================================  ===================================================

FLOPs are counted analytically, layer by layer, as 2 per multiply-add (one multiplication,
one addition) of the Conv2D and Dense layers; bias additions, batch normalisation,
activations and pooling cost one or a few operations per output value against a
convolution's ``2 k^2 c_in`` per value, and are left out (for a first convolution on grey
images, ``c_in = 1``, that is a few FLOPs against 18, so the count is a lower bound).
Other layer kinds (depthwise or separable convolutions, for example) count 0. A training step costs about three
forward passes (forward, gradient with respect to the inputs, gradient with respect to the
weights).
"""

from __future__ import annotations

import time

import numpy as np

from medlab import validate


def _shape(tensor_shape):
    return tuple(int(d) for d in tensor_shape[1:])


def layer_costs(model):
    """Weights and forward FLOPs of one image, per layer, of a built Keras model.

    Parameters
    ----------
    model : keras.Model
        Built (e.g. a Sequential that starts with ``keras.Input``).

    Returns
    -------
    list of dict
        ``name``, ``kind`` (class name), ``output`` (shape of one image's output),
        ``parameters`` (trainable and not) and ``flops``: Conv2D ``2 kh kw c_in c_out H_out
        W_out``, Dense ``2 n_in n_out`` (times the positions it is applied at), else 0.
    """
    rows = []
    for layer in model.layers:
        kind = type(layer).__name__
        out = _shape(layer.output.shape)
        cost = 0
        if kind == "Conv2D":
            kh, kw, c_in, c_out = (int(d) for d in layer.kernel.shape)
            cost = 2 * kh * kw * c_in * c_out * out[0] * out[1]
        elif kind == "Dense":
            n_in, n_out = (int(d) for d in layer.kernel.shape)
            cost = 2 * n_in * n_out * int(np.prod(out[:-1], dtype=np.int64))
        rows.append({"name": layer.name, "kind": kind, "output": out,
                     "parameters": int(sum(np.prod(w.shape) for w in layer.weights)), "flops": int(cost)})
    return rows


def flops(model):
    """Forward-pass FLOPs of one image (sum of :func:`layer_costs`)."""
    return int(sum(row["flops"] for row in layer_costs(model)))


def training_speed(model, batch_size=32, steps=5, warmup=2, seed=0):
    """Images per second that ``model`` trains at on random images (Adam, cross-entropy).

    Parameters
    ----------
    model : keras.Model
        Built and uncompiled, one sigmoid output; it is compiled here (its weights change).
    batch_size : int >= 1
    steps : int >= 1
        Timed training steps, after ``warmup`` untimed ones (tracing, memory).
    warmup : int >= 1
    seed : int

    Returns
    -------
    float
        ``batch_size * steps / seconds`` (wall clock: depends on the machine and its load).
    """
    from medlab._tensorflow import keras

    batch_size = validate.integer("batch_size", batch_size, low=1)
    steps = validate.integer("steps", steps, low=1)
    warmup = validate.integer("warmup", warmup, low=1)
    rng = np.random.default_rng(seed)
    x = rng.random((batch_size,) + _shape(model.layers[0].input.shape), dtype=np.float32)
    y = (rng.random((batch_size, 1)) < 0.5).astype(np.float32)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
    for _ in range(warmup):
        model.train_on_batch(x, y)
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return batch_size * steps / (time.perf_counter() - start)


def gpus():
    """Names of the GPUs TensorFlow can use; an empty list means it trains on the CPU."""
    from medlab._tensorflow import tf

    return [device.name for device in tf.config.list_physical_devices("GPU")]


__all__ = ["flops", "gpus", "layer_costs", "training_speed"]
