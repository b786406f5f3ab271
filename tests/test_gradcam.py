"""medlab.gradcam: Grad-CAM maps peak where the evidence is."""

import numpy as np
import pytest

from medlab import keras
from medlab.gradcam import _conv_layer_names, feature_layer, grad_cam, _last_conv_layer
from medlab.models import improved_cnn, seed_cnn


def _spot_detector(size=12):
    """conv (1x1, weight 1) -> global average -> dense (weight 1): the score grows with the
    brightness anywhere, so the map is the image itself."""
    model = keras.Sequential([
        keras.Input((size, size, 1)),
        keras.layers.Conv2D(1, 1, use_bias=False, kernel_initializer="ones", name="conv"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(1, activation="sigmoid", kernel_initializer="ones", bias_initializer="zeros"),
    ])
    return model


def test_map_peaks_at_the_hot_spot():
    model = _spot_detector()
    image = np.zeros((2, 12, 12, 1), np.float32)
    image[0, 3, 8] = 1.0
    image[1, 9:11, 1:3] = 0.5
    cam = grad_cam(model, image)
    assert cam.shape == (2, 12, 12) and cam.dtype == np.float32
    assert np.unravel_index(cam[0].argmax(), cam[0].shape) == (3, 8)
    assert cam[0].max() == pytest.approx(1.0) and cam[0].min() == 0.0
    assert cam[1][9:11, 1:3].min() == pytest.approx(1.0)
    # explaining "normal" (1 - p) on a detector of brightness: nothing argues for it
    assert grad_cam(model, image, class_index=0).max() == 0.0


def test_coarse_maps_are_resized_to_the_input():
    keras.utils.set_random_seed(0)
    model = seed_cnn((20, 20, 1))
    x = np.random.default_rng(0).random((3, 20, 20), dtype=np.float32)
    cam = grad_cam(model, x)  # (N, H, W) input accepted for one channel
    assert cam.shape == (3, 20, 20)
    assert cam.min() >= 0.0 and cam.max() <= 1.0
    assert all(m.max() in (0.0, pytest.approx(1.0)) for m in cam)
    assert _last_conv_layer(model) == "conv2" and _conv_layer_names(model) == ["conv1", "conv2"]
    assert grad_cam(model, x, layer_name="conv1").shape == (3, 20, 20)


def test_improved_cnn_with_augmentation_layers():
    keras.utils.set_random_seed(0)
    model = improved_cnn((16, 16, 1), width=4)
    assert _last_conv_layer(model) == "conv3"
    x = np.random.default_rng(1).random((2, 16, 16, 1), dtype=np.float32)
    np.testing.assert_array_equal(grad_cam(model, x), grad_cam(model, x))  # no random layers at inference


def test_default_maps_are_the_rectified_ones_after_batch_norm_and_relu():
    keras.utils.set_random_seed(0)
    model = improved_cnn((16, 16, 1), width=4)
    assert feature_layer(model) == "relu3"  # conv3 -> bn3 -> relu3: the method's A^c
    x = np.random.default_rng(1).random((2, 16, 16, 1), dtype=np.float32)
    np.testing.assert_array_equal(grad_cam(model, x), grad_cam(model, x, layer_name="relu3"))
    assert feature_layer(_spot_detector()) == _last_conv_layer(_spot_detector())  # relu inside the conv


def test_errors_are_clear():
    dense = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(1, activation="sigmoid")])
    with pytest.raises(ValueError, match="no convolution layer"):
        grad_cam(dense, np.zeros((1, 8, 8, 1), np.float32))
    model = _spot_detector()
    with pytest.raises(ValueError, match="no layer 'conv9'"):
        grad_cam(model, np.zeros((1, 12, 12, 1), np.float32), layer_name="conv9")
    with pytest.raises(ValueError, match="feature map"):
        grad_cam(model, np.zeros((1, 12, 12, 1), np.float32), layer_name=model.layers[1].name)
    with pytest.raises(ValueError, match=r"images has shape \(1, 10, 10, 1\): expected \(N, 12, 12, 1\)"):
        grad_cam(model, np.zeros((1, 10, 10, 1), np.float32))
    with pytest.raises(ValueError, match="class_index"):
        grad_cam(model, np.zeros((1, 12, 12, 1), np.float32), class_index=2)
