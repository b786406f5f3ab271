"""CT windows, Hounsfield conversion and 8-bit conversion (medlab.imaging)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from medlab.data import sample
from medlab.imaging import WINDOWS, to_hounsfield, to_uint8, window


def test_presets_are_the_standard_radiology_windows():
    assert WINDOWS == {
        "lung": (-600.0, 1500.0),
        "soft_tissue": (40.0, 400.0),
        "bone": (400.0, 1800.0),
        "brain": (40.0, 80.0),
    }
    with pytest.raises(TypeError):
        WINDOWS["lung"] = (0.0, 1.0)


@pytest.mark.parametrize("preset", sorted(WINDOWS))
def test_window_maps_edges_to_black_and_white_and_centre_to_mid_grey(preset):
    center, width = WINDOWS[preset]
    hu = np.array([center - width, center - width / 2, center, center + width / 2, center + width])
    out = window(hu, preset=preset)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-6)


def test_explicit_center_and_width_and_overriding_a_preset():
    hu = np.full((2, 3), 100.0)
    np.testing.assert_allclose(window(hu, center=0, width=400), np.full((2, 3), 0.75))
    # the preset's centre (40) with a wider window
    np.testing.assert_allclose(window([40.0 + 500.0], preset="soft_tissue", width=2000), [0.75])


def test_window_on_the_real_ct_slice_separates_air_from_body():
    ct = sample("ct").pixels
    lung = window(ct, preset="lung")
    assert lung.shape == ct.shape and lung.min() >= 0.0 and lung.max() <= 1.0
    # air outside the patient is black in a soft-tissue window; the body is not all black
    soft = window(ct, preset="soft_tissue")
    assert soft[0, 0] == 0.0
    assert (soft > 0.0).mean() > 0.2


@pytest.mark.parametrize(
    "kwargs, named",
    [
        ({"preset": "liver_typo"}, "preset"),
        ({"center": 40, "width": 0}, "width"),
        ({"center": 40, "width": -10}, "width"),
        ({"center": 40}, "width"),
        ({"width": 400}, "center"),
        ({}, "center"),
    ],
)
def test_bad_window_arguments_raise_naming_the_argument(kwargs, named):
    with pytest.raises(ValueError, match=named):
        window(np.zeros(3), **kwargs)


@given(
    st.lists(st.floats(-3000, 3000, allow_nan=False), min_size=2, max_size=20),
    st.floats(-1000, 1000),
    st.floats(1, 4000),
)
def test_window_is_bounded_and_monotone(values, center, width):
    hu = np.sort(np.array(values, dtype=np.float32))
    out = window(hu, center=center, width=width)
    assert np.all((out >= 0.0) & (out <= 1.0))
    assert np.all(np.diff(out) >= 0.0)


def test_to_hounsfield_applies_slope_and_intercept():
    stored = np.array([[0, 1024], [2048, 24]], dtype=np.int16)
    hu = to_hounsfield(stored, slope=1.0, intercept=-1024.0)
    assert hu.dtype == np.float32
    np.testing.assert_array_equal(hu, [[-1024, 0], [1024, -1000]])
    np.testing.assert_array_equal(to_hounsfield([10], slope=2.5, intercept=1), [26.0])


def test_to_uint8_scales_floats_and_keeps_uint8():
    out = to_uint8(np.array([0.0, 0.2, 1.0], dtype=np.float32))
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, [0, 51, 255])
    already = np.array([3, 200], dtype=np.uint8)
    assert to_uint8(already) is already


@pytest.mark.parametrize(
    "values, message",
    [
        (np.array([0.0, 1.5]), r"\[0, 1\]"),
        (np.array([-0.1, 0.5]), r"\[0, 1\]"),
        (np.array([np.nan, 0.5]), "NaN"),
        (np.array([1, 2], dtype=np.int32), "dtype int32"),
    ],
)
def test_to_uint8_rejects_values_it_cannot_convert(values, message):
    with pytest.raises(ValueError, match=message):
        to_uint8(values)


def test_transmitted_fraction_is_beer_lambert_over_the_layers():
    from medlab.imaging import transmitted_fraction

    assert transmitted_fraction([0.2, 0.6], [18.0, 2.0]) == pytest.approx(np.exp(-4.8))
    assert transmitted_fraction([0.5], [0.0]) == 1.0
    with pytest.raises(ValueError, match="thickness"):
        transmitted_fraction([0.2], [-1.0])
    with pytest.raises(ValueError, match="thickness has shape"):
        transmitted_fraction([0.2, 0.3], [1.0])


def test_hounsfield_puts_water_at_0_and_air_at_minus_1000():
    from medlab.imaging import hounsfield

    np.testing.assert_allclose(hounsfield([0.206, 0.0002, 0.412], 0.206, 0.0002), [0.0, -1000.0, 1001.0], atol=1)
    with pytest.raises(ValueError, match="mu_water"):
        hounsfield([0.2], mu_water=0.0)
