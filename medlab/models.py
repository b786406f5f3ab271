"""Keras models the course builds, and the same forward pass in NumPy.

``seed_cnn`` is the network of the article the kit grew from;
``numpy_forward`` evaluates a Sequential model with ``medlab.ops`` and the
model's own weights: y = f(x; W) written out in code.
"""

from __future__ import annotations

import numpy as np

from medlab import ops
from medlab._tensorflow import keras


def seed_cnn(input_shape=(150, 150, 3), kernel_size=3, name="seed_cnn"):
    """The article's CNN, built from ``keras.Input``.

    Conv2D 32 (kernel_size, relu) -> MaxPooling 2 -> Conv2D 64 (kernel_size, relu)
    -> MaxPooling 2 -> Flatten -> Dense 64 relu -> Dense 1 sigmoid.

    Parameters
    ----------
    input_shape : tuple of 3 ints
        (height, width, channels) of one image, channels last.
    kernel_size : int
        Side of the square convolution kernels (the article uses 3).

    Returns
    -------
    keras.Sequential
        Uncompiled model mapping (N, H, W, C) images to (N, 1) probabilities.
    """
    input_shape = tuple(int(s) for s in input_shape)
    if len(input_shape) != 3 or min(input_shape) < 1:
        raise ValueError(
            f"input_shape must be (height, width, channels) of positive ints, got {input_shape}"
        )
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            keras.layers.Conv2D(32, kernel_size, activation="relu", name="conv1"),
            keras.layers.MaxPooling2D(2, name="pool1"),
            keras.layers.Conv2D(64, kernel_size, activation="relu", name="conv2"),
            keras.layers.MaxPooling2D(2, name="pool2"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(64, activation="relu", name="dense1"),
            keras.layers.Dense(1, activation="sigmoid", name="output"),
        ],
        name=name,
    )


# ------------------------------------------------------------- NumPy forward
def _activation_name(layer):
    fn = getattr(layer, "activation", None)
    name = getattr(fn, "__name__", "linear")
    if name not in ops.ACTIVATIONS:
        raise ValueError(
            f"layer {layer.name!r} uses activation {name!r}; numpy_forward supports "
            f"{sorted(ops.ACTIVATIONS)}"
        )
    return name


def _conv2d_layer(layer, x):
    config = layer.get_config()
    if config.get("data_format", "channels_last") != "channels_last":
        raise ValueError(f"layer {layer.name!r}: only data_format='channels_last' is supported")
    if tuple(config.get("dilation_rate", (1, 1))) != (1, 1) or config.get("groups", 1) != 1:
        raise ValueError(f"layer {layer.name!r}: dilation and groups are not supported")
    weights = layer.get_weights()
    bias = weights[1] if layer.use_bias else None
    y = ops.conv2d(x, weights[0], bias, stride=tuple(layer.strides), padding=layer.padding)
    return ops.ACTIVATIONS[_activation_name(layer)](y)


def _dense_layer(layer, x):
    weights = layer.get_weights()
    bias = weights[1] if layer.use_bias else None
    return ops.ACTIVATIONS[_activation_name(layer)](ops.dense(x, weights[0], bias))


def _pool_layer(function):
    def apply(layer, x):
        if layer.data_format != "channels_last":
            raise ValueError(f"layer {layer.name!r}: only data_format='channels_last' is supported")
        return function(x, tuple(layer.pool_size), tuple(layer.strides), layer.padding)

    return apply


def _batch_norm_layer(layer, x):
    """Inference-time batch normalisation: gamma * (x - mean) / sqrt(var + eps) + beta."""
    if layer.axis not in (-1, x.ndim - 1, [-1], [x.ndim - 1]):
        raise ValueError(f"layer {layer.name!r}: only normalisation over the last axis is supported")
    mean = np.asarray(layer.moving_mean, dtype=np.float32)
    var = np.asarray(layer.moving_variance, dtype=np.float32)
    gamma = np.asarray(layer.gamma, dtype=np.float32) if layer.scale else np.float32(1)
    beta = np.asarray(layer.beta, dtype=np.float32) if layer.center else np.float32(0)
    return (gamma * (x - mean) / np.sqrt(var + np.float32(layer.epsilon)) + beta).astype(np.float32)


_NUMPY_LAYERS = {
    "Conv2D": _conv2d_layer,
    "Dense": _dense_layer,
    "MaxPooling2D": _pool_layer(ops.max_pool2d),
    "AveragePooling2D": _pool_layer(ops.avg_pool2d),
    "Flatten": lambda layer, x: ops.flatten(x),
    "Activation": lambda layer, x: ops.ACTIVATIONS[_activation_name(layer)](x),
    "ReLU": lambda layer, x: ops.relu(x),
    "Dropout": lambda layer, x: x,  # identity at inference
    "BatchNormalization": _batch_norm_layer,
}


def numpy_layer_outputs(model, x):
    """Run a Sequential model layer by layer with ``medlab.ops`` and its own weights.

    Parameters
    ----------
    model : keras.Sequential
        Built from the layers in ``SUPPORTED_LAYERS``.
    x : array (N, H, W, C) or whatever the model's input shape is

    Returns
    -------
    list of (layer_name, float32 array)
        The output of every layer, in order.
    """
    if not isinstance(model, keras.Sequential):
        raise ValueError(
            f"model must be a keras.Sequential, got {type(model).__name__}"
        )
    outputs = []
    y = np.asarray(x, dtype=np.float32)
    expected = tuple(model.input_shape[1:])
    if y.shape[1:] != expected:
        raise ValueError(f"x must have shape (N, {', '.join(map(str, expected))}), got {y.shape}")
    for layer in model.layers:
        kind = type(layer).__name__
        if kind not in _NUMPY_LAYERS:
            raise ValueError(
                f"layer {layer.name!r} ({kind}) is not supported by numpy_forward; "
                f"supported layers: {', '.join(SUPPORTED_LAYERS)}"
            )
        y = _NUMPY_LAYERS[kind](layer, y)
        outputs.append((layer.name, y))
    return outputs


def numpy_forward(model, x):
    """y = f(x; W): the model's prediction computed in NumPy with its own weights.

    Parameters
    ----------
    model : keras.Sequential
    x : array (N, H, W, C)

    Returns
    -------
    float32 array, the same as ``model.predict(x)`` to about 1e-5.
    """
    return numpy_layer_outputs(model, x)[-1][1]


SUPPORTED_LAYERS = tuple(sorted(_NUMPY_LAYERS))
