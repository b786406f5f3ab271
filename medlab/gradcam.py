"""Saliency: where in the image a CNN looked. Grad-CAM (Selvaraju et al., ICCV 2017) and
occlusion sensitivity (:func:`occlusion_map`, lesson 09).

For the feature maps :math:`A^c` (channel c) of a convolution layer and the model's score
:math:`y`, Grad-CAM weighs each map by its average gradient and keeps the positive part:

.. math::

    \\alpha_c = \\frac{1}{HW} \\sum_{i,j} \\frac{\\partial y}{\\partial A^c_{ij}}, \\qquad
    L = \\mathrm{relu}\\Big(\\sum_c \\alpha_c A^c\\Big).

:math:`L` has the layer's (coarse) resolution; it is resized to the input and divided by
its maximum, so each map lies in [0, 1]. The usual choice is the last convolution's
*rectified* feature maps (Selvaraju et al. take them after the ReLU): the most abstract
features that still have a spatial layout. When the convolution is followed by batch
normalisation and a separate ReLU (as in ``improved_cnn``), the maps are that ReLU's output,
not the convolution's; :func:`feature_layer` finds it.

For a sigmoid output the score used is the probability of the class asked for
(``p`` for class 1, ``1 - p`` for class 0). Its gradient is the logit's times
``p (1 - p) > 0``, so after the division by the maximum the map is the same as with the
logit, except when ``p`` is saturated at exactly 0 or 1 in float32 (then the map is 0).
"""

from __future__ import annotations

import numpy as np

from medlab import validate
from medlab._tensorflow import keras, tf
from medlab.engine.predict import as_batch

#: Layer types Grad-CAM can be computed on.
CONV_LAYER_TYPES = ("Conv2D", "SeparableConv2D", "DepthwiseConv2D", "Conv2DTranspose")
#: Layers that may follow a convolution before its maps are final: normalisation, activation.
FOLLOWER_LAYER_TYPES = ("BatchNormalization", "Activation", "ReLU", "LeakyReLU", "ELU", "PReLU")


def _conv_layer_names(model):
    """Names of the model's (top-level) convolution layers, in order."""
    return [layer.name for layer in model.layers if type(layer).__name__ in CONV_LAYER_TYPES]


def _last_conv_layer(model):
    """Name of the model's last convolution layer.

    Raises
    ------
    ValueError
        If the model has no convolution layer (Grad-CAM needs a spatial feature map).
    """
    names = _conv_layer_names(model)
    if not names:
        kinds = ", ".join(type(layer).__name__ for layer in model.layers)
        raise ValueError(
            f"model {model.name!r} has no convolution layer ({kinds}); Grad-CAM needs the "
            "feature maps of a Conv2D layer"
        )
    return names[-1]


def feature_layer(model):
    """Name of the layer whose output are the last convolution's final (rectified) feature maps.

    The last convolution, or the last of the batch-normalisation and activation layers that
    directly follow it (``conv3 -> bn3 -> relu3`` gives ``relu3``). A convolution with its
    own activation (``Conv2D(..., activation="relu")``) is its own answer.
    """
    name = _last_conv_layer(model)
    layers = list(model.layers)
    index = [layer.name for layer in layers].index(name)
    for layer in layers[index + 1:]:
        if type(layer).__name__ not in FOLLOWER_LAYER_TYPES:
            break
        name = layer.name
    return name


