"""Leakage by patient: what splitting images instead of patients does to a test figure.

A real archive holds several X-rays of one patient. Split its *images* at random into train
and test, and most test patients also have images in train: a model that recognises the
patient (the same anatomy in a new pose and exposure) scores them well without having learnt
the disease, and the test figure is optimistic. Split by *patient* and every test patient is
new, as in the clinic.

:func:`leakage_experiment` measures it in a controlled experiment on synthetic X-rays with
several images per patient (:func:`medlab.data.synthetic_chest`, ``images_per_patient``):
for each seed, the same images are split both ways, the same model is fitted on each train
split and its test AUC measured. The model is the simplest network there is, one sigmoid
unit on the pixels (lesson 04's dense layer; logistic regression, fitted by scikit-learn in
a fraction of a second, deterministic): flexible enough to memorise patients, fast enough
to repeat over seeds. The optimistic bias is the by-image AUC minus the by-patient AUC of
the same seed; its spread is the standard deviation over seeds.

How it was tuned (8 seeds each, 30 % test; bias = mean by-image minus by-patient AUC,
sd = its standard deviation over seeds, logistic regression C = 1 unless said):

======================================  =====  =====  ===============
patients x images, size                  bias   sd     smallest bias
======================================  =====  =====  ===============
100 x 4, 28 px                           0.11   0.07   0.02
100 x 4, 28 px, C = 10                   0.13   0.06   0.02
60 x 6, 28 px                            0.18   0.07   0.04
80 x 6, 28 px                            0.18   0.06   0.10
120 x 5, 24 px (the defaults)            0.15   0.05   0.09
======================================  =====  =====  ===============

More images per patient raise the bias (more of each test patient is memorised in train);
more patients shrink the spread (the by-patient test split holds more patients); stronger
regularisation lowers the bias (80 x 5 at 28 px on 5 other seeds: 0.19 with C = 10, 0.12 with
C = 0.1). The defaults gave the best bias-to-spread ratio, at about 2 s per seed on 2 cores.
In lesson 08 (seeds 0-3, 1-4 and 2-5): bias 0.17, 0.16 and 0.15 against a largest standard deviation of
0.06, 0.05 and 0.06; the by-image split won in every seed (by-image AUC about 0.84,
by-patient about 0.67).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from medlab import validate
from medlab.data.splits import groups_on_both_sides, split_by_group, split_by_image

#: The settings :func:`leakage_experiment` was tuned with (see the module docstring).
DEFAULTS = {"n_patients": 120, "images_per_patient": 5, "size": 24, "test_fraction": 0.3, "C": 1.0}


def _pixels(images):
    """(N, H, W) -> (N, H*W), each image standardised (zero mean, unit sd: exposure removed)."""
    x = validate.image_array("images", images, ndims=(3, 4)).astype(np.float64).reshape(len(images), -1)
    return (x - x.mean(axis=1, keepdims=True)) / (x.std(axis=1, keepdims=True) + 1e-8)


def _fit_and_score(images, labels, train, test, C=1.0):
    """Fit one sigmoid unit on the train images' pixels; return its test AUC.

    The unit is scikit-learn's ``LogisticRegression`` (L2 strength ``C``, lbfgs) on the pixels
    of each image, standardised image by image.
    """
    from sklearn.linear_model import LogisticRegression

    from medlab.metrics import auc

    x, y = _pixels(images), np.asarray(labels).reshape(-1)
    model = LogisticRegression(C=float(C), max_iter=5000).fit(x[train], y[train])
    return auc(y[test], model.predict_proba(x[test])[:, 1])


@dataclass(frozen=True)
class LeakageResult:
    """Test AUCs of the same model and images, split by image and by patient, per seed.

    Attributes
    ----------
    seeds : tuple of int
    auc_by_image, auc_by_patient : float arrays (S,)
    shared_by_image : int array (S,)
        Test patients with images in train, per seed, in the split by image.
    settings : dict
    """

    seeds: tuple
    auc_by_image: np.ndarray
    auc_by_patient: np.ndarray
    shared_by_image: np.ndarray
    settings: dict

    @property
    def bias(self):
        """By-image minus by-patient AUC of each seed (the optimism of the split by image)."""
        return self.auc_by_image - self.auc_by_patient

    @property
    def mean_bias(self):
        return float(np.mean(self.bias))

    @property
    def spread(self):
        """Standard deviation over seeds (ddof 1): the larger of the two splits' AUCs' and the bias's."""
        return float(max(np.std(a, ddof=1) for a in (self.auc_by_image, self.auc_by_patient, self.bias)))

    def table(self):
        """One line per seed and a mean line (figures to 2 decimals)."""
        lines = ["seed  AUC split by image  AUC split by patient   bias  shared patients"]
        for seed, a, b, n in zip(self.seeds, self.auc_by_image, self.auc_by_patient, self.shared_by_image):
            lines.append(f"{seed:>4}  {a:18.2f}  {b:20.2f}  {a - b:+5.2f}  {n:15d}")
        lines.append(f"mean  {np.mean(self.auc_by_image):18.2f}  {np.mean(self.auc_by_patient):20.2f}  "
                     f"{self.mean_bias:+5.2f}")
        return "\n".join(lines)


def leakage_experiment(seeds=(0, 1, 2, 3), n_patients=DEFAULTS["n_patients"],
                       images_per_patient=DEFAULTS["images_per_patient"], size=DEFAULTS["size"],
                       test_fraction=DEFAULTS["test_fraction"], C=DEFAULTS["C"]):
    """Split the same images by image and by patient, over seeds; measure the test AUC of each.

    For each seed: ``n_patients * images_per_patient`` synthetic X-rays (the seed draws the
    patients), split by image and by patient (``test_fraction`` of the images or patients,
    the seed draws the split), the same model fitted on each train split
    (:func:`_fit_and_score`), its AUC measured on each test split.

    Parameters
    ----------
    seeds : sequence of int, at least 2
    n_patients, images_per_patient, size : int
        Passed to :func:`medlab.data.synthetic_chest`.
    test_fraction : float in (0, 1)
    C : float
        Inverse L2 strength of the model.

    Returns
    -------
    LeakageResult
    """
    from medlab.data import synthetic_chest

    seeds = tuple(int(s) for s in seeds)
    if len(seeds) < 2:
        raise validate.ArgumentError(f"seeds {seeds}: expected at least 2 (to measure a spread)")
    by_image, by_patient, shared = [], [], []
    for seed in seeds:
        images, labels, patient = synthetic_chest(int(n_patients) * int(images_per_patient), size=size,
                                                  seed=seed, images_per_patient=images_per_patient)
        split = split_by_image(len(labels), val_fraction=0, test_fraction=test_fraction, seed=seed)
        by_image.append(_fit_and_score(images, labels, split.train, split.test, C))
        shared.append(groups_on_both_sides(patient, split.train, split.test))
        split = split_by_group(patient, val_fraction=0, test_fraction=test_fraction, seed=seed,
                               draw="permutation")
        by_patient.append(_fit_and_score(images, labels, split.train, split.test, C))
    settings = {"n_patients": int(n_patients), "images_per_patient": int(images_per_patient),
                "size": int(size), "test_fraction": float(test_fraction), "C": float(C)}
    return LeakageResult(seeds, np.array(by_image), np.array(by_patient), np.array(shared), settings)


__all__ = ["DEFAULTS", "LeakageResult", "leakage_experiment"]
