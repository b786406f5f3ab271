"""seed_cnn is the article's network; medlab.forward.numpy_forward is the same function in NumPy."""

import os
import subprocess
import sys

import numpy as np
import pytest

from medlab import keras
from medlab.forward import AUGMENTATION_LAYERS, SUPPORTED_LAYERS, numpy_forward, numpy_layer_outputs
from medlab.models import seed_cnn


def test_the_numpy_forward_pass_does_not_import_tensorflow():
    probe = ("import sys\nfrom medlab.forward import numpy_forward\n"
             "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 0, done.stderr
    assert done.stdout == "[]\n"


def test_numpy_forward_refuses_what_is_not_a_sequential_model():
    with pytest.raises(ValueError, match="model must be a keras.Sequential, got Functional"):
        numpy_forward(keras.Model(*(lambda x: (x, keras.layers.Dense(1)(x)))(keras.Input((3,)))),
                      np.zeros((1, 3), np.float32))


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


# ------------------------------------------------------------ the kit's improved classifier
from medlab.models import build_classifier, improved_cnn  # noqa: E402


def test_improved_cnn_layout_and_options():
    model = improved_cnn((28, 28, 1), kernel_size=5, width=8, dropout=0.2)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds[:4] == ["RandomTranslation", "RandomRotation", "RandomZoom", "RandomContrast"]
    assert "RandomFlip" not in kinds  # a flipped chest X-ray is anatomically wrong
    assert kinds[-3:] == ["GlobalAveragePooling2D", "Dropout", "Dense"]
    convs = [layer for layer in model.layers if kinds[model.layers.index(layer)] == "Conv2D"]
    assert [c.filters for c in convs] == [8, 8, 16, 16, 32]
    assert all(c.kernel_size == (5, 5) for c in convs) and convs[-1].name == "conv3"
    assert model.output_shape == (None, 1)
    bare = improved_cnn((28, 28, 1), width=8, dropout=0, augment=False)
    assert [type(layer).__name__ for layer in bare.layers][0] == "Conv2D"
    assert "Dropout" not in [type(layer).__name__ for layer in bare.layers]
    for bad in ({"kernel_size": 4}, {"width": 0}, {"dropout": 1.0}, {"input_shape": (2, 2, 1)}):
        with pytest.raises(ValueError):
            improved_cnn(**{"input_shape": (28, 28, 1), **bad})


def test_numpy_forward_treats_augmentation_as_identity_at_inference():
    assert set(AUGMENTATION_LAYERS) <= set(SUPPORTED_LAYERS)
    assert "GlobalAveragePooling2D" in SUPPORTED_LAYERS
    keras.utils.set_random_seed(1)
    model = improved_cnn((12, 12, 1), width=4)
    x = np.random.default_rng(0).random((2, 12, 12, 1), dtype=np.float32)
    np.testing.assert_allclose(numpy_forward(model, x), model.predict(x, verbose=0), atol=1e-4)
    outputs = dict(numpy_layer_outputs(model, x))
    np.testing.assert_array_equal(outputs["contrast"], x)  # augmentation: the identity


def test_build_classifier_by_name():
    assert build_classifier("seed", (20, 20, 1), kernel_size=5).layers[0].kernel_size == (5, 5)
    plain = build_classifier("improved", (16, 16, 1), regularised=False, width=4)
    kinds = [type(layer).__name__ for layer in plain.layers]
    assert "Dropout" not in kinds and not set(kinds) & set(AUGMENTATION_LAYERS)
    assert "Dropout" in [type(layer).__name__ for layer in build_classifier("improved", (16, 16, 1), width=4).layers]
    with pytest.raises(ValueError, match="name 'resnet': expected one of seed, improved"):
        build_classifier("resnet", (16, 16, 1))
    with pytest.raises(ValueError, match="no options"):
        build_classifier("seed", (16, 16, 1), width=4)


def test_several_classes_get_a_softmax_output():
    keras.utils.set_random_seed(0)
    for build in (lambda k: seed_cnn((28, 28, 3), n_classes=k), lambda k: improved_cnn((28, 28, 3), width=4, n_classes=k)):
        model = build(5)
        assert model.output_shape == (None, 5)
        assert model.get_layer("output").get_config()["activation"] == "softmax"
        p = np.asarray(model(np.random.default_rng(0).random((3, 28, 28, 3), dtype=np.float32)))
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
        assert build(2).output_shape == (None, 1)  # two classes: one sigmoid unit, as before
    with pytest.raises(ValueError, match=r"n_classes .*: expected an integer >= 2"):
        seed_cnn((28, 28, 1), n_classes=1)


def test_input_shapes_are_checked_with_one_message():
    from medlab import models, validate

    assert validate.image_shape("input_shape", (None, None, 1), multiple_of=8, unknown_sides=True) == (None, None, 1)
    for bad, kwargs, expected in [
        ((28, 28), {}, r"input_shape \(28, 28\): expected \(height, width, channels\)$"),
        ((2, 28, 1), {"min_side": 4}, "height and width >= 4"),
        ((28, 30, 1), {"multiple_of": 4}, "height and width divisible by 4"),
        ((None, 28, 1), {}, r"expected \(height, width, channels\)"),
        ((28, 28, None), {"unknown_sides": True}, r"expected \(height, width, channels\)"),
        ((28, 28, True), {}, r"expected"),
        ("28x28", {}, r"expected"),
    ]:
        with pytest.raises(ValueError, match=expected):
            validate.image_shape("input_shape", bad, **kwargs)
    with pytest.raises(ValueError, match=r"^input_shape \(30, 28, 1\): expected .*divisible by 8$"):
        models.unet((30, 28, 1), depth=3)
    with pytest.raises(ValueError, match=r"^filters \(\): expected at least one stage$"):
        models.conv_autoencoder((28, 28, 1), filters=())


def test_image_shape_checks_its_own_options():
    from medlab import validate

    with pytest.raises(ValueError, match="multiple_of 0: expected an integer >= 1"):
        validate.image_shape("s", [28, 28, 1], multiple_of=0)
    with pytest.raises(ValueError, match="min_side"):
        validate.image_shape("s", [28, 28, 1], min_side=None)
    with pytest.raises(ValueError, match="unknown_sides 'no': expected True or False"):
        validate.image_shape("s", [28, 28, 1], unknown_sides="no")
    with pytest.raises(ValueError, match=r"expected \(height, width, channels\)"):
        validate.image_shape("s", {1: 0, 2: 0, 3: 0})
