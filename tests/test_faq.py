"""Lesson 15 (the FAQ, part 2): its figures."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from medlab import plots  # noqa: E402


def _rows():
    return [{"parameters": p, "seed": s, "train_loss": 1.0 / p + s, "val_loss": 0.5 + s,
             "train_auc": 0.9, "val_auc": 0.8} for p in (69, 173, 489) for s in (0, 1, 2)]


def test_capacity_plot_has_a_panel_per_figure_with_units_and_seeds_as_dots():
    fig = plots.capacity_plot(_rows(), ylims=((0, None), (0.5, 1.0)), title="widths")
    assert fig.axes[1].get_ylim() == (0.5, 1.0) and fig.axes[0].get_ylim()[0] == 0
    assert len(fig.axes) == 2
    assert [ax.get_ylabel() for ax in fig.axes] == ["cross-entropy (nats per image)", "ROC AUC (0 to 1)"]
    assert all(ax.get_xlabel() == "trainable weights (count, log scale)" and ax.get_xscale() == "log" for ax in fig.axes)
    lines = fig.axes[0].get_lines()
    assert len(lines) == 4  # dots and mean line, training and validation
    assert len(lines[0].get_xdata()) == 9 and len(lines[1].get_xdata()) == 3
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [
        "training (mean; dots: seeds)", "validation (mean; dots: seeds)"]
    assert fig._suptitle.get_text() == "widths"
    plt.close(fig)


def test_capacity_plot_refuses_rows_without_the_columns_or_labels():
    with pytest.raises(ValueError, match="no rows"):
        plots.capacity_plot([])
    with pytest.raises(ValueError, match="column 'val_loss' not in the rows"):
        plots.capacity_plot([{"parameters": 3, "train_loss": 1.0}], panels=(("train_loss", "val_loss"),),
                            ylabels=("loss",))
    with pytest.raises(ValueError, match="ylabels has 1 labels for 2 panels"):
        plots.capacity_plot(_rows(), ylabels=("loss",))
    with pytest.raises(ValueError, match="ylims has 1 ranges for 2 panels"):
        plots.capacity_plot(_rows(), ylims=((0, 1),))
    plt.close("all")


def test_flops_plot_draws_one_line_per_network_on_log_axes():
    rows = [{"network": n, "side": s, "MFLOPs per image": f * s * s} for n, f in (("a", 1e-3), ("b", 1e-4))
            for s in (150, 28, 64)]
    fig = plots.flops_plot(rows)
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("input side (pixels, log scale)", "MFLOPs per image (log scale)")
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert [line.get_label() for line in ax.get_lines()] == ["a", "b"]
    assert list(ax.get_lines()[0].get_xdata()) == [28, 64, 150]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["28", "64", "150"]
    assert ax.get_title() == "Cost of one forward pass"
    plt.close(fig)
    with pytest.raises(ValueError, match="column 'side' not in the rows"):
        plots.flops_plot([{"network": "a"}])
