"""Learning-rate schedules and optimizers by name (lesson 14 varies both).

=====================================  ===================================================
``learning_rate_schedule(name, ...)``  constant, step decay, cosine, warm-up (Keras schedules)
``schedule_rates(name, lr, steps)``    the rate of every step as a float32 array
``optimizer(name, learning_rate)``     Adam, SGD or RMSprop
``AdjustableCosine(lr, total_steps)``  cosine decay whose length may shrink during training
=====================================  ===================================================
"""

from __future__ import annotations

import numpy as np

from medlab import validate
from medlab._tensorflow import keras

#: Names accepted by :func:`learning_rate_schedule` and :func:`optimizer`.
SCHEDULES = ("constant", "step", "cosine", "warmup")
OPTIMIZERS = ("adam", "sgd", "rmsprop")


def learning_rate_schedule(name, learning_rate, total_steps):
    """A Keras learning-rate schedule over ``total_steps`` weight updates.

    ``"constant"``: ``learning_rate`` throughout. ``"step"`` (step decay): divided by 10
    after half of the steps and again after three quarters. ``"cosine"``: from
    ``learning_rate`` down to 0 along half a cosine. ``"warmup"``: up from 0 in a straight
    line over the first quarter of the steps, then constant.

    Parameters
    ----------
    name : str, one of :data:`SCHEDULES`
    learning_rate : float > 0
    total_steps : int >= 1
        Epochs x batches per epoch.

    Returns
    -------
    keras.optimizers.schedules.LearningRateSchedule
        Call it with a step number (0-based) to get that step's rate.
    """
    validate.choice("schedule", name, SCHEDULES)
    rate = validate.number("learning_rate", learning_rate, low=0.0)
    total = validate.integer("total_steps", total_steps, low=1)
    schedules = keras.optimizers.schedules
    if name == "constant":
        return schedules.PiecewiseConstantDecay([total], [rate, rate])
    if name == "step":
        # PiecewiseConstantDecay keeps values[i] up to and including boundaries[i]
        last_full, last_tenth = max(0, total // 2 - 1), max(1, (3 * total) // 4 - 1)
        return schedules.PiecewiseConstantDecay([last_full, last_tenth], [rate, rate / 10, rate / 100])
    if name == "cosine":
        return schedules.CosineDecay(rate, decay_steps=total)
    warm = max(1, total // 4)
    return schedules.CosineDecay(0.0, decay_steps=max(1, total - warm), alpha=1.0, warmup_target=rate,
                                 warmup_steps=warm)


def schedule_rates(name, learning_rate, total_steps):
    """The rate of each of the ``total_steps`` steps, float32 (for :class:`callbacks.StepRates`)."""
    schedule = learning_rate_schedule(name, learning_rate, total_steps)
    return np.array([float(schedule(step)) for step in range(int(total_steps))], dtype=np.float32)


def optimizer(name, learning_rate):
    """A new Keras optimizer: ``"adam"``, ``"sgd"`` or ``"rmsprop"`` at ``learning_rate``."""
    classes = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD,
               "rmsprop": keras.optimizers.RMSprop}
    validate.choice("optimizer", name, OPTIMIZERS)
    return classes[name](learning_rate=float(learning_rate))


class AdjustableCosine(keras.optimizers.schedules.LearningRateSchedule):
    """Cosine decay of ``learning_rate`` to 0 over ``total_steps`` weight updates, where
    ``total_steps`` is a variable that may be shortened during training (for instance by
    :class:`medlab.engine.callbacks.EpochPlan`); it is read at every step, so changing it
    retraces nothing.

    Step s (0-based) gets ``learning_rate (1 + cos(pi min(s / total_steps, 1))) / 2``, as
    ``keras.optimizers.schedules.CosineDecay``; 0 from ``total_steps`` on.

    Parameters
    ----------
    learning_rate : float >= 0
        The rate of step 0.
    total_steps : float > 0
        Epochs x batches per epoch; ``schedule.total_steps.assign(...)`` changes it.

    >>> schedule = AdjustableCosine(1e-3, 100)
    >>> round(float(schedule(0)), 6), round(float(schedule(50)), 6)
    (0.001, 0.0005)
    >>> _ = schedule.total_steps.assign(50.0)  # shortened: step 50 is now the end
    >>> round(float(schedule(25)), 6), round(float(schedule(50)), 6), round(float(schedule(99)), 6)
    (0.0005, 0.0, 0.0)
    """

    def __init__(self, learning_rate, total_steps):
        self.learning_rate = validate.number("learning_rate", learning_rate, 0.0)
        steps = validate.number("total_steps", total_steps, 0.0, low_open=True)
        self.total_steps = keras.Variable(steps, trainable=False, dtype="float32")

    def __call__(self, step):
        fraction = keras.ops.minimum(keras.ops.cast(step, "float32") / self.total_steps, 1.0)
        return self.learning_rate * 0.5 * (1.0 + keras.ops.cos(np.pi * fraction))

    def get_config(self):
        return {"learning_rate": self.learning_rate, "total_steps": float(self.total_steps.numpy())}


__all__ = ["AdjustableCosine", "OPTIMIZERS", "SCHEDULES", "learning_rate_schedule", "optimizer", "schedule_rates"]
