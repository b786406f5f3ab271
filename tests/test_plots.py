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
    assert labels == ["a: train", "a: validation", "a: best epoch (2)", "b: train"]
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
