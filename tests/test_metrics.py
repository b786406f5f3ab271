"""medlab.metrics: clinical figures around scikit-learn's ROC, AUC and confusion matrix."""

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from medlab import metrics
from medlab.metrics import intervals

Y = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
P = np.array([0.1, 0.2, 0.35, 0.6, 0.3, 0.55, 0.7, 0.8, 0.9, 0.95])


def test_auc_is_sklearns_and_the_ranking_probability():
    assert metrics.auc(Y, P) == pytest.approx(roc_auc_score(Y, P))
    # fraction of (positive, negative) pairs ranked correctly
    pairs = [(p, n) for p in P[Y == 1] for n in P[Y == 0]]
    assert metrics.auc(Y, P) == pytest.approx(np.mean([p > n for p, n in pairs]))
    assert metrics.auc([0, 1], [0.2, 0.8]) == 1.0
    fpr, tpr, thresholds = metrics.roc(Y, P)
    assert fpr[0] == tpr[0] == 0 and fpr[-1] == tpr[-1] == 1 and np.isinf(thresholds[0])


def test_confusion_and_rates_by_hand():
    m = metrics.binary_metrics(Y, P, threshold=0.5)
    # positives >= 0.5: 0.6 (neg) and 0.55, 0.7, 0.8, 0.9, 0.95 (pos)
    assert (m.tp, m.fp, m.tn, m.fn) == (5, 1, 3, 1)
    np.testing.assert_array_equal(metrics.confusion(Y, P, 0.5), [[3, 1], [1, 5]])
    assert m.sensitivity == pytest.approx(5 / 6) and m.specificity == pytest.approx(3 / 4)
    assert m.accuracy == pytest.approx(0.8) and m.ppv == pytest.approx(5 / 6)
    assert m.npv == pytest.approx(3 / 4) and m.prevalence == pytest.approx(0.6) and m.n == 10
    assert m.text() == ("threshold 0.50: sensitivity 0.83, specificity 0.75, accuracy 0.80, "
                        "PPV 0.83, NPV 0.75")
    assert m.as_dict()["tp"] == 5
    # a score equal to the threshold is a positive call (as in roc_curve)
    assert metrics.binary_metrics([0, 1], [0.5, 0.5], 0.5).fp == 1


def test_undefined_rates_are_nan():
    m = metrics.binary_metrics([0, 0], [0.1, 0.2], 0.5)
    assert math.isnan(m.sensitivity) and math.isnan(m.ppv) and m.specificity == 1.0


def test_youden_threshold_maximises_j_on_validation():
    t = metrics.choose_threshold(Y, P, "youden")
    assert t in P
    best_j = max(metrics.binary_metrics(Y, P, s).sensitivity + metrics.binary_metrics(Y, P, s).specificity
                 for s in P)
    m = metrics.binary_metrics(Y, P, t)
    assert m.sensitivity + m.specificity == pytest.approx(best_j)
    # perfectly separated: the threshold is the lowest positive score
    assert metrics.choose_threshold([0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9]) == 0.7


def test_threshold_for_a_target_sensitivity_and_specificity():
    t = metrics.choose_threshold(Y, P, "sensitivity", target=1.0)
    assert t == 0.3  # the lowest positive score: every sick patient found
    t = metrics.choose_threshold(Y, P, "sensitivity", target=0.8)
    m = metrics.binary_metrics(Y, P, t)
    assert m.sensitivity >= 0.8 and t == 0.55  # highest threshold reaching 80 %
    t = metrics.choose_threshold(Y, P, "specificity", target=1.0)
    assert metrics.binary_metrics(Y, P, t).specificity == 1.0 and t == 0.7


