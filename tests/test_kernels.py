"""medlab.kernels: each named kernel's defining property, in every size, and the errors."""

import numpy as np
import pytest

from medlab import ops
from medlab.kernels import KERNEL_KINDS, MAX_KERNEL_SIZE, filter_image, _gaussian_sigma, make_kernel

SIZES = list(range(1, MAX_KERNEL_SIZE + 1, 2))
SIZES_3_UP = SIZES[1:]


def _grid(n=24):
    rows, cols = np.mgrid[0:n, 0:n].astype(np.float32)
    return rows, cols


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("kind", KERNEL_KINDS)
def test_shape_dtype_and_finite(kind, size):
    k = make_kernel(kind, size)
    assert k.shape == (size, size)
    assert k.dtype == np.float32
    assert np.all(np.isfinite(k))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("kind, total", [("identity", 1), ("mean", 1), ("gaussian", 1),
                                         ("sobel_x", 0), ("sobel_y", 0), ("laplacian", 0),
                                         ("sharpen", 1)])
def test_sums(kind, total, size):
    # blurs keep the mean brightness (sum 1); derivatives give 0 on a flat image (sum 0)
    assert make_kernel(kind, size).sum(dtype=np.float64) == pytest.approx(total, abs=1e-6)


def test_classic_3x3_kernels_exactly():
    expected = {
        "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
        "sobel_x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
        "sobel_y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
        "laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
        "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    }
    for kind, values in expected.items():
        np.testing.assert_array_equal(make_kernel(kind, 3), np.array(values, np.float32), err_msg=kind)
    np.testing.assert_allclose(make_kernel("mean", 3), np.full((3, 3), 1 / 9), rtol=1e-6)


def test_sobel_5x5_is_the_opencv_extended_sobel_up_to_scale():
    expected = np.outer([1, 4, 6, 4, 1], [-1, -2, 0, 2, 1]) / 16
    np.testing.assert_allclose(make_kernel("sobel_x", 5), expected, rtol=1e-6)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("kind", ["identity", "mean", "gaussian", "laplacian", "sharpen"])
def test_symmetric_kinds(kind, size):
    k = make_kernel(kind, size)
    np.testing.assert_allclose(k, k.T, atol=1e-7)
    np.testing.assert_allclose(k, k[::-1], atol=1e-7)
    np.testing.assert_allclose(k, k[:, ::-1], atol=1e-7)


@pytest.mark.parametrize("size", SIZES)
def test_sobel_antisymmetry_and_transpose(size):
    sx, sy = make_kernel("sobel_x", size), make_kernel("sobel_y", size)
    np.testing.assert_array_equal(sy, sx.T)
    np.testing.assert_allclose(sx[:, ::-1], -sx, atol=1e-7)  # mirror left-right flips the sign
    np.testing.assert_allclose(sx[::-1], sx, atol=1e-7)  # smooth, not differentiate, along y


@pytest.mark.parametrize("size", SIZES_3_UP)
def test_sobel_response_to_a_ramp(size):
    rows, cols = _grid()
    ramp_right = 3 * cols  # rises by 3 per pixel to the right
    # classic Sobel gives 8 x slope; every size keeps that scale
    np.testing.assert_allclose(filter_image(ramp_right, make_kernel("sobel_x", size)), 24, atol=1e-3)
    np.testing.assert_allclose(filter_image(ramp_right, make_kernel("sobel_y", size)), 0, atol=1e-3)
    ramp_down = -2 * rows
    np.testing.assert_allclose(filter_image(ramp_down, make_kernel("sobel_y", size)), -16, atol=1e-3)
    np.testing.assert_allclose(filter_image(ramp_down, make_kernel("sobel_x", size)), 0, atol=1e-3)


@pytest.mark.parametrize("size", SIZES_3_UP)
def test_laplacian_response_to_a_paraboloid_and_a_plane(size):
    rows, cols = _grid()
    centred_rows, centred_cols = rows - 12, cols - 12
    bowl = centred_rows**2 + centred_cols**2  # Laplacian 2 + 2 = 4 everywhere
    np.testing.assert_allclose(filter_image(bowl, make_kernel("laplacian", size)), 4, atol=1e-3)
    plane = 2 * rows - 5 * cols + 7  # second derivatives 0
    np.testing.assert_allclose(filter_image(plane, make_kernel("laplacian", size)), 0, atol=1e-3)


@pytest.mark.parametrize("kind", ["sobel_x", "sobel_y", "laplacian"])
def test_size_1_derivatives_are_zero(kind):
    np.testing.assert_array_equal(make_kernel(kind, 1), np.zeros((1, 1), np.float32))


@pytest.mark.parametrize("kind", ["identity", "mean", "gaussian", "sharpen"])
def test_size_1_blurs_and_sharpen_are_the_identity(kind):
    np.testing.assert_allclose(make_kernel(kind, 1), [[1.0]], rtol=1e-6)


@pytest.mark.parametrize("size", SIZES)
def test_gaussian_normalised_peaked_and_matches_its_sigma(size):
    k = make_kernel("gaussian", size).astype(np.float64)
    assert k.sum() == pytest.approx(1.0, abs=1e-6)
    assert k[size // 2, size // 2] == k.max()
    assert np.all(k > 0)
    r = np.arange(size) - size // 2
    expected = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * _gaussian_sigma(size) ** 2))
    np.testing.assert_allclose(k, expected / expected.sum(), rtol=1e-5)


