"""Segmentation files: ``.npz`` archives of images and their masks, checked on loading.

A mask file holds at least

=========================  ============================  ==========================================
key                        shape, dtype                  meaning
=========================  ============================  ==========================================
``images``                 (N, H, W) integer or float    the images (uint8 0-255, or floats)
``masks``                  (N, H, W) integer or bool     1 (True) inside the structure, 0 outside
``pixel_size_mm``          (N,) float, optional          side of one pixel of each image, in mm
``head_circumference_mm``  (N,) float, optional          the expert's circumference, in mm
``subject``                (N,) integer, optional        examination / patient of each image:
                                                         images that share it are split together
=========================  ============================  ==========================================

The HC18 file shipped with medlab (:func:`medlab.data.load_hc18`) has this layout, and so
can any file of your own; ``benchmarks/segmentation.py`` reads any of them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from medlab import files
from medlab.data.npz import open_npz, read_array

#: The optional per-image keys and the dtype kinds each accepts.
OPTIONAL_KEYS = {"pixel_size_mm": "uif", "head_circumference_mm": "uif", "subject": "ui",
                 "filename": "U"}


@dataclass(frozen=True)
class MaskSet:
    """Images with their masks and, when known, pixel sizes, circumferences and subjects.

    Attributes
    ----------
    images : ndarray (N, H, W)
    masks : ndarray (N, H, W) uint8, 0 or 1
    pixel_size_mm, head_circumference_mm : ndarray (N,) float64 or None
    subject : ndarray (N,) int64 or None
    filename : ndarray (N,) str or None
    """

    images: np.ndarray
    masks: np.ndarray
    pixel_size_mm: np.ndarray | None = None
    head_circumference_mm: np.ndarray | None = None
    subject: np.ndarray | None = None
    filename: np.ndarray | None = None

    def __len__(self):
        return len(self.images)

    def subset(self, index):
        """The images at ``index`` (an integer array or boolean mask), with all their fields."""
        return MaskSet(**{f.name: None if getattr(self, f.name) is None else getattr(self, f.name)[index]
                          for f in fields(self)})

    def describe(self):
        """One line: counts, size, foreground fraction and the optional fields present."""
        n, h, w = self.images.shape
        extra = [name for name in OPTIONAL_KEYS if getattr(self, name) is not None]
        subjects = "" if self.subject is None else f" from {len(np.unique(self.subject))} subjects"
        return (f"{n} images{subjects}, {h} x {w} pixels, foreground {100 * self.masks.mean():.1f} % "
                f"of the pixels; also: {', '.join(extra) or 'nothing else'}")


def _fail(path, text):
    raise ValueError(f"{path}: {text}")


def load_masks(path):
    """Read and check a mask file (see the module docstring).

    Parameters
    ----------
    path : str or os.PathLike
        An ``.npz`` file with ``images`` and ``masks``.

    Returns
    -------
    MaskSet

    Raises
    ------
    FileNotFoundError, ValueError
        The file is missing or not a regular file (a folder, FIFO, device), or a key is
        missing, damaged or has the wrong shape or dtype: the message names the file, the
        key and what was expected.
    """
    path = files.regular_file(path, "a mask file, an .npz with 'images' and 'masks'")
    archive = open_npz(path, "a mask file, an .npz with 'images' and 'masks'")
    with archive:
        for key in ("images", "masks"):
            if key not in archive.files:
                _fail(path, f"missing key {key!r}; the file has {sorted(archive.files)}")
        images, masks = read_array(archive, "images", path), read_array(archive, "masks", path)
        if images.ndim != 3 or images.dtype.kind not in "uif" or min(images.shape) < 1:
            _fail(path, f"'images' has shape {images.shape} and dtype {images.dtype}: expected "
                        "(N, H, W) integers or floats")
        if masks.shape != images.shape:
            _fail(path, f"'masks' has shape {masks.shape}: expected that of 'images', {images.shape}")
        if masks.dtype.kind not in "uib" or not np.all((masks == 0) | (masks == 1)):
            _fail(path, f"'masks' (dtype {masks.dtype}) must hold only 0 and 1")
        optional = {}
        for key, kinds in OPTIONAL_KEYS.items():
            if key not in archive.files:
                continue
            value = read_array(archive, key, path)
            if value.shape != (len(images),) or value.dtype.kind not in kinds:
                _fail(path, f"{key!r} has shape {value.shape} and dtype {value.dtype}: expected "
                            f"({len(images)},), one value per image")
            if kinds == "uif":
                value = value.astype(np.float64)
                if not np.all(np.isfinite(value) & (value > 0)):
                    _fail(path, f"{key!r} must hold positive finite numbers")
            elif kinds == "ui":
                value = value.astype(np.int64)
            optional[key] = value
    return MaskSet(images=images, masks=masks.astype(np.uint8), **optional)


def save_masks(path, masks, overwrite=False):
    """Write a :class:`MaskSet` as a mask file that :func:`load_masks` reads back unchanged.

    Parameters
    ----------
    path : str or os.PathLike
        Where to write the ``.npz`` (compressed).
    masks : MaskSet
        Its optional fields that are None are left out of the file.
    overwrite : bool
        Replace an existing file; else an existing ``path`` is an error.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    from pathlib import Path

    if not isinstance(masks, MaskSet):
        raise TypeError(f"masks must be a medlab.data.MaskSet, got {type(masks).__name__}")
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"path {str(path)!r}: expected a file name ending in .npz")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists: pass overwrite=True to replace it")
    arrays = {f.name: getattr(masks, f.name) for f in fields(masks) if getattr(masks, f.name) is not None}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    load_masks(path)  # what was written must read back
    return path


__all__ = ["OPTIONAL_KEYS", "MaskSet", "load_masks", "save_masks"]
