"""medlab.widgets: the pure functions, and the widgets built headless (no display)."""

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from medlab import ops  # noqa: E402
from medlab.kernels import KERNEL_KINDS, filter_image, make_kernel  # noqa: E402
from medlab.widgets import (  # noqa: E402
    POOL_KINDS,
    ConvolutionView,
    PoolingView,
    convolution_view,
    default_view,
    kernel_explorer,
    LearningRateTrials,
    learning_rate_explorer,
    pooling_explorer,
    pooling_view,
    threshold_explorer,
    threshold_view,
)


@pytest.fixture
def image():
    return np.random.default_rng(0).random((40, 36), dtype=np.float32)


@pytest.fixture(autouse=True)
def no_figure_leaks():
    before = len(plt.get_fignums())
    with warnings.catch_warnings():
        # plt.show() on Agg warns only when a $DISPLAY is set; nothing to show headless
        warnings.filterwarnings("ignore", message=".*non-interactive.*", category=UserWarning)
        yield
    leaked = len(plt.get_fignums()) - before
    plt.close("all")
    assert leaked == 0, f"{leaked} matplotlib figures left open"


def _controls(widget):
    return {child.description: child for child in widget.children[:-1]}


# ------------------------------------------------------------ convolution_view
def test_convolution_view_valid(image):
    view = convolution_view(image, "gaussian", 7)
    assert isinstance(view, ConvolutionView)
    assert view.input_shape == (40, 36)
    assert view.output_shape == view.image.shape == (34, 30)
    assert view.image.dtype == np.float32
    np.testing.assert_array_equal(view.kernel, make_kernel("gaussian", 7))
    np.testing.assert_array_equal(view.image, filter_image(image, make_kernel("gaussian", 7)))
    assert view.text == (
        "kernel 7x7 gaussian, valid padding, stride 1: input (40, 36) -> output (34, 30)"
    )


@pytest.mark.parametrize("kind", KERNEL_KINDS)
@pytest.mark.parametrize("size", [1, 3, 9, 15])
def test_convolution_view_every_kind_and_size(image, kind, size):
    valid = convolution_view(image, kind, size)
    same = convolution_view(image, kind, size, padding="same")
    assert valid.output_shape == (40 - size + 1, 36 - size + 1)
    assert same.output_shape == (40, 36)
    assert f"{size}x{size} {kind}" in valid.text and "same padding" in same.text


def test_convolution_view_stride(image):
    view = convolution_view(image, "mean", 3, stride=2)
    assert view.output_shape == (ops.output_size(40, 3, 2), ops.output_size(36, 3, 2)) == (19, 17)
    assert "stride 2" in view.text


def test_convolution_view_identity_same_returns_the_image(image):
    np.testing.assert_array_equal(convolution_view(image, "identity", 5, "same").image, image)


def test_convolution_view_errors(image):
    with pytest.raises(ValueError, match=r"^image has shape .*expected \(H, W\)"):
        convolution_view(image[None], "mean", 3)
    with pytest.raises(ValueError, match="^kind .*expected one of"):
        convolution_view(image, "median", 3)
    with pytest.raises(ValueError, match=r"^size .*expected an odd integer"):
        convolution_view(image, "mean", 4)
    with pytest.raises(ValueError, match="padding"):
        convolution_view(image, "mean", 3, padding="full")


# ---------------------------------------------------------------- pooling_view
def test_pooling_view_max_and_average(image):
    view = pooling_view(image, 2)
    assert isinstance(view, PoolingView)
    assert view.output_shape == view.image.shape == (20, 18)
    np.testing.assert_array_equal(view.image, ops.max_pool2d(image[None, :, :, None], 2)[0, :, :, 0])
    assert view.text == "max pooling 2x2, stride 2: input (40, 36) -> output (20, 18)"
    average = pooling_view(image, 4, kind="average")
    assert average.output_shape == (10, 9)
    np.testing.assert_allclose(average.image[0, 0], image[:4, :4].mean(), rtol=1e-6)
    assert average.text.startswith("average pooling 4x4, stride 4")


def test_pooling_view_stride_and_size_1(image):
    overlapping = pooling_view(image, 3, stride=2)
    assert overlapping.output_shape == (19, 17)
    assert "stride 2" in overlapping.text
    np.testing.assert_array_equal(pooling_view(image, 1).image, image)


