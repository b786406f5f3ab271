"""The classification recipe of lessons 07 and 08: compile and fit a binary classifier, class weights.

=====================================  ===================================================
``fit_classifier(model, ...)``         seeded ``fit`` on arrays -> history dict
``class_weights(labels)``              ``{0: w0, 1: w1}`` balancing the two classes
``predict_scores(model, x)``           probabilities of class 1, (N,)
``best_epoch(history, ...)``           index of the best epoch of a history dict
``learning_rate_trial(lr, x, y)``      train a small model briefly -> history dict
``own_images_vs_held_out(build, ...)`` the article's figure (its training images) and the
                                       held-out one, per seed -> rows, histories
=====================================  ===================================================

Training and prediction go through :mod:`medlab.engine` (``fit``, ``restart``, ``predict``);
the learning-rate slider over :func:`learning_rate_trial` is
:func:`medlab.widgets.learning_rate_explorer`. Every function that trains seeds first: the
same seed on the same machine gives the same weights and the same curves.
"""

from __future__ import annotations

import numpy as np

from medlab import validate
from medlab._tensorflow import keras, seed_everything
from medlab.engine.fit import fit, history_dict, restart
from medlab.engine.predict import as_batch, predict

# ------------------------------------------------------------------ helpers
def class_weights(labels):
    """Weights that make both classes count equally in the loss: ``n / (2 n_c)``.

    Parameters
    ----------
    labels : array_like of 0/1, (N,) or (N, 1)

    Returns
    -------
    dict {0: float, 1: float}
        E.g. 1,214 normal and 3,494 pneumonia images give {0: 1.94, 1: 0.67}.

    Raises
    ------
    ValueError
        If a class is missing or a label is not 0 or 1.
    """
    labels = np.asarray(labels).reshape(-1)
    if labels.size == 0 or not np.all((labels == 0) | (labels == 1)):
        raise ValueError("labels must be a non-empty array of 0 and 1")
    counts = np.bincount(labels.astype(np.int64), minlength=2)
    if counts.min() == 0:
        raise ValueError(f"both classes are needed to weight them; counts are {counts.tolist()}")
    return {c: float(labels.size / (2 * counts[c])) for c in (0, 1)}


def best_epoch(history, monitor="val_loss", mode="min"):
    """0-based index of the epoch with the lowest (``mode="min"``) or highest ``monitor``."""
    values = history_dict(history)[monitor]
    if not values:
        raise ValueError(f"history has no {monitor!r} values")
    return int(np.argmin(values) if mode == "min" else np.argmax(values))


def _compile_classifier(model, learning_rate=1e-3):
    """Compile a sigmoid classifier: Adam(learning_rate), binary cross-entropy, accuracy, AUC.

    Returns the model. The AUC metric (``"auc"``, 200 thresholds) is an approximation
    good for monitoring; evaluate with :mod:`medlab.metrics`.
    """
    model.compile(**_classifier_settings(learning_rate))
    return model


