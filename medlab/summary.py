"""What a model holds and costs, layer by layer: shapes, weights W, FLOPs; how fast it trains.

==========================================  ==================================================
``layer_table(model)``                      per layer: output shape, weights, parameters, FLOPs
``print_layer_table(model)``                that table as plain text (a ``model.summary()``)
``parameter_count(weight_shapes)``          scalars in tensors of those shapes
``flops(model)``                            FLOPs of one image's forward pass
``output_shapes_by_formula(shape, model)``  every layer's output shape from the size formula
``keras_output_shapes(model)``              the shapes Keras computes, to compare
``training_speed(model, ...)``              images per second of training, measured
``receptive_field(model)``                  how far one input voxel reaches in the output, measured
``gpus()``                                  the GPUs TensorFlow sees (empty list: CPU only)
==========================================  ==================================================

``model.summary()`` prints box-drawing characters and ANSI colour codes whose
layout depends on the terminal, so its text is not the same on every machine.
:func:`print_layer_table` prints the same facts as a plain fixed-width table:

>>> from medlab.models import seed_cnn
>>> print_layer_table(seed_cnn())
layer    kind          output shape          weights                            parameters
conv1    Conv2D        (None, 148, 148, 32)  kernel (3, 3, 3, 32), bias (32,)          896
pool1    MaxPooling2D  (None, 74, 74, 32)    -                                           0
conv2    Conv2D        (None, 72, 72, 64)    kernel (3, 3, 32, 64), bias (64,)      18,496
pool2    MaxPooling2D  (None, 36, 36, 64)    -                                           0
flatten  Flatten       (None, 82944)         -                                           0
dense1   Dense         (None, 64)            kernel (82944, 64), bias (64,)      5,308,480
output   Dense         (None, 1)             kernel (64, 1), bias (1,)                  65
total                                                                            5,327,937

A layer's parameter count is the number of entries of its weight tensors,
for a Conv2D ``k_h * k_w * C_in * F + F``, for a Conv3D ``k_d * k_h * k_w * C_in * F + F``
and for a Dense ``D * U + U``.

FLOPs are counted analytically, layer by layer, as 2 per multiply-add (one multiplication,
one addition) of the Conv2D, Conv3D and Dense layers (a Conv3D: ``2 k_d k_h k_w C_in F``
per output voxel); bias additions, batch normalisation,
activations and pooling cost one or a few operations per output value against a
convolution's ``2 k^2 c_in`` per value, and are left out (for a first convolution on grey
images, ``c_in = 1``, that is a few FLOPs against 18, so the count is a lower bound).
Other layer kinds (depthwise or separable convolutions, for example) count 0. A training
step costs about three forward passes (forward, gradient with respect to the inputs,
gradient with respect to the weights).

:func:`output_shapes_by_formula` derives every layer's output shape from the
input shape alone, with :func:`medlab.ops.output_size`
(``floor((n + 2p - k) / s) + 1`` per axis), so a lesson can check the formula
against the shapes Keras computes (:func:`keras_output_shapes`).

Only NumPy is imported here; :func:`training_speed` and :func:`gpus` import TensorFlow.
"""

from __future__ import annotations

import math
import operator
import time

import numpy as np

from medlab import ops, validate

__all__ = [
    "FORMULA_LAYERS",
    "flops",
    "gpus",
    "keras_output_shapes",
    "layer_table",
    "output_shapes_by_formula",
    "parameter_count",
    "print_layer_table",
    "receptive_field",
    "training_speed",
]


# ------------------------------------------------------------ parameter counts
def parameter_count(weight_shapes):
    """Number of scalars in tensors of the given shapes: sum of the products of their axes.

    Parameters
    ----------
    weight_shapes : iterable of tuples of ints
        For example ``[(3, 3, 3, 32), (32,)]`` for a Conv2D's kernel and bias.

    Returns
    -------
    int
        ``sum(prod(shape))``; 0 for no tensors. A shape ``()`` (a scalar) counts 1.

    >>> parameter_count([(3, 3, 3, 32), (32,)])
    896
    """
    total = 0
    for shape in weight_shapes:
        shape = tuple(shape)
        try:
            axes = [operator.index(axis) for axis in shape if not isinstance(axis, bool)]
        except TypeError:
            axes = []
        if len(axes) != len(shape) or min(axes, default=0) < 0:
            raise ValueError(f"weight shapes must hold ints >= 0, got {shape!r}")
        total += math.prod(axes)
    return total


