import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from medlab import plots  # noqa: E402


def test_image_grid_lays_out_rows_and_titles():
    fig = plots.image_grid(np.zeros((10, 8, 8)), titles=[f"label {i % 2}" for i in range(10)], ncols=4)
    assert len(fig.axes) == 12  # 3 rows of 4, the last two empty
    assert [ax.get_title() for ax in fig.axes[:2]] == ["label 0", "label 1"]
    assert len(fig.axes[0].images) == 1 and len(fig.axes[11].images) == 0
    plt.close(fig)
    with pytest.raises(ValueError, match="at least one image"):
        plots.image_grid([])


def test_three_planes_shows_centre_slices_upright():
    volume = np.arange(4 * 5 * 6, dtype=float).reshape(4, 5, 6)
    fig = plots.three_planes(volume, spacing=(1.0, 1.0, 2.0))
    axial = fig.axes[0].images[0].get_array()
    np.testing.assert_array_equal(axial, volume[:, :, 3].T[::-1])
    assert fig.axes[1].images[0].get_array().shape == (6, 4)
    plt.close(fig)
    with pytest.raises(ValueError, match="rank 3"):
        plots.three_planes(np.zeros((4, 4)))



@pytest.mark.parametrize("spacing, message", [
    ((1.0, -1.0, 2.0), "spacing holds -1.0: expected finite values > 0"),
    ((1.0, 0.0, 2.0), "spacing holds 0.0: expected finite values > 0"),
    ((1.0, float("nan"), 2.0), "spacing holds nan: expected finite values > 0"),
    ((1.0, 2.0), "spacing has shape (2,): expected 3 voxel sizes (i, j, k)"),
])
def test_three_planes_refuses_bad_voxel_sizes_before_drawing(spacing, message):
    open_before = plt.get_fignums()
    with pytest.raises(ValueError) as info:
        plots.three_planes(np.zeros((4, 5, 6)), spacing=spacing)
    assert str(info.value) == message
    assert plt.get_fignums() == open_before


# ------------------------------------------------------------ training and evaluation
def test_loss_curves_one_or_several_histories():
    h = {"loss": [0.7, 0.5, 0.4], "val_loss": [0.7, 0.6, 0.65], "auc": [0.5, 0.7, 0.8], "val_auc": [0.5, 0.6, 0.6]}
    fig = plots.loss_curves(h, metrics=("loss", "auc"))
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 2
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_xdata(), [1, 2, 3])  # epochs from 1
    plt.close(fig)
    fig = plots.loss_curves({"a": h, "b": {"loss": [1.0, 0.9]}}, best={"a": 1}, validation=True)
    labels = [line.get_label() for line in fig.axes[0].lines]
    assert labels == ["a: train", "a: validation", "a: kept epoch (2)", "b: train"]
    assert fig.axes[0].lines[2].get_ydata()[0] == 0.6
    plt.close(fig)
    with pytest.raises(KeyError, match="no 'auc'"):
        plots.loss_curves({"loss": [1.0]}, metrics=("auc",))
    with pytest.raises(ValueError, match="empty"):
        plots.loss_curves({})


def test_roc_plot_marks_the_auc_and_the_operating_point():
    y = np.array([0, 0, 1, 1])
    fig = plots.roc_plot(y, {"m": np.array([0.1, 0.6, 0.4, 0.9])}, thresholds={"m": 0.5})
    labels = [line.get_label() for line in fig.axes[0].lines]
    assert labels == ["chance (AUC 0.50)", "m (AUC 0.75)", "m at threshold 0.50"]
    point = fig.axes[0].lines[2]
    assert (point.get_xdata()[0], point.get_ydata()[0]) == (0.5, 0.5)  # 1 - spec, sens
    plt.close(fig)


@pytest.mark.parametrize("thresholds", [float("nan"), 1.5, {"m": -0.2}])
def test_roc_plot_refuses_a_threshold_outside_0_1_before_drawing(thresholds):
    open_before = plt.get_fignums()
    with pytest.raises(ValueError, match=r"^threshold .*: expected a number in \[0.0, 1.0\]$"):
        plots.roc_plot([0, 1, 0, 1], {"m": np.array([0.1, 0.6, 0.4, 0.9])}, thresholds=thresholds)
    assert plt.get_fignums() == open_before  # no half-drawn figure left open


