"""Anomaly scores of lesson 11: contrast-free scores, trivial baselines, choices on validation."""

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from medlab import anomaly, metrics

RNG = np.random.default_rng(0)


def textured(n, contrast, rng, size=16):
    """Images of a smooth pattern at a given contrast around 0.5: (n, size, size)."""
    u = np.linspace(0, 3 * np.pi, size)
    base = np.sin(u)[:, None] * np.cos(u)[None, :]
    return np.clip(0.5 + contrast * (base + 0.1 * rng.standard_normal((n, size, size))), 0, 1)


def test_standardize_gives_mean_0_sd_1_and_removes_brightness_and_contrast():
    x = RNG.random((5, 8, 8, 1))
    s = anomaly._standardize(x)
    assert s.shape == (5, 8, 8)
    np.testing.assert_allclose(s.mean(axis=(1, 2)), 0, atol=1e-12)
    np.testing.assert_allclose(s.std(axis=(1, 2)), 1, atol=1e-12)
    np.testing.assert_allclose(anomaly._standardize(0.2 + 3 * x), s, atol=1e-9)
    assert np.all(anomaly._standardize(np.full((1, 4, 4), 0.7)) == 0)  # a flat image stays finite
    with pytest.raises(ValueError, match=r"images has shape \(4, 4\): expected \(N, H, W\)"):
        anomaly._standardize(np.zeros((4, 4)))


def test_scores_are_mse_ssim_and_correlation_of_standardised_images():
    x = RNG.random((4, 16, 16))
    x_hat = np.clip(x + 0.1 * RNG.standard_normal(x.shape), 0, 1)
    np.testing.assert_allclose(anomaly.mse_score(x, x_hat), ((x - x_hat) ** 2).mean(axis=(1, 2)))
    np.testing.assert_allclose(anomaly.ssim_score(x[..., None], x_hat[..., None]),
                               1 - metrics.ssim_per_image(x, x_hat))
    r = [np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(x, x_hat)]
    np.testing.assert_allclose(anomaly.standardized_mse_score(x, x_hat), 2 * (1 - np.array(r)))
    np.testing.assert_allclose(anomaly.error_maps(x, x_hat), np.abs(x - x_hat))
    assert np.all(anomaly.ssim_score(x, x) == 0) and np.all(anomaly.mse_score(x, x) == 0)


def test_low_contrast_fools_the_mse_but_not_the_contrast_free_scores():
    # "normal" images: a clear pattern; "abnormal": the same pattern, faint and scrambled.
    rng = np.random.default_rng(1)
    normal = textured(30, 0.3, rng)
    abnormal = textured(30, 0.1, rng)[:, rng.permutation(16)]
    x = np.concatenate([normal, abnormal])
    y = np.r_[np.zeros(30), np.ones(30)].astype(int)
    x_hat = gaussian_filter(x, sigma=(0, 1.5, 1.5))  # a "model" that keeps the coarse shape only
    assert metrics.auc(y, anomaly.mse_score(x, x_hat)) < 0.3  # faint images: small error anyway
    assert metrics.auc(y, anomaly.standardized_mse_score(x, x_hat)) > 0.95
    assert metrics.auc(y, anomaly.ssim_score(x, x_hat)) > 0.95
    features = anomaly.intensity_features(x)
    assert set(features) == {"mean intensity", "image sd"}
    np.testing.assert_allclose(features["image sd"], x.std(axis=(1, 2)))
    assert anomaly._orient(features["image sd"], y) == -1.0  # faint = abnormal: lower sd ranks higher
    assert anomaly._orient(-features["image sd"], y) == 1.0


def test_latent_mahalanobis_is_the_distance_in_units_of_the_normal_spread():
    rng = np.random.default_rng(2)
    z = rng.standard_normal((4000, 3)) * [1.0, 4.0, 0.5]
    maha = anomaly.LatentMahalanobis().fit(z)
    d = maha.score(np.array([[2.0, 0, 0], [0, 8.0, 0], [0, 0, 1.0], [0, 0, 0]]))
    np.testing.assert_allclose(d[:3], 2.0, rtol=0.06)  # 2 sd along each axis, whatever its scale
    assert d[3] < 0.1
    with pytest.raises(RuntimeError, match="call fit"):
        anomaly.LatentMahalanobis().score(z)
    with pytest.raises(ValueError, match=r"codes must have shape \(N, 3\)"):
        maha.score(np.zeros((2, 4)))


