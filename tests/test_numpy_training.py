"""medlab.numpy_training: the article's network's gradients and training in NumPy equal Keras's."""

import numpy as np
import pytest

from medlab import keras, numpy_training, optimizers
from medlab.models import seed_cnn


@pytest.fixture(scope="module")
def small_net():
    keras.utils.set_random_seed(0)
    return seed_cnn((12, 12, 1))


def _data(n=16, size=12, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, size, size, 1), dtype=np.float32), rng.integers(0, 2, n)


def test_gradients_match_gradient_tape(small_net):
    x, y = _data()
    weights = numpy_training.initial_weights(small_net)
    loss, grads = numpy_training.loss_and_gradients(small_net, weights, x, y)
    keras_loss, keras_grads = numpy_training.keras_loss_and_gradients(small_net, weights, x, y)
    assert loss == pytest.approx(keras_loss, rel=1e-5)
    assert [g.shape for g in grads] == [tuple(v.shape) for v in small_net.trainable_weights]
    for g, k in zip(grads, keras_grads):
        np.testing.assert_allclose(g, k, atol=1e-5 * np.abs(k).max(), rtol=1e-4)


@pytest.mark.parametrize("pixels", [1, 300])
def test_images_in_chunks_give_the_same_gradients(monkeypatch, small_net, pixels):
    """The image layers run a chunk of the batch at a time (in threads): the same loss and gradients."""
    x, y = _data(7)
    weights = numpy_training.initial_weights(small_net)
    loss, grads = numpy_training.loss_and_gradients(small_net, weights, x, y)
    monkeypatch.setattr(numpy_training, "_CHUNK_PIXELS", pixels)  # 1 or 2 images a chunk
    assert len(numpy_training._image_chunks(small_net.layers, x)) == (7 if pixels == 1 else 4)
    chunked_loss, chunked = numpy_training.loss_and_gradients(small_net, weights, x, y)
    assert chunked_loss == pytest.approx(loss, rel=1e-6)
    for g, c in zip(grads, chunked):
        np.testing.assert_allclose(c, g, atol=1e-6 * np.abs(g).max())


def test_a_dense_network_on_feature_vectors():
    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    rng = np.random.default_rng(4)
    x, y = rng.random((6, 5), dtype=np.float32), rng.integers(0, 2, 6)
    weights = numpy_training.initial_weights(model)
    loss, grads = numpy_training.loss_and_gradients(model, weights, x, y)
    keras_loss, keras_grads = numpy_training.keras_loss_and_gradients(model, weights, x, y)
    assert loss == pytest.approx(keras_loss, rel=1e-5)
    for g, k in zip(grads, keras_grads):
        np.testing.assert_allclose(g, k, atol=1e-5 * np.abs(k).max(), rtol=1e-4)


def test_other_layers_and_activations_match():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.Input((9, 9, 2)),
        keras.layers.Conv2D(3, 3, strides=2, padding="same", activation="sigmoid"),
        keras.layers.AveragePooling2D(2, padding="same"),
        keras.layers.Flatten(),
        keras.layers.Dense(4, use_bias=False),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    rng = np.random.default_rng(2)
    x, y = rng.random((5, 9, 9, 2), dtype=np.float32), rng.integers(0, 2, 5)
    weights = numpy_training.initial_weights(model)
    loss, grads = numpy_training.loss_and_gradients(model, weights, x, y)
    keras_loss, keras_grads = numpy_training.keras_loss_and_gradients(model, weights, x, y)
    assert loss == pytest.approx(keras_loss, rel=1e-5)
    for g, k in zip(grads, keras_grads):
        np.testing.assert_allclose(g, k, atol=1e-5 * np.abs(k).max(), rtol=1e-4)


@pytest.mark.parametrize("make", [
    lambda: (optimizers.SGD(0.1, momentum=0.9), keras.optimizers.SGD(0.1, momentum=0.9)),
    lambda: (optimizers.Adam(optimizers.ExponentialDecay(0.003, 4, 0.5)),
             keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(0.003, 4, 0.5))),
])
def test_training_follows_keras_step_by_step(small_net, make):
    x, y = _data(24)
    batches = numpy_training.batch_indices(len(y), 8, 6, seed=3)
    start = numpy_training.initial_weights(small_net)
    ours, theirs = make()
    weights = [w.copy() for w in start]
    numpy_losses = numpy_training.train_numpy(small_net, weights, x, y, ours, batches)
    keras_losses = numpy_training.train_keras(small_net, start, x, y, theirs, batches)
    np.testing.assert_allclose(numpy_losses, keras_losses, rtol=1e-4)
    assert numpy_losses[-1] != numpy_losses[0]  # it learned something
    for w, v in zip(weights, small_net.trainable_weights):
        np.testing.assert_allclose(w, np.asarray(v), atol=1e-4)


def test_batch_indices_cover_each_epoch_once():
    batches = numpy_training.batch_indices(10, 3, 7, seed=0)
    assert batches.shape == (7, 3)
    assert sorted(batches[:3].ravel().tolist()) == sorted(set(batches[:3].ravel().tolist()))
    np.testing.assert_array_equal(batches, numpy_training.batch_indices(10, 3, 7, seed=0))


@pytest.mark.parametrize("call, message", [
    (lambda: numpy_training.batch_indices(4, 5, 1), "batch_size"),
    (lambda: numpy_training.batch_indices(4, 2, 0), "steps"),
    (lambda: numpy_training.loss_and_gradients(
        keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")]),
        [], np.zeros((1, 4)), [0]), "activation"),
    (lambda: numpy_training.loss_and_gradients(
        keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]), [], np.zeros((1, 4)), [0]),
     "last layer"),
    (lambda: numpy_training.loss_and_gradients(
        keras.Sequential([keras.Input((4,)), keras.layers.Dropout(0.1),
                          keras.layers.Dense(1, activation="sigmoid")]), [], np.zeros((1, 4)), [0]),
     "Dropout"),
])
def test_bad_arguments_raise_named_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_wrong_number_of_weights(small_net):
    x, y = _data(2)
    with pytest.raises(ValueError, match="weights must hold 8 arrays"):
        numpy_training.loss_and_gradients(small_net, [], x, y)