def test_confusion_plot_shows_the_four_counts():
    fig = plots.confusion_plot([[3, 1], [2, 5]])
    texts = sorted(t.get_text() for t in fig.axes[0].texts)
    assert texts == ["FN\n2", "FP\n1", "TN\n3", "TP\n5"]
    plt.close(fig)
    with pytest.raises(ValueError, match="2 x 2"):
        plots.confusion_plot(np.zeros((3, 3)))


def test_prevalence_plot_draws_three_curves():
    fig = plots.prevalence_plot(0.9, 0.8, marks={"test": 0.5})
    ax = fig.axes[0]
    assert len(ax.lines) == 4  # accuracy, PPV, NPV and the mark
    accuracy = ax.lines[0].get_ydata()
    assert accuracy[0] == pytest.approx(0.8) and accuracy[-1] == pytest.approx(0.9)
    plt.close(fig)


def test_heatmap_overlay_rows_per_model():
    images = np.zeros((3, 8, 8, 1))
    maps = np.zeros((3, 8, 8))
    fig = plots.heatmap_overlay(images, {"seed": maps, "kit": maps}, titles=["a", "b", "c"])
    assert len(fig.axes) == 9 and fig.axes[0].get_title() == "a"
    assert len(fig.axes[3].images) == 2 and fig.axes[3].get_ylabel() == "seed"
    plt.close(fig)
    with pytest.raises(ValueError, match="maps 'Grad-CAM'"):
        plots.heatmap_overlay(images, np.zeros((3, 4, 4)))
    fig = plots.heatmap_overlay(images, {"seed": maps, "kit": maps, "occlusion": maps},
                                scales={"share of the maximum": ["seed", "kit"], "drop in p": ["occlusion"]})
    bars = fig.axes[12:]  # 4 rows x 3 images, then one colourbar per scale
    assert [bar.get_ylabel() for bar in bars] == ["share of the maximum", "drop in p"]
    plt.close(fig)
    with pytest.raises(ValueError, match="scales"):
        plots.heatmap_overlay(images, maps, scales={"p": ["no such row"]})


def test_image_rows_labels_rows_and_titles():
    rows = {"clean": np.zeros((3, 8, 8)), "noisy": np.ones((3, 8, 8, 1))}
    fig = plots.image_rows(rows, titles={"noisy": ["a", "b", "c"]}, suptitle="x")
    assert len(fig.axes) == 6
    assert [fig.axes[i].get_ylabel() for i in (0, 3)] == ["clean", "noisy"]
    assert fig.axes[4].get_title() == "b" and fig.axes[1].get_title() == ""
    plt.close(fig)
    with pytest.raises(ValueError, match="same number"):
        plots.image_rows({"a": np.zeros((2, 4, 4)), "b": np.zeros((3, 4, 4))})
    with pytest.raises(ValueError, match="empty"):
        plots.image_rows({})


def test_latent_scatter_and_score_histogram_one_series_per_class():
    points = np.random.default_rng(0).normal(size=(10, 2))
    labels = np.array([0, 1] * 5)
    fig = plots.latent_scatter(points, labels, title="z")
    ax = fig.axes[0]
    assert len(ax.collections) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["normal (5)", "pneumonia (5)"]
    plt.close(fig)
    with pytest.raises(ValueError, match="points"):
        plots.latent_scatter(np.zeros((10, 3)), labels)
    fig = plots.score_histogram(np.arange(10.0), labels)
    assert len(fig.axes[0].patches) == 2 * 30
    plt.close(fig)


def test_reliability_diagram_draws_one_curve_per_model_with_ece_and_brier():
    from medlab import metrics

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    p = np.clip(0.3 + 0.4 * y + rng.normal(0, 0.1, 200), 0, 1)
    fig = plots.reliability_diagram(y, {"raw": p, "scaled": metrics.apply_temperature(p, 2.0)}, n_bins=5)
    ax = fig.axes[0]
    assert len(ax.lines) == 3  # diagonal + two models
    table = metrics.calibration_bins(y, p, 5)
    used = table["count"] > 0
    np.testing.assert_allclose(ax.lines[1].get_xdata(), table["confidence"][used])
    np.testing.assert_allclose(ax.lines[1].get_ydata(), table["frequency"][used])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[1] == (f"raw (ECE {metrics.expected_calibration_error(y, p, 5):.3f}, "
                         f"Brier {metrics.brier_score(y, p):.3f})")
    plt.close(fig)