def grad_cam(model, images, layer_name=None, class_index=1):
    """Grad-CAM heat maps of a binary (sigmoid) or softmax classifier.

    Parameters
    ----------
    model : keras.Model
        Built from ``keras.Input`` (Sequential or functional), output (N, 1) sigmoid or
        (N, K) softmax.
    images : array (N, H, W, C) or (N, H, W)
        The model's inputs (:func:`medlab.engine.predict.as_batch`).
    layer_name : str, optional
        Layer whose (N, h, w, c) output are the feature maps; default the last
        convolution's rectified maps (:func:`feature_layer`).
    class_index : int
        Class whose score is explained: for a sigmoid output 1 (positive, ``p``) or
        0 (``1 - p``); for a softmax output the column.

    Returns
    -------
    float32 array (N, H, W)
        One map per image, in [0, 1] (1 at its maximum; all 0 if no region increases the
        score), bilinearly resized to the input's height and width.

    Raises
    ------
    ValueError
        No convolution layer, an unknown ``layer_name``, a layer whose output is not
        (N, h, w, c), images of the wrong shape, or a bad ``class_index``.
    """
    images = as_batch(images)  # (N, H, W) gets its channel axis
    expected = tuple(model.input_shape[1:])
    if any(e is not None and e != s for e, s in zip(expected, images.shape[1:])):
        raise validate.ArgumentError(f"images has shape {images.shape}: expected "
                                     f"(N, {', '.join(map(str, expected))}) for model {model.name!r}")
    if layer_name is None:
        layer_name = feature_layer(model)
    try:
        layer = model.get_layer(layer_name)
    except ValueError:
        raise ValueError(
            f"model {model.name!r} has no layer {layer_name!r}; its convolution layers are "
            f"{_conv_layer_names(model)}"
        ) from None
    if len(layer.output.shape) != 4:
        raise ValueError(
            f"layer {layer_name!r} has output shape {tuple(layer.output.shape)}; Grad-CAM needs "
            "a (N, height, width, channels) feature map"
        )
    n_outputs = int(model.output_shape[-1])
    class_index = validate.integer("class_index", class_index, 0, max(n_outputs, 2) - 1)

    explainer = keras.Model(model.inputs, [layer.output, model.outputs[0]])
    x = tf.convert_to_tensor(images)
    with tf.GradientTape() as tape:
        maps, outputs = explainer(x, training=False)
        if n_outputs == 1:
            score = outputs[:, 0] if class_index == 1 else 1.0 - outputs[:, 0]
        else:
            score = outputs[:, int(class_index)]
    gradients = tape.gradient(score, maps)  # (N, h, w, c)
    weights = tf.reduce_mean(gradients, axis=(1, 2), keepdims=True)  # alpha_c, (N, 1, 1, c)
    cam = tf.nn.relu(tf.reduce_sum(weights * maps, axis=-1, keepdims=True))  # (N, h, w, 1)
    cam = tf.image.resize(cam, images.shape[1:3], method="bilinear")[..., 0]
    cam = tf.nn.relu(cam).numpy()
    peak = cam.reshape(len(cam), -1).max(axis=1) if cam.size else np.zeros(0)
    scale = np.where(peak > 0, peak, 1.0)[:, None, None]
    return np.clip(cam / scale, 0.0, 1.0).astype(np.float32)


def occlusion_map(model, images, patch=6, stride=2, fill=None, batch_size=512):
    """Occlusion sensitivity (Zeiler and Fergus, 2014): how much hiding each region lowers the score.

    A ``patch`` x ``patch`` square slides over each image with step ``stride``; at each
    position it is painted with ``fill`` and the model's probability of class 1 is recomputed.
    Each pixel gets the mean drop ``p(image) - p(occluded)`` over the positions whose square
    covers it. It needs no gradient and no layer choice, only the model's outputs.

    Parameters
    ----------
    model : keras.Model
        Sigmoid output (N, 1).
    images : array (n, H, W) or (n, H, W, 1)
    patch, stride : int
        Side of the square and step between positions, in pixels.
    fill : float, optional
        Grey level painted in the square; default each image's own mean.

    Returns
    -------
    float32 array (n, H, W)
        Drop in probability (no unit, -1 to 1): positive where the region raised the score;
        0 where no square reached.

    Examples
    --------
    A "model" that outputs the mean of the top-left 4 x 4 corner: only that corner matters.

    >>> corner = lambda x, training=False: np.mean(x[:, :4, :4], axis=(1, 2))
    >>> m = occlusion_map(corner, np.ones((1, 8, 8)), patch=4, stride=4, fill=0.0)
    >>> float(m[0, 0, 0]), float(m[0, 7, 7])
    (1.0, 0.0)
    """
    from medlab.engine.predict import predict

    x = as_batch(images)
    n, height, width, _ = x.shape
    patch = validate.integer("patch", patch, 1, min(height, width))
    stride = validate.integer("stride", stride, low=1)
    fill = validate.number("fill", fill, allow_none=True)
    tops = list(range(0, height - patch + 1, stride))
    lefts = list(range(0, width - patch + 1, stride))
    base = predict(model, x, batch_size).reshape(n, -1)[:, -1]
    out = np.zeros((n, height, width), np.float64)
    for i in range(n):
        value = float(x[i].mean()) if fill is None else fill
        batch = np.repeat(x[i:i + 1], len(tops) * len(lefts), axis=0)
        for k, (top, left) in enumerate((t, l) for t in tops for l in lefts):
            batch[k, top:top + patch, left:left + patch] = value
        drop = base[i] - predict(model, batch, batch_size).reshape(len(batch), -1)[:, -1]
        total, count = np.zeros((height, width)), np.zeros((height, width))
        for k, (top, left) in enumerate((t, l) for t in tops for l in lefts):
            total[top:top + patch, left:left + patch] += drop[k]
            count[top:top + patch, left:left + patch] += 1
        out[i] = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
    return out.astype(np.float32)


__all__ = ["CONV_LAYER_TYPES", "FOLLOWER_LAYER_TYPES", "feature_layer", "grad_cam", "occlusion_map"]
