"""Keras callbacks of the kit's training: wall-clock budgets, best weights, rates.

=====================================  ===================================================
``TimeBudget(seconds)``                stop training when the wall clock is spent
``BestWeights(monitor, mode)``         keep the best epoch's weights, restore at the end
``TimeCosineDecay(lr, seconds)``       cosine decay of the rate over wall-clock seconds
``StepRates(rates)``                   the learning rate of every step, given in advance
``BatchLosses()``                      the loss after every batch
``EpochEnd(function)``                 call ``function(model)`` after every epoch
``EpochPlan(plan, schedule, ...)``     end after ``plan["epochs"]``, fewer when they won't fit
                                       (``EpochPlan.affordable_epochs``: how many fit)
=====================================  ===================================================
"""

from __future__ import annotations

import math
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


#: The keys of :class:`EpochPlan`'s ``plan``.
PLAN_KEYS = ("epochs", "scale", "seconds", "start", "epoch_seconds")


class EpochPlan(keras.callbacks.Callback):
    """End a network's training after ``plan["epochs"]`` epochs and, when ``plan["scale"]``,
    lower that number as soon as the clock says the epochs left would not fit.

    ``plan`` is a dict shared by the networks trained one after the other (it is updated in
    place): ``"epochs"`` (int, per network), ``"scale"`` (bool), ``"seconds"`` (the training
    budget of all the networks, s), ``"start"`` (``clock()`` when the first began, s) and
    ``"epoch_seconds"`` (list, s: each epoch's duration, every network's first, which traces
    the step, left out). Once :attr:`MIN_TIMED_EPOCHS` durations are in (one slow epoch, a
    retrace or a burst of load, must not cut the plan), after each epoch the rate is their
    median; the epochs per network become :meth:`affordable_epochs` for this network and
    ``members_left`` more, and ``schedule.total_steps``
    (:class:`medlab.engine.schedules.AdjustableCosine`) becomes ``epochs x steps`` (``steps``:
    batches per epoch), so the rate still decays to 0; never less than the steps already
    taken + 1 (:meth:`schedule_length`), so the schedule never ends before the step it is on.

    >>> clock = iter([0.0, 6.0, 6.0, 10.0, 10.0, 14.0, 14.0, 18.0]).__next__  # 6 s (tracing), then 4 s
    >>> plan = {"epochs": 10, "scale": True, "seconds": 50.0, "start": 0.0, "epoch_seconds": []}
    >>> from medlab.engine.schedules import AdjustableCosine
    >>> schedule = AdjustableCosine(1e-3, 10 * 7)
    >>> callback = EpochPlan(plan, schedule, steps=7, members_left=1, clock=clock)
    >>> for epoch in range(4):
    ...     callback.on_epoch_begin(epoch)
    ...     callback.on_epoch_end(epoch)
    >>> plan["epochs"], float(schedule.total_steps.numpy())  # 32 s left at 4 s: 2 more, then 6
    (6, 42.0)
    """

    #: Epoch durations (each network's first left out) needed before the plan may change.
    MIN_TIMED_EPOCHS = 3

    def __init__(self, plan, schedule, steps, members_left, clock=time.perf_counter):
        super().__init__()
        missing = [key for key in PLAN_KEYS if key not in plan]
        if missing:
            raise ValueError(f"plan: missing {missing}; expected a dict with the keys {list(PLAN_KEYS)}")
        self.plan, self.schedule, self.clock = plan, schedule, clock
        self.steps = validate.integer("steps", steps, 1)
        self.members_left = validate.integer("members_left", members_left, 0)
        self._began = None

    @staticmethod
    def affordable_epochs(planned, done, members_left, seconds_left, seconds_per_epoch):
        """Epochs per network that fit: the current network's remaining ones plus ``members_left``
        more networks of as many epochs in ``seconds_left`` seconds at ``seconds_per_epoch``
        seconds an epoch; at most ``planned``, at least ``done`` (the current network, which has
        run ``done`` epochs, stops now) and 1. Returns an int.

        >>> EpochPlan.affordable_epochs(25, 2, 1, 100.0, 2.0)  # 23 + 25 fit in 50 epochs' time
        25
        >>> EpochPlan.affordable_epochs(25, 2, 1, 60.0, 2.0)   # (30 + 2) // 2: 14 more + 16
        16
        >>> EpochPlan.affordable_epochs(25, 10, 1, 4.0, 2.0)   # this network stops at 10
        10
        """
        planned = validate.integer("planned", planned, 1)
        done = validate.integer("done", done, 0)
        members_left = validate.integer("members_left", members_left, 0)
        seconds_left = float(seconds_left)  # may be negative: the time is already spent
        if math.isnan(seconds_left):
            raise validate.ArgumentError("seconds_left nan: expected a number of seconds (inf: no limit)")
        seconds_per_epoch = validate.number("seconds_per_epoch", seconds_per_epoch, 0.0, low_open=True)
        epochs_left = seconds_left / seconds_per_epoch
        if not math.isfinite(epochs_left):  # no limit, or epochs too short to time
            return max(1, done, planned) if epochs_left > 0 else max(1, done)
        fit = int((epochs_left + done) // (1 + members_left))
        return max(1, done, min(planned, fit))

    @staticmethod
    def schedule_length(epochs, steps, taken):
        """The schedule's new ``total_steps`` (float): ``epochs x steps``, at least ``taken + 1``
        (``taken``: the weight updates already made), so that it never ends before the step it
        is on, nor is 0.

        >>> EpochPlan.schedule_length(6, 7, 28), EpochPlan.schedule_length(4, 7, 28)
        (42.0, 29.0)
        """
        epochs = validate.integer("epochs", epochs, 1)
        steps = validate.integer("steps", steps, 1)
        taken = validate.integer("taken", taken, 0)
        return float(max(epochs * steps, taken + 1))

    def _steps_taken(self, epoch):
        """Weight updates made so far: the optimizer's count where the model has one, and at
        least ``steps`` per epoch run."""
        counted = (epoch + 1) * self.steps
        iterations = getattr(getattr(self.model, "optimizer", None), "iterations", None)
        if iterations is None:
            return counted
        return max(counted, int(iterations.numpy() if hasattr(iterations, "numpy") else iterations))

    def on_epoch_begin(self, epoch, logs=None):
        self._began = self.clock()

    def on_epoch_end(self, epoch, logs=None):
        now = self.clock()
        if epoch > 0:
            self.plan["epoch_seconds"].append(now - self._began)
        rate = float(np.median(self.plan["epoch_seconds"])) if self.plan["epoch_seconds"] else 0.0
        if self.plan["scale"] and len(self.plan["epoch_seconds"]) >= self.MIN_TIMED_EPOCHS and rate > 0:
            left = self.plan["seconds"] - (now - self.plan["start"])  # a clock too coarse to time: no change
            epochs = self.affordable_epochs(self.plan["epochs"], epoch + 1, self.members_left, left, rate)
            if epochs < self.plan["epochs"]:
                self.plan["epochs"] = epochs
                self.schedule.total_steps.assign(
                    self.schedule_length(epochs, self.steps, self._steps_taken(epoch)))
        if epoch + 1 >= self.plan["epochs"]:
            self.model.stop_training = True


__all__ = ["BatchLosses", "BestWeights", "EpochEnd", "EpochPlan", "PLAN_KEYS", "StepRates", "TimeBudget",
           "TimeCosineDecay"]
