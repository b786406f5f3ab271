"""Real medical images that installed packages ship: no download needed.

====================  =============================================  ============================
name                  what it is                                     from
====================  =============================================  ============================
``"ct"``              CT slice, 128x128, Hounsfield units            pydicom ``CT_small.dcm``
``"mr"``              MR slice, 64x64                                pydicom ``MR_small.dcm``
``"epi_mri"``         4-D EPI (functional) MRI, 128x96x24x2          nibabel ``example4d.nii.gz``
``"retina"``          colour fundus photograph, 1411x1411x3          scikit-image
``"microaneurysms"``  retina detail with lesions, 102x102            scikit-image
``"ihc"``             immunohistochemistry stained colon, 512x512x3  scikit-image
``"phantom"``         Shepp-Logan head phantom, 400x400              scikit-image
====================  =============================================  ============================

>>> from medlab.data import sample
>>> ct = sample("ct")
>>> ct.units, ct.pixels.shape, ct.spacing
('HU', (128, 128), (0.661468, 0.661468))

Provenance and licences are in each ``Sample.source`` / ``Sample.license``
and in ``data/README.md``.
"""

from __future__ import annotations

import dataclasses
import functools
import os

import numpy as np

from medlab import validate
from medlab.data.scans import Sample, read_dicom, read_nifti


def _pydicom(name, **fields):
    """pydicom's test file ``name`` read as a :class:`Sample`, with ``fields`` replaced."""
    from pydicom.data import get_testdata_file

    path = get_testdata_file(name)  # shipped with pydicom; no download for these two
    if path is None:
        raise FileNotFoundError(f"pydicom's test file {name} is missing from this installation")
    return dataclasses.replace(read_dicom(path), **fields)


def _nibabel_file(name):
    import nibabel

    path = os.path.join(os.path.dirname(nibabel.__file__), "tests", "data", name)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"nibabel's test file {path} is missing from this installation")
    return path


def _ct():
    return _pydicom(
        "CT_small.dcm",
        description="CT slice (128x128, downsized), values in Hounsfield units",
        source="pydicom test data CT_small.dcm: downsized from NEMA WG04 sample CT1_UNC",
        license="MIT (pydicom); NEMA WG04 public DICOM sample data set",
    )


def _mr():
    return _pydicom(
        "MR_small.dcm",
        description="MR slice (64x64, downsized), signal in arbitrary units",
        source="pydicom test data MR_small.dcm: downsized from NEMA WG04 sample MR1_UNC",
        license="MIT (pydicom); NEMA WG04 public DICOM sample data set",
    )


def _epi_mri():
    scan = read_nifti(_nibabel_file("example4d.nii.gz"))
    return dataclasses.replace(
        scan,
        modality="MR (EPI, functional MRI time series)",
        description="4-D EPI MRI time series: 128x96x24 voxels of 2x2x2.2 mm, 2 time points",
        source="nibabel test data nibabel/tests/data/example4d.nii.gz (FSL 3.3 NIfTI-1)",
        license="MIT (nibabel, including its test data)",
    )


def _skimage(loader_name, units=None, **fields):
    import skimage.data

    pixels = getattr(skimage.data, loader_name)()  # bundled files: no download
    if pixels.ndim == 3:
        axes, default_units = ("row", "col", "channel"), "uint8 RGB"
    else:
        axes, default_units = ("row", "col"), "uint8 grey level"
    return Sample(pixels=pixels, axes=axes, units=units or default_units, spacing=None, **fields)


def _retina():
    return _skimage(
        "retina",
        modality="fundus photograph",
        description="colour photograph of a normal left retina (fundus), RGB",
        source="scikit-image skimage.data.retina(): Mikael Häggström, Wikimedia Commons, "
        "'Fundus photograph of normal left eye'",
        license="CC0 1.0 (public domain dedication)",
    )


def _microaneurysms():
    return _skimage(
        "microaneurysms",
        modality="fundus photograph (green channel)",
        description="retina detail with microaneurysms (diabetic retinopathy), green channel",
        source="scikit-image skimage.data.microaneurysms(): crop of 07_dr.JPG, High-Resolution "
        "Fundus (HRF) Image Database, Budai et al. 2013",
        license="CC0 (given by the owner, Andreas Maier)",
    )


def _ihc():
    return _skimage(
        "immunohistochemistry",
        modality="microscopy (immunohistochemistry, DAB + hematoxylin)",
        description="colonic glands, FHL2 protein stained brown (DAB), hematoxylin counterstain",
        source="scikit-image skimage.data.immunohistochemistry(): Center for Microscopy And "
        "Molecular Imaging (CMMI)",
        license="no known copyright restrictions (scikit-image data)",
    )


def _phantom():
    sample = _skimage(
        "shepp_logan_phantom",
        modality="phantom (synthetic head section for CT reconstruction)",
        units="relative attenuation, 0..1",
        description="Shepp-Logan head phantom, float in [0, 1]",
        source="scikit-image skimage.data.shepp_logan_phantom(): Shepp & Logan, "
        "IEEE Trans. Nucl. Sci. 21(3), 1974",
        license="BSD-3-Clause (scikit-image); a mathematical phantom",
    )
    return dataclasses.replace(sample, pixels=sample.pixels.astype(np.float32))


_LOADERS = {
    "ct": _ct,
    "mr": _mr,
    "epi_mri": _epi_mri,
    "retina": _retina,
    "microaneurysms": _microaneurysms,
    "ihc": _ihc,
    "phantom": _phantom,
}


def sample_names():
    """Names accepted by :func:`sample`, in catalogue order.

    Returns
    -------
    list of str
    """
    return list(_LOADERS)


@functools.lru_cache(maxsize=None)
def _cached(name):
    loaded = _LOADERS[name]()
    pixels = np.array(loaded.pixels)  # own the memory, then lock it
    pixels.setflags(write=False)
    return dataclasses.replace(loaded, pixels=pixels)


def sample(name):
    """Load a sample image that ships with an installed package.

    Loading is cached; every call returns a fresh, writable copy of the
    pixels, so changing them never affects the next call.

    Parameters
    ----------
    name : str
        One of :func:`sample_names`: ``"ct"``, ``"mr"``, ``"epi_mri"``,
        ``"retina"``, ``"microaneurysms"``, ``"ihc"``, ``"phantom"``.

    Returns
    -------
    Sample
        Pixels plus modality, units, spacing (mm, where known), description,
        source and licence. ``"ct"`` is float32 in HU (128, 128);
        ``"epi_mri"`` float32 (128, 96, 24, 2); colour images uint8
        (H, W, 3); ``"phantom"`` float32 in [0, 1].

    Raises
    ------
    ValueError
        If ``name`` is not a known sample.
    """
    validate.choice("sample name", name, sample_names())
    cached = _cached(name)
    return dataclasses.replace(cached, pixels=cached.pixels.copy())


__all__ = ["sample", "sample_names"]
