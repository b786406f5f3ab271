"""Medical images to learn on: bundled samples, your own scans, MedMNIST, image folders.

=====================================  ================================================
``sample(name)``, ``sample_names()``   real images shipped by pydicom, nibabel and
                                       scikit-image (CT in HU, MR, EPI MRI, retina, ...)
``read_dicom(path)``,                  your own DICOM / NIfTI files, as the same
``read_nifti(path)``                   :class:`Sample` type
``fetch_medmnist(flag, size, root)``   download an official MedMNIST ``.npz`` (MD5 checked)
``load_medmnist(path)``                read and validate a MedMNIST ``.npz``
``save_medmnist(path, splits)``        write one (e.g. from synthetic data)
``load_pneumoniamnist()``              PneumoniaMNIST's official splits, shipped with
                                       medlab (offline, MD5 checked, CC BY 4.0)
``load_hc18(size=64)``                 HC18 fetal head ultrasound with sonographers'
                                       masks, shipped with medlab (CC BY 4.0)
``load_hippocampus()``                 3-D hippocampus MRI (MSD Task04) with expert
                                       labels, shipped with medlab (CC BY-SA 4.0)
``hippocampus_nifti_paths()``          one of its volumes as published (NIfTI)
``load_masks(path)``,                  read and check any images + masks ``.npz``,
``save_masks(path, masks)``            write one
``hippocampus_slices(volumes)``        a small 2-D set of its slices, by volume
``find_pneumoniamnist()``              path of a PneumoniaMNIST file here (yours or
                                       the shipped one)
``export_image_folder(...)``           arrays -> ``root/<class>/*.png``
``image_folder_dataset(root, ...)``    ``root/<class>/*.png`` -> cached ``tf.data`` pipeline
``synthetic_chest(n, size, ...)``      synthetic chest X-rays, generated on the fly
``augment_images(images, ...)``        label-preserving augmentation (Keras layers)
``mixup_batches(x, y, w, ...)``        mixup: batches of blended images, targets, weights
``load_classification_data(...)``      any two-class source -> train/val/test arrays
                                       (:class:`ClassificationData`)
``split_by_image(n, ...)``,            train/val/test indices (:class:`SplitIndices`): by
``split_by_group(groups, ...)``,       image, whole groups per side, each class alike
``split_stratified(labels, ...)``
=====================================  ================================================

Where downloaded and generated files go: see ``data/README.md`` and
:func:`default_data_root`.
"""

from __future__ import annotations

import importlib

#: Each public name and the module defining it, imported on first use (PEP 562), so that
#: ``medlab data info`` does not pay for SciPy or TensorFlow.
_EXPORTS = {
    "check_image_folder": "folders", "export_image_folder": "folders",
    "image_folder_dataset": "folders",
    "MEDMNIST_CLASSES": "medmnist", "DownloadError": "downloads", "Split": "medmnist",
    "default_data_root": "downloads", "fetch_medmnist": "medmnist",
    "find_pneumoniamnist": "bundled", "load_medmnist": "medmnist", "medmnist_flags": "medmnist",
    "save_medmnist": "medmnist",
    "sample": "samples", "sample_names": "samples",
    "Sample": "scans", "read_dicom": "scans", "read_nifti": "scans",
    "synthetic_chest": "synthetic",
    "PNEUMONIAMNIST_ATTRIBUTION": "bundled", "load_pneumoniamnist": "bundled",
    "pneumoniamnist_path": "bundled",
    "HC18_ATTRIBUTION": "bundled", "hc18_path": "bundled", "load_hc18": "bundled",
    "MaskSet": "masks", "load_masks": "masks", "save_masks": "masks",
    "HIPPOCAMPUS_ATTRIBUTION": "hippocampus", "hippocampus_nifti_paths": "hippocampus",
    "load_hippocampus": "hippocampus", "hippocampus_slices": "hippocampus",
    "VolumeSet": "hippocampus", "VolumeSplit": "hippocampus",
    "ClassificationData": "classification", "load_classification_data": "classification",
    "SplitIndices": "splits", "groups_on_both_sides": "splits", "split_by_group": "splits",
    "split_by_image": "splits", "split_stratified": "splits",
    "XRAY_TRANSFORMS": "augment", "augment_images": "augment", "xray_augmentation": "augment",
    "mixup": "augment", "mixup_batches": "augment", "random_crops": "augment",
}


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'medlab.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"medlab.data.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))


__all__ = [
    "ClassificationData",
    "SplitIndices",
    "groups_on_both_sides",
    "load_classification_data",
    "split_by_group",
    "split_by_image",
    "split_stratified",
    "HC18_ATTRIBUTION",
    "HIPPOCAMPUS_ATTRIBUTION",
    "VolumeSet",
    "VolumeSplit",
    "hippocampus_nifti_paths",
    "load_hippocampus",
    "hippocampus_slices",
    "MaskSet",
    "hc18_path",
    "load_hc18",
    "load_masks",
    "save_masks",
    "MEDMNIST_CLASSES",
    "PNEUMONIAMNIST_ATTRIBUTION",
    "DownloadError",
    "Sample",
    "Split",
    "check_image_folder",
    "default_data_root",
    "export_image_folder",
    "fetch_medmnist",
    "find_pneumoniamnist",
    "image_folder_dataset",
    "load_medmnist",
    "load_pneumoniamnist",
    "medmnist_flags",
    "pneumoniamnist_path",
    "read_dicom",
    "read_nifti",
    "sample",
    "sample_names",
    "save_medmnist",
    "synthetic_chest",
    "XRAY_TRANSFORMS",
    "augment_images",
    "mixup",
    "mixup_batches",
    "random_crops",
    "xray_augmentation",
]