def test_pr_plot_marks_the_prevalence_and_the_average_precision():
    from medlab import metrics

    y = np.array([0, 0, 1, 1, 1, 0, 1, 1])
    p = np.array([0.1, 0.4, 0.35, 0.8, 0.7, 0.2, 0.9, 0.6])
    fig = plots.pr_plot(y, p)
    ax = fig.axes[0]
    assert ax.lines[0].get_ydata()[0] == pytest.approx(5 / 8)  # the random ranking's precision
    precision, recall, _ = metrics.precision_recall(y, p)
    np.testing.assert_allclose(ax.lines[1].get_xdata(), recall)
    assert f"AP {metrics.average_precision(y, p):.2f}" in ax.get_legend().get_texts()[1].get_text()
    plt.close(fig)


def test_distributions_one_density_per_group_with_its_mean():
    fig = plots.distributions({"train": np.array([1.0, 2.0, 3.0]), "test": np.array([2.0, 4.0])},
                              xlabel="MSE")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train (mean 2)", "test (mean 3)"]
    assert len(ax.patches) == 2 and ax.get_xlabel() == "MSE"
    plt.close(fig)
    with pytest.raises(ValueError, match="non-empty"):
        plots.distributions({"train": []})


def test_label_fraction_curve_draws_both_starts_with_error_bars():
    summary = [{"fraction": f, "pretrained_mean": 0.8 + f / 10, "pretrained_sd": 0.01,
                "scratch_mean": 0.7 + f / 5, "scratch_sd": 0.02} for f in (0.01, 0.2, 1.0)]
    fig = plots.label_fraction_curve(summary)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1 %", "20 %", "100 %"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["autoencoder-pretrained", "from scratch"]
    np.testing.assert_allclose(np.asarray(ax.lines[0].get_ydata(), float), [0.801, 0.82, 0.9])
    plt.close(fig)
    with pytest.raises(ValueError, match="empty"):
        plots.label_fraction_curve([])


def test_mean_sd_plot_one_panel_per_experiment():
    from medlab import evidence

    rows = [{"k": k, "auc": 0.8 + 0.01 * k + 0.01 * s} for k in (3, 5) for s in range(3)]
    summary = evidence.mean_sd_by(rows, "k", "auc")
    fig = plots.mean_sd_plot({"kernel": summary, "again": summary}, {"kernel": "k", "again": "k"}, "auc")
    axes = fig.axes
    assert len(axes) == 2 and axes[0].get_title() == "kernel"
    assert [t.get_text() for t in axes[0].get_xticklabels()] == ["3", "5"]
    assert axes[0].get_ylabel() == "auc"
    with pytest.raises(ValueError, match="no summaries"):
        plots.mean_sd_plot({}, {})
    with pytest.raises(ValueError, match="panel 'again'"):
        plots.mean_sd_plot({"kernel": summary, "again": summary}, {"kernel": "k"}, "auc")
    plt.close("all")


def test_mean_curves_draws_the_mean_of_the_seeds():
    curves = [{"train_loss": [1.0, 0.5], "val_loss": [1.0, 0.8]}, {"train_loss": [0.8, 0.3], "val_loss": [0.9, 0.9]}]
    fig = plots.mean_curves(curves, title="t")
    lines = fig.axes[0].get_lines()
    assert len(lines) == 2
    assert list(lines[0].get_ydata()) == pytest.approx([0.9, 0.4])
    assert list(lines[1].get_xdata()) == [1, 2]
    with pytest.raises(ValueError, match="no curves"):
        plots.mean_curves([])
    plt.close("all")


