"""3-D hippocampus MRI with expert labels, shipped inside the package (MSD Task04, CC BY-SA 4.0).

``load_hippocampus()`` reads ``medlab/data/files/hippocampus3d.npz`` (11 MB): 200 T1-weighted MRI
volumes of the Medical Segmentation Decathlon's hippocampus task, 1 mm isotropic voxels, cropped
or padded to 40 x 56 x 40, each voxel labelled 0 background, 1 anterior (head), 2 posterior (body
and tail), split 150 / 20 / 30 by volume. ``hippocampus_nifti_paths()`` gives one original volume
and its label as published (NIfTI), for :func:`medlab.data.read_nifti`. Both MD5 checked; no
network. The data keep their own licence, CC BY-SA 4.0 (ShareAlike): attribution in
``medlab/data/files/README.md`` and ``data/README.md``. Only NumPy is imported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from medlab.data.bundled import _checked

_FILES = Path(__file__).resolve().parent / "files"
#: The shipped file and its MD5.
HIPPOCAMPUS_FILE = _FILES / "hippocampus3d.npz"
HIPPOCAMPUS_MD5 = "798194e2f4b5bfaa8c9e0e94ff2741f4"
#: Volume 1 of MSD Task04 (training split) as published: (path, MD5) of image and label.
HIPPOCAMPUS_NIFTI = {
    "image": (_FILES / "nifti" / "hippocampus_001_image.nii.gz", "7de26cb8d2525d4345fc3a1018505250"),
    "label": (_FILES / "nifti" / "hippocampus_001_label.nii.gz", "040b8b9e000b25fcde401ab35af27536"),
}
#: Volumes per split of the shipped file.
HIPPOCAMPUS_COUNTS = {"train": 150, "val": 20, "test": 30}
#: Voxels of one volume along the file's three axes.
HIPPOCAMPUS_SHAPE = (40, 56, 40)
#: Attribution to show with any figure made from the data (CC BY-SA 4.0: ShareAlike).
HIPPOCAMPUS_ATTRIBUTION = (
    "Medical Segmentation Decathlon, Task04 Hippocampus (Vanderbilt University Medical Center; "
    "Simpson et al., arXiv:1902.09063, 2019; Antonelli et al., Nature Communications 13, 4128, "
    "2022), CC BY-SA 4.0"
)


class VolumeSplit(NamedTuple):
    """One split of a labelled volume set.

    ``images`` uint8 (N, D, H, W); ``masks`` uint8 (N, D, H, W), one class number per voxel;
    ``ids`` int64 (N,), each volume's number in the source's file names; ``original_shapes``
    int64 (N, 3), each volume's size in voxels before it was cropped or padded.
    """

    images: np.ndarray
    masks: np.ndarray
    ids: np.ndarray
    original_shapes: np.ndarray


@dataclass(frozen=True)
class VolumeSet:
    """Labelled volumes in train / validation / test splits, with their voxel size and class names.

    ``splits`` maps "train", "val", "test" to a :class:`VolumeSplit`; ``spacing_mm`` is the voxel
    size along the three axes in mm; ``label_names[k]`` names class ``k`` of the masks.
    ``volume_set["train"]`` is ``volume_set.splits["train"]``.
    """

    splits: dict
    spacing_mm: tuple
    label_names: tuple

    def __getitem__(self, split):
        return self.splits[split]


def _hippocampus_path(path=None):
    """The shipped hippocampus file, after checking that it is there and intact (MD5).

    Parameters
    ----------
    path : str or os.PathLike, optional
        Another copy to check against the shipped file's MD5 instead (tests use this).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FileNotFoundError, ValueError
        The file is missing or damaged: a one-line message names the file and the repair.
    """
    return _checked(HIPPOCAMPUS_FILE if path is None else Path(path), HIPPOCAMPUS_MD5,
                    "hippocampus (MSD Task04)")


def load_hippocampus(path=None):
    """The 200 hippocampus MRI volumes with their expert labels, from the package.

    Parameters
    ----------
    path : str or os.PathLike, optional
        Default the shipped file (MD5 checked); see :func:`_hippocampus_path`.

    Returns
    -------
    VolumeSet
        ``["train"]``, ``["val"]``, ``["test"]``: :class:`VolumeSplit` of 150, 20 and 30 volumes
        (split by volume; a person may have two), ``images`` uint8 (N, 40, 56, 40),
        intensities scaled per volume (MR values have no absolute unit), ``masks`` uint8
        (N, 40, 56, 40), 0 background, 1 anterior (head), 2 posterior (body and tail); ``ids``; ``original_shapes``.
        ``spacing_mm`` (1.0, 1.0, 1.0); ``label_names`` ("background", "anterior", "posterior").
    """
    path = _hippocampus_path(path)
    with np.load(path, allow_pickle=False) as data:
        splits = {}
        for split, count in HIPPOCAMPUS_COUNTS.items():
            splits[split] = VolumeSplit(*(data[f"{split}_{key}"] for key in VolumeSplit._fields))
            shapes = [a.shape for a in splits[split]]
            if shapes != [(count, *HIPPOCAMPUS_SHAPE)] * 2 + [(count,), (count, 3)]:
                raise ValueError(f"{path}: the {split} split has shapes {shapes}: expected "
                                 f"{count} volumes of {HIPPOCAMPUS_SHAPE}")
        spacing = tuple(float(s) for s in data["spacing_mm"])
        names = tuple(str(name) for name in data["label_names"])
    return VolumeSet(splits, spacing, names)


def hippocampus_nifti_paths():
    """Volume 1 of MSD Task04 as published, image and label, MD5 checked.

    Read them with :func:`medlab.data.read_nifti` to see a real NIfTI header: voxel size in mm,
    affine, orientation. The label file holds 0 background, 1 anterior, 2 posterior.

    Returns
    -------
    (pathlib.Path, pathlib.Path)
        The image's and the label's ``.nii.gz`` file.
    """
    return tuple(_checked(path, md5, f"hippocampus NIfTI {kind}")
                 for kind, (path, md5) in HIPPOCAMPUS_NIFTI.items())


__all__ = [
    "HIPPOCAMPUS_ATTRIBUTION", "HIPPOCAMPUS_COUNTS", "HIPPOCAMPUS_FILE", "HIPPOCAMPUS_MD5",
    "HIPPOCAMPUS_NIFTI", "HIPPOCAMPUS_SHAPE", "VolumeSet", "VolumeSplit", "hippocampus_nifti_paths",
    "load_hippocampus",
]


def hippocampus_slices(volumes=5, split="test", axis=0, labelled_only=True, path=None):
    """A small 2-D binary set from the 3-D volumes: each volume's slices, one "patient" each.

    Labels 1 and 2 become one structure (the whole hippocampus); ``subject`` is the volume's
    id, so a split by subject keeps every slice of a volume on one side. The slices along
    axis 0 are 56 x 40 pixels of 1 mm.

    Parameters
    ----------
    volumes : int >= 1
        The first ``volumes`` volumes of ``split``.
    split : {"train", "val", "test"}
    axis : {0, 1, 2}
        The axis sliced along.
    labelled_only : bool
        Keep only the slices that show the structure (about 20 per volume along axis 0).
    path : optional
        Another copy of the shipped file (tests).

    Returns
    -------
    medlab.data.MaskSet
        ``images`` uint8 (N, H, W), ``masks`` uint8 (N, H, W) of 0/1, ``pixel_size_mm``
        (N,), ``subject`` (N,) int64; write it with :func:`medlab.data.save_masks`.
    """
    from medlab import validate
    from medlab.data.masks import MaskSet

    validate.choice("split", split, tuple(HIPPOCAMPUS_COUNTS))
    volumes = validate.integer("volumes", volumes, 1, HIPPOCAMPUS_COUNTS[split])
    axis = validate.integer("axis", axis, 0, 2)
    data = load_hippocampus(path)[split]
    images, masks, subject = [], [], []
    for volume, labels, volume_id in zip(data.images[:volumes], data.masks[:volumes], data.ids[:volumes]):
        image, mask = np.moveaxis(volume, axis, 0), np.moveaxis(labels > 0, axis, 0)
        keep = mask.any(axis=(1, 2)) if labelled_only else np.ones(len(mask), bool)
        images.append(image[keep])
        masks.append(mask[keep].astype(np.uint8))
        subject.append(np.full(int(keep.sum()), int(volume_id), np.int64))
    images, masks = np.concatenate(images), np.concatenate(masks)
    return MaskSet(images=images, masks=masks, pixel_size_mm=np.ones(len(images)),
                   subject=np.concatenate(subject))

