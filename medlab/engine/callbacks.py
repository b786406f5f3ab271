"""Keras callbacks of the kit's training: wall-clock budgets, best weights, rates.

=====================================  ===================================================
``TimeBudget(seconds)``                stop training when the wall clock is spent
``BestWeights(monitor, mode)``         keep the best epoch's weights, restore at the end
``TimeCosineDecay(lr, seconds)``       cosine decay of the rate over wall-clock seconds
``StepRates(rates)``                   the learning rate of every step, given in advance
``BatchLosses()``                      the loss after every batch
``EpochEnd(function)``                 call ``function(model)`` after every epoch
=====================================  ===================================================
"""

from __future__ import annotations

import time

import numpy as np

from medlab import validate
from medlab._tensorflow import keras


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
        self.seconds = validate.number("seconds", seconds, 0.0, low_open=True)
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


class TimeCosineDecay(keras.callbacks.Callback):
    """Cosine decay of the learning rate over wall-clock seconds instead of steps.

    Before every batch: lr = lr0 (1 + cos(pi t / T)) / 2, with t the seconds since training
    began and T the budget: 0 at the budget, where :class:`TimeBudget` stops training. A
    slower machine runs fewer epochs, but every machine ends with small steps.
    """

    def __init__(self, learning_rate, seconds, clock=time.perf_counter):
        super().__init__()
        self.learning_rate = validate.number("learning_rate", learning_rate, 0.0)
        self.seconds = validate.number("seconds", seconds, 0.0, low_open=True)
        self.clock = clock
        self._start = None

    def on_train_begin(self, logs=None):
        self._start = self.clock()

    def on_train_batch_begin(self, batch, logs=None):
        fraction = min(1.0, (self.clock() - self._start) / self.seconds)
        self.model.optimizer.learning_rate.assign(
            self.learning_rate * 0.5 * (1 + np.cos(np.pi * fraction)))


class StepRates(keras.callbacks.Callback):
    """Set the learning rate before every training step to ``rates[step]``.

    ``rates`` (one per step of the whole training, e.g. a schedule evaluated in advance)
    are assigned to the optimizer's rate variable: changing them never retraces the step.
    """

    def __init__(self, rates):
        super().__init__()
        self.rates = validate.values("rates", rates, 0).astype(np.float32).reshape(-1)
        self.step = 0

    def on_train_begin(self, logs=None):
        self.step = 0

    def on_train_batch_begin(self, batch, logs=None):
        if self.step >= len(self.rates):
            raise IndexError(f"StepRates: step {self.step} but only {len(self.rates)} rates")
        self.model.optimizer.learning_rate.assign(self.rates[self.step])
        self.step += 1


class BatchLosses(keras.callbacks.Callback):
    """``losses``: the ``loss`` logged after every training batch (a running mean per epoch)."""

    def __init__(self):
        super().__init__()
        self.losses = []

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(float((logs or {}).get("loss", np.nan)))


class EpochEnd(keras.callbacks.Callback):
    """Call ``function(model)`` after every epoch (e.g. to score the model in inference mode)."""

    def __init__(self, function):
        super().__init__()
        self.function = function

    def on_epoch_end(self, epoch, logs=None):
        self.function(self.model)


__all__ = ["BatchLosses", "BestWeights", "EpochEnd", "StepRates", "TimeBudget", "TimeCosineDecay"]
