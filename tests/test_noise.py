"""medlab.noise: pure, seeded noise models with the statistics their formulas promise."""

import numpy as np
import pytest

from medlab import noise

FLAT = np.full((200, 200), 0.5, dtype=np.float32)
RAMP = np.linspace(0.0, 1.0, 4 * 16 * 16, dtype=np.float32).reshape(4, 16, 16, 1)
KINDS = noise.NOISE_KINDS


@pytest.mark.parametrize("kind", KINDS)
def test_pure_seeded_same_shape_float32_in_range(kind):
    before = RAMP.copy()
    a = noise.add_noise(RAMP, kind, 0.2, seed=3)
    np.testing.assert_array_equal(RAMP, before)  # the input is untouched
    assert a.shape == RAMP.shape and a.dtype == np.float32
    assert a.min() >= 0.0 and a.max() <= 1.0
    np.testing.assert_array_equal(a, noise.add_noise(RAMP, kind, 0.2, seed=3))
    assert not np.array_equal(a, noise.add_noise(RAMP, kind, 0.2, seed=4))
    assert not np.array_equal(a, RAMP)
    # a tuple seed and a Generator work too
    np.testing.assert_array_equal(noise.add_noise(RAMP, kind, 0.2, seed=(1, 2)),
                                  noise.add_noise(RAMP, kind, 0.2, seed=(1, 2)))
    np.testing.assert_array_equal(noise.add_noise(RAMP, kind, 0.2, seed=np.random.default_rng(5)),
                                  noise.add_noise(RAMP, kind, 0.2, seed=5))
    # level 0: an unchanged float32 copy
    clean = noise.add_noise(RAMP, kind, 0.0)
    np.testing.assert_array_equal(clean, RAMP)
    assert clean is not RAMP


def test_gaussian_mean_and_standard_deviation():
    y = noise.gaussian(FLAT, 0.1, seed=0)
    assert abs(y.mean() - 0.5) < 0.002 and abs(y.std() - 0.1) < 0.002
    np.testing.assert_array_equal(noise.gaussian(FLAT, 0.0), FLAT)
    unclipped = noise.gaussian(np.zeros((100, 100)), 0.1, seed=0, clip=False)
    assert unclipped.min() < 0  # only clip=False lets values leave [0, 1]
    assert noise.gaussian(np.zeros((100, 100)), 0.1, seed=0).min() == 0.0


def test_poisson_variance_is_signal_over_photons():
    for x, photons in ((0.5, 100), (0.2, 50), (0.9, 400)):
        y = noise.poisson(np.full((200, 200), x), photons, seed=1)
        assert abs(y.mean() - x) < 0.01
        assert y.var() == pytest.approx(x / photons, rel=0.05)
        np.testing.assert_allclose(y * photons, np.round(y * photons), atol=1e-3)  # whole counts
    # more photons (a higher dose): less noise
    low, high = (noise.poisson(FLAT, n, seed=2).std() for n in (25, 400))
    assert low == pytest.approx(4 * high, rel=0.05)
    np.testing.assert_array_equal(noise.poisson(np.zeros((8, 8)), 10, seed=0), 0.0)  # no signal


def test_salt_and_pepper_replaces_a_fraction_with_0_or_1():
    y = noise.salt_and_pepper(FLAT, 0.1, seed=0)
    changed = y != 0.5
    assert changed.mean() == pytest.approx(0.1, abs=0.005)
    assert set(np.unique(y[changed])) == {0.0, 1.0}
    assert (y == 1.0).sum() == pytest.approx((y == 0.0).sum(), rel=0.1)
    assert set(np.unique(noise.salt_and_pepper(FLAT, 0.3, seed=0, salt=1.0))) == {0.5, 1.0}
    assert np.all(noise.salt_and_pepper(FLAT, 1.0, seed=0, salt=0.0) == 0.0)


def test_add_noise_puts_the_kinds_on_one_level_scale():
    np.testing.assert_array_equal(noise.add_noise(RAMP, "gaussian", 0.1, 7), noise.gaussian(RAMP, 0.1, 7))
    np.testing.assert_array_equal(noise.add_noise(RAMP, "poisson", 0.1, 7), noise.poisson(RAMP, 100, 7))
    np.testing.assert_array_equal(noise.add_noise(RAMP, "salt_and_pepper", 0.1, 7),
                                  noise.salt_and_pepper(RAMP, 0.1, 7))
    # Poisson at level l: sd l * sqrt(x), i.e. l at full brightness (where clipping then cuts it)
    for x in (0.25, 0.5):
        y = noise.add_noise(np.full((200, 200), x), "poisson", 0.1, 0)
        assert y.std() == pytest.approx(0.1 * np.sqrt(x), rel=0.05)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="kind '[^']*': expected one of gaussian"):
        noise.add_noise(FLAT, "speckle", 0.1)
    with pytest.raises(ValueError, match=r"level .*: expected a number in \[0, 1\]"):
        noise.add_noise(FLAT, "gaussian", 2.0)
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        noise.gaussian(FLAT * 300, 0.1)
    with pytest.raises(ValueError, match="sigma"):
        noise.gaussian(FLAT, -1)
    with pytest.raises(ValueError, match="photons 0: expected a number > 0"):
        noise.poisson(FLAT, 0)
    with pytest.raises(ValueError, match="amount"):
        noise.salt_and_pepper(FLAT, 1.5)
    with pytest.raises(ValueError, match="images has dtype <U1: expected real numbers"):
        noise.gaussian(np.array(["a"]), 0.1)
    assert noise.gaussian(np.zeros((0, 4, 4)), 0.1).shape == (0, 4, 4)