def test_accuracy_threshold_maximises_accuracy_on_validation():
    t = metrics.choose_threshold(Y, P, "accuracy")
    accuracy = lambda s: np.mean((P >= s) == Y)  # noqa: E731
    assert t in P and accuracy(t) == max(accuracy(s) for s in P)
    assert t == 0.7  # ties (0.3, 0.55 and 0.7 each call 8 of 10 right) go to the highest threshold
    with pytest.raises(ValueError, match="takes no target"):
        metrics.choose_threshold(Y, P, "accuracy", target=0.5)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="both classes"):
        metrics.auc([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="only 0"):
        metrics.binary_metrics([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="labels but scores"):
        metrics.auc([0, 1], [0.1])
    with pytest.raises(ValueError, match="rule 'f1': expected one of youden"):
        metrics.choose_threshold(Y, P, "f1")
    with pytest.raises(ValueError, match="needs a target"):
        metrics.choose_threshold(Y, P, "sensitivity")
    with pytest.raises(ValueError, match="finite"):
        metrics.auc([0, 1], [0.1, np.nan])


@pytest.mark.parametrize("call", [
    lambda t: metrics.binary_metrics(Y, P, threshold=t),
    lambda t: metrics.confusion(Y, P, t),
    lambda t: metrics.clinical_intervals(Y, P, t, n_boot=20),
])
@pytest.mark.parametrize("threshold, shown", [
    (np.nan, "nan"), (np.inf, "inf"), (-0.1, "-0.1"), (1.5, "1.5"), ("0.5", "'0.5'"), (None, "None"),
])
def test_every_metric_with_a_threshold_refuses_one_outside_0_1(call, threshold, shown):
    with pytest.raises(ValueError) as info:
        call(threshold)
    assert str(info.value) == f"threshold {shown}: expected a number in [0.0, 1.0]"


@pytest.mark.parametrize("target", [np.nan, "0.8", 0.0, 1.2])
def test_choose_threshold_refuses_a_target_outside_0_1(target):
    with pytest.raises(ValueError) as info:
        metrics.choose_threshold(Y, P, "sensitivity", target=target)
    assert str(info.value) == f"target {target!r}: expected a number in (0.0, 1.0]"


def test_thresholds_0_and_1_are_allowed():
    assert metrics.binary_metrics(Y, P, 0.0).sensitivity == 1.0
    assert metrics.binary_metrics(Y, P, 1.0).specificity == 1.0


def test_prevalence_changes_accuracy_ppv_npv_by_bayes():
    at = metrics.at_prevalence(0.9, 0.8, 0.5)
    assert at["accuracy"] == pytest.approx(0.85)
    assert at["ppv"] == pytest.approx(0.45 / (0.45 + 0.1))
    assert at["npv"] == pytest.approx(0.4 / (0.4 + 0.05))
    rare = metrics.at_prevalence(0.9, 0.8, 0.01)
    assert rare["ppv"] < 0.05 and rare["npv"] > 0.99 and rare["accuracy"] == pytest.approx(0.801)
    curve = metrics.at_prevalence(0.9, 0.8, np.linspace(0, 1, 5))
    assert curve["accuracy"].shape == (5,) and curve["ppv"][0] == 0.0 and curve["npv"][-1] == 0.0
    assert math.isnan(metrics.at_prevalence(0.9, 1.0, 0.0)["ppv"])  # no positive calls at all
    # agrees with the counts of a real confusion matrix at that data's prevalence
    m = metrics.binary_metrics(Y, P, 0.5)
    at = metrics.at_prevalence(m.sensitivity, m.specificity, m.prevalence)
    assert at["accuracy"] == pytest.approx(m.accuracy) and at["ppv"] == pytest.approx(m.ppv)
    with pytest.raises(ValueError, match="prevalence"):
        metrics.at_prevalence(0.9, 0.8, 1.5)


# ------------------------------------------- image quality and reconstruction (lessons 10 and 11)
def _pairs(n=4, size=24, seed=0):
    rng = np.random.default_rng(seed)
    clean = rng.random((n, size, size)).astype(np.float32)
    noisy = np.clip(clean + 0.1 * rng.standard_normal(clean.shape), 0, 1).astype(np.float32)
    return clean, noisy


def test_psnr_is_skimages_image_by_image_and_averaged():
    from skimage.metrics import peak_signal_noise_ratio

    clean, noisy = _pairs()
    expected = [peak_signal_noise_ratio(a, b, data_range=1.0) for a, b in zip(clean, noisy)]
    np.testing.assert_allclose(metrics.psnr_per_image(clean, noisy), expected, rtol=1e-6)
    assert metrics.psnr(clean, noisy) == pytest.approx(np.mean(expected), rel=1e-6)
    assert metrics.psnr(clean[0], noisy[0]) == pytest.approx(expected[0], rel=1e-6)  # one image
    assert metrics.psnr(clean[..., None], noisy[..., None]) == pytest.approx(np.mean(expected), rel=1e-6)
    assert metrics.psnr(255 * clean, 255 * noisy, data_range=255) == pytest.approx(np.mean(expected))
    # by the formula: MSE 0.01 is 20 dB, and halving the MSE adds 10 log10(2) = 3.01 dB
    x = np.zeros((1, 10, 10))
    assert metrics.psnr(x, x + 0.1) == pytest.approx(20.0)
    assert metrics.psnr(x, x + 0.1 / np.sqrt(2)) == pytest.approx(20.0 + 10 * np.log10(2))
    assert metrics.psnr(x, x) == math.inf


def test_ssim_is_skimages_image_by_image_and_averaged():
    from skimage.metrics import structural_similarity

    clean, noisy = _pairs()
    expected = [structural_similarity(a, b, data_range=1.0) for a, b in zip(clean, noisy)]
    np.testing.assert_allclose(metrics.ssim_per_image(clean, noisy), expected, rtol=1e-6)
    assert metrics.ssim(clean, noisy) == pytest.approx(np.mean(expected), rel=1e-6)
    assert metrics.ssim(clean[..., None], noisy[..., None]) == pytest.approx(np.mean(expected), rel=1e-6)
    assert metrics.ssim(clean, clean) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least 7 x 7"):
        metrics.ssim(np.zeros((2, 5, 5)), np.zeros((2, 5, 5)))


def test_ssim_maps_are_skimages_full_maps_checked_like_ssim_per_image():
    from skimage.metrics import structural_similarity

    clean, noisy = _pairs()
    expected = np.stack([structural_similarity(a, b, data_range=1.0, full=True)[1] for a, b in zip(clean, noisy)])
    np.testing.assert_allclose(metrics.ssim_maps(clean, noisy), expected, rtol=1e-6)
    np.testing.assert_allclose(metrics.ssim_maps(clean[..., None], noisy[..., None]), expected, rtol=1e-6)
    np.testing.assert_allclose(metrics.ssim_maps(clean[0], noisy[0]), expected[:1], rtol=1e-6)  # one image (H, W)
    # the per-image SSIM is the map's mean without the 3-pixel border of the 7 x 7 window
    np.testing.assert_allclose(expected[:, 3:-3, 3:-3].mean(axis=(1, 2)), metrics.ssim_per_image(clean, noisy),
                               rtol=1e-6)
    colour = np.stack([clean, noisy[::-1]], axis=-1)
    assert metrics.ssim_maps(colour, colour).shape == colour.shape  # one map per channel
    with pytest.raises(ValueError, match="at least 7 x 7"):
        metrics.ssim_maps(np.zeros((2, 5, 5)), np.zeros((2, 5, 5)))
    with pytest.raises(ValueError, match="reference has shape"):
        metrics.ssim_maps(clean, noisy[:1])


@pytest.mark.parametrize("quality", [metrics.psnr, metrics.psnr_per_image, metrics.ssim, metrics.ssim_per_image,
                                     metrics.ssim_maps])
@pytest.mark.parametrize("data_range", [0, -1.0, np.nan, np.inf, "255", True])
def test_image_quality_refuses_a_data_range_that_is_not_a_positive_number(quality, data_range):
    clean, noisy = _pairs(n=2, size=8)
    with pytest.raises(ValueError) as info:
        quality(clean, noisy, data_range=data_range)
    assert str(info.value) == f"data_range {data_range!r}: expected a number > 0"


def test_psnr_of_an_extreme_but_valid_data_range_is_finite_by_the_formula():
    """10 log10(data_range**2 / MSE): data_range**2 overflowed at 1e308 (OverflowError) and
    underflowed to 0 at 1e-200 (-inf dB)."""
    x = np.zeros((1, 10, 10))
    assert metrics.psnr(x, x + 0.1, data_range=1e308) == pytest.approx(20.0 + 20 * 308)
    assert metrics.psnr(x, x + 0.1, data_range=1e-200) == pytest.approx(20.0 - 20 * 200)
    assert metrics.psnr(x, x, data_range=1e-200) == math.inf


@pytest.mark.parametrize("measure", [metrics.psnr, metrics.ssim, metrics.reconstruction_error])
def test_image_quality_refuses_complex_images_instead_of_dropping_their_imaginary_part(measure):
    clean, noisy = _pairs(n=2, size=8)
    with pytest.raises(ValueError, match=r"^estimate has dtype complex64: expected real numbers"):
        measure(clean, noisy + 1j)


def test_reconstruction_error_is_the_mse_of_each_image():
    clean, noisy = _pairs()
    np.testing.assert_allclose(metrics.reconstruction_error(clean, noisy),
                               ((clean - noisy) ** 2).reshape(4, -1).mean(axis=1), rtol=1e-6)
    assert metrics.reconstruction_error(clean[..., None], noisy[..., None]).shape == (4,)
    with pytest.raises(ValueError, match="shape"):
        metrics.reconstruction_error(clean, noisy[:2])
    with pytest.raises(ValueError, match="finite"):
        metrics.psnr(clean, np.full_like(clean, np.nan))
    with pytest.raises(ValueError, match="images"):
        metrics.psnr(np.zeros(5), np.zeros(5))


# ------------------------------------------- uncertainty, calibration, imbalance (lesson 08)
def _scored(n_neg=60, n_pos=140, seed=0, shift=1.5):
    rng = np.random.default_rng(seed)
    y = np.r_[np.zeros(n_neg, int), np.ones(n_pos, int)]
    p = 1 / (1 + np.exp(-(rng.normal(size=y.size) + shift * (2 * y - 1))))
    return y, p


def test_stratified_bootstrap_keeps_each_class_count():
    y = np.array([0, 1, 1, 0, 1, 1, 1])
    index = metrics.stratified_bootstrap_indices(y, n_boot=50, seed=3)
    assert index.shape == (50, 7)
    assert np.all(y[index].sum(axis=1) == 5)  # 5 positives in every resample
    assert set(np.unique(index[:, :2])) <= {0, 3}  # the first columns resample the negatives
    np.testing.assert_array_equal(index, metrics.stratified_bootstrap_indices(y, 50, seed=3))
    with pytest.raises(ValueError, match="both classes"):
        metrics.stratified_bootstrap_indices([1, 1, 1])
    with pytest.raises(ValueError, match="n_boot"):
        metrics.stratified_bootstrap_indices(y, n_boot=0)


def test_class_bootstrap_keeps_every_class_count_and_matches_the_binary_one():
    y = np.array([2, 0, 1, 2, 2, 0, 1, 1, 1])
    index = metrics.class_bootstrap_indices(y, n_boot=40, seed=1)
    assert index.shape == (40, 9)
    assert all(np.bincount(y[i], minlength=3).tolist() == [2, 4, 3] for i in index)
    binary = np.array([0, 1, 1, 0, 1, 1, 1])
    np.testing.assert_array_equal(metrics.class_bootstrap_indices(binary, 30, seed=3),
                                  metrics.stratified_bootstrap_indices(binary, 30, seed=3))
    with pytest.raises(ValueError, match="two classes"):
        metrics.class_bootstrap_indices([2, 2, 2])
    with pytest.raises(ValueError, match="class numbers"):
        metrics.class_bootstrap_indices([0, 1.5])
    with pytest.raises(ValueError, match="labels holds -1"):
        metrics.class_bootstrap_indices([0, -1])


def test_bootstrap_ci_brackets_the_estimate_and_shrinks_with_more_data():
    y, p = _scored()
    small = metrics.bootstrap_ci(y, p, metrics.auc, n_boot=400, seed=0)
    assert small.estimate == pytest.approx(metrics.auc(y, p))
    assert small.low < small.estimate < small.high and small.level == 0.95
    y4, p4 = _scored(240, 560, seed=1)
    large = metrics.bootstrap_ci(y4, p4, metrics.auc, n_boot=400, seed=0)
    assert large.width < 0.7 * small.width  # 4x the data: about half the width
    assert small.text() == (f"{small.estimate:.2f} (95 % CI {small.low:.2f}-{small.high:.2f})")


def test_clinical_intervals_match_bootstrap_ci_on_the_same_resamples():
    y, p = _scored()
    out = metrics.clinical_intervals(y, p, threshold=0.5, n_boot=300, seed=2)
    assert set(out) == {"auc", "sensitivity", "specificity"}
    sens = lambda a, b: metrics.binary_metrics(a, b, 0.5).sensitivity  # noqa: E731
    one = metrics.bootstrap_ci(y, p, sens, n_boot=300, seed=2)
    assert (out["sensitivity"].low, out["sensitivity"].high) == pytest.approx((one.low, one.high))
    auc_one = metrics.bootstrap_ci(y, p, metrics.auc, n_boot=300, seed=2)
    assert (out["auc"].low, out["auc"].high) == pytest.approx((auc_one.low, auc_one.high))
    m = metrics.binary_metrics(y, p, 0.5)
    assert out["specificity"].estimate == m.specificity
    # a normal-approximation check: the 95 % interval of a proportion is about +-1.96 SE
    se = np.sqrt(m.sensitivity * (1 - m.sensitivity) / 140)
    assert out["sensitivity"].width == pytest.approx(2 * 1.96 * se, rel=0.25)


def test_brier_score_by_hand_and_sklearn():
    from sklearn.metrics import brier_score_loss

    assert metrics.brier_score([0, 1, 1], [0.1, 0.8, 0.4]) == pytest.approx((0.01 + 0.04 + 0.36) / 3)
    y, p = _scored()
    assert metrics.brier_score(y, p) == pytest.approx(brier_score_loss(y, p))
    assert metrics.brier_score(y, np.full(y.size, y.mean())) == pytest.approx(y.mean() * (1 - y.mean()))


def test_calibration_bins_and_ece_by_hand():
    y = np.array([0, 0, 1, 1, 1, 0])
    p = np.array([0.05, 0.15, 0.35, 0.95, 1.0, 0.9])
    table = metrics.calibration_bins(y, p, n_bins=2)
    np.testing.assert_array_equal(table["count"], [3, 3])
    np.testing.assert_allclose(table["confidence"], [0.55 / 3, 2.85 / 3])
    np.testing.assert_allclose(table["frequency"], [1 / 3, 2 / 3])
    ece = metrics.expected_calibration_error(y, p, n_bins=2)
    assert ece == pytest.approx(0.5 * abs(1 / 3 - 0.55 / 3) + 0.5 * abs(2 / 3 - 0.95))
    table = metrics.calibration_bins(y, p, n_bins=10)
    assert table["count"].sum() == 6 and np.isnan(table["confidence"][5])  # empty bin
    # outcomes drawn with exactly the stated probability: calibrated, ECE near 0
    rng = np.random.default_rng(0)
    q = rng.uniform(size=20000)
    assert metrics.expected_calibration_error(rng.uniform(size=q.size) < q, q) < 0.02
    with pytest.raises(ValueError, match=r"scores holds 1.5: expected finite values in \[0, 1\]"):
        metrics.calibration_bins([0, 1], [0.5, 1.5])


def test_temperature_scaling_recovers_a_known_temperature_and_keeps_the_ranking():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 2, 5000)
    y = (rng.uniform(size=z.size) < 1 / (1 + np.exp(-z))).astype(int)  # calibrated logits z
    overconfident = 1 / (1 + np.exp(-3 * z))  # T = 1/3 applied: too sure
    t = metrics.fit_temperature(y, overconfident)
    assert t == pytest.approx(3.0, rel=0.1)
    fixed = metrics.apply_temperature(overconfident, t)
    assert metrics.binary_cross_entropy(y, fixed) < metrics.binary_cross_entropy(y, overconfident)
    assert metrics.expected_calibration_error(y, fixed) < metrics.expected_calibration_error(y, overconfident)
    assert metrics.auc(y, fixed) == pytest.approx(metrics.auc(y, overconfident))
    np.testing.assert_allclose(metrics.apply_temperature([0.2, 0.7], 1.0), [0.2, 0.7])
    with pytest.raises(ValueError, match="temperature"):
        metrics.apply_temperature([0.5], 0)


@pytest.mark.parametrize("scores, message", [
    ([0.2, 3.0], "scores holds 3.0: expected finite values in [0, 1]"),
    ([-0.1, 0.5], "scores holds -0.1: expected finite values in [0, 1]"),
])
def test_binary_cross_entropy_refuses_scores_that_are_not_probabilities(scores, message):
    with pytest.raises(ValueError) as info:
        metrics.binary_cross_entropy([0, 1], scores)
    assert str(info.value) == message


@pytest.mark.parametrize("labels, scores, message", [
    ([0, 1, 2], [0.1, 0.5, 0.9], "y_true holds 2.0: expected finite values in [0, 1]"),
    ([0, 1, np.nan], [0.1, 0.5, 0.9], "y_true holds nan: expected finite values in [0, 1]"),
    ([0, 1, 1], [0.1, 0.5], "y_true has 3 labels but scores has 2 values"),
    ([], [], "y_true and scores are empty"),
])
@pytest.mark.parametrize("from_logits", [False, True])
def test_binary_cross_entropy_refuses_bad_labels(labels, scores, message, from_logits):
    if from_logits:
        message = message.replace("but scores", "but logits")
    with pytest.raises(ValueError) as info:
        metrics.binary_cross_entropy(labels, scores, from_logits=from_logits)
    assert str(info.value) == message


def test_binary_cross_entropy_by_hand_from_probabilities_and_logits():
    assert metrics.binary_cross_entropy([1, 0], [0.5, 0.5]) == pytest.approx(np.log(2))
    assert metrics.binary_cross_entropy([1], [1.0]) == pytest.approx(0.0, abs=1e-6)
    assert metrics.binary_cross_entropy([1], [0.0]) == pytest.approx(-np.log(1e-7))  # clipped: finite
    # soft and bool labels; from logits without overflow, in float32 as medlab.ops
    z = np.array([0.0, 2.0])
    assert metrics.binary_cross_entropy([0.5, 1.0], z, from_logits=True) == pytest.approx(
        np.mean([np.log(2), np.log1p(np.exp(-2.0))]), rel=1e-6)
    assert metrics.binary_cross_entropy(np.array([False, True]), z, from_logits=True) == pytest.approx(
        metrics.binary_cross_entropy([0.0, 1.0], z, from_logits=True))
    assert metrics.binary_cross_entropy([1.0], [1000.0], from_logits=True) == 0.0
    # the same loss both ways, and sklearn's log_loss on 0/1 labels
    from sklearn.metrics import log_loss

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    logits = rng.normal(0, 2, 200)
    p = 1 / (1 + np.exp(-logits))
    assert metrics.binary_cross_entropy(y, p) == pytest.approx(log_loss(y, p), rel=1e-12)
    assert metrics.binary_cross_entropy(y, logits, from_logits=True) == pytest.approx(log_loss(y, p), rel=1e-5)


def test_precision_recall_and_average_precision_are_sklearns():
    from sklearn.metrics import average_precision_score, precision_recall_curve

    y, p = _scored()
    precision, recall, _ = metrics.precision_recall(y, p)
    want_p, want_r, _ = precision_recall_curve(y, p)
    np.testing.assert_allclose(precision, want_p)
    np.testing.assert_allclose(recall, want_r)
    assert metrics.average_precision(y, p) == pytest.approx(average_precision_score(y, p))
    # a random ranking's AP is about the prevalence (here 0.7), its AUC about 0.5
    rng = np.random.default_rng(1)
    y = (rng.uniform(size=20000) < 0.7).astype(int)
    assert metrics.average_precision(y, rng.uniform(size=y.size)) == pytest.approx(0.7, abs=0.02)


def test_multiclass_auc_is_the_one_vs_rest_mean():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 300)
    probs = rng.dirichlet(np.ones(4), 300) + 0.5 * np.eye(4)[y]
    want = np.mean([roc_auc_score(y == k, probs[:, k]) for k in range(4)])
    assert metrics.multiclass_auc(y, probs) == pytest.approx(want)
    y2 = rng.integers(0, 2, 100)
    p2 = rng.uniform(size=100)
    assert metrics.multiclass_auc(y2, np.c_[1 - p2, p2]) == pytest.approx(metrics.auc(y2, p2))
    assert metrics.multiclass_auc(y2, p2) == pytest.approx(metrics.auc(y2, p2))
    with pytest.raises(ValueError, match=r"labels holds 5.0: expected finite values in \[0, 2\]"):
        metrics.multiclass_auc([0, 5], np.full((2, 3), 1 / 3))


