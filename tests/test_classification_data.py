"""medlab.data.classification: one loader for synthetic images, MedMNIST files and image folders."""

import numpy as np
import pytest

from medlab.data import export_image_folder, save_medmnist
from medlab.data.classification import load_classification_data, _resize_images


def _check(data, size, n=None):
    for split in ("train", "val", "test"):
        x, y = data.split(split)
        assert x.dtype == np.float32 and x.shape[1:] == (size, size, 1)
        assert 0.0 <= x.min() and x.max() <= 1.0
        assert y.dtype == np.int64 and y.shape == (len(x),) and set(np.unique(y)) <= {0, 1}
    if n is not None:
        assert sum(len(data.split(s)[1]) for s in ("train", "val", "test")) == n


def test_synthetic_is_split_70_15_15_stratified_and_seeded():
    data = load_classification_data("synthetic", image_size=24, seed=1, n_synthetic=40)
    _check(data, 24, 40)
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (28, 6, 6)
    assert data.y_val.sum() == 3 and data.name == "synthetic" and data.image_shape == (24, 24, 1)
    again = load_classification_data("synthetic", image_size=24, seed=1, n_synthetic=40)
    np.testing.assert_array_equal(data.x_test, again.x_test)
    assert "prevalence 0.50" in data.describe() and data.describe().count("\n") == 2


def test_medmnist_file_keeps_its_splits_and_resizes(tmp_path):
    rng = np.random.default_rng(0)
    splits = {s: (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
                  (np.arange(n) % 2).astype(np.uint8)[:, None]) for s, n in
              (("train", 10), ("val", 4), ("test", 6))}
    path = save_medmnist(tmp_path / "tiny.npz", splits)
    data = load_classification_data(str(path))
    _check(data, 28)
    np.testing.assert_allclose(data.x_val[..., 0], splits["val"][0] / 255.0, atol=1e-6)
    assert data.name == "tiny" and len(data.y_train) == 10
    small = load_classification_data(str(path), image_size=14, max_train=4)
    _check(small, 14)
    assert len(small.y_train) == 4 and small.y_train.sum() == 2 and len(small.y_test) == 6


def test_rgb_medmnist_becomes_grey_and_multiclass_is_refused(tmp_path):
    rgb = {s: (np.full((4, 8, 8, 3), 255, np.uint8), np.array([[0], [1], [0], [1]], np.uint8))
           for s in ("train", "val", "test")}
    data = load_classification_data(str(save_medmnist(tmp_path / "rgb.npz", rgb)), image_size=8)
    assert data.x_train.shape == (4, 8, 8, 1) and np.allclose(data.x_train, 1.0)
    three = {s: (np.zeros((3, 8, 8), np.uint8), np.array([[0], [1], [2]], np.uint8))
             for s in ("train", "val", "test")}
    with pytest.raises(ValueError, match="binary labels"):
        load_classification_data(str(save_medmnist(tmp_path / "three.npz", three)))


def test_image_folder(tmp_path):
    images = np.linspace(0, 1, 20 * 16 * 16, dtype=np.float32).reshape(20, 16, 16)
    export_image_folder(images, np.arange(20) % 2, ["normal", "pneumonia"], tmp_path / "png")
    data = load_classification_data(str(tmp_path / "png"), image_size=16, seed=0)
    _check(data, 16, 20)
    assert data.class_names == ("normal", "pneumonia") and data.name == "png"


def test_a_split_without_both_classes_names_the_file_and_the_split(tmp_path):
    """Lesson 07 said 'class folder /tmp/.../train/normal is empty' about its own export."""
    rng = np.random.default_rng(0)
    one_each = {s: (rng.integers(0, 256, (1, 8, 8), dtype=np.uint8), np.array([[1]], np.uint8))
                for s in ("train", "val", "test")}
    path = save_medmnist(tmp_path / "tiny.npz", one_each)
    with pytest.raises(ValueError, match=rf"^{tmp_path / 'tiny.npz'}: its train split holds 0 "
                                         r"normal and 1 pneumonia images; expected at least one "
                                         r"image of each class .* in each of train, val and test"):
        load_classification_data(str(path), max_train=400)

    labels = np.array([[0]] + [[1]] * 9, np.uint8)
    splits = {s: (rng.integers(0, 256, (10, 8, 8), dtype=np.uint8), labels)
              for s in ("train", "val", "test")}
    path = save_medmnist(tmp_path / "rare.npz", splits)
    with pytest.raises(ValueError, match=r"rare\.npz: max_train=4 keeps 0 normal and 4 pneumonia "
                                         r"training images .*raise max_train"):
        load_classification_data(str(path), max_train=4)
    assert len(load_classification_data(str(path), max_train=8).y_train) == 8



@pytest.mark.parametrize("max_train", ["400", 2.5, float("nan"), -1, 0, True])
def test_a_bad_max_train_is_named_before_loading(tmp_path, max_train):
    """max_train="400" gave "invalid literal for int()", nan "cannot convert float NaN to
    integer" (neither naming it), and 2.5 was quietly taken as 2."""
    with pytest.raises(ValueError, match=rf"^max_train {max_train!r}.*: expected an integer >= 1"):
        load_classification_data(str(tmp_path / "absent.npz"), max_train=max_train)

def test_pneumoniamnist_is_the_shipped_file_with_a_training_subset():
    data = load_classification_data("pneumoniamnist", max_train=400, seed=0)
    assert data.name == "pneumoniamnist" and data.image_shape == (28, 28, 1)
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (400, 524, 624)
    assert np.bincount(data.y_test).tolist() == [234, 390]
    assert abs(data.y_train.mean() - 3494 / 4708) < 0.01  # the subset keeps the prevalence
    assert data.x_train.dtype == np.float32 and 0 <= data.x_train.min() < data.x_train.max() <= 1


def test_damaged_pneumoniamnist_names_the_file(monkeypatch, tmp_path):
    import medlab.data.bundled as bundled

    broken = tmp_path / "pneumoniamnist.npz"
    broken.write_bytes(b"not the file")
    monkeypatch.setattr(bundled, "PNEUMONIAMNIST_FILE", broken)
    with pytest.raises(ValueError, match=r"pneumoniamnist\.npz: MD5 is .*expected 238a40f8"):
        load_classification_data("pneumoniamnist")


def test_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="neither"):
        load_classification_data(str(tmp_path / "nothing.npz"))
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="expected a MedMNIST"):
        load_classification_data(str(tmp_path / "notes.txt"))
    with pytest.raises(ValueError, match="image_size"):
        load_classification_data("synthetic", image_size=4)


def test_resize_images_is_bilinear_and_keeps_the_range():
    x = np.zeros((1, 8, 8, 1), np.float32)
    x[:, :4] = 1.0
    y = _resize_images(x, 4)
    assert y.shape == (1, 4, 4, 1) and y.min() >= 0 and y.max() <= 1
    column = y[0, :, 0, 0]  # antialiased: a little blur across the edge, the mean is kept
    assert column[0] == pytest.approx(1) and column[3] == pytest.approx(0) and column[1] > 0.5 > column[2]
    assert y.mean() == pytest.approx(x.mean())
    assert _resize_images(x, 8) is x
