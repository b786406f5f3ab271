"""medlab.volumes (lesson 13) and the volume measures of medlab.metrics: slices, networks,
window-by-window inference, post-processing, HD95 equal to MedPy's, volumes in mm³."""

import numpy as np
import pytest

from medlab import metrics, volumes
from medlab.data import load_hippocampus


@pytest.fixture(scope="module")
def hippocampus():
    return load_hippocampus()


# ------------------------------------------------------------------ measures
def test_hd95_equals_medpy_on_real_masks_with_anisotropic_spacing(hippocampus):
    from medpy.metric.binary import hd95

    masks = hippocampus["test"].masks
    rng = np.random.default_rng(0)
    for i in range(6):
        reference = masks[i] == 1 + i % 2
        estimate = np.roll(masks[i + 1] > 0, int(rng.integers(-2, 3)), axis=i % 3)
        spacing = tuple(float(v) for v in rng.uniform(0.5, 2.5, 3))
        ours = metrics.hausdorff95_mm(reference, estimate, spacing)
        assert ours == pytest.approx(hd95(estimate, reference, voxelspacing=spacing), abs=1e-9)
        assert ours == pytest.approx(hd95(reference, estimate, voxelspacing=spacing), abs=1e-9)


def test_hd95_of_a_shifted_cube_is_the_shift_in_mm_and_empty_masks_give_nan():
    a = np.zeros((10, 10, 10), bool)
    a[3:7, 3:7, 3:7] = True
    assert metrics.hausdorff95_mm(a, a, 1.0) == 0.0
    assert metrics.hausdorff95_mm(a, np.roll(a, 2, axis=2), (1.0, 1.0, 0.7)) == pytest.approx(1.4)
    assert np.isnan(metrics.hausdorff95_mm(a, np.zeros_like(a), 1.0))
    with pytest.raises(ValueError, match="spacing_mm"):
        metrics.hausdorff95_mm(a, a, (1.0, 1.0))
    with pytest.raises(ValueError, match="at least one voxel"):
        metrics.surface_distances_mm(a, np.zeros_like(a), 1.0)


def test_volume_mm3_counts_voxels_times_the_voxel_volume():
    masks = np.zeros((2, 4, 5, 6), np.uint8)
    masks[0, :2] = 1
    assert metrics.volume_mm3(masks, (1.0, 0.5, 2.0)).tolist() == [60.0, 0.0]
    assert metrics.volume_mm3(masks[0], 1.0) == 60.0
    with pytest.raises(ValueError, match="binary"):
        metrics.volume_mm3(masks * 2, 1.0)


def test_dice_per_class_scores_each_structure_per_volume():
    ref = np.zeros((2, 4, 4, 4), np.uint8)
    ref[:, :2] = 1
    ref[:, 2:] = 2
    est = ref.copy()
    est[1, 0] = 2
    d = metrics.dice_per_class(ref, est)
    assert d.shape == (2, 2) and d[0].tolist() == [1.0, 1.0]
    assert d[1, 0] == pytest.approx(2 * 16 / (32 + 16)) and d[1, 1] == pytest.approx(2 * 32 / (32 + 48))


def test_percent_differences_are_shares_of_the_mean():
    r = metrics.percent_differences([100.0, 200.0, 400.0], [110.0, 180.0, 400.0])
    assert r["difference"] == pytest.approx([100 * 10 / 105, -100 * 20 / 190, 0.0])
    assert r["bias"] == pytest.approx(np.mean(r["difference"]))


# ------------------------------------------------------------------ arrays
def test_slice_stack_puts_neighbours_in_channels_with_zeros_beyond_the_ends():
    v = np.arange(2 * 3 * 2 * 2).reshape(2, 3, 2, 2)
    s = volumes.slice_stack(v, context=1)
    assert s.shape == (6, 2, 2, 3)
    assert np.array_equal(s[4, ..., 1], v[1, 1]) and np.array_equal(s[4, ..., 0], v[1, 0])
    assert np.array_equal(s[4, ..., 2], v[1, 2])
    assert np.all(s[3, ..., 0] == 0) and np.all(s[5, ..., 2] == 0)
    assert np.array_equal(volumes.slice_stack(v)[..., 0], v.reshape(6, 2, 2))


def test_model_inputs_and_targets_have_each_methods_shapes(hippocampus):
    images, masks = hippocampus["val"].images[:2], hippocampus["val"].masks[:2]
    assert volumes.model_inputs("3d", images).shape == (2, 40, 56, 40, 1)
    assert volumes.model_inputs("2d", images).shape == (80, 56, 40, 1)
    assert volumes.model_inputs("2.5d", images).shape == (80, 56, 40, 3)
    assert volumes._model_targets("2d", masks).shape == (80, 56, 40, 1)
    assert volumes.model_inputs("3d", images).max() <= 1.0
    with pytest.raises(ValueError, match="method"):
        volumes.model_inputs("4d", images)


