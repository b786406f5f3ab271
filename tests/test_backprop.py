"""medlab.backprop against tf.GradientTape, on fixed cases and generated ones."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from medlab import backprop, metrics, ops, tf

RTOL = 1e-5


def assert_close(got, expected):
    """Within 1e-5 relative: to each element and to the array's largest magnitude."""
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.shape == expected.shape
    assert got.dtype == np.float32
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1e-6)
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=RTOL * scale)


def _rng(seed=0):
    return np.random.default_rng(seed)


def _tape(forward, *arrays):
    """Gradients of sum(forward(*arrays) * dy) with respect to each array, by GradientTape."""
    variables = [tf.Variable(a) for a in arrays]
    with tf.GradientTape() as tape:
        y = forward(*variables)
    dy = _rng(99).standard_normal(y.shape).astype(np.float32)
    grads = tape.gradient(y, variables, output_gradients=tf.constant(dy))
    return dy, [np.asarray(g) for g in grads]


def _conv_case(n, h, wd, c, f, kh, kw, stride, padding, seed):
    rng = _rng(seed)
    x = rng.standard_normal((n, h, wd, c), dtype=np.float32)
    w = rng.standard_normal((kh, kw, c, f), dtype=np.float32)
    b = rng.standard_normal(f, dtype=np.float32)
    dy, (dx, dw, db) = _tape(
        lambda x, w, b: tf.nn.conv2d(x, w, stride, padding.upper()) + b, x, w, b)
    got = backprop.conv2d_backward(x, w, dy, stride, padding)
    for g, e in zip(got, (dx, dw, db)):
        assert_close(g, e)


# ---------------------------------------------------------------- conv2d
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("stride", [1, 2, (1, 3)])
def test_conv2d_backward_matches_gradient_tape_fixed(padding, stride):
    _conv_case(2, 11, 9, 3, 5, 3, 4, stride, padding, seed=1)


@given(
    n=st.integers(1, 3), h=st.integers(1, 12), wd=st.integers(1, 12), c=st.integers(1, 4),
    f=st.integers(1, 4), kh=st.integers(1, 5), kw=st.integers(1, 5), sh=st.integers(1, 3),
    sw=st.integers(1, 3), padding=st.sampled_from(["valid", "same"]), seed=st.integers(0, 2**16),
)
def test_conv2d_backward_matches_gradient_tape(n, h, wd, c, f, kh, kw, sh, sw, padding, seed):
    if padding == "valid" and (kh > h or kw > wd):
        return  # impossible: covered by the error tests
    _conv_case(n, h, wd, c, f, kh, kw, (sh, sw), padding, seed)


@given(
    n=st.integers(1, 3), h=st.integers(1, 12), wd=st.integers(1, 12), c=st.integers(1, 4),
    f=st.integers(1, 4), kh=st.integers(1, 5), kw=st.integers(1, 5),
    padding=st.sampled_from(["valid", "same"]), seed=st.integers(0, 2**16),
)
def test_conv2d_backward_by_shifted_products_matches_gradient_tape(n, h, wd, c, f, kh, kw, padding, seed):
    if padding == "valid" and (kh > h or kw > wd):
        return  # impossible: covered by the error tests
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(backprop, "_SHIFTED_MIN_CHANNELS", 1)  # stride 1: shifted products always
        patch.setattr(backprop, "_SHIFTED_MIN_PIXELS", 1)
        _conv_case(n, h, wd, c, f, kh, kw, 1, padding, seed)


def test_conv2d_backward_by_shifted_products_and_by_im2col_agree(monkeypatch):
    rng = _rng(12)
    x = rng.standard_normal((3, 36, 34, 16), dtype=np.float32)  # 16 channels, 34 x 32 outputs:
    w = rng.standard_normal((3, 3, 16, 8), dtype=np.float32)     # shifted products
    dy = rng.standard_normal((3, 34, 32, 8), dtype=np.float32)
    calls, products = [], backprop._shifted_products
    monkeypatch.setattr(backprop, "_shifted_products", lambda *args: calls.append(1) or products(*args))
    shifted = backprop.conv2d_backward(x, w, dy)
    assert calls  # the shifted products were used
    monkeypatch.setattr(backprop, "_CHUNK_BYTES", 1)  # and one image at a time
    assert all(np.allclose(a, b, rtol=1e-5, atol=1e-4)
               for a, b in zip(shifted, backprop.conv2d_backward(x, w, dy)))
    monkeypatch.setattr(backprop, "_SHIFTED_MIN_CHANNELS", 17)  # im2col
    assert all(np.allclose(a, b, rtol=1e-5, atol=1e-4)
               for a, b in zip(shifted, backprop.conv2d_backward(x, w, dy)))


