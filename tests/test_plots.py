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
