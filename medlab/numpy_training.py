"""Training a Keras Sequential classifier in pure NumPy: forward, backward, update.

The model only describes the layers (kinds, activations, strides); the weights are a list
of float32 NumPy arrays in the order of ``model.trainable_weights`` (kernel, bias per
layer), so a NumPy run and a Keras run can start from the same W::

    weights = initial_weights(model)
    opt = medlab.optimizers.SGD(0.05, momentum=0.9)
    for x, y in batches:
        loss, grads = loss_and_gradients(model, weights, x, y)
        opt.apply(weights, grads)

The network's last layer must be a one-unit Dense with a sigmoid; the loss is the mean
binary cross-entropy, as ``model.compile(loss="binary_crossentropy")``.

The loss is a mean over the images, so its gradient is the sum of the gradients of any split
of the batch: the layers that work on images take large images a few at a time, in threads
(each image's activations stay in the CPU's caches from one layer to the next), and the dense
layers the whole batch.
"""

from __future__ import annotations

import numpy as np

from medlab import backprop, ops, validate
from medlab.metrics import binary_cross_entropy

#: Layer kinds this module can train.
TRAINABLE_LAYERS = ("AveragePooling2D", "Conv2D", "Dense", "Flatten", "MaxPooling2D")
_ACTIVATIONS = ("linear", "relu", "sigmoid")
_IMAGE_LAYERS = ("AveragePooling2D", "Conv2D", "MaxPooling2D")
# The layers that work on images take the batch in chunks of about this many input pixels
# (one 150 x 150 image; 32 images of 28 x 28 in two halves, one per core)
_CHUNK_PIXELS = 2**14


def _activation(layer):
    name = getattr(getattr(layer, "activation", None), "__name__", "linear")
    if name not in _ACTIVATIONS:
        raise ValueError(f"layer {layer.name!r}: activation {name!r} is not supported; "
                         f"expected one of {_ACTIVATIONS}")
    return name


def _layers(model):
    layers = list(getattr(model, "layers", []))
    if not layers:
        raise ValueError("model must be a built keras.Sequential with at least one layer")
    for layer in layers:
        kind = type(layer).__name__
        if kind not in TRAINABLE_LAYERS:
            raise ValueError(f"layer {layer.name!r} ({kind}) is not supported; "
                             f"supported layers: {', '.join(TRAINABLE_LAYERS)}")
        if kind == "Conv2D" and (tuple(layer.dilation_rate) != (1, 1) or layer.groups != 1):
            raise ValueError(f"layer {layer.name!r}: dilation and groups are not supported")
        if getattr(layer, "data_format", "channels_last") != "channels_last":
            raise ValueError(f"layer {layer.name!r}: only data_format='channels_last' is supported")
        _activation(layer)
    last = layers[-1]
    if type(last).__name__ != "Dense" or last.units != 1 or _activation(last) != "sigmoid":
        raise ValueError("the model's last layer must be Dense(1, activation='sigmoid') "
                         "(binary cross-entropy on its logit)")
    return layers


def initial_weights(model):
    """Copies of the model's trainable weights as float32 arrays (kernel, bias per layer)."""
    return [np.array(v.numpy(), dtype=np.float32) for v in model.trainable_weights]


def _split(layers, weights):
    """Each layer's (kernel, bias) from the flat weight list (None for layers without)."""
    needed = sum(len(layer.trainable_weights) for layer in layers)
    if len(weights) != needed:
        raise ValueError(f"weights must hold {needed} arrays (the model's trainable weights), "
                         f"got {len(weights)}")
    out, i = [], 0
    for layer in layers:
        if type(layer).__name__ in ("Conv2D", "Dense"):
            count = 2 if layer.use_bias else 1
            params = weights[i:i + count]
            out.append((params[0], params[1] if layer.use_bias else None))
            i += count
        else:
            out.append(None)
    return out


def loss_and_gradients(model, weights, x, y):
    """Mean binary cross-entropy of the network on a batch and its gradient for every weight.

    Parameters
    ----------
    model : keras.Sequential
        Describes the layers (see :data:`TRAINABLE_LAYERS`); its own weights are not used.
    weights : list of float32 arrays
        In the order of ``model.trainable_weights``.
    x : array (N, H, W, C)
    y : array (N,) or (N, 1) of 0/1 labels

    Returns
    -------
    loss : float
    grads : list of float32 arrays, the shapes of ``weights``
    """
    layers = _layers(model)
    params = _split(layers, weights)
    # NumPy's BLAS on one thread: at these sizes its threads cost more than they give (on a busy
    # machine 10-100x more); large images go through the network a few at a time, in threads
    # (see _loss_and_gradients), and the convolutions split a large batch over the cores themselves
    with ops._single_threaded_blas():
        return _loss_and_gradients(layers, params, x, y)


