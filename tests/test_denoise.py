"""medlab.denoise: classical filters per image, a fair choice on validation, noisy/clean batches."""

import numpy as np
import pytest
from scipy import ndimage

from medlab import denoise, metrics, noise
from medlab.models import residual_denoiser


def _smooth_images(n=12, size=16, seed=0):
    rng = np.random.default_rng(seed)
    x = ndimage.gaussian_filter(rng.random((n, size, size)), sigma=(0, 2, 2))
    x = (x - x.min()) / (x.max() - x.min())
    return (0.1 + 0.8 * x).astype(np.float32)


CLEAN = _smooth_images()


def test_filters_work_image_by_image_in_every_layout():
    batch = np.zeros((3, 9, 9), dtype=np.float32)
    batch[1, 4, 4] = 1.0
    blurred = denoise.gaussian_filter(batch, 1.0)
    np.testing.assert_array_equal(blurred[[0, 2]], 0.0)  # no leak across the batch axis
    np.testing.assert_allclose(blurred[1], ndimage.gaussian_filter(batch[1], 1.0), atol=1e-7)
    np.testing.assert_allclose(denoise.gaussian_filter(batch[..., None], 1.0)[..., 0], blurred, atol=1e-7)
    np.testing.assert_allclose(denoise.gaussian_filter(batch[1], 1.0), blurred[1], atol=1e-7)
    np.testing.assert_array_equal(denoise.gaussian_filter(batch, 0), batch)
    # the median removes an isolated hot pixel completely; the blur only spreads it
    flat = np.full((3, 9, 9), 0.5, dtype=np.float32)
    flat[1, 4, 4] = 1.0
    np.testing.assert_array_equal(denoise._median_filter(flat, 3), 0.5)
    np.testing.assert_array_equal(denoise._median_filter(flat[..., None], 3)[..., 0], 0.5)
    assert denoise._median_filter(flat, 3).dtype == np.float32
    with pytest.raises(ValueError, match="size"):
        denoise._median_filter(flat, 0)
    with pytest.raises(ValueError, match="shape"):
        denoise.gaussian_filter(np.zeros(5), 1.0)


def test_best_classical_filter_matches_the_noise_and_is_measured_on_validation():
    noisy = noise.gaussian(CLEAN, 0.1, seed=1)
    best = denoise.best_classical_filter(noisy, CLEAN)
    assert best.kind == "gaussian"
    assert best.val_psnr == pytest.approx(metrics.psnr(CLEAN, best.apply(noisy)))
    assert best.val_psnr == max(best.tried.values()) > metrics.psnr(CLEAN, noisy)
    assert len(best.tried) == len(denoise.GAUSSIAN_SIGMAS) + len(denoise.MEDIAN_SIZES)
    assert best.best_of("gaussian") == (best.parameter, best.val_psnr)
    assert best.name.startswith("Gaussian filter, sigma")
    np.testing.assert_array_equal(best(noisy), best.apply(noisy))
    impulses = noise.salt_and_pepper(CLEAN, 0.1, seed=1)
    best = denoise.best_classical_filter(impulses, CLEAN)
    assert best.kind == "median" and best.name == f"median filter, {best.parameter} x {best.parameter}"
    only = denoise.best_classical_filter(impulses, CLEAN, sigmas=(1.0,), sizes=())
    assert (only.kind, only.parameter) == ("gaussian", 1.0) and len(only.tried) == 1
    with pytest.raises(KeyError, match="median"):
        only.best_of("median")
    with pytest.raises(ValueError, match="shape"):
        denoise.best_classical_filter(impulses, CLEAN[:3])
    with pytest.raises(ValueError, match="no settings"):
        denoise.best_classical_filter(impulses, CLEAN, sigmas=(), sizes=())


def test_total_variation_and_non_local_means_filter_each_image_and_join_the_choice():
    from skimage.restoration import denoise_nl_means, denoise_tv_chambolle

    noisy = noise.gaussian(CLEAN, 0.1, seed=1)
    tv = denoise._tv_filter(noisy, 0.1)
    assert tv.shape == noisy.shape and tv.dtype == np.float32
    np.testing.assert_allclose(tv[3], denoise_tv_chambolle(noisy[3], weight=0.1), atol=1e-6)
    np.testing.assert_allclose(denoise._tv_filter(noisy[..., None], 0.1)[..., 0], tv, atol=1e-7)
    nlm = denoise._nl_means_filter(noisy[..., None], 0.08)[..., 0]
    np.testing.assert_allclose(nlm[5], denoise_nl_means(noisy[5], patch_size=denoise.NLM_PATCH,
                                                        patch_distance=denoise.NLM_DISTANCE, h=0.08,
                                                        fast_mode=True), atol=1e-6)
    two = np.stack([noisy[0], np.zeros_like(noisy[0])])  # a flat image stays flat: no leak
    np.testing.assert_allclose(denoise._tv_filter(two, 0.1)[1], 0.0, atol=1e-7)
    for name, value in (("weight", 0.0), ("h", -1.0)):
        with pytest.raises(ValueError, match=name):
            (denoise._tv_filter if name == "weight" else denoise._nl_means_filter)(noisy, value)
    best = denoise.best_classical_filter(noisy, CLEAN, sigmas=(), sizes=(), tv_weights=(0.05, 0.1),
                                         nlm_strengths=(0.08,))
    assert set(best.tried) == {("tv", 0.05), ("tv", 0.1), ("nlm", 0.08)}
    assert best.val_psnr == max(best.tried.values()) > metrics.psnr(CLEAN, noisy)
    assert best.val_psnr == pytest.approx(metrics.psnr(CLEAN, best.apply(noisy)))
    assert best.best_of("nlm") == (0.08, best.tried["nlm", 0.08])
    assert best.name in ("total-variation filter, weight 0.05", "total-variation filter, weight 0.10",
                         "non-local means, h 0.08")


