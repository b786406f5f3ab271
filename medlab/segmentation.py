"""Segmentation with a U-Net: splits by subject, the training recipe, thresholds, measurement.

=====================================  ===================================================
``as_inputs(images)``                  uint8 (N, H, W) -> float32 (N, H, W, 1) in [0, 1]
``as_targets(masks)``                  0/1 masks (N, H, W) -> float32 (N, H, W, 1)
``train_segmenter(model, ...)``        seeded, compiled ``fit`` -> history dict
``predict_probabilities(model, x)``    (N, H, W) probabilities of "inside"
``threshold_masks(p, threshold)``      probabilities -> 0/1 masks (the slider's function)
``ellipse_targets(masks, kind)``       sub-pixel targets: each mask's ellipse, anti-aliased
                                       ("area") or as a sigmoid of the distance ("distance")
``circumference_correction(...)``      the ellipse fit's bias, learned on training masks
``run_recipe(data, seed)``             the kit's recipe on any :class:`MaskSet` -> figures
                                       (options: :data:`RECIPE_OPTIONS`; ``choose=True``
                                       tries :data:`CANDIDATES` on validation subjects)
``split_masks(data, seed)``            train / val / test by subject (at least 3)
``measure_circumferences(p, ...)``     HC in mm from the mask or the sub-pixel contour
``choose_level(p, ...)``               the outline level with the lowest validation HC error
``hc_figures(part, p, ...)``           HC error: mean, median, signed, share over 5 mm
``flip_probabilities(model, x)``       mean prediction of the image and its mirror
:data:`PLAIN_UNET`                     the plain U-Net the benchmark compares with
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


#: Settings of :func:`run_recipe` beyond :data:`RECIPE`, and their defaults (RECIPE's behaviour):
#: the learning-rate schedule, whether the best epoch by validation loss is kept, and how the
#: head circumference is measured ("mask": moments of the thresholded mask; "contour": an
#: ellipse fitted to the sub-pixel 0.5 outline of the probabilities), and "flip": train on every
#: image and its left-right mirror, and predict the mean of the two (:func:`flip_probabilities`).
#: "level": the probability at which the outline is taken for the HC (the mask's threshold or the
#: contour's level; Dice is always at 0.5), a number, or "choose": the one of :data:`LEVELS` with
#: the lowest validation HC error (:func:`choose_level`).
#: "targets": what the network is trained to output: "mask" (the 0/1 masks), or the ellipse
#: fitted to each mask drawn with sub-pixel detail, "area" (the share of each pixel inside it) or
#: "distance" (a sigmoid of the signed distance to its outline): :func:`ellipse_targets`.
RECIPE_OPTIONS = {"schedule": "cosine", "restore_best": True, "measure": "mask", "flip": False, "level": 0.5,
                  "targets": "mask"}

#: The training targets :func:`training_targets` knows.
TARGETS = ("mask", "area", "distance")

#: The ways :func:`measure_circumferences` measures a head.
MEASURES = ("mask", "contour", "moments")

#: Pixels of signed distance per unit of logit in the "distance" targets (:func:`ellipse_targets`):
#: set once, a priori (the outline's probability goes from 0.27 to 0.73 within a pixel either side).
DISTANCE_WIDTH = 1.0

#: The outline levels that ``level="choose"`` tries on the validation images.
LEVELS = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7)

#: An HC error above this (mm) counts as a large failure in the figures' ``share_over_5mm``.
LARGE_HC_ERROR_MM = 5.0

#: The plain U-Net that ``benchmarks/segmentation.py`` compares with: a 3-level U-Net of 16 base
#: filters, binary cross-entropy, Adam at a constant 1e-3, batches of 8, the last epoch's weights.
PLAIN_UNET = {"depth": 3, "base_filters": 16, "loss": "bce", "learning_rate": 1e-3, "batch_size": 8,
              "schedule": "constant", "restore_best": False}


#: What :func:`run_recipe` tries with ``choose=True``, as changes of its settings: the recipe
#: itself, a wider U-Net with a smaller step, and mirrored images. (Cross-entropy alone was
#: dropped: in trials of a sixth of the budget it left small structures empty, Dice 0.)
CANDIDATES = ({}, {"base_filters": 16, "learning_rate": 1e-3}, {"flip": True})


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


def training_targets(masks, targets="mask"):
    """The Keras targets of :data:`RECIPE_OPTIONS`' ``targets``, float32 (N, H, W, 1).

    "mask": the 0/1 masks (:func:`as_targets`); "area" or "distance": the sub-pixel targets
    of the ellipse fitted to each mask (:func:`ellipse_targets`).
    """
    if validate.choice("targets", targets, TARGETS) == "mask":
        return as_targets(masks)
    return ellipse_targets(masks, targets)


def ellipse_targets(masks, kind="area", samples=None, width=DISTANCE_WIDTH):
    """Sub-pixel training targets from the ellipse fitted to each mask: float32 (N, H, W, 1).

    Each mask's ellipse is the one the HC is measured by (:func:`medlab.metrics.ellipse_fit`,
    the moments of its largest region), drawn on a grid ``samples`` times finer
    (``skimage.draw.ellipse``). The expert's outline is an ellipse; a 0/1 mask rounds it to
    whole pixels, and a network trained on 0/1 masks has no reason to place its 0.5 outline
    between pixels. These targets tell it where, inside a pixel, the outline runs:

    - ``"area"``: the fraction of each pixel inside the ellipse (``samples`` x ``samples``
      points per pixel, ``skimage.measure.block_reduce``), in [0, 1]: 1 inside, 0 outside,
      the covered share on the outline (a filled ellipse, anti-aliased);
    - ``"distance"``: ``sigmoid(d / width)`` with ``d`` the signed distance in pixels from
      the pixel to the outline (> 0 inside; ``scipy.ndimage.distance_transform_edt`` on the
      fine grid, averaged over the pixel): the network's logit regresses ``d / width``, whose
      zero level (probability 0.5) is the outline.

    An empty mask gives zeros.

    Parameters
    ----------
    masks : array (N, H, W) of 0/1 or bool
    kind : {"area", "distance"}
    samples : int >= 1, optional
        Points per pixel side on the fine grid; default 8 for "area", 4 for "distance" (whose
        distance transform costs more; 1/4 pixel is finer than the logit's resolution).
    width : float > 0
        Pixels of distance per unit of logit ("distance" only).

    >>> rows, cols = np.mgrid[:16, :16]
    >>> disc = ((rows - 7.5) ** 2 + (cols - 7.5) ** 2 <= 5.0 ** 2)[None]
    >>> t = ellipse_targets(disc)
    >>> t.shape, float(t.min()), float(t.max()), int(((t > 0) & (t < 1)).sum())    # the outline's pixels
    ((1, 16, 16, 1), 0.0, 1.0, 20)
    >>> round(float(t.sum()) / float(disc.sum()), 2)      # the fitted disc covers the mask's area
    0.99
    >>> d = ellipse_targets(disc, "distance")
    >>> float(d[0, 7, 7, 0]) > 0.98, float(d[0, 0, 0, 0]) < 0.01
    (True, True)
    """
    from scipy import ndimage
    from skimage import draw, measure

    kind = validate.choice("kind", kind, ("area", "distance"))
    samples = validate.integer("samples", (8 if kind == "area" else 4) if samples is None else samples, 1, 64)
    width = validate.number("width", width, 0, low_open=True)
    m = np.asarray(masks)
    if m.ndim == 4 and m.shape[-1] == 1:  # (N, H, W, 1), as as_targets and Keras give them
        m = m[..., 0]
    m = validate.image_array("masks", m, ndims=(3,), dtype_kinds="uifb")
    if not np.all((m == 0) | (m == 1)):
        raise ValueError("masks must hold only 0 and 1")
    n, height, wide = m.shape
    out = np.zeros((n, height, wide), np.float32)
    fine_shape = (height * samples, wide * samples)
    offset = (samples - 1) / 2  # pixel centre (r, c) is fine point samples * (r, c) + offset
    for i, one in enumerate(m):
        row, col, a, b, angle = metrics.ellipse_fit(one.astype(bool))
        if a <= 0:
            continue
        fine = np.zeros(fine_shape, bool)
        rr, cc = draw.ellipse(samples * row + offset, samples * col + offset, samples * a, max(samples * b, 0.5),
                              shape=fine_shape, rotation=angle)
        fine[rr, cc] = True
        if kind == "area":
            out[i] = measure.block_reduce(fine, (samples, samples), np.mean)
            continue
        inside = ndimage.distance_transform_edt(fine) - 0.5  # the outline runs half a fine step
        outside = ndimage.distance_transform_edt(~fine) - 0.5  # from the centres on either side
        signed = np.where(fine, inside, -outside) / samples
        distance = measure.block_reduce(signed, (samples, samples), np.mean)
        out[i] = 1.0 / (1.0 + np.exp(-distance / width))
    return out[..., None]


# ------------------------------------------------------------------ training
def train_segmenter(model, x_train, y_train, validation=None, *, epochs=10, batch_size=8,
                    learning_rate=3e-3, loss="bce+dice", seed=0, time_budget_s=None,
                    schedule="cosine", restore_best=True):
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
    schedule : {"cosine", "constant"}
        "constant": Adam at ``learning_rate`` throughout (the plain baseline's).
    restore_best : bool
        With ``validation``: end with the best epoch's weights (by validation loss); False
        keeps the last epoch's.

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
    if validate.choice("schedule", schedule, ("cosine", "constant")) == "constant":
        rate = learning_rate
    elif time_budget_s is None:
        steps = epochs * -(-len(x_train) // batch_size)
        rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps)
    else:
        rate = learning_rate
        callbacks.append(TimeCosineDecay(learning_rate, time_budget_s))
    done = fit(model, x_train, y_train, validation, epochs=epochs, batch_size=batch_size, seed=seed,
               time_budget_s=time_budget_s, callbacks=callbacks,
               restore_best=("val_loss", "min") if validation is not None and restore_best else None,
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
def circumference_correction(masks, pixel_size_mm, circumference_mm, measure="mask"):
    """The factor that turns the ellipse fit's circumference into the expert's, on average.

    A fit to a filled, pixelated mask measures the outside of the outline: slightly too long.
    The median of expert / fitted over the **training** masks corrects that; apply it to
    circumferences measured on predictions (never learn it on the test images).

    ``measure``: "mask", "contour" or "moments", as the predictions will be measured
    (:func:`measure_circumferences`). ``masks`` may also be what the network was trained to
    output instead (:func:`ellipse_targets`, values in [0, 1]): then the factor turns what
    those targets measure into the expert's.

    Returns
    -------
    float
        About 0.99 for HC18 at 64 px.
    """
    maps = validate.values("masks", masks, 0, 1, dtype_kinds="uifb")
    if maps.ndim == 4 and maps.shape[-1] == 1:
        maps = maps[..., 0]
    if maps.ndim != 3:
        raise ValueError(f"masks has shape {maps.shape}: expected (N, H, W)")
    fitted = measure_circumferences(maps.astype(np.float32), pixel_size_mm, measure)
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


def split_masks(data, seed=0, split="grouped", val_fraction=0.15, test_fraction=0.15):
    """Train, validation and test :class:`medlab.data.MaskSet` of one seed.

    "grouped" splits by ``data.subject`` when the file has it (whole subjects on one side,
    :func:`medlab.data.splits.split_by_group`), else image by image; "image" always image by
    image. A file with subjects but fewer than 3 of them cannot give each side a subject of
    its own: a ``ValueError`` says so (``--split image`` is then the only, leaky, choice).
    """
    validate.choice("split", split, ("grouped", "image"))
    fractions = dict(val_fraction=val_fraction, test_fraction=test_fraction)
    if split == "grouped" and data.subject is not None:
        n = len(np.unique(data.subject))
        if n < 3:
            raise ValueError(f"data has {n} subject{'s' * (n != 1)}: a split by subject into train, "
                             "validation and test needs at least 3")
        parts = split_by_group(data.subject, seed=seed, **fractions)
    else:
        parts = split_by_image(len(data), seed=seed, **fractions)
    return tuple(data.subset(parts[k]) for k in ("train", "val", "test"))


def measure_circumferences(probabilities, pixel_size_mm, measure="mask", level=0.5):
    """Head circumferences in mm of probability maps (N, H, W): "mask" or "contour".

    "mask": :func:`medlab.metrics.mask_circumference_mm` of the maps thresholded at ``level``;
    "contour": :func:`medlab.metrics.contour_circumference_mm` of the ``level`` outline of the
    maps themselves (sub-pixel); "moments": :func:`medlab.metrics.moment_circumference_mm`,
    the probability-weighted moments of the region at ``level`` (sub-pixel too). Masks of 0/1
    give nearly the same with any.
    """
    level = validate.number("level", level, 0.0, 1.0, closed="neither")  # one rule for both measures
    measure = validate.choice("measure", measure, MEASURES)
    if measure == "contour":
        return metrics.contour_circumference_mm(probabilities, pixel_size_mm, level)
    if measure == "moments":
        return metrics.moment_circumference_mm(probabilities, pixel_size_mm, level)
    return metrics.mask_circumference_mm(threshold_masks(probabilities, level), pixel_size_mm)


def _levels(levels):
    """``levels`` checked: a non-empty list, tuple or 1-D array of numbers in (0, 1)."""
    expected = "a non-empty sequence of numbers in (0, 1)"
    if not isinstance(levels, (list, tuple, np.ndarray)) or np.ndim(levels) != 1 or not len(levels):
        raise validate.ArgumentError(f"levels {levels!r}: expected {expected}")
    inside = validate.Interval(validate.Real, 0, 1, closed="neither")
    bad = [level for level in levels if not inside.is_satisfied_by(level)]
    if bad:
        raise validate.ArgumentError(f"levels {list(levels)!r}: expected {expected} ({bad[0]!r} is not)")
    return [float(level) for level in levels]


def choose_level(probabilities, pixel_size_mm, circumference_mm, correction=1.0, measure="mask", levels=LEVELS):
    """The outline level with the lowest mean HC error on validation maps, and every error.

    A network whose outlines sit systematically outside (inside) the expert's measures too
    large (small) a head at 0.5; a higher (lower) level moves the outline in. Choose it on
    **validation** images, never on test ones. Ties go to the earlier level.

    Parameters
    ----------
    probabilities : array (N, H, W) in [0, 1]
    pixel_size_mm, circumference_mm : arrays (N,), or a number for the pixel size
    correction : float > 0
        :func:`circumference_correction`, learnt on the training masks.
    measure : {"mask", "contour", "moments"}
    levels : sequence of float in (0, 1)

    Returns
    -------
    (float, list of float)
        The chosen level, and the mean |HC error| in mm at each of ``levels``.
    """
    levels = _levels(levels)
    correction = validate.number("correction", correction, 0, low_open=True)
    validate.choice("measure", measure, MEASURES)
    expert = _circumferences(circumference_mm, len(np.asarray(probabilities)))
    errors = [metrics.mean_absolute_difference(
        expert, measure_circumferences(probabilities, pixel_size_mm, measure, level) * correction)
        for level in levels]
    return float(levels[int(np.argmin(errors))]), errors


def train_settings(train, val, settings, seed=0):
    """Build and train the U-Net of ``settings`` (:data:`RECIPE`'s keys) -> (model, history)."""
    from medlab._tensorflow import seed_everything
    from medlab.models import unet

    targets = settings.get("targets", "mask")
    x_train, y_train = as_inputs(train.images), training_targets(train.masks, targets)
    if settings.get("flip", False):  # mirrored copies: twice the images per epoch, same steps per second
        x_train = np.concatenate([x_train, x_train[:, :, ::-1]])
        y_train = np.concatenate([y_train, y_train[:, :, ::-1]])
    validation = (as_inputs(val.images), training_targets(val.masks, targets)) if len(val) else None
    seed_everything(seed)
    model = unet(x_train.shape[1:], depth=settings["depth"], base_filters=settings["base_filters"])
    history = train_segmenter(model, x_train, y_train, validation, epochs=settings["epochs"],
                              batch_size=settings["batch_size"], learning_rate=settings["learning_rate"],
                              loss=settings["loss"], seed=seed, time_budget_s=settings["time_budget_s"],
                              schedule=settings.get("schedule", "cosine"),
                              restore_best=settings.get("restore_best", True))
    return model, history


def flip_probabilities(model, images):
    """The mean of the model's probabilities for the images and for their left-right mirrors
    (mirrored back), (N, H, W): test-time augmentation for a model trained with mirrors."""
    x = as_inputs(images) if np.asarray(images).ndim == 3 else images
    return 0.5 * (predict_probabilities(model, x) + predict_probabilities(model, x[:, :, ::-1])[:, :, ::-1])


def _probabilities(model, images, settings):
    return flip_probabilities(model, images) if settings.get("flip", False) else predict_probabilities(model, images)


def hc_figures(part, probabilities, correction, measure="mask", level=0.5, prefix=""):
    """HC errors of one split's maps, keys prefixed: ``hc_mae_mm``, ``hc_median_mm``,
    ``hc_signed_mm`` (mean predicted - expert: a bias), ``hc_share_over_5mm`` (share of
    errors > :data:`LARGE_HC_ERROR_MM`) and ``hc_over_5mm_part`` (the share of the summed
    error they carry): :func:`medlab.metrics.error_summary`."""
    hc = measure_circumferences(probabilities, part.pixel_size_mm, measure, level) * correction
    s = metrics.error_summary(_circumferences(part.head_circumference_mm, len(hc)), hc, LARGE_HC_ERROR_MM)
    return {f"{prefix}hc_mae_mm": s["mae"], f"{prefix}hc_median_mm": s["median"],
            f"{prefix}hc_signed_mm": s["signed"], f"{prefix}hc_share_over_5mm": s["share_large"],
            f"{prefix}hc_over_5mm_part": s["large_part"]}


def _measured_figures(part, probabilities, correction, measure, prefix, level=0.5):
    """Dice, IoU (at 0.5) and (with sizes and circumferences) HC errors of one split, keys prefixed."""
    out = {f"{prefix}dice": metrics.dice(part.masks, threshold_masks(probabilities)),
           f"{prefix}iou": metrics.iou(part.masks, threshold_masks(probabilities))}
    if correction is not None:
        out.update(hc_figures(part, probabilities, correction, measure, level, prefix))
    return out


def _trial_budget(settings, n, share):
    """The epochs (without a time budget) or seconds of one of ``n`` trials sharing ``share``."""
    if settings["time_budget_s"] is None:
        return {"epochs": max(1, round(settings["epochs"] * share / n))}
    return {"time_budget_s": settings["time_budget_s"] * share / n}


def choose_settings(train, val, settings, candidates=CANDIDATES, seed=0, share=0.5):
    """Try each candidate on the validation images; return the best settings and every score.

    Each candidate (a dict of changes to ``settings``) trains for ``share / len(candidates)``
    of the budget (of ``time_budget_s``, or of ``epochs`` when there is no time budget, at
    least 1 epoch) and is scored by its validation Dice; ties go to the earlier candidate.
    The caller trains the winner for the rest of the budget (:func:`run_recipe`).

    Returns
    -------
    (dict, list of float)
        The winning candidate's changes, and the validation Dice of each candidate in order.
    """
    if not len(val):
        raise ValueError("choosing settings needs validation images: the split gave none")
    share = validate.number("share", share, 0.0, 1.0, closed="neither")
    scores = []
    for changes in candidates:
        trial = {**settings, **changes, **_trial_budget(settings, len(candidates), share)}
        model, _ = train_settings(train, val, trial, seed)
        scores.append(metrics.dice(val.masks, threshold_masks(_probabilities(model, val.images, trial))))
    return dict(candidates[int(np.argmax(scores))]), scores


def run_recipe(data, seed=0, recipe=None, split="grouped", choose=False, candidates=CANDIDATES):
    """Split, train and evaluate the kit's recipe on a :class:`medlab.data.MaskSet`.

    Parameters
    ----------
    data : medlab.data.MaskSet
    seed : int
        Seeds the split and the weights.
    recipe : dict, optional
        Overrides of :data:`RECIPE` and :data:`RECIPE_OPTIONS` (tests pass tiny settings;
        ``benchmarks/segmentation.py`` passes :data:`PLAIN_UNET` for its baseline).
    split : {"grouped", "image"}
        "grouped" splits by ``data.subject`` when the file has it, else image by image
        (:func:`split_masks`).
    choose : bool
        First try ``candidates`` on the validation images with half the budget
        (:func:`choose_settings`), then train the best from scratch with the other half: the
        budgets add up to one training's (each training also pays its own graph tracing).
    candidates : sequence of dict
        Changes of the settings to choose among (default :data:`CANDIDATES`).

    Returns
    -------
    dict
        ``test_dice``, ``test_iou``, ``train_seconds``, ``epochs_run``, counts of the splits,
        with ``choose`` also ``chosen`` (the winner's changes) and ``candidate_val_dice``,
        ``val_dice`` (when there is a validation split: compare recipes by it, not by the test)
        and ``val_masks_multi_region``, ``val_masks_with_holes``, ``val_masks_at_edge`` (counts
        of validation predictions at 0.5 with more than one region, holes, pixels on the
        image's edge: :func:`medlab.metrics.mask_defects`), and when the file has pixel sizes
        and circumferences the :func:`hc_figures` of the test split (``hc_mae_mm``,
        ``hc_median_mm``, ``hc_signed_mm``, ...) and of the validation one (``val_hc_...``),
        ``hc_correction`` and ``hc_level`` (the outline's level). With ``level="choose"`` also
        ``chosen_level``, ``level_val_hc_mae_mm`` (the validation error at each of
        :data:`LEVELS`; the validation HC figures are then those the level was chosen by) and,
        with "choose" or any level other than 0.5, the same network's figures at 0.5
        (``level05_...``).
    """
    settings = {**RECIPE, **RECIPE_OPTIONS, **(recipe or {})}
    unknown = set(settings) - set(RECIPE) - set(RECIPE_OPTIONS)
    if unknown:
        raise ValueError(f"unknown recipe settings {sorted(unknown)}; expected "
                         f"{sorted(set(RECIPE) | set(RECIPE_OPTIONS))}")
    validate.choice("measure", settings["measure"], MEASURES)
    validate.choice("targets", settings["targets"], TARGETS)
    level = settings["level"]
    beside = level != 0.5  # a level other than the recipe's, or a choice: report 0.5 beside
    if level != "choose":
        level = validate.number("level", level, 0.0, 1.0, closed="neither")
    train, val, test = split_masks(data, seed, split, settings["val_fraction"], settings["test_fraction"])
    chosen = {}
    if choose:
        start = time.perf_counter()
        chosen, scores = choose_settings(train, val, settings, candidates, seed, share=0.5)
        trials = time.perf_counter() - start
        trial = _trial_budget(settings, len(candidates), 0.5)  # the trials' budgets, not their wall clock:
        rest = ({"epochs": max(1, settings["epochs"] - len(candidates) * trial["epochs"])}  # a busy machine
                if "epochs" in trial else {"time_budget_s": 0.5 * settings["time_budget_s"]})  # starves none
        settings = {**settings, **chosen, **rest}
    model, history = train_settings(train, val, settings, seed)
    result = {"n_train": len(train), "n_val": len(val), "n_test": len(test),
              "train_seconds": history["train_seconds"], "epochs_run": history["epochs_run"]}
    if choose:
        result.update(chosen=chosen, candidate_val_dice=[round(x, 4) for x in scores],
                      train_seconds=history["train_seconds"] + trials)
    measured = train.pixel_size_mm is not None and train.head_circumference_mm is not None
    correction = None
    if measured:  # learnt on the training masks, measured as the predictions will be
        targets = training_targets(train.masks, settings["targets"])
        correction = circumference_correction(targets, train.pixel_size_mm, train.head_circumference_mm,
                                              settings["measure"])
    measure = settings["measure"]
    p_val = _probabilities(model, val.images, settings) if len(val) else None
    p_test = _probabilities(model, test.images, settings)
    if level == "choose":  # on the validation maps; without HC figures there is nothing to choose
        level = 0.5
        if measured:
            if p_val is None:
                raise ValueError("level='choose' needs validation images: the split gave none")
            level, errors = choose_level(p_val, val.pixel_size_mm, val.head_circumference_mm, correction, measure)
            result.update(chosen_level=level, level_val_hc_mae_mm=[round(e, 4) for e in errors])
    if p_val is not None:  # what a change of the recipe is judged by; the test figures judge nothing
        result.update(_measured_figures(val, p_val, correction, measure, "val_", level))
        result.pop("val_iou")
        defects = metrics.mask_defects(threshold_masks(p_val))
        result.update(val_masks_multi_region=int(np.sum(defects["regions"] > 1)),
                      val_masks_with_holes=int(np.sum(defects["hole_pixels"] > 0)),
                      val_masks_at_edge=int(np.sum(defects["edge_pixels"] > 0)))
    figures = _measured_figures(test, p_test, correction, measure, "test_", level)
    result.update(test_dice=figures["test_dice"], test_iou=figures["test_iou"])
    if measured:
        result.update({key[len("test_"):]: value for key, value in figures.items() if key.startswith("test_hc_")},
                      hc_correction=correction, hc_level=level)
        if beside:  # the same network measured at 0.5 (even when the choice fell on it: pairs)
            if p_val is not None:
                result.update(hc_figures(val, p_val, correction, measure, 0.5, "level05_val_"))
            result.update(hc_figures(test, p_test, correction, measure, 0.5, "level05_"))
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
    "LARGE_HC_ERROR_MM", "LEVELS", "PLAIN_UNET", "RECIPE", "RECIPE_OPTIONS", "as_inputs", "choose_level",
    "hc_figures", "as_targets", "measure_circumferences", "ellipse_targets", "training_targets", "TARGETS",
    "MEASURES", "DISTANCE_WIDTH",
    "split_masks", "train_settings", "flip_probabilities", "CANDIDATES", "choose_settings",
    "circumference_correction", "evaluate", "compare_losses", "LossComparison",
    "nearest_neighbour_masks", "predict_probabilities", "split_comparison",
    "run_recipe", "threshold_masks",
    "train_segmenter",
]
