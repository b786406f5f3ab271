"""Lesson 12: Dice / IoU / soft Dice, the ellipse fit and HC, the U-Net, splits, the recipe."""

import numpy as np
import pytest
from sklearn.metrics import f1_score, jaccard_score

from medlab import metrics, segmentation
from medlab.data import MaskSet, load_masks
from medlab.data.splits import split_by_group


def ellipse_mask(size, row, col, a, b, angle=0.0):
    """A filled ellipse of semi-axes a (along the rotated row axis) and b, in pixels."""
    r, c = np.mgrid[:size, :size].astype(np.float64)
    dr, dc = r - row, c - col
    u = dr * np.cos(angle) + dc * np.sin(angle)
    v = -dr * np.sin(angle) + dc * np.cos(angle)
    return ((u / a) ** 2 + (v / b) ** 2 <= 1).astype(np.uint8)


def random_masks(rng, n=6, size=12):
    return (rng.random((n, size, size)) < rng.random((n, 1, 1))).astype(np.uint8)


# ------------------------------------------------------------------ Dice and IoU
def test_dice_and_iou_equal_sklearn_on_flattened_masks():
    rng = np.random.default_rng(0)
    a, b = random_masks(rng), random_masks(rng)
    dice, iou = metrics.dice_per_image(a, b), metrics.iou_per_image(a, b)
    assert dice.shape == iou.shape == (6,)
    for i in range(6):
        assert dice[i] == pytest.approx(f1_score(a[i].ravel(), b[i].ravel()))
        assert iou[i] == pytest.approx(jaccard_score(a[i].ravel(), b[i].ravel()))
    np.testing.assert_allclose(iou, dice / (2 - dice))  # the identity between them
    assert metrics.dice(a, b) == pytest.approx(dice.mean())
    assert metrics.iou(a, b) == pytest.approx(iou.mean())


def test_dice_by_hand_and_for_bool_float_and_channel_masks():
    a = np.array([[1, 1, 0], [0, 0, 0]])
    b = np.array([[1, 0, 0], [1, 0, 0]])
    assert metrics.dice(a, b) == pytest.approx(2 * 1 / (2 + 2))
    assert metrics.iou(a, b) == pytest.approx(1 / 3)
    assert metrics.dice(a.astype(bool), b.astype(np.float32)) == pytest.approx(0.5)
    assert metrics.dice(a[None, ..., None], b[None, ..., None]) == pytest.approx(0.5)


def test_empty_against_empty_is_perfect_agreement_and_empty_against_full_is_zero():
    empty, full = np.zeros((1, 4, 4)), np.ones((1, 4, 4))
    assert metrics.dice_per_image(empty, empty)[0] == 1.0 == metrics.iou_per_image(empty, empty)[0]
    assert f1_score(empty.ravel(), empty.ravel(), zero_division=1.0) == 1.0
    assert metrics.dice_per_image(empty, full)[0] == 0.0 == metrics.iou_per_image(full, empty)[0]


def test_dice_refuses_probabilities_and_mismatched_shapes():
    with pytest.raises(ValueError, match="estimate must be a binary mask.*threshold_masks"):
        metrics.dice(np.ones((2, 3)), np.full((2, 3), 0.7))
    with pytest.raises(ValueError, match=r"shape \(2, 3\) but estimate has shape \(3, 2\)"):
        metrics.iou(np.ones((2, 3)), np.ones((3, 2)))


def test_dice_averages_per_image_not_over_the_pooled_pixels():
    big = np.zeros((2, 10, 10), np.uint8)
    big[0] = 1                       # image 0: 100 pixels, predicted perfectly
    big[1, 0, 0] = 1                 # image 1: one pixel, missed
    pred = big.copy()
    pred[1] = 0
    assert metrics.dice(big, pred) == pytest.approx(0.5)  # (1 + 0) / 2
    pooled = f1_score(big.ravel(), pred.ravel())
    assert pooled > 0.99  # pooling would hide the missed small structure


# ------------------------------------------------------------------ ellipse and HC
@pytest.mark.parametrize("a, b, angle", [(20, 12, 0.0), (18, 9, 0.7), (15, 15, 0.0)])
def test_ellipse_fit_recovers_a_drawn_ellipse(a, b, angle):
    row, col, fa, fb, _ = metrics.ellipse_fit(ellipse_mask(64, 30.5, 33.0, a, b, angle))
    assert (row, col) == pytest.approx((30.5, 33.0), abs=0.3)
    assert fa == pytest.approx(a, rel=0.03) and fb == pytest.approx(b, rel=0.03)


def test_ellipse_fit_keeps_the_largest_region_and_handles_an_empty_mask():
    mask = ellipse_mask(48, 24, 24, 14, 10)
    alone = metrics.ellipse_fit(mask)
    mask[1:3, 1:3] = 1  # a stray blob in a corner
    assert metrics.ellipse_fit(mask) == pytest.approx(alone)
    row, col, a, b, _ = metrics.ellipse_fit(np.zeros((8, 8)))
    assert np.isnan(row) and np.isnan(col) and a == b == 0.0
    assert metrics.mask_circumference_mm(np.zeros((1, 8, 8)), 1.0)[0] == 0.0


