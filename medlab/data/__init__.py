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
``find_pneumoniamnist()``              path of a PneumoniaMNIST file here (yours or
                                       the shipped one)
``export_image_folder(...)``           arrays -> ``root/<class>/*.png``
``image_folder_dataset(root, ...)``    ``root/<class>/*.png`` -> cached ``tf.data`` pipeline
``synthetic_chest(n, size, ...)``      synthetic chest X-rays, generated on the fly
=====================================  ================================================

Where downloaded and generated files go: see ``data/README.md`` and
:func:`default_data_root`.
"""

from medlab.data.bundled import (
    PNEUMONIAMNIST_ATTRIBUTION,
    load_pneumoniamnist,
    pneumoniamnist_path,
)
from medlab.data.folders import check_image_folder, export_image_folder, image_folder_dataset
from medlab.data.medmnist import (
    MEDMNIST_CLASSES,
    DownloadError,
    Split,
    default_data_root,
    fetch_medmnist,
    find_pneumoniamnist,
    load_medmnist,
    medmnist_flags,
    save_medmnist,
)
from medlab.data.samples import sample, sample_names
from medlab.data.scans import Sample, read_dicom, read_nifti
from medlab.data.synthetic import synthetic_chest

__all__ = [
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
]
