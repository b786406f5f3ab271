"""Gradient-descent update rules in NumPy, step for step the same as Keras's optimisers.

Each optimiser holds its own state (momentum, moment estimates, step count) and updates a
list of float32 weight arrays in place from a list of gradients of the same shapes::

    opt = Adam(learning_rate=1e-3)
    for x, y in batches:
        loss, grads = forward_backward(weights, x, y)
        opt.apply(weights, grads)

The rules (``g`` the gradient, ``lr`` the learning rate at this step, ``t`` = 1, 2, ...):

- SGD: ``w <- w - lr g``
- SGD with momentum ``mu``: ``m <- mu m - lr g``; ``w <- w + m``
- Adam: ``m <- m + (1 - b1) (g - m)``; ``v <- v + (1 - b2) (g^2 - v)``;
  ``w <- w - lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps)``

as ``keras.optimizers.SGD`` and ``keras.optimizers.Adam`` write them (Keras 3).
"""

from __future__ import annotations

import numpy as np

from medlab import validate


def _positive(name, value):
    return validate.number(name, value, 0, low_open=True)


def _fraction(name, value):
    return validate.number(name, value, 0, 1, closed="left")


class ExponentialDecay:
    """Learning rate ``lr(t) = initial * rate ** (t / steps)``, as ``keras.optimizers.schedules.ExponentialDecay``.

    Parameters
    ----------
    initial_learning_rate : float > 0
    decay_steps : int > 0
        Steps over which the rate is multiplied by ``decay_rate``.
    decay_rate : float > 0
    staircase : bool
        True: ``t / steps`` is floored, so the rate drops in steps.
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False):
        self.initial_learning_rate = _positive("initial_learning_rate", initial_learning_rate)
        self.decay_steps = validate.integer("decay_steps", decay_steps, low=1)
        self.decay_rate = _positive("decay_rate", decay_rate)
        self.staircase = bool(staircase)

    def __call__(self, step):
        """Learning rate at ``step`` (0 for the first update)."""
        p = np.float32(step) / np.float32(self.decay_steps)
        if self.staircase:
            p = np.floor(p)
        return np.float32(self.initial_learning_rate) * np.float32(self.decay_rate) ** p


class Optimizer:
    """Base class: the learning rate (a number or a schedule) and the step count."""

    def __init__(self, learning_rate):
        if callable(learning_rate):
            self.learning_rate = learning_rate
        else:
            self.learning_rate = _positive("learning_rate", learning_rate)
        self.iterations = 0
        self._state = None

    def current_learning_rate(self):
        """The learning rate of the next update (float32)."""
        lr = self.learning_rate
        return np.float32(lr(self.iterations) if callable(lr) else lr)

    def apply(self, weights, grads):
        """Update every array of ``weights`` in place from ``grads`` (lists of equal shapes)."""
        weights, grads = list(weights), list(grads)
        if len(weights) != len(grads):
            raise ValueError(f"grads must hold one array per weight ({len(weights)}), got {len(grads)}")
        for i, (w, g) in enumerate(zip(weights, grads)):
            if not isinstance(w, np.ndarray) or w.dtype != np.float32:
                raise ValueError(f"weights[{i}] must be a float32 NumPy array (updated in place)")
            validate.same_shape(f"grads[{i}]", g, w.shape, of=f"weights[{i}]")
        if self._state is None:
            self._state = self._initial_state(weights)
        lr = self.current_learning_rate()
        for i, (w, g) in enumerate(zip(weights, grads)):
            self._update(i, w, np.asarray(g, dtype=np.float32), lr)
        self.iterations += 1

    def _initial_state(self, weights):
        return None

    def _update(self, i, w, g, lr):
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum (``keras.optimizers.SGD``).

    Parameters
    ----------
    learning_rate : float > 0 or a schedule ``lr(step)``
    momentum : float in [0, 1)
        0: plain steps ``w <- w - lr g``. Else a velocity ``m <- momentum m - lr g``
        that keeps rolling, ``w <- w + m``.
    """

    def __init__(self, learning_rate=0.01, momentum=0.0):
        super().__init__(learning_rate)
        self.momentum = _fraction("momentum", momentum)

    def _initial_state(self, weights):
        return [np.zeros_like(w) for w in weights] if self.momentum else None

    def _update(self, i, w, g, lr):
        if self.momentum:
            m = self._state[i]
            m[...] = m * np.float32(self.momentum) - g * lr
            w += m
        else:
            w -= g * lr