def test_ramanujan_circumference_is_exact_for_a_circle_and_matches_the_integral():
    assert metrics.ellipse_circumference(5, 5) == pytest.approx(2 * np.pi * 5)
    a, b = 3.0, 1.0
    t = np.linspace(0, 2 * np.pi, 200_001)
    integral = np.trapezoid(np.sqrt((a * np.sin(t)) ** 2 + (b * np.cos(t)) ** 2), t)
    assert metrics.ellipse_circumference(a, b) == pytest.approx(integral, rel=5e-5)
    assert metrics.ellipse_circumference(2, 0) == pytest.approx(8, rel=5e-3)  # a flat segment: 0.4 %
    with pytest.raises(ValueError, match=r"^semi-axis a holds -1.0: expected finite values >= 0$"):
        metrics.ellipse_circumference(-1, 2)


def test_mask_circumference_scales_with_the_pixel_size():
    masks = np.stack([ellipse_mask(64, 32, 32, 20, 14), ellipse_mask(64, 32, 32, 10, 10)])
    hc = metrics.mask_circumference_mm(masks, [0.5, 2.0])
    assert hc[0] == pytest.approx(0.5 * metrics.ellipse_circumference(20, 14), rel=0.03)
    assert hc[1] == pytest.approx(2.0 * 2 * np.pi * 10, rel=0.03)


def test_mean_absolute_difference_and_bland_altman_by_hand():
    ref, est = np.array([100.0, 200.0, 300.0]), np.array([102.0, 199.0, 306.0])
    assert metrics.mean_absolute_difference(ref, est) == pytest.approx(3.0)
    with pytest.raises(ValueError, match=r"^reference \(2, 3\) and estimate \(3, 2\): expected the same"):
        metrics.mean_absolute_difference(np.arange(6.0).reshape(2, 3), np.arange(6.0).reshape(3, 2))
    with pytest.raises(ValueError, match="non-empty"):
        metrics.mean_absolute_difference([], [])
    ba = metrics.bland_altman(ref, est)
    assert ba["bias"] == pytest.approx(7 / 3) and ba["sd"] == pytest.approx(np.std([2, -1, 6], ddof=1))
    assert ba["upper"] - ba["bias"] == pytest.approx(1.96 * ba["sd"])
    np.testing.assert_allclose(ba["mean"], [101, 199.5, 303])


def test_bland_altman_plot_draws_the_bias_and_limits():
    import matplotlib

    matplotlib.use("Agg")
    from medlab import plots

    fig = plots.bland_altman_plot([100, 200, 300, 250], [102, 199, 306, 251], units="mm")
    ax = fig.axes[0]
    ys = sorted(round(line.get_ydata()[0], 6) for line in ax.lines if len(line.get_ydata()))
    ba = metrics.bland_altman([100, 200, 300, 250], [102, 199, 306, 251])
    assert ys == pytest.approx(sorted([ba["lower"], ba["bias"], ba["upper"]]))
    assert "mm" in ax.get_ylabel()


# ------------------------------------------------------------------ the U-Net
def test_unet_is_the_autoencoder_with_skips_and_has_the_probed_size():
    from medlab.models import unet

    model = unet((64, 64, 1))
    assert model.output_shape == (None, 64, 64, 1)
    assert model.count_params() == 121_737  # 8-16-32-64 filters, the 122 k
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("Concatenate") == 3 and kinds.count("MaxPooling2D") == 3
    assert all(layer.momentum == 0.9 for layer in model.layers
               if type(layer).__name__ == "BatchNormalization")
    y = model(np.random.default_rng(0).random((2, 64, 64, 1), np.float32), training=False)
    assert np.all((np.asarray(y) >= 0) & (np.asarray(y) <= 1))
    assert unet((None, None, 1), depth=2).output_shape == (None, None, None, 1)


def test_unet_refuses_sizes_it_cannot_halve():
    from medlab.models import unet

    with pytest.raises(ValueError, match=r"input_shape \(60, 64, 1\): expected .*divisible by 8"):
        unet((60, 64, 1), depth=3)
    with pytest.raises(ValueError, match=r"batch_norm_momentum 1.0: expected a number in \[0.0, 1.0\)"):
        unet((16, 16, 1), depth=1, batch_norm_momentum=1.0)


# ------------------------------------------------------------------ thresholds
def test_threshold_masks():
    p = np.array([[0.1, 0.5], [0.7, 0.49]])
    np.testing.assert_array_equal(segmentation.threshold_masks(p, 0.5), [[0, 1], [1, 0]])
    with pytest.raises(ValueError, match=r"probabilities holds 1.4: expected finite values in \[0, 1\]"):
        segmentation.threshold_masks(p * 2)
    with pytest.raises(ValueError, match="threshold"):
        segmentation.threshold_masks(p, 1.5)


# ------------------------------------------------------------------ circumference correction
def test_circumference_correction_learns_the_fit_bias():
    masks = np.stack([ellipse_mask(64, 32, 32, a, b) for a, b in [(20, 14), (25, 18), (12, 10)]])
    fitted = metrics.mask_circumference_mm(masks, 1.0)
    factor = segmentation.circumference_correction(masks, 1.0, fitted * 0.99)
    assert factor == pytest.approx(0.99)
    result = segmentation.evaluate(masks, masks, 1.0, fitted * 0.99, correction=factor)
    assert result["dice"] == 1.0 and result["hc_mae_mm"] == pytest.approx(0, abs=1e-9)