def test_conv2d_backward_by_hand():
    # one 1x1 filter of weight 2 on a 1x2x2x1 image: dx = 2 dy, dw = sum x dy, db = sum dy
    x = np.array([1, 2, 3, 4], np.float32).reshape(1, 2, 2, 1)
    w = np.full((1, 1, 1, 1), 2, np.float32)
    dy = np.ones((1, 2, 2, 1), np.float32)
    dx, dw, db = backprop.conv2d_backward(x, w, dy)
    np.testing.assert_array_equal(dx, 2 * dy)
    assert dw.item() == 10 and db.tolist() == [4]


def test_conv2d_backward_can_skip_the_input_gradient():
    rng = _rng(11)
    x = rng.standard_normal((3, 7, 6, 2), dtype=np.float32)
    w = rng.standard_normal((3, 3, 2, 4), dtype=np.float32)
    dy = rng.standard_normal((3, 5, 4, 4), dtype=np.float32)
    dx, dw, db = backprop.conv2d_backward(x, w, dy, input_gradient=False)
    full = backprop.conv2d_backward(x, w, dy)
    assert dx is None
    np.testing.assert_array_equal(dw, full[1])
    np.testing.assert_array_equal(db, full[2])


@pytest.mark.parametrize("stride", [1, 2])
def test_conv2d_backward_large_batch_is_chunked(monkeypatch, stride):
    monkeypatch.setattr(backprop, "_CHUNK_BYTES", 1)  # one row of one image at a time
    _conv_case(5, 8, 8, 2, 3, 3, 3, stride, "same", seed=3)
    monkeypatch.setattr(backprop, "_CHUNK_BYTES", 8 * 2 * (2 * 27 + 3) * 4)  # bands of a few rows
    _conv_case(5, 8, 8, 2, 3, 3, 3, stride, "valid", seed=4)


# --------------------------------------------------------------- pooling
def _pool_case(kind, n, h, wd, c, pool, stride, padding, seed):
    x = _rng(seed).standard_normal((n, h, wd, c), dtype=np.float32)
    op = tf.nn.max_pool2d if kind == "max" else tf.nn.avg_pool2d
    dy, (dx,) = _tape(lambda x: op(x, pool, stride or pool, padding.upper()), x)
    function = backprop.max_pool2d_backward if kind == "max" else backprop.avg_pool2d_backward
    assert_close(function(x, dy, pool, stride, padding), dx)


@given(
    kind=st.sampled_from(["max", "avg"]), n=st.integers(1, 3), h=st.integers(1, 10),
    wd=st.integers(1, 10), c=st.integers(1, 3), ph=st.integers(1, 4), pw=st.integers(1, 4),
    stride=st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))),
    padding=st.sampled_from(["valid", "same"]), seed=st.integers(0, 2**16),
)
def test_pool_backward_matches_gradient_tape(kind, n, h, wd, c, ph, pw, stride, padding, seed):
    if padding == "valid" and (ph > h or pw > wd):
        return
    _pool_case(kind, n, h, wd, c, (ph, pw), stride, padding, seed)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_pool_backward_fixed(kind, padding):
    _pool_case(kind, 2, 9, 7, 3, (3, 2), (2, 1), padding, seed=4)


@pytest.mark.parametrize("pool,stride", [(2, None), ((3, 2), (2, 1))])
def test_max_pool_backward_in_blocks_of_images(monkeypatch, pool, stride):
    monkeypatch.setattr(ops, "_POOL_BLOCK_BYTES", 1)  # one image at a time
    monkeypatch.setattr(ops, "_PARALLEL_MIN_ELEMENTS", 1)  # and the batch split over the cores
    _pool_case("max", 5, 9, 8, 3, pool, stride, "same", seed=5)


def test_max_pool_backward_reuses_a_given_forward_output():
    x = _rng(9).standard_normal((2, 6, 6, 3), dtype=np.float32)
    dy = _rng(10).standard_normal((2, 3, 3, 3), dtype=np.float32)
    y = ops.max_pool2d(x, 2)
    np.testing.assert_array_equal(backprop.max_pool2d_backward(x, dy, y=y),
                                  backprop.max_pool2d_backward(x, dy))
    with pytest.raises(ValueError, match=r"y has shape .*: expected .*, the shape of the forward output"):
        backprop.max_pool2d_backward(x, dy, y=y[:, :2])