def _shape(shape):
    """A Keras shape as a tuple of ints (None stays None)."""
    return tuple(None if s is None else int(s) for s in shape)


def _layer_output_shape(layer):
    try:
        return _shape(layer.output.shape)
    except (AttributeError, ValueError) as error:
        raise ValueError(
            f"layer {layer.name!r} has no output shape yet: build the model from "
            f"keras.Input(shape) first"
        ) from error


def _forward_flops(layer, kind, output_shape):
    """FLOPs of one image through ``layer``: Conv2D ``2 kh kw c_in c_out H_out W_out``, Conv3D
    ``2 kd kh kw c_in c_out D_out H_out W_out``, Dense ``2 n_in n_out`` times the positions it is
    applied at, else 0; None where the output's size is not known (an input of any size)."""
    if kind not in ("Conv2D", "Conv3D", "Dense"):
        return 0
    positions = output_shape[1:-1]
    if None in positions:
        return None
    multiply_adds = math.prod(_shape(layer.kernel.shape)) * math.prod(positions)
    return 2 * multiply_adds


def layer_table(model):
    """One row per layer: what it is, what it outputs, what part of W it holds, what it costs.

    Parameters
    ----------
    model : keras.Model
        A built model (for example a ``keras.Sequential`` that starts with
        ``keras.Input``).

    Returns
    -------
    list of dict
        In layer order, each with keys ``name`` (str), ``kind`` (the class name,
        e.g. ``"Conv2D"``), ``output_shape`` (tuple, batch axis ``None`` first),
        ``weight_names`` (list of str, e.g. ``["kernel", "bias"]``),
        ``weight_shapes`` (list of tuples), ``parameters`` (int, trainable and not, equal
        to ``layer.count_params()``) and ``flops`` (int, forward FLOPs of one image, see
        the module's docstring; None where the output's height or width is not known).
    """
    rows = []
    for layer in model.layers:
        weights = list(layer.weights)
        shapes = [_shape(w.shape) for w in weights]
        kind = type(layer).__name__
        output_shape = _layer_output_shape(layer)
        rows.append(
            {
                "name": layer.name,
                "kind": kind,
                "output_shape": output_shape,
                "weight_names": [w.name.rsplit("/", 1)[-1] for w in weights],
                "weight_shapes": shapes,
                "parameters": parameter_count(shapes),
                "flops": _forward_flops(layer, kind, output_shape),
            }
        )
    return rows


def flops(model):
    """Forward-pass FLOPs of one image: the sum of :func:`layer_table`'s ``flops``."""
    rows = layer_table(model)
    for row in rows:
        if row["flops"] is None:
            raise ValueError(f"layer {row['name']!r} has output shape {row['output_shape']}: "
                             "FLOPs need a model built for one input size")
    return sum(row["flops"] for row in rows)


def _format_layer_table(model):
    """The rows of :func:`layer_table` as plain fixed-width text, and a total line.

    Only ASCII, no colour codes, no terminal-width dependence: the same text on
    every machine. Parameter counts use thousands separators.

    Returns
    -------
    str
        Lines separated by ``"\\n"``, without a trailing newline.
    """
    rows = layer_table(model)
    header = ("layer", "kind", "output shape", "weights", "parameters")
    cells = [
        (
            row["name"],
            row["kind"],
            str(row["output_shape"]),
            ", ".join(f"{n} {s}" for n, s in zip(row["weight_names"], row["weight_shapes"])) or "-",
            f"{row['parameters']:,}",
        )
        for row in rows
    ]
    total = ("total", "", "", "", f"{sum(row['parameters'] for row in rows):,}")
    widths = [max(len(line[i]) for line in [header, *cells, total]) for i in range(len(header))]

    def line(values):
        left = "  ".join(v.ljust(w) for v, w in zip(values[:-1], widths[:-1]))
        return f"{left}  {values[-1].rjust(widths[-1])}".rstrip()

    return "\n".join(line(values) for values in [header, *cells, total])


