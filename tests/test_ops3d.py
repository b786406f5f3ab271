"""medlab.ops3d against Keras Conv3D / MaxPooling3D / AveragePooling3D, and a mathematical check."""

import numpy as np
import pytest

from medlab import keras, ops, ops3d

ATOL = 1e-5


def _keras_conv(x, w, b, stride, padding):
    layer = keras.layers.Conv3D(w.shape[4], w.shape[:3], strides=stride, padding=padding)
    layer.build(x.shape)
    layer.set_weights([w, b])
    return np.asarray(layer(x))


@pytest.mark.parametrize("x_shape, k_shape, filters, stride, padding", [
    ((1, 5, 6, 7, 1), (3, 3, 3), 2, 1, "valid"),
    ((2, 7, 9, 5, 3), (3, 3, 3), 4, 2, "same"),
    ((2, 7, 9, 5, 3), (3, 3, 3), 4, 2, "valid"),
    ((1, 8, 8, 8, 2), (2, 3, 1), 5, (1, 2, 3), "same"),
    ((3, 9, 6, 11, 4), (1, 1, 1), 3, 1, "valid"),
    ((1, 6, 5, 4, 2), (5, 2, 4), 1, (2, 1, 1), "valid"),
    ((2, 11, 13, 9, 1), (3, 3, 3), 8, 1, "same"),
    ((1, 4, 4, 4, 8), (4, 4, 4), 16, 3, "same"),
])
def test_conv3d_matches_keras(x_shape, k_shape, filters, stride, padding):
    rng = np.random.default_rng(sum(x_shape) + filters)
    x = rng.standard_normal(x_shape, dtype=np.float32)
    w = rng.standard_normal((*k_shape, x_shape[4], filters), dtype=np.float32) / np.sqrt(np.prod(k_shape))
    b = rng.standard_normal(filters, dtype=np.float32)
    ours = ops3d.conv3d(x, w, b, stride, padding)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, _keras_conv(x, w, b, stride, padding), atol=ATOL)


def test_conv3d_split_over_cores_matches_keras(monkeypatch):
    monkeypatch.setattr(ops3d, "_PARALLEL_MIN_OUTPUT", 1)
    monkeypatch.setattr(ops, "_CONV_THREAD_CHUNK_BYTES", 1)  # one depth slice per product
    monkeypatch.setattr(ops, "_usable_cores", lambda: 2)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 6, 7, 5, 2), dtype=np.float32)
    w = rng.standard_normal((3, 3, 3, 2, 4), dtype=np.float32)
    b = np.zeros(4, np.float32)
    for stride, padding in ((1, "valid"), (2, "same")):
        np.testing.assert_allclose(ops3d.conv3d(x, w, b, stride, padding),
                                   _keras_conv(x, w, b, stride, padding), atol=1e-4)


def test_conv3d_of_a_volume_constant_along_depth_is_the_2d_conv_of_a_slice():
    rng = np.random.default_rng(2)
    image = rng.standard_normal((2, 9, 8, 3), dtype=np.float32)
    volume = np.repeat(image[:, None], 6, axis=1)  # (2, 6, 9, 8, 3), equal along depth
    w = rng.standard_normal((3, 3, 3, 3, 4), dtype=np.float32)
    out3 = ops3d.conv3d(volume, w)
    out2 = ops.conv2d(image, w.sum(axis=0))
    assert out3.shape == (2, 4, 7, 6, 4)
    for depth in range(out3.shape[1]):
        np.testing.assert_allclose(out3[:, depth], out2, atol=1e-4)


@pytest.mark.parametrize("x_shape, pool, stride, padding", [
    ((1, 4, 4, 4, 1), 2, None, "valid"),
    ((2, 5, 7, 9, 3), 2, None, "valid"),
    ((2, 5, 7, 9, 3), 2, None, "same"),
    ((2, 5, 7, 9, 3), 3, 2, "same"),
    ((1, 6, 6, 7, 2), (1, 2, 3), (1, 2, 2), "valid"),
    ((1, 6, 6, 7, 2), (3, 2, 1), (2, 1, 3), "same"),
    ((3, 7, 5, 6, 4), 3, 1, "same"),
])
def test_pooling_matches_keras(x_shape, pool, stride, padding):
    x = np.random.default_rng(sum(x_shape)).standard_normal(x_shape, dtype=np.float32)
    for ours, layer in ((ops3d.max_pool3d, keras.layers.MaxPooling3D),
                        (ops3d.avg_pool3d, keras.layers.AveragePooling3D)):
        result = ours(x, pool, stride, padding)
        assert result.dtype == np.float32
        expected = np.asarray(layer(pool_size=pool, strides=stride, padding=padding)(x))
        np.testing.assert_allclose(result, expected, atol=ATOL, err_msg=ours.__name__)


