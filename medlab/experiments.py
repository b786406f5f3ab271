"""Small, fast hyperparameter experiments for lesson 10: one trial, a grid of trials, a table.

=====================================  ===================================================
``SETTINGS``                           the default settings of a trial (lesson 07's)
``small_cnn(input_shape, ...)``        a narrow CNN whose kernel, activation and width vary
``trial(data, epochs, seed, **s)``     train it on arrays -> :class:`Trial` (AUCs, losses)
``Runner(data, epochs, seed)``         ``trial`` with its results remembered by settings
``grid(trial_fn, **axes)``             every combination of ``axes`` -> list of row dicts
``table(rows, columns)``               rows as a fixed-width text table, figures rounded
=====================================  ===================================================

A full run of lesson 07 takes tens of seconds; a trial here trains a network of a few
thousand weights on a few hundred 28 x 28 images for a few epochs (about a second), so a
lesson can sweep a dozen settings under nbval. ``medlab.course.runs.sweep`` runs the real lesson.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import numpy as np

from medlab import validate
from medlab._tensorflow import keras, seed_everything

#: The settings a trial varies, and their defaults (lesson 07's, except the small network).
SETTINGS = {
    "kernel_size": 3,
    "activation": "relu",
    "learning_rate": 1e-3,
    "batch_size": 32,
    "optimizer": "adam",
    "loss": "binary_crossentropy",
    "regularised": False,
    "width": 8,
    "batch_norm": True,
}
#: Names accepted by ``optimizer`` and ``loss``.
OPTIMIZERS = ("adam", "sgd", "rmsprop")
LOSSES = ("binary_crossentropy", "mse")
ACTIVATIONS = ("relu", "sigmoid", "tanh")


def small_cnn(input_shape, kernel_size=3, activation="relu", width=8, regularised=False,
              batch_norm=True, name="small_cnn"):
    """[Conv(k, width) -> BN -> act -> MaxPool 2] -> same with 2 width -> Flatten -> Dense 1 sigmoid.

    Parameters
    ----------
    input_shape : tuple (H, W, C)
    kernel_size : int, odd
        Side of both convolution kernels ("same" padding, so any odd size fits).
    activation : str
        Hidden activation, one of :data:`ACTIVATIONS`.
    width : int
        Filters of the first convolution.
    regularised : bool
        Add dropout 0.5 before the output and an L2 penalty (1e-3) on every kernel.
    batch_norm : bool
        Batch normalisation (momentum 0.9) between each convolution and its activation:
        it makes a network this small learn in a few epochs.

    Returns
    -------
    keras.Sequential, uncompiled, (N, H, W, C) -> (N, 1) probabilities.
    """
    validate.choice("activation", activation, ACTIVATIONS)
    kernel_size = validate.integer("kernel_size", kernel_size, low=1, odd=True)
    layers = keras.layers
    penalty = keras.regularizers.L2(1e-3) if regularised else None
    stack = [keras.Input(shape=tuple(int(s) for s in input_shape))]
    for tag, filters in (("1", int(width)), ("2", 2 * int(width))):
        stack.append(layers.Conv2D(filters, int(kernel_size), padding="same", kernel_regularizer=penalty,
                                   name=f"conv{tag}"))
        if batch_norm:
            stack.append(layers.BatchNormalization(momentum=0.9, name=f"bn{tag}"))
        stack += [layers.Activation(activation, name=f"{activation}{tag}"),
                  layers.MaxPooling2D(2, name=f"pool{tag}")]
    stack.append(layers.Flatten(name="flatten"))
    if regularised:
        stack.append(layers.Dropout(0.5, name="dropout"))
    stack.append(layers.Dense(1, activation="sigmoid", kernel_regularizer=penalty, name="output"))
    return keras.Sequential(stack, name=name)


def _optimizer(name, learning_rate):
    classes = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD,
               "rmsprop": keras.optimizers.RMSprop}
    validate.choice("optimizer", name, OPTIMIZERS)
    return classes[name](learning_rate=float(learning_rate))


@dataclass
class Trial:
    """What one trial gives back.

    Attributes
    ----------
    settings : dict
        The full settings (defaults filled in).
    history : dict of str -> list of float
        ``loss``, ``auc`` and ``val_loss``, ``val_auc`` per epoch (Keras' approximate AUC).
    train_auc, val_auc : float
        Exact ROC AUC (:func:`medlab.metrics.auc`) of the final weights.
    val_scores : array (N_val,)
        Probabilities of class 1 on the validation images.
    parameters : int
        Trainable weights of the network.
    seconds : float
        Wall-clock seconds of ``fit`` (volatile: never compare it across machines).
    """

    settings: dict
    history: dict
    train_auc: float
    val_auc: float
    val_scores: np.ndarray = field(repr=False)
    parameters: int
    seconds: float

    def row(self):
        """Settings and results as one flat dict (for :func:`table`)."""
        return {**self.settings, "train_auc": self.train_auc, "val_auc": self.val_auc,
                "loss": self.history["loss"][-1], "val_loss": self.history["val_loss"][-1],
                "parameters": self.parameters, "seconds": self.seconds}


def trial(data, epochs=3, seed=0, **settings):
    """Train :func:`small_cnn` on ``data``'s train split; evaluate on its validation split.

    Parameters
    ----------
    data : ClassificationData
        From :func:`medlab.datasets.load_classification_data`; only train and val are used.
    epochs : int >= 1
    seed : int
        Seeds the weights and the batches: two trials differ only by their settings.
    **settings
        Any of :data:`SETTINGS` (others keep their defaults).

    Returns
    -------
    Trial
    """
    from medlab.metrics import auc
    from medlab.training import history_dict, predict_scores

    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise ValueError(f"unknown setting {unknown[0]!r}; expected some of {sorted(SETTINGS)}")
    epochs = validate.integer("epochs", epochs, low=1)
    s = {**SETTINGS, **settings}
    validate.choice("loss", s["loss"], LOSSES)
    seed_everything(seed)
    model = small_cnn(data.x_train.shape[1:], s["kernel_size"], s["activation"], s["width"],
                      s["regularised"], s["batch_norm"])
    model.compile(optimizer=_optimizer(s["optimizer"], s["learning_rate"]), loss=s["loss"],
                  metrics=[keras.metrics.AUC(name="auc")])
    y_train = data.y_train.astype(np.float32)
    start = time.perf_counter()
    history = model.fit(data.x_train, y_train, validation_data=(data.x_val, data.y_val.astype(np.float32)),
                        epochs=int(epochs), batch_size=int(s["batch_size"]), shuffle=True, verbose=0)
    seconds = time.perf_counter() - start
    p_val = predict_scores(model, data.x_val)
    p_train = predict_scores(model, data.x_train)
    return Trial(s, history_dict(history), auc(data.y_train, p_train), auc(data.y_val, p_val), p_val,
                 int(sum(np.prod(w.shape) for w in model.trainable_weights)), seconds)


class Runner:
    """``trial`` with fixed data, epochs and seed, remembering every result by its settings.

    ``run = Runner(data, epochs=5, seed=0)``; ``run(kernel_size=5)`` trains once, and any
    later call with the same full settings (``run(kernel_size=5, activation="relu")``)
    returns the same :class:`Trial` without training again. Use it as ``grid``'s ``trial_fn``.
    """

    def __init__(self, data, epochs=3, seed=0):
        self.data, self.epochs, self.seed = data, epochs, seed
        self.done = {}

    def __call__(self, **settings):
        key = tuple(sorted({**SETTINGS, **settings}.items()))
        if key not in self.done:
            self.done[key] = trial(self.data, epochs=self.epochs, seed=self.seed, **settings)
        return self.done[key]


def grid(trial_fn, **axes):
    """Call ``trial_fn(**combination)`` for every combination of ``axes``; return the rows.

    Parameters
    ----------
    trial_fn : callable
        Keyword arguments -> :class:`Trial` (or a dict); e.g.
        ``functools.partial(trial, data, epochs=3)``.
    **axes : name -> sequence of values
        First name varies slowest.

    Returns
    -------
    list of dict
        One row per combination: the swept values, then the trial's results.
    """
    if not axes or any(len(values) == 0 for values in axes.values()):
        raise ValueError("grid: expected at least one axis with at least one value")
    names = list(axes)
    rows = []
    for values in itertools.product(*axes.values()):
        combination = dict(zip(names, values))
        result = trial_fn(**combination)
        result = result.row() if hasattr(result, "row") else dict(result)
        rows.append({**combination, **{k: v for k, v in result.items() if k not in combination}})
    return rows


def _cell(value, digits):
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return f"{value:.0e}" if value != 0 and abs(value) < 0.01 else f"{value:.{digits}f}"
    return str(value)


def table(rows, columns, digits=2):
    """Rows as a text table of ``columns``, floats rounded to ``digits`` (small ones as 1e-04).

    Returns
    -------
    str
        A header line, a rule, and one line per row, columns right-aligned.
    """
    columns = list(columns)
    cells = [[_cell(row.get(c), digits) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(line[i]) for line in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.rjust(w) for v, w in zip(line, widths)) for line in cells]
    return "\n".join(lines)


__all__ = ["ACTIVATIONS", "LOSSES", "OPTIMIZERS", "Runner", "SETTINGS", "Trial", "grid", "small_cnn", "table",
           "trial"]