class Adam(Optimizer):
    """Adam (``keras.optimizers.Adam``): a step per weight scaled by its gradients' history.

    Parameters
    ----------
    learning_rate : float > 0 or a schedule
    beta_1, beta_2 : float in [0, 1)
        Decay of the running mean of the gradients (m) and of their squares (v).
    epsilon : float > 0
        Added to sqrt(v) so the step stays finite (Keras's default 1e-7).
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        super().__init__(learning_rate)
        self.beta_1 = _fraction("beta_1", beta_1)
        self.beta_2 = _fraction("beta_2", beta_2)
        self.epsilon = _positive("epsilon", epsilon)

    def _initial_state(self, weights):
        return [(np.zeros_like(w), np.zeros_like(w)) for w in weights]

    def _update(self, i, w, g, lr):
        m, v = self._state[i]
        t = np.float32(self.iterations + 1)
        b1, b2 = np.float32(self.beta_1), np.float32(self.beta_2)
        alpha = lr * np.sqrt(np.float32(1) - b2 ** t) / (np.float32(1) - b1 ** t)
        m += (g - m) * (np.float32(1) - b1)
        v += (g * g - v) * (np.float32(1) - b2)
        w -= (m * alpha) / (np.sqrt(v) + np.float32(self.epsilon))


def valley(w, steepness=20.0):
    """A 2-D loss shaped like a long narrow valley, and its gradient.

    ``L(w) = (w1^2 + steepness * w2^2) / 2``: shallow along w1, steep across (w2), minimum 0
    at (0, 0). Locally, the loss of a deep network often looks like this.

    Parameters
    ----------
    w : array (..., 2)
        Points (w1, w2); float32 for a float32 gradient.
    steepness : float > 0
        Curvature across the valley relative to along it.

    Returns
    -------
    (loss (...,), gradient (..., 2))
    """
    w = validate.real_array("w", w)
    if w.shape[-1:] != (2,):
        raise ValueError(f"w has shape {w.shape}: expected a last axis of 2 (w1, w2)")
    scale = np.asarray([1.0, _positive("steepness", steepness)], dtype=w.dtype)
    return 0.5 * np.sum(scale * w * w, axis=-1), scale * w


def descend(loss_and_gradient, start, optimizer, steps):
    """Run ``optimizer`` from ``start`` on a function; the weights and the loss after every step.

    Parameters
    ----------
    loss_and_gradient : callable w (n,) -> (loss, gradient (n,))
    start : array (n,)
    optimizer : Optimizer
    steps : int >= 1

    Returns
    -------
    (path (steps + 1, n) float32, losses (steps + 1,) float64), the start first.
    """
    steps = validate.integer("steps", steps, low=1)
    w = np.array(validate.real_array("start", start, ndim=1), dtype=np.float32)
    path, losses = [w.copy()], []
    for _ in range(steps):
        loss, grad = loss_and_gradient(w)
        losses.append(float(loss))
        optimizer.apply([w], [np.asarray(grad, dtype=np.float32)])
        path.append(w.copy())
    losses.append(float(loss_and_gradient(w)[0]))
    return np.array(path), np.array(losses)


def steps_to(losses, target):
    """The first step from which the loss stays at most ``target`` (0 = the start), or None.

    A run that dips below ``target`` and bounces back above it has not got there yet.

    >>> steps_to([5.0, 0.5, 2.0, 0.4, 0.1], 1.0)
    3
    """
    above = np.flatnonzero(np.asarray(losses, float) > target)
    if above.size == 0:
        return 0
    return int(above[-1]) + 1 if above[-1] + 1 < len(losses) else None


__all__ = ["Adam", "ExponentialDecay", "Optimizer", "SGD", "descend", "steps_to", "valley"]