def print_layer_table(model):
    """Print :func:`_format_layer_table`: a ``model.summary()`` that nbval can compare."""
    print(_format_layer_table(model))


# ------------------------------------------------------------ shapes by formula
def _pair(value, n=2):
    return tuple(int(v) for v in value) if isinstance(value, (tuple, list)) else (int(value),) * n


def _channels_last(layer):
    data_format = getattr(layer, "data_format", "channels_last")
    if data_format != "channels_last":
        raise ValueError(f"layer {layer.name!r}: only data_format='channels_last' is supported")


def _spatial(layer, shape, dims=2):
    if len(shape) != dims + 1:
        axes = "(height, width, channels)" if dims == 2 else "(depth, height, width, channels)"
        raise ValueError(f"layer {layer.name!r} ({type(layer).__name__}) needs a {axes} input, got {shape}")


def _conv_shape(layer, shape, dims):
    _channels_last(layer)
    _spatial(layer, shape, dims)
    if getattr(layer, "groups", 1) != 1:
        raise ValueError(f"layer {layer.name!r}: grouped convolutions are not supported")
    kernel = _pair(layer.kernel_size, dims)
    stride = _pair(layer.strides, dims)
    dilation = _pair(layer.dilation_rate, dims)
    # a dilated kernel spans d * (k - 1) + 1 pixels
    span = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    sizes = (ops.output_size(n, k, s, layer.padding) for n, k, s in zip(shape[:dims], span, stride))
    return (*sizes, int(layer.filters))


def _pool_shape(layer, shape, dims):
    _channels_last(layer)
    _spatial(layer, shape, dims)
    pool = _pair(layer.pool_size, dims)
    stride = _pair(layer.strides, dims)
    sizes = (ops.output_size(n, k, s, layer.padding) for n, k, s in zip(shape[:dims], pool, stride))
    return (*sizes, shape[dims])


def _conv2d_shape(layer, shape):
    return _conv_shape(layer, shape, 2)


def _pool2d_shape(layer, shape):
    return _pool_shape(layer, shape, 2)


def _conv3d_shape(layer, shape):
    return _conv_shape(layer, shape, 3)


def _pool3d_shape(layer, shape):
    return _pool_shape(layer, shape, 3)


def _flatten_shape(layer, shape):
    return (math.prod(shape),)


def _dense_shape(layer, shape):
    # Keras's Dense acts on the last axis only: (..., D) -> (..., U)
    return (*shape[:-1], int(layer.units))


def _same_shape(layer, shape):
    return tuple(shape)


FORMULA_LAYERS = {
    "Conv2D": _conv2d_shape,
    "MaxPooling2D": _pool2d_shape,
    "AveragePooling2D": _pool2d_shape,
    "Conv3D": _conv3d_shape,
    "MaxPooling3D": _pool3d_shape,
    "AveragePooling3D": _pool3d_shape,
    "Flatten": _flatten_shape,
    "Dense": _dense_shape,
    # layers that keep the shape
    "Activation": _same_shape,
    "ReLU": _same_shape,
    "Dropout": _same_shape,
    "BatchNormalization": _same_shape,
    "Rescaling": _same_shape,
}
"""Layer class name -> function (layer, input shape) -> output shape, batch axis left out."""