def test_pca_nearest_neighbours_scores_unseen_patterns_higher():
    rng = np.random.default_rng(3)
    u = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    p1, p2 = np.sin(u)[:, None] * np.ones(16), np.ones(16)[:, None] * np.sin(2 * u)
    def mix(main, other, n):  # mostly one pattern, a little of the other
        return 0.5 + 0.2 * (main + 0.2 * rng.standard_normal((n, 1, 1)) * other)
    normal = mix(p1, p2, 80)
    model = anomaly.PCANearestNeighbours(n_components=5, n_neighbors=3).fit(normal)
    odd = mix(p2, p1, 10)  # the other pattern: never seen
    assert model.score(odd).min() > model.score(mix(p1, p2, 10)).max()
    # standardised: a brighter, stronger copy of a normal image is still normal
    assert model.score(np.clip(normal[:5] * 1.5, 0, 1)).max() < model.score(odd).min()
    with pytest.raises(ValueError, match="need more than n_components=5"):
        anomaly.PCANearestNeighbours(n_components=5).fit(normal[:4])
    with pytest.raises(RuntimeError, match="call fit"):
        anomaly.PCANearestNeighbours().score(normal)


def test_compare_scores_orients_only_baselines_on_validation_and_chooses_on_validation():
    rng = np.random.default_rng(4)
    y_val, y_test = np.r_[np.zeros(50), np.ones(50)], np.r_[np.zeros(60), np.ones(40)]
    good = {"val": y_val + rng.normal(0, 0.5, 100), "test": y_test + rng.normal(0, 0.5, 100)}
    flipped = {"val": -y_val + rng.normal(0, 1, 100), "test": -y_test + rng.normal(0, 1, 100)}
    val = {"good": good["val"], "flipped": flipped["val"], "sd": flipped["val"]}
    test = {"good": good["test"], "flipped": flipped["test"], "sd": flipped["test"]}
    rows = anomaly.compare_scores(val, y_val, test, y_test, baselines=("sd",), oriented=("sd",), n_boot=200)
    by = {r.name: r for r in rows}
    assert [r.name for r in rows] == ["good", "flipped", "sd"]
    assert by["flipped"].val_auc < 0.5  # a model's score keeps its direction
    assert by["sd"].val_auc == pytest.approx(1 - by["flipped"].val_auc)  # a baseline is turned
    assert by["sd"].test.estimate == pytest.approx(1 - by["flipped"].test.estimate)
    assert by["good"].test.estimate == pytest.approx(metrics.auc(y_test, good["test"]))
    assert by["good"].test.low < by["good"].test.estimate < by["good"].test.high
    assert anomaly.choose_on_validation(rows).name == "good"
    assert by["sd"].sign == -1.0 and by["flipped"].sign == 1.0
    assert "(baseline, lower = anomalous)" in by["sd"].text() and "95 % CI" in by["good"].text()
    assert f"val AUC {by['good'].val_auc:.3f} | test AUC {by['good'].test.estimate:.3f}" in by["good"].text(digits=3)
    assert anomaly.choose_on_validation([by["sd"]], include_baselines=True).name == "sd"
    with pytest.raises(ValueError, match="no score to choose from"):
        anomaly.choose_on_validation([by["sd"]])
    plain = anomaly.compare_scores(val, y_val, test, y_test, n_boot=50)
    assert anomaly.choose_on_validation(plain).name == "good"
    with pytest.raises(ValueError, match="must name the same scores"):
        anomaly.compare_scores(val, y_val, {"good": good["test"]}, y_test)
    with pytest.raises(ValueError, match="baselines .'mean'. are not among the scores"):
        anomaly.compare_scores(val, y_val, test, y_test, baselines=("mean",))
    with pytest.raises(ValueError, match="oriented .'mean'. are not among the scores"):
        anomaly.compare_scores(val, y_val, test, y_test, oriented=("mean",))