@pytest.mark.parametrize("pool,stride,padding", [(2, None, "valid"), ((3, 2), (2, 1), "same")])
def test_max_pool_backward_of_a_relu_after_the_pool(monkeypatch, pool, stride, padding):
    monkeypatch.setattr(ops, "_POOL_BLOCK_BYTES", 1)  # one image at a time
    x = _rng(11).standard_normal((3, 7, 6, 4), dtype=np.float32)
    dy, (expected,) = _tape(lambda x: tf.nn.relu(tf.nn.max_pool2d(x, pool, stride or pool,
                                                                  padding.upper())), x)
    y = ops.max_pool2d(x, pool, stride, padding)
    assert 0 < np.count_nonzero(y > 0) < y.size  # some windows pass nothing
    dx = backprop.max_pool2d_backward(x, dy, pool, stride, padding, y=y, relu=True)
    assert_close(dx, expected)
    np.testing.assert_array_equal(dx, backprop.max_pool2d_backward(x, dy * (y > 0), pool, stride, padding))


def test_max_pool_backward_routes_to_the_first_of_tied_maxima():
    x = np.zeros((1, 2, 2, 1), np.float32)  # four tied values, as after a ReLU
    dx = backprop.max_pool2d_backward(x, np.ones((1, 1, 1, 1), np.float32))
    assert dx[0, :, :, 0].tolist() == [[1, 0], [0, 0]]
    dy, (expected,) = _tape(lambda x: tf.nn.max_pool2d(x, 2, 2, "VALID"), x)
    np.testing.assert_array_equal(backprop.max_pool2d_backward(x, dy), expected)


# ------------------------------------------------------- dense, activations
@given(n=st.integers(1, 5), d=st.integers(1, 20), u=st.integers(1, 8), seed=st.integers(0, 2**16))
def test_dense_backward_matches_gradient_tape(n, d, u, seed):
    rng = _rng(seed)
    x = rng.standard_normal((n, d), dtype=np.float32)
    w = rng.standard_normal((d, u), dtype=np.float32)
    b = rng.standard_normal(u, dtype=np.float32)
    dy, expected = _tape(lambda x, w, b: x @ w + b, x, w, b)
    for g, e in zip(backprop.dense_backward(x, w, dy), expected):
        assert_close(g, e)


def test_relu_and_flatten_backward_match_gradient_tape():
    x = _rng(5).standard_normal((3, 4, 5, 2), dtype=np.float32)
    x[0, 0, 0, 0] = 0.0  # TensorFlow passes no gradient at exactly 0
    dy, (dx,) = _tape(tf.nn.relu, x)
    np.testing.assert_array_equal(backprop.relu_backward(x, dy), dx)
    dy, (dx,) = _tape(lambda x: tf.reshape(x, (3, -1)), x)
    np.testing.assert_array_equal(backprop.flatten_backward(x, dy), dx)


def test_sigmoid_cross_entropy_matches_tensorflow():
    rng = _rng(6)
    z = (rng.standard_normal((16, 1)) * 5).astype(np.float32)
    z[0] = 40.0  # no overflow far out
    y = rng.integers(0, 2, (16, 1)).astype(np.float32)
    variable = tf.Variable(z)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(y, variable))
    assert metrics.binary_cross_entropy(y, z, from_logits=True) == pytest.approx(float(loss), rel=RTOL)
    assert_close(backprop.sigmoid_cross_entropy_backward(z, y), tape.gradient(loss, variable).numpy())


@pytest.mark.parametrize("bad, shown", [(2.0, "2.0"), (-0.5, "-0.5"), (np.nan, "nan")])
def test_the_cross_entropy_refuses_labels_outside_0_1(bad, shown):
    labels = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, bad]])
    with pytest.raises(ValueError) as info:
        backprop.sigmoid_cross_entropy_backward(np.zeros((2, 3)), labels)
    assert str(info.value) == f"labels holds {shown}: expected finite values in [0, 1]"


# ------------------------------------------------------ the gradient check
def test_numerical_gradient_of_a_known_function():
    x = np.array([1.0, -2.0, 3.0])
    np.testing.assert_allclose(backprop._numerical_gradient(lambda v: np.sum(v ** 3), x, 1e-5),
                               3 * x ** 2, rtol=1e-8)
    assert x.tolist() == [1.0, -2.0, 3.0]  # not modified