def test_image_panels_give_every_image_a_colourbar_in_its_units_and_axes_in_mm():
    hu = np.arange(16, dtype=np.float32).reshape(4, 4)
    fig = plots.image_panels({"CT": hu, "pooled": hu[::2, ::2], "edges": hu - 8}, {"CT": "HU", "pooled": "HU",
                             "edges": "HU/pixel"}, pixel_mm={"CT": 0.5, "pooled": 1.0},
                             limits={"CT": (-10, 20), "edges": "symmetric"})
    images = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in images] == ["CT", "pooled", "edges"]
    assert images[0].get_xlabel() == "x (mm)" and images[2].get_ylabel() == "y (pixels)"
    assert images[1].images[0].get_extent() == [0, 2.0, 2.0, 0]  # same 2 mm field as the CT
    assert images[0].images[0].get_clim() == (-10, 20) and images[2].images[0].get_clim() == (-8, 8)
    bars = [ax.get_ylabel() for ax in fig.axes if not ax.images]
    assert bars == ["HU", "HU", "HU/pixel"]
    plt.close(fig)
    with pytest.raises(ValueError, match="panels is empty"):
        plots.image_panels({}, "HU")
    with pytest.raises(ValueError, match="limits\\['CT'\\]"):
        plots.image_panels({"CT": hu}, "HU", limits={"CT": "wide"})


def test_kernel_weights_writes_each_weight_on_one_shared_scale():
    fig = plots.kernel_weights({"sobel_x": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float),
                                "mean": np.full((3, 3), 1 / 9)})
    sobel, mean, bar = fig.axes
    assert sobel.get_title() == "sobel_x 3x3, sum 0" and mean.get_title() == "mean 3x3, sum 1"
    assert [t.get_text() for t in sobel.texts][:3] == ["-1", "0", "1"] and mean.texts[0].get_text() == "0.11"
    assert sobel.get_xlabel() == "column v" and sobel.get_ylabel() == "row u"
    assert sobel.images[0].get_clim() == (-2, 2) and bar.get_ylabel() == "weight (no unit)"
    plt.close(fig)
    with pytest.raises(ValueError, match="kernels is empty"):
        plots.kernel_weights({})


def test_sliding_windows_titles_the_output_size_formula():
    fig = plots.sliding_windows(7, 3, stride=2, padding=1)
    left, right = fig.axes
    assert left.get_title() == "input: n = 7, k = 3, p = 1, s = 2"
    assert right.get_title() == "output: floor((7 + 2 - 3) / 2) + 1 = 4"
    assert left.get_xlabel() == "column (pixels)" and right.get_ylabel() == "row (pixels)"
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[:2] == ["image pixel (7x7)", "zero padding (p = 1)"] and len(labels) == 5
    plt.close(fig)
    fig = plots.sliding_windows(8, 2, stride=2)
    assert fig.axes[1].get_title().endswith("= 4") and "zero padding" not in str(
        [t.get_text() for t in fig.legends[0].get_texts()])
    plt.close(fig)
    with pytest.raises(ValueError, match="k 10"):
        plots.sliding_windows(7, 10)


def test_shift_tolerance_plot_one_line_per_label_in_percent():
    fig = plots.shift_tolerance_plot([0, 1, 2], {"raw pixels": [100, 2, 1], "max pool 4x4": [100, 43, 30]})
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["raw pixels", "max pool 4x4"]
    assert ax.get_xlabel() == "shift to the right (pixels)" and ax.get_ylabel() == "values unchanged (%)"
    assert ax.get_ylim() == (0, 100)
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), [100, 43, 30])
    plt.close(fig)
    with pytest.raises(ValueError, match="expected"):
        plots.shift_tolerance_plot([0, 1], {"raw": [100, 120]})


def test_image_grid_and_three_planes_can_carry_a_colourbar_with_units():
    fig = plots.image_grid(np.zeros((3, 4, 4)), ncols=3, colorbar="brightness (0-1)")
    assert len(fig.axes) == 4 and fig.axes[3].get_ylabel() == "brightness (0-1)"
    plt.close(fig)
    with pytest.raises(ValueError, match="colorbar needs vmin and vmax"):
        plots.image_grid(np.zeros((1, 4, 4)), vmin=None, colorbar="x")
    fig = plots.three_planes(np.zeros((4, 5, 6)), spacing=(2.0, 2.0, 3.0), units="signal (a.u.)")
    axial, coronal, sagittal = fig.axes[:3]
    assert axial.get_xlabel() == "i (mm)" and coronal.get_ylabel() == "k (mm)"
    assert coronal.images[0].get_extent() == [0, 8.0, 0, 18.0]
    assert [ax.get_ylabel() for ax in fig.axes[3:]] == ["signal (a.u.)"] * 3
    plt.close(fig)
# networks


