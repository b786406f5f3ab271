"""A Keras Sequential model's forward pass in NumPy: y = f(x; W) written out in code.

:func:`numpy_forward` evaluates a model with ``medlab.ops`` and the model's own weights,
layer by layer; :func:`numpy_layer_outputs` keeps every layer's output. Beside
``medlab.backprop`` (the backward pass) and ``medlab.numpy_training`` (training in NumPy).

The model is only read: its layers' class names, settings and weights. Nothing here imports
TensorFlow or Keras, so a NumPy exercise that is handed a model needs no more than NumPy.
"""

from __future__ import annotations

import numpy as np

from medlab import ops

__all__ = ["AUGMENTATION_LAYERS", "SUPPORTED_LAYERS", "numpy_forward", "numpy_layer_outputs"]

#: Augmentation layers: random at training time, the identity at inference (``training=False``,
#: as in ``predict``), so :func:`numpy_forward` passes images through them unchanged.
AUGMENTATION_LAYERS = ("RandomTranslation", "RandomRotation", "RandomZoom", "RandomContrast",
                       "RandomFlip", "RandomBrightness")


def _activation_name(layer):
    fn = getattr(layer, "activation", None)
    name = getattr(fn, "__name__", "linear")
    if name not in ops.ACTIVATIONS:
        raise ValueError(
            f"layer {layer.name!r} uses activation {name!r}; numpy_forward supports "
            f"{sorted(ops.ACTIVATIONS)}"
        )
    return name


def _channels_last(layer, data_format):
    if data_format != "channels_last":
        raise ValueError(f"layer {layer.name!r}: only data_format='channels_last' is supported")


def _conv2d_layer(layer, x):
    config = layer.get_config()
    _channels_last(layer, config.get("data_format", "channels_last"))
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
        _channels_last(layer, layer.data_format)
        return function(x, tuple(layer.pool_size), tuple(layer.strides), layer.padding)

    return apply


def _global_average_pool_layer(layer, x):
    _channels_last(layer, layer.data_format)
    if getattr(layer, "keepdims", False):
        raise ValueError(f"layer {layer.name!r}: keepdims=True is not supported")
    return np.mean(x, axis=(1, 2), dtype=np.float32).astype(np.float32)


def _batch_norm_layer(layer, x):
    """Inference-time batch normalisation: gamma * (x - mean) / sqrt(var + eps) + beta."""
    if layer.axis not in (-1, x.ndim - 1, [-1], [x.ndim - 1]):
        raise ValueError(f"layer {layer.name!r}: only normalisation over the last axis is supported")
    mean = np.asarray(layer.moving_mean, dtype=np.float32)
    var = np.asarray(layer.moving_variance, dtype=np.float32)
    gamma = np.asarray(layer.gamma, dtype=np.float32) if layer.scale else np.float32(1)
    beta = np.asarray(layer.beta, dtype=np.float32) if layer.center else np.float32(0)
    return (gamma * (x - mean) / np.sqrt(var + np.float32(layer.epsilon)) + beta).astype(np.float32)


def _identity(layer, x):
    return x


_NUMPY_LAYERS = {
    "Conv2D": _conv2d_layer,
    "Dense": _dense_layer,
    "MaxPooling2D": _pool_layer(ops.max_pool2d),
    "AveragePooling2D": _pool_layer(ops.avg_pool2d),
    "GlobalAveragePooling2D": _global_average_pool_layer,
    "Flatten": lambda layer, x: ops.flatten(x),
    "Activation": lambda layer, x: ops.ACTIVATIONS[_activation_name(layer)](x),
    "ReLU": lambda layer, x: ops.relu(x),
    "Dropout": _identity,  # identity at inference
    "BatchNormalization": _batch_norm_layer,
    **{name: _identity for name in AUGMENTATION_LAYERS},
}

#: Layer class names :func:`numpy_forward` evaluates.
SUPPORTED_LAYERS = tuple(sorted(_NUMPY_LAYERS))


def _is_sequential(model):
    """True for a ``keras.Sequential`` (or a subclass), told by class name: Keras is not imported."""
    return any(cls.__name__ == "Sequential" for cls in type(model).__mro__)


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
    if not _is_sequential(model):
        raise ValueError(f"model must be a keras.Sequential, got {type(model).__name__}")
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