def test_gaussian_sigma_follows_opencv_rule():
    assert _gaussian_sigma(3) == pytest.approx(0.8)
    assert _gaussian_sigma(15) == pytest.approx(2.6)
    assert [_gaussian_sigma(s) for s in SIZES] == sorted(_gaussian_sigma(s) for s in SIZES)


@pytest.mark.parametrize("size", SIZES)
def test_identity_leaves_the_image_unchanged_with_same_padding(size):
    image = np.random.default_rng(size).random((20, 17), dtype=np.float32)
    out = filter_image(image, make_kernel("identity", size), padding="same")
    np.testing.assert_array_equal(out, image)


@pytest.mark.parametrize("size", SIZES)
def test_mean_kernel_is_the_window_average(size):
    image = np.random.default_rng(1).random((20, 20), dtype=np.float32)
    out = filter_image(image, make_kernel("mean", size))
    expected = ops.avg_pool2d(image[None, :, :, None], size, stride=1)[0, :, :, 0]
    np.testing.assert_allclose(out, expected, atol=1e-5)


@pytest.mark.parametrize("kind", ["mean", "gaussian", "sharpen", "identity"])
def test_constant_image_stays_constant(kind):
    out = filter_image(np.full((20, 20), 0.25, np.float32), make_kernel(kind, 5))
    np.testing.assert_allclose(out, 0.25, atol=1e-6)


def test_sharpen_is_identity_minus_laplacian():
    for size in SIZES:
        np.testing.assert_allclose(
            make_kernel("sharpen", size),
            make_kernel("identity", size) - make_kernel("laplacian", size), atol=1e-7,
        )


def test_filter_image_is_cross_correlation():
    image = np.zeros((3, 3), np.float32)
    image[0, 0] = 1
    kernel = np.arange(9, dtype=np.float32).reshape(3, 3)
    assert filter_image(image, kernel).shape == (1, 1)
    assert filter_image(image, kernel)[0, 0] == 0.0  # a flipped kernel (convolution) gives 8


@pytest.mark.parametrize("padding, stride, shape", [("valid", 1, (16, 12)), ("same", 1, (20, 16)),
                                                    ("valid", 2, (8, 6)), ("same", 3, (7, 6))])
def test_filter_image_shapes(padding, stride, shape):
    image = np.ones((20, 16), np.float32)
    out = filter_image(image, make_kernel("mean", 5), padding=padding, stride=stride)
    assert out.shape == shape
    assert out.dtype == np.float32


# --------------------------------------------------------------------- errors
def test_unknown_kind_lists_the_valid_ones():
    with pytest.raises(ValueError, match="kind") as info:
        make_kernel("blur", 3)
    for kind in KERNEL_KINDS:
        assert kind in str(info.value)
    assert "'blur'" in str(info.value)


@pytest.mark.parametrize("size", [0, -1, 2, 4, 16, 17, 3.0, "3", True, None])
def test_bad_sizes_name_the_argument(size):
    with pytest.raises(ValueError, match=r"^size .*expected an odd integer in \[1, 15\]"):
        make_kernel("mean", size)


def test_numpy_int_size_is_accepted():
    assert make_kernel("mean", np.int64(5)).shape == (5, 5)


@pytest.mark.parametrize("image, kernel, match", [
    (np.ones((1, 8, 8, 1)), np.ones((3, 3)), r"^image has shape .*expected \(H, W\)"),
    (np.ones((8, 8)), np.ones((3, 3, 1, 1)), r"^kernel has shape .*expected \(H, W\)"),
])
def test_filter_image_rank_errors(image, kernel, match):
    with pytest.raises(ValueError, match=match):
        filter_image(image, kernel)


def test_filter_image_kernel_larger_than_image():
    with pytest.raises(ValueError, match="kernel"):
        filter_image(np.ones((4, 4)), make_kernel("mean", 5))
    assert filter_image(np.ones((4, 4)), make_kernel("mean", 5), padding="same").shape == (4, 4)