def test_multiscale_ssim_averages_one_minus_ssim_over_halved_images():
    rng = np.random.default_rng(3)
    x = rng.random((3, 28, 28))
    x_hat = np.clip(x + 0.2 * rng.standard_normal(x.shape), 0, 1)
    np.testing.assert_allclose(anomaly.multiscale_ssim_score(x, x_hat, scales=1), anomaly.ssim_score(x, x_hat))
    half = lambda a: a.reshape(3, 14, 2, 14, 2).mean(axis=(2, 4))  # noqa: E731
    expected = (anomaly.ssim_score(x, x_hat) + 1 - metrics.ssim_per_image(half(x), half(x_hat))) / 2
    np.testing.assert_allclose(anomaly.multiscale_ssim_score(x[..., None], x_hat[..., None]), expected)
    assert np.all(anomaly.multiscale_ssim_score(x, x, scales=3) == 0)
    with pytest.raises(ValueError, match="scales=4"):
        anomaly.multiscale_ssim_score(x, x_hat, scales=4)  # 28 -> 3.5 px: below the 7 x 7 window
    with pytest.raises(ValueError, match="shape"):
        anomaly.multiscale_ssim_score(x, x_hat[:2])


def test_with_contrast_fits_on_validation_only_and_scores_validation_out_of_fold():
    rng = np.random.default_rng(4)
    y = np.r_[np.zeros(40), np.ones(40)].astype(int)
    # a weak score, and images whose contrast also tells the classes apart (abnormal: hazier)
    score = np.exp(0.3 * y + 0.5 * rng.standard_normal(80))
    images = 0.5 + (0.2 - 0.08 * y)[:, None, None] * rng.standard_normal((80, 8, 8))
    val_c, test_c = anomaly.with_contrast(score, images, y, score[:10], images[:10], seed=0)
    assert val_c.shape == (80,) and test_c.shape == (10,)
    assert metrics.auc(y, val_c) > max(metrics.auc(y, score), 0.9)
    # test scores come from one rule fitted on all of validation: a monotone function of its inputs
    again = anomaly.with_contrast(score, images, y, score[:10] * 2, images[:10], seed=0)[1]
    assert np.all(again > test_c)  # a larger score, the same contrast: more anomalous
    # out-of-fold: validation's combined scores differ from the rule fitted on all of it
    assert not np.allclose(val_c[:10], test_c)
    with pytest.raises(ValueError, match="val_score"):
        anomaly.with_contrast(score[:5], images, y, score, images)
    with pytest.raises(ValueError, match="folds"):
        anomaly.with_contrast(score, images, y, score, images, folds=1)


# ------------------------------------------------------------------ scores for issue #30's goal
def test_ssim_maps_average_to_the_ssim_score_and_vanish_where_the_images_agree():
    rng = np.random.default_rng(5)
    x = gaussian_filter(rng.random((3, 16, 16)), (0, 1, 1))
    x_hat = np.clip(x + 0.05 * rng.standard_normal(x.shape), 0, 1)
    maps = anomaly.ssim_maps(x[..., None], x_hat)
    assert maps.shape == (3, 16, 16)
    # scikit-image averages its map without the 3-pixel border of the 7 x 7 window
    np.testing.assert_allclose(maps[:, 3:-3, 3:-3].mean(axis=(1, 2)), anomaly.ssim_score(x, x_hat))
    np.testing.assert_allclose(anomaly.ssim_maps(x, x), 0, atol=1e-12)
    with pytest.raises(ValueError, match="reconstructions"):
        anomaly.ssim_maps(x, x_hat[:2])
    with pytest.raises(ValueError, match="7 x 7"):
        anomaly.ssim_maps(x[:, :6, :6], x_hat[:, :6, :6])
    # the map is medlab.metrics.ssim_maps's, whose mean inside the border is ssim_per_image
    np.testing.assert_allclose(maps, 1 - metrics.ssim_maps(x, x_hat))
    np.testing.assert_allclose(metrics.ssim_maps(x, x_hat)[:, 3:-3, 3:-3].mean(axis=(1, 2)),
                               metrics.ssim_per_image(x, x_hat))