def test_flatten_order_plot_numbers_every_entry_and_the_strip():
    maps = np.arange(12, dtype=np.float32).reshape(2, 3, 2)
    fig = plots.flatten_order_plot(maps, maps.ravel())
    channel_axes, strip = fig.axes[:2], fig.axes[2]
    assert [ax.get_title() for ax in channel_axes] == ["channel c = 0", "channel c = 1"]
    assert channel_axes[0].get_xlabel() == "column j (pixel)" and channel_axes[0].get_ylabel() == "row i (pixel)"
    assert [t.get_text() for t in strip.texts] == [str(d) for d in range(12)]
    assert strip.get_xlabel() == "position d in the flattened vector (index)"
    assert "row-major index" in fig.axes[-1].get_ylabel()  # the colourbar
    plt.close(fig)
    with pytest.raises(ValueError, match="flat has 5 entries"):
        plots.flatten_order_plot(maps, np.arange(5))


def test_dense_kernel_plot_draws_w_and_one_unit_on_the_grid_with_colourbars():
    kernel = np.linspace(-1, 1, 12 * 3).reshape(12, 3)
    fig = plots.dense_kernel_plot(kernel, (3, 4), unit=2)
    left, right = fig.axes[0], fig.axes[1]
    assert left.get_xlabel() == "unit u (output)" and left.get_title() == "W: (12, 3)"
    np.testing.assert_allclose(right.images[0].get_array(), kernel[:, 2].reshape(3, 4))
    assert sum("weight" in ax.get_ylabel() for ax in fig.axes) == 2  # two colourbars
    plt.close(fig)
    with pytest.raises(ValueError, match="image_shape"):
        plots.dense_kernel_plot(kernel, (5, 5))


def test_activation_curves_labels_axes_and_legend():
    z = np.linspace(-3, 3, 13)
    fig = plots.activation_curves(z, {"sigmoid": 1 / (1 + np.exp(-z))}, markers={"dots": 1 / (1 + np.exp(-z))})
    ax = fig.axes[0]
    assert ax.get_xlabel() == "input z (logit, no unit)" and "probability" in ax.get_ylabel()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["sigmoid", "dots"]
    plt.close(fig)
    with pytest.raises(ValueError, match="curves is empty"):
        plots.activation_curves(z, {})


def test_network_diagram_and_parameter_bars_read_the_layer_table():
    rows = [{"name": "conv1", "kind": "Conv2D", "output_shape": (None, 8, 8, 4), "parameters": 40},
            {"name": "flatten", "kind": "Flatten", "output_shape": (None, 256), "parameters": 0},
            {"name": "output", "kind": "Dense", "output_shape": (None, 1), "parameters": 257}]
    fig = plots.network_diagram(rows, (10, 10, 1), title="net")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert fig.axes[0].get_title() == "net"
    assert "input: 10 x 10 x 1  (100 numbers)" in texts and "conv1: 8 x 8 x 4  (256 numbers)" in texts
    assert "Dense, 257 parameters" in texts
    plt.close(fig)
    fig = plots.parameter_bars(rows)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["output", "conv1"]  # no bar for flatten
    assert ax.get_xlabel() == "parameters (count, log scale)" and ax.get_xscale() == "log"
    plt.close(fig)


def test_feature_maps_plot_one_row_per_layer_with_a_colourbar_each():
    maps = np.random.default_rng(0).random((6, 6, 5))
    fig = plots.feature_maps_plot([("input", maps[..., :1]), ("conv1", maps, [4, 2])], channels=2)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["input ch 0", "conv1 ch 4", "conv1 ch 2"]
    labels = [ax.get_ylabel() for ax in fig.axes if "no unit" in ax.get_ylabel()]
    assert labels == ["grey value (no unit)", "activation (no unit)"]
    plt.close(fig)


def test_loss_along_weight_draws_the_tangent_with_the_given_slope():
    values = np.linspace(-1, 1, 21)
    fig = plots.loss_along_weight(values, values ** 2, 0.5, 1.0, xlabel="w")
    ax = fig.axes[0]
    tangent = ax.lines[1]
    np.testing.assert_allclose(np.diff(tangent.get_ydata()) / np.diff(tangent.get_xdata()), 1.0)
    assert ax.get_xlabel() == "w" and "nats" in ax.get_ylabel()
    plt.close(fig)