# ------------------------------------------------------------------ window by window
def test_sliding_window_of_a_voxelwise_function_equals_the_whole_volume():
    rng = np.random.default_rng(1)
    volume = rng.random((20, 28, 20, 2)).astype(np.float32)

    def voxelwise(batch):  # any function of each voxel alone: windows cannot change it
        return np.concatenate([batch ** 2, np.sin(batch[..., :1])], axis=-1)

    whole = voxelwise(volume[None])[0]
    for window, overlap in (((8, 8, 8), 0.5), ((20, 16, 12), 0.25), ((20, 28, 20), 0.0), ((5, 7, 3), 0.0)):
        got = volumes.sliding_window_probabilities(voxelwise, volume, window, overlap)
        np.testing.assert_allclose(got, whole, rtol=1e-6, atol=1e-6)


def test_window_starts_cover_the_axis_and_end_flush():
    assert volumes.window_starts(40, 24, 8) == [0, 8, 16]
    assert volumes.window_starts(56, 24, 16) == [0, 16, 32]
    assert volumes.window_starts(10, 10, 3) == [0]
    with pytest.raises(ValueError, match="larger"):
        volumes.window_starts(10, 12, 3)


def test_sliding_window_of_a_3d_unet_is_close_to_whole_volume_inference(hippocampus):
    from medlab._tensorflow import seed_everything

    seed_everything(0)
    model = volumes.build_model("3d", (40, 56, 40), base_filters=2)
    x = volumes.as_volume_inputs(hippocampus["test"].images[:1])
    whole = np.asarray(model(x, training=False))[0]
    window_net = volumes.build_model("3d", (24, 32, 24), base_filters=2)
    window_net.set_weights(model.get_weights())  # fully convolutional: the same weights at any size
    windows = volumes.sliding_window_probabilities(lambda b: np.asarray(window_net(b, training=False)), x[0],
                                                   (24, 32, 24), overlap=0.5, multiple_of=4)
    assert windows.shape == whole.shape
    difference = np.abs(windows - whole)  # only voxels near a window's faces see other inputs
    assert np.median(difference) < 1e-3 and difference.mean() < 0.01 and difference.max() < 0.2


# ------------------------------------------------------------------ models and post-processing
@pytest.mark.parametrize("method, shape", [("2d", (None, 56, 40, 3)), ("2.5d", (None, 56, 40, 3)),
                                           ("3d", (None, 40, 56, 40, 3))])
def test_each_method_builds_a_softmax_unet(method, shape):
    model = volumes.build_model(method, (40, 56, 40), base_filters=2)
    assert model.output_shape == shape
    assert model.input_shape[-1] == (3 if method == "2.5d" else 1)


def test_multiclass_unet_refuses_sides_the_pooling_cannot_halve():
    from medlab.models import multiclass_unet

    with pytest.raises(ValueError, match="divisible by 4"):
        multiclass_unet((40, 54, 40, 1), depth=2)


def test_class_shares_start_the_last_layer_at_the_log_shares(hippocampus):
    masks = hippocampus["train"].masks[:3]
    shares = volumes.class_shares(masks)
    assert np.isclose(shares.sum(), 1) and shares[0] > 0.9
    assert np.allclose(shares, [np.mean(masks == k) for k in range(3)])
    model = volumes.build_model("2d", (40, 56, 40), base_filters=2, class_shares=shares)
    assert np.allclose(model.get_layer("class_probability").get_weights()[1], np.log(shares), atol=1e-6)
    assert np.all(volumes.build_model("2d", (40, 56, 40), base_filters=2).get_layer("class_probability").get_weights()[1] == 0)
    with pytest.raises(ValueError, match="class_shares"):
        volumes.build_model("3d", (8, 8, 8), base_filters=2, class_shares=(0.5, 0.5))
    for bad in (np.array([0, 3]), np.array([0, -1]), np.array([0.0, 1.5])):
        with pytest.raises(ValueError, match="class numbers 0 to 2"):
            volumes.class_shares(bad)
    assert np.isclose(volumes.class_shares(np.array([0, 0, 1])).sum(), 1)  # class 2 absent: floored, then rescaled