def test_pooling_split_over_cores_matches_a_single_part(monkeypatch):
    x = np.random.default_rng(3).standard_normal((4, 5, 6, 7, 2), dtype=np.float32)
    single = [f(x, 2, padding="same") for f in (ops3d.max_pool3d, ops3d.avg_pool3d)]
    monkeypatch.setattr(ops, "_PARALLEL_MIN_ELEMENTS", 1)
    monkeypatch.setattr(ops, "_usable_cores", lambda: 2)
    for f, expected in zip((ops3d.max_pool3d, ops3d.avg_pool3d), single):
        np.testing.assert_array_equal(f(x, 2, padding="same"), expected)


def test_pooling_stride_defaults_to_pool_size_and_halves_each_axis():
    x = np.zeros((1, 40, 56, 40, 8), np.float32)
    assert ops3d.max_pool3d(x).shape == (1, 20, 28, 20, 8)
    assert ops3d.avg_pool3d(x, (1, 2, 2)).shape == (1, 40, 28, 20, 8)


X = np.zeros((1, 5, 5, 5, 2), np.float32)
W = np.zeros((3, 3, 3, 2, 4), np.float32)


@pytest.mark.parametrize("call, message", [
    (lambda: ops3d.conv3d(X, np.zeros((7, 3, 3, 2, 1))),
     "kernel (7, 3, 3) must fit in the (padded) input of depth x height x width 5 x 5 x 5; "
     "use a smaller kernel or padding='same'"),
    (lambda: ops3d.conv3d(X, W, stride=0), "stride 0: expected an integer >= 1 or a triple of them"),
    (lambda: ops3d.conv3d(X, W, stride=(1, 2)), "stride (1, 2): expected an integer >= 1 or a triple of them"),
    (lambda: ops3d.conv3d(X, np.zeros((3, 3, 3, 3, 4))), "w has in_channels (axis 3) 3: expected x's channels, 2"),
    (lambda: ops3d.conv3d(X[0], W),
     "x has shape (5, 5, 5, 2): expected rank 5 (batch, depth, height, width, channels)"),
    (lambda: ops3d.conv3d(X, W[0]),
     "w has shape (3, 3, 2, 4): expected rank 5 (kernel_d, kernel_h, kernel_w, in_channels, filters)"),
    (lambda: ops3d.conv3d(X, W, padding="full"), "padding 'full'"),
    (lambda: ops3d.conv3d(X, W, b=np.zeros(3)), "b has shape (3,): expected (4,) (one value per filter)"),
    (lambda: ops3d.max_pool3d(X, 6),
     "pool_size (6, 6, 6) must fit in the (padded) input of depth x height x width 5 x 5 x 5; "
     "use a smaller pool_size or padding='same'"),
    (lambda: ops3d.avg_pool3d(X, 2, stride=-1), "stride -1: expected an integer >= 1 or a triple of them"),
    (lambda: ops3d.avg_pool3d(X, (2, 2, 2, 2)), "pool_size (2, 2, 2, 2): expected an integer >= 1 or a triple"),
    (lambda: ops3d.max_pool3d(X, 2, padding="causal"), "padding 'causal'"),
    (lambda: ops3d.max_pool3d(X + 1j, 2), "x has dtype complex64: expected real numbers"),
    (lambda: ops3d.conv3d(X, W > 0), "w has dtype bool: expected real numbers"),
])
def test_bad_arguments_raise_one_line_named_errors(call, message):
    with pytest.raises(ValueError) as info:
        call()
    text = str(info.value)
    assert text.startswith(message) and "\n" not in text, text


def test_integer_volumes_and_lists_are_cast_to_float32():
    volume = np.arange(8, dtype=np.int16).reshape(1, 2, 2, 2, 1)
    assert ops3d.max_pool3d(volume).ravel().tolist() == [7.0]
    assert ops3d.conv3d(volume.tolist(), np.ones((2, 2, 2, 1, 1)), [0.5]).ravel().tolist() == [28.5]
