"""Read a medical scan (DICOM or NIfTI file) into a :class:`Sample`.

A :class:`Sample` holds the pixels together with what is needed to interpret
them: modality, units of the values (Hounsfield units for CT), the physical
size of a pixel, and where the image comes from under which licence.

>>> from medlab.data import read_dicom
>>> scan = read_dicom("my_ct_slice.dcm")          # doctest: +SKIP
>>> scan.pixels.shape, scan.units, scan.spacing   # doctest: +SKIP
((512, 512), 'HU', (0.7, 0.7))
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from types import MappingProxyType
from typing import Mapping

import numpy as np

from medlab import files
from medlab.imaging import to_hounsfield


@dataclasses.dataclass(frozen=True, eq=False)
class Sample:
    """An image with the metadata needed to interpret it.

    Attributes
    ----------
    pixels : numpy.ndarray
        The image. 2-D ``(rows, cols)``, 2-D colour ``(rows, cols, 3)`` uint8,
        3-D ``(i, j, k)`` or 4-D ``(i, j, k, t)``; see ``axes``.
    modality : str
        What made the image, e.g. ``"CT"``, ``"MR"``, ``"fundus photograph"``.
    units : str
        Meaning of a pixel value, e.g. ``"HU"`` (Hounsfield units) for CT,
        ``"arbitrary"`` for MR signal, ``"uint8 RGB"`` for photographs.
    spacing : tuple of float or None
        Physical size of a pixel in millimetres along the first
        ``len(spacing)`` axes of ``pixels`` (the spatial ones); ``None`` when
        unknown. Channel and time axes are never included.
    axes : tuple of str
        Name of each axis of ``pixels``: ``"row"``, ``"col"``, ``"channel"``,
        voxel axes ``"i"``, ``"j"``, ``"k"``, time ``"t"``.
    description : str
        One line saying what the image shows.
    source : str
        Where the image comes from (file path or package data set).
    license : str
        Licence under which it may be used.
    info : Mapping[str, object]
        Further metadata, read-only, e.g. ``rescale_slope``,
        ``window_center`` (DICOM) or ``repetition_time`` (NIfTI).
    """

    pixels: np.ndarray
    modality: str
    units: str
    spacing: tuple | None
    axes: tuple
    description: str
    source: str
    license: str
    info: Mapping = dataclasses.field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self):
        if len(self.axes) != self.pixels.ndim:
            raise ValueError(
                f"axes {self.axes} has {len(self.axes)} names, pixels has {self.pixels.ndim} axes"
            )
        if self.spacing is not None and len(self.spacing) > self.pixels.ndim:
            raise ValueError(f"spacing {self.spacing} has more entries than pixels has axes")
        if not isinstance(self.info, MappingProxyType):
            object.__setattr__(self, "info", MappingProxyType(dict(self.info)))

    def __repr__(self):
        spacing = "unknown"
        if self.spacing is not None:
            spacing = "x".join(f"{s:g}" for s in self.spacing) + " mm"
        return (
            f"Sample({self.modality}, pixels {self.pixels.shape} {self.pixels.dtype} "
            f"[{self.units}], axes {self.axes}, spacing {spacing}: {self.description})"
        )


def _check_file(path, kind):
    return files.regular_file(path, f"a single {kind} file")


def _float_or_none(value):
    """A DICOM number as float; the first value of a multi-valued element; None if absent."""
    if value is None or value == "":
        return None
    try:
        if not isinstance(value, (str, bytes, int, float)):
            value = value[0]  # pydicom MultiValue, e.g. two WindowCenter values
        return float(value)
    except (TypeError, ValueError, IndexError):
        return None


def read_dicom(path) -> Sample:
    """Read one DICOM image file; CT values are converted to Hounsfield units.

    Parameters
    ----------
    path : str or os.PathLike
        A DICOM Part 10 file (``.dcm``) holding pixel data.

    Returns
    -------
    Sample
        ``pixels`` is float32: ``stored * RescaleSlope + RescaleIntercept``
        when the file has those elements (``units`` is then ``"HU"`` for CT,
        or the file's RescaleType), otherwise the stored values
        (``units="arbitrary"``). Shape ``(rows, cols)``,
        ``(frames, rows, cols)`` or ``(rows, cols, 3)`` for colour.
        ``spacing`` is DICOM PixelSpacing (row, column) in mm.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If ``path`` is not a regular file (a folder, FIFO, device), the file is
        not DICOM, is truncated, or holds no decodable image.
    """
    import pydicom
    from pydicom.errors import InvalidDicomError

    path = _check_file(path, "DICOM (.dcm)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path)
    except InvalidDicomError as exc:
        raise ValueError(
            f"{path} is not a DICOM file: expected a DICOM Part 10 file with the 'DICM' "
            f"marker at byte 128 ({exc})"
        ) from None
    except Exception as exc:  # truncated headers raise EOFError, struct.error, ...
        raise ValueError(
            f"{path} could not be read as DICOM (truncated or corrupt?): "
            f"{type(exc).__name__}: {exc}"
        ) from None
    if "PixelData" not in ds:
        raise ValueError(
            f"{path} holds no pixel data: expected a DICOM image; the file is truncated "
            "or is a non-image object (report, structured report, RT plan)"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stored = ds.pixel_array
    except Exception as exc:
        raise ValueError(
            f"{path}: its pixel data could not be decoded (truncated file, or a compressed "
            f"transfer syntax with no decoder installed): {type(exc).__name__}: {exc}"
        ) from None

    modality = str(ds.get("Modality", "") or "unknown")
    slope = _float_or_none(ds.get("RescaleSlope"))
    intercept = _float_or_none(ds.get("RescaleIntercept"))
    if slope is not None or intercept is not None:
        pixels = to_hounsfield(stored, 1.0 if slope is None else slope, intercept or 0.0)
        rescale_type = str(ds.get("RescaleType", "") or "")
        units = rescale_type or ("HU" if modality == "CT" else "rescaled")
    else:
        pixels = stored.astype(np.float32)
        units = "arbitrary"

    n_frames = int(ds.get("NumberOfFrames", 1) or 1)
    colour = int(ds.get("SamplesPerPixel", 1) or 1) > 1
    axes = ("row", "col")
    if n_frames > 1:
        axes = ("frame",) + axes
    if colour:
        axes = axes + ("channel",)
    spacing = None
    pixel_spacing = ds.get("PixelSpacing") or ds.get("ImagerPixelSpacing")
    if pixel_spacing is not None and len(pixel_spacing) == 2 and n_frames == 1:
        spacing = (float(pixel_spacing[0]), float(pixel_spacing[1]))

    info = {
        "rescale_slope": slope,
        "rescale_intercept": intercept,
        "window_center": _float_or_none(ds.get("WindowCenter")),
        "window_width": _float_or_none(ds.get("WindowWidth")),
        "slice_thickness_mm": _float_or_none(ds.get("SliceThickness")),
        "photometric_interpretation": str(ds.get("PhotometricInterpretation", "")),
        "stored_dtype": str(stored.dtype),
        "manufacturer": str(ds.get("Manufacturer", "")),
    }
    parts = [str(ds.get(k, "") or "").strip() for k in ("StudyDescription", "SeriesDescription")]
    description = " / ".join(p for p in parts if p) or f"{modality} image from {path.name}"
    return Sample(
        pixels=pixels,
        modality=modality,
        units=units,
        spacing=spacing,
        axes=axes,
        description=description,
        source=str(path),
        license="as set by the file's owner",
        info=info,
    )


_NIFTI_SPATIAL_TO_MM = {"mm": 1.0, "meter": 1000.0, "micron": 0.001}


def read_nifti(path) -> Sample:
    """Read a NIfTI-1 or NIfTI-2 volume (``.nii`` or ``.nii.gz``).

    Parameters
    ----------
    path : str or os.PathLike
        A NIfTI file.

    Returns
    -------
    Sample
        ``pixels`` is float32 with the header's scaling applied
        (``scl_slope``, ``scl_inter``), in voxel index order
        ``(i, j, k[, t])``. ``spacing`` holds the voxel size along i, j, k
        in mm (header ``pixdim``, converted from metres or microns when the
        header says so). ``info`` has ``orientation`` (e.g. ``"LAS"``: the
        anatomical direction each voxel axis points to), ``affine`` and,
        for 4-D files, ``repetition_time`` and ``time_units`` as stored in
        the header (not converted: many headers state the wrong unit).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If ``path`` is not a regular file (a folder, FIFO, device), the file is
        not NIfTI, or is truncated or corrupt.
    """
    import nibabel

    path = _check_file(path, "NIfTI (.nii or .nii.gz)")
    try:
        image = nibabel.load(path)
    except Exception as exc:
        raise ValueError(
            f"{path} is not a readable NIfTI file: expected a NIfTI-1/2 image "
            f"(.nii or .nii.gz) ({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(image, (nibabel.Nifti1Image, nibabel.Nifti2Image)):
        raise ValueError(
            f"{path} is a {type(image).__name__}, not NIfTI: expected a .nii or .nii.gz file"
        )
    try:
        pixels = image.get_fdata(dtype=np.float32)
    except Exception as exc:  # truncated .nii.gz: EOFError; short .nii: OSError/ValueError
        raise ValueError(
            f"{path}: the voxel data could not be read (truncated or corrupt file?): "
            f"{type(exc).__name__}: {exc}"
        ) from None

    header = image.header
    spatial_unit, time_unit = header.get_xyzt_units()
    zooms = tuple(float(z) for z in header.get_zooms())
    n_spatial = min(pixels.ndim, 3)
    to_mm = _NIFTI_SPATIAL_TO_MM.get(spatial_unit, 1.0)
    spacing = tuple(z * to_mm for z in zooms[:n_spatial]) if zooms else None
    axes = ("i", "j", "k", "t", "u", "v", "w")[: pixels.ndim]
    info = {
        "orientation": "".join(nibabel.aff2axcodes(image.affine)),
        "affine": tuple(tuple(float(v) for v in row) for row in image.affine),
        "spatial_units": (spatial_unit if spatial_unit in _NIFTI_SPATIAL_TO_MM
                          else "unknown (assumed mm)"),
        "stored_dtype": str(image.get_data_dtype()),
        "nifti_description": header["descrip"].item().decode("latin-1").strip("\x00 "),
    }
    if pixels.ndim >= 4 and len(zooms) >= 4:
        info["repetition_time"] = zooms[3]  # as the header says; headers often get the unit wrong
        info["time_units"] = time_unit
    return Sample(
        pixels=pixels,
        modality="unknown (NIfTI stores no modality)",
        units="arbitrary",
        spacing=spacing,
        axes=axes,
        description=f"{pixels.ndim}-D NIfTI volume {pixels.shape} from {os.path.basename(path)}",
        source=str(path),
        license="as set by the file's owner",
        info=info,
    )


__all__ = ["Sample", "read_dicom", "read_nifti"]