def test_gradient_check_passes_right_gradients_and_catches_wrong_ones():
    rng = _rng(8)
    x = rng.standard_normal((2, 5, 5, 2)).astype(np.float32)
    w = rng.standard_normal((3, 3, 2, 2)).astype(np.float32)
    dy = rng.standard_normal((2, 3, 3, 2)).astype(np.float32)

    def loss_of_w(w_):
        return float(np.sum(ops.conv2d(x, w_.astype(np.float32)) * dy, dtype=np.float64))

    _, dw, _ = backprop.conv2d_backward(x, w, dy)
    ok, error = backprop.gradient_check(loss_of_w, w, dw)
    assert ok and error < 1e-2
    ok, error = backprop.gradient_check(loss_of_w, w, dw[::-1, ::-1])  # flipped kernel: wrong
    assert not ok and error > 0.1


def test_scaled_difference():
    assert backprop.scaled_difference([1.0, 1e-9], [1.0, 2e-9]) == pytest.approx(1e-9)
    assert backprop.scaled_difference(np.zeros(2), np.zeros(2)) == 0.0
    assert backprop.scaled_difference([1.0], [1.0, 2.0]) == float("inf")


# ------------------------------------------------------------------ errors
X = np.zeros((1, 4, 4, 2), np.float32)
W = np.zeros((3, 3, 2, 5), np.float32)


@pytest.mark.parametrize("call, message", [
    (lambda: backprop.conv2d_backward(X, W, np.zeros((1, 2, 2, 4))), r"dy has shape .*: expected .*, the shape of the forward output"),
    (lambda: backprop.conv2d_backward(X[0], W, np.zeros((1, 2, 2, 5))), "rank 4"),
    (lambda: backprop.conv2d_backward(X, W[:, :, :1], np.zeros((1, 2, 2, 5))), "in_channels"),
    (lambda: backprop.conv2d_backward(X, W, np.zeros((1, 2, 2, 5)), stride=0), "stride"),
    (lambda: backprop.conv2d_backward(X, W, np.zeros((1, 2, 2, 5)), padding="full"), "padding"),
    (lambda: backprop.max_pool2d_backward(X, np.zeros((1, 3, 3, 2))), r"dy has shape .*: expected .*, the shape of the forward output"),
    (lambda: backprop.avg_pool2d_backward(X, np.zeros((1, 2, 2, 2)), pool_size=5), "pool_size"),
    (lambda: backprop.dense_backward(np.zeros((2, 3)), np.zeros((4, 2)), np.zeros((2, 2))),
     "in_features"),
    (lambda: backprop.dense_backward(np.zeros((2, 3)), np.zeros((3, 2)), np.zeros((2, 3))),
     r"dy has shape .*: expected .*, the shape of the forward output"),
    (lambda: backprop.relu_backward(np.zeros(3), np.zeros(4)), r"dy has shape .*: expected .*, the shape of the forward output"),
    (lambda: backprop.sigmoid_cross_entropy_backward(np.zeros((2, 1)), np.zeros(2)), "labels"),
    (lambda: backprop._numerical_gradient(3, np.zeros(2)), "f must be a callable"),
    (lambda: backprop._numerical_gradient(np.sum, np.zeros(2), eps=0), "eps"),
    (lambda: backprop.gradient_check(np.sum, np.zeros(2), np.zeros(3)), "analytic"),
])
def test_bad_arguments_raise_named_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("call, name", [
    (lambda bad: backprop.conv2d_backward(bad(X), W, np.zeros((1, 2, 2, 5))), "x"),
    (lambda bad: backprop.conv2d_backward(X, bad(W), np.zeros((1, 2, 2, 5))), "w"),
    (lambda bad: backprop.conv2d_backward(X, W, bad(np.zeros((1, 2, 2, 5)))), "dy"),
    (lambda bad: backprop.max_pool2d_backward(X, bad(np.zeros((1, 2, 2, 2)))), "dy"),
    (lambda bad: backprop.avg_pool2d_backward(bad(X), np.zeros((1, 2, 2, 2))), "x"),
    (lambda bad: backprop.dense_backward(np.zeros((2, 3)), bad(np.zeros((3, 2))), np.zeros((2, 2))), "w"),
    (lambda bad: backprop.relu_backward(bad(np.zeros(3)), np.zeros(3)), "x"),
    (lambda bad: backprop.flatten_backward(np.zeros((2, 3)), bad(np.zeros((2, 3)))), "dy"),
    (lambda bad: metrics.binary_cross_entropy(np.zeros(3), bad(np.zeros(3)), from_logits=True), "logits"),
])
def test_backward_passes_refuse_complex_values(call, name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning: refused before any cast
        with pytest.raises(ValueError) as info:
            call(lambda a: np.asarray(a, np.complex128))
    assert str(info.value) == f"{name} has dtype complex128: expected real numbers (unsigned integer, integer, float)"