def _classifier_settings(learning_rate):
    return {"optimizer": keras.optimizers.Adam(learning_rate=float(learning_rate)),
            "loss": "binary_crossentropy",
            "metrics": [keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc")]}


def _as_labels(y, n, name):
    y = np.asarray(y, dtype=np.float32).reshape(-1)
    if y.shape[0] != n:
        raise ValueError(f"{name} has {y.shape[0]} labels for {n} images")
    return y


def fit_classifier(model, x_train, y_train, x_val=None, y_val=None, *, epochs=10, batch_size=32,
                   learning_rate=1e-3, seed=0, balance=False, callbacks=(), compile=True):
    """Seed, compile and fit a binary classifier on arrays; return the history as a dict.

    Parameters
    ----------
    model : keras.Model
        Built (from ``keras.Input``), uncompiled unless ``compile=False``.
    x_train, x_val : float32 arrays (N, H, W, C) in [0, 1]
    y_train, y_val : arrays (N,) of 0/1
    epochs, batch_size : int
    learning_rate : float
        Adam's step size.
    seed : int
        Passed to ``medlab.seed_everything`` before compiling; it also fixes the
        shuffling of the batches and the augmentation.
    balance : bool
        Weight the classes with :func:`class_weights` (for unbalanced data).
    callbacks : sequence of keras callbacks
    compile : bool
        Compile with :func:`_compile_classifier` first.

    Returns
    -------
    dict of str -> list of float
        ``loss``, ``accuracy``, ``auc`` per epoch, and ``val_...`` with validation data.
    """
    x_train = as_batch(x_train, "x_train")
    y_train = _as_labels(y_train, len(x_train), "y_train")
    validation = None
    if x_val is not None:
        x_val = as_batch(x_val, "x_val")
        validation = (x_val, _as_labels(y_val, len(x_val), "y_val"))
    settings = _classifier_settings(learning_rate) if compile else {}
    return fit(model, x_train, y_train, validation, epochs=epochs, batch_size=batch_size, seed=seed,
               callbacks=callbacks, class_weight=class_weights(y_train) if balance else None,
               **settings).history


def predict_scores(model, images, batch_size=256):
    """The model's probability of class 1 for each image, as a float array (N,).

    Inference mode (augmentation and dropout off), batched by :func:`medlab.engine.predict.predict`.
    """
    return predict(model, images, batch_size).reshape(len(images), -1)[:, -1]


# ----------------------------------------------------- learning-rate trials (lesson 07's slider)
#: Compiled trial networks by (input shape, batch size, validation): each move of the slider
#: reuses one (new weights, fresh optimizer) instead of compiling and tracing a new model.
_TRIAL_MODELS = {}


def _trial_network(input_shape):
    from medlab.models import improved_cnn

    return improved_cnn(input_shape, width=8, dropout=0.0, augment=False, name="trial")


def learning_rate_trial(learning_rate, images, labels, epochs=5, seed=0, batch_size=32,
                        validation_split=0.0):
    """Train a small network briefly at one learning rate; return its history.

    The network is a narrow :func:`medlab.models.improved_cnn` (8 filters, no augmentation
    or dropout): it learns in a few epochs, so good and bad rates differ visibly. The same
    seed gives the same initial weights and batches for every rate, so the curves of
    different rates differ only by the rate. The result depends only on the arguments (a
    compiled network is reused between calls, reset to the seed's initial weights and a
    fresh optimizer, which saves a second or two per call).

    Parameters
    ----------
    learning_rate : float in (0, 1]
    images : array (N, H, W) or (N, H, W, C) in [0, 1]
        A small subset (a few hundred images of 32 x 32 train in about a second).
    labels : array (N,) of 0/1
    epochs : int >= 1
    seed : int
    batch_size : int
    validation_split : float in [0, 1)
        The last fraction of the images is held out for ``val_loss``; 0 (default) for none.

    Returns
    -------
    dict of str -> list of float
        ``loss``, ``accuracy``, ``auc`` (and ``val_...``) per epoch.
    """
    learning_rate = validate.number("learning_rate", learning_rate, 0.0, 1.0, low_open=True)
    epochs = validate.integer("epochs", epochs, low=1)
    images = as_batch(images, "images")
    labels = _as_labels(labels, len(images), "labels")
    validation_split = validate.number("validation_split", validation_split, 0.0, 1.0)
    if validation_split == 1.0:
        raise ValueError(f"validation_split {validation_split!r}: expected a number in [0, 1)")
    n_val = int(round(len(images) * validation_split))
    split = len(images) - n_val
    if split < 1:
        raise ValueError("validation_split leaves no training images")
    validation = (images[split:], labels[split:]) if n_val else None

    seed_everything(seed)
    initial = _trial_network(images.shape[1:]).get_weights()  # the seed's initial weights
    key = (images.shape[1:], int(batch_size), n_val > 0)
    model = _TRIAL_MODELS.get(key)
    if model is None:
        model = _compile_classifier(_trial_network(images.shape[1:]), learning_rate)
        _TRIAL_MODELS[key] = model
    restart(model, initial, learning_rate=learning_rate)
    return fit(model, images[:split], labels[:split], validation, epochs=epochs,
               batch_size=batch_size, seed=seed).history


# ------------------------------- the article's figure: predicting on its own training images
def own_images_vs_held_out(build, x_train, y_train, x_held, y_held, *, seeds, repeat=1, epochs=16,
                           batch_size=16, learning_rate=1e-3, threshold=0.5):
    """Train one network per seed, then score it on its own training images and on held-out ones.

    The article fitted its network on a generator of training images and then called
    ``predict_generator`` on that same generator: its reported figure was measured on the
    images the network had learned. This recipe measures that figure and the honest one (on
    images the network never saw) for the same network, seed by seed, so that
    :func:`medlab.evidence.verdict` can pair them.

    Parameters
    ----------
    build : callable () -> keras.Model
        Builds the uncompiled network; called after ``seed_everything(seed)``, so the seed
        decides the initial weights.
    x_train, x_held : float32 arrays (N, H, W, C) in [0, 1]
        The training images (each distinct image once) and the held-out images.
    y_train, y_held : arrays (N,) of 0/1
    seeds : sequence of int
        One network per seed (initial weights and batch order).
    repeat : int >= 1
        Each training image is shown ``repeat`` times per epoch (the article's
        ``steps_per_epoch`` cycled a small folder several times an epoch).
    epochs, batch_size, learning_rate
        As in :func:`fit_classifier` (Adam, binary cross-entropy, no early stopping).
    threshold : float in (0, 1)
        Probability at or above which an image is called class 1, for the accuracy.

    Returns
    -------
    rows : list of dict
        Two per seed: ``seed``, ``images`` (``"its training images"`` or
        ``"held-out images"``), ``accuracy`` (fraction of images called right, at
        ``threshold``) and ``auc`` (ROC AUC), for :func:`medlab.evidence.mean_sd_by`.
    histories : dict of int -> dict
        Each seed's history (``loss``, ``val_loss``, ... per epoch; the held-out images are
        the validation data).
    """
    from medlab import metrics

    seeds = [validate.integer("seeds", s) for s in seeds]
    if not seeds:
        raise validate.ArgumentError("seeds is empty: expected at least one seed")
    repeat = validate.integer("repeat", repeat, low=1)
    validate.number("threshold", threshold, 0.0, 1.0, closed="neither")
    x_train, x_held = as_batch(x_train, "x_train"), as_batch(x_held, "x_held")
    y_train = _as_labels(y_train, len(x_train), "y_train")
    y_held = _as_labels(y_held, len(x_held), "y_held")
    x_fit, y_fit = np.tile(x_train, (repeat, 1, 1, 1)), np.tile(y_train, repeat)
    rows, histories, model = [], {}, None
    for seed in seeds:
        seed_everything(seed)
        initial = build()
        if model is None:  # compile and trace once; later seeds restart it from their own weights
            model = _compile_classifier(initial, learning_rate)
        else:
            restart(model, initial, learning_rate=learning_rate)
        histories[seed] = fit(model, x_fit, y_fit, (x_held, y_held), epochs=epochs,
                              batch_size=batch_size, seed=seed).history
        for images, x, y in (("its training images", x_train, y_train), ("held-out images", x_held, y_held)):
            p = predict_scores(model, x)
            rows.append({"seed": seed, "images": images,
                         "accuracy": float(np.mean((p >= threshold) == (y == 1))),
                         "auc": float(metrics.auc(y, p))})
    return rows, histories


__all__ = [
    "best_epoch", "class_weights", "fit_classifier", "learning_rate_trial",
    "own_images_vs_held_out", "predict_scores",
]
