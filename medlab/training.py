"""Training helpers: compile and fit a binary classifier, budgets, class weights, histories.

=====================================  ===================================================
``compile_classifier(model, lr)``      Adam + binary cross-entropy + accuracy and AUC
``fit_classifier(model, ...)``         seeded ``fit`` on arrays -> history dict
``TimeBudget(seconds)``                callback: stop training when the wall clock is spent
``BestWeights(monitor, mode)``         callback: keep the best epoch's weights, restore at end
``class_weights(labels)``              ``{0: w0, 1: w1}`` balancing the two classes
``history_dict(history)``              ``keras.callbacks.History`` -> plain lists of floats
``predict_scores(model, x)``           probabilities of class 1, (N,)
``best_epoch(history, ...)``           index of the best epoch of a history dict
``learning_rate_trial(lr, x, y)``      train a small model briefly -> history dict
``learning_rate_explorer(x, y)``       log-scale slider over ``learning_rate_trial``
=====================================  ===================================================

Every function that trains calls ``medlab.seed_everything(seed)`` first: the same seed on the
same machine gives the same weights and the same curves.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from medlab import validate
from medlab._tensorflow import keras, seed_everything

# ----------------------------------------------------------------- callbacks
class TimeBudget(keras.callbacks.Callback):
    """Stop training once ``seconds`` of wall-clock time have passed since ``fit`` began.

    Checked after every batch, so training stops within one batch of the budget (plus the
    validation pass of the interrupted epoch, which Keras still runs).

    Attributes
    ----------
    seconds : float
    elapsed : float
        Seconds from the start of training to its end (set at the end of training).
    stopped : bool
        Whether the budget stopped training (False if ``epochs`` ran out first).
    """

    def __init__(self, seconds, clock=time.perf_counter):
        super().__init__()
        seconds = float(seconds)
        if not seconds > 0 or not math.isfinite(seconds):
            raise ValueError(f"seconds must be a positive number, got {seconds!r}")
        self.seconds = seconds
        self.clock = clock
        self.elapsed = 0.0
        self.stopped = False
        self._start = None

    def on_train_begin(self, logs=None):
        self._start = self.clock()
        self.stopped = False

    def on_train_batch_end(self, batch, logs=None):
        if self.clock() - self._start >= self.seconds:
            self.stopped = True
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self.elapsed = self.clock() - self._start


class BestWeights(keras.callbacks.Callback):
    """Remember the weights of the best epoch by ``monitor`` and restore them at the end.

    Unlike ``EarlyStopping`` it never stops training; use it with :class:`TimeBudget`.

    Attributes
    ----------
    best : float or None
        The best value of ``monitor``.
    best_epoch : int or None
        Its epoch (0-based).
    """

    def __init__(self, monitor="val_auc", mode="max"):
        super().__init__()
        validate.choice("mode", mode, ("min", "max"))
        self.monitor, self.mode = monitor, mode
        self.best = self.best_epoch = self._weights = None

    def on_train_begin(self, logs=None):
        self.best = self.best_epoch = self._weights = None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise KeyError(f"BestWeights: {self.monitor!r} is not in the logs {sorted(logs or {})}")
        value = float(value)
        better = self.best is None or (value > self.best if self.mode == "max" else value < self.best)
        if better:
            self.best, self.best_epoch = value, epoch
            self._weights = self.model.get_weights()

    def on_train_end(self, logs=None):
        if self._weights is not None:
            self.model.set_weights(self._weights)


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


def history_dict(history):
    """A ``History`` (or dict of lists) as ``{name: [float per epoch]}``."""
    logs = getattr(history, "history", history)
    return {name: [float(v) for v in values] for name, values in logs.items()}


def best_epoch(history, monitor="val_loss", mode="min"):
    """0-based index of the epoch with the lowest (``mode="min"``) or highest ``monitor``."""
    values = history_dict(history)[monitor]
    if not values:
        raise ValueError(f"history has no {monitor!r} values")
    return int(np.argmin(values) if mode == "min" else np.argmax(values))


def compile_classifier(model, learning_rate=1e-3):
    """Compile a sigmoid classifier: Adam(learning_rate), binary cross-entropy, accuracy, AUC.

    Returns the model. The AUC metric (``"auc"``, 200 thresholds) is an approximation
    good for monitoring; evaluate with :mod:`medlab.metrics`.
    """
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=float(learning_rate)),
        loss="binary_crossentropy",
        metrics=[keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc")],
    )
    return model


def as_image_batch(x, name="images"):
    """Images (N, H, W) or (N, H, W, C) as a float32 (N, H, W, C) batch.

    Raises ValueError naming ``name`` for any other rank.
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise ValueError(f"{name} must have shape (N, H, W) or (N, H, W, C), got {x.shape}")
    return x


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
        Compile with :func:`compile_classifier` first.

    Returns
    -------
    dict of str -> list of float
        ``loss``, ``accuracy``, ``auc`` per epoch, and ``val_...`` with validation data.
    """
    seed_everything(seed)
    x_train = as_image_batch(x_train, "x_train")
    y_train = _as_labels(y_train, len(x_train), "y_train")
    validation = None
    if x_val is not None:
        x_val = as_image_batch(x_val, "x_val")
        validation = (x_val, _as_labels(y_val, len(x_val), "y_val"))
    if compile:
        compile_classifier(model, learning_rate)
    history = model.fit(
        x_train, y_train, validation_data=validation, epochs=int(epochs),
        batch_size=int(batch_size), shuffle=True, verbose=0, callbacks=list(callbacks),
        class_weight=class_weights(y_train) if balance else None,
    )
    return history_dict(history)


def predict_scores(model, images, batch_size=256):
    """The model's probability of class 1 for each image, as a float array (N,).

    Calls the model eagerly (``training=False``, so augmentation and dropout are off) in
    batches of ``batch_size``. Unlike ``model.predict`` this traces no ``tf.function``, so
    several models predicting several splits cause no retracing warnings and no tracing time.
    """
    images = as_image_batch(images, "images")
    if len(images) == 0:
        return np.zeros(0, dtype=np.float32)
    outputs = [np.asarray(model(images[i:i + batch_size], training=False))
               for i in range(0, len(images), int(batch_size))]
    return np.concatenate(outputs).reshape(len(images), -1)[:, -1]


# ----------------------------------------------------- learning-rate explorer
#: Slider range of :func:`learning_rate_explorer`, as powers of ten.
LEARNING_RATE_RANGE = (1e-5, 1e-1)


#: Compiled trial networks by (input shape, batch size, validation): each move of the slider
#: reuses one (new weights, fresh optimizer) instead of compiling and tracing a new model.
_TRIAL_MODELS = {}


def _trial_network(input_shape):
    from medlab.models import improved_cnn

    return improved_cnn(input_shape, width=8, dropout=0.0, augment=False, name="trial")


def _reset_optimizer(optimizer, learning_rate):
    for variable in optimizer.variables:  # iterations, Adam's moments: back to 0
        variable.assign(np.zeros(variable.shape, dtype=variable.dtype))
    optimizer.learning_rate = learning_rate


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
    learning_rate = float(learning_rate)
    if not 0.0 < learning_rate <= 1.0:
        raise ValueError(f"learning_rate must be in (0, 1], got {learning_rate!r}")
    epochs = validate.integer("epochs", epochs, low=1)
    images = as_image_batch(images, "images")
    labels = _as_labels(labels, len(images), "labels")
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
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
        model = compile_classifier(_trial_network(images.shape[1:]), learning_rate)
        _TRIAL_MODELS[key] = model
    model.set_weights(initial)
    _reset_optimizer(model.optimizer, learning_rate)
    seed_everything(seed)
    history = model.fit(images[:split], labels[:split], validation_data=validation,
                        epochs=int(epochs), batch_size=int(batch_size), shuffle=True, verbose=0)
    return history_dict(history)


@dataclass(eq=False)
class LearningRateTrials:
    """What :func:`learning_rate_explorer` shows: the latest rate and every curve so far.

    Attributes
    ----------
    learning_rate : float
        The rate just tried.
    history : dict of str -> list of float
        Its history (from :func:`learning_rate_trial`).
    tried : dict of float -> history
        Every rate tried so far, in the order tried (the widget overlays their losses).
    """

    learning_rate: float
    history: dict
    tried: dict = field(default_factory=dict)

    @property
    def text(self):
        loss = self.history["loss"]
        return (f"learning rate {self.learning_rate:.0e}: training loss "
                f"{loss[0]:.2f} -> {loss[-1]:.2f} in {len(loss)} epochs")


def learning_rate_explorer(images, labels, epochs=5, seed=0, learning_rate=1e-3, batch_size=32):
    """A log-scale learning-rate slider that retrains and overlays the loss curves so far.

    Parameters
    ----------
    images, labels, epochs, seed, batch_size
        Passed to :func:`learning_rate_trial` (keep the subset small: each move retrains).
    learning_rate : float
        Rate tried first, in [1e-5, 1e-1].

    Returns
    -------
    ipywidgets.interactive
        ``.result`` is the latest :class:`LearningRateTrials`; ``.trials`` holds every
        history tried, keyed by rate (the same dict as ``.result.tried``).
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from medlab.plots import loss_curves

    low, high = LEARNING_RATE_RANGE
    if not low <= float(learning_rate) <= high:
        raise ValueError(f"learning_rate must be in [{low:g}, {high:g}], got {learning_rate!r}")
    images = as_image_batch(images, "images")
    labels = _as_labels(labels, len(images), "labels")
    tried = {}

    def show(learning_rate):
        rate = float(f"{learning_rate:.3g}")  # the slider's steps, without float noise
        if rate not in tried:
            tried[rate] = learning_rate_trial(rate, images, labels, epochs=epochs, seed=seed,
                                              batch_size=batch_size)
        result = LearningRateTrials(rate, tried[rate], tried)
        curves = {f"lr {r:.0e}": h for r, h in sorted(tried.items())}
        fig = loss_curves(curves, metrics=("loss",), validation=False,
                          title="training loss, every rate tried so far")
        plt.show()
        plt.close(fig)
        print(result.text)
        return result

    slider = widgets.FloatLogSlider(
        value=float(learning_rate), base=10, min=math.log10(low), max=math.log10(high), step=0.25,
        description="learning rate", readout_format=".0e", continuous_update=False,
        style={"description_width": "initial"},
    )
    widget = widgets.interactive(show, learning_rate=slider)
    widget.trials = tried
    return widget


__all__ = [
    "BestWeights", "LEARNING_RATE_RANGE", "LearningRateTrials", "TimeBudget",
    "as_image_batch", "best_epoch", "class_weights", "compile_classifier", "fit_classifier", "history_dict",
    "learning_rate_explorer", "learning_rate_trial", "predict_scores",
]