def test_bootstrap_aucs_all_at_once_equal_sklearn_resample_by_resample():
    y, p = _scored(30, 50, seed=4)
    p = np.round(p, 1)  # many ties
    index = metrics.stratified_bootstrap_indices(y, n_boot=40, seed=5)
    fast = intervals._bootstrap_aucs(y, p, index)
    slow = [roc_auc_score(y[i], p[i]) for i in index]
    np.testing.assert_allclose(fast, slow, atol=1e-12)


def test_auc_interval_is_bootstrap_ci_of_the_auc_computed_at_once():
    y, p = _scored(40, 70, seed=6)
    p = np.round(p, 1)  # ties too
    fast = metrics.auc_interval(y, p, n_boot=200, level=0.9, seed=3)
    slow = metrics.bootstrap_ci(y, p, metrics.auc, n_boot=200, level=0.9, seed=3)
    assert fast.estimate == pytest.approx(slow.estimate)
    assert (fast.low, fast.high) == pytest.approx((slow.low, slow.high), abs=1e-12)
    assert fast.low <= fast.estimate <= fast.high and fast.n_boot == 200 and fast.level == 0.9
    with pytest.raises(ValueError, match=r"level [^:]*: expected a number in \(0, 1\)"):
        metrics.auc_interval(y, p, level=1.5)


