"""Real data shipped inside the package, loaded offline in one call, MD5 checked.

``load_pneumoniamnist()`` reads ``medlab/data/files/pneumoniamnist.npz`` (4 MB, the official
MedMNIST v2 splits, CC BY 4.0) and returns the three splits, like scikit-learn's
``load_digits``. ``load_hc18()`` reads ``medlab/data/files/hc18_64.npz`` (2 MB, the 999 fetal
head ultrasound images of the HC18 challenge with the sonographers' masks, CC BY 4.0).
Attribution in ``medlab/data/files/README.md`` and ``data/README.md``. No network, no
download folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from medlab import files
from medlab.data.downloads import file_md5, repo_root
from medlab.data.medmnist import load_medmnist

#: The shipped file and its MD5 (the official splits; training images reordered).
PNEUMONIAMNIST_FILE = Path(__file__).resolve().parent / "files" / "pneumoniamnist.npz"
PNEUMONIAMNIST_MD5 = "238a40f8f78b9a61dfdd21e86aac35f9"
#: Images per split of the shipped file, and the pneumonia count of each.
PNEUMONIAMNIST_COUNTS = {"train": (4708, 3494), "val": (524, 389), "test": (624, 390)}
#: Attribution to show with any figure made from the file (CC BY 4.0).
PNEUMONIAMNIST_ATTRIBUTION = (
    "PneumoniaMNIST (MedMNIST v2, Yang et al., Scientific Data 2023; from Kermany et al., "
    "Cell 2018), CC BY 4.0"
)


def pneumoniamnist_path(path=None, md5=PNEUMONIAMNIST_MD5):
    """The shipped PneumoniaMNIST file, after checking that it is there and intact.

    Parameters
    ----------
    path : str or os.PathLike, optional
        Another copy to check instead (tests use this); default the shipped file.
    md5 : str
        Expected hex MD5.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FileNotFoundError, ValueError
        The file is missing or its MD5 differs (a broken install): the message names the
        file and says how to repair it.
    """
    return _checked(PNEUMONIAMNIST_FILE if path is None else Path(path), md5, "PneumoniaMNIST")


def _checked(path, md5, what):
    repair = ("reinstall medlab (pip install --force-reinstall medlab, or `git checkout -- "
              "medlab/data/files` in a source checkout)")
    try:
        files.regular_file(path, f"the {what} file shipped with medlab; {repair}")
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: the {what} file shipped with medlab is missing; "
                                f"{repair}") from None
    got = file_md5(path)
    if got != md5:
        raise ValueError(f"{path}: MD5 is {got}, expected {md5}: the file shipped with medlab is "
                         f"damaged or was changed; {repair}")
    return path


def load_pneumoniamnist(path=None):
    """PneumoniaMNIST's official train, validation and test splits, from the package.

    Parameters
    ----------
    path : str or os.PathLike, optional
        Default the file shipped with medlab (MD5 checked); see :func:`pneumoniamnist_path`.

    Returns
    -------
    dict of str -> medlab.data.Split
        ``{"train": Split(images, labels), "val": ..., "test": ...}``: images uint8
        (N, 28, 28), labels uint8 (N, 1), 0 = normal, 1 = pneumonia; 4708, 524 and 624
        images (:data:`PNEUMONIAMNIST_COUNTS`).
    """
    return load_medmnist(pneumoniamnist_path(path), n_classes=2)


def find_pneumoniamnist():
    """Path of a PneumoniaMNIST (28x28) file on this machine: yours, else the shipped one.

    Looks, in order, for ``$MEDLAB_DATA/pneumoniamnist.npz``,
    ``<repo>/data/pneumoniamnist.npz`` and ``./data/pneumoniamnist.npz`` (a file you
    downloaded with ``medlab data fetch pneumoniamnist``), where ``<repo>`` is the folder
    holding the medlab package; else the copy shipped inside medlab
    (:func:`medlab.data.pneumoniamnist_path`, MD5 checked). Both hold the official splits.

    Returns
    -------
    pathlib.Path
    """
    candidates = []
    if os.environ.get("MEDLAB_DATA"):
        candidates.append(Path(os.environ["MEDLAB_DATA"]).expanduser() / "pneumoniamnist.npz")
    repo = repo_root()
    candidates += [repo / "data" / "pneumoniamnist.npz", Path.cwd() / "data" / "pneumoniamnist.npz"]
    for path in candidates:
        if path.is_file():
            return path
    return pneumoniamnist_path()


# ------------------------------------------------------------------ HC18 (lesson 12)
#: The shipped HC18 files by image side, with their MD5.
HC18_FILES = {64: (Path(__file__).resolve().parent / "files" / "hc18_64.npz",
                   "e6db14a05051a98b5c6b7f6af2c0e5ea")}
#: Attribution to show with any figure made from the file (CC BY 4.0).
HC18_ATTRIBUTION = (
    "HC18 (van den Heuvel et al., PLOS ONE 13(8): e0200412, 2018; doi:10.5281/zenodo.1327317), "
    "CC BY 4.0"
)


def hc18_path(size=64, path=None):
    """The shipped HC18 file of side ``size``, after checking that it is there and intact.

    Parameters
    ----------
    size : int
        Image side in pixels; medlab ships 64.
    path : str or os.PathLike, optional
        Another copy to check against the shipped file's MD5 instead (tests use this).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError, FileNotFoundError
        An unknown size, or the file is missing or damaged (the message names the file).
    """
    if isinstance(size, bool) or size not in HC18_FILES:
        raise ValueError(f"HC18 size {size!r}: expected one of {', '.join(map(str, HC18_FILES))} "
                         "(the sizes shipped with medlab)")
    shipped, md5 = HC18_FILES[size]
    return _checked(shipped if path is None else Path(path), md5, f"HC18 {size} px")


def load_hc18(size=64, path=None):
    """The 999 HC18 fetal head ultrasound images with the sonographers' masks, from the package.

    Each 800 x 540 image of the HC18 challenge's training set was centred on a black square
    canvas and resized to ``size`` x ``size``; its pixel size was scaled with it.

    Parameters
    ----------
    size : int
        64 (the shipped file).
    path : str or os.PathLike, optional
        Default the shipped file (MD5 checked); see :func:`hc18_path`.

    Returns
    -------
    medlab.data.MaskSet
        ``images`` uint8 (999, size, size); ``masks`` uint8 (999, size, size), 1 inside the
        head; ``pixel_size_mm`` (999,) in mm; ``head_circumference_mm`` (999,), the
        sonographer's HC in mm; ``subject`` (999,), the examination number (806 examinations:
        split by it, never by image); ``filename`` (999,).
    """
    from medlab.data.masks import load_masks

    return load_masks(hc18_path(size, path))


__all__ = [
    "HC18_ATTRIBUTION", "HC18_FILES", "hc18_path", "load_hc18",
    "PNEUMONIAMNIST_ATTRIBUTION", "PNEUMONIAMNIST_COUNTS", "PNEUMONIAMNIST_FILE", "PNEUMONIAMNIST_MD5",
    "find_pneumoniamnist", "load_pneumoniamnist", "pneumoniamnist_path",
]
