"""Learning-rate schedules and optimizers by name (lesson 14 varies both).

=====================================  ===================================================
``learning_rate_schedule(name, ...)``  constant, step decay, cosine, warm-up (Keras schedules)
``schedule_rates(name, lr, steps)``    the rate of every step as a float32 array
``optimizer(name, learning_rate)``     Adam, SGD or RMSprop
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


__all__ = ["OPTIMIZERS", "SCHEDULES", "learning_rate_schedule", "optimizer", "schedule_rates"]
