"""Segmentation with a U-Net: splits by subject, the training recipe, thresholds, measurement.

=====================================  ===================================================
``as_inputs(images)``                  uint8 (N, H, W) -> float32 (N, H, W, 1) in [0, 1]
``as_targets(masks)``                  0/1 masks (N, H, W) -> float32 (N, H, W, 1)
``train_segmenter(model, ...)``        seeded, compiled ``fit`` -> history dict
``predict_probabilities(model, x)``    (N, H, W) probabilities of "inside"
``threshold_masks(p, threshold)``      probabilities -> 0/1 masks (the slider's function)
``circumference_correction(...)``      the ellipse fit's bias, learned on training masks
``run_recipe(data, seed)``             the kit's recipe on any :class:`MaskSet` -> figures
``compare_losses(...)``                one U-Net per (loss, seed), one traced graph
``nearest_neighbour_masks(...)``,      the memorising baseline, and what it scores with a
``split_comparison(data)``             split by subject and by image
=====================================  ===================================================

The recipe (:data:`RECIPE`) is the one ``benchmarks/segmentation.py`` runs on every file and
lesson 12 runs shorter: a U-Net of 3 levels and a bottom (filters 8-16-32-64, 122 k parameters), binary
cross-entropy plus soft Dice, Adam, a split by ``subject``
(:func:`medlab.data.splits.split_by_group`). Training, prediction, the losses
(:mod:`medlab.engine.losses`) and the callbacks are :mod:`medlab.engine`'s; the slider over a
threshold is :func:`medlab.widgets.threshold_explorer`. TensorFlow is imported only by the
functions that train or predict.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from medlab import metrics, validate
from medlab.data.splits import split_by_group, split_by_image

#: The kit's recipe: every file gets these settings (``benchmarks/segmentation.py``).
RECIPE = {"depth": 3, "base_filters": 8, "loss": "bce+dice", "learning_rate": 3e-3,
          "batch_size": 8, "epochs": 100, "time_budget_s": 110.0,
          "val_fraction": 0.15, "test_fraction": 0.15}


# ------------------------------------------------------------------ arrays
def as_inputs(images):
    """Grey images (N, H, W[, 1]) -> float32 (N, H, W, 1) in [0, 1] (:func:`medlab.data.classification.grey_float`).

    uint8 is divided by 255; floats are taken as already in [0, 1].
    """
    from medlab.data.classification import grey_float

    x = validate.image_array("images", images, ndims=(3, 4), dtype_kinds="uf")
    if x.ndim == 4 and x.shape[-1] != 1:
        raise ValueError(f"images has shape {x.shape}: expected one channel")
    if x.dtype.kind == "u" and x.dtype != np.uint8:
        raise ValueError(f"images has dtype {x.dtype}: expected uint8 (0 to 255) or floats in [0, 1]")
    return grey_float(x)


def as_targets(masks):
    """Masks (N, H, W) of 0/1 -> float32 (N, H, W, 1), the Keras targets."""
    m = validate.image_array("masks", masks, ndims=(3, 4), dtype_kinds="uifb")
    if m.ndim == 4:
        m = m[..., 0]
    if not np.all((m == 0) | (m == 1)):
        raise ValueError("masks must hold only 0 and 1")
    return m.astype(np.float32)[..., None]


# ------------------------------------------------------------------ training
def train_segmenter(model, x_train, y_train, validation=None, *, epochs=10, batch_size=8,
                    learning_rate=3e-3, loss="bce+dice", seed=0, time_budget_s=None):
    """Seed, compile (Adam, no XLA) and fit a segmentation model on arrays.

    Parameters
    ----------
    model : keras.Model
        E.g. :func:`medlab.models.unet`, uncompiled.
    x_train : float32 (N, H, W, 1); y_train : float32 (N, H, W, 1) of 0/1
    validation : tuple (x_val, y_val), optional
        Then the weights of the epoch with the lowest validation loss are restored at the end.
    epochs, batch_size : int
    learning_rate : float
        Adam's first step size; it decays by cosine to 0 over ``epochs``, or, with
        ``time_budget_s``, over the budget's seconds
        (:class:`medlab.engine.callbacks.TimeCosineDecay`), so that a
        slower machine runs fewer epochs but still ends its training with small steps.
    loss : {"bce", "dice", "bce+dice"}
    seed : int
    time_budget_s : float, optional
        Stop after this many seconds of training (:class:`medlab.engine.callbacks.TimeBudget`).

    Returns
    -------
    dict
        Per-epoch lists ``loss`` (and ``val_loss``), plus ``train_seconds`` (float) and
        ``epochs_run`` (int).
    """
    from medlab._tensorflow import keras
    from medlab.engine.callbacks import TimeCosineDecay
    from medlab.engine.fit import fit
    from medlab.engine.losses import segmentation_loss

    epochs = validate.integer("epochs", epochs, 1)
    batch_size = validate.integer("batch_size", batch_size, 1)
    learning_rate = validate.number("learning_rate", learning_rate, 0.0, 1.0)
    callbacks = []
    if time_budget_s is None:
        steps = epochs * -(-len(x_train) // batch_size)
        rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps)
    else:
        rate = learning_rate
        callbacks.append(TimeCosineDecay(learning_rate, time_budget_s))
    done = fit(model, x_train, y_train, validation, epochs=epochs, batch_size=batch_size, seed=seed,
               time_budget_s=time_budget_s, callbacks=callbacks,
               restore_best=("val_loss", "min") if validation is not None else None,
               optimizer=keras.optimizers.Adam(rate), loss=segmentation_loss(loss), jit_compile=False)
    return {**done.history, "train_seconds": done.seconds, "epochs_run": done.epochs_run}


def predict_probabilities(model, images, batch_size=128):
    """The model's probability that each pixel is inside, (N, H, W) float32.

    ``images``: (N, H, W) grey images (:func:`as_inputs`) or (N, H, W, 1) model inputs.
    Inference mode (batch norm on its running statistics), batched by
    :func:`medlab.engine.predict.predict`.
    """
    from medlab.engine.predict import predict

    x = as_inputs(images) if np.asarray(images).ndim == 3 else images
    return predict(model, x, batch_size)[..., 0]


# ------------------------------------------------------------------ thresholds
def threshold_masks(probabilities, threshold=0.5):
    """Probabilities -> masks: 1 where ``p >= threshold``, uint8 of the same shape."""
    p = validate.values("probabilities", probabilities, 0, 1)
    t = validate.number("threshold", threshold, 0.0, 1.0)
    return (p >= t).astype(np.uint8)


# ------------------------------------------------------------------ measurement
def circumference_correction(masks, pixel_size_mm, circumference_mm):
    """The factor that turns the ellipse fit's circumference into the expert's, on average.

    A fit to a filled, pixelated mask measures the outside of the outline: slightly too long.
    The median of expert / fitted over the **training** masks corrects that; apply it to
    circumferences measured on predictions (never learn it on the test images).

    Returns
    -------
    float
        About 0.99 for HC18 at 64 px.
    """
    fitted = metrics.mask_circumference_mm(masks, pixel_size_mm)
    expert = _circumferences(circumference_mm, len(fitted))
    ok = fitted > 0
    if not ok.any():
        raise ValueError("every mask is empty: no ellipse to fit")
    return float(np.median(expert[ok] / fitted[ok]))


def _circumferences(circumference_mm, n):
    """The expert circumferences, checked: n finite values > 0 (mm)."""
    expert = validate.values("circumference_mm", circumference_mm, 0, low_open=True, dtype_kinds="uif")
    if expert.shape != (n,):
        raise ValueError(f"circumference_mm has shape {expert.shape}: expected one per mask: ({n},)")
    return expert


def evaluate(reference, predicted, pixel_size_mm=None, circumference_mm=None, correction=1.0):
    """Dice, IoU and (with sizes and circumferences) the HC error in mm of predicted masks.

    ``pixel_size_mm`` and ``circumference_mm`` come together or not at all; ``correction``
    (from :func:`circumference_correction`) is a number > 0.

    Returns
    -------
    dict
        ``dice``, ``iou`` (means over images); with the optional arguments also
        ``hc_mae_mm``, ``hc_median_mm`` (mean and median |HC_pred x correction - HC_expert|)
        and ``hc_mm`` (N,), the corrected predicted circumferences.
    """
    if (pixel_size_mm is None) != (circumference_mm is None):
        raise ValueError("pixel_size_mm and circumference_mm: expected both (for the HC error) or neither")
    correction = validate.number("correction", correction, 0, low_open=True)
    result = {"dice": metrics.dice(reference, predicted), "iou": metrics.iou(reference, predicted)}
    if pixel_size_mm is not None:
        hc = metrics.mask_circumference_mm(predicted, pixel_size_mm) * correction
        error = np.abs(hc - _circumferences(circumference_mm, len(hc)))
        result.update(hc_mae_mm=float(error.mean()), hc_median_mm=float(np.median(error)), hc_mm=hc)
    return result


def run_recipe(data, seed=0, recipe=None, split="grouped"):
    """Split, train and evaluate the kit's recipe on a :class:`medlab.data.MaskSet`.

    Parameters
    ----------
    data : medlab.data.MaskSet
    seed : int
        Seeds the split and the weights.
    recipe : dict, optional
        Overrides of :data:`RECIPE` (tests pass tiny settings).
    split : {"grouped", "image"}
        "grouped" splits by ``data.subject`` when the file has it, else image by image.

    Returns
    -------
    dict
        ``test_dice``, ``test_iou``, ``train_seconds``, ``epochs_run``, counts of the splits,
        ``val_dice`` (when there is a validation split: compare recipes by it, not by the test),
        and ``hc_mae_mm``, ``hc_median_mm``, ``hc_correction`` when the file has pixel sizes
        and circumferences.
    """
    from medlab.models import unet

    settings = {**RECIPE, **(recipe or {})}
    unknown = set(settings) - set(RECIPE)
    if unknown:
        raise ValueError(f"unknown recipe settings {sorted(unknown)}; expected {sorted(RECIPE)}")
    validate.choice("split", split, ("grouped", "image"))
    fractions = dict(val_fraction=settings["val_fraction"], test_fraction=settings["test_fraction"])
    if split == "grouped" and data.subject is not None:
        parts = split_by_group(data.subject, seed=seed, **fractions)
    else:
        parts = split_by_image(len(data), seed=seed, **fractions)
    train, val, test = (data.subset(parts[k]) for k in ("train", "val", "test"))
    x_train, y_train = as_inputs(train.images), as_targets(train.masks)
    validation = (as_inputs(val.images), as_targets(val.masks)) if len(val) else None
    from medlab._tensorflow import seed_everything

    seed_everything(seed)
    model = unet(x_train.shape[1:], depth=settings["depth"], base_filters=settings["base_filters"])
    history = train_segmenter(model, x_train, y_train, validation, epochs=settings["epochs"],
                              batch_size=settings["batch_size"], learning_rate=settings["learning_rate"],
                              loss=settings["loss"], seed=seed, time_budget_s=settings["time_budget_s"])
    predicted = threshold_masks(predict_probabilities(model, test.images))
    result = {"n_train": len(train), "n_val": len(val), "n_test": len(test),
              "train_seconds": history["train_seconds"], "epochs_run": history["epochs_run"]}
    if len(val):  # what a change of the recipe is judged by; the test figures judge nothing
        result["val_dice"] = metrics.dice(val.masks, threshold_masks(predict_probabilities(model, val.images)))
    measured = train.pixel_size_mm is not None and train.head_circumference_mm is not None
    correction = (circumference_correction(train.masks, train.pixel_size_mm, train.head_circumference_mm)
                  if measured else 1.0)
    figures = evaluate(test.masks, predicted, test.pixel_size_mm if measured else None,
                       test.head_circumference_mm if measured else None, correction)
    result.update(test_dice=figures["dice"], test_iou=figures["iou"])
    if measured:
        result.update(hc_mae_mm=figures["hc_mae_mm"], hc_median_mm=figures["hc_median_mm"],
                      hc_correction=correction)
    return result


# ------------------------------------------------------------------ comparisons
def nearest_neighbour_masks(train_images, train_masks, images):
    """Segment by copying the mask of the most similar training image (no learning).

    Similarity: the correlation of the pixels (each image centred and scaled to unit norm).
    A method that can only memorise: if a near copy of a test image is among the training
    images, it finds it; this makes it the most sensitive probe of a leaky split.

    Parameters
    ----------
    train_images : array (M, H, W); train_masks : array (M, H, W) of 0/1
    images : array (N, H, W)

    Returns
    -------
    masks : uint8 array (N, H, W)
    nearest : int array (N,), the index of the training image copied for each image
    """
    def unit(a):
        a = np.asarray(a, np.float64).reshape(len(a), -1)
        a = a - a.mean(axis=1, keepdims=True)
        return a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)

    train_masks = np.asarray(train_masks)
    if np.shape(train_images) != train_masks.shape or np.shape(images)[1:] != train_masks.shape[1:]:
        raise ValueError(f"train_images {np.shape(train_images)}, train_masks {train_masks.shape} and "
                         f"images {np.shape(images)}: expected (M, H, W), (M, H, W) and (N, H, W)")
    nearest = np.argmax(unit(images) @ unit(train_images).T, axis=1)
    return train_masks[nearest].astype(np.uint8), nearest


def split_comparison(data, seeds=(0, 1, 2, 3, 4)):
    """Nearest-neighbour Dice on the test split, split by subject and by image, per seed.

    Returns
    -------
    dict
        ``grouped`` and ``image``: float arrays (len(seeds),) of mean test Dice;
        ``shared``: (len(seeds),) number of test images of the image split whose subject also
        has images in its training split (0 for the grouped split, by construction).
    """
    out = {"grouped": [], "image": [], "shared": []}
    for seed in seeds:
        for kind in ("grouped", "image"):
            parts = (split_by_group(data.subject, seed=seed) if kind == "grouped"
                     else split_by_image(len(data), seed=seed))
            train, test = parts["train"], parts["test"]
            masks, _ = nearest_neighbour_masks(data.images[train], data.masks[train], data.images[test])
            out[kind].append(metrics.dice(data.masks[test], masks))
            if kind == "image":
                out["shared"].append(int(np.isin(data.subject[test], data.subject[train]).sum()))
    return {k: np.array(v) for k, v in out.items()}


@dataclass(eq=False)
class LossComparison:
    """What :func:`compare_losses` measured.

    Attributes
    ----------
    dice : dict of str -> list of float
        Test Dice per loss, one per seed (in the order of ``seeds``).
    final_loss : dict of str -> list of float
        Each run's training loss in its last epoch.
    model : keras.Model
        The U-Net with the weights of the run ``keep`` (a loss and a seed).
    seconds : float
        Wall-clock seconds of all the training.
    """

    dice: dict
    final_loss: dict
    model: object
    seconds: float


def compare_losses(x_train, y_train, x_test, test_masks, *, losses=None, seeds=(0, 1), epochs=3,
                   batch_size=8, learning_rate=3e-3, keep=("bce+dice", 0), **unet_options):
    """Train one U-Net per (loss, seed) and measure each on the test images.

    For a given seed every loss starts from the same initial weights and sees the same
    batches: only the loss differs. All runs share one compiled model, whose loss is
    ``w_bce * BCE + w_dice * soft Dice`` with the two weights set per run (1, 0), (0, 1) or
    (1, 1); weights, batch-norm statistics and Adam's state are reset before each run. So the
    graph is traced once (several seconds on a CPU) instead of once per run.

    Parameters
    ----------
    x_train, y_train : float32 (N, H, W, 1)
    x_test : float32 (M, H, W, 1); test_masks : (M, H, W) of 0/1
    losses : sequence of {"bce", "dice", "bce+dice"}, optional
        Default: all three (:data:`medlab.engine.losses.LOSSES`).
    seeds : sequence of int
    epochs, batch_size : int
    learning_rate : float
        Adam's first step size, decaying by a cosine to 0 over each run.
    keep : (loss, seed)
        The run whose weights the returned model holds.
    **unet_options
        Passed to :func:`medlab.models.unet`.

    Returns
    -------
    LossComparison
    """
    from medlab._tensorflow import keras, seed_everything
    from medlab.engine.fit import fit, restart
    from medlab.engine.losses import LOSSES, weighted_bce_dice
    from medlab.models import unet

    losses = LOSSES if losses is None else tuple(losses)
    for loss in losses:
        validate.choice("loss", loss, LOSSES)
    if tuple(keep) not in {(loss, seed) for loss in losses for seed in seeds}:
        raise ValueError(f"keep={keep!r}: expected one of the runs, a loss of {list(losses)} and a "
                         f"seed of {list(seeds)}")
    epochs = validate.integer("epochs", epochs, 1)
    batch_size = validate.integer("batch_size", batch_size, 1)
    w_bce = keras.Variable(1.0, trainable=False, name="w_bce")
    w_dice = keras.Variable(1.0, trainable=False, name="w_dice")
    model = unet(x_train.shape[1:], **unet_options)
    steps = epochs * -(-len(x_train) // batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=weighted_bce_dice(w_bce, w_dice),
                  jit_compile=False)
    mix = {"bce": (1.0, 0.0), "dice": (0.0, 1.0), "bce+dice": (1.0, 1.0)}
    dice = {loss: [] for loss in losses}
    final = {loss: [] for loss in losses}
    kept = None
    start = time.perf_counter()
    for seed in seeds:
        seed_everything(seed)
        initial = unet(x_train.shape[1:], **unet_options).get_weights()
        for loss in losses:
            restart(model, initial)
            w_bce.assign(mix[loss][0])
            w_dice.assign(mix[loss][1])
            history = fit(model, x_train, y_train, epochs=epochs, batch_size=batch_size, seed=seed).history
            final[loss].append(float(history["loss"][-1]))
            predicted = threshold_masks(predict_probabilities(model, x_test))
            dice[loss].append(metrics.dice(test_masks, predicted))
            if (loss, seed) == tuple(keep):
                kept = model.get_weights()
    seconds = time.perf_counter() - start
    model.set_weights(kept)
    return LossComparison(dice, final, model, seconds)


__all__ = [
    "RECIPE", "as_inputs", "as_targets",
    "circumference_correction", "evaluate", "compare_losses", "LossComparison",
    "nearest_neighbour_masks", "predict_probabilities", "split_comparison",
    "run_recipe", "threshold_masks",
    "train_segmenter",
]
