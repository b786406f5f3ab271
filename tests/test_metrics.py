"""medlab.metrics: clinical figures around scikit-learn's ROC, AUC and confusion matrix."""

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from medlab import metrics

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


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="both classes"):
        metrics.auc([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="only 0"):
        metrics.binary_metrics([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="labels but scores"):
        metrics.auc([0, 1], [0.1])
    with pytest.raises(ValueError, match="rule must be"):
        metrics.choose_threshold(Y, P, "f1")
    with pytest.raises(ValueError, match="needs a target"):
        metrics.choose_threshold(Y, P, "sensitivity")
    with pytest.raises(ValueError, match="finite"):
        metrics.auc([0, 1], [0.1, np.nan])


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


# ------------------------------------------- image quality and reconstruction (lesson 07)
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
