"""medlab.experiments: the small trial network, one trial, the cached runner, grids and tables."""

import numpy as np
import pytest

from medlab import experiments
from medlab.datasets import ClassificationData
from medlab.experiments import Runner, grid, small_cnn, table, trial


@pytest.fixture(scope="module")
def data():
    """64 + 32 images of 12 x 12: label 1 has a bright square (learnable in a few epochs)."""
    rng = np.random.default_rng(0)
    x = (rng.random((96, 12, 12, 1)) * 0.3).astype(np.float32)
    y = np.arange(96) % 2
    x[y == 1, 3:7, 3:7] += 0.7
    return ClassificationData(x[:64], y[:64], x[64:], y[64:], x[64:], y[64:], "squares")


@pytest.mark.parametrize("kernel_size", [1, 3, 5])
def test_small_cnn_weights_follow_the_formula(kernel_size):
    model = small_cnn((12, 12, 1), kernel_size=kernel_size, width=4)
    k2 = kernel_size ** 2
    expected = (k2 * 4 + 4) + 2 * 4 + (k2 * 4 * 8 + 8) + 2 * 8 + (3 * 3 * 8 + 1)
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == expected
    assert model(np.zeros((2, 12, 12, 1), np.float32)).shape == (2, 1)


def test_small_cnn_options():
    plain = small_cnn((12, 12, 1), activation="tanh", batch_norm=False)
    assert not any("bn" in layer.name for layer in plain.layers)
    assert any(layer.name == "tanh1" for layer in plain.layers)
    regularised = small_cnn((12, 12, 1), regularised=True)
    assert any(layer.name == "dropout" for layer in regularised.layers)
    assert regularised.get_layer("conv1").kernel_regularizer is not None
    with pytest.raises(ValueError, match="activation"):
        small_cnn((12, 12, 1), activation="gelu")
    with pytest.raises(ValueError, match="kernel_size"):
        small_cnn((12, 12, 1), kernel_size=4)


def test_trial_is_deterministic_and_learns(data):
    a = trial(data, epochs=4, seed=0, learning_rate=1e-2)
    b = trial(data, epochs=4, seed=0, learning_rate=1e-2)
    assert a.history == b.history and a.val_auc == b.val_auc
    assert set(a.history) == {"loss", "auc", "val_loss", "val_auc"}
    assert len(a.history["loss"]) == 4
    assert a.history["loss"][-1] < a.history["loss"][0]
    assert 0.0 <= a.val_auc <= 1.0 and a.val_scores.shape == (32,)
    assert a.settings == {**experiments.SETTINGS, "learning_rate": 1e-2}
    row = a.row()
    assert row["val_auc"] == a.val_auc and row["parameters"] == a.parameters and row["seconds"] > 0


@pytest.mark.parametrize("settings", [{"optimizer": "sgd"}, {"loss": "mse"}, {"optimizer": "rmsprop"}])
def test_trial_other_optimizers_and_losses(data, settings):
    result = trial(data, epochs=1, seed=0, **settings)
    assert np.isfinite(result.history["loss"][0])


@pytest.mark.parametrize("settings, message", [
    ({"dropout": 0.5}, "unknown setting 'dropout'"),
    ({"optimizer": "adagrad"}, "optimizer 'adagrad'"),
    ({"loss": "hinge"}, "loss 'hinge'"),
    ({"epochs": 0}, "^epochs 0: expected an integer >= 1"),
])
def test_trial_rejects_bad_settings(data, settings, message):
    with pytest.raises(ValueError, match=message):
        trial(data, **{"epochs": 1, **settings})


def test_runner_caches_by_full_settings(data):
    run = Runner(data, epochs=1, seed=0)
    first = run(kernel_size=3)
    assert run() is first and run(activation="relu") is first
    assert run(kernel_size=5) is not first
    assert len(run.done) == 2


def test_grid_rows_in_order_without_training():
    calls = []

    def fake(**kw):
        calls.append(kw)
        return {"val_auc": kw["a"] / 10, "a": "ignored"}

    rows = grid(fake, a=[1, 2], b=["x", "y"])
    assert calls == [{"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 2, "b": "x"}, {"a": 2, "b": "y"}]
    assert rows[1] == {"a": 1, "b": "y", "val_auc": 0.1}
    with pytest.raises(ValueError):
        grid(fake)
    with pytest.raises(ValueError):
        grid(fake, a=[])


def test_table_rounds_and_aligns():
    text = table([{"lr": 1e-4, "auc": 0.8765, "n": 3, "ok": True}, {"lr": 0.01, "auc": 0.5, "n": 12, "ok": False}],
                 ["lr", "auc", "n", "ok"])
    lines = text.splitlines()
    assert lines[0].split() == ["lr", "auc", "n", "ok"]
    assert lines[2].split() == ["1e-04", "0.88", "3", "True"]
    assert lines[3].split() == ["0.01", "0.50", "12", "False"]
    assert len({len(line) for line in lines}) == 1
    assert table([{"x": 0.12345}], ["x", "missing"], digits=3).splitlines()[2].split() == ["0.123", "None"]
