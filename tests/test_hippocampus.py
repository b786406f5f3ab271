"""medlab.data.load_hippocampus and hippocampus_nifti_paths: the shipped MSD Task04 files."""

import shutil

import numpy as np
import pytest

from medlab.data import hippocampus_nifti_paths, load_hippocampus, read_nifti
from medlab.data import hippocampus as hippo


@pytest.fixture(scope="module")
def volumes():
    return load_hippocampus()


def test_splits_shapes_dtypes_and_labels(volumes):
    for split, count in (("train", 150), ("val", 20), ("test", 30)):
        part = volumes[split]
        assert part is volumes.splits[split]
        assert part.images.shape == part.masks.shape == (count, 40, 56, 40), split
        assert part.images.dtype == part.masks.dtype == np.uint8
        assert set(np.unique(part.masks)) == {0, 1, 2}
        assert part.ids.shape == (count,) and part.original_shapes.shape == (count, 3)
        assert part.images.max() == 255  # intensities scaled per volume
    assert volumes.spacing_mm == (1.0, 1.0, 1.0)
    assert volumes.label_names == ("background", "anterior", "posterior")


def test_splits_are_disjoint_by_volume(volumes):
    ids = [set(volumes[split].ids.tolist()) for split in ("train", "val", "test")]
    assert sum(map(len, ids)) == 200 and len(set.union(*ids)) == 200


def test_original_shapes_are_the_readmes_range(volumes):
    shapes = np.concatenate([volumes[s].original_shapes for s in ("train", "val", "test")])
    # of these 200 volumes
    assert shapes.min(axis=0).tolist() == [31, 40, 24] and shapes.max(axis=0).tolist() == [42, 59, 47]


def test_nifti_header_spacing_and_label_values(volumes):
    image_path, label_path = hippocampus_nifti_paths()
    assert image_path.name == "hippocampus_001_image.nii.gz"
    image, label = read_nifti(image_path), read_nifti(label_path)
    assert image.pixels.shape == label.pixels.shape
    np.testing.assert_allclose(image.spacing, (1.0, 1.0, 1.0))
    np.testing.assert_allclose(label.spacing, (1.0, 1.0, 1.0))
    assert set(np.unique(label.pixels).tolist()) == {0.0, 1.0, 2.0}
    # volume 1 is in the training split: same original size, no labelled voxel lost by the crop
    train = volumes["train"]
    (index,) = np.flatnonzero(train.ids == 1)
    assert tuple(train.original_shapes[index]) == image.pixels.shape
    assert (np.bincount(train.masks[index].ravel(), minlength=3)[1:].tolist()
            == np.bincount(label.pixels.astype(int).ravel(), minlength=3)[1:].tolist())


def test_a_missing_or_damaged_file_is_a_one_line_error_naming_it(tmp_path):
    missing = tmp_path / "hippocampus3d.npz"
    with pytest.raises(FileNotFoundError) as info:
        load_hippocampus(missing)
    assert str(missing) in str(info.value) and "\n" not in str(info.value)
    damaged = tmp_path / "copy.npz"
    shutil.copyfile(hippo.HIPPOCAMPUS_FILE, damaged)
    with damaged.open("r+b") as f:
        f.seek(1000)
        f.write(b"\0\1\2\3")
    with pytest.raises(ValueError) as info:
        load_hippocampus(damaged)
    assert str(damaged) in str(info.value) and "MD5" in str(info.value) and "\n" not in str(info.value)


def test_a_damaged_nifti_file_is_refused(monkeypatch, tmp_path):
    copy = tmp_path / "label.nii.gz"
    copy.write_bytes(b"not a nifti file")
    monkeypatch.setitem(hippo.HIPPOCAMPUS_NIFTI, "label", (copy, hippo.HIPPOCAMPUS_NIFTI["label"][1]))
    with pytest.raises(ValueError, match=r"label\.nii\.gz: MD5 is \w+, expected 040b8b9e"):
        hippocampus_nifti_paths()


def test_shipped_files_are_package_data_with_licence_and_citation():
    root = hippo.HIPPOCAMPUS_FILE.parents[3]
    pyproject = (root / "pyproject.toml").read_text(encoding="utf-8")
    shipped = [hippo.HIPPOCAMPUS_FILE] + [path for path, _ in hippo.HIPPOCAMPUS_NIFTI.values()]
    for path in shipped:
        assert f'"{path.relative_to(root / "medlab" / "data").as_posix()}"' in pyproject, path
    for readme in (hippo.HIPPOCAMPUS_FILE.parent / "README.md", root / "data" / "README.md"):
        text = readme.read_text(encoding="utf-8")
        assert "CC BY-SA 4.0" in text and "ShareAlike" in text and hippo.HIPPOCAMPUS_MD5 in text, readme
        assert "Antonelli" in text and "Nature Communications" in text and "Simpson" in text, readme
    assert "load_hippocampus" in (root / "data" / "README.md").read_text(encoding="utf-8")
