"""Train / validation / test splits of a data set: one return type, three ways to draw it.

======================================  ================================================
``split_by_image(n_images, ...)``       image by image (leaks when a subject has several)
``split_by_group(groups, ...)``         whole groups (patients, examinations) per side
``split_stratified(labels, ...)``       each class split by the same fractions
``groups_on_both_sides(groups, a, b)``  how many groups have images in both ``a`` and ``b``
======================================  ================================================

Every splitter returns a :class:`SplitIndices`: sorted int64 index arrays ``train``, ``val``
and ``test`` that cover ``0..N-1`` once (``val`` empty when ``val_fraction`` is 0). The
same arguments and seed always give the same indices. Only NumPy is imported here
(``split_by_group``'s default draw imports scikit-learn when called).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from medlab import validate

#: The names of the three parts, in order.
PARTS = ("train", "val", "test")
#: How :func:`split_by_group` draws the groups.
GROUP_DRAWS = ("group-shuffle", "permutation")


@dataclass(frozen=True, eq=False)
class SplitIndices:
    """Sorted int64 index arrays of the train, validation and test parts of a data set.

    ``split["test"]`` is ``split.test`` (a part by name, e.g. in a loop over :data:`PARTS`).
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def __getitem__(self, name):
        return getattr(self, validate.choice("part", name, PARTS))


def _fractions(val_fraction, test_fraction):
    val = validate.number("val_fraction", val_fraction, 0.0, 1.0)
    test = validate.number("test_fraction", test_fraction, 0.0, 1.0, low_open=True)
    if val + test >= 1:
        raise validate.ArgumentError(f"val_fraction {val_fraction} and test_fraction {test_fraction}: "
                                     "expected a sum below 1 (training needs images)")
    return val, test


def _sorted(*parts):
    return SplitIndices(*(np.sort(np.asarray(part, dtype=np.int64)) for part in parts))


def split_by_image(n_images, val_fraction=0.15, test_fraction=0.15, seed=0):
    """Split ``n_images`` images at random, ignoring whom they belong to.

    One permutation (``np.random.default_rng(seed)``): its first
    ``max(1, round(test_fraction * n))`` images are the test part, the next
    ``round(val_fraction * n)`` the validation part, the rest the training part.

    Parameters
    ----------
    n_images : int
    val_fraction, test_fraction : float
        Fractions of the images; ``test_fraction > 0``, ``val_fraction >= 0``, sum below 1.
    seed : int >= 0

    Returns
    -------
    SplitIndices
    """
    n = validate.integer("n_images", n_images, 2)
    val, test = _fractions(val_fraction, test_fraction)
    order = np.random.default_rng(validate.integer("seed", seed, 0)).permutation(n)
    n_test, n_val = max(1, round(test * n)), round(val * n)
    if n_test + n_val >= n:
        raise validate.ArgumentError(f"n_images {n}: too few for val_fraction {val_fraction} and "
                                     f"test_fraction {test_fraction} (none left for training)")
    return _sorted(order[n_test + n_val:], order[n_test:n_test + n_val], order[:n_test])


def split_by_group(groups, val_fraction=0.15, test_fraction=0.15, seed=0, *, draw="group-shuffle"):
    """Split images so that all images of a group (patient, examination) land on one side.

    Images of one patient are near copies: split by image, the test part would hold copies
    of training images and flatter the model. The fractions are fractions of the *groups*,
    so of the images only approximately.

    Parameters
    ----------
    groups : array_like (N,)
        The group of each image.
    val_fraction, test_fraction : float
        Fractions of the groups; ``test_fraction > 0``, ``val_fraction >= 0``, sum below 1.
    seed : int >= 0
    draw : {"group-shuffle", "permutation"}
        ``"group-shuffle"``: scikit-learn's ``GroupShuffleSplit`` draws the test groups
        (``random_state=seed``, counts rounded up), then the validation groups from the
        rest (``random_state=seed + 1``); lesson 12 and ``benchmarks/segmentation.py``.
        ``"permutation"``: :func:`split_by_image` of the sorted unique groups (one NumPy
        permutation); lesson 08's leakage experiment. Both keep every group on one side;
        they differ in which groups a seed draws.

    Returns
    -------
    SplitIndices
    """
    groups = np.asarray(groups).reshape(-1)
    if groups.size < 3:
        raise validate.ArgumentError(f"groups has {groups.size} entries: expected one per image, at least 3")
    val, test = _fractions(val_fraction, test_fraction)
    seed = validate.integer("seed", seed, 0)
    if validate.choice("draw", draw, GROUP_DRAWS) == "permutation":
        ids = np.unique(groups)
        if len(ids) < 2:
            raise validate.ArgumentError(f"groups holds {len(ids)} group: too few to split (expected at least 2)")
        try:
            parts = split_by_image(len(ids), val, test, seed)
        except validate.ArgumentError:
            raise validate.ArgumentError(f"groups holds {len(ids)} groups: too few for val_fraction "
                                         f"{val_fraction} and test_fraction {test_fraction}") from None
        return _sorted(*(np.flatnonzero(np.isin(groups, ids[parts[name]])) for name in PARTS))
    from sklearn.model_selection import GroupShuffleSplit

    index = np.arange(groups.size)
    rest, test_idx = next(GroupShuffleSplit(1, test_size=test, random_state=seed).split(index, groups=groups))
    if val == 0:
        return _sorted(rest, np.zeros(0, np.int64), test_idx)
    train_pos, val_pos = next(GroupShuffleSplit(1, test_size=val / (1 - test), random_state=seed + 1)
                              .split(rest, groups=groups[rest]))
    return _sorted(rest[train_pos], rest[val_pos], test_idx)


def split_stratified(labels, val_fraction=0.15, test_fraction=0.15, seed=0):
    """Split each class by the same fractions (the class balance is the same in every part).

    One generator (``np.random.default_rng(seed)``) permutes the images of each class in
    turn (classes in sorted order); of ``n`` images of a class the first
    ``round((1 - val_fraction - test_fraction) * n)`` go to train, the next
    ``round(val_fraction * n)`` to validation, the rest to test.

    Parameters
    ----------
    labels : array_like (N,)
        The class of each image.
    val_fraction, test_fraction : float
        ``test_fraction > 0``, ``val_fraction >= 0``, sum below 1.
    seed : int

    Returns
    -------
    SplitIndices
        A part may be empty when a class has very few images; the caller checks.
    """
    labels = validate.real_array("labels", labels, dtype_kinds="uifb").reshape(-1)
    val, test = _fractions(val_fraction, test_fraction)
    rng = np.random.default_rng(seed)
    train_fraction = 1 - val - test
    parts = ([], [], [])
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_train, n_val = int(round(train_fraction * len(idx))), int(round(val * len(idx)))
        for part, chunk in zip(parts, (idx[:n_train], idx[n_train:n_train + n_val], idx[n_train + n_val:])):
            part.append(chunk)
    return _sorted(*(np.concatenate(part) if part else np.zeros(0, np.int64) for part in parts))


def groups_on_both_sides(groups, a, b):
    """How many groups have images in both index sets ``a`` and ``b`` (0 for a split by group)."""
    groups = np.asarray(groups).reshape(-1)
    return int(np.intersect1d(groups[a], groups[b]).size)


__all__ = ["GROUP_DRAWS", "PARTS", "SplitIndices", "groups_on_both_sides", "split_by_group",
           "split_by_image", "split_stratified"]
