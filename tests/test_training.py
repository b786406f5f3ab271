"""medlab.training: the classification recipe (seeded fits, class weights, learning-rate trials)."""

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from medlab import keras  # noqa: E402
from medlab.engine.fit import history_dict  # noqa: E402
from medlab.training import (  # noqa: E402
    best_epoch,
    class_weights,
    fit_classifier,
    learning_rate_trial,
    own_images_vs_held_out,
    predict_scores,
)


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


def test_fit_classifier_takes_callbacks_and_predict_scores_gives_class_1(tiny):
    x, y = tiny
    ticks = iter(range(1000))
    from medlab.engine.callbacks import TimeBudget

    budget = TimeBudget(3, clock=lambda: next(ticks))  # one "second" per clock reading
    h = fit_classifier(_small_model(), x, y, epochs=50, batch_size=8, callbacks=[budget])
    assert budget.stopped and len(h["loss"]) == 1  # stopped during the first epoch
    model = _small_model()
    scores = predict_scores(model, x[..., 0], batch_size=5)
    assert scores.shape == (48,)
    np.testing.assert_allclose(scores, np.asarray(model(x))[:, 0], atol=1e-6)


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


def test_own_images_vs_held_out_scores_each_seeds_network_on_both_image_sets(tiny):
    x, y = tiny
    rows, histories = own_images_vs_held_out(_small_model, x[:36], y[:36], x[36:], y[36:], seeds=(0, 1),
                                             repeat=2, epochs=2, batch_size=12, learning_rate=1e-2)
    assert [(r["seed"], r["images"]) for r in rows] == [
        (0, "its training images"), (0, "held-out images"), (1, "its training images"), (1, "held-out images")]
    assert all(0 <= r["accuracy"] <= 1 and 0 <= r["auc"] <= 1 for r in rows)
    assert sorted(histories) == [0, 1] and len(histories[0]["val_loss"]) == 2
    assert histories[0]["loss"] != histories[1]["loss"]  # another seed, other weights
    again, _ = own_images_vs_held_out(_small_model, x[:36], y[:36], x[36:], y[36:], seeds=(1,),
                                      repeat=2, epochs=2, batch_size=12, learning_rate=1e-2)
    assert again == rows[2:]  # a restarted network gives what a fresh one gives
    with pytest.raises(ValueError, match="seeds"):
        own_images_vs_held_out(_small_model, x, y, x, y, seeds=())
    with pytest.raises(ValueError, match="repeat"):
        own_images_vs_held_out(_small_model, x, y, x, y, seeds=(0,), repeat=0)
    with pytest.raises(ValueError, match="y_held"):
        own_images_vs_held_out(_small_model, x, y, x, y[:3], seeds=(0,))
