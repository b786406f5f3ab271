"""medlab.engine: one fit, restart, predict, the callbacks and the Keras losses."""

from types import SimpleNamespace

import numpy as np
import pytest

from medlab import keras, metrics
from medlab._tensorflow import seed_everything, tf
from medlab.engine.callbacks import (BatchLosses, BestWeights, EpochEnd, EpochPlan, StepRates, TimeBudget,
                                     TimeCosineDecay)
from medlab.engine.fit import ShuffledBatches, fit, history_dict, initial_state, restart
from medlab.engine.losses import LOSSES, _bce_dice_loss, segmentation_loss, soft_dice_loss, weighted_bce_dice
from medlab.engine.predict import as_batch, predict
from medlab.engine.schedules import OPTIMIZERS, AdjustableCosine, learning_rate_schedule, optimizer, schedule_rates


@pytest.fixture(scope="module")
def tiny():
    """48 images of 12 x 12: label 1 has a bright square (learnable in a few epochs)."""
    rng = np.random.default_rng(0)
    x = rng.random((48, 12, 12, 1), dtype=np.float32) * 0.3
    y = (np.arange(48) % 2).astype(np.float32)
    x[y == 1, 3:7, 3:7] += 0.7
    return x, y


def small_model(dropout=0.0):
    layers = [keras.Input((12, 12, 1)), keras.layers.Conv2D(2, 3, name="conv"),
              keras.layers.BatchNormalization(name="bn"), keras.layers.GlobalAveragePooling2D()]
    if dropout:
        layers.append(keras.layers.Dropout(dropout))
    return keras.Sequential(layers + [keras.layers.Dense(1, activation="sigmoid")])


def random_masks(rng, n, size):
    return (rng.random((n, size, size)) < 0.4).astype(np.uint8)


# ------------------------------------------------------------------ predict
@pytest.mark.parametrize("batch_size", [1, 5, 7, 48, 1000])
def test_predict_equals_the_model_in_batches_of_any_size_and_traces_nothing(tiny, batch_size):
    x, _ = tiny
    model = small_model()
    want = np.asarray(model(x, training=False))
    got = predict(model, x[..., 0], batch_size=batch_size)  # (N, H, W): the channel axis is added
    assert got.shape == (48, 1)
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert model.predict_function is None  # nothing compiled, nothing traced


def test_predict_runs_no_tf_function():
    traced = []

    class Counting(keras.Model):
        def call(self, x):
            traced.append(x.shape)
            return x * 2.0

    model = Counting()
    out = predict(model, np.ones((10, 3, 3), np.float32), batch_size=4)
    assert [tuple(s) for s in traced] == [(4, 3, 3, 1), (4, 3, 3, 1), (2, 3, 3, 1)]  # eager calls
    assert out.shape == (10, 3, 3, 1) and np.all(out == 2.0)
    assert model.predict_function is None
    predict(model, np.ones((3, 3, 3), np.float32))
    assert len(traced) == 4  # one more eager call, no tracing


def test_as_batch_adds_the_channel_axis_and_refuses_other_ranks():
    x = as_batch(np.zeros((2, 3, 4), np.uint8))
    assert x.shape == (2, 3, 4, 1) and x.dtype == np.float32
    assert as_batch(np.zeros((2, 3, 4, 3))).shape == (2, 3, 4, 3)
    with pytest.raises(ValueError, match=r"x_val has shape \(3, 4\): expected \(N, H, W\) or \(N, H, W, C\)"):
        as_batch(np.zeros((3, 4)), "x_val")


