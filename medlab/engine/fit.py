"""One ``fit`` every lesson trains through, and ``restart`` to reuse a compiled model.

=====================================  ===================================================
``fit(model, x, y, validation, ...)``  seed, (compile,) ``model.fit`` with a time budget,
                                       best weights, class weights -> :class:`Fit`
``restart(model, initial, ...)``       initial weights and a fresh optimizer state, no
                                       recompiling or retracing
``initial_state(build, seed)``         the variables of ``build()`` under ``seed``
``ShuffledBatches(x, y, ...)``         batches in a NumPy-seeded new order every epoch
``history_dict(history)``              ``keras.callbacks.History`` -> lists of floats
=====================================  ===================================================

Building and tracing a Keras training step costs seconds on a CPU, far more than a short
run: lessons that train many runs of one architecture (learning-rate trials, loss
comparisons, hyperparameter grids) compile once and :func:`restart` the model before each
run. The result equals a freshly built model's with the same seed (``tests/test_engine.py``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from medlab import validate
from medlab._tensorflow import keras, seed_everything
from medlab.engine.callbacks import BestWeights, TimeBudget


def history_dict(history):
    """A ``History`` (or dict of lists) as ``{name: [float per epoch]}``."""
    logs = getattr(history, "history", history)
    return {name: [float(v) for v in values] for name, values in logs.items()}


@dataclass(eq=False)
class Fit:
    """What :func:`fit` did.

    Attributes
    ----------
    history : dict of str -> list of float
        Per-epoch logs (``loss``, metrics, ``val_...``).
    seconds : float
        Wall-clock seconds of ``model.fit`` (volatile: never compare across machines).
    epochs_run : int
    stopped_by_budget : bool
        Whether ``time_budget_s`` ended the training.
    best_epoch : int or None
        With ``restore_best``: the 0-based epoch whose weights the model holds.
    """

    history: dict
    seconds: float
    epochs_run: int
    stopped_by_budget: bool = False
    best_epoch: int | None = None


def fit(model, x, y=None, validation=None, *, epochs, batch_size=None, seed=None,
        time_budget_s=None, restore_best=None, callbacks=(), class_weight=None, shuffle=True,
        optimizer=None, loss=None, metrics=None, jit_compile="auto"):
    """Seed, optionally compile, and train ``model`` with Keras' ``fit``.

    Parameters
    ----------
    model : keras.Model
    x, y : arrays, or ``x`` a ``keras.utils.PyDataset`` of (inputs, targets) and ``y`` None
    validation : tuple (x_val, y_val), optional
    epochs : int >= 1
    batch_size : int, optional
        Images per step (None with a dataset).
    seed : int, optional
        ``medlab.seed_everything(seed)`` first (then compiling): the same seed gives the same
        batches, dropout and augmentation draws.
    time_budget_s : float, optional
        Stop within one batch of this many seconds (:class:`~medlab.engine.callbacks.TimeBudget`).
    restore_best : (monitor, mode), optional
        E.g. ``("val_loss", "min")``: end with the weights of the best epoch
        (:class:`~medlab.engine.callbacks.BestWeights`).
    callbacks : sequence of keras callbacks
        Run before the budget and best-weights callbacks.
    class_weight : dict, optional
        Passed to ``model.fit``.
    shuffle : bool
        Shuffle the arrays every epoch; for a ``PyDataset``, the order of its batches (with
        NumPy's global generator). Never for :class:`ShuffledBatches`, which orders itself.
    optimizer, loss, metrics, jit_compile
        With ``optimizer`` and ``loss``: ``model.compile`` them after seeding. Without: the
        model must be compiled already (e.g. reused with :func:`restart`).

    Returns
    -------
    Fit
    """
    epochs = validate.integer("epochs", epochs, low=1)
    batch_size = validate.integer("batch_size", batch_size, low=1, allow_none=True)
    if (optimizer is None) != (loss is None):
        raise ValueError("optimizer and loss: expected both (to compile) or neither")
    if seed is not None:
        seed_everything(seed)
    if optimizer is not None:
        model.compile(optimizer=optimizer, loss=loss, metrics=metrics, jit_compile=jit_compile)
    extra = list(callbacks)
    if isinstance(x, ShuffledBatches):  # it orders its batches itself, epoch by epoch
        extra.insert(0, x.follow)
        shuffle = False
    budget = best = None
    if restore_best is not None:
        monitor, mode = restore_best
        best = BestWeights(monitor, mode)
        extra.append(best)
    if time_budget_s is not None:
        budget = TimeBudget(time_budget_s)
        extra.append(budget)
    start = time.perf_counter()
    history = model.fit(x, y, validation_data=validation, epochs=epochs, batch_size=batch_size,
                        shuffle=shuffle, verbose=0, callbacks=extra, class_weight=class_weight)
    seconds = time.perf_counter() - start
    logs = history_dict(history)
    return Fit(logs, seconds, len(next(iter(logs.values()), [])),
               bool(budget.stopped) if budget else False,
               best.best_epoch if best else None)


def initial_state(build, seed):
    """The values of every variable of ``build()`` built right after ``seed_everything(seed)``.

    Variables include the random layers' seed states, so a model restarted from them also
    draws the same dropout and augmentation as the freshly built one.
    """
    seed_everything(seed)
    return [np.asarray(v.numpy()) for v in build().variables]


def restart(model, initial, *, learning_rate=None):
    """Put a compiled model back to its initial state, ready to ``fit`` again.

    Assigns ``initial`` to the model's variables and zeros the optimizer's step counter and
    moments (its learning rate stays unless ``learning_rate`` is given). Nothing is rebuilt, compiled or traced:
    training after ``restart`` gives what a model freshly built with the same weights and
    compiled with the same optimizer gives.

    Parameters
    ----------
    model : keras.Model, compiled
    initial : keras.Model or list of arrays
        A model of the same architecture (its variables are copied), or values of
        ``model.variables`` (:func:`initial_state`) or of ``model.get_weights()``.
    learning_rate : float, optional
        The optimizer's new (constant) rate; default: left as it is.

    Returns
    -------
    model
    """
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        raise ValueError(f"model {model.name!r} is not compiled: compile it once before restart")
    if hasattr(initial, "variables"):
        values = [v.numpy() for v in initial.variables]
    else:
        values = list(initial)
    shapes = [tuple(np.shape(value)) for value in values]
    targets = next((t for t in (model.variables, model.weights)
                    if [tuple(v.shape) for v in t] == shapes), None)
    if targets is None:
        raise ValueError(f"initial has {len(values)} arrays: expected the shapes of model.variables "
                         f"({len(model.variables)}) or of model.weights ({len(model.weights)})")
    for variable, value in zip(targets, values, strict=True):
        variable.assign(value)
    for variable in optimizer.variables:  # iterations, moments: back to 0; the rate stays
        if variable.name != "learning_rate":
            variable.assign(np.zeros(variable.shape, dtype=variable.dtype))
    if learning_rate is not None:
        optimizer.learning_rate = float(learning_rate)
    return model


class ShuffledBatches(keras.utils.PyDataset):
    """``(x, y)`` batches visiting the images in a new order every epoch.

    The orders are ``numpy.random.default_rng(seed).permutation(N)``, one per epoch, drawn in
    advance; batch ``b`` holds ``order[b * batch_size:(b + 1) * batch_size]`` (the last one
    smaller). ``y`` is given to Keras as float32 (N, 1).

    The epoch is set by the Keras callback ``follow`` at the start of every training epoch
    (:func:`fit` adds it, and fits with ``shuffle=False`` so that Keras keeps the order), not
    by ``on_epoch_end``: Keras calls that also after a pass it makes to build the metrics of a
    model's first ``fit``, which would skip the first order.
    """

    def __init__(self, x, y, batch_size, epochs, seed=0):
        super().__init__()
        self.x = np.asarray(x)
        self.y = np.asarray(y, dtype=np.float32).reshape(len(self.x), -1)
        self.batch_size = validate.integer("batch_size", batch_size, low=1)
        rng = np.random.default_rng(seed)
        self.orders = [rng.permutation(len(self.x)) for _ in range(validate.integer("epochs", epochs, low=1))]
        self.epoch = 0
        self.follow = _FollowEpochs(self)

    def __len__(self):
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} out of range for {len(self)} batches")
        rows = self.orders[self.epoch][index * self.batch_size:(index + 1) * self.batch_size]
        return self.x[rows], self.y[rows]

    def on_epoch_end(self):
        """Nothing: :attr:`follow` sets the epoch."""


class _FollowEpochs(keras.callbacks.Callback):
    """Set ``batches.epoch`` to the epoch Keras begins."""

    def __init__(self, batches):
        super().__init__()
        self.batches = batches

    def on_epoch_begin(self, epoch, logs=None):
        if epoch >= len(self.batches.orders):
            raise IndexError(f"ShuffledBatches: epoch {epoch} but orders for {len(self.batches.orders)} epochs")
        self.batches.epoch = epoch


__all__ = ["Fit", "ShuffledBatches", "fit", "history_dict", "initial_state", "restart"]