def test_loss_surface_paths_has_a_colourbar_and_one_line_per_optimiser():
    w1, w2 = np.linspace(-2, 2, 5), np.linspace(-1, 1, 3)
    losses = w1[None, :] ** 2 + w2[:, None] ** 2
    paths = {"a": np.array([[-2.0, 1.0], [0.0, 0.0]]), "b": np.array([[1.0, 1.0], [0.5, 0.0]])}
    fig = plots.loss_surface_paths(w1, w2, losses, paths)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "weight w1 (no unit)" and fig.axes[1].get_ylabel() == "loss L (no unit)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b", "minimum"]
    plt.close(fig)
    with pytest.raises(ValueError, match="losses has shape"):
        plots.loss_surface_paths(w1, w2, losses.T, paths)
# evaluation
def test_roc_band_plot_names_its_band_and_labels_its_axes():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 60)
    p = np.clip(0.3 * y + rng.random(y.size) * 0.7, 0, 1)
    fig = plots.roc_band_plot(y, p, n_boot=50, seed=0, threshold=0.5, title="ROC on test")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("95 % bootstrap band" in t for t in labels) and any("threshold 0.50" in t for t in labels)
    assert "false-positive rate" in ax.get_xlabel() and "sensitivity" in ax.get_ylabel()
    assert ax.get_title() == "ROC on test"
    plt.close(fig)
    with pytest.raises(ValueError, match="n_boot"):
        plots.roc_band_plot(y, p, n_boot=5)


def test_prevalence_plot_labels_its_y_axis():
    fig = plots.prevalence_plot(0.9, 0.8)
    assert fig.axes[0].get_ylabel() == "fraction (0 to 1)"
# segmentation

def test_probability_maps_share_one_scale_and_a_labelled_colourbar():
    p = np.linspace(0, 1, 3 * 8 * 8).reshape(3, 8, 8)
    fig = plots.probability_maps(p, titles=["a", "b", "c"])
    images = [ax for ax in fig.axes if ax.images]
    assert len(fig.axes) == 4 and [ax.get_title() for ax in fig.axes[:3]] == ["a", "b", "c"]
    assert all(ax.images[0].get_clim() == (0, 1) for ax in images[:3])
    assert "p(inside)" in fig.axes[3].get_ylabel()
    plt.close(fig)
    with pytest.raises(ValueError, match="probabilities must lie in"):
        plots.probability_maps(p + 1)
    with pytest.raises(ValueError, match="titles has 1 entries"):
        plots.probability_maps(p, titles=["a"])


def test_masks_at_thresholds_titles_area_and_dice():
    yy, xx = np.mgrid[:16, :16]
    probability = np.clip(1 - np.hypot(yy - 8, xx - 8) / 8, 0, 1)
    reference = (probability >= 0.5).astype(np.uint8)
    fig = plots.masks_at_thresholds(np.zeros((16, 16), np.uint8), probability, reference)
    titles = [ax.get_title() for ax in fig.axes[:4]]
    assert titles[0] == "probability map"
    assert titles[2].startswith(f"threshold 0.5: {int(reference.sum())} px") and titles[2].endswith("Dice 1.00")
    assert int(titles[1].split(": ")[1].split(" px")[0]) > int(reference.sum()) > int(titles[3].split(": ")[1].split(" px")[0])
    assert "p(inside)" in fig.axes[4].get_ylabel()  # the colourbar
    plt.close(fig)
    with pytest.raises(ValueError, match="same shape"):
        plots.masks_at_thresholds(np.zeros((8, 8)), probability, reference)
    with pytest.raises(ValueError, match="thresholds"):
        plots.masks_at_thresholds(np.zeros((16, 16)), probability, reference, thresholds=(1.5,))


def test_bland_altman_limits_names_both_bands():
    rng = np.random.default_rng(1)
    reference = rng.uniform(50, 350, 200)
    estimate = reference + rng.normal(0, 0.05 * reference)
    fig = plots.bland_altman_limits(reference, estimate, units="mm", title="HC")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "mean of the two measurements (mm)"
    assert ax.get_ylabel() == "estimate - reference (mm)" and ax.get_title() == "HC"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(label.startswith("constant 95 % limits") for label in labels)
    assert any(label.startswith("constant bias") for label in labels)
    assert any("depending on the mean" in label for label in labels)
    plt.close(fig)
