"""Bundled sample images and reading DICOM / NIfTI files (medlab.data.samples, .scans)."""

import dataclasses
import os

import nibabel
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from medlab.data import Sample, read_dicom, read_nifti, sample, sample_names

CT_FILE = get_testdata_file("CT_small.dcm")
NIFTI_FILE = os.path.join(os.path.dirname(nibabel.__file__), "tests", "data", "example4d.nii.gz")

EXPECTED = {
    # name: (shape, dtype, units, spacing)
    "ct": ((128, 128), np.float32, "HU", (0.661468, 0.661468)),
    "mr": ((64, 64), np.float32, "arbitrary", (0.3125, 0.3125)),
    "epi_mri": ((128, 96, 24, 2), np.float32, "arbitrary", (2.0, 2.0, 2.2)),
    "retina": ((1411, 1411, 3), np.uint8, "uint8 RGB", None),
    "microaneurysms": ((102, 102), np.uint8, "uint8 grey level", None),
    "ihc": ((512, 512, 3), np.uint8, "uint8 RGB", None),
    "phantom": ((400, 400), np.float32, "relative attenuation, 0..1", None),
}


def test_sample_names_lists_the_catalogue():
    assert sample_names() == list(EXPECTED)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_sample_has_pixels_and_metadata(name):
    shape, dtype, units, spacing = EXPECTED[name]
    s = sample(name)
    assert isinstance(s, Sample)
    assert s.pixels.shape == shape and s.pixels.dtype == dtype
    assert s.units == units
    assert len(s.axes) == s.pixels.ndim
    if spacing is None:
        assert s.spacing is None
    else:
        np.testing.assert_allclose(s.spacing, spacing, rtol=1e-5)
    assert s.modality and s.description and s.source and s.license
    assert str(shape) in repr(s)


def test_ct_sample_is_stored_values_converted_to_hounsfield_units():
    stored = pydicom.dcmread(CT_FILE).pixel_array
    ct = sample("ct")
    np.testing.assert_array_equal(ct.pixels, stored.astype(np.float32) * 1.0 - 1024.0)
    assert ct.info["rescale_slope"] == 1.0 and ct.info["rescale_intercept"] == -1024.0
    assert -1100 < ct.pixels.min() < -800  # air is near -1000 HU


def test_changing_returned_pixels_does_not_change_the_next_call():
    first = sample("phantom")
    first.pixels[:] = -5.0
    second = sample("phantom")
    assert second.pixels.max() == 1.0 and second.pixels.min() == 0.0
    assert not np.shares_memory(first.pixels, second.pixels)


def test_sample_is_immutable():
    s = sample("mr")
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.units = "HU"
    with pytest.raises(TypeError):
        s.info["rescale_slope"] = 3.0


def test_unknown_sample_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="^sample name .*expected one of") as info:
        sample("xray")
    for name in EXPECTED:
        assert name in str(info.value)


# ---- read_dicom ------------------------------------------------------------
def test_read_dicom_applies_a_files_own_rescale(tmp_path):
    ds = pydicom.dcmread(CT_FILE)
    ds.RescaleSlope = 2
    ds.RescaleIntercept = -1000
    path = tmp_path / "scaled.dcm"
    ds.save_as(path)
    scan = read_dicom(path)
    np.testing.assert_array_equal(scan.pixels, ds.pixel_array.astype(np.float32) * 2 - 1000)
    assert scan.units == "HU" and scan.modality == "CT" and scan.source == str(path)


def test_read_dicom_without_rescale_keeps_stored_values():
    mr_file = get_testdata_file("MR_small.dcm")
    scan = read_dicom(mr_file)
    np.testing.assert_array_equal(scan.pixels, pydicom.dcmread(mr_file).pixel_array)
    assert scan.units == "arbitrary" and scan.info["window_width"] == 1600.0


def test_read_dicom_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.dcm"):
        read_dicom(tmp_path / "nope.dcm")


def _truncated_copy(source, tmp_path, n_bytes, name):
    """Copy the first ``n_bytes`` of ``source`` (all but the last -n_bytes if negative)."""
    with open(source, "rb") as handle:
        data = handle.read()
    path = tmp_path / name
    path.write_bytes(data[:n_bytes])
    return path


@pytest.mark.parametrize(
    "n_bytes, message",
    [
        (100, "not a DICOM file"),  # cut inside the preamble: no DICM marker
        (400, "no pixel data"),  # header only
        (-5000, "could not be decoded"),  # cut inside the pixel data
    ],
)
def test_read_dicom_truncated_file_names_file_and_problem(tmp_path, n_bytes, message):
    path = _truncated_copy(CT_FILE, tmp_path, n_bytes, "cut.dcm")
    with pytest.raises(ValueError, match=message) as info:
        read_dicom(path)
    assert "cut.dcm" in str(info.value)


def test_read_dicom_garbage_and_folder(tmp_path):
    garbage = tmp_path / "garbage.dcm"
    garbage.write_bytes(np.random.default_rng(0).bytes(3000))
    with pytest.raises(ValueError, match="garbage.dcm.*DICM"):
        read_dicom(garbage)
    with pytest.raises(ValueError, match="folder"):
        read_dicom(tmp_path)


def test_readers_refuse_a_fifo_or_device_at_once_naming_it(fifos):
    for reader, name in ((read_dicom, "x.dcm"), (read_nifti, "x.nii"), (read_nifti, "x.nii.gz")):
        with pytest.raises(ValueError, match=rf"{name} is a FIFO \(named pipe\), not a regular"):
            fifos.call(reader, fifos.make(name))
    if os.path.exists("/dev/zero"):
        with pytest.raises(ValueError, match="/dev/zero is a device, not a regular file"):
            read_dicom("/dev/zero")


# ---- read_nifti ------------------------------------------------------------
def test_read_nifti_real_epi_volume():
    scan = read_nifti(NIFTI_FILE)
    assert scan.pixels.shape == (128, 96, 24, 2) and scan.pixels.dtype == np.float32
    assert scan.axes == ("i", "j", "k", "t")
    np.testing.assert_allclose(scan.spacing, (2.0, 2.0, 2.2), rtol=1e-5)
    assert scan.info["orientation"] == "LAS"
    assert scan.info["repetition_time"] == 2000.0 and scan.info["time_units"] == "sec"


def test_read_nifti_round_trip_with_spacing_in_metres(tmp_path):
    volume = np.arange(4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6)
    image = nibabel.Nifti1Image(volume, affine=np.diag([1.5, 1.5, 3.0, 1.0]))
    image.header.set_zooms((0.0015, 0.0015, 0.003))
    image.header.set_xyzt_units(xyz="meter")
    path = tmp_path / "mine.nii.gz"
    nibabel.save(image, path)
    scan = read_nifti(path)
    np.testing.assert_array_equal(scan.pixels, volume)
    np.testing.assert_allclose(scan.spacing, (1.5, 1.5, 3.0), rtol=1e-5)
    assert scan.axes == ("i", "j", "k")


def test_read_nifti_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.nii"):
        read_nifti(tmp_path / "missing.nii")
    garbage = tmp_path / "garbage.nii"
    garbage.write_bytes(b"not a nifti header" * 100)
    with pytest.raises(ValueError, match="garbage.nii.*NIfTI"):
        read_nifti(garbage)
    cut = _truncated_copy(NIFTI_FILE, tmp_path, os.path.getsize(NIFTI_FILE) // 2, "cut.nii.gz")
    with pytest.raises(ValueError, match="cut.nii.gz.*truncated"):
        read_nifti(cut)
    with pytest.raises(ValueError, match="NIfTI"):
        read_nifti(CT_FILE)