def output_shapes_by_formula(input_shape, model):
    """Every layer's output shape for one input, worked out with the size formula.

    Conv2D, Conv3D and pooling layers use :func:`medlab.ops.output_size` along
    (depth,) height and width (``floor((n + 2p - k) / s) + 1``, or ``ceil(n / s)`` for
    ``padding="same"``); Flatten multiplies the axes; Dense replaces the last
    axis by its number of units. Only the layers' settings are read, never
    Keras's own shapes, so the result can be checked against them.

    Parameters
    ----------
    input_shape : tuple of ints
        Shape of one input without the batch axis, e.g. ``(150, 150, 3)``.
    model : keras.Sequential or iterable of keras layers
        The layers, in order; they need not be built.

    Returns
    -------
    list of (str, tuple of ints)
        ``(layer name, output shape without the batch axis)`` per layer.

    Raises
    ------
    ValueError
        A layer kind not in :data:`FORMULA_LAYERS`, or an input too small for a
        kernel or pooling window (the message names the layer).
    """
    shape = tuple(input_shape)
    if not shape or any(
        isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in shape
    ):
        raise ValueError(f"input_shape must be a tuple of positive ints, got {input_shape!r}")
    layers = model.layers if hasattr(model, "layers") else list(model)
    shapes = []
    for layer in layers:
        kind = type(layer).__name__
        if kind not in FORMULA_LAYERS:
            raise ValueError(
                f"layer {layer.name!r} ({kind}) has no shape formula here; supported layers: "
                f"{', '.join(sorted(FORMULA_LAYERS))}"
            )
        try:
            shape = tuple(int(s) for s in FORMULA_LAYERS[kind](layer, shape))
        except ValueError as error:
            message = str(error)
            if not message.startswith(f"layer {layer.name!r}"):
                message = f"layer {layer.name!r} ({kind}) with input {shape}: {message}"
            raise ValueError(message) from error
        shapes.append((layer.name, shape))
    return shapes


def keras_output_shapes(model):
    """Keras's own output shape for every layer, batch axis left out.

    Returns
    -------
    list of (str, tuple of ints)
        In the format of :func:`output_shapes_by_formula`, for comparing the two.
    """
    return [(layer.name, _layer_output_shape(layer)[1:]) for layer in model.layers]


# ------------------------------------------------------------ measured speed
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
    x = rng.random((batch_size,) + _shape(model.layers[0].input.shape)[1:], dtype=np.float32)
    y = (rng.random((batch_size, 1)) < 0.5).astype(np.float32)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
    for _ in range(warmup):
        model.train_on_batch(x, y)
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return batch_size * steps / (time.perf_counter() - start)


def receptive_field(model, seed=0):
    """Measured extent (per spatial axis) of the outputs that one input pixel or voxel changes.

    For a model whose output has its input's spatial size (a U-Net, "same" convolutions):
    adds 10 to channel 0 of the centre pixel of a random input (N = 1, the model's own
    spatial size, which must be fixed) and measures, along each axis, the span of outputs
    that change by more than 1e-6. Without ReLUs or max pooling cutting paths, that span is
    the receptive field's side (the input region one output depends on has the same extent);
    with them it is a lower bound, as it is where the span reaches the input's faces (build
    the fully convolutional model larger).

    >>> from medlab._tensorflow import keras
    >>> two_convs = keras.Sequential([keras.Input((32, 32, 1)), keras.layers.Conv2D(2, 3, padding="same"),
    ...                               keras.layers.Conv2D(1, 3, padding="same")])
    >>> receptive_field(two_convs)
    (5, 5)
    """
    shape = tuple(model.input_shape[1:-1])
    if not shape or any(s is None for s in shape):
        raise validate.ArgumentError(f"model input shape {model.input_shape}: expected a fixed spatial size")
    if tuple(model.output_shape[1:-1]) != shape:
        raise validate.ArgumentError(f"model output shape {model.output_shape}: expected the input's spatial size "
                                     f"{shape} (a map per pixel, as a U-Net gives)")
    x = np.random.default_rng(seed).random((1, *shape, model.input_shape[-1])).astype(np.float32)
    bumped = x.copy()
    bumped[(0, *(s // 2 for s in shape), 0)] += 10.0
    changed = np.any(np.abs(np.asarray(model(bumped, training=False)) - np.asarray(model(x, training=False))) > 1e-6,
                     axis=(0, -1))
    extents = []
    for axis in range(len(shape)):
        hit = np.flatnonzero(np.any(changed, axis=tuple(a for a in range(len(shape)) if a != axis)))
        extents.append(int(hit[-1] - hit[0] + 1) if hit.size else 0)
    return tuple(extents)


def gpus():
    """Names of the GPUs TensorFlow can use; an empty list means it trains on the CPU."""
    from medlab._tensorflow import tf

    return [device.name for device in tf.config.list_physical_devices("GPU")]
