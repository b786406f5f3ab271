"""Train/validation/test arrays for the classification lessons, from any of the kit's sources.

``load_classification_data(dataset, image_size, seed)`` accepts

- ``"synthetic"``: synthetic chest X-rays (:func:`medlab.data.synthetic_chest`), split
  70/15/15; works offline, everywhere;
- ``"pneumoniamnist"``: real pediatric chest X-rays, PneumoniaMNIST's official splits,
  shipped with medlab (:func:`medlab.data.load_pneumoniamnist`; offline, MD5 checked);
- the path of a MedMNIST ``.npz`` file (its own train/val/test splits);
- the path of an image folder ``root/<class>/*.png`` with two classes (split 70/15/15).

and always returns float32 images (N, H, W, 1) in [0, 1] and int64 labels (N,) of 0/1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medlab import validate
from medlab.data.splits import split_stratified

#: Named data sets; anything else must be a path.
DATASET_NAMES = ("synthetic", "pneumoniamnist")
#: Fractions of the synthetic set and of an image folder used for train, val and test.
SPLIT_FRACTIONS = (0.70, 0.15, 0.15)
#: Size of the synthetic images when ``image_size`` is None.
SYNTHETIC_SIZE = 64
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True, eq=False)
class ClassificationData:
    """Three splits of a two-class image data set.

    Attributes
    ----------
    x_train, x_val, x_test : float32 arrays (N, H, W, 1) in [0, 1]
    y_train, y_val, y_test : int64 arrays (N,) of 0 (normal) and 1 (pneumonia)
    name : str
        Where the data came from (``"synthetic"``, ``"pneumoniamnist"`` or the path's name).
    class_names : tuple of 2 str
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    name: str
    class_names: tuple = ("normal", "pneumonia")

    @property
    def image_shape(self):
        """(H, W, 1) of one image."""
        return tuple(self.x_train.shape[1:])

    def split(self, name):
        """``(x, y)`` of ``"train"``, ``"val"`` or ``"test"``."""
        validate.choice("split", name, ("train", "val", "test"))
        return getattr(self, f"x_{name}"), getattr(self, f"y_{name}")

    def describe(self):
        """One line per split: images, shape and class counts (stable text)."""
        lines = []
        for split in ("train", "val", "test"):
            x, y = self.split(split)
            counts = np.bincount(y, minlength=2)
            lines.append(
                f"{split:>5}: {len(y):5d} images {tuple(x.shape[1:])}, "
                f"{self.class_names[0]} {counts[0]}, {self.class_names[1]} {counts[1]} "
                f"(prevalence {counts[1] / max(len(y), 1):.2f})"
            )
        return "\n".join(lines)


def grey_float(images):
    """uint8 or float images (N, H, W[, C]) -> float32 (N, H, W, 1) in [0, 1]."""
    images = validate.image_array("images", images, ndims=(3, 4), dtype_kinds="uifb", channels=(1, 3, 4))
    scale = 255.0 if images.dtype == np.uint8 else 1.0
    x = images.astype(np.float32) / np.float32(scale)
    if x.ndim == 3:
        x = x[..., None]
    if x.shape[-1] in (3, 4):
        x = (x[..., :3] @ _LUMA)[..., None]
    return np.clip(x, 0.0, 1.0)


def _resize_images(images, image_size):
    """Resize (N, H, W, C) float images to (N, S, S, C) with ``tf.image.resize`` (bilinear,
    antialiased when shrinking); returned unchanged when already S x S."""
    if image_size is None or images.shape[1:3] == (image_size, image_size):
        return images
    from medlab._tensorflow import tf

    out = tf.image.resize(images, (int(image_size), int(image_size)), method="bilinear",
                          antialias=True).numpy()
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def _binary_labels(labels, source):
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise ValueError(f"{source}: expected one label per image (0/1), got labels of shape {labels.shape}")
    if labels.size and not np.all((labels == 0) | (labels == 1)):
        raise ValueError(f"{source}: expected binary labels 0/1, found {sorted(set(labels.tolist()))[:10]}")
    return labels.astype(np.int64)


def _from_arrays(images, labels, name, seed, class_names=("normal", "pneumonia")):
    split = split_stratified(labels, SPLIT_FRACTIONS[1], SPLIT_FRACTIONS[2], seed)
    train, val, test = split.train, split.val, split.test
    if min(len(train), len(val), len(test)) == 0:
        raise ValueError(f"{name}: {len(labels)} images are too few to split 70/15/15")
    return ClassificationData(images[train], labels[train], images[val], labels[val],
                              images[test], labels[test], name, tuple(class_names))


def _limit(x, y, n, seed):
    """At most ``n`` images, stratified (the same subset for the same seed)."""
    if n is None or len(y) <= n:
        return x, y
    rng = np.random.default_rng(seed)
    keep = []
    for c in (0, 1):
        idx = np.flatnonzero(y == c)
        share = int(round(n * len(idx) / len(y)))
        keep.append(rng.choice(idx, size=min(share, len(idx)), replace=False))
    keep = np.sort(np.concatenate(keep))
    return x[keep], y[keep]


def _from_npz(path, image_size, name):
    from medlab.data.medmnist import load_medmnist

    splits = load_medmnist(path)
    arrays = []
    for split in ("train", "val", "test"):
        images, labels = splits[split]
        if len(images) == 0:
            raise ValueError(f"{path}: {split}_images holds 0 images; expected at least one "
                             "image in each of train, val and test")
        arrays += [_resize_images(grey_float(images), image_size),
                   _binary_labels(labels, f"{path} ({split}_labels)")]
    return ClassificationData(*arrays, name=name)


def _from_folder(root, image_size, seed):
    from medlab.data.folders import image_folder_dataset

    size = int(image_size or SYNTHETIC_SIZE)
    dataset = image_folder_dataset(root, image_size=(size, size), batch_size=256, seed=seed,
                                   shuffle=False, verbose=False)  # checks every file first
    class_names = tuple(dataset.class_names)
    xs, ys = [], []
    for x, y in dataset:
        xs.append(x.numpy())
        ys.append(y.numpy())
    images = np.clip(np.concatenate(xs), 0.0, 1.0).astype(np.float32)
    labels = np.concatenate(ys).reshape(-1).astype(np.int64)
    return _from_arrays(images, labels, Path(root).name, seed, class_names)


def _class_counts_text(labels, class_names):
    counts = np.bincount(labels, minlength=2)
    return f"{counts[0]} {class_names[0]} and {counts[1]} {class_names[1]}"


def _check_both_classes(data, source):
    """Every split must hold both classes (training, validation and the test AUC need them)."""
    for split in ("train", "val", "test"):
        labels = data.split(split)[1]
        if len(set(labels.tolist())) < 2:
            names = ", ".join(data.class_names)
            raise ValueError(
                f"{source}: its {split} split holds {_class_counts_text(labels, data.class_names)} "
                f"images; expected at least one image of each class ({names}) in each of train, "
                "val and test, as training, validating and testing a classifier all need both")


def load_classification_data(dataset="synthetic", image_size=None, seed=0, n_synthetic=600,
                             max_train=None):
    """Load a two-class chest X-ray data set as train/val/test arrays.

    Parameters
    ----------
    dataset : str
        ``"synthetic"``, ``"pneumoniamnist"``, or the path of a MedMNIST ``.npz`` file or
        of an image folder with two class sub-folders.
    image_size : int, optional
        Side S of the returned images; images of another size are resized
        (``tf.image.resize``, bilinear). Default: the data's own size (64 for synthetic
        images, 64 for an image folder).
    seed : int
        Seed of the synthetic images and of the 70/15/15 split (synthetic, folders) and of
        the ``max_train`` subset.
    n_synthetic : int
        Number of synthetic images, all splits together.
    max_train : int, optional
        Keep at most this many training images (a stratified subset), at least 1; val and
        test are kept whole.

    Returns
    -------
    ClassificationData
        Images float32 (N, S, S, 1) in [0, 1], labels int64 (N,).

    Raises
    ------
    FileNotFoundError
        A path that does not exist (or a damaged medlab install without its PneumoniaMNIST).
    ValueError
        A file or folder that is not a two-class data set, or a split (after ``max_train``)
        without images of both classes; the message names the file or folder and the split.
    """
    if not isinstance(dataset, (str, Path)):
        raise validate.ArgumentError(f"dataset {dataset!r}: expected one of {', '.join(DATASET_NAMES)} or a path")
    image_size = validate.integer("image_size", image_size, low=8, allow_none=True)
    max_train = validate.integer("max_train", max_train, low=1, allow_none=True)
    if str(dataset) == "synthetic":
        from medlab.data.synthetic import synthetic_chest

        images, labels = synthetic_chest(int(n_synthetic), size=int(image_size or SYNTHETIC_SIZE),
                                         seed=seed)
        data = _from_arrays(grey_float(images), labels.astype(np.int64), "synthetic", seed)
        source = f"synthetic images (n_synthetic={n_synthetic}, seed={seed})"
    elif str(dataset) == "pneumoniamnist":
        from medlab.data.bundled import pneumoniamnist_path

        source = pneumoniamnist_path()
        data = _from_npz(source, image_size, "pneumoniamnist")
    else:
        path = Path(dataset).expanduser()
        if not path.exists():
            raise FileNotFoundError(
                f"dataset {str(dataset)!r} is neither 'synthetic', 'pneumoniamnist' nor an "
                "existing .npz file or image folder"
            )
        if path.is_dir():
            data = _from_folder(path, image_size, seed)
        elif path.suffix == ".npz":
            data = _from_npz(path, image_size, path.stem)
        else:
            raise ValueError(f"{path}: expected a MedMNIST .npz file or an image folder")
        source = path
    _check_both_classes(data, source)
    if max_train is not None:
        x, y = _limit(data.x_train, data.y_train, max_train, seed)
        if len(set(y.tolist())) < 2:
            raise ValueError(
                f"{source}: max_train={max_train} keeps {_class_counts_text(y, data.class_names)} "
                f"training images (its train split holds "
                f"{_class_counts_text(data.y_train, data.class_names)}); expected at least one "
                "of each class: raise max_train")
        data = ClassificationData(x, y, data.x_val, data.y_val, data.x_test, data.y_test,
                                  data.name, data.class_names)
    return data


__all__ = [
    "ClassificationData", "DATASET_NAMES", "SPLIT_FRACTIONS", "grey_float",
    "load_classification_data",
]