def test_noisy_pairs_are_seeded_and_renewed_every_epoch():
    pairs = denoise.NoisyPairs(CLEAN, "gaussian", 0.1, batch_size=5, seed=0)
    assert len(pairs) == 3  # 5 + 5 + 2
    noisy, clean = pairs[0]
    assert noisy.shape == clean.shape == (5, 16, 16, 1) and noisy.dtype == np.float32
    assert pairs[2][0].shape == (2, 16, 16, 1)
    seen = np.concatenate([pairs[i][1] for i in range(len(pairs))])
    np.testing.assert_array_equal(np.sort(seen.ravel()), np.sort(CLEAN.ravel()))  # each image once
    assert metrics.psnr(clean, noisy) == pytest.approx(20, abs=1.0)  # sigma 0.1: about 20 dB
    again = denoise.NoisyPairs(CLEAN, "gaussian", 0.1, batch_size=5, seed=0)
    np.testing.assert_array_equal(again[1][0], pairs[1][0])
    pairs.on_epoch_end()
    assert not np.array_equal(pairs[0][0], noisy)  # fresh noise (and order) next epoch
    fixed = denoise.NoisyPairs(CLEAN, "poisson", 0.1, batch_size=4, shuffle=False)
    np.testing.assert_array_equal(fixed[0][1][..., 0], CLEAN[:4])
    with pytest.raises(IndexError):
        fixed[3]
    with pytest.raises(ValueError, match="kind"):
        denoise.NoisyPairs(CLEAN, "speckle")
    with pytest.raises(ValueError, match=r"clean has shape \(0, 16, 16\)"):
        denoise.NoisyPairs(CLEAN[:0])


def test_train_denoiser_learns_and_respects_a_budget():
    model = residual_denoiser((16, 16, 1), filters=4, depth=1)
    noisy_val = noise.gaussian(CLEAN, 0.1, seed=9)
    history = denoise.train_denoiser(model, CLEAN, "gaussian", 0.1, epochs=2, batch_size=4,
                                     learning_rate=3e-3, validation=(noisy_val, CLEAN))
    assert len(history["loss"]) == len(history["val_loss"]) == 2
    assert history["seconds"] > 0 and history["stopped_by_budget"] is False
    out = denoise.denoise(model, noisy_val)
    assert out.shape == noisy_val.shape and out.min() >= 0 and out.max() <= 1
    stopped = denoise.train_denoiser(model, CLEAN, epochs=50, batch_size=4, seconds=1e-6)
    assert stopped["stopped_by_budget"] is True and len(stopped["loss"]) == 1


def test_train_denoiser_cosine_decay_and_weight_average(monkeypatch):
    from medlab._tensorflow import keras, seed_everything

    def trained(**options):
        seed_everything(0)
        model = residual_denoiser((16, 16, 1), filters=4, depth=1)
        denoise.train_denoiser(model, CLEAN, epochs=2, batch_size=4, seed=0, **options)
        return model

    plain, averaged = trained(), trained(ema=0.5)
    assert averaged.optimizer.use_ema and not plain.optimizer.use_ema
    assert not np.allclose(plain.get_weights()[0], averaged.get_weights()[0])
    cosine = trained(cosine=True)  # over the epochs: the rate has reached 0 at the last step
    assert isinstance(cosine.optimizer._learning_rate, keras.optimizers.schedules.LearningRateSchedule)
    assert float(cosine.optimizer._learning_rate(6)) == pytest.approx(0.0, abs=1e-9)
    made = []

    class Spy(denoise.TimeCosineDecay):  # records what the wall-clock decay is given
        def __init__(self, *args, **kwargs):
            made.append(args)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(denoise, "TimeCosineDecay", Spy)
    budget = residual_denoiser((16, 16, 1), filters=4, depth=1)
    denoise.train_denoiser(budget, CLEAN, epochs=2, batch_size=4, seconds=600, cosine=True)
    assert made == [(pytest.approx(2e-3), 600)]
    with pytest.raises(ValueError, match="ema"):
        denoise.train_denoiser(budget, CLEAN, epochs=1, ema=1.0)


def test_denoise_keeps_the_layout():
    model = residual_denoiser((None, None, 1), filters=2, depth=1)
    for shape in ((8, 12), (3, 8, 12), (3, 8, 12, 1)):
        assert denoise.denoise(model, np.full(shape, 0.5)).shape == shape
    with pytest.raises(ValueError, match="shape"):
        denoise.denoise(model, np.zeros(4))


def test_patches_cut_squares_row_by_row():
    images = np.arange(2 * 6 * 8).reshape(2, 6, 8)
    out = denoise.patches(images, 4, stride=2)
    assert out.shape == (2 * 2 * 3, 4, 4)  # 1 + (6 - 4) // 2 rows, 1 + (8 - 4) // 2 columns
    np.testing.assert_array_equal(out[1], images[0, 0:4, 2:6])
    np.testing.assert_array_equal(out[3], images[0, 2:6, 0:4])
    np.testing.assert_array_equal(out[6], images[1, 0:4, 0:4])
    assert denoise.patches(images[0], 3).shape == (2 * 2, 3, 3)  # no overlap by default
    with pytest.raises(ValueError, match="size"):
        denoise.patches(images, 7)
