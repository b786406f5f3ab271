"""Lesson 09's library: medlab.trust, medlab.metrics.selective, medlab.data.augment,
medlab.gradcam.occlusion_map and medlab.plots.trust."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from scipy import stats

from medlab import keras, metrics, plots, trust, validate
from medlab.data import augment
from medlab.gradcam import grad_cam, occlusion_map
from medlab.models import small_cnn


# ------------------------------------------------------------------ metrics.selective
def test_binary_entropy_is_scipys_in_nats():
    p = np.linspace(0.01, 0.99, 25)
    np.testing.assert_allclose(metrics.binary_entropy(p), stats.entropy(np.stack([p, 1 - p])), atol=1e-12)
    assert metrics.binary_entropy([0.0, 1.0]).max() < 1e-5
    with pytest.raises(validate.ArgumentError, match="p"):
        metrics.binary_entropy([1.5])


def test_uncertainty_scores_decompose_and_agree_with_numpy():
    rng = np.random.default_rng(0)
    samples = rng.uniform(0.01, 0.99, (7, 30))
    s = metrics.uncertainty_scores(samples)
    np.testing.assert_allclose(s["mean"], samples.mean(axis=0))
    np.testing.assert_allclose(s["std"], samples.std(axis=0))
    np.testing.assert_allclose(s["entropy"], s["expected_entropy"] + s["mutual_information"], atol=1e-12)
    assert s["mutual_information"].min() >= 0
    agree = metrics.uncertainty_scores(np.tile(samples[:1], (4, 1)))  # identical members
    np.testing.assert_allclose(agree["mutual_information"], 0, atol=1e-12)
    with pytest.raises(validate.ArgumentError, match="samples"):
        metrics.uncertainty_scores(np.ones(5) * 0.5)


def test_coverage_curve_by_hand():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    p = np.clip(0.5 + (y - 0.5) * 0.4 + rng.normal(0, 0.25, 200), 0, 1)
    u = rng.random(200)
    c = metrics.coverage_curve(y, p, u, [0.6, 1.0])
    kept = np.argsort(u)[:120]
    assert c["kept"].tolist() == [120, 200]
    assert c["accuracy"][0] == pytest.approx(np.mean((p[kept] >= 0.5) == (y[kept] == 1)))
    assert c["auc"][0] == pytest.approx(metrics.auc(y[kept], p[kept]))
    assert c["auc"][1] == pytest.approx(metrics.auc(y, p))
    np.testing.assert_allclose(c["referred"], [0.4, 0.0])
    default = metrics.coverage_curve(y, p, u)
    assert default["coverage"][0] == 0.5 and default["coverage"][-1] == 1.0 and len(default["coverage"]) == 11
    with pytest.raises(validate.ArgumentError, match="coverages"):
        metrics.coverage_curve(y, p, u, [0.0, 1.0])
    with pytest.raises(ValueError, match="uncertainty"):
        metrics.coverage_curve(y, p, u[:10])


def test_selective_intervals_see_a_useful_and_a_useless_uncertainty():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 400)
    p = np.clip(0.5 + (y - 0.5) * 0.3 + rng.normal(0, 0.2, 400), 0, 1)
    useful = metrics.selective_intervals(y, p, -np.abs(p - 0.5), 0.8, n_boot=300)
    assert useful["accuracy_gain"].low > 0 and useful["accuracy_kept"].estimate > useful["accuracy_full"].estimate
    g = useful["accuracy_gain"]
    assert g.low <= g.estimate <= g.high and g.n_boot == 300
    assert useful["auc_full"].estimate == pytest.approx(metrics.auc(y, p))
    useless = metrics.selective_intervals(y, p, rng.random(400), 0.8, n_boot=300)
    assert useless["accuracy_gain"].low < 0 < useless["accuracy_gain"].high
    with pytest.raises(validate.ArgumentError, match="coverage"):
        metrics.selective_intervals(y, p, p, 0.0)


def test_ood_auroc_is_sklearns_with_an_interval():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    a, b = rng.normal(0, 1, 80), rng.normal(1, 1, 50)
    r = metrics.ood_auroc(a, b, n_boot=200)
    expected = roc_auc_score(np.r_[np.zeros(80), np.ones(50)], np.r_[a, b])
    assert r.estimate == pytest.approx(expected) and r.low < r.estimate < r.high
    with pytest.raises(validate.ArgumentError, match="in_scores"):
        metrics.ood_auroc([], b)


def test_image_statistics_and_mahalanobis_score():
    images = np.random.default_rng(4).random((20, 6, 6))
    s = metrics.image_statistics(images)
    np.testing.assert_allclose(s, np.stack([images.reshape(20, -1).mean(1), images.reshape(20, -1).std(1)], 1))
    reference = np.random.default_rng(5).normal(0, 1, (300, 3))
    d = metrics.mahalanobis_score(reference, np.array([[0.0, 0, 0], [4.0, 0, 0], [0, 0, 8.0]]))
    assert d[0] < 0.5 < d[1] < d[2]
    assert d[1] == pytest.approx(4.0, rel=0.15)  # unit variance: about the Euclidean distance
    with pytest.raises(validate.ArgumentError, match="reference"):
        metrics.mahalanobis_score(reference, np.zeros((2, 4)))


def test_class_conditional_mahalanobis_is_lees_form():
    rng = np.random.default_rng(6)
    y = np.repeat([0, 1], 200)
    reference = rng.normal(0, 1, (400, 3)) + np.where(y[:, None] == 1, [6.0, 0, 0], [-6.0, 0, 0])
    points = np.array([[6.0, 0, 0], [-6.0, 0, 0], [0.0, 0, 0], [6.0, 5, 0]])
    d = metrics.mahalanobis_score(reference, points, labels=y)
    assert d[0] < 0.5 and d[1] < 0.5  # at a class mean
    assert d[2] == pytest.approx(6.0, rel=0.15)  # between the classes: 6 within-class sds from both
    assert d[3] == pytest.approx(5.0, rel=0.15)
    one_cloud = metrics.mahalanobis_score(reference, points)  # the cloud's sd along x is ~6: the gap looks normal
    assert one_cloud[2] < 0.5 < d[2]
    # by hand: class means, Ledoit-Wolf on the residuals, the nearest mean
    from sklearn.covariance import LedoitWolf
    means = np.stack([reference[y == c].mean(0) for c in (0, 1)])
    precision = np.linalg.inv(LedoitWolf(assume_centered=True).fit(reference - means[y]).covariance_)
    by_hand = np.sqrt(np.min([np.einsum("nd,de,ne->n", points - m, precision, points - m) for m in means], axis=0))
    np.testing.assert_allclose(d, by_hand, rtol=1e-8)
    fitted = metrics.MahalanobisScore(reference, y)
    np.testing.assert_allclose(fitted(points), d)
    with pytest.raises(validate.ArgumentError, match="labels"):
        metrics.mahalanobis_score(reference, points, labels=y[:10])
    with pytest.raises(validate.ArgumentError, match="reference"):
        metrics.MahalanobisScore(reference[:1])


def test_mahalanobis_score_with_a_singular_covariance_uses_the_pseudo_inverse():
    reference = np.array([[0.0, 1.0], [0.0, 3.0]])  # no spread along x; both points agree, so no shrinkage
    score = metrics.MahalanobisScore(reference)
    np.testing.assert_allclose(score.covariance, [[0.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(score([[0.0, 2.0], [0.0, 3.0]]), [0.0, 1.0], atol=1e-12)


def test_knn_distance_is_brute_force_and_separates_two_gaussians():
    rng = np.random.default_rng(7)
    reference, near, far = rng.normal(0, 1, (300, 8)), rng.normal(0, 1, (50, 8)), rng.normal(0, 1, (50, 8)) + 3.0
    d = metrics.knn_distance(reference, near, k=3, normalise=False)
    brute = np.sort(np.linalg.norm(near[:, None] - reference[None], axis=2), axis=1)[:, 2]
    np.testing.assert_allclose(d, brute, rtol=1e-10)
    all3 = np.sort(np.linalg.norm(near[:, None] - reference[None], axis=2), axis=1)[:, :3]
    np.testing.assert_allclose(metrics.knn_distance(reference, near, k=3, normalise=False, mean=True),
                               all3.mean(axis=1), rtol=1e-10)  # mean=True: the mean of the 3 nearest
    raw = metrics.ood_auroc(metrics.knn_distance(reference, near, 5, normalise=False),
                            metrics.knn_distance(reference, far, 5, normalise=False), n_boot=100)
    assert raw.estimate > 0.95
    # unit length keeps the direction only: a cloud around +4 e1 against one around +4 e2
    e1, e2 = np.eye(8)[0] * 4, np.eye(8)[1] * 4
    unit = {name: metrics.knn_distance(reference + e1, points, 5) for name, points in (("near", near + e1), ("far", far - 3.0 + e2))}
    assert unit["far"].max() <= 2.0  # unit-length vectors are at most 2 apart
    assert metrics.ood_auroc(unit["near"], unit["far"], n_boot=100).estimate > 0.95
    with pytest.raises(validate.ArgumentError, match="k"):
        metrics.knn_distance(reference, near, k=301)
    with pytest.raises(validate.ArgumentError, match="points"):
        metrics.knn_distance(reference, near[:, :3])


def test_energy_score_of_one_logit_and_of_softmax_logits():
    z = np.array([-30.0, -1.0, 0.0, 2.0, 40.0])
    np.testing.assert_allclose(metrics.energy_score(z), -np.logaddexp(0.0, z), rtol=1e-12)
    logits = np.random.default_rng(8).normal(0, 3, (6, 4))
    np.testing.assert_allclose(metrics.energy_score(logits), -np.log(np.exp(logits).sum(axis=1)), rtol=1e-12)
    with pytest.raises(validate.ArgumentError, match="logits"):
        metrics.energy_score(np.zeros((3, 1)))


def test_combine_scores_standardises_on_validation_and_separates_two_gaussians():
    rng = np.random.default_rng(9)
    # two "layers": new images differ from usual ones in the second only, on another scale
    val = {"a": rng.normal(10, 2, 500), "b": rng.normal(0, 0.1, 500)}
    usual = {"a": rng.normal(10, 2, 200), "b": rng.normal(0, 0.1, 200)}
    new = {"a": rng.normal(10, 2, 200), "b": rng.normal(0.5, 0.1, 200)}
    summed = metrics.combine_scores(val, usual, "sum")
    z = {k: (usual[k] - val[k].mean()) / val[k].std() for k in val}
    np.testing.assert_allclose(summed, z["a"] + z["b"])
    np.testing.assert_allclose(metrics.combine_scores(val, usual, "max"), np.maximum(z["a"], z["b"]))
    for how in ("sum", "max"):
        auroc = metrics.ood_auroc(metrics.combine_scores(val, usual, how), metrics.combine_scores(val, new, how), n_boot=100)
        assert auroc.estimate > 0.95, how
    assert metrics.ood_auroc(usual["a"], new["a"], n_boot=100).estimate < 0.6  # the first alone sees nothing
    with pytest.raises(validate.ArgumentError, match="same score names"):
        metrics.combine_scores(val, {"a": usual["a"]})
    with pytest.raises(validate.ArgumentError, match="validation"):
        metrics.combine_scores({"a": np.ones(5)}, {"a": np.ones(3)})
    with pytest.raises(validate.ArgumentError, match="how"):
        metrics.combine_scores(val, usual, "mean")


# ------------------------------------------------------------------ data.augment
def test_augmentation_keeps_range_shape_and_is_seeded():
    x = np.random.default_rng(6).random((3, 16, 16, 1)).astype(np.float32)
    a = augment.augment_images(x, copies=2, seed=1)
    assert a.shape == (2, 3, 16, 16, 1) and a.dtype == np.float32 and 0 <= a.min() and a.max() <= 1
    np.testing.assert_array_equal(a, augment.augment_images(x, copies=2, seed=1))
    assert not np.allclose(a[0], a[1]) and not np.allclose(a[0], augment.augment_images(x, seed=2)[0])
    for name in augment.XRAY_TRANSFORMS:
        one = augment.augment_images(x, [name], seed=0)[0]
        assert one.shape == x.shape and 0 < np.abs(one - x).mean() < 0.25, name
    pipeline = augment.xray_augmentation(seed=0)
    np.testing.assert_array_equal(np.asarray(pipeline(x, training=False)), x)  # off at inference
    with pytest.raises(validate.ArgumentError, match="transforms"):
        augment.xray_augmentation(["flip"])


def test_elastic_is_offered_for_ultrasound_only_by_name():
    assert "elastic" not in augment.XRAY_TRANSFORMS and "elastic" in augment.ULTRASOUND_TRANSFORMS
    x = np.random.default_rng(7).random((2, 24, 24, 1)).astype(np.float32)
    out = augment.augment_images(x, ["elastic"], seed=0)[0]
    assert out.shape == x.shape and not np.allclose(out, x)
    strong = augment.augment_images(x, ["elastic"], seed=0, strength=3.0)[0]  # factor capped at 1
    assert strong.shape == x.shape and 0 <= strong.min() and strong.max() <= 1


def test_mixup_blends_images_targets_and_weights_with_one_lambda_per_image():
    rng = np.random.default_rng(0)
    x, y, w = rng.random((8, 4, 4, 1)), np.array([0, 1] * 4, float), np.array([1.0, 3.0] * 4)
    mx, my, mw = augment.mixup(x, y, w, np.random.default_rng(1), alpha=0.4)
    assert mx.shape == x.shape and my.shape == y.shape and mw.shape == w.shape and mx.dtype == np.float32
    # replay the draws: one permutation, then one lambda per image
    replay = np.random.default_rng(1)
    partner, lam = replay.permutation(8), replay.beta(0.4, 0.4, size=8)
    np.testing.assert_allclose(mx, lam[:, None, None, None] * x + (1 - lam[:, None, None, None]) * x[partner], atol=1e-6)
    np.testing.assert_allclose(my, lam * y + (1 - lam) * y[partner], atol=1e-6)
    np.testing.assert_allclose(mw, 1 + 2 * my, atol=1e-5)  # a weight follows the class share it holds
    assert 0 <= my.min() and my.max() <= 1 and not np.allclose(mx, x)
    onehot = np.eye(3)[[0, 1, 2, 0]]  # several classes: one-hot rows stay distributions
    _, mixed, _ = augment.mixup(x[:4], onehot, np.ones(4), np.random.default_rng(2))
    np.testing.assert_allclose(mixed.sum(axis=1), 1.0, atol=1e-6)
    with pytest.raises(validate.ArgumentError, match="alpha"):
        augment.mixup(x, y, w, rng, alpha=0)
    with pytest.raises(validate.ArgumentError, match="one length"):
        augment.mixup(x, y[:3], w, rng)


def test_mixup_batches_cover_every_image_once_per_epoch_and_are_seeded():
    x = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1)
    y, w = np.ones(10), np.ones(10)
    gen = augment.mixup_batches(x, y, w, batch_size=4, alpha=1e-3, seed=3)  # alpha -> 0: lam is 0 or 1
    epoch = [next(gen) for _ in range(3)]
    assert [len(b[0]) for b in epoch] == [4, 4, 2]
    order = np.random.default_rng(3).permutation(10)  # the first epoch's order
    for k, (images, _, _) in enumerate(epoch):
        batch = set(order[4 * k:4 * k + 4].tolist())
        assert set(np.rint(images[:, 0, 0, 0]).tolist()) <= batch  # partners come from the same batch
    again = augment.mixup_batches(x, y, w, batch_size=4, alpha=1e-3, seed=3)
    for b in epoch:
        np.testing.assert_array_equal(b[0], next(again)[0])
    with pytest.raises(validate.ArgumentError, match="batch_size"):
        next(augment.mixup_batches(x, y, w, batch_size=0))


def test_random_crops_move_each_image_by_whole_pixels_within_the_padding():
    rng = np.random.default_rng(0)
    x = rng.random((40, 9, 9, 1)).astype(np.float32)
    out = augment.random_crops(x, 2, np.random.default_rng(5))
    assert out.shape == x.shape and out.dtype == np.float32
    np.testing.assert_array_equal(augment.random_crops(x, 0, rng), x)
    np.testing.assert_array_equal(out, augment.random_crops(x, 2, np.random.default_rng(5)))  # seeded
    padded = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="edge")
    offsets = []
    for i in range(len(x)):  # each crop is one window of the edge-padded image
        found = [(dy, dx) for dy in range(5) for dx in range(5)
                 if np.array_equal(out[i], padded[i, dy:dy + 9, dx:dx + 9])]
        assert found, i
        offsets.append(found[0])
    assert len(set(offsets)) > 5  # the offsets vary between images
    with pytest.raises(validate.ArgumentError, match="pad"):
        augment.random_crops(x, -1, rng)
    # in the batches: crops only (alpha 0), targets and weights untouched
    images, targets, weights = next(augment.mixup_batches(x, np.ones(40), np.full(40, 2.0), 8, alpha=0, crop=1))
    assert images.shape == (8, 9, 9, 1) and (targets == 1).all() and (weights == 2).all()


# ------------------------------------------------------------------ medlab.trust
def _toy(n=48, size=12, seed=0):
    """Bright square on the left: class 1; on the right: class 0."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.random((n, size, size, 1)).astype(np.float32) * 0.2
    for i in range(n):
        left = 1 if y[i] else size // 2 + 1
        x[i, 4:8, left:left + 4] += 0.7
    return x, y


