"""synthetic_chest: format, determinism, argument checks and difficulty.

The difficulty tests train for real: the data set is only a good default for
the lessons if mean brightness is uninformative, a small CNN learns it well
(but not perfectly) in a few epochs, and a linear model on pixels does clearly worse.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from medlab.data.synthetic import synthetic_chest


@pytest.fixture(scope="module")
def chest64():
    """2,000 images at the default size.

    Generation speed is a goal measured by ``benchmarks/synthetic.py``, not a
    timed test: CPU seconds differ from machine to machine.
    """
    return synthetic_chest(2000, size=64, seed=0)


def test_shapes_dtypes_and_range(chest64):
    images, labels = chest64
    assert images.shape == (2000, 64, 64) and images.dtype == np.float32
    assert labels.shape == (2000,) and labels.dtype == np.int64
    assert set(np.unique(labels).tolist()) == {0, 1}
    assert np.isfinite(images).all()
    assert images.min() >= 0.0 and images.max() <= 1.0
    # a radiograph, not a flat field: dark air, bright tissue in every image
    assert (images.reshape(2000, -1).std(axis=1) > 0.1).all()


@pytest.mark.parametrize("size", [16, 33, 96])
def test_size_sets_height_and_width(size):
    images, labels = synthetic_chest(3, size=size, seed=1)
    assert images.shape == (3, size, size) and labels.shape == (3,)


def test_same_seed_gives_byte_identical_arrays():
    a_images, a_labels = synthetic_chest(300, size=32, seed=7, prevalence=0.3)
    b_images, b_labels = synthetic_chest(300, size=32, seed=7, prevalence=0.3)
    assert a_images.tobytes() == b_images.tobytes()
    assert a_labels.tobytes() == b_labels.tobytes()


def test_different_seeds_differ():
    a_images, a_labels = synthetic_chest(50, size=32, seed=1)
    b_images, b_labels = synthetic_chest(50, size=32, seed=2)
    assert not np.array_equal(a_labels, b_labels)
    # every image differs, not only a few pixels
    assert (np.abs(a_images - b_images).reshape(50, -1).mean(axis=1) > 0.01).all()


@pytest.mark.parametrize(
    ("n", "prevalence"),
    [(10, 0.5), (7, 0.3), (101, 0.26), (100, 0.0), (100, 1.0), (1, 0.5), (1, 1), (3, 0.5)],
)
def test_number_of_positives_is_round_n_times_prevalence(n, prevalence):
    _, labels = synthetic_chest(n, size=16, seed=0, prevalence=prevalence)
    assert int(labels.sum()) == round(n * prevalence)
    assert set(labels.tolist()) <= {0, 1}


def test_positives_are_shuffled():
    _, labels = synthetic_chest(400, size=16, seed=3, prevalence=0.5)
    assert 50 < labels[:200].sum() < 150  # not sorted: positives spread over the array


def test_label_only_adds_a_local_brighter_opacity():
    """Same seed, prevalence 0 and 1: the same patients, without and with consolidation."""
    normal, y0 = synthetic_chest(64, size=64, seed=5, prevalence=0.0)
    sick, y1 = synthetic_chest(64, size=64, seed=5, prevalence=1.0)
    assert y0.sum() == 0 and y1.sum() == 64
    diff = (sick - normal).reshape(64, -1)
    assert (diff.mean(axis=1) > 0).all()  # every consolidation adds brightness
    changed = (np.abs(diff) > 0.02).mean(axis=1)
    assert (changed < 0.3).all()  # ... locally: most of the image is the same
    assert np.median(changed) > 0.005


@pytest.mark.parametrize(
    ("kwargs", "name", "allowed"),
    [
        ({"n": 0}, "n", ">= 1"),
        ({"n": -5}, "n", ">= 1"),
        ({"n": 2.0}, "n", "int"),
        ({"n": "10"}, "n", "int"),
        ({"n": True}, "n", "int"),
        ({"n": 4, "size": 15}, "size", ">= 16"),
        ({"n": 4, "size": 32.0}, "size", "int"),
        ({"n": 4, "prevalence": -0.1}, "prevalence", "[0, 1]"),
        ({"n": 4, "prevalence": 1.5}, "prevalence", "[0, 1]"),
        ({"n": 4, "prevalence": math.nan}, "prevalence", "[0, 1]"),
        ({"n": 4, "prevalence": "0.5"}, "prevalence", "[0, 1]"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, name, allowed):
    with pytest.raises(ValueError) as info:
        synthetic_chest(**kwargs)
    message = str(info.value)
    assert message.startswith(name + " ") and allowed in message


def test_numpy_integers_and_floats_are_accepted():
    images, labels = synthetic_chest(np.int64(4), size=np.int32(16), prevalence=np.float32(0.5))
    assert images.shape == (4, 16, 16) and labels.sum() == 2


def test_mean_intensity_is_uninformative(chest64):
    images, labels = chest64
    auc = roc_auc_score(labels, images.mean(axis=(1, 2)))
    assert max(auc, 1.0 - auc) <= 0.65, f"mean intensity alone gives AUC {auc:.3f}"


def test_small_cnn_learns_it_and_beats_logistic_regression():
    """The article's CNN, Adam, a few epochs: good but imperfect, well above a linear model.

    Trained at 32x32 so that fitting stays well inside 30 s on a 2-core CPU;
    the default 64x64 behaves alike but costs about 4x per epoch.
    """
    from medlab._tensorflow import keras, seed_everything
    from medlab.models import seed_cnn

    size, n_train, n_test, epochs = 32, 4000, 1000, 6
    images, labels = synthetic_chest(n_train + n_test, size=size, seed=0)
    x_train, y_train = images[:n_train, ..., None], labels[:n_train]
    x_test, y_test = images[n_train:, ..., None], labels[n_train:]

    seed_everything(0)
    model = seed_cnn((size, size, 1))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
    model.fit(x_train, y_train, epochs=epochs, batch_size=32, verbose=0)
    cnn_auc = roc_auc_score(y_test, model.predict(x_test, verbose=0)[:, 0])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        linear = LogisticRegression(max_iter=100).fit(x_train.reshape(n_train, -1), y_train)
    lr_auc = roc_auc_score(y_test, linear.decision_function(x_test.reshape(n_test, -1)))

    figures = f"CNN AUC {cnn_auc:.3f}, LR AUC {lr_auc:.3f}"
    print(figures)  # shown with pytest -rP
    assert 0.90 <= cnn_auc < 0.99, figures
    assert lr_auc <= cnn_auc - 0.1, figures


# ---------------------------------------------------------------- several images per patient
def test_images_per_patient_returns_consecutive_patients_with_one_label_each():
    images, labels, patient = synthetic_chest(12, size=24, seed=0, images_per_patient=3)
    assert images.shape == (12, 24, 24) and images.dtype == np.float32
    np.testing.assert_array_equal(patient, np.repeat(np.arange(4), 3))
    for p in range(4):
        assert len(set(labels[patient == p].tolist())) == 1  # the label belongs to the patient
    assert labels.sum() == 3 * 2  # round(4 * 0.5) patients are positive
    again = synthetic_chest(12, size=24, seed=0, images_per_patient=3)
    np.testing.assert_array_equal(images, again[0])
    # the default draws are unchanged: two arrays, byte-identical to before the option existed
    assert len(synthetic_chest(4, size=16, seed=0)) == 2


def test_images_of_one_patient_share_anatomy_not_pose():
    """A patient's images differ (pose, exposure, noise) but share anatomy: the nearest
    neighbour in pixels is the same patient several times more often than by chance."""
    images, labels, patient = synthetic_chest(200, size=32, seed=1, images_per_patient=4,
                                              prevalence=0.0)
    assert not np.array_equal(images[0], images[1])  # new pose, exposure and noise
    # a nearest neighbour in standardised pixels is far more often the same patient than chance
    x = images.reshape(len(images), -1)
    x = (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)
    d = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    same = np.mean(patient[np.argmin(d, axis=1)] == patient)
    assert same > 3 * (3 / 199)  # chance: 3 of the 199 others; measured 0.075 (5x chance)


def test_images_per_patient_must_divide_n():
    with pytest.raises(ValueError, match=r"^images_per_patient 3: expected a divisor of n \(10\)$"):
        synthetic_chest(10, size=16, images_per_patient=3)
    with pytest.raises(ValueError, match=r"images_per_patient 0: expected an integer >= 1"):
        synthetic_chest(10, size=16, images_per_patient=0)