def test_batch_dice_counts_every_voxel_of_the_batch_and_equals_per_image_for_one_image():
    from medlab.engine.losses import multiclass_dice_ce

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, (3, 6, 6, 1)).astype(np.float32)
    y[1] = 0  # an image without structures
    p = rng.dirichlet(np.ones(3), (3, 6, 6)).astype(np.float32)
    per_image, batch = (np.asarray(multiclass_dice_ce(3, over)(y, p)) for over in ("image", "batch"))
    onehot = np.eye(3)[y[..., 0].astype(int)]
    ce = -np.mean(np.sum(onehot * np.log(p), -1), axis=(1, 2))
    dice = (2 * np.sum(onehot * p, (0, 1, 2)) + 1) / (np.sum(onehot + p, (0, 1, 2)) + 1)
    assert np.allclose(batch, ce + 1 - dice[1:].mean(), atol=1e-5)
    for i in range(3):  # one image: the batch's Dice is the image's
        assert np.allclose(np.asarray(multiclass_dice_ce(3, "batch")(y[i:i + 1], p[i:i + 1])), per_image[i], atol=1e-5)
    with pytest.raises(ValueError, match="dice_over"):
        multiclass_dice_ce(3, "volume")


def test_largest_component_keeps_the_largest_blob_with_its_classes():
    lab = np.zeros((10, 10, 10), np.uint8)
    lab[1:5, 1:5, 1:5] = 1
    lab[5:7, 1:5, 1:5] = 2  # touching: one blob of two classes
    lab[8:10, 8:10, 8:10] = 2  # a stray blob
    kept = volumes.largest_component(lab)
    assert kept[8:, 8:, 8:].sum() == 0
    assert np.array_equal(kept[:8], lab[:8])
    assert np.array_equal(volumes.largest_component(lab[None])[0], kept)


def test_evaluate_gives_per_volume_figures_in_mm(hippocampus):
    ref = hippocampus["test"].masks[:3]
    figures = volumes.evaluate(ref, ref, (1.0, 1.0, 1.0))
    assert figures["dice"].shape == (3, 2) and np.all(figures["dice"] == 1)
    assert np.all(figures["hd95_mm"] == 0) and np.all(figures["volume_error_pct"] == 0)
    assert figures["volume_mm3"].tolist() == [float(np.sum(m > 0)) for m in ref]
    s = volumes.summary(volumes.evaluate(ref, np.zeros_like(ref), (1.0, 1.0, 1.0)))
    assert s["test_dice_mean"] == 0 and s["hd95_undefined"] == 6 and s["volume_error_pct"] == 100


def test_compare_methods_trains_each_method_per_seed_on_tiny_volumes(hippocampus):
    train, test = hippocampus["train"], hippocampus["test"]
    out = volumes.compare_methods(train.images[:2], train.masks[:2], test.images[:2], test.masks[:2], (1.0, 1.0, 1.0),
                                  methods=("2d", "3d"), seeds=(0, 1), epochs=1, base_filters=2)
    assert set(out.dice_mean) == {"2d", "3d"} and all(len(v) == 2 for v in out.dice_mean.values())
    assert out.labels["3d"].shape == (2, 40, 56, 40)
    assert all(0 <= d <= 1 for v in out.dice_mean.values() for d in v)
    with pytest.raises(ValueError, match="epochs: no value for"):
        volumes.compare_methods(train.images[:2], train.masks[:2], test.images[:2], test.masks[:2], (1.0, 1.0, 1.0),
                                methods=("2d", "3d"), epochs={"2d": 1}, base_filters=2)


# ------------------------------------------------------------------ plots and the slider
def test_volume_plots_return_figures_with_labelled_axes(hippocampus):
    import matplotlib.pyplot as plt

    from medlab import plots

    test = hippocampus["test"]
    fig = plots.volume_planes(test.images[0], test.masks[0], (1.0, 1.0, 2.0), predicted=test.masks[1], title="t")
    assert len(fig.axes) == 4 and fig.axes[0].get_xlabel() == "axis 1 (mm)"
    assert fig.axes[3].get_ylabel().startswith("MR signal")
    fig2 = plots.method_seeds({"2d": [0.8, 0.7, 0.75], "3d": [0.82, 0.71, 0.8]})
    assert fig2.axes[0].get_ylabel() and [t.get_text() for t in fig2.axes[0].get_xticklabels()] == ["2d", "3d"]
    volumes_mm3 = metrics.volume_mm3(test.masks[:5] > 0, 1.0)
    fig3 = plots.volume_agreement(volumes_mm3, volumes_mm3 * 1.05)
    assert "mm³" in fig3.axes[0].get_xlabel() and "%" in fig3.axes[0].get_ylabel()
    for f in (fig, fig2, fig3):
        plt.close(f)


