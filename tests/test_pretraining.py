"""Pretraining with scarce labels: subsets, encoder copies, fixed-step fine-tuning, the tidy table."""

import numpy as np
import pytest

from medlab import evidence, pretraining
from medlab._tensorflow import seed_everything
from medlab.data import ClassificationData
from medlab.models import conv_autoencoder


def seeded_encoder(seed=1):
    """The encoder of a small autoencoder, its weights drawn from ``seed``: not from whatever
    state the tests that ran before in this process (another xdist worker, another order)
    left the random generators in."""
    seed_everything(seed)
    return conv_autoencoder((8, 8, 1), latent_dim=4, filters=(2, 4))[1]


def test_label_subset_is_stratified_with_at_least_two_per_class():
    y = np.r_[np.zeros(100), np.ones(300)].astype(int)
    idx = pretraining._label_subset(y, 0.05, seed=0)
    assert np.bincount(y[idx]).tolist() == [5, 15] and np.all(np.diff(idx) > 0)
    assert pretraining._label_subset(y, 0.001, seed=0).size == 4  # 2 of each class
    assert pretraining._label_subset(y, 1.0).tolist() == list(range(400))
    assert not np.array_equal(pretraining._label_subset(y, 0.05, seed=1), idx)  # seeds differ
    with pytest.raises(ValueError, match=r"fraction 0.0: expected a number in \(0.0, 1.0\]"):
        pretraining._label_subset(y, 0.0)
    with pytest.raises(ValueError, match="class 0 has 1 images"):
        pretraining._label_subset([0, 1, 1], 0.5)


def test_encoder_classifier_copies_weights_or_starts_fresh_and_never_changes_the_encoder():
    encoder = seeded_encoder(1)  # not seed 0, which the fresh copies below are drawn from
    before = [w.copy() for w in encoder.get_weights()]
    pre = pretraining._encoder_classifier(encoder, pretrained=True, seed=0)
    fresh = pretraining._encoder_classifier(encoder, pretrained=False, seed=0)
    assert pre.output_shape == (None, 1) and fresh.count_params() == encoder.count_params() + 5
    inner = [layer for layer in pre.layers if layer.name != "p" and layer.weights][0]
    for a, b in zip(inner.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    fresh_inner = [layer for layer in fresh.layers if layer.name != "p" and layer.weights][0]
    assert not np.allclose(fresh_inner.get_weights()[0], before[0])
    x = np.random.default_rng(0).random((16, 8, 8, 1), dtype=np.float32)
    y = (x.mean(axis=(1, 2, 3)) > np.median(x.mean(axis=(1, 2, 3)))).astype(int)
    pretraining._fine_tune(pre, x, y, steps=3, batch_size=4)
    assert not np.allclose(inner.get_weights()[0], before[0])  # fine-tuning moves the copy
    for a, b in zip(encoder.get_weights(), before):  # ... never the encoder itself
        np.testing.assert_array_equal(a, b)
    again = pretraining._encoder_classifier(encoder, pretrained=False, seed=0)
    np.testing.assert_array_equal(again.get_weights()[0], fresh.get_weights()[0])  # seeded


def test_fine_tune_makes_exactly_the_steps_asked_and_learns():
    rng = np.random.default_rng(1)
    x = rng.random((40, 8, 8, 1), dtype=np.float32)
    y = np.r_[np.zeros(20), np.ones(20)].astype(int)
    x[y == 1] += 0.5
    _, encoder, _ = conv_autoencoder((8, 8, 1), latent_dim=4, filters=(2, 4))
    model = pretraining._encoder_classifier(encoder, pretrained=False, seed=0)
    first = pretraining._fine_tune(model, x, y, steps=1, batch_size=8)
    last = pretraining._fine_tune(model, x, y, steps=60, batch_size=8, learning_rate=1e-2)
    assert model.optimizer.iterations.numpy() == 60
    assert last < first
    with pytest.raises(ValueError, match=r"images \(40\) and labels \(5\): expected the same length"):
        pretraining._fine_tune(model, x, y[:5])
    with pytest.raises(ValueError, match=r"learning_rate 0.0: expected a number > 0"):
        pretraining._fine_tune(model, x, y, learning_rate=0.0)
    with pytest.raises(ValueError, match="steps"):
        pretraining._fine_tune(model, x, y, steps=0)


def tiny_data(seed=0, n=60, size=8):
    rng = np.random.default_rng(seed)
    arrays = []
    for _ in range(3):
        y = np.r_[np.zeros(n // 2), np.ones(n // 2)].astype(np.int64)
        x = rng.random((n, size, size, 1), dtype=np.float32) * 0.5
        x[y == 1, : size // 2] += 0.4  # pneumonia: a brighter top half
        arrays += [x, y]
    return ClassificationData(*arrays, name="tiny")


def test_pretraining_curve_returns_a_tidy_row_per_run_and_a_summary():
    data = tiny_data()
    encoder = seeded_encoder(1)
    rows = pretraining.pretraining_curve(encoder, data, fractions=(0.1, 1.0), seeds=(0, 1),
                                         steps=20, batch_size=8, learning_rate=1e-2)
    assert len(rows) == 2 * 2 * 2
    assert {tuple(sorted(r)) for r in rows} == {
        ("fraction", "labels", "seed", "start", "test_auc", "val_auc")}
    assert [r["labels"] for r in rows if r["fraction"] == 0.1] == [6] * 4  # 3 of each class
    assert all(0 <= r["test_auc"] <= 1 for r in rows)
    assert np.mean([r["test_auc"] for r in rows if r["fraction"] == 1.0]) > 0.8  # it learns
    summary = pretraining.mean_sd_by_fraction(rows)
    assert [e["fraction"] for e in summary] == [0.1, 1.0] and summary[0]["runs"] == 2
    one = [r for r in rows if r["fraction"] == 0.1]
    pre = np.array([r["test_auc"] for r in one if r["start"] == "pretrained"])
    scratch = np.array([r["test_auc"] for r in one if r["start"] == "scratch"])
    assert summary[0]["pretrained_mean"] == pytest.approx(pre.mean())
    assert summary[0]["scratch_sd"] == pytest.approx(scratch.std(ddof=1))
    assert summary[0]["gap_mean"] == pytest.approx((pre - scratch).mean())
    assert summary[0]["verdict"].word == evidence.verdict(pre, scratch).word
    text = pretraining.fraction_table(summary)
    assert len(text.splitlines()) == 3 and "10 % (6)" in text and "±" in text
    assert text.splitlines()[1].split(" | ")[-1] == summary[0]["verdict"].word
    one_seed = pretraining.mean_sd_by_fraction([r for r in rows if r["seed"] == 0])
    single = pretraining.fraction_table(one_seed)
    assert one_seed[0]["verdict"] is None and "±" not in single and "(1 seed)" in single
    with pytest.raises(ValueError, match="no seed has both"):
        pretraining.mean_sd_by_fraction([r for r in rows if r["start"] == "scratch"])