def test_auc_difference_interval_pairs_the_resamples():
    y, p = _scored(40, 70, seed=7, shift=0.8)
    q = p + np.random.default_rng(8).normal(0, 0.15, p.size)  # a noisier copy: a lower AUC
    d = metrics.auc_difference_interval(y, p, q, n_boot=300, level=0.9, seed=2)
    index = metrics.stratified_bootstrap_indices(y, 300, seed=2)
    slow = [roc_auc_score(y[i], p[i]) - roc_auc_score(y[i], q[i]) for i in index]
    assert d.estimate == pytest.approx(metrics.auc(y, p) - metrics.auc(y, q))
    assert (d.low, d.high) == pytest.approx(tuple(np.percentile(slow, [5, 95])), abs=1e-12)
    assert d.level == 0.9 and d.n_boot == 300
    # paired: narrower than if the two AUCs were independent (they err on the same images)
    a, b = (metrics.auc_interval(y, s, n_boot=300, level=0.9, seed=2) for s in (p, q))
    assert d.width < 0.7 * np.hypot(a.width, b.width)
    same = metrics.auc_difference_interval(y, p, p, n_boot=50)
    assert (same.estimate, same.low, same.high) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="scores has 3 values"):
        metrics.auc_difference_interval(y, p, q[:3])
    with pytest.raises(ValueError, match=r"level [^:]*: expected a number in \(0, 1\)"):
        metrics.auc_difference_interval(y, p, q, level=0)