def test_slice_view_and_its_explorer(hippocampus, monkeypatch):
    from medlab import widgets

    image, mask = hippocampus["train"].images[0], hippocampus["train"].masks[0]
    view = widgets.slice_view(image, mask, axis=1, index=30, spacing_mm=(1.0, 0.5, 1.0))
    assert view.image.shape == (40, 40) and view.position_mm == 15.0
    assert view.class_voxels == (int(np.sum(mask[:, 30] == 1)), int(np.sum(mask[:, 30] == 2)))
    assert "at 15.0 mm" in str(view)
    explorer = widgets.slice_explorer(image, mask, axis=0, spacing_mm=(1.0, 1.0, 1.0))
    assert explorer.result.index == 20 and widgets.default_view(explorer).axis == 0
    explorer.children[1].value = 5
    assert explorer.result.index == 5
    import matplotlib.pyplot as plt

    drawn = []
    monkeypatch.setattr(plt, "show", lambda: drawn.append(
        ([t.get_text() for t in plt.gca().get_legend().get_texts()], plt.gca().get_title())))
    widgets.default_view(widgets.slice_explorer(image, mask, axis=0, label_names=("background", "anterior", "posterior")))
    legend, title = drawn[-1]
    assert legend == ["anterior", "posterior"] and "anterior 126" in title
    with pytest.raises(ValueError, match="expected a name for each class 0 to 2"):
        widgets.slice_explorer(image, mask, label_names=("anterior", "posterior"))
    with pytest.raises(ValueError, match="index"):
        widgets.slice_view(image, mask, axis=0, index=40)


def test_receptive_field_of_the_3d_unet_and_its_input_checks():
    from medlab import summary
    from medlab._tensorflow import keras

    assert summary.receptive_field(volumes.build_model("3d", (48, 48, 48), base_filters=2)) == (44, 44, 44)
    classifier = keras.Sequential([keras.Input((16, 16, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="expected the input's spatial size"):
        summary.receptive_field(classifier)
    with pytest.raises(ValueError, match="fixed spatial size"):
        summary.receptive_field(keras.Sequential([keras.Input((None, None, 1)), keras.layers.Conv2D(1, 3)]))


def test_overlap_tile_equals_one_pass_of_a_unet_and_a_short_halo_does_not():
    from medlab._tensorflow import seed_everything
    from medlab.models import multiclass_unet

    seed_everything(0)
    net = multiclass_unet((None, None, None, 1), depth=1, base_filters=2)
    volume = np.random.default_rng(1).random((48, 8, 8, 1)).astype(np.float32)
    predict = lambda x: np.asarray(net(x, training=False))  # noqa: E731
    one_pass = predict(volume[None])[0]
    # depth 1, two 3x3x3 convolutions per level: the receptive field is 1 + 2 + 2 + 1 + 4 + 4 + 2 + 2 = 18 voxels
    exact = volumes.overlap_tile_probabilities(predict, volume, (24, 8, 8), halo=9, multiple_of=2)
    np.testing.assert_allclose(exact, one_pass, atol=1e-5)
    short = volumes.overlap_tile_probabilities(predict, volume, (24, 8, 8), halo=3, multiple_of=2)
    assert np.abs(short - one_pass).max() > 1e-4


def test_overlap_tile_refuses_windows_off_the_pooling_grid_or_too_narrow():
    volume = np.zeros((40, 8, 8, 1), np.float32)
    voxelwise = lambda x: x  # noqa: E731
    with pytest.raises(ValueError, match="axis 0"):
        volumes.overlap_tile_probabilities(voxelwise, volume, (20, 8, 8), halo=10)
    with pytest.raises(ValueError, match="multiple of 4"):
        volumes.overlap_tile_probabilities(voxelwise, volume, (30, 8, 8), halo=4, multiple_of=4)
    with pytest.raises(ValueError, match="larger than the volume"):
        volumes.overlap_tile_probabilities(voxelwise, volume, (40, 9, 8), halo=2)
    np.testing.assert_array_equal(volumes.overlap_tile_probabilities(voxelwise, volume, (40, 8, 8), halo=30), volume)


def test_build_model_takes_the_weights_of_the_same_network_at_another_size():
    small = volumes.build_model("3d", (8, 8, 8), depth=1, base_filters=2)
    large = volumes.build_model("3d", (16, 8, 8), depth=1, base_filters=2, weights_from=small)
    assert all(np.array_equal(a, b) for a, b in zip(small.get_weights(), large.get_weights()))
    with pytest.raises(ValueError, match="weights_from"):
        volumes.build_model("3d", (8, 8, 8), depth=1, base_filters=4, weights_from=small)