def test_quantile_score_counts_a_small_spot_that_the_mean_dilutes():
    maps = np.zeros((2, 20, 20))
    maps[1, 9:11, 9:11] = 1.0                      # 4 of 400 pixels
    maps[0] += 0.02                                # a uniform, slightly worse image
    assert np.argmax(maps.mean(axis=(1, 2))) == 0  # the mean ranks the uniform one higher
    assert np.argmax(anomaly.quantile_score(maps, q=99.5)) == 1
    np.testing.assert_allclose(anomaly.quantile_score(maps, q=50), np.median(maps.reshape(2, -1), axis=1))
    edge = np.zeros((1, 20, 20))
    edge[0, :, :3] = 1.0                           # an error only at the left border
    assert anomaly.quantile_score(edge, q=100, margin=3)[0] == 0
    assert anomaly.quantile_score(edge, q=100)[0] == 1
    for kwargs, match in (({"q": 101}, "q"), ({"margin": 10}, "margin"), ({"margin": -1}, "margin")):
        with pytest.raises(ValueError, match=match):
            anomaly.quantile_score(maps, **kwargs)
    with pytest.raises(ValueError, match=r"maps has shape \(20, 20\)"):
        anomaly.quantile_score(maps[0])


def test_feature_nearest_neighbours_is_the_mean_distance_in_normal_sd_units():
    rng = np.random.default_rng(6)
    normal = rng.normal(size=(30, 2, 3)) * np.array([1.0, 10.0, 100.0])  # features of different scales
    queries = rng.normal(size=(4, 2, 3))
    model = anomaly.FeatureNearestNeighbours(n_neighbors=3).fit(normal)
    flat = normal.reshape(30, -1)
    units = (flat - flat.mean(0)) / flat.std(0)
    q = (queries.reshape(4, -1) - flat.mean(0)) / flat.std(0)
    distances = np.sort(np.linalg.norm(q[:, None] - units[None], axis=2), axis=1)[:, :3].mean(axis=1)
    np.testing.assert_allclose(model.score(queries), distances)
    np.testing.assert_allclose(anomaly.FeatureNearestNeighbours().fit(normal).score(normal), 0, atol=1e-9)
    with pytest.raises(RuntimeError, match="fit"):
        anomaly.FeatureNearestNeighbours().score(queries)
    with pytest.raises(ValueError, match="3 values per image, the normal ones 6"):
        model.score(queries[:, 0])
    with pytest.raises(ValueError, match="n_neighbors=3"):
        anomaly.FeatureNearestNeighbours(3).fit(normal[:3])
    with pytest.raises(ValueError, match="n_neighbors"):
        anomaly.FeatureNearestNeighbours(0)
    with pytest.raises(ValueError, match="features holds nan"):
        model.score(np.where(np.arange(6) == 2, np.nan, queries.reshape(4, -1)))
    with pytest.raises(ValueError, match=r"shape \(30,\)"):
        anomaly.FeatureNearestNeighbours().fit(flat[:, 0])


def test_feature_nearest_neighbours_keeps_a_feature_constant_on_the_normals_in_raw_units():
    # a unit the normal images never switch on (a dead ReLU): sd 0, so no sd unit to count in
    rng = np.random.default_rng(8)
    normal = np.c_[rng.normal(size=(40, 3)), np.zeros(40)]
    model = anomaly.FeatureNearestNeighbours(n_neighbors=1).fit(normal)
    switched_on = np.c_[np.zeros((1, 3)), [[0.5]]]              # the dead unit at 0.5, else typical
    far = np.c_[np.full((1, 3), 4.0), [[0.0]]]                   # 4 sd out on every live feature
    on, off = model.score(switched_on)[0], model.score(far)[0]
    assert np.isfinite(on) and on < off                          # the dead unit alone does not win
    # the constant feature counts in raw units: switching it on adds 0.5 in quadrature
    np.testing.assert_allclose(on ** 2, model.score(np.zeros((1, 4)))[0] ** 2 + 0.25)
    # the k-NN distance is medlab.metrics.knn_distance's, mean over the k nearest
    units = (normal - normal.mean(0)) / np.where(normal.std(0) > 0, normal.std(0), 1.0)
    np.testing.assert_allclose(
        anomaly.FeatureNearestNeighbours(4).fit(normal).score(far),
        metrics.knn_distance(units, (far - normal.mean(0)) / np.where(normal.std(0) > 0, normal.std(0), 1.0),
                             4, normalise=False, mean=True))