# faq part 1
def test_seed_curves_draws_every_seed_and_the_mean():
    curves = [{"adam": [0.6, 0.3], "sgd": [0.6, 0.5]}, {"adam": [0.5, 0.1], "sgd": [0.6, 0.4]}]
    fig = plots.seed_curves(curves, ("adam", "sgd"), "training loss (nats)", title="t", labels={"adam": "Adam"})
    ax = fig.axes[0]
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "training loss (nats)" and ax.get_title() == "t"
    lines = ax.get_lines()
    assert len(lines) == 6  # two seeds and a mean per key
    assert list(lines[2].get_ydata()) == pytest.approx([0.55, 0.2])
    assert "Adam: mean of 2 seeds" in [t.get_text() for t in ax.get_legend().get_texts()]
    with pytest.raises(ValueError, match="no curves"):
        plots.seed_curves([], ("adam",), "loss")
    plt.close("all")


def test_paired_differences_plot_pairs_by_seed_and_shows_the_interval():
    from medlab import evidence

    rows = [{"k": k, "seed": s, "auc": 0.9 + (0.05 if k == 7 else 0) + 0.001 * s * (1 if k == 7 else -1)}
            for k in (3, 7) for s in (0, 1, 2)]
    by_k = {r["k"]: r for r in evidence.mean_sd_by(rows, "k", "auc")}
    reversed_b = {**by_k[3], "values": by_k[3]["values"][::-1], "seeds": by_k[3]["seeds"][::-1]}
    fig = plots.paired_differences_plot({"7 - 3": (by_k[7], reversed_b)}, "validation AUC", title="t")
    ax = fig.axes[0]
    assert ax.get_ylabel() == "validation AUC: A - B" and ax.get_title() == "t"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["7 - 3"]
    dots = ax.get_lines()[0].get_ydata()
    assert list(dots) == pytest.approx([0.05, 0.052, 0.054])  # paired by seed, not by position
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "mean, 95 % t-interval: better" in legend and "0: no difference" in legend
    with pytest.raises(ValueError, match="no comparisons"):
        plots.paired_differences_plot({}, "auc")


def test_paired_differences_plot_draws_an_unjudged_comparison_open_whatever_its_verdict():
    """A lesson that prints no verdict for a comparison (an interval end near 0) must not show
    one in colour either: lesson 14's tanh was green beside a printed line with no verdict."""
    from matplotlib.colors import to_rgba

    from medlab import evidence

    rows = [{"k": k, "seed": s, "auc": 0.9 + (0.05 if k == 7 else 0) + 0.001 * s * (1 if k == 7 else -1)}
            for k in (3, 7) for s in (0, 1, 2)]
    by_k = {r["k"]: r for r in evidence.mean_sd_by(rows, "k", "auc")}
    assert evidence.verdict(by_k[7], by_k[3]).word == "better"
    fig = plots.paired_differences_plot({"7 - 3": (by_k[7], by_k[3]), "3 - 7": (by_k[3], by_k[7])},
                                        "validation AUC", no_verdict=["7 - 3"])
    ax = fig.axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "mean, 95 % t-interval: no verdict given" in legend and "mean, 95 % t-interval: worse" in legend
    assert not any(text.endswith(": better") for text in legend)
    means = [line for line in ax.get_lines() if line.get_marker() == "s"]
    assert [to_rgba(line.get_color()) for line in means] == [to_rgba("k"), to_rgba("tab:red")]
    assert [to_rgba(line.get_markerfacecolor()) for line in means] == [to_rgba("none"), to_rgba("tab:red")]
    for given in ("7 - 3", (label for label in ["7 - 3"])):  # one label; a generator read once
        fig = plots.paired_differences_plot({"7 - 3": (by_k[7], by_k[3])}, "auc", no_verdict=given)
        legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        assert "mean, 95 % t-interval: no verdict given" in legend and not any(": better" in t for t in legend)
    fig = plots.paired_differences_plot({5: (by_k[7], by_k[3])}, "auc", no_verdict=5)  # a number as a label
    assert "mean, 95 % t-interval: no verdict given" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    with pytest.raises(ValueError, match="no_verdict names 'tanh', not one of the comparisons"):
        plots.paired_differences_plot({"7 - 3": (by_k[7], by_k[3])}, "auc", no_verdict=["tanh"])
    plt.close("all")