def test_paired_difference_interval_is_auc_difference_interval_for_the_auc_and_pairs_any_statistic():
    y, p = _scored(40, 70, seed=7, shift=0.8)
    q = p + np.random.default_rng(8).normal(0, 0.15, p.size)
    general = metrics.paired_difference_interval(y, p, q, metrics.auc, n_boot=200, level=0.9, seed=3)
    fast = metrics.auc_difference_interval(y, p, q, n_boot=200, level=0.9, seed=3)
    assert (general.estimate, general.low, general.high) == pytest.approx(
        (fast.estimate, fast.low, fast.high), abs=1e-12)
    # the ECE of calibrated scores (y drawn with probability p) against the same pushed towards 1
    rng = np.random.default_rng(1)
    good = rng.uniform(0.05, 0.7, 400)
    y = (rng.random(good.size) < good).astype(int)
    bad = good + 0.25
    ece = metrics.expected_calibration_error
    d = metrics.paired_difference_interval(y, bad, good, ece, n_boot=100, seed=4)
    slow = [ece(y[i], bad[i]) - ece(y[i], good[i]) for i in metrics.stratified_bootstrap_indices(y, 100, seed=4)]
    assert d.estimate == pytest.approx(ece(y, bad) - ece(y, good))
    assert (d.low, d.high) == pytest.approx(tuple(np.percentile(slow, [2.5, 97.5])), abs=1e-12)
    assert d.low > 0.1 and d.n_boot == 100 and d.level == 0.95
    with pytest.raises(ValueError, match="statistic: expected a function"):
        metrics.paired_difference_interval(y, bad, good, "ece")
    with pytest.raises(ValueError, match="scores has 3 values"):
        metrics.paired_difference_interval(y, bad, good[:3], ece)


