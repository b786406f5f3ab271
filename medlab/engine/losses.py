"""Keras losses of segmentation: soft Dice, binary cross-entropy plus soft Dice, by name.

=====================================  ===================================================
``soft_dice_loss(y_true, y_pred)``     1 - soft Dice of each image
``weighted_bce_dice(w_bce, w_dice)``   ``w_bce * BCE + w_dice * soft Dice`` with weights that
                                       may be Keras variables (one traced graph, many mixes)
``segmentation_loss(name)``            "bce", "dice" or "bce+dice" as a Keras loss
``multiclass_dice_ce(n_classes)``      cross-entropy + soft Dice of the structures, for
                                       class-number targets and softmax outputs (2-D or 3-D),
                                       the Dice per image or over the batch
=====================================  ===================================================

The NumPy Dice that *measures* masks is :func:`medlab.metrics.dice`; these are differentiable
losses for ``model.compile``.
"""

from __future__ import annotations

from medlab import validate
from medlab._tensorflow import keras

#: Names accepted by :func:`segmentation_loss`.
LOSSES = ("bce", "dice", "bce+dice")


def soft_dice_loss(y_true, y_pred, smooth=1.0):
    """Soft-Dice loss of each image, a Keras loss: 1 - (2 Σ p y + s) / (Σ p + Σ y + s).

    The Dice coefficient with the thresholded mask replaced by the probabilities ``p``, so it
    has a gradient. ``s`` (``smooth``) keeps an empty mask predicted empty at loss 0 and the
    ratio finite. Sums run over each image's pixels, then Keras averages the per-image losses
    over the batch.

    Parameters
    ----------
    y_true : tensor or array (N, H, W, 1) of 0/1
    y_pred : tensor or array (N, H, W, 1) of probabilities
    smooth : float > 0

    Returns
    -------
    tensor (N,)
        Use as ``model.compile(loss=soft_dice_loss)``.
    """
    smooth = validate.number("smooth", smooth, 0.0, low_open=True)
    ops = keras.ops
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(y_true, y_pred.dtype)
    axes = tuple(range(1, len(y_pred.shape)))
    overlap = ops.sum(y_true * y_pred, axis=axes)
    total = ops.sum(y_true, axis=axes) + ops.sum(y_pred, axis=axes)
    return 1.0 - (2.0 * overlap + smooth) / (total + smooth)


def _bce_per_image(y_true, y_pred):
    return keras.ops.mean(keras.losses.binary_crossentropy(y_true, y_pred), axis=(1, 2))


def _bce_dice_loss(y_true, y_pred):
    """Binary cross-entropy plus soft Dice, per image (a Keras loss)."""
    y_pred = keras.ops.convert_to_tensor(y_pred)
    y_true = keras.ops.cast(y_true, y_pred.dtype)
    return _bce_per_image(y_true, y_pred) + soft_dice_loss(y_true, y_pred)


def weighted_bce_dice(w_bce, w_dice):
    """The Keras loss ``w_bce * BCE + w_dice * soft Dice``, per image.

    ``w_bce`` and ``w_dice`` may be ``keras.Variable``: assigning them switches a compiled
    model between losses ((1, 0) BCE, (0, 1) Dice, (1, 1) both) without tracing again.
    """
    def loss(y_true, y_pred):
        y_true = keras.ops.cast(y_true, y_pred.dtype)
        return w_bce * _bce_per_image(y_true, y_pred) + w_dice * soft_dice_loss(y_true, y_pred)

    return loss


def segmentation_loss(name):
    """The Keras loss called ``name``: "bce", "dice" (soft Dice) or "bce+dice"."""
    validate.choice("loss", name, LOSSES)
    if name == "bce":
        return "binary_crossentropy"
    return soft_dice_loss if name == "dice" else _bce_dice_loss


def multiclass_dice_ce(n_classes, dice_over="image"):
    """The Keras loss cross-entropy + (1 - mean soft Dice of classes 1 .. n_classes - 1).

    For targets of class numbers, shape (N, ..., 1) (0 background, 1, 2, ... the structures),
    and a softmax output (N, ..., n_classes), in 2-D or 3-D. The cross-entropy is averaged over
    the voxels; the soft Dice (:func:`soft_dice_loss`'s, smoothing 1) of each structure is
    averaged over the structures, so a small one counts as much as a large one; the background
    gets no Dice. ``dice_over`` says what the Dice's sums run over:

    - ``"image"``: each image's voxels (one Dice per image and structure);
    - ``"batch"``: every voxel of the batch (one Dice per batch and structure, as nnU-Net's
      "batch Dice"). Use it for slices: on a slice without the structure, a per-image Dice
      with smoothing 1 scores a prediction of nothing as perfect, so a network that predicts
      nothing anywhere already earns the Dice of every empty slice.

    >>> import numpy as np
    >>> y = np.zeros((2, 4, 4, 1)); y[0, :2, :2] = 1     # image 1 has no structure
    >>> p = np.zeros((2, 4, 4, 2)); p[..., 0] = 0.99; p[..., 1] = 0.01   # "nothing", everywhere
    >>> [round(float(np.mean(multiclass_dice_ce(2, over)(y, p))), 2) for over in ("image", "batch")]
    [1.05, 1.38]
    """
    n_classes = validate.integer("n_classes", n_classes, 2)
    validate.choice("dice_over", dice_over, ("image", "batch"))

    def loss(y_true, y_pred):
        ops = keras.ops
        y_pred = ops.convert_to_tensor(y_pred)
        onehot = ops.one_hot(ops.cast(y_true[..., 0], "int32"), n_classes, dtype=y_pred.dtype)
        axes = tuple(range(1, len(y_pred.shape) - 1))
        cross_entropy = ops.mean(keras.losses.categorical_crossentropy(onehot, y_pred), axis=axes)
        overlap = ops.sum(onehot * y_pred, axis=axes)[:, 1:]
        total = (ops.sum(onehot, axis=axes) + ops.sum(y_pred, axis=axes))[:, 1:]
        if dice_over == "batch":
            overlap, total = ops.sum(overlap, axis=0, keepdims=True), ops.sum(total, axis=0, keepdims=True)
        return cross_entropy + 1.0 - ops.mean((2.0 * overlap + 1.0) / (total + 1.0), axis=-1)

    return loss


__all__ = ["LOSSES", "multiclass_dice_ce", "segmentation_loss", "soft_dice_loss", "weighted_bce_dice"]