@pytest.mark.parametrize("kind", POOL_KINDS)
def test_pooling_view_every_size(image, kind):
    for size in range(1, 9):
        assert pooling_view(image, size, kind).output_shape == (40 // size, 36 // size)


def test_pooling_view_errors(image):
    with pytest.raises(ValueError, match="^kind .*expected one of max, average"):
        pooling_view(image, 2, kind="min")
    with pytest.raises(ValueError, match=r"^image has shape .*expected \(H, W\)"):
        pooling_view(image[None, :, :, None], 2)
    with pytest.raises(ValueError, match="pool_size"):
        pooling_view(image, 0)


# -------------------------------------------------------------------- widgets
def test_kernel_explorer_headless(image):
    widget = kernel_explorer(image)
    controls = _controls(widget)
    slider, menu, padding = controls["kernel size"], controls["kernel"], controls["padding"]
    assert (slider.min, slider.max, slider.step, slider.value) == (1, 15, 2, 3)
    assert tuple(menu.options) == KERNEL_KINDS
    assert tuple(padding.options) == ("valid", "same")

    first = widget.result
    assert isinstance(first, ConvolutionView)
    assert first.output_shape == (38, 34)
    np.testing.assert_array_equal(first.image, convolution_view(image, "gaussian", 3).image)

    slider.value = 9
    second = widget.result
    assert second is not first
    assert second.output_shape == (32, 28)
    assert second.text == convolution_view(image, "gaussian", 9).text
    np.testing.assert_array_equal(second.image, convolution_view(image, "gaussian", 9).image)
    assert not np.array_equal(second.image, first.image[3:-3, 3:-3])  # more blur, not a crop

    menu.value = "sobel_x"
    np.testing.assert_array_equal(widget.result.image, convolution_view(image, "sobel_x", 9).image)
    padding.value = "same"
    assert widget.result.output_shape == (40, 36)


def test_kernel_explorer_starting_values_and_errors(image):
    widget = kernel_explorer(image, kernel_kind="laplacian", kernel_size=5)
    assert widget.result.text.startswith("kernel 5x5 laplacian")
    with pytest.raises(ValueError, match=r"^size .*expected an odd integer"):
        kernel_explorer(image, kernel_size=4)
    with pytest.raises(ValueError, match=r"^image has shape .*expected \(H, W\)"):
        kernel_explorer(image[None])


def test_pooling_explorer_headless(image):
    widget = pooling_explorer(image)
    controls = _controls(widget)
    slider, menu, stride = controls["pool size"], controls["pooling"], controls["stride"]
    assert (slider.min, slider.max, slider.step, slider.value) == (1, 8, 1, 2)
    assert tuple(menu.options) == POOL_KINDS

    first = widget.result
    assert isinstance(first, PoolingView)
    assert first.output_shape == (20, 18)
    np.testing.assert_array_equal(first.image, pooling_view(image, 2).image)

    slider.value = 4
    second = widget.result
    assert second.output_shape == (10, 9)
    np.testing.assert_array_equal(second.image, pooling_view(image, 4).image)
    assert second.text == "max pooling 4x4, stride 4: input (40, 36) -> output (10, 9)"

    menu.value = "average"
    np.testing.assert_array_equal(widget.result.image, pooling_view(image, 4, "average").image)
    stride.value = 1
    assert widget.result.output_shape == (37, 33)
    assert "stride 1" in widget.result.text


def test_pooling_explorer_bad_kind(image):
    with pytest.raises(ValueError, match="^kind .*expected one of"):
        pooling_explorer(image, kind="min")


# ------------------------------------------------- segmentation threshold (lesson 12)
def test_threshold_view():
    p = np.array([[0.1, 0.5], [0.7, 0.49]])
    view = threshold_view(p, np.array([[0, 1], [1, 1]]), 0.5)
    assert view.area_pixels == 2 and view.reference_area_pixels == 3
    assert view.dice == pytest.approx(2 * 2 / 5)
    assert "Dice 0.800" in str(view)
    assert threshold_view(p, np.ones((2, 2)), 0.0).dice == 1.0


def test_threshold_explorer_wraps_threshold_view():
    p = np.linspace(0, 1, 16).reshape(4, 4)
    reference = (p >= 0.5).astype(np.uint8)
    widget = threshold_explorer(np.zeros((4, 4)), p, reference, threshold=0.3)
    assert widget.result.area_pixels == int(np.sum(p >= 0.3))
    widget.children[0].value = 0.5
    assert widget.result.dice == 1.0


def _figures_drawn(monkeypatch, draw):
    """Call ``draw()`` and return the titles of the axes it showed (plt.show captured)."""
    import matplotlib.pyplot as plt

    shown = []
    monkeypatch.setattr(plt, "show", lambda *a, **k: shown.append(
        [ax.get_title() for ax in plt.gcf().axes]))
    result = draw()
    return result, shown


def test_default_view_redraws_the_first_view_after_the_slider_moved(image, monkeypatch, capsys):
    widget = kernel_explorer(image, kernel_size=5)
    first = widget.result
    widget.children[0].value = 9
    capsys.readouterr()
    result, shown = _figures_drawn(monkeypatch, lambda: default_view(widget))
    assert result is first and result.output_shape == (36, 32)
    assert shown == [["input 40x36", "gaussian 5x5, output 36x32", "", ""]]  # and two colourbars
    assert capsys.readouterr().out == first.text + "\n"

    pooled = pooling_explorer(image, pool_size=4)
    pooled.children[0].value = 2
    result, shown = _figures_drawn(monkeypatch, lambda: default_view(pooled))
    assert result.output_shape == (10, 9) and shown[0][1] == "max pool 4x4, output 10x9"

    p = np.linspace(0, 1, 16).reshape(4, 4)
    mask = threshold_explorer(np.zeros((4, 4)), p, (p >= 0.5).astype(np.uint8), threshold=0.3)
    mask.children[0].value = 0.8
    result, shown = _figures_drawn(monkeypatch, lambda: default_view(mask))
    assert result.threshold == 0.3 and len(shown) == 1
    with pytest.raises(ValueError, match="default_view: widget is not one of medlab.widgets' explorers"):
        default_view(object())


# ------------------------------------------------- learning rate (lesson 07)
def test_explorer_retrains_when_the_slider_moves_and_keeps_the_curves(tiny):
    x, y = tiny
    widget = learning_rate_explorer(x, y, epochs=1, seed=0, learning_rate=1e-3)
    first = widget.result
    assert isinstance(first, LearningRateTrials) and first.learning_rate == 1e-3
    assert first.text.startswith("learning rate 1e-03: training loss")
    slider = widget.children[0]
    assert slider.description == "learning rate" and (slider.min, slider.max) == (-5, -1)
    slider.value = 1e-2
    second = widget.result
    assert second is not first and second.learning_rate == 0.01
    assert second.history != first.history
    assert sorted(widget.trials) == [1e-3, 1e-2] and second.tried is widget.trials
    assert widget.trials[1e-3] == first.history
    with pytest.raises(ValueError, match="learning_rate"):
        learning_rate_explorer(x, y, learning_rate=0.5)
    # the default view keeps the curves tried by then (one), not those tried since
    import matplotlib.pyplot as plt
    drawn = []
    original = plt.show
    try:
        plt.show = lambda *a, **k: drawn.append(len(plt.gcf().axes[0].get_lines()))
        assert default_view(widget) is first
    finally:
        plt.show = original
    assert drawn == [1]


def test_explorers_label_their_colourbars_with_the_image_units(image, monkeypatch):
    import matplotlib.pyplot as plt

    labels = []
    monkeypatch.setattr(plt, "show", lambda *a, **k: labels.append([ax.get_ylabel() for ax in plt.gcf().axes[2:]]))
    kernel_explorer(image, kernel_size=3, units="HU")
    pooling_explorer(image, units="HU")
    assert labels == [["HU", "filter response (HU)"], ["HU", "HU"]]


def test_threshold_explorer_draws_a_uint8_image_on_its_own_scale(monkeypatch):
    """A uint8 ultrasound image is drawn on 0..255, not cast to float and saturated at 1."""
    import matplotlib.pyplot as plt

    image = np.arange(16, dtype=np.uint8).reshape(4, 4) * 16
    p = np.linspace(0, 1, 16).reshape(4, 4)
    limits = []
    monkeypatch.setattr(plt, "show", lambda *a, **k: limits.append(plt.gcf().axes[0].images[0].get_clim()))
    widget = threshold_explorer(image, p, (p >= 0.5).astype(np.uint8))
    default_view(widget)
    assert limits[-1] == (0, 255)
