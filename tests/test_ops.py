"""medlab.ops against Keras layers and tf.nn, on fixed cases and generated ones."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from medlab import keras, ops, tf

ATOL = 1e-5


def _rng(seed=0):
    return np.random.default_rng(seed)


def _keras_conv(x, w, b, stride, padding):
    layer = keras.layers.Conv2D(w.shape[3], w.shape[:2], strides=stride, padding=padding)
    layer.build(x.shape)
    layer.set_weights([w, b])
    return np.asarray(layer(x))


# ---------------------------------------------------------------- conv2d
def test_conv2d_hand_worked_example():
    image = np.arange(25, dtype=np.float32).reshape(1, 5, 5, 1)
    kernel = np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]], np.float32).reshape(3, 3, 1, 1)
    out = ops.conv2d(image, kernel)
    # every 3x3 window: left column minus right column, 3 rows of (-2) each
    assert out.shape == (1, 3, 3, 1)
    np.testing.assert_array_equal(out[0, :, :, 0], np.full((3, 3), -6.0))


def test_conv2d_is_cross_correlation_not_convolution():
    image = np.zeros((1, 3, 3, 1), np.float32)
    image[0, 0, 0, 0] = 1
    kernel = np.arange(9, dtype=np.float32).reshape(3, 3, 1, 1)
    # a flipped kernel would give 8 here
    assert ops.conv2d(image, kernel)[0, 0, 0, 0] == 0.0


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("stride", [1, 2, (1, 3)])
def test_conv2d_matches_keras_fixed(padding, stride):
    rng = _rng(1)
    x = rng.standard_normal((2, 11, 9, 3), dtype=np.float32)
    w = rng.standard_normal((3, 4, 3, 5), dtype=np.float32)
    b = rng.standard_normal(5, dtype=np.float32)
    np.testing.assert_allclose(
        ops.conv2d(x, w, b, stride, padding), _keras_conv(x, w, b, stride, padding), atol=ATOL
    )


@given(
    n=st.integers(1, 3),
    h=st.integers(1, 12),
    wd=st.integers(1, 12),
    c=st.integers(1, 4),
    f=st.integers(1, 4),
    kh=st.integers(1, 5),
    kw=st.integers(1, 5),
    sh=st.integers(1, 3),
    sw=st.integers(1, 3),
    padding=st.sampled_from(["valid", "same"]),
    seed=st.integers(0, 2**16),
)
def test_conv2d_matches_tf_nn(n, h, wd, c, f, kh, kw, sh, sw, padding, seed):
    if padding == "valid" and (kh > h or kw > wd):
        return  # impossible: covered by the error tests
    rng = _rng(seed)
    x = rng.standard_normal((n, h, wd, c), dtype=np.float32)
    w = rng.standard_normal((kh, kw, c, f), dtype=np.float32)
    b = rng.standard_normal(f, dtype=np.float32)
    expected = tf.nn.conv2d(x, w, (sh, sw), padding.upper()).numpy() + b
    got = ops.conv2d(x, w, b, (sh, sw), padding)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=ATOL, rtol=1e-5)


# --------------------------------------------------------------- pooling
@given(
    n=st.integers(1, 3),
    h=st.integers(1, 12),
    wd=st.integers(1, 12),
    c=st.integers(1, 4),
    ph=st.integers(1, 4),
    pw=st.integers(1, 4),
    stride=st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))),
    padding=st.sampled_from(["valid", "same"]),
    seed=st.integers(0, 2**16),
)
def test_pooling_matches_keras(n, h, wd, c, ph, pw, stride, padding, seed):
    if padding == "valid" and (ph > h or pw > wd):
        return
    x = _rng(seed).standard_normal((n, h, wd, c), dtype=np.float32)
    for ours, layer in (
        (ops.max_pool2d, keras.layers.MaxPooling2D),
        (ops.avg_pool2d, keras.layers.AveragePooling2D),
    ):
        expected = np.asarray(layer((ph, pw), strides=stride, padding=padding)(x))
        np.testing.assert_allclose(ours(x, (ph, pw), stride, padding), expected, atol=ATOL)


def test_pooling_stride_defaults_to_pool_size_and_halves_the_size():
    x = _rng().standard_normal((1, 8, 8, 2), dtype=np.float32)
    assert ops.max_pool2d(x).shape == (1, 4, 4, 2)
    assert ops.avg_pool2d(x, 3).shape == (1, 2, 2, 2)


def test_max_pool_hand_example():
    x = np.array([[1, 3, 2, 0], [4, 2, 1, 1], [0, 0, 5, 6], [1, 2, 7, 8]], np.float32)
    x = x.reshape(1, 4, 4, 1)
    np.testing.assert_array_equal(ops.max_pool2d(x)[0, :, :, 0], [[4, 2], [2, 8]])
    np.testing.assert_array_equal(ops.avg_pool2d(x)[0, :, :, 0], [[2.5, 1], [0.75, 6.5]])


# ------------------------------------------------------- dense, activations
@given(n=st.integers(1, 4), d=st.integers(1, 20), u=st.integers(1, 8), seed=st.integers(0, 999))
def test_dense_matches_keras(n, d, u, seed):
    rng = _rng(seed)
    x = rng.standard_normal((n, d), dtype=np.float32)
    w = rng.standard_normal((d, u), dtype=np.float32)
    b = rng.standard_normal(u, dtype=np.float32)
    layer = keras.layers.Dense(u)
    layer.build((None, d))
    layer.set_weights([w, b])
    np.testing.assert_allclose(ops.dense(x, w, b), np.asarray(layer(x)), atol=ATOL, rtol=1e-5)


def test_activations_match_keras():
    x = np.linspace(-100, 100, 401, dtype=np.float32).reshape(1, -1)
    np.testing.assert_allclose(ops.relu(x), keras.activations.relu(x), atol=ATOL)
    np.testing.assert_allclose(ops.sigmoid(x), keras.activations.sigmoid(x), atol=ATOL)
    np.testing.assert_allclose(ops.softmax(x / 10), keras.activations.softmax(x / 10), atol=ATOL)
    assert np.all(np.isfinite(ops.sigmoid(np.array([-1e4, 1e4], np.float32))))
    np.testing.assert_allclose(ops.softmax(x / 10).sum(axis=-1), 1.0, atol=1e-6)


def test_flatten_matches_keras():
    x = _rng().standard_normal((2, 3, 4, 5), dtype=np.float32)
    np.testing.assert_array_equal(ops.flatten(x), np.asarray(keras.layers.Flatten()(x)))


# ------------------------------------------------------------ output size
@given(
    n=st.integers(1, 40),
    k=st.integers(1, 7),
    s=st.integers(1, 4),
    padding=st.sampled_from(["valid", "same"]),
)
def test_output_size_matches_keras(n, k, s, padding):
    if padding == "valid" and k > n:
        return
    layer = keras.layers.Conv2D(1, (k, 1), strides=(s, 1), padding=padding)
    assert layer.compute_output_shape((1, n, 1, 1))[1] == ops.output_size(n, k, s, padding)


def test_output_size_formula_with_explicit_padding():
    assert ops.output_size(5, 3, 1, 1) == 5  # floor((5 + 2 - 3) / 1) + 1
    assert ops.output_size(150, 3) == 148
    assert ops.output_size(7, 3, 2, 0) == 3
    assert ops.output_size(7, 3, 2, "same") == 4


# ---------------------------------------------------------------- errors
X = np.zeros((1, 5, 5, 2), np.float32)
W = np.zeros((3, 3, 2, 4), np.float32)


@pytest.mark.parametrize(
    "call, argument",
    [
        (lambda: ops.conv2d(X, np.zeros((7, 7, 2, 1))), "kernel"),
        (lambda: ops.conv2d(X, W, stride=0), "stride"),
        (lambda: ops.conv2d(X, W, stride=(1, 2, 3)), "stride"),
        (lambda: ops.conv2d(X, np.zeros((3, 3, 3, 4))), "in_channels"),
        (lambda: ops.conv2d(X[0], W), "rank 4"),
        (lambda: ops.conv2d(X, W[0]), "rank 4"),
        (lambda: ops.conv2d(X, W, padding="full"), "padding"),
        (lambda: ops.conv2d(X, W, b=np.zeros(3)), "b has shape (3,): expected (4,)"),
        (lambda: ops.max_pool2d(X, 6), "pool_size"),
        (lambda: ops.avg_pool2d(X, 2, stride=-1), "stride"),
        (lambda: ops.max_pool2d(X, 2, padding="causal"), "padding"),
        (lambda: ops.dense(np.zeros((2, 3)), np.zeros((4, 1))), "in_features"),
        (lambda: ops.dense(np.zeros((2, 3, 1)), np.zeros((3, 1))), "rank 2"),
        (lambda: ops.output_size(4, 5), "kernel"),
        (lambda: ops.output_size(4, 3, 0), "stride"),
        (lambda: ops.output_size(4, 3, 1, "full"), "padding"),
    ],
)
def test_bad_arguments_raise_named_errors(call, argument):
    with pytest.raises(ValueError, match=argument.replace("(", r"\(").replace(")", r"\)")):
        call()


def _every_layer(bad):
    """(argument name, call) for every ops layer with ``bad`` as one of its arrays."""
    x4, x2, w4, w2 = X, np.zeros((1, 3), np.float32), W, np.zeros((3, 2), np.float32)
    return [
        ("x", lambda: ops.conv2d(bad(x4), w4)),
        ("w", lambda: ops.conv2d(x4, bad(w4))),
        ("b", lambda: ops.conv2d(x4, w4, bad(np.zeros(4)))),
        ("x", lambda: ops.max_pool2d(bad(x4), 2)),
        ("x", lambda: ops.avg_pool2d(bad(x4), 2, padding="same")),
        ("x", lambda: ops.dense(bad(x2), w2)),
        ("w", lambda: ops.dense(x2, bad(w2))),
        ("b", lambda: ops.dense(x2, w2, bad(np.zeros(2)))),
        ("x", lambda: ops.flatten(bad(x4))),
        ("x", lambda: ops.relu(bad(x2))),
        ("x", lambda: ops.sigmoid(bad(x2))),
        ("x", lambda: ops.softmax(bad(x2))),
        ("x", lambda: ops.ACTIVATIONS["linear"](bad(x2))),
    ]


@pytest.mark.parametrize("bad, dtype", [
    (lambda a: a + np.complex128(1j), "complex128"),
    (lambda a: a > 0, "bool"),
    (lambda a: a.astype(object), "object"),
    (lambda a: a.astype(str), "<U32"),
])
def test_every_layer_refuses_values_that_are_not_real_numbers(bad, dtype):
    for name, call in _every_layer(bad):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no ComplexWarning: refused before any cast
            with pytest.raises(ValueError) as info:
                call()
        assert str(info.value) == (f"{name} has dtype {dtype}: expected real numbers "
                                   "(unsigned integer, integer, float)"), call


def test_layers_still_take_integer_images_and_python_lists():
    image = np.arange(16, dtype=np.int16).reshape(1, 4, 4, 1)
    np.testing.assert_array_equal(ops.max_pool2d(image, 2)[0, :, :, 0], [[5, 7], [13, 15]])
    assert ops.conv2d(image, np.ones((2, 2, 1, 1)), [0.5]).dtype == np.float32
    assert ops.relu([-1, 2]).tolist() == [0.0, 2.0] and ops.sigmoid(0) == 0.5


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("threshold", [1, None])
def test_pooling_split_over_cores_matches_keras(monkeypatch, padding, threshold):
    """Large batches are pooled in threads, one batch slice per core: same numbers."""
    if threshold is not None:
        monkeypatch.setattr(ops, "_PARALLEL_MIN_ELEMENTS", threshold)
    x = _rng(5).standard_normal((5, 130, 131, 32), dtype=np.float32)  # over the default threshold
    assert len(ops._batch_parts(x.shape[0], x.size)) == min(ops._usable_cores(), 5)
    for ours, layer in (
        (ops.max_pool2d, keras.layers.MaxPooling2D),
        (ops.avg_pool2d, keras.layers.AveragePooling2D),
    ):
        expected = np.asarray(layer(3, strides=2, padding=padding)(x))
        np.testing.assert_allclose(ours(x, 3, 2, padding), expected, atol=ATOL)


@pytest.mark.parametrize("padding,stride", [("valid", 1), ("same", 2)])
@pytest.mark.parametrize("threshold", [1, None])
def test_conv2d_split_over_cores_matches_keras(monkeypatch, padding, stride, threshold):
    """Large outputs are convolved in threads (BLAS held to one thread each): same numbers."""
    if threshold is not None:
        monkeypatch.setattr(ops, "_CONV_PARALLEL_MIN_OUTPUT", threshold)
    rng = _rng(6)
    x = rng.standard_normal((7, 90, 91, 3), dtype=np.float32)  # output over the default threshold
    w = rng.standard_normal((3, 3, 3, 32), dtype=np.float32) / 5
    b = rng.standard_normal(32, dtype=np.float32)
    parts = ops._batch_parts(7, 7 * 90 * 91 * 32, ops._CONV_PARALLEL_MIN_OUTPUT, per_core=4)
    if ops._usable_cores() >= 2:
        assert len(parts) == 7  # about 4 per core, at most one per image
    assert [i for p in parts for i in range(p.start, p.stop)] == list(range(7))
    expected = _keras_conv(x, w, b, stride, padding)
    np.testing.assert_allclose(ops.conv2d(x, w, b, stride, padding), expected, atol=ATOL)


def test_conv2d_threads_leave_blas_threads_as_they_were(monkeypatch):
    from threadpoolctl import threadpool_info

    monkeypatch.setattr(ops, "_CONV_PARALLEL_MIN_OUTPUT", 1)
    assert len(ops._batch_parts(4, 4 * 6 * 6 * 4, ops._CONV_PARALLEL_MIN_OUTPUT, per_core=4)) == (4 if ops._usable_cores() >= 2 else 1)
    before = [lib["num_threads"] for lib in threadpool_info()]
    ops.conv2d(np.ones((4, 8, 8, 2), np.float32), np.ones((3, 3, 2, 4), np.float32))
    assert [lib["num_threads"] for lib in threadpool_info()] == before


@pytest.mark.parametrize("block_bytes", [1, 40 * 4 * 30])
@pytest.mark.parametrize("padding,stride", [("valid", 1), ("same", 2)])
def test_conv2d_in_bands_of_rows_matches_keras(monkeypatch, block_bytes, padding, stride):
    """Images too large for one block are convolved a band of rows at a time: same numbers."""
    monkeypatch.setattr(ops, "_CONV_CHUNK_BYTES", block_bytes)
    monkeypatch.setattr(ops, "_CONV_BLAS_THREADS_CHUNK_BYTES", block_bytes)
    rng = _rng(7)
    x = rng.standard_normal((3, 13, 11, 2), dtype=np.float32)
    w = rng.standard_normal((3, 3, 2, 4), dtype=np.float32)
    b = rng.standard_normal(4, dtype=np.float32)
    np.testing.assert_allclose(ops.conv2d(x, w, b, stride, padding),
                               _keras_conv(x, w, b, stride, padding), atol=ATOL)


@pytest.mark.parametrize("threshold", [1, 2**40])  # the batch split over the cores, or not
def test_conv2d_writes_into_a_given_output(monkeypatch, threshold):
    monkeypatch.setattr(ops, "_CONV_PARALLEL_MIN_OUTPUT", threshold)
    rng = _rng(8)
    x = rng.standard_normal((4, 9, 8, 3), dtype=np.float32)
    w = rng.standard_normal((3, 3, 3, 5), dtype=np.float32)
    b = rng.standard_normal(5, dtype=np.float32)
    batch = np.full((6, 7, 6, 5), np.nan, np.float32)  # the output of images 1 to 4 of six
    target = batch[1:5]
    assert ops.conv2d(x, w, b, out=target) is target
    np.testing.assert_array_equal(batch[1:5], ops.conv2d(x, w, b))
    assert np.isnan(batch[[0, 5]]).all()  # the rest untouched
    for bad, message in ((batch[1:4], r"out has shape \(3, 7, 6, 5\): expected \(4, 7, 6, 5\)"),
                         (batch[1:5].astype(np.float64), "out must be a C-contiguous float32 array"),
                         (batch[1:5, :, ::-1], "out must be a C-contiguous float32 array")):
        with pytest.raises(ValueError, match=message):
            ops.conv2d(x, w, b, out=bad)


def test_blocks_cover_every_image_and_row_once():
    whole = list(ops._blocks(slice(2, 9), 5, 10, block_bytes=120))  # 2 images of 50 bytes a block
    assert whole == [(slice(2, 4), slice(0, 5)), (slice(4, 6), slice(0, 5)),
                     (slice(6, 8), slice(0, 5)), (slice(8, 9), slice(0, 5))]
    bands = list(ops._blocks(slice(0, 2), 5, 10, block_bytes=20))  # 2 rows of one image a block
    assert [(i.start, r.start, r.stop) for i, r in bands] == [
        (0, 0, 2), (0, 2, 4), (0, 4, 5), (1, 0, 2), (1, 2, 4), (1, 4, 5)]
    assert list(ops._blocks(slice(0, 2), 5, 10, block_bytes=20, bands=False)) == [
        (slice(0, 1), slice(0, 5)), (slice(1, 2), slice(0, 5))]


def test_pooling_in_blocks_of_images_matches_keras(monkeypatch):
    monkeypatch.setattr(ops, "_POOL_BLOCK_BYTES", 1)  # one image a block
    x = _rng(8).standard_normal((3, 9, 8, 2), dtype=np.float32)
    for padding in ("valid", "same"):
        expected = np.asarray(keras.layers.MaxPooling2D(3, strides=(2, 1), padding=padding)(x))
        np.testing.assert_allclose(ops.max_pool2d(x, 3, (2, 1), padding), expected, atol=ATOL)


def test_work_split_over_cores_is_not_split_again(monkeypatch):
    """Inside the threads of ``_run_parts`` a batch is one part: no thread waits for the pool."""
    monkeypatch.setattr(ops, "_usable_cores", lambda: 2)
    assert len(ops._batch_parts(8, 10, 1)) == 2
    nested = ops._run_parts(lambda part: len(ops._batch_parts(8, 10, 1)), [slice(0, 1), slice(1, 2)])
    assert nested == [1, 1]
    assert len(ops._batch_parts(8, 10, 1)) == 2  # and outside them, split again
