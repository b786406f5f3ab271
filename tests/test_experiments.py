"""medlab.experiments: the small trial network, one trial, the cached runner, grids."""

import numpy as np
import pytest

from medlab import experiments, metrics
from medlab.data import ClassificationData
from medlab.engine.schedules import optimizer
from medlab.experiments import Runner, cross_validate, grid, trial
from medlab.models import small_cnn


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
    regularised = small_cnn((12, 12, 1), dropout=0.5, l2=1e-3, augment=True)
    names = [layer.name for layer in regularised.layers]
    assert "dropout" in names and names[:2] == ["shift", "zoom"]
    assert regularised.get_layer("conv1").kernel_regularizer is not None
    assert small_cnn((12, 12, 1)).get_layer("conv1").kernel_regularizer is None


def test_small_cnn_seed_fixes_the_initial_weights_without_global_seeding():
    a, b = small_cnn((12, 12, 1), seed=3, dropout=0.5), small_cnn((12, 12, 1), seed=3, dropout=0.5)
    c = small_cnn((12, 12, 1), seed=4, dropout=0.5)
    assert all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))
    assert not np.array_equal(a.get_layer("conv1").kernel.numpy(), c.get_layer("conv1").kernel.numpy())
    with pytest.raises(ValueError, match="activation"):
        small_cnn((12, 12, 1), activation="gelu")
    with pytest.raises(ValueError, match="kernel_size"):
        small_cnn((12, 12, 1), kernel_size=4)


def test_trial_is_deterministic_and_learns(data):
    a = trial(data, epochs=4, seed=0, learning_rate=1e-2)
    b = trial(data, epochs=4, seed=0, learning_rate=1e-2)
    assert a.history == b.history and a.val_auc == b.val_auc
    assert set(a.history) == {"loss"} and a.curves == {}
    assert len(a.history["loss"]) == 4
    assert a.history["loss"][-1] < a.history["loss"][0]
    assert a.val_auc > 0.9 and a.val_scores.shape == (32,)
    assert a.settings == {**experiments.SETTINGS, "learning_rate": 1e-2}
    row = a.row()
    assert row["val_auc"] == a.val_auc and row["parameters"] == a.parameters and row["seconds"] > 0
    assert row["seed"] == 0 and row["epochs"] == 4 and row["fit_loss"] == a.history["loss"][-1]
    # the inference-mode losses are the cross-entropy of the stored scores
    assert a.val_loss == pytest.approx(metrics.binary_cross_entropy(data.y_val, a.val_scores), abs=1e-6)


def test_a_reused_network_trains_exactly_like_a_new_one(data):
    experiments._COMPILED.clear()
    experiments._INITIAL.clear()
    fresh = trial(data, epochs=2, seed=5, dropout=0.5, augment=True)
    trial(data, epochs=3, seed=6, dropout=0.5, augment=True, learning_rate=1e-2)  # moves the shared network
    assert len(experiments._COMPILED) == 1
    reused = trial(data, epochs=2, seed=5, dropout=0.5, augment=True)
    assert reused.history == fresh.history and reused.val_auc == fresh.val_auc
    assert np.array_equal(reused.val_scores, fresh.val_scores)
    # and like a network built, compiled and trained from scratch, outside the caches
    new = small_cnn(data.x_train.shape[1:], dropout=0.5, augment=True, seed=5)
    new.compile(optimizer=optimizer("adam", 1e-3), loss="binary_crossentropy")
    # the same training by hand: Keras' compiled step on NumPy-shuffled batches, epoch by epoch
    rng, y, losses = np.random.default_rng(5), data.y_train.astype(np.float32).reshape(-1, 1), []
    for _ in range(2):
        order = rng.permutation(len(data.x_train))
        batch_losses = []
        for start in range(0, len(order), 32):
            rows = order[start:start + 32]
            batch_losses.append(float(new.train_on_batch(data.x_train[rows], y[rows])))
        losses.append(np.mean(batch_losses))  # two batches of 32: the epoch's mean
    # equal up to float rounding: fit's step is traced for any batch size, train_on_batch's for 32
    assert fresh.history["loss"] == pytest.approx(losses, rel=1e-5)
    np.testing.assert_allclose(experiments._probabilities(new, data.x_val), fresh.val_scores, atol=1e-3)


def test_trial_curves_are_measured_in_inference_mode(data):
    t = trial(data, epochs=3, seed=0, track=True, dropout=0.5, learning_rate=1e-2)
    assert set(t.curves) == {"train_loss", "val_loss", "train_auc", "val_auc"}
    assert all(len(v) == 3 for v in t.curves.values())
    assert t.curves["train_loss"][-1] == pytest.approx(t.train_loss, abs=1e-6)
    assert t.curves["val_auc"][-1] == pytest.approx(t.val_auc, abs=1e-12)