def test_combine_scores_fits_on_validation_out_of_fold_and_with_contrast_is_its_two_score_case():
    rng = np.random.default_rng(7)
    y = np.r_[np.zeros(50), np.ones(50)].astype(int)
    a = np.exp(0.8 * y + rng.standard_normal(100))   # two weak, independent scores
    b = np.exp(0.8 * y + rng.standard_normal(100))
    val_c, test_c = anomaly.combine_scores({"a": a, "b": b}, y, {"a": a[:10], "b": b[:10]}, seed=1)
    assert val_c.shape == (100,) and test_c.shape == (10,)
    assert metrics.auc(y, val_c) > max(metrics.auc(y, a), metrics.auc(y, b))
    assert not np.allclose(val_c[:10], test_c)  # out-of-fold on validation
    larger = anomaly.combine_scores({"a": a, "b": b}, y, {"a": 2 * a[:10], "b": b[:10]}, seed=1)[1]
    assert np.all(larger > test_c)
    images = 0.5 + (0.2 - 0.08 * y)[:, None, None] * rng.standard_normal((100, 8, 8))
    sd = images.std(axis=(1, 2))
    for got, expected in zip(anomaly.with_contrast(a, images, y, a[:10], images[:10], seed=2),
                             anomaly.combine_scores({"s": a, "sd": sd}, y, {"s": a[:10], "sd": sd[:10]}, seed=2)):
        np.testing.assert_array_equal(got, expected)
    with pytest.raises(ValueError, match="same scores"):
        anomaly.combine_scores({"a": a}, y, {"b": b})
    with pytest.raises(ValueError, match="val_scores"):
        anomaly.combine_scores({"a": a, "b": b[:5]}, y, {"a": a, "b": b})
    with pytest.raises(ValueError, match="y_val"):
        anomaly.combine_scores({"a": a}, y[:5], {"a": a})
    with pytest.raises(ValueError, match="finite"):
        anomaly.combine_scores({"a": a}, y, {"a": np.r_[a[:9], np.nan]})


def test_combine_scores_chooses_a_setting_inside_every_fold():
    rng = np.random.default_rng(9)
    y = np.r_[np.zeros(60), np.ones(60)].astype(int)
    good, noise = np.exp(y + rng.standard_normal(120)), np.exp(rng.standard_normal(120))
    sd = np.exp(0.5 * y + rng.standard_normal(120))
    # one setting is informative: the nested rule equals the rule given that setting alone
    nested = anomaly.combine_scores({"s": {1: good, 2: noise}, "sd": sd}, y,
                                    {"s": {1: good[:7], 2: noise[:7]}, "sd": sd[:7]}, seed=3)
    fixed = anomaly.combine_scores({"s": good, "sd": sd}, y, {"s": good[:7], "sd": sd[:7]}, seed=3)
    for got, expected in zip(nested, fixed):
        np.testing.assert_allclose(got, expected)
    # many noise candidates: chosen on all of val, their out-of-fold AUC would be inflated;
    # chosen inside each fold, the held-out images keep it near chance
    lucky = {k: np.exp(rng.standard_normal(120)) for k in range(30)}
    best = max(lucky, key=lambda k: metrics.auc(y, lucky[k]))
    in_sample = anomaly.combine_scores({"s": lucky[best]}, y, {"s": lucky[best][:7]}, seed=3)[0]
    out = anomaly.combine_scores({"s": lucky}, y, {"s": {k: v[:7] for k, v in lucky.items()}}, seed=3)[0]
    assert metrics.auc(y, out) < metrics.auc(y, in_sample)
    with pytest.raises(ValueError, match="same settings"):
        anomaly.combine_scores({"s": {1: good, 2: noise}}, y, {"s": {1: good[:7]}})


# ------------------------------------------------------------ hostile inputs: one-line errors
def one_line_error(call, match):
    """``call()`` raises a ValueError whose message matches ``match`` and has one line."""
    with pytest.raises(ValueError, match=match) as info:
        call()
    assert "\n" not in str(info.value), str(info.value)


