"""Real data shipped inside the package: PneumoniaMNIST, loaded offline in one call.

``load_pneumoniamnist()`` reads ``medlab/data/files/pneumoniamnist.npz`` (4 MB, the official
MedMNIST v2 splits, CC BY 4.0; attribution in ``medlab/data/files/README.md`` and
``data/README.md``), checks its MD5 and returns the three splits, like scikit-learn's
``load_digits``. No network, no download folder.
"""

from __future__ import annotations

from pathlib import Path

from medlab.data.medmnist import file_md5, load_medmnist

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
    path = PNEUMONIAMNIST_FILE if path is None else Path(path)
    repair = ("reinstall medlab (pip install --force-reinstall medlab, or `git checkout -- "
              "medlab/data/files` in a source checkout)")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the PneumoniaMNIST file shipped with medlab is missing; "
                                f"{repair}")
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


__all__ = [
    "PNEUMONIAMNIST_ATTRIBUTION", "PNEUMONIAMNIST_COUNTS", "PNEUMONIAMNIST_FILE", "PNEUMONIAMNIST_MD5",
    "load_pneumoniamnist", "pneumoniamnist_path",
]
