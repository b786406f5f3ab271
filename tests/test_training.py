"""medlab.training: seeded fits, callbacks, class weights and the learning-rate explorer."""

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from medlab import keras  # noqa: E402
from medlab.training import (  # noqa: E402
    BestWeights,
    LearningRateTrials,
    TimeBudget,
    best_epoch,
    class_weights,
    fit_classifier,
    history_dict,
    learning_rate_explorer,
    learning_rate_trial,
)


@pytest.fixture(scope="module")
def tiny():
    """48 images of 12 x 12: label 1 has a bright square (learnable in a few epochs)."""
    rng = np.random.default_rng(0)
    x = rng.random((48, 12, 12, 1), dtype=np.float32) * 0.3
    y = np.arange(48) % 2
    x[y == 1, 3:7, 3:7] += 0.7
    return x, y


@pytest.fixture(autouse=True)
def no_figure_leaks():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*non-interactive.*", category=UserWarning)
        yield
    plt.close("all")


def _small_model():
    return keras.Sequential([
        keras.Input((12, 12, 1)), keras.layers.Conv2D(2, 3, name="conv"),
        keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(1, activation="sigmoid"),
    ])


def test_class_weights_balance_the_classes():
    w = class_weights([0, 1, 1, 1])
    assert w == {0: 2.0, 1: pytest.approx(2 / 3)}
    assert w[0] * 1 == pytest.approx(w[1] * 3)  # each class weighs the same in total
    with pytest.raises(ValueError, match="both classes"):
        class_weights([1, 1])
    with pytest.raises(ValueError, match="0 and 1"):
        class_weights([0, 2])


def test_history_helpers():
    h = history_dict({"loss": [np.float32(1.0), 0.5], "val_loss": [0.9, 0.95]})
    assert h == {"loss": [1.0, 0.5], "val_loss": [pytest.approx(0.9), pytest.approx(0.95)]}
    assert best_epoch(h) == 0 and best_epoch(h, "loss") == 1
    assert best_epoch({"val_auc": [0.6, 0.8, 0.7]}, "val_auc", "max") == 1


def test_fit_is_seeded_and_deterministic(tiny):
    x, y = tiny
    runs = []
    for _ in range(2):
        keras.utils.set_random_seed(3)
        runs.append(fit_classifier(_small_model(), x[:36], y[:36], x[36:], y[36:], epochs=2,
                                   batch_size=12, learning_rate=1e-2, seed=3, balance=True))
    assert runs[0] == runs[1]
    assert set(runs[0]) == {"loss", "accuracy", "auc", "val_loss", "val_accuracy", "val_auc"}
    assert len(runs[0]["loss"]) == 2


def test_time_budget_stops_training_within_a_batch(tiny):
    x, y = tiny
    ticks = iter(range(1000))
    budget = TimeBudget(3, clock=lambda: next(ticks))  # one "second" per clock reading
    h = fit_classifier(_small_model(), x, y, epochs=50, batch_size=8, callbacks=[budget])
    assert budget.stopped and len(h["loss"]) == 1  # stopped during the first epoch
    assert budget.elapsed >= 3
    relaxed = TimeBudget(1e6)
    fit_classifier(_small_model(), x, y, epochs=2, batch_size=24, callbacks=[relaxed])
    assert not relaxed.stopped
    with pytest.raises(ValueError, match="positive"):
        TimeBudget(0)


def test_best_weights_restores_the_best_epoch(tiny):
    x, y = tiny
    keras.utils.set_random_seed(0)
    model = _small_model()
    best = BestWeights("val_loss", "min")
    snapshots = []
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: snapshots.append(model.get_weights()))
    h = fit_classifier(model, x[:36], y[:36], x[36:], y[36:], epochs=4, batch_size=12,
                       learning_rate=0.05, callbacks=[best, record])
    assert best.best_epoch == best_epoch(h) and best.best == pytest.approx(min(h["val_loss"]))
    for got, want in zip(model.get_weights(), snapshots[best.best_epoch]):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="mode"):
        BestWeights(mode="up")


def test_learning_rate_trial_is_a_pure_function_of_its_arguments(tiny):
    x, y = tiny
    a = learning_rate_trial(1e-2, x, y, epochs=2, seed=0)
    b = learning_rate_trial(1e-2, x, y, epochs=2, seed=0)
    c = learning_rate_trial(1e-4, x, y, epochs=2, seed=0)
    assert a == b and a["loss"] != c["loss"]
    assert len(a["loss"]) == 2 and "val_loss" not in a
    with_val = learning_rate_trial(1e-2, x, y, epochs=1, seed=0, validation_split=0.25)
    assert len(with_val["val_loss"]) == 1
    with pytest.raises(ValueError, match="learning_rate"):
        learning_rate_trial(0, x, y)
    with pytest.raises(ValueError, match="epochs"):
        learning_rate_trial(1e-3, x, y, epochs=0)


def test_explorer_retrains_when_the_slider_moves_and_keeps_the_curves(tiny):
    x, y = tiny
    widget = learning_rate_explorer(x, y, epochs=1, seed=0, learning_rate=1e-3)
    first = widget.result
    assert isinstance(first, LearningRateTrials) and first.learning_rate == 1e-3
    assert first.text.startswith("learning rate 1e-03: training loss")
    slider = widget.children[0]
    assert slider.description == "learning rate" and (slider.min, slider.max) == (-5, -1)
    slider.value = 1e-2
    second = widget.result
    assert second is not first and second.learning_rate == 0.01
    assert second.history != first.history
    assert sorted(widget.trials) == [1e-3, 1e-2] and second.tried is widget.trials
    assert widget.trials[1e-3] == first.history
    with pytest.raises(ValueError, match="learning_rate"):
        learning_rate_explorer(x, y, learning_rate=0.5)