def test_combine_scores_refuses_scores_at_or_below_zero_instead_of_flooring_them():
    # before: log(max(s, 1e-12)) made an all-negative score a constant, AUC 0.5 where -a has 0.17
    rng = np.random.default_rng(10)
    y = np.r_[np.zeros(40), np.ones(40)].astype(int)
    a = np.exp(y + rng.standard_normal(80))
    assert metrics.auc(y, -a) < 0.3
    one_line_error(lambda: anomaly.combine_scores({"minus a": -a}, y, {"minus a": -a[:5]}),
                   r"val_scores\['minus a'\] holds -[\d.]+: expected finite values > 0$")
    one_line_error(lambda: anomaly.combine_scores({"a": a}, y, {"a": np.r_[a[:4], 0.0]}),
                   r"test_scores\['a'\] holds 0.0: expected finite values > 0$")
    one_line_error(lambda: anomaly.combine_scores({"s": {5: a, 7: -a}}, y, {"s": {5: a, 7: a}}),
                   r"val_scores\['s'\]\[7\] holds -")
    one_line_error(lambda: anomaly.with_contrast(-a, np.zeros((80, 4, 4)), y, a, np.zeros((80, 4, 4))),
                   r"val_score holds -[\d.]+: expected finite values > 0$")
    # with_contrast's own NaN error names its argument, val_score (not val_scores)
    one_line_error(lambda: anomaly.with_contrast(np.r_[np.nan, a[1:]], np.zeros((80, 4, 4)), y, a,
                                                 np.zeros((80, 4, 4))), r"^val_score holds nan")


def test_contrast_floors_the_image_sd_as_with_contrast_does_so_a_flat_image_is_accepted():
    rng = np.random.default_rng(11)
    y = np.r_[np.zeros(20), np.ones(20)].astype(int)
    images = 0.5 + 0.1 * rng.standard_normal((40, 6, 6))
    images[3] = 0.5                                   # a flat image: sd 0
    sd = anomaly.contrast(images)
    assert sd[3] == anomaly.SD_FLOOR and np.all(sd > 0)
    np.testing.assert_array_equal(sd[4:], images[4:].std(axis=(1, 2)))
    score = np.exp(rng.standard_normal(40))
    for got, expected in zip(anomaly.with_contrast(score, images, y, score, images),
                             anomaly.combine_scores({"s": score, "sd": sd}, y, {"s": score, "sd": sd})):
        np.testing.assert_array_equal(got, expected)


def test_combine_scores_gives_one_line_errors_naming_the_argument():
    rng = np.random.default_rng(12)
    y = np.r_[np.zeros(20), np.ones(20)].astype(int)
    a = np.exp(rng.standard_normal(40))
    combine = anomaly.combine_scores
    one_line_error(lambda: combine({"a": a}, np.zeros(40, int), {"a": a}),
                   r"y_val has 40 normal and 0 abnormal images: expected each class at least folds=5")
    one_line_error(lambda: combine({"a": a[:6]}, y[17:23], {"a": a}, folds=5),
                   r"y_val has 3 normal and 3 abnormal .* folds=5")
    one_line_error(lambda: combine({"a": a}, y, {"a": a[:0]}), r"test_scores holds scores of 0 images")
    one_line_error(lambda: combine([a], y, {"a": a}), r"val_scores is a list: expected a dict")
    one_line_error(lambda: combine({"a": a}, y, [a]), r"test_scores is a list: expected a dict")
    one_line_error(lambda: combine({"a": a}, y, {}), r"test_scores is a dict: expected a dict .*at least one")
    # names of mixed types: the message is built without sorting ints among strings
    one_line_error(lambda: combine({"a": a, 1: a}, y, {"a": a, 2: a}),
                   r"must name the same scores, got \[\"'a'\", '1'\] and \[\"'a'\", '2'\]")
    one_line_error(lambda: combine({"s": {1: a, "x": a}}, y, {"s": {1: a}}), r"'s': .*same settings")
    one_line_error(lambda: combine({"a": a + 1j}, y, {"a": a}), r"val_scores\['a'\] has dtype complex")


def test_quantile_score_refuses_nan_empty_complex_and_text_maps_naming_maps():
    maps = np.zeros((2, 5, 5))
    one_line_error(lambda: anomaly.quantile_score(np.where(np.eye(5) > 0, np.nan, maps)), r"^maps holds nan")
    one_line_error(lambda: anomaly.quantile_score(np.zeros((0, 5, 5))),
                   r"^maps has shape \(0, 5, 5\): expected \(N, H, W\) with N, H, W >= 1")
    one_line_error(lambda: anomaly.quantile_score(maps + 1j), r"^maps has dtype complex")
    one_line_error(lambda: anomaly.quantile_score("abc"), r"^maps has dtype <U3")