def _relu_then_max_pool(layers, index):
    """Whether layer ``index`` has a ReLU and the next layer is a max pool."""
    return (index + 1 < len(layers) and _activation(layers[index]) == "relu"
            and type(layers[index + 1]).__name__ == "MaxPooling2D")


def _image_chunks(layers, x):
    """Slices of the batch for the layers that work on images: about ``_CHUNK_PIXELS`` input pixels each."""
    if x.ndim != 4 or type(layers[0]).__name__ not in _IMAGE_LAYERS:
        return [slice(0, x.shape[0])]
    step = max(1, _CHUNK_PIXELS // max(x.shape[1] * x.shape[2], 1))
    if step >= x.shape[0]:
        return [slice(0, x.shape[0])]
    chunks = -(-x.shape[0] // step)
    bounds = np.linspace(0, x.shape[0], chunks + 1).astype(int)
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


def _loss_and_gradients(layers, params, x, y):
    x = np.asarray(x, dtype=np.float32)
    # the layers that work on images run chunk by chunk, in threads: a few images' activations
    # stay in the CPU's caches from one layer to the next; the dense layers take the whole batch
    split = next((i for i, layer in enumerate(layers) if type(layer).__name__ not in _IMAGE_LAYERS),
                 len(layers))
    chunks = _image_chunks(layers, x)
    image_part = range(split)
    # the convolutions' outputs, kept for the backward pass, go into one array per layer for the
    # whole batch: NumPy asks the OS to back a large array with 2 MB pages, and filling fresh
    # memory 4 kB page by page (each chunk's own arrays) costs about as much as a convolution
    outputs = _conv_outputs(layers[:split], x.shape)
    forward = ops._run_parts(
        lambda part: _forward(layers, params, x[part], image_part, {i: o[part] for i, o in outputs.items()}),
        chunks)
    a = forward[0][0] if len(forward) == 1 else np.concatenate([out for out, _ in forward])
    a, dense_tape = _forward(layers, params, a, range(split, len(layers)))
    z = dense_tape[-1][1]  # the last layer's logit
    labels = np.asarray(y, dtype=np.float32).reshape(z.shape)
    loss = binary_cross_entropy(labels, z, from_logits=True)
    dz = backprop.sigmoid_cross_entropy_backward(z, labels)
    dz, grads = _backward(layers, params, dense_tape, range(split, len(layers)), dz)

    def image_backward(index):
        return _backward(layers, params, forward[index][1], image_part, dz[chunks[index]])[1]

    chunk_grads = ops._run_parts(image_backward, range(len(chunks)))
    if len(chunk_grads) > 1:  # the mean loss's gradient: the sum of the chunks' gradients
        chunk_grads = [[np.sum(g, axis=0, dtype=np.float32) for g in zip(*chunk_grads)]]
    return loss, chunk_grads[0] + grads


def _conv_outputs(layers, shape):
    """Empty float32 arrays for the outputs of the Conv2D layers among ``layers`` (the layers
    that work on images) on a batch of ``shape`` (N, H, W, C): {layer index: array}."""
    outputs = {}
    if not layers or len(shape) != 4:
        return outputs
    n, h, w, c = shape
    for index, layer in enumerate(layers):
        kind = type(layer).__name__
        window = layer.kernel_size if kind == "Conv2D" else layer.pool_size
        h, w = (ops.output_size(size, k, s, layer.padding)
                for size, k, s in zip((h, w), window, layer.strides))
        if kind == "Conv2D":
            c = layer.filters
            outputs[index] = np.empty((n, h, w, c), dtype=np.float32)
    return outputs


def _forward(layers, params, a, indices, outputs=None):
    """Layers ``indices`` on ``a``: the output and the (input, pre-activation) of each layer.

    ``outputs`` may give, by layer index, the arrays to write the convolutions' outputs into.
    """
    tape = []
    for index in indices:
        layer, p = layers[index], params[index]
        kind = type(layer).__name__
        if kind == "Conv2D":
            z = ops.conv2d(a, p[0], p[1], tuple(layer.strides), layer.padding,
                           out=(outputs or {}).get(index))
        elif kind == "Dense":
            z = ops.dense(a, p[0], p[1])
        elif kind == "Flatten":
            z = ops.flatten(a)
        elif kind == "MaxPooling2D":
            z = ops.max_pool2d(a, tuple(layer.pool_size), tuple(layer.strides), layer.padding)
        else:
            z = ops.avg_pool2d(a, tuple(layer.pool_size), tuple(layer.strides), layer.padding)
        tape.append((a, z))
        name = _activation(layer)
        if _relu_then_max_pool(layers, index):
            # max and ReLU commute, max(relu(z)) = relu(max(z)): rectify after the pool (4x fewer values)
            a = z
        elif index > 0 and _relu_then_max_pool(layers, index - 1):
            a = ops.relu(z)  # the ReLU of the layer before
        else:
            a = ops.relu(z) if name == "relu" else ops.sigmoid(z) if name == "sigmoid" else z
    return a, tape


def _backward(layers, params, tape, indices, dz):
    """Back through layers ``indices`` from ``dz``, the gradient of their output (the last
    layer's logit for the network's last layer): dL/d(their input) and their weights' gradients."""
    grads = []
    for index, (a_in, z) in zip(reversed(indices), reversed(tape)):
        layer = layers[index]
        kind = type(layer).__name__
        # the last layer's sigmoid is folded into the loss; a ReLU before a max pool into the pool
        if index < len(layers) - 1 and not _relu_then_max_pool(layers, index):
            name = _activation(layer)
            if name == "relu":
                dz = backprop.relu_backward(z, dz)
            elif name == "sigmoid":
                s = ops.sigmoid(z)
                dz = dz * s * (np.float32(1) - s)
        if kind == "Conv2D":
            dz, dw, db = backprop.conv2d_backward(a_in, params[index][0], dz,
                                                  tuple(layer.strides), layer.padding,
                                                  input_gradient=index > 0)
        elif kind == "Dense":
            dz, dw, db = backprop.dense_backward(a_in, params[index][0], dz)
        elif kind == "Flatten":
            dz = backprop.flatten_backward(a_in, dz)
        elif kind == "MaxPooling2D":
            # a ReLU moved after the pool passes the gradient where the window's max is > 0;
            # there the winner is the same pixel with or without the ReLU, and the ReLU
            # before the pool passes its gradient too: the pooled gradient is masked only
            relu = index > 0 and _relu_then_max_pool(layers, index - 1)
            dz = backprop.max_pool2d_backward(a_in, dz, tuple(layer.pool_size), tuple(layer.strides),
                                              layer.padding, y=z, relu=relu)
        else:
            dz = backprop.avg_pool2d_backward(a_in, dz, tuple(layer.pool_size),
                                              tuple(layer.strides), layer.padding)
        if kind in ("Conv2D", "Dense"):
            grads[:0] = [dw, db] if layer.use_bias else [dw]
        if index == 0:
            break  # no gradient for the images themselves
    return dz, grads


def keras_loss_and_gradients(model, weights, x, y):
    """The same as :func:`loss_and_gradients`, computed by Keras with ``tf.GradientTape``.

    The model's weights are set to ``weights`` first.

    Returns
    -------
    loss : float
    grads : list of float32 arrays
    """
    from medlab._tensorflow import keras, tf

    for variable, value in zip(model.trainable_weights, weights):
        variable.assign(value)
    labels = np.asarray(y, dtype=np.float32).reshape(-1, 1)
    with tf.GradientTape() as tape:
        p = model(np.asarray(x, dtype=np.float32), training=True)
        loss = keras.losses.binary_crossentropy(labels, p)
        loss = tf.reduce_mean(loss)
    grads = tape.gradient(loss, model.trainable_weights)
    return float(loss), [np.asarray(g) for g in grads]


def batch_indices(n, batch_size, steps, seed=0):
    """Indices of ``steps`` mini-batches: shuffled epochs over ``n`` examples, the last
    incomplete batch of each epoch dropped.

    Returns
    -------
    int array (steps, batch_size)
    """
    n = validate.integer("n", n, low=1)
    batch_size = validate.integer("batch_size", batch_size, low=1, high=n)  # at most n examples
    steps = validate.integer("steps", steps, low=1)
    rng = np.random.default_rng(seed)
    per_epoch = n // batch_size
    batches = []
    while len(batches) < steps:
        order = rng.permutation(n)
        batches += [order[i * batch_size:(i + 1) * batch_size] for i in range(per_epoch)]
    return np.stack(batches[:steps])


def train_numpy(model, weights, x, y, optimizer, batches):
    """Train in NumPy: one loss-and-gradient step and one update per row of ``batches``.

    ``weights`` is updated in place. Returns the loss of each step (before its update), float64.
    """
    losses = []
    for rows in batches:
        loss, grads = loss_and_gradients(model, weights, x[rows], y[rows])
        optimizer.apply(weights, grads)
        losses.append(loss)
    return np.array(losses)


def train_keras(model, weights, x, y, optimizer, batches):
    """Train with Keras from ``weights``: ``model.train_on_batch`` on the same batches.

    The model is compiled with ``optimizer`` (a ``keras.optimizers`` instance) and the
    binary cross-entropy. Returns the loss of each step (before its update), float64.
    """
    for variable, value in zip(model.trainable_weights, weights):
        variable.assign(value)
    model.compile(optimizer=optimizer, loss="binary_crossentropy")
    losses = []
    for rows in batches:
        labels = np.asarray(y[rows], dtype=np.float32).reshape(-1, 1)
        losses.append(float(model.train_on_batch(x[rows], labels)))
    return np.array(losses)


__all__ = [
    "TRAINABLE_LAYERS", "batch_indices", "initial_weights", "keras_loss_and_gradients",
    "loss_and_gradients", "train_keras", "train_numpy",
]