def test_import_is_light_and_keras_free():
    import subprocess
    import sys

    code = ("import sys, medlab.metrics, medlab.evidence; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'sklearn', 'scipy', 'skimage') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# Platt (logistic) recalibration (lesson 08)
def test_platt_fit_recovers_slope_and_intercept_and_temperature_is_its_special_case():
    rng = np.random.default_rng(1)
    z = rng.normal(size=40000)
    y = (rng.random(z.size) < 1 / (1 + np.exp(-(0.5 * z + 0.8)))).astype(int)
    p = 1 / (1 + np.exp(-z))
    a, b = metrics.platt_fit(y, p)
    assert abs(a - 0.5) < 0.05 and abs(b - 0.8) < 0.05
    # a one-sided offset: temperature cannot repair it, Platt can
    q = metrics.platt_apply(p, a, b)
    t = metrics.apply_temperature(p, metrics.fit_temperature(y, p))
    assert metrics.expected_calibration_error(y, q) < metrics.expected_calibration_error(y, t) / 3
    assert metrics.auc(y, q) == pytest.approx(metrics.auc(y, p))


def test_platt_apply_identity_and_argument_checks():
    p = np.array([0.1, 0.5, 0.9])
    assert np.allclose(metrics.platt_apply(p, 1.0, 0.0), p)
    with pytest.raises(ValueError, match="slope"):
        metrics.platt_apply(p, 0.0, 0.0)
    with pytest.raises(ValueError, match="both classes|class"):
        metrics.platt_fit([1, 1, 1], p)


def test_platt_fit_converges_on_nearly_saturated_scores():
    # probabilities squashed towards 0 (an under-confident network on a ranked split):
    # plain Newton steps from (1, 0) overshoot; the damped fit reaches the likelihood's maximum
    rng = np.random.default_rng(2)
    y = np.repeat([0, 1], [135, 389])
    z = np.where(y == 1, rng.normal(-3.0, 2.0, y.size), rng.normal(-9.0, 2.0, y.size))
    p = 1 / (1 + np.exp(-z))
    a, b = metrics.platt_fit(y, p)
    assert 0 < a < 10 and abs(b) < 50
    from sklearn.linear_model import LogisticRegression
    ref = LogisticRegression(C=1e10, max_iter=10000).fit(metrics.logit(p)[:, None], y)
    assert a == pytest.approx(ref.coef_[0, 0], rel=1e-3) and b == pytest.approx(ref.intercept_[0], rel=1e-3, abs=1e-3)
# segmentation measurement

def test_bland_altman_regression_follows_a_spread_that_grows_with_the_mean():
    rng = np.random.default_rng(0)
    reference = rng.uniform(50, 350, 4000)
    estimate = reference + 2.0 + rng.normal(0, 0.05 * reference)  # sd 5 % of the size, bias +2
    r = metrics.bland_altman_regression(reference, estimate)
    # the spread's regression recovers sd(M) = 0.05 M: |residual| has mean sd sqrt(2 / pi)
    assert r["spread_coef"][0] * np.sqrt(np.pi / 2) == pytest.approx(0.05, rel=0.08)
    assert np.polyval(r["bias_coef"], 200.0) == pytest.approx(2.0, abs=1.0)
    half = (r["upper"] - r["lower"]) / 2
    assert half[-1] / half[0] == pytest.approx(r["grid"][-1] / r["grid"][0], rel=0.15)
    assert 0.93 < r["inside"] < 0.97
    # constant limits: too wide for small heads, too narrow for large ones
    ba = metrics.bland_altman(reference, estimate)
    assert half[0] < (ba["upper"] - ba["lower"]) / 2 < half[-1]
    assert r["grid"].shape == r["bias"].shape == (200,)
    assert r["grid"][0] == pytest.approx(r["mean"].min()) and r["grid"][-1] == pytest.approx(r["mean"].max())


def test_bland_altman_regression_degree_two_and_argument_checks():
    m = np.linspace(50, 350, 2000)
    wiggle = np.where(np.arange(m.size) % 2 == 0, 1.0, -1.0)
    reference = m - 0.5 * (1e-3 * (m - 200) ** 2 + 1) * wiggle
    estimate = m + 0.5 * (1e-3 * (m - 200) ** 2 + 1) * wiggle  # |D| = 1e-3 (M - 200)^2 + 1
    r = metrics.bland_altman_regression(reference, estimate, degree=2)
    assert r["spread_coef"] == pytest.approx([1e-3, -0.4, 41.0], rel=1e-4, abs=1e-3)
    assert np.abs(np.polyval(r["bias_coef"], m)).max() < 0.05
    assert np.all(r["upper"] >= r["lower"])
    with pytest.raises(ValueError, match="degree"):
        metrics.bland_altman_regression(reference, estimate, degree=3)
    with pytest.raises(ValueError, match="same length >= 4"):
        metrics.bland_altman_regression([1, 2, 3], [1, 2, 3])
    with pytest.raises(ValueError, match="finite"):
        metrics.bland_altman_regression([1, 2, 3, np.nan], [1, 2, 3, 4])
    with pytest.raises(ValueError, match="every mean is the same"):
        metrics.bland_altman_regression([5, 5, 5, 5], [5, 5, 5, 5])


def test_platt_refuses_what_it_cannot_recalibrate():
    y = np.array([0, 1, 0, 1, 0, 1, 1, 0])
    p = np.array([.2, .7, .3, .8, .4, .6, .9, .1])
    with pytest.raises(ValueError, match=r"p_val holds 3.0: expected finite values in \[0, 1\]"):
        metrics.platt_fit([0, 1, 0, 1], [.2, 3.0, .1, .9])
    with pytest.raises(ValueError, match="ranks the classes the wrong way round"):
        metrics.platt_fit(1 - y, p)
    with pytest.raises(ValueError, match="scores holds nan"):
        metrics.platt_apply([.2, np.nan], 1.0, 0.0)
    with pytest.raises(ValueError, match=r"scores holds 5.0: expected finite values in \[0, 1\]"):
        metrics.platt_apply([5.0], 1.0, 0.0)


def test_paired_difference_interval_refuses_a_statistic_undefined_on_some_resamples():
    y, p = _scored(40, 70, seed=7, shift=0.8)
    flaky = iter(range(10_000))
    with pytest.raises(ValueError, match="resamples gave no finite value"):
        metrics.paired_difference_interval(y, p, p, lambda y, s: np.nan if next(flaky) % 7 == 3 else 0.0, n_boot=50)


def test_accuracy_threshold_is_the_highest_of_the_most_accurate_by_brute_force():
    rng = np.random.default_rng(3)
    for _ in range(300):
        n = int(rng.integers(20, 121))
        y = rng.integers(0, 2, n)
        y[:2] = (0, 1)
        p = np.round(rng.random(n), 3)
        correct = {t: int(np.sum((p >= t) == (y == 1))) for t in np.unique(p)}
        best = max(correct.values())
        assert metrics.choose_threshold(y, p, "accuracy") == max(t for t, c in correct.items() if c == best)
