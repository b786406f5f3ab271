"""medlab.data.splits: one return type; the same seeds give the indices the lessons' stored outputs used.

The ``_old_*`` functions are the splitters the kit had before the splits were gathered in
``medlab.data.splits`` (``leakage.split_by_image`` / ``split_by_patient``,
``segmentation.image_split`` / ``grouped_split``, ``datasets._split_indices``), kept here
verbatim as references: notebooks 07, 09 and the classification lessons store outputs
computed from their indices.
"""

import numpy as np
import pytest

from medlab import validate
from medlab.data.splits import (PARTS, SplitIndices, groups_on_both_sides, split_by_group, split_by_image,
                                split_stratified)

SEEDS = (0, 1, 2, 3, 7, 42)


# ------------------------------------------------------------------ the old splitters, verbatim
def _old_leakage_split_by_image(n_images, test_fraction=0.3, seed=0):
    order = np.random.default_rng(seed).permutation(int(n_images))
    n_test = int(round(n_images * test_fraction))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def _old_leakage_split_by_patient(patient, test_fraction=0.3, seed=0):
    patient = np.asarray(patient).reshape(-1)
    ids = np.random.default_rng(seed).permutation(np.unique(patient))
    n_test = int(round(len(ids) * test_fraction))
    in_test = np.isin(patient, ids[:n_test])
    return np.flatnonzero(~in_test), np.flatnonzero(in_test)


def _old_grouped_split(subject, val_fraction=0.15, test_fraction=0.15, seed=0):
    from sklearn.model_selection import GroupShuffleSplit

    subject = np.asarray(subject).reshape(-1)
    val, test = val_fraction, test_fraction
    index = np.arange(subject.size)
    rest, test_idx = next(GroupShuffleSplit(1, test_size=test, random_state=seed)
                          .split(index, groups=subject))
    if val == 0:
        return {"train": np.sort(rest), "val": np.zeros(0, np.int64), "test": np.sort(test_idx)}
    train_pos, val_pos = next(GroupShuffleSplit(1, test_size=val / (1 - test), random_state=seed + 1)
                              .split(rest, groups=subject[rest]))
    return {"train": np.sort(rest[train_pos]), "val": np.sort(rest[val_pos]),
            "test": np.sort(test_idx)}


def _old_image_split(n_images, val_fraction=0.15, test_fraction=0.15, seed=0):
    n, val, test = n_images, val_fraction, test_fraction
    order = np.random.default_rng(seed).permutation(n)
    n_test, n_val = max(1, round(test * n)), round(val * n)
    return {"train": np.sort(order[n_test + n_val:]), "val": np.sort(order[n_test:n_test + n_val]),
            "test": np.sort(order[:n_test])}


def _old_split_indices(labels, fractions, seed):
    rng = np.random.default_rng(seed)
    parts = ([], [], [])
    for c in (0, 1):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_train = int(round(fractions[0] * len(idx)))
        n_val = int(round(fractions[1] * len(idx)))
        for part, chunk in zip(parts, (idx[:n_train], idx[n_train:n_train + n_val],
                                       idx[n_train + n_val:])):
            part.append(chunk)
    return [np.sort(np.concatenate(part)) for part in parts]


def _equal(split, train, val, test):
    for name, expected in zip(PARTS, (train, val, test)):
        np.testing.assert_array_equal(split[name], expected, err_msg=name)
        assert split[name].dtype == np.int64


# ------------------------------------------------------------------ the same indices as before
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n, test_fraction", [(80, 0.25), (120, 0.3), (600, 0.3), (37, 0.3)])
def test_split_by_image_without_val_is_the_leakage_split(seed, n, test_fraction):
    train, test = _old_leakage_split_by_image(n, test_fraction, seed)
    _equal(split_by_image(n, val_fraction=0, test_fraction=test_fraction, seed=seed), train, [], test)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n, val, test", [(999, 0.15, 0.15), (60, 0.15, 0.15), (600, 0.1, 0.2), (10, 0.0, 0.3)])
def test_split_by_image_is_the_segmentation_image_split(seed, n, val, test):
    old = _old_image_split(n, val, test, seed)
    _equal(split_by_image(n, val, test, seed), old["train"], old["val"], old["test"])


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n_patients, per_patient", [(120, 5), (60, 5), (20, 4), (33, 3)])
def test_permutation_draw_is_the_leakage_split_by_patient(seed, n_patients, per_patient):
    patient = np.random.default_rng(seed).permutation(np.repeat(np.arange(n_patients) * 3 + 5, per_patient))
    train, test = _old_leakage_split_by_patient(patient, 0.3, seed)
    _equal(split_by_group(patient, 0, 0.3, seed, draw="permutation"), train, [], test)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("val", [0.15, 0.0, 0.2])
def test_group_shuffle_draw_is_the_segmentation_grouped_split(seed, val):
    subject = np.repeat(np.arange(806), np.random.default_rng(seed).integers(1, 3, 806))[:999]
    old = _old_grouped_split(subject, val, 0.15, seed)
    _equal(split_by_group(subject, val, 0.15, seed), old["train"], old["val"], old["test"])


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n, prevalence", [(600, 0.5), (40, 0.3), (801, 0.74), (13, 0.5), (20, 0.0)])
def test_split_stratified_is_the_classification_split(seed, n, prevalence):
    labels = (np.random.default_rng(seed + 100).random(n) < prevalence).astype(np.int64)
    train, val, test = _old_split_indices(labels, (0.70, 0.15, 0.15), seed)
    _equal(split_stratified(labels, 0.15, 0.15, seed), train, val, test)


# ------------------------------------------------------------------ what a split promises
def test_every_split_covers_each_image_once_and_groups_stay_whole():
    subject = np.repeat(np.arange(100), np.random.default_rng(0).integers(1, 4, 100))
    for split in (split_by_image(len(subject), seed=3), split_by_group(subject, seed=3),
                  split_by_group(subject, seed=3, draw="permutation"), split_stratified(subject % 2, seed=3)):
        assert isinstance(split, SplitIndices)
        assert sorted(np.concatenate([split[name] for name in PARTS]).tolist()) == list(range(len(subject)))
    for draw in ("group-shuffle", "permutation"):
        split = split_by_group(subject, seed=3, draw=draw)
        assert all(groups_on_both_sides(subject, split[a], split[b]) == 0
                   for a, b in (("train", "val"), ("train", "test"), ("val", "test")))
        assert len(np.unique(subject[split.test])) == 15  # 15 % of the subjects
    by_image = split_by_image(300, seed=0)
    assert groups_on_both_sides(np.repeat(np.arange(100), 3), by_image.train, by_image.test) > 20


def test_bad_arguments_name_themselves():
    with pytest.raises(validate.ArgumentError, match="test_fraction"):
        split_by_group(np.arange(10), val_fraction=0.5, test_fraction=0.5)
    with pytest.raises(ValueError, match="test_fraction 1.0"):
        split_by_group(np.repeat(np.arange(20), 4), 0, 1.0, draw="permutation")
    with pytest.raises(ValueError, match="too few"):
        split_by_group(np.zeros(5), 0, 0.3, draw="permutation")
    with pytest.raises(ValueError, match="too few"):
        split_by_image(3, 0.3, 0.5)
    with pytest.raises(ValueError, match="draw 'random'"):
        split_by_group(np.arange(10), draw="random")
    with pytest.raises(ValueError, match="part 'validation'"):
        split_by_image(10)["validation"]