# ------------------------------------------------------------------ mask files and the recipe
def write_mask_file(path, n=24, size=16, seed=0, **extra):
    rng = np.random.default_rng(seed)
    masks = np.stack([ellipse_mask(size, *rng.uniform(6, 10, 2), *rng.uniform(3, 6, 2)) for _ in range(n)])
    images = (masks * 150 + rng.integers(0, 80, masks.shape)).astype(np.uint8)
    np.savez(path, images=images, masks=masks, **extra)
    return path


def test_load_masks_reads_optional_fields_and_names_bad_keys(tmp_path):
    path = write_mask_file(tmp_path / "ok.npz", subject=np.arange(24) // 2)
    data = load_masks(path)
    assert isinstance(data, MaskSet) and data.images.shape == (24, 16, 16)
    assert data.pixel_size_mm is None and data.subject.dtype == np.int64
    assert len(data.subset(np.arange(5))) == 5 and "from 12 subjects" in data.describe()
    np.savez(tmp_path / "bad.npz", images=np.zeros((3, 4, 4)), masks=np.full((3, 4, 4), 2))
    with pytest.raises(ValueError, match=r"bad\.npz: 'masks' .*only 0 and 1"):
        load_masks(tmp_path / "bad.npz")
    np.savez(tmp_path / "nomask.npz", images=np.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match=r"nomask\.npz: missing key 'masks'"):
        load_masks(tmp_path / "nomask.npz")
    write_mask_file(tmp_path / "px.npz", pixel_size_mm=np.ones(5))
    with pytest.raises(ValueError, match=r"'pixel_size_mm' has shape \(5,\).*\(24,\)"):
        load_masks(tmp_path / "px.npz")
    with pytest.raises(FileNotFoundError, match="absent.npz"):
        load_masks(tmp_path / "absent.npz")


@pytest.mark.parametrize("damage", ["truncated", "not npy", "crc"])
def test_load_masks_names_a_damaged_array(tmp_path, write_damaged_npz, damage):
    ok = load_masks(write_mask_file(tmp_path / "ok.npz"))
    arrays = {"images": ok.images, "masks": ok.masks}
    path = write_damaged_npz(tmp_path / "cut.npz", arrays, "masks", damage)
    with pytest.raises(ValueError, match=r"cut\.npz: key 'masks' is damaged or truncated"):
        load_masks(path)


def test_load_masks_refuses_a_file_that_is_not_an_npz(tmp_path):
    path = tmp_path / "x.npz"
    path.write_bytes(np.random.default_rng(1).bytes(4096))
    with pytest.raises(ValueError, match=r"x\.npz: not an \.npz \(zip\) file") as info:
        load_masks(path)
    assert "pickle" not in str(info.value)
    np.save(tmp_path / "single.npy", np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match=r"single\.npy: holds a single \.npy array"):
        load_masks(tmp_path / "single.npy")


def test_load_masks_refuses_a_fifo_or_folder_naming_it(tmp_path, fifos):
    with pytest.raises(ValueError, match=r"x\.npz is a FIFO \(named pipe\), not a regular file"):
        fifos.call(load_masks, fifos.make("x.npz"))
    with pytest.raises(ValueError, match="is a folder, not a regular file"):
        load_masks(tmp_path)


def test_run_recipe_trains_and_measures_on_a_small_file(tmp_path, monkeypatch):
    n = 32
    path = write_mask_file(tmp_path / "small.npz", n=n, subject=np.arange(n) // 2,
                           pixel_size_mm=np.full(n, 0.5))
    data = load_masks(path)
    ratio = np.full(n, 0.99)
    outside_training = np.setdiff1d(np.arange(n), split_by_group(data.subject, seed=0).train)
    ratio[outside_training] = 1.5  # learnt on val or test images, the correction would move off 0.99
    data = MaskSet(data.images, data.masks, data.pixel_size_mm,
                   metrics.mask_circumference_mm(data.masks, data.pixel_size_mm) * ratio, data.subject)
    learnt_on = []
    correction = segmentation.circumference_correction
    monkeypatch.setattr(segmentation, "circumference_correction",
                        lambda masks, *args: learnt_on.append(len(masks)) or correction(masks, *args))
    result = segmentation.run_recipe(data, seed=0, recipe={"epochs": 3, "base_filters": 4,
                                                           "depth": 2, "time_budget_s": None})
    assert learnt_on == [result["n_train"]]  # the fit's bias is learnt on the training masks only
    assert result["n_train"] + result["n_val"] + result["n_test"] == n
    assert result["epochs_run"] == 3
    assert 0 <= result["test_iou"] <= result["test_dice"] <= 1
    assert result["hc_correction"] == pytest.approx(0.99)
    assert result["n_val"] > 0 and 0 <= result["val_dice"] <= 1
    assert result["hc_mae_mm"] >= 0 and result["hc_median_mm"] >= 0
    with pytest.raises(ValueError, match="unknown recipe settings"):
        segmentation.run_recipe(data, recipe={"epoch": 3})


def test_nearest_neighbour_copies_the_mask_of_the_most_similar_image():
    rng = np.random.default_rng(0)
    train = rng.random((5, 8, 8))
    masks = (rng.random((5, 8, 8)) > 0.5).astype(np.uint8)
    query = train[[3, 1]] * 2 + 0.1  # brighter copies: the correlation ignores gain and offset
    copied, nearest = segmentation.nearest_neighbour_masks(train, masks, query)
    assert nearest.tolist() == [3, 1]
    np.testing.assert_array_equal(copied, masks[[3, 1]])


def test_split_comparison_counts_shared_subjects_only_for_the_image_split():
    rng = np.random.default_rng(0)
    subject = np.repeat(np.arange(30), 2)
    images = rng.random((60, 8, 8))
    data = MaskSet(images, (images > 0.5).astype(np.uint8), subject=subject)
    result = segmentation.split_comparison(data, seeds=(0, 1))
    assert result["grouped"].shape == result["image"].shape == (2,)
    assert np.all(result["shared"] > 0)
    assert np.all((0 <= result["grouped"]) & (result["grouped"] <= 1))


def test_compare_losses_starts_each_loss_from_the_same_weights_and_keeps_one_run():
    rng = np.random.default_rng(0)
    x = rng.random((24, 16, 16, 1)).astype(np.float32)
    y = (x > 0.5).astype(np.float32)
    options = dict(depth=1, base_filters=2, convs=1)
    result = segmentation.compare_losses(x[:16], y[:16], x[16:], y[16:, ..., 0], seeds=(0, 1), epochs=2,
                                         keep=("dice", 1), **options)
    assert set(result.dice) == {"bce", "dice", "bce+dice"}
    assert all(len(v) == 2 and all(0 <= d <= 1 for d in v) for v in result.dice.values())
    # the kept run is reproduced by training that run alone, from the same start
    again = segmentation.compare_losses(x[:16], y[:16], x[16:], y[16:, ..., 0], losses=("dice",),
                                        seeds=(1,), epochs=2, keep=("dice", 1), **options)
    assert again.final_loss["dice"][0] == pytest.approx(result.final_loss["dice"][1], rel=1e-5)
    np.testing.assert_allclose(again.model.get_weights()[0], result.model.get_weights()[0], rtol=1e-5, atol=1e-6)
    assert result.final_loss["bce"][0] != result.final_loss["dice"][0]  # the losses differ
    with pytest.raises(ValueError, match="keep="):
        segmentation.compare_losses(x, y, x, y[..., 0], seeds=(0,), keep=("bce", 5))


@pytest.mark.parametrize("sizes, message", [
    (np.array([-1.0]), "pixel_size_mm holds -1.0: expected finite values > 0"),  # a bad value, whatever the shape
    (0.0, "pixel_size_mm holds 0.0: expected finite values > 0"),
    ([0.5, np.nan, 0.5], "pixel_size_mm holds nan: expected finite values > 0"),
    ([0.5, np.inf, 0.5], "pixel_size_mm holds inf: expected finite values > 0"),
    ("0.5", "pixel_size_mm has dtype <U3: expected real numbers (unsigned integer, integer, float)"),
    ([0.5, 2.0], "pixel_size_mm has shape (2,): expected one size, or one per mask: (3,)"),
    ([[0.5, 0.5, 0.5]], "pixel_size_mm has shape (1, 3): expected one size, or one per mask: (3,)"),
])
def test_bad_pixel_sizes_are_named_by_value_before_shape(sizes, message):
    masks = np.stack([ellipse_mask(16, 8, 8, 5, 4)] * 3)
    for call in (lambda: metrics.mask_circumference_mm(masks, sizes),
                 lambda: segmentation.circumference_correction(masks, sizes, np.full(3, 30.0)),
                 lambda: segmentation.evaluate(masks, masks, sizes, np.full(3, 30.0))):
        with pytest.raises(ValueError) as info:
            call()
        assert str(info.value) == message


@pytest.mark.parametrize("call, message", [
    (lambda m: segmentation.circumference_correction(m, 0.5, [30.0, -30.0, 30.0]),
     "circumference_mm holds -30.0: expected finite values > 0"),
    (lambda m: segmentation.circumference_correction(m, 0.5, [30.0, 30.0]),
     "circumference_mm has shape (2,): expected one per mask: (3,)"),
    (lambda m: segmentation.evaluate(m, m, 0.5, [30.0, np.nan, 30.0]),
     "circumference_mm holds nan: expected finite values > 0"),
    (lambda m: segmentation.evaluate(m, m, 0.5, np.full(3, 30.0), correction=0),
     "correction 0: expected a number > 0"),
    (lambda m: segmentation.evaluate(m, m, 0.5),
     "pixel_size_mm and circumference_mm: expected both (for the HC error) or neither"),
    (lambda m: segmentation.evaluate(m, m, circumference_mm=np.full(3, 30.0)),
     "pixel_size_mm and circumference_mm: expected both (for the HC error) or neither"),
    (lambda m: metrics.ellipse_circumference(np.nan, 2), "semi-axis a holds nan: expected finite values >= 0"),
    (lambda m: metrics.ellipse_circumference(3, [2, -1]), "semi-axis b holds -1.0: expected finite values >= 0"),
])
def test_the_other_measurements_in_mm_check_their_values(call, message):
    masks = np.stack([ellipse_mask(16, 8, 8, 5, 4)] * 3)
    with pytest.raises(ValueError) as info:
        call(masks)
    assert str(info.value) == message


def test_as_inputs_scales_uint8_keeps_floats_and_refuses_other_integers():
    images = np.array([[[0, 255], [51, 102]]], np.uint8)
    x = segmentation.as_inputs(images)
    assert x.shape == (1, 2, 2, 1) and x.dtype == np.float32
    np.testing.assert_allclose(x[0, :, :, 0], [[0, 1], [0.2, 0.4]], atol=1e-7)
    np.testing.assert_array_equal(segmentation.as_inputs(x), x)
    with pytest.raises(ValueError, match="uint16"):
        segmentation.as_inputs(images.astype(np.uint16))
    with pytest.raises(ValueError, match="one channel"):
        segmentation.as_inputs(np.zeros((1, 2, 2, 3), np.uint8))


# ------------------------------------------------------------------ sub-pixel HC, files, choosing
def soft_ellipse(size, row, col, a, b, angle=0.0, width=0.8):
    """A probability map whose 0.5 level is exactly the ellipse (a, b), smooth across ~2 pixels."""
    r, c = np.mgrid[:size, :size].astype(np.float64)
    dr, dc = r - row, c - col
    u = dr * np.cos(angle) + dc * np.sin(angle)
    v = -dr * np.sin(angle) + dc * np.cos(angle)
    level = np.sqrt((u / a) ** 2 + (v / b) ** 2)  # 1 on the ellipse
    return 1 / (1 + np.exp((level - 1) * min(a, b) / width))


@pytest.mark.parametrize("a, b, angle", [(20.4, 13.7, 0.3), (10.25, 10.25, 0.0), (25.6, 18.2, -1.1)])
def test_contour_circumference_finds_the_sub_pixel_outline_of_a_probability_map(a, b, angle):
    p = soft_ellipse(64, 31.7, 32.2, a, b, angle)[None]
    truth = metrics.ellipse_circumference(a, b)
    assert metrics.contour_circumference_mm(p, 1.0)[0] == pytest.approx(truth, rel=2e-3)
    assert metrics.contour_circumference_mm(p, [0.5])[0] == pytest.approx(0.5 * truth, rel=2e-3)
    mask = (p >= 0.5).astype(np.uint8)  # on 0/1 masks it agrees with the moments' fit
    assert metrics.contour_circumference_mm(mask, 1.0)[0] == pytest.approx(
        metrics.mask_circumference_mm(mask, 1.0)[0], rel=0.02)


def test_contour_circumference_of_an_empty_map_is_zero_and_bad_maps_are_named():
    assert metrics.contour_circumference_mm(np.zeros((2, 16, 16)), 1.0).tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match=r"probabilities must hold finite values in \[0, 1\]"):
        metrics.contour_circumference_mm(np.full((1, 8, 8), 1.5), 1.0)
    with pytest.raises(ValueError, match=r"probabilities must be \(N, H, W\)"):
        metrics.contour_circumference_mm(np.zeros((8, 8)), 1.0)
    with pytest.raises(ValueError, match=r"pixel_size_mm has shape \(3,\)"):
        metrics.contour_circumference_mm(np.zeros((2, 8, 8)), [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="level"):
        metrics.contour_circumference_mm(np.zeros((1, 8, 8)), 1.0, level=1.0)


def test_the_recipe_can_measure_from_the_contour_with_its_own_correction():
    masks = np.stack([ellipse_mask(32, 16, 16, 9, 6), ellipse_mask(32, 15, 16, 11, 8)])
    expert = metrics.contour_circumference_mm(masks, 1.0) * 0.97
    assert segmentation.circumference_correction(masks, 1.0, expert, "contour") == pytest.approx(0.97)
    p = np.stack([soft_ellipse(32, 16, 16, 9.3, 6.2), soft_ellipse(32, 15, 16, 11, 8)])
    by_contour = segmentation.measure_circumferences(p, 1.0, "contour")
    by_mask = segmentation.measure_circumferences(p, 1.0, "mask")
    assert by_contour[0] == pytest.approx(metrics.ellipse_circumference(9.3, 6.2), rel=3e-3)
    assert by_mask == pytest.approx(metrics.mask_circumference_mm(p >= 0.5, 1.0))
    with pytest.raises(ValueError, match="measure"):
        segmentation.measure_circumferences(p, 1.0, "pixels")


def test_a_higher_level_moves_the_outline_in_and_choose_level_finds_the_unbiased_one():
    # maps whose 0.5 outline is the ellipse (a, b) scaled by 1.04: a network drawing 4 % outside.
    # The level L outlines the ellipse scaled by 1.04 - logit(L) / 10 (Ramanujan's circumference
    # of that ellipse, analytically): the expert's (scale 1) is at logit(L) = 0.4, L = 0.599.
    axes = [(20.4, 13.7, 0.3), (14.0, 11.0, -0.8), (24.5, 19.0, 1.2)]
    rows, cols = np.mgrid[:64, :64].astype(np.float64)
    maps, expert = [], []
    for a, b, angle in axes:
        u = (rows - 31.6) * np.cos(angle) + (cols - 32.3) * np.sin(angle)
        v = -(rows - 31.6) * np.sin(angle) + (cols - 32.3) * np.cos(angle)
        maps.append(1 / (1 + np.exp(-10 * (1.04 - np.sqrt((u / a) ** 2 + (v / b) ** 2)))))
        expert.append(metrics.ellipse_circumference(a, b))
    p, expert = np.stack(maps), np.array(expert)
    for level in (0.4, 0.5, 0.6):
        scale = 1.04 - np.log(level / (1 - level)) / 10
        assert segmentation.measure_circumferences(p, 1.0, "contour", level) == pytest.approx(scale * expert, rel=2e-3)
    at_mask = segmentation.measure_circumferences(p, 1.0, "mask", 0.6)
    assert at_mask == pytest.approx(metrics.mask_circumference_mm(p >= 0.6, 1.0))
    level, errors = segmentation.choose_level(p, 1.0, expert, measure="contour")
    assert level == 0.6 and len(errors) == len(segmentation.LEVELS)
    assert errors[segmentation.LEVELS.index(0.6)] < 0.05 * errors[segmentation.LEVELS.index(0.5)]
    assert segmentation.choose_level(p, 1.0, expert, levels=(0.5, 0.55))[0] == 0.55
    with pytest.raises(ValueError, match="levels"):
        segmentation.choose_level(p, 1.0, expert, levels=())


@pytest.mark.parametrize("kwargs, name", [
    ({"correction": float("nan")}, "correction"), ({"correction": -1.0}, "correction"),
    ({"correction": 0}, "correction"), ({"correction": "x"}, "correction"),
    ({"levels": (1.5,)}, "levels"), ({"levels": 0.5}, "levels"), ({"levels": (l for l in (0.4, 0.5))}, "levels"),
    ({"levels": [0.0, 0.5]}, "levels"), ({"levels": [0.5, 1.0]}, "levels"), ({"levels": [0.5, float("nan")]}, "levels"),
    ({"levels": ["0.5"]}, "levels"), ({"levels": np.array([[0.5]])}, "levels"),
    ({"levels": (0.5,), "measure": "pixels"}, "measure"),
])
def test_choose_level_refuses_a_bad_correction_or_levels_in_one_line_naming_it(kwargs, name):
    p = np.stack([ellipse_mask(32, 16, 16, 9, 6)] * 2).astype(np.float64)
    with pytest.raises(ValueError) as info:
        segmentation.choose_level(p, 1.0, [40.0, 41.0], **kwargs)
    message = str(info.value)
    assert message.startswith(name + " ") and "\n" not in message, message
    if name == "levels":
        assert "expected a non-empty sequence of numbers in (0, 1)" in message


@pytest.mark.parametrize("measure", ["mask", "contour"])
@pytest.mark.parametrize("level", [0.0, 1.0, -0.1, 1.5, float("nan"), "half"])
def test_measure_circumferences_takes_a_level_in_the_open_interval_for_both_measures(measure, level):
    p = ellipse_mask(32, 16, 16, 9, 6)[None].astype(np.float64)
    with pytest.raises(ValueError, match=r"^level .*: expected a number in \(0\.0, 1\.0\)$"):
        segmentation.measure_circumferences(p, 1.0, measure, level)


def test_hc_figures_report_the_signed_bias_and_the_share_of_large_failures():
    masks = np.stack([ellipse_mask(32, 16, 16, 9, 6)] * 4)
    fitted = metrics.mask_circumference_mm(masks, 1.0)
    data = MaskSet(np.zeros((4, 32, 32), np.uint8), masks, np.ones(4), fitted + [1.0, 1.0, -1.0, -12.0], np.arange(4))
    figures = segmentation.hc_figures(data, masks.astype(np.float32), 1.0, prefix="val_")
    assert figures == pytest.approx({"val_hc_mae_mm": 3.75, "val_hc_median_mm": 1.0, "val_hc_signed_mm": 2.75,
                                     "val_hc_share_over_5mm": 0.25, "val_hc_over_5mm_part": 0.8})


def test_error_summary_and_mask_defects_by_hand():
    s = metrics.error_summary([10.0, 20.0, 30.0], [11.0, 19.0, 30.0], large=0.5)
    assert s == pytest.approx({"mae": 2 / 3, "median": 1.0, "signed": 0.0, "share_large": 2 / 3, "large_part": 1.0})
    assert metrics.error_summary([5.0], [5.0])["large_part"] == 0.0
    with pytest.raises(ValueError, match=r"reference \(2,\) and estimate \(1,\)"):
        metrics.error_summary([1.0, 2.0], [1.0])
    # equal sizes, different shapes: flattening both would pair the wrong things
    with pytest.raises(ValueError, match=r"^reference \(2, 3\) and estimate \(3, 2\): expected the same"):
        metrics.error_summary(np.ones((2, 3)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="non-empty"):
        metrics.error_summary([], [])
    same = metrics.error_summary(np.full((2, 3), 10.0), np.arange(6.0).reshape(2, 3) + 8)
    assert same == metrics.error_summary(np.full(6, 10.0), np.arange(6.0) + 8)
    with pytest.raises(ValueError, match="large"):
        metrics.error_summary([1.0], [1.0], large=0)
    masks = np.stack([ellipse_mask(32, 16, 16, 9, 6), ellipse_mask(32, 16, 16, 9, 6), ellipse_mask(32, 16, 30, 9, 6)])
    masks[1, 16, 16] = 0  # a hole
    masks[1, 2:4, 2:4] = 1  # a stray blob
    defects = metrics.mask_defects(masks)
    assert defects["regions"].tolist() == [1, 2, 1]
    assert defects["hole_pixels"].tolist() == [0, 1, 0]
    assert defects["edge_pixels"][:2].tolist() == [0, 0] and defects["edge_pixels"][2] > 0
    with pytest.raises(ValueError, match="masks must be a binary mask"):
        metrics.mask_defects(np.full((1, 4, 4), 0.5))
    for empty in (np.zeros((0, 8, 8), np.uint8), np.zeros((0, 8, 8, 1), bool)):  # no masks: empty counts
        defects = metrics.mask_defects(empty)
        assert sorted(defects) == ["edge_pixels", "hole_pixels", "regions"]
        assert all(v.shape == (0,) and v.dtype == np.int64 for v in defects.values())


def test_save_masks_writes_a_file_load_masks_reads_back(tmp_path):
    from medlab.data import save_masks

    data = load_masks(write_mask_file(tmp_path / "src.npz", subject=np.arange(24) // 3,
                                      pixel_size_mm=np.full(24, 0.7)))
    path = save_masks(tmp_path / "out" / "copy.npz", data)
    back = load_masks(path)
    for name in ("images", "masks", "subject", "pixel_size_mm"):
        np.testing.assert_array_equal(getattr(back, name), getattr(data, name))
    assert back.head_circumference_mm is None
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_masks(path, data)
    with pytest.raises(ValueError, match=r"ending in \.npz"):
        save_masks(tmp_path / "x.npy", data)
    with pytest.raises(TypeError, match="MaskSet"):
        save_masks(tmp_path / "y.npz", {"images": data.images})


def test_hippocampus_slices_are_one_binary_structure_with_the_volume_as_subject():
    from medlab.data import hippocampus_slices, load_hippocampus

    data = hippocampus_slices(volumes=2)
    volumes = load_hippocampus()["test"]
    assert data.images.shape[1:] == (56, 40) and data.masks.dtype == np.uint8
    assert set(np.unique(data.subject)) == set(volumes.ids[:2].tolist())
    assert set(np.unique(data.masks)) == {0, 1} and data.masks.reshape(len(data), -1).any(axis=1).all()
    first = volumes.masks[0] > 0  # every labelled slice along axis 0, labels 1 and 2 merged
    assert np.sum(data.subject == volumes.ids[0]) == first.any(axis=(1, 2)).sum()
    assert data.masks[data.subject == volumes.ids[0]].sum() == first.sum()
    assert len(hippocampus_slices(volumes=1, labelled_only=False)) == 40


def test_a_split_by_subject_needs_three_subjects():
    data = MaskSet(np.zeros((6, 8, 8), np.uint8), np.zeros((6, 8, 8), np.uint8), subject=np.array([1, 1, 1, 2, 2, 2]))
    with pytest.raises(ValueError, match="data has 2 subjects: a split by subject into train, validation and "
                                         "test needs at least 3"):
        segmentation.split_masks(data)
    train, val, test = segmentation.split_masks(data, split="image")
    assert len(train) + len(val) + len(test) == 6


def test_run_recipe_chooses_by_validation_dice_then_trains_the_winner_for_the_rest(tmp_path, monkeypatch):
    data = load_masks(write_mask_file(tmp_path / "c.npz", n=40, subject=np.arange(40) // 2))
    trained = []

    def fake_train(train, val, settings, seed=0):  # a "model" that is perfect only when wide
        trained.append(dict(settings))
        return settings, {"train_seconds": 0.0, "epochs_run": settings["epochs"]}

    truth = {im.tobytes(): m for im, m in zip(data.images, data.masks)}
    monkeypatch.setattr(segmentation, "train_settings", fake_train)
    monkeypatch.setattr(segmentation, "_probabilities", lambda model, images, settings: np.stack(
        [truth[im.tobytes()] if model["base_filters"] == 16 else np.zeros_like(im) for im in images]
    ).astype(np.float32))
    result = segmentation.run_recipe(data, recipe={"epochs": 36, "time_budget_s": None}, choose=True)
    assert result["chosen"] == {"base_filters": 16, "learning_rate": 1e-3}
    assert result["val_dice"] == 1.0 and result["test_dice"] == 1.0
    assert result["candidate_val_dice"][1] == 1.0 and len(result["candidate_val_dice"]) == 3
    assert [t["epochs"] for t in trained] == [6, 6, 6, 18]  # half the epochs for the trials
    assert trained[-1]["base_filters"] == 16 and trained[2]["flip"] is True
    trained.clear()
    segmentation.run_recipe(data, recipe={"epochs": 36, "time_budget_s": 60.0}, choose=True)
    assert [t["time_budget_s"] for t in trained] == [10.0, 10.0, 10.0, 30.0]  # half the seconds


# ------------------------------------------------------------------ sub-pixel targets (issue #30)
@pytest.mark.parametrize("a, b, angle", [(20.4, 13.7, 0.3), (14.2, 11.1, -1.1)])
def test_ellipse_targets_draw_the_fitted_ellipse_with_its_sub_pixel_outline(a, b, angle):
    mask = ellipse_mask(64, 31.6, 32.3, a, b, angle)
    area = segmentation.ellipse_targets(mask[None])
    assert area.shape == (1, 64, 64, 1) and area.dtype == np.float32
    assert area.min() == 0 and area.max() == 1 and np.any((area > 0) & (area < 1))
    row, col, fa, fb, _ = metrics.ellipse_fit(mask)
    assert float(area.sum()) == pytest.approx(np.pi * fa * fb, rel=2e-3)  # the share inside, summed
    assert metrics.dice(mask, (area[0, ..., 0] >= 0.5).astype(np.uint8)) > 0.98
    circumference = metrics.ellipse_circumference(fa, fb)
    for kind in segmentation.TARGETS[1:]:  # the 0.5 outline of either is the fitted ellipse
        t = segmentation.ellipse_targets(mask[None], kind)[..., 0]
        assert metrics.contour_circumference_mm(t, 1.0)[0] == pytest.approx(circumference, rel=5e-3), kind
    distance = segmentation.ellipse_targets(mask[None], "distance")[0, ..., 0]
    inside = 1 / (1 + np.exp(-1.0))  # one pixel in from the outline, at width 1
    assert distance[int(round(row)), int(round(col))] > 0.99 and distance[0, 0] < 1e-4
    assert np.any(np.abs(distance - inside) < 0.05) and np.any(np.abs(distance - (1 - inside)) < 0.05)


def test_ellipse_targets_give_zeros_for_an_empty_mask_and_name_bad_arguments():
    empty = np.zeros((1, 16, 16), np.uint8)
    assert not segmentation.ellipse_targets(empty).any()
    assert not segmentation.ellipse_targets(empty, "distance").any()
    masks = ellipse_mask(16, 8, 8, 5, 4)[None]
    assert segmentation.training_targets(masks, "mask").tolist() == segmentation.as_targets(masks).tolist()
    for kind in segmentation.TARGETS:  # (N, H, W, 1) masks, as Keras takes them, work for every kind
        assert segmentation.training_targets(masks[..., None], kind).tolist() == \
            segmentation.training_targets(masks, kind).tolist(), kind
    for kwargs, name in (({"kind": "blur"}, "kind"), ({"samples": 0}, "samples"), ({"width": 0}, "width")):
        with pytest.raises(ValueError, match=f"^{name} "):
            segmentation.ellipse_targets(masks, **kwargs)
    with pytest.raises(ValueError, match="only 0 and 1"):
        segmentation.ellipse_targets(masks * 0.5)
    with pytest.raises(ValueError, match="^targets "):
        segmentation.training_targets(masks, "soft")


@pytest.mark.parametrize("a, b, angle", [(20.4, 13.7, 0.3), (25.6, 18.2, -1.1)])
def test_moment_circumference_measures_an_anti_aliased_ellipse_and_ignores_stray_blobs(a, b, angle):
    mask = ellipse_mask(64, 31.6, 32.3, a, b, angle)
    area = segmentation.ellipse_targets(mask[None])[..., 0]
    _, _, fa, fb, _ = metrics.ellipse_fit(mask)
    assert metrics.moment_circumference_mm(area, 0.5)[0] == pytest.approx(
        0.5 * metrics.ellipse_circumference(fa, fb), rel=2e-3)
    blob = area.copy()
    blob[0, :3, :3] = 1.0  # a stray region far from the head
    assert metrics.moment_circumference_mm(blob, 1.0) == pytest.approx(metrics.moment_circumference_mm(area, 1.0))
    assert segmentation.measure_circumferences(area, 1.0, "moments") == pytest.approx(
        metrics.moment_circumference_mm(area, 1.0))
    assert metrics.moment_circumference_mm(np.zeros((2, 8, 8)), [1.0, 2.0]).tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="probabilities"):
        metrics.moment_circumference_mm(area * 2, 1.0)
    with pytest.raises(ValueError, match="^margin "):
        metrics.moment_circumference_mm(area, 1.0, margin=-1)
    with pytest.raises(ValueError, match="pixel_size_mm has shape"):
        metrics.moment_circumference_mm(area, [1.0, 2.0])


def test_run_recipe_trains_on_area_targets_and_learns_the_correction_on_them(tmp_path, monkeypatch):
    n = 24
    path = write_mask_file(tmp_path / "small.npz", n=n, subject=np.arange(n) // 2, pixel_size_mm=np.full(n, 0.5),
                           head_circumference_mm=np.full(n, 20.0))
    data = load_masks(path)
    seen = []
    correction = segmentation.circumference_correction
    monkeypatch.setattr(segmentation, "circumference_correction",
                        lambda maps, *args: seen.append(np.asarray(maps)) or correction(maps, *args))
    result = segmentation.run_recipe(data, seed=0, recipe={"epochs": 2, "base_filters": 2, "depth": 2,
                                                           "time_budget_s": None, "targets": "area",
                                                           "measure": "moments"})
    (maps,) = seen  # learnt on the training targets, which hold the outline's shares
    assert len(maps) == result["n_train"] and np.any((maps > 0) & (maps < 1))
    assert result["epochs_run"] == 2 and 0 <= result["val_dice"] <= 1 and result["hc_mae_mm"] >= 0
    with pytest.raises(ValueError, match="^targets "):
        segmentation.run_recipe(data, recipe={"targets": "soft", "epochs": 1})