# training
def test_paired_seeds_plot_joins_each_seeds_figures():
    rows = [{"seed": s, "images": where, "accuracy": a, "auc": 0.9}
            for s in (0, 1, 2) for where, a in (("train", 0.99), ("held out", 0.9 + 0.01 * s))]
    fig = plots.paired_seeds_plot(rows, "images", ("accuracy", "auc"),
                                  labels={"accuracy": "accuracy (fraction called right)"},
                                  references={"accuracy": (0.74, "always 'pneumonia'")}, title="t")
    ax = fig.axes[0]
    assert len(fig.axes) == 2 and ax.get_ylabel() == "accuracy (fraction called right)"
    assert fig.axes[1].get_ylabel() == "auc" and ax.get_xlabel() == "images"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["train", "held out"]
    seeds = [line for line in ax.get_lines() if len(line.get_xdata()) == 2 and line.get_linestyle() == "-"]
    assert len(seeds) == 3 and list(seeds[2].get_ydata()) == pytest.approx([0.99, 0.92])
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["one seed", "mean of 3 seeds", "always 'pneumonia'"]
    with pytest.raises(ValueError, match="'auc'"):
        plots.paired_seeds_plot([{"seed": 0, "images": "a", "accuracy": 1.0}], "images", "auc")
    with pytest.raises(ValueError, match="empty"):
        plots.paired_seeds_plot([], "images", "auc")
    plt.close("all")
# autoencoder
def test_score_auc_plot_shows_val_and_test_auc_with_chance():
    from medlab.anomaly import ScoreRow
    from medlab.metrics import Interval

    rows = [ScoreRow("1 - SSIM", 0.96, Interval(0.88, 0.85, 0.90, 0.95, 100)),
            ScoreRow("image sd", 0.81, Interval(0.83, 0.79, 0.86, 0.95, 100), baseline=True, sign=-1.0)]
    fig = plots.score_auc_plot(rows, title="t")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1 - SSIM", "image sd (baseline)"]
    assert ax.get_xlabel().startswith("ROC-AUC") and ax.get_title() == "t"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "chance (0.5)" in legend and "validation AUC" in legend
    plt.close(fig)
    with pytest.raises(ValueError, match="rows is empty"):
        plots.score_auc_plot([])


def test_interval_plot_draws_each_difference_and_zero():
    from medlab.metrics import Interval

    fig = plots.interval_plot({"a minus b": Interval(0.05, 0.01, 0.09, 0.95, 100)}, "difference in AUC")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "difference in AUC"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a minus b"]
    assert "no difference (0)" in [t.get_text() for t in ax.get_legend().get_texts()]
    plt.close(fig)
    with pytest.raises(ValueError, match="intervals is empty"):
        plots.interval_plot({}, "x")


def test_error_map_comparison_has_three_panels_with_colourbars():
    a, b = np.full((6, 6), 0.1), np.full((6, 6, 1), 0.2)
    fig = plots.error_map_comparison(a, b, names=("train", "test"), units="grey level")
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 3 and len(fig.axes) == 6  # three maps, three colourbars
    assert panels[2].get_title() == "test - train"
    np.testing.assert_allclose(panels[2].images[0].get_array(), 0.1)
    assert all(cb.get_ylabel() == "grey level" for cb in fig.axes[3:])
    plt.close(fig)
    with pytest.raises(ValueError, match="one shape"):
        plots.error_map_comparison(a, np.zeros((5, 5)))


def test_error_gallery_shows_three_rows_and_two_colourbars():
    x, r = np.full((2, 5, 5, 1), 0.5), np.full((2, 5, 5, 1), 0.25)
    fig = plots.error_gallery(x, r, titles=["normal 0.1", "pneumonia 0.9"], vmax=0.25, units="grey level")
    maps = [ax for ax in fig.axes if ax.images]
    assert len(maps) == 6 and len(fig.axes) == 8  # 3 rows x 2 images, 2 colourbars
    assert maps[0].get_title() == "normal 0.1" and maps[0].get_ylabel() == "x"
    np.testing.assert_allclose(maps[4].images[0].get_array(), 0.25)  # row 3, first image: |x - x_hat|
    assert maps[4].get_ylabel() == "|x - x_hat|" and fig.axes[-1].get_ylabel() == "grey level"
    plt.close(fig)
    with pytest.raises(ValueError, match="one shape"):
        plots.error_gallery(x, np.zeros((2, 4, 4)))