def test_trial_follows_the_schedule(data):
    constant = trial(data, epochs=2, seed=0, learning_rate=1e-2)
    stepped = trial(data, epochs=2, seed=0, learning_rate=1e-2, schedule="step")
    assert constant.history["loss"][0] == stepped.history["loss"][0]  # same rate in the first half
    assert not np.array_equal(constant.val_scores, stepped.val_scores)


@pytest.mark.parametrize("settings", [{"optimizer": "sgd"}, {"loss": "mse"}, {"optimizer": "rmsprop"}])
def test_trial_other_optimizers_and_losses(data, settings):
    result = trial(data, epochs=1, seed=0, **settings)
    assert np.isfinite(result.history["loss"][0])


@pytest.mark.parametrize("settings, message", [
    ({"regularised": True}, "unknown setting 'regularised'"),
    ({"schedule": "exponential"}, "schedule 'exponential'"),
    ({"optimizer": "adagrad"}, "optimizer 'adagrad'"),
    ({"loss": "hinge"}, "loss 'hinge'"),
    ({"epochs": 0}, "^epochs 0: expected an integer >= 1"),
])
def test_trial_rejects_bad_settings(data, settings, message):
    with pytest.raises(ValueError, match=message):
        trial(data, **{"epochs": 1, **settings})


def test_runner_caches_by_full_settings_seed_and_epochs(data):
    run = Runner(data, epochs=1, seed=0)
    first = run(kernel_size=3)
    assert run() is first and run(activation="relu") is first and run(seed=0, epochs=1) is first
    assert run(kernel_size=5) is not first
    assert run(seed=1) is not first and run(seed=1).seed == 1
    assert run(epochs=2).epochs == 2
    assert len(run.done) == 4
    tracked = run(track=True)
    assert tracked.curves and run() is tracked


def test_grid_with_seeds_gives_a_tidy_table():
    calls = []

    def fake(**kw):
        calls.append(kw)
        return {"val_auc": kw["a"] + kw["seed"] / 10}

    rows = grid(fake, seeds=[3, 4], a=[1, 2])
    assert calls == [{"a": 1, "seed": 3}, {"a": 1, "seed": 4}, {"a": 2, "seed": 3}, {"a": 2, "seed": 4}]
    assert rows[1] == {"a": 1, "seed": 4, "val_auc": 1.4}
    assert [r["seed"] for r in grid(fake, seeds=2, a=[1])] == [0, 1]
    with pytest.raises(ValueError, match="seeds"):
        grid(fake, seeds=[], a=[1])


def test_cross_validate_holds_out_each_fold_once_and_never_reads_test(data):
    seen = []

    def fake(part, epochs, seed, **settings):
        seen.append((part.x_val.copy(), len(part.x_train), len(part.x_test), epochs, seed, settings))
        return {"val_auc": 0.5}

    rows = cross_validate(data, k=4, epochs=2, split_seed=7, trial_fn=fake, learning_rate=0.1)
    assert [r["fold"] for r in rows] == [0, 1, 2, 3]
    assert all(r["n_train"] + r["n_held_out"] == 64 and r["n_held_out"] == 16 for r in rows)
    held_out = np.concatenate([s[0] for s in seen]).reshape(64, -1)
    train = data.x_train.reshape(64, -1)
    assert sorted(map(bytes, held_out)) == sorted(map(bytes, train))  # each image held out exactly once
    assert {s[2] for s in seen} == {0} and {s[3:5] for s in seen} == {(2, 7)}
    assert all(s[5] == {"learning_rate": 0.1} for s in seen)
    with pytest.raises(ValueError, match="k=40 folds"):
        cross_validate(data, k=40, trial_fn=fake)
    with pytest.raises(ValueError, match="split_seed"):
        cross_validate(data, k=2, split_seed="zero", trial_fn=fake)
    with pytest.raises(TypeError, match="trial_fn must be callable"):
        cross_validate(data, k=2, trial_fn="trial")


def test_cross_validate_trains_real_trials(data):
    rows = cross_validate(data, k=2, epochs=1, split_seed=0, learning_rate=1e-2)
    assert len(rows) == 2 and all(0.0 <= r["val_auc"] <= 1.0 and r["n_held_out"] == 32 for r in rows)


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


def test_preprocess_scales_the_grey_levels(data):
    raw = experiments.preprocess(data, "raw 0-255")
    assert np.allclose(raw.x_train, data.x_train * 255) and raw.y_train is data.y_train
    same = experiments.preprocess(data, "0-1")
    assert np.array_equal(same.x_val, data.x_val)
    z = experiments.preprocess(data, "per-image z")
    flat = z.x_train.reshape(len(z.x_train), -1)
    assert z.x_train.dtype == np.float32 and z.x_train.shape == data.x_train.shape
    assert np.allclose(flat.mean(1), 0, atol=1e-5) and np.allclose(flat.std(1), 1, atol=1e-4)
    with pytest.raises(ValueError, match="how"):
        experiments.preprocess(data, "window")
