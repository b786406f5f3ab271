"""medlab.optimizers against Keras's optimisers on the same gradients, over several steps."""

import numpy as np
import pytest

from medlab import keras, optimizers


def _gradients(steps, seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (4,), (2, 2, 1, 3)]
    return [[rng.standard_normal(s).astype(np.float32) * 10 ** rng.uniform(-4, 1)
             for s in shapes] for _ in range(steps)]


def _start(seed=1):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32) for s in [(3, 4), (4,), (2, 2, 1, 3)]]


CASES = {
    "sgd": (lambda: optimizers.SGD(0.1), lambda: keras.optimizers.SGD(0.1)),
    "momentum": (lambda: optimizers.SGD(0.05, momentum=0.9),
                 lambda: keras.optimizers.SGD(0.05, momentum=0.9)),
    "adam": (lambda: optimizers.Adam(0.01), lambda: keras.optimizers.Adam(0.01)),
    "adam-options": (lambda: optimizers.Adam(0.003, beta_1=0.5, beta_2=0.9, epsilon=1e-4),
                     lambda: keras.optimizers.Adam(0.003, beta_1=0.5, beta_2=0.9, epsilon=1e-4)),
    "adam-schedule": (
        lambda: optimizers.Adam(optimizers.ExponentialDecay(0.01, 3, 0.5)),
        lambda: keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(0.01, 3, 0.5))),
    "momentum-staircase": (
        lambda: optimizers.SGD(optimizers.ExponentialDecay(0.1, 2, 0.3, staircase=True), 0.8),
        lambda: keras.optimizers.SGD(
            keras.optimizers.schedules.ExponentialDecay(0.1, 2, 0.3, staircase=True), momentum=0.8)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_optimizer_matches_keras_step_by_step(case):
    make_numpy, make_keras = CASES[case]
    ours, theirs = make_numpy(), make_keras()
    weights = _start()
    variables = [keras.Variable(w) for w in _start()]
    for step, grads in enumerate(_gradients(8)):
        ours.apply(weights, grads)
        theirs.apply_gradients(zip(grads, variables))
        for w, v in zip(weights, variables):
            np.testing.assert_allclose(w, np.asarray(v), rtol=1e-6, atol=1e-6,
                                       err_msg=f"{case}, step {step + 1}")
    assert ours.iterations == 8


def test_exponential_decay_matches_keras():
    ours = optimizers.ExponentialDecay(0.1, 4, 0.5)
    theirs = keras.optimizers.schedules.ExponentialDecay(0.1, 4, 0.5)
    for step in range(10):
        assert ours(step) == pytest.approx(float(theirs(step)), rel=1e-6)
    assert optimizers.ExponentialDecay(1.0, 2, 0.5, staircase=True)(3) == 0.5


def test_sgd_by_hand():
    w = np.array([1.0, 2.0], np.float32)
    opt = optimizers.SGD(0.5, momentum=0.5)
    opt.apply([w], [np.array([1.0, -1.0], np.float32)])  # m = -0.5 g
    np.testing.assert_allclose(w, [0.5, 2.5])
    opt.apply([w], [np.zeros(2, np.float32)])  # m keeps rolling at half speed
    np.testing.assert_allclose(w, [0.25, 2.75])


def test_adam_first_step_is_learning_rate_times_sign():
    w = np.zeros(3, np.float32)
    optimizers.Adam(0.01).apply([w], [np.array([0.1, -5.0, 20.0], np.float32)])
    np.testing.assert_allclose(w, [-0.01, 0.01, -0.01], rtol=1e-3)


@pytest.mark.parametrize("call, message", [
    (lambda: optimizers.SGD(-1), "learning_rate"),
    (lambda: optimizers.SGD(0.1, momentum=1.0), "momentum"),
    (lambda: optimizers.Adam(beta_1=1.5), "beta_1"),
    (lambda: optimizers.Adam(epsilon=0), "epsilon"),
    (lambda: optimizers.ExponentialDecay(0.1, 0, 0.5), "decay_steps"),
    (lambda: optimizers.SGD(0.1).apply([np.zeros(2, np.float32)], []), "one array per weight"),
    (lambda: optimizers.SGD(0.1).apply([np.zeros(2, np.float32)], [np.zeros(3)]), r"grads\[0\]"),
    (lambda: optimizers.SGD(0.1).apply([np.zeros(2)], [np.zeros(2)]), "float32"),
])
def test_bad_arguments_raise_named_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_valley_loss_and_gradient():
    loss, grad = optimizers.valley(np.array([2.0, 1.0], np.float32), steepness=10)
    assert loss == pytest.approx(0.5 * (4 + 10))
    np.testing.assert_allclose(grad, [2.0, 10.0])
    losses, grads = optimizers.valley(np.zeros((3, 4, 2)))
    assert losses.shape == (3, 4) and grads.shape == (3, 4, 2)
    with pytest.raises(ValueError, match="last axis of 2"):
        optimizers.valley(np.zeros(3))


def test_descend_records_the_start_and_every_step():
    path, losses = optimizers.descend(optimizers.valley, [1.0, 1.0], optimizers.SGD(0.1), 3)
    assert path.shape == (4, 2) and losses.shape == (4,)
    np.testing.assert_allclose(path[1], [0.9, 1.0 - 0.1 * 20], rtol=1e-6)  # w - lr * (w1, 20 w2)
    assert losses[0] == pytest.approx(0.5 * (1 + 20))


@pytest.mark.parametrize("losses, expected", [([5, 0.5, 2, 0.4, 0.1], 3), ([0.1, 0.2], 0), ([5, 4], None),
                                               ([5, 1.0], 1)])
def test_steps_to_counts_until_the_loss_stays_below(losses, expected):
    assert optimizers.steps_to(losses, 1.0) == expected
