"""medlab.leakage: the controlled leakage experiment (its splits: tests/test_splits.py)."""

import numpy as np
import pytest

from medlab import leakage
from medlab.data.splits import split_by_image


def test_fit_and_score_learns_a_pixel_signal():
    rng = np.random.default_rng(0)
    images = rng.normal(size=(120, 6, 6))
    labels = (np.arange(120) % 2)
    images[labels == 1, 2, 2] += 3.0
    split = split_by_image(120, val_fraction=0, test_fraction=0.3, seed=0)
    assert leakage._fit_and_score(images, labels, split.train, split.test) > 0.9


def test_result_bias_spread_and_table():
    r = leakage.LeakageResult((0, 1, 2), np.array([0.9, 0.8, 0.85]), np.array([0.7, 0.7, 0.75]),
                              np.array([30, 31, 29]), dict(leakage.DEFAULTS))
    np.testing.assert_allclose(r.bias, [0.2, 0.1, 0.1])
    assert r.mean_bias == pytest.approx(0.4 / 3)
    # the largest standard deviation over seeds: here the bias's (0.058 > 0.05 > 0.029)
    assert r.spread == pytest.approx(np.std([0.2, 0.1, 0.1], ddof=1))
    lines = r.table().splitlines()
    assert len(lines) == 5 and lines[1].split() == ["0", "0.90", "0.70", "+0.20", "30"]


def test_small_experiment_shows_the_split_by_image_is_optimistic():
    r = leakage.leakage_experiment(seeds=(0, 1), n_patients=60, images_per_patient=5, size=20)
    assert r.auc_by_image.shape == r.auc_by_patient.shape == (2,)
    assert np.all(r.shared_by_image > 0)
    assert np.all(r.bias > 0)  # the by-image test set holds patients the model has seen
    with pytest.raises(ValueError, match="at least 2"):
        leakage.leakage_experiment(seeds=(0,))