# ------------------------------------------------------------------ fit and restart
def test_fit_is_seeded_and_reports_what_it_did(tiny):
    x, y = tiny
    runs = []
    for _ in range(2):
        seed_everything(3)
        model = small_model(dropout=0.3)
        runs.append(fit(model, x[:36], y[:36], (x[36:], y[36:]), epochs=2, batch_size=12, seed=3,
                        optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy"))
    assert runs[0].history == runs[1].history
    assert set(runs[0].history) == {"loss", "val_loss"} and runs[0].epochs_run == 2
    assert not runs[0].stopped_by_budget and runs[0].best_epoch is None and runs[0].seconds > 0
    with pytest.raises(ValueError, match="optimizer and loss"):
        fit(model, x, y, epochs=1, loss="mse")
    with pytest.raises(ValueError, match="epochs 0"):
        fit(model, x, y, epochs=0)


def test_fit_stops_at_the_time_budget(tiny):
    x, y = tiny
    model = small_model()
    done = fit(model, x, y, epochs=1000, batch_size=8, time_budget_s=0.5, optimizer="adam",
               loss="binary_crossentropy")
    assert done.stopped_by_budget and done.epochs_run < 1000


def test_fit_restores_the_best_epoch(tiny):
    x, y = tiny
    seed_everything(0)
    model = small_model()
    snapshots = []
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: snapshots.append(model.get_weights()))
    done = fit(model, x[:36], y[:36], (x[36:], y[36:]), epochs=4, batch_size=12, seed=0,
               restore_best=("val_loss", "min"), callbacks=[record],
               optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy")
    assert done.best_epoch == int(np.argmin(done.history["val_loss"]))
    for got, want in zip(model.get_weights(), snapshots[done.best_epoch]):
        np.testing.assert_array_equal(got, want)


def test_restart_gives_what_a_freshly_built_model_gives(tiny):
    x, y = tiny

    def build():
        return small_model(dropout=0.3)

    def train(model):
        return fit(model, x, y, epochs=2, batch_size=16, seed=5).history

    initial = initial_state(build, seed=5)
    seed_everything(5)
    fresh = build()  # built and compiled anew with the same seed
    fresh.compile(optimizer="adam", loss="binary_crossentropy")
    want = train(fresh)
    want_scores = predict(fresh, x)

    reused = build()  # other initial weights, then trained: a used model
    reused.compile(optimizer="adam", loss="binary_crossentropy")
    train(reused)
    traces = reused.train_function
    restart(reused, initial)
    assert train(reused) == want
    assert reused.train_function is traces  # the traced step was reused, not rebuilt
    np.testing.assert_array_equal(predict(reused, x), want_scores)
    restart(reused, fresh, learning_rate=0.5)  # from a model, and a new rate
    assert float(reused.optimizer.learning_rate.numpy()) == 0.5
    assert int(reused.optimizer.iterations.numpy()) == 0
    with pytest.raises(ValueError, match="initial has 1 arrays"):
        restart(reused, [np.zeros(3)])


def test_restart_needs_a_compiled_model():
    model = small_model()
    with pytest.raises(ValueError, match="not compiled"):
        restart(model, model.get_weights())


def test_shuffled_batches_visit_every_image_once_per_epoch_in_a_seeded_order():
    x = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1)
    batches = ShuffledBatches(x, np.arange(10), batch_size=4, epochs=2, seed=1)
    assert len(batches) == 3
    epochs = []
    for epoch in range(2):
        batches.follow.on_epoch_begin(epoch)  # what fit does; on_epoch_end changes nothing
        seen = np.concatenate([batches[b][0].reshape(-1) for b in range(len(batches))])
        epochs.append(seen)
        batches.on_epoch_end()
    orders = np.random.default_rng(1)
    for seen in epochs:
        np.testing.assert_array_equal(seen, orders.permutation(10))
    assert batches[2][0].shape == (2, 1, 1, 1) and batches[2][1].shape == (2, 1)
    with pytest.raises(IndexError):
        batches[3]
    with pytest.raises(IndexError, match="orders for 2 epochs"):
        batches.follow.on_epoch_begin(2)


def test_fit_follows_the_epochs_of_shuffled_batches_from_the_first_fit():
    x = np.arange(8, dtype=np.float32).reshape(8, 1, 1, 1)
    batches = ShuffledBatches(x, np.zeros(8), batch_size=8, epochs=3, seed=2)
    seen = []
    record = keras.callbacks.LambdaCallback(on_train_batch_begin=lambda b, logs: seen.append(batches.epoch))
    model = keras.Sequential([keras.Input((1, 1, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
    fit(model, batches, epochs=3, callbacks=[record], optimizer="sgd", loss="mse")
    assert seen == [0, 1, 2]  # Keras' metric-building pass before the first epoch skips nothing


# ------------------------------------------------------------------ callbacks
def test_time_budget_stops_training_within_a_batch(tiny):
    x, y = tiny
    ticks = iter(range(1000))
    budget = TimeBudget(3, clock=lambda: next(ticks))  # one "second" per clock reading
    done = fit(small_model(), x, y, epochs=50, batch_size=8, callbacks=[budget], optimizer="adam",
               loss="binary_crossentropy")
    assert budget.stopped and done.epochs_run == 1  # stopped during the first epoch
    assert budget.elapsed >= 3
    relaxed = TimeBudget(1e6)
    fit(small_model(), x, y, epochs=2, batch_size=24, callbacks=[relaxed], optimizer="adam",
        loss="binary_crossentropy")
    assert not relaxed.stopped
    with pytest.raises(ValueError, match="seconds 0"):
        TimeBudget(0)


def test_best_weights_mode_is_checked():
    with pytest.raises(ValueError, match="mode"):
        BestWeights(mode="up")


def test_step_rates_batch_losses_and_epoch_end(tiny):
    x, y = tiny
    model = small_model()
    rates = np.linspace(0.1, 0.0, 6)
    seen, ends = [], []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda b, logs: seen.append(float(model.optimizer.learning_rate.numpy())))
    losses = BatchLosses()
    fit(model, x, y, epochs=2, batch_size=16, callbacks=[StepRates(rates), record, losses,
                                                         EpochEnd(lambda m: ends.append(m is model))],
        optimizer=keras.optimizers.SGD(1.0), loss="binary_crossentropy")
    np.testing.assert_allclose(seen, rates, rtol=1e-6)
    assert len(losses.losses) == 6 and ends == [True, True]
    with pytest.raises(IndexError, match="only 6 rates"):
        fit(model, x, y, epochs=3, batch_size=16, callbacks=[StepRates(rates)])


def test_time_cosine_decay_follows_the_clock_not_the_steps():
    now = [0.0]
    decay = TimeCosineDecay(0.01, 10.0, clock=lambda: now[0])
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    decay.set_model(model)
    decay.on_train_begin()
    rates = []
    for t in (0.0, 5.0, 10.0, 20.0):
        now[0] = t
        decay.on_train_batch_begin(0)
        rates.append(float(model.optimizer.learning_rate.numpy()))
    assert rates == pytest.approx([0.01, 0.005, 0.0, 0.0], abs=1e-9)
    with pytest.raises(ValueError, match="seconds 0"):
        TimeCosineDecay(0.01, 0)


class FakeClock:
    """A clock that moves only when told (no test depends on the wall clock)."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class FakeModel:
    stop_training = False


def test_epoch_plan_shrinks_the_epochs_that_would_not_fit():
    assert EpochPlan.affordable_epochs(25, 2, 1, 100.0, 2.0) == 25
    assert EpochPlan.affordable_epochs(25, 2, 1, 60.0, 2.0) == 16
    assert EpochPlan.affordable_epochs(25, 10, 1, 4.0, 2.0) == 10
    assert EpochPlan.affordable_epochs(25, 0, 0, 0.0, 2.0) == 1
    clock = FakeClock()
    plan = {"epochs": 10, "scale": True, "seconds": 50.0, "start": 0.0, "epoch_seconds": []}
    schedule = AdjustableCosine(1e-3, 10 * 7)
    callback = EpochPlan(plan, schedule, steps=7, members_left=1, clock=clock)
    model = FakeModel()
    callback.set_model(model)
    for epoch, seconds in enumerate([6.0, 4.0, 4.0]):  # the first epoch (tracing) is not a rate
        callback.on_epoch_begin(epoch)
        clock.now += seconds
        callback.on_epoch_end(epoch)
    assert plan["epoch_seconds"] == [4.0, 4.0] and plan["epochs"] == 10  # 2 durations: too few to judge
    callback.on_epoch_begin(3)
    clock.now += 4.0
    callback.on_epoch_end(3)
    # 32 s left at 4 s an epoch: 8 epochs, 4 of them done -> 6 per network (2 more, then 6)
    assert plan["epochs"] == 6 and float(schedule.total_steps.numpy()) == 6 * 7 and not model.stop_training
    for epoch in range(4, 6):
        callback.on_epoch_begin(epoch)
        clock.now += 4.0
        callback.on_epoch_end(epoch)
    assert model.stop_training and plan["epochs"] == 6
    assert float(schedule(0)) == pytest.approx(1e-3) and float(schedule(21)) == pytest.approx(5e-4)
    assert float(schedule(42)) == pytest.approx(0.0, abs=1e-9) and float(schedule(99)) == pytest.approx(0.0, abs=1e-9)
    # one slow epoch early (a retrace, a burst of load) does not cut the plan: the median of 3 does not see it
    slow = {"epochs": 10, "scale": True, "seconds": 100.0, "start": clock.now, "epoch_seconds": []}
    callback = EpochPlan(slow, AdjustableCosine(1e-3, 70), 7, 0, clock=clock)
    callback.set_model(FakeModel())
    for epoch, seconds in enumerate([6.0, 30.0, 4.0, 4.0]):
        callback.on_epoch_begin(epoch)
        clock.now += seconds
        callback.on_epoch_end(epoch)
    assert slow["epochs"] == 10  # 56 s left at a median 4 s: 14 more would fit
    # without scaling the plan stays, whatever the clock says
    fixed = {"epochs": 10, "scale": False, "seconds": 1.0, "start": 0.0, "epoch_seconds": []}
    callback = EpochPlan(fixed, AdjustableCosine(1e-3, 70), 7, 1, clock=clock)
    callback.set_model(FakeModel())
    for epoch in range(3):
        callback.on_epoch_begin(epoch)
        clock.now += 100.0
        callback.on_epoch_end(epoch)
    assert fixed["epochs"] == 10 and not callback.model.stop_training


def test_epoch_plan_never_ends_the_schedule_before_the_step_it_is_on():
    """Shortened, the schedule still runs past the steps already taken (+ 1): a network that
    stops now, or a ``steps`` below the batches the optimizer really took."""
    def run(plan, model, steps=7):
        clock, schedule = FakeClock(), AdjustableCosine(1e-3, 10 * steps)
        callback = EpochPlan(plan, schedule, steps=steps, members_left=1, clock=clock)
        callback.set_model(model)
        for epoch in range(4):
            callback.on_epoch_begin(epoch)
            clock.now += 4.0
            callback.on_epoch_end(epoch)
        return float(schedule.total_steps.numpy())

    no_time_left = {"epochs": 10, "scale": True, "seconds": 1.0, "start": 0.0, "epoch_seconds": []}
    model = FakeModel()
    assert run(no_time_left, model) == 4 * 7 + 1  # stops now: 28 steps taken, not a length of 28
    assert no_time_left["epochs"] == 4 and model.stop_training
    model = FakeModel()
    model.optimizer = SimpleNamespace(iterations=keras.Variable(100, dtype="int64"))
    plan = {"epochs": 10, "scale": True, "seconds": 48.0, "start": 0.0, "epoch_seconds": []}
    assert run(plan, model) == 101 and plan["epochs"] == 6  # 6 x 7 = 42 would end 58 steps ago
    assert EpochPlan.schedule_length(6, 7, 28) == 42.0
    with pytest.raises(ValueError, match="taken -1"):
        EpochPlan.schedule_length(6, 7, -1)


def test_epoch_plan_without_a_limit_or_without_a_timing_keeps_the_plan():
    assert EpochPlan.affordable_epochs(25, 2, 1, float("inf"), 2.0) == 25  # --budget lifted
    assert EpochPlan.affordable_epochs(25, 2, 1, 1e308, 1e-300) == 25  # overflows to inf
    assert EpochPlan.affordable_epochs(25, 2, 1, -float("inf"), 2.0) == 2  # stop now
    with pytest.raises(ValueError, match="seconds_left nan"):
        EpochPlan.affordable_epochs(25, 2, 1, float("nan"), 2.0)
    clock = FakeClock()  # a clock too coarse to time an epoch: every duration 0
    plan = {"epochs": 10, "scale": True, "seconds": 50.0, "start": 0.0, "epoch_seconds": []}
    callback = EpochPlan(plan, AdjustableCosine(1e-3, 70), 7, 0, clock=clock)
    callback.set_model(FakeModel())
    for epoch in range(5):
        callback.on_epoch_begin(epoch)
        callback.on_epoch_end(epoch)
    assert plan["epochs"] == 10 and plan["epoch_seconds"] == [0.0] * 4 and not callback.model.stop_training


def test_epoch_plan_and_adjustable_cosine_name_bad_arguments():
    with pytest.raises(ValueError, match="total_steps 0"):
        AdjustableCosine(1e-3, 0)
    with pytest.raises(ValueError, match="seconds_per_epoch 0"):
        EpochPlan.affordable_epochs(10, 1, 0, 5.0, 0.0)
    with pytest.raises(ValueError, match="missing \\['epoch_seconds'\\]"):
        EpochPlan({"epochs": 3, "scale": True, "seconds": 1.0, "start": 0.0}, AdjustableCosine(1e-3, 3), 1, 0)
    with pytest.raises(ValueError, match="steps 0"):
        EpochPlan({"epochs": 3, "scale": True, "seconds": 1.0, "start": 0.0, "epoch_seconds": []},
                  AdjustableCosine(1e-3, 3), 0, 0)


def test_history_dict():
    h = history_dict({"loss": [np.float32(1.0), 0.5], "val_loss": [0.9, 0.95]})
    assert h == {"loss": [1.0, 0.5], "val_loss": [pytest.approx(0.9), pytest.approx(0.95)]}


# ------------------------------------------------------------------ schedules
@pytest.mark.parametrize("name, expected", [
    ("constant", [0.1] * 8),
    ("step", [0.1] * 4 + [0.01] * 2 + [0.001] * 2),
    ("warmup", [0.0, 0.05, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]),
])
def test_learning_rate_schedules(name, expected):
    schedule = learning_rate_schedule(name, 0.1, 8)
    assert [float(schedule(s)) for s in range(8)] == pytest.approx(expected, rel=1e-5, abs=1e-9)


def test_cosine_schedule_follows_half_a_cosine():
    schedule = learning_rate_schedule("cosine", 0.1, 8)
    expected = [0.05 * (1 + np.cos(np.pi * s / 8)) for s in range(9)]
    assert [float(schedule(s)) for s in range(9)] == pytest.approx(expected, rel=1e-5, abs=1e-9)
    with pytest.raises(ValueError, match="schedule"):
        learning_rate_schedule("exponential", 0.1, 8)


def test_schedule_rates_and_optimizers_by_name():
    rates = schedule_rates("cosine", 0.1, 8)
    assert rates.dtype == np.float32 and rates[0] == pytest.approx(0.1) and np.all(np.diff(rates) < 0)
    assert [type(optimizer(name, 0.1)).__name__ for name in OPTIMIZERS] == ["Adam", "SGD", "RMSprop"]
    with pytest.raises(ValueError, match="optimizer 'adagrad'"):
        optimizer("adagrad", 0.1)


# ------------------------------------------------------------------ losses
def test_segmentation_losses_by_name():
    assert LOSSES == ("bce", "dice", "bce+dice")
    assert segmentation_loss("bce") == "binary_crossentropy"
    assert segmentation_loss("dice") is soft_dice_loss and segmentation_loss("bce+dice") is _bce_dice_loss
    with pytest.raises(ValueError, match="loss 'focal'"):
        segmentation_loss("focal")


def test_bce_dice_is_the_sum_and_the_weighted_loss_mixes_it():
    rng = np.random.default_rng(2)
    y = random_masks(rng, 3, 6)[..., None].astype(np.float32)
    p = rng.uniform(0.05, 0.95, y.shape).astype(np.float32)
    bce = np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p)), axis=(1, 2, 3))
    dice = np.asarray(soft_dice_loss(y, p))
    np.testing.assert_allclose(np.asarray(_bce_dice_loss(y, p)), bce + dice, rtol=1e-4)
    w_bce, w_dice = keras.Variable(1.0), keras.Variable(0.0)
    mixed = weighted_bce_dice(w_bce, w_dice)
    np.testing.assert_allclose(np.asarray(mixed(y, p)), bce, rtol=1e-4)
    w_bce.assign(0.0)
    w_dice.assign(1.0)
    np.testing.assert_allclose(np.asarray(mixed(y, p)), dice, rtol=1e-5)


def test_soft_dice_loss_is_one_minus_dice_on_binary_masks_per_image():
    rng = np.random.default_rng(1)
    y, p = random_masks(rng, 4, 8), random_masks(rng, 4, 8)
    loss = np.asarray(soft_dice_loss(y[..., None].astype(np.float32),
                                             p[..., None].astype(np.float32), smooth=1e-6))
    assert loss.shape == (4,)
    np.testing.assert_allclose(loss, 1 - metrics.dice_per_image(y, p), atol=1e-5)
    empty = np.zeros((1, 4, 4, 1), np.float32)
    assert float(soft_dice_loss(empty, empty)[0]) == 0.0  # the smoothing term


def test_soft_dice_gradient_pushes_probabilities_toward_the_mask():
    y = np.zeros((1, 6, 6, 1), np.float32)
    y[0, 1:4, 1:4] = 1
    p = tf.Variable(np.full_like(y, 0.5))
    with tf.GradientTape() as tape:
        loss = keras.ops.mean(soft_dice_loss(y, p))
    grad = tape.gradient(loss, p).numpy()
    assert np.all(grad[y == 1] < 0) and np.all(grad[y == 0] > 0)  # raise inside, lower outside
    eps = 1e-3  # against a finite difference at one pixel
    bumped = p.numpy().copy()
    bumped[0, 2, 2, 0] += eps
    numeric = (float(soft_dice_loss(y, bumped)[0]) - float(loss)) / eps
    assert grad[0, 2, 2, 0] == pytest.approx(numeric, rel=1e-2)


def test_soft_dice_trains_a_model_through_keras_compile():
    seed_everything(0)
    rng = np.random.default_rng(0)
    y = (rng.random((32, 8, 8, 1)) < 0.3).astype(np.float32)
    x = (y - 0.5 + 0.1 * rng.standard_normal(y.shape)).astype(np.float32)  # separable pixels
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(1, 1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss=soft_dice_loss)
    history = model.fit(x, y, epochs=15, batch_size=8, verbose=0).history["loss"]
    assert history[-1] < 0.8 * history[0]
    predicted = (np.asarray(model(x)) >= 0.5).astype(np.uint8)
    assert metrics.dice(y[..., 0], predicted[..., 0]) > 0.95



def test_bad_smoothing_gets_a_clear_error():
    masks = random_masks(np.random.default_rng(0), 3, 8)[..., None].astype(np.float32)
    with pytest.raises(ValueError, match="smooth 0.0"):
        soft_dice_loss(masks, masks, smooth=0.0)
