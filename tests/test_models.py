"""seed_cnn is the article's network; numpy_forward is the same function in NumPy."""

import numpy as np
import pytest

from medlab import keras
from medlab.models import SUPPORTED_LAYERS, numpy_forward, numpy_layer_outputs, seed_cnn


def test_seed_cnn_is_the_articles_network():
    model = seed_cnn()
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == [
        "Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dense",
    ]
    assert model.input_shape == (None, 150, 150, 3)
    assert model.output_shape == (None, 1)
    assert [layer.get_config().get("units") or layer.get_config().get("filters")
            for layer in model.layers if hasattr(layer, "kernel")] == [32, 64, 64, 1]
    assert model.layers[-1].activation.__name__ == "sigmoid"
    # 3*3*3*32+32 + 3*3*32*64+64 + 36*36*64*64+64 + 64+1
    assert model.count_params() == 896 + 18496 + 5308480 + 65


def test_numpy_forward_equals_predict():
    model = seed_cnn((150, 150, 3))
    x = np.random.default_rng(0).random((3, 150, 150, 3), dtype=np.float32)
    np.testing.assert_allclose(numpy_forward(model, x), model.predict(x, verbose=0), atol=1e-4)


def test_numpy_forward_supports_the_kits_other_layers():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((12, 12, 1)),
        keras.layers.Conv2D(4, 3, padding="same", strides=2),
        keras.layers.BatchNormalization(),
        keras.layers.ReLU(),
        keras.layers.AveragePooling2D(2, padding="same"),
        keras.layers.Dropout(0.5),
        keras.layers.Flatten(),
        keras.layers.Dense(3),
        keras.layers.Activation("softmax"),
    ])
    bn = model.layers[1]
    bn.moving_mean.assign(np.linspace(-1, 1, 4))
    bn.moving_variance.assign(np.linspace(0.5, 2, 4))
    x = np.random.default_rng(1).random((2, 12, 12, 1), dtype=np.float32)
    np.testing.assert_allclose(numpy_forward(model, x), model.predict(x, verbose=0), atol=1e-5)
    names = [name for name, _ in numpy_layer_outputs(model, x)]
    assert names == [layer.name for layer in model.layers]


def test_unsupported_layer_is_named():
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2DTranspose(2, 3, name="up")])
    with pytest.raises(ValueError, match=r"'up' \(Conv2DTranspose\) is not supported"):
        numpy_forward(model, np.zeros((1, 8, 8, 1), np.float32))
    assert "Conv2D" in SUPPORTED_LAYERS


def test_wrong_input_shape_is_reported():
    with pytest.raises(ValueError, match="x must have shape"):
        numpy_forward(seed_cnn((32, 32, 1)), np.zeros((1, 32, 32, 3), np.float32))
    with pytest.raises(ValueError, match="input_shape"):
        seed_cnn((32, 32))