def test_feature_nearest_neighbours_and_knn_distance_refuse_empty_inputs_and_non_bool_flags():
    rng = np.random.default_rng(13)
    model = anomaly.FeatureNearestNeighbours().fit(rng.normal(size=(10, 3)))
    one_line_error(lambda: model.score(np.zeros((0, 3))), r"^features has shape \(0, 3\): expected .*N >= 1")
    one_line_error(lambda: anomaly.FeatureNearestNeighbours().fit(np.zeros((10, 0))),
                   r"^normal_features has shape \(10, 0\)")
    one_line_error(lambda: metrics.knn_distance(np.ones((4, 2)), np.zeros((0, 2))),
                   r"^points has shape \(0, 2\): expected N >= 1 points")
    one_line_error(lambda: metrics.knn_distance(np.ones((4, 2)), np.ones((1, 2)), mean="no"),
                   r"^mean 'no': expected True or False")
    one_line_error(lambda: metrics.knn_distance(np.ones((4, 2)), np.ones((1, 2)), normalise=1),
                   r"^normalise 1: expected True or False")


def test_feature_nearest_neighbours_does_not_protect_a_nearly_dead_feature_as_documented():
    # only an exactly constant feature keeps scale 1; one value 1e-7 among zeros is divided by
    # its tiny sd, so an image where it is 1e-3 lands about 1e4 normal-sd units away by it alone
    rng = np.random.default_rng(14)
    normal = np.c_[rng.normal(size=(40, 3)), np.zeros(40)]
    normal[0, 3] = 1e-7
    model = anomaly.FeatureNearestNeighbours().fit(normal)
    assert model.scaler_.scale_[3] < 1e-7
    assert model.score(np.array([[0.0, 0.0, 0.0, 1e-3]]))[0] > 1e3
    assert "nearly" in anomaly.FeatureNearestNeighbours.__doc__


# ------------------------------------------------- scores that survive a shift of the normals (#30)
def test_best_shift_score_forgives_a_framing_offset_but_not_a_new_structure():
    normal = np.zeros((12, 12)); normal[4:8, 3:9] = 0.8                   # the one "normal" image
    rebuild = lambda im: np.broadcast_to(normal[..., None], im.shape)    # a model that knows only it
    moved = np.roll(normal, (1, -2), axis=(0, 1))                         # framed 1 and 2 px off
    spot = normal.copy(); spot[1:3, 1:3] = 1.0                           # a structure it never saw
    x = np.stack([normal, moved, spot])
    plain = anomaly.mse_score(x, rebuild(x[..., None]))
    best = anomaly.best_shift_score(x, rebuild, anomaly.mse_score, radius=2)
    assert plain[1] > 0.1 and best[0] < 1e-12 and best[1] < 1e-12         # the offset is forgiven
    assert best[2] > 0.01                                               # the spot is not
    assert np.all(best <= plain + 1e-12)                                 # offset 0 is among those tried
    np.testing.assert_allclose(anomaly.best_shift_score(x, rebuild, anomaly.mse_score, radius=0), plain, atol=1e-7)
    calls = []
    anomaly.best_shift_score(x, lambda im: calls.append(im.shape) or rebuild(im), radius=1)
    assert calls == [(3, 12, 12, 1)] * 9                                 # one rebuild per offset, default SSIM
    with pytest.raises(ValueError, match=r"radius=6: expected less than half of 12 x 12 images"):
        anomaly.best_shift_score(x, rebuild, radius=6)
    with pytest.raises(ValueError, match="rebuild is a int: expected a callable"):
        anomaly.best_shift_score(x, 3)


def test_sharpness_is_the_mean_absolute_laplacian_and_blur_lowers_it():
    rng = np.random.default_rng(5)
    x = rng.random((3, 10, 10))
    expected = [np.abs(__import__("scipy").ndimage.laplace(im)).mean() for im in x]
    np.testing.assert_allclose(anomaly.sharpness(x[..., None]), expected)
    assert np.all(anomaly.sharpness(gaussian_filter(x, (0, 1, 1))) < anomaly.sharpness(x))
    assert anomaly.sharpness(np.full((1, 5, 5), 0.3)).tolist() == [anomaly.SD_FLOOR]  # > 0 for a rule's log
    with pytest.raises(ValueError, match="images holds NaN"):
        anomaly.sharpness(np.full((1, 5, 5), np.nan))