def _build(size=12):
    return lambda: small_cnn((size, size, 1), width=4, dropout=0.3)


@pytest.fixture(scope="module")
def members():
    x, y = _toy()
    return trust.train_members(_build(), x, y, [0, 1], epochs=3, batch_size=16, learning_rate=0.01)


def test_train_members_is_seeded_and_members_differ(members):
    x, y = _toy()
    again = trust.train_members(_build(), x, y, [0], epochs=3, batch_size=16, learning_rate=0.01)[0]
    for a, b in zip(members[0].get_weights(), again.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert not np.allclose(members[0].get_weights()[0], members[1].get_weights()[0])
    augmented = trust.train_members(_build(), x, y, [0], epochs=3, batch_size=16, learning_rate=0.01,
                                    augment=True)[0]
    assert not np.allclose(augmented.get_weights()[0], again.get_weights()[0])
    with pytest.raises(validate.ArgumentError, match="seeds"):
        trust.train_members(_build(), x, y, [])


def test_ensemble_mc_dropout_and_tta_shapes_and_seeds(members):
    x, _ = _toy(10, seed=1)
    p = trust.ensemble_predict(members, x)
    assert p.shape == (2, 10) and 0 <= p.min() and p.max() <= 1
    mc = trust.mc_dropout_predict(members[0], x, samples=6, seed=3)
    assert mc.shape == (6, 10)
    np.testing.assert_array_equal(mc, trust.mc_dropout_predict(members[0], x, samples=6, seed=3))
    assert mc.std(axis=0).max() > 0  # masks differ from pass to pass
    tta = trust.tta_predict(members[0], x, copies=4, seed=0)
    assert tta.shape == (4, 10) and tta.std(axis=0).max() > 0
    no_dropout = small_cnn((12, 12, 1), width=4)
    with pytest.raises(validate.ArgumentError, match="Dropout"):
        trust.mc_dropout_predict(no_dropout, x)


def test_mc_dropout_at_rate_zero_is_the_plain_prediction(members):
    x, _ = _toy(8, seed=2)
    model = members[0]
    dropout = [layer for layer in model.layers if isinstance(layer, keras.layers.Dropout)][0]
    rate, dropout.rate = dropout.rate, 0.0
    try:
        np.testing.assert_allclose(trust.mc_dropout_predict(model, x, 2)[0],
                                   trust.ensemble_predict([model], x)[0], atol=1e-6)
    finally:
        dropout.rate = rate


def test_randomised_copy_changes_only_the_named_layers(members):
    model = members[0]
    assert trust.weight_layers(model) == ["conv1", "conv2", "output"]
    copy = trust.randomised_copy(model, _build(), ["output"], seed=0)
    assert not np.allclose(copy.get_layer("output").kernel.numpy(), model.get_layer("output").kernel.numpy())
    np.testing.assert_array_equal(copy.get_layer("conv1").kernel.numpy(), model.get_layer("conv1").kernel.numpy())
    with pytest.raises(validate.ArgumentError, match="layers"):
        trust.randomised_copy(model, _build(), ["bn1"])


def test_cascading_randomisation_rows(members):
    x, _ = _toy(3, seed=3)
    rows, maps = trust.cascading_randomisation(members[0], _build(), x, grad_cam)
    assert [r["randomised"] for r in rows] == ["none", "down to output", "down to conv2", "down to conv1"]
    assert [r["layers"] for r in rows] == [0, 1, 2, 3]
    assert rows[0]["spearman"] == pytest.approx(1.0) and rows[0]["ssim"] == pytest.approx(1.0)
    assert all(-1 <= r["spearman"] <= 1 for r in rows) and set(maps) == {r["randomised"] for r in rows}
    assert maps["none"].shape == (3, 12, 12)


def test_map_similarity_is_spearman_and_ssim_image_by_image():
    rng = np.random.default_rng(5)
    a = rng.random((3, 10, 10))
    b = a.copy()
    b[1] = rng.random((10, 10))  # image 1: an unrelated map
    b[2] = 0.0  # image 2: no evidence anywhere
    similar = trust.map_similarity(a, -2 * b)  # scale and sign do not matter: |map|, scaled to its maximum
    assert similar["spearman"][0] == pytest.approx(1.0) and similar["ssim"][0] == pytest.approx(1.0)
    assert similar["spearman"][1] == pytest.approx(stats.spearmanr(a[1].ravel(), b[1].ravel())[0])
    assert abs(similar["spearman"][1]) < 0.3 and similar["ssim"][1] < 0.5
    assert similar["spearman"][2] == 0.0
    np.testing.assert_allclose(similar["ssim"], metrics.ssim_per_image(a / a.max(axis=(1, 2), keepdims=True),
                                                                       np.stack([a[0] / a[0].max(), b[1] / b[1].max(), b[2]])))
    with pytest.raises(validate.ArgumentError, match="maps_a"):
        trust.map_similarity(a, b[:2])


def test_features_and_augmentation_trial(members):
    x, y = _toy()
    f = trust.features(members[0], x[:5])
    assert f.shape == (5, 3 * 3 * 8)  # flatten: 12 -> 6 -> 3 pixels, 2 x 4 filters
    rows = trust.augmentation_trial(_build(), x, y, x[:20], y[:20], subsets=(48, 16), seeds=[0, 1], epochs=1,
                                    batch_size=16, learning_rate=0.01)
    assert len(rows) == 2 * 2 * 2
    assert {(r["images"], r["epochs"]) for r in rows} == {(48, 1), (16, 3)}
    assert {(r["images"], r["steps"]) for r in rows} == {(48, 3), (16, 3)}  # 1 x 48/16 and 3 x 16/16 batches
    assert {r["augmentation"] for r in rows} == {"none", "label-preserving"}
    assert all(0 <= r["auc"] <= 1 and 0 <= r["accuracy"] <= 1 for r in rows)


def test_ood_images_sources():
    x_test = np.random.default_rng(8).random((30, 28, 28, 1)).astype(np.float32)
    ood = trust.ood_images(x_test, n_per_source=12, seed=0)
    assert list(ood) == ["fetal ultrasound", "brain MRI", "inverted film", "blank film"]
    for name, images in ood.items():
        assert images.shape == (12, 28, 28, 1) and images.dtype == np.float32, name
        assert 0 <= images.min() and images.max() <= 1, name
    assert ood["blank film"].std() < 0.05
    with pytest.raises(validate.ArgumentError, match="n_per_source"):
        trust.ood_images(x_test, n_per_source=0)
    validation = trust.ood_images(x_test, n_per_source=12, seed=0, split="validation")
    for name in ("fetal ultrasound", "brain MRI"):  # other examinations and subjects: no image in both
        distance = np.linalg.norm(validation[name].reshape(12, 1, -1) - ood[name].reshape(1, 12, -1), axis=2)
        assert distance.min() > 0, name
    with pytest.raises(validate.ArgumentError, match="split"):
        trust.ood_images(x_test, split="train")


def test_block_features(members):
    x, _ = _toy(6, seed=4)
    blocks = trust.block_features(members[0], x)
    assert list(blocks) == ["pool1", "pool2"]
    assert blocks["pool1"].shape == (6, 2 * 4) and blocks["pool2"].shape == (6, 2 * 8)
    maps = np.asarray(keras.Model(members[0].inputs[0], members[0].get_layer("pool2").output)(x, training=False))
    np.testing.assert_allclose(blocks["pool2"], np.concatenate([maps.mean(axis=(1, 2)), maps.std(axis=(1, 2))], 1),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(validate.ArgumentError, match="layers"):
        trust.block_features(members[0], x, layers=["no such layer"])
    with pytest.raises(validate.ArgumentError, match="maps"):
        trust.block_features(members[0], x, layers=["flatten"])


def test_feature_scores_are_fitted_without_new_images_and_flag_blank_ones(members):
    x, y = _toy(96, seed=5)
    scorer = trust.FeatureScores(members[0], x[:48], y[:48], x[48:72])
    usual, blank = scorer(x[72:]), scorer(np.full((24, 12, 12, 1), 0.5, np.float32))
    assert tuple(usual) == trust.FeatureScores.names
    for name in scorer.names:
        assert usual[name].shape == (24,) and np.all(np.isfinite(usual[name])), name
    for name in ("Mahalanobis, blocks, sum", "Mahalanobis, blocks, max"):  # no texture at all: far from every film
        assert blank[name].min() > usual[name].max(), name
    # the energy of a one-unit output, -ln(1 + e^z), gives back p = 1 - e^E
    np.testing.assert_allclose(1 - np.exp(usual["energy"]), trust.ensemble_predict(members[:1], x[72:])[0], atol=1e-5)
    again = trust.FeatureScores(members[0], x[:48], y[:48], x[48:72])(x[72:])
    for name in scorer.names:
        np.testing.assert_array_equal(again[name], usual[name])
    linear = keras.Sequential([keras.Input((12, 12, 1)), keras.layers.Conv2D(2, 3, name="conv"),
                               keras.layers.MaxPooling2D(name="pool"), keras.layers.Flatten(), keras.layers.Dense(1)])
    with pytest.raises(validate.ArgumentError, match="sigmoid"):
        trust.FeatureScores(linear, x[:48], y[:48], x[48:72])


# ------------------------------------------------------------------ occlusion
def test_occlusion_map_of_a_region_detector():
    def right_half(x, training=False):  # "probability" = mean of the right half
        return np.mean(np.asarray(x)[:, :, 6:], axis=(1, 2))

    x = np.ones((2, 12, 12, 1), np.float32)
    m = occlusion_map(right_half, x, patch=4, stride=4, fill=0.0)
    assert m.shape == (2, 12, 12) and m.dtype == np.float32
    assert np.all(m[:, :, :4] == 0)  # squares over the left third change nothing
    assert np.all(m[:, :, 8:] > 0)
    np.testing.assert_allclose(m[0, 0, 8:], 16 / 72)  # a 4 x 4 square hides 16 of 72 pixels
    with pytest.raises(validate.ArgumentError, match="patch"):
        occlusion_map(right_half, x, patch=13)


# ------------------------------------------------------------------ plots
def test_plots_return_labelled_figures():
    import matplotlib.pyplot as plt

    y = np.arange(40) % 2
    p = np.linspace(0.05, 0.95, 40)
    fig = plots.coverage_plot({"entropy": metrics.coverage_curve(y, p, metrics.binary_entropy(p))})
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes)
    iv = metrics.ood_auroc(np.zeros(5) + np.arange(5), np.arange(5) + 2.5, n_boot=100)
    fig2 = plots.ood_auroc_plot({"a score": iv})
    assert fig2.axes[0].get_xlabel().startswith("AUROC")
    assert "a validation film" in plots.ood_auroc_plot({"a score": iv}, usual="a validation film").axes[0].get_xlabel()
    rows = [{"randomised": "none", "spearman": 1.0, "ssim": 1.0}, {"randomised": "down to output", "spearman": 0.2, "ssim": 0.3}]
    fig3 = plots.randomisation_plot({"Grad-CAM": rows})
    assert fig3.axes[0].get_ylabel() and fig3.axes[0].get_legend() is not None
    with pytest.raises(ValueError, match="empty"):
        plots.coverage_plot({})
    plt.close("all")


def test_mahalanobis_counts_a_direction_the_reference_never_varies_in_and_needs_two_points_per_class():
    far = metrics.MahalanobisScore([[0.0, 1.0], [0.0, 3.0]])([[1e6, 2.0]])
    assert far[0] > 1e9  # no variance along axis 0 in the reference: any step there is far out
    with pytest.raises(ValueError, match="class 1 has 1 reference point"):
        metrics.mahalanobis_score([[0.0, 0], [1, 1], [5, 5]], [[0.0, 0]], labels=[0, 0, 1])
    with pytest.raises(ValueError, match="do not vary"):
        metrics.MahalanobisScore([[1.0, 1.0], [1.0, 1.0]])