def test_synthetic_opacities_brighten_one_lung_field_only_and_are_seeded():
    x = np.full((40, 28, 28), 0.2); x[:, :, 13:15] = 0.9                 # a bright "mediastinum"
    y = anomaly.synthetic_opacities(x, seed=1)
    assert y.shape == (40, 28, 28, 1) and y.dtype == np.float32 and np.all((y >= 0) & (y <= 1))
    np.testing.assert_array_equal(y, anomaly.synthetic_opacities(x, seed=1))
    assert not np.array_equal(y, anomaly.synthetic_opacities(x, seed=2))
    assert np.all(x[:, 0, 0] == 0.2)                                       # input unchanged
    change = y[..., 0] - x
    lungs = change[:, :, :13].sum(axis=(1, 2)), change[:, :, 15:].sum(axis=(1, 2))
    assert np.all(np.maximum(*lungs) > 0.5)                                # a visible opacity per image
    assert 5 < np.sum(lungs[0] > lungs[1]) < 35                            # both sides drawn
    peak_rows = change.max(axis=2).argmax(axis=1)
    assert np.all((peak_rows >= 6) & (peak_rows <= 21))                    # centred in the middle rows
    assert np.allclose(anomaly.synthetic_opacities(x, amplitude=(0, 0), radius=(0, 0))[..., 0], x, atol=1e-6)
    with pytest.raises(ValueError, match=r"amplitude=\(0.3, 0.1\): expected \(low, high\) with low <= high"):
        anomaly.synthetic_opacities(x, amplitude=(0.3, 0.1))
    with pytest.raises(ValueError, match=r"radius=0.2: expected \(low, high\), two numbers in \[0, 1\]"):
        anomaly.synthetic_opacities(x, radius=0.2)
    with pytest.raises(ValueError, match=r"amplitude\[1\]"):
        anomaly.synthetic_opacities(x, amplitude=(0.1, 1.5))


def test_opacity_classifier_learns_to_find_synthetic_opacities():
    rng = np.random.default_rng(6)
    u = np.linspace(0, 1, 28)
    normal = np.clip(0.25 + 0.5 * np.abs(u - 0.5)[None, None, :] + 0.03 * rng.standard_normal((200, 28, 28)), 0, 1)
    model = anomaly.OpacityClassifier(epochs=6, width=4, seed=0).fit(normal)
    fresh = normal[:50]
    odds_normal, odds_opacity = model.score(fresh), model.score(anomaly.synthetic_opacities(fresh, seed=9))
    assert odds_normal.shape == (50,) and np.all(odds_normal > 0) and model.seconds_ > 0
    y = np.r_[np.zeros(50), np.ones(50)].astype(int)
    assert metrics.auc(y, np.r_[odds_normal, odds_opacity]) > 0.8
    with pytest.raises(RuntimeError, match="call fit"):
        anomaly.OpacityClassifier().score(normal)
    with pytest.raises(ValueError, match="epochs"):
        anomaly.OpacityClassifier(epochs=0)


def test_shift_normals_moves_only_the_normal_images_by_whole_pixels():
    rng = np.random.default_rng(7)
    x = rng.random((30, 12, 12))
    y = np.r_[np.zeros(20), np.ones(10)].astype(int)
    moved = anomaly.shift_normals(x, y, radius=2, seed=3)
    assert moved.shape == (30, 12, 12, 1) and moved.dtype == np.float32
    np.testing.assert_array_equal(moved[20:, ..., 0], x[20:].astype(np.float32))   # abnormal: unchanged
    np.testing.assert_array_equal(moved, anomaly.shift_normals(x, y, radius=2, seed=3))
    offsets = []
    for original, out in zip(x[:20].astype(np.float32), moved[:20, ..., 0]):       # each a whole-pixel move
        found = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                 if np.array_equal(out[2:-2, 2:-2], np.roll(original, (dy, dx), axis=(0, 1))[2:-2, 2:-2])]
        assert len(found) == 1, found
        offsets.append(found[0])
    assert len(set(offsets)) > 5                                                   # offsets drawn per image
    np.testing.assert_array_equal(anomaly.shift_normals(x, y, radius=0)[..., 0], x.astype(np.float32))
    with pytest.raises(ValueError, match="labels: 3 labels for 30 images"):
        anomaly.shift_normals(x, [0, 1, 0])
    with pytest.raises(ValueError, match=r"radius=6: expected less than half of 12 x 12 images"):
        anomaly.shift_normals(x, y, radius=6)
