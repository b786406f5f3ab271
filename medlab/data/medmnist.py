"""MedMNIST 2D ``.npz`` files: download, verify and load them without PyTorch.

A MedMNIST file is a NumPy ``.npz`` archive with six arrays:

==================  ==========================================  =======
key                 shape                                       dtype
==================  ==========================================  =======
``train_images``    (N, H, W) grey or (N, H, W, 3) colour        uint8
``train_labels``    (N, L): one column per label (L=1 mostly)    integer
``val_images``,     same for the validation split
``val_labels``
``test_images``,    same for the test split
``test_labels``
==================  ==========================================  =======

Where files go
--------------
:func:`fetch_medmnist` saves into ``root``; by default
:func:`medlab.data.downloads.default_data_root`: the folder named by the ``MEDLAB_DATA``
environment variable if set, else ``data/`` of the medlab source checkout
(ignored by git), else ``./data`` in the current working directory.

Source: MedMNIST v2/v3 (Yang et al., Scientific Data 2023), Zenodo record
10519652, licence CC BY 4.0 (DermaMNIST: CC BY-NC 4.0). URLs and MD5 sums are
those of the MedMNIST project's ``INFO`` dictionary (``medmnist/info.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from medlab import files, validate
from medlab.data.downloads import check_folder, default_data_root, download, file_md5
from medlab.data.npz import open_npz, read_array

SPLITS = ("train", "val", "test")
_ZENODO = "https://zenodo.org/records/10519652/files/"

# flag -> size -> MD5 of the official file, from MedMNIST's INFO dictionary.
_MD5 = {
    "pathmnist": {
        28: "a8b06965200029087d5bd730944a56c1",
        64: "55aa9c1e0525abe5a6b9d8343a507616",
        128: "ac42d08fb904d92c244187169d1fd1d9",
        224: "2c51a510bcdc9cf8ddb2af93af1eadec",
    },
    "chestmnist": {
        28: "02c8a6516a18b556561a56cbdd36c4a8",
        64: "9de6cd0b934ebb5b7426cfba5efbae16",
        128: "db107e5590b27930b62dbaf558aebee3",
        224: "45bd33e6f06c3e8cdb481c74a89152aa",
    },
    "dermamnist": {
        28: "0744692d530f8e62ec473284d019b0c7",
        64: "b70a2f5635c6199aeaa28c31d7202e1f",
        128: "2defd784463fa5243564e855ed717de1",
        224: "8974907d8e169bef5f5b96bc506ae45d",
    },
    "octmnist": {
        28: "c68d92d5b585d8d81f7112f81e2d0842",
        64: "e229e9440236b774d9f0dfef9d07bdaf",
        128: "0a97e76651ace45c5d943ee3f65b63ae",
        224: "abc493b6d529d5de7569faaef2773ba3",
    },
    "pneumoniamnist": {
        28: "28209eda62fecd6e6a2d98b1501bb15f",
        64: "8f4eceb4ccffa70c672198ea285246c6",
        128: "05b46931834c231683c68f40c47b2971",
        224: "d6a3c71de1b945ea11211b03746c1fe1",
    },
    "retinamnist": {
        28: "bd4c0672f1bba3e3a89f0e4e876791e4",
        64: "afda852cc34dcda56f86ad2b2457dbcc",
        128: "e48e916a24454daf90583d4e6efb1a18",
        224: "eae7e3b6f3fcbda4ae613ebdcbe35348",
    },
    "breastmnist": {
        28: "750601b1f35ba3300ea97c75c52ff8f6",
        64: "742edef2a1fd1524b2efff4bd7ba9364",
        128: "363e4b3f8d712e9b5de15470a2aaadf1",
        224: "b56378a6eefa9fed602bb16d192d4c8b",
    },
    "bloodmnist": {
        28: "7053d0359d879ad8a5505303e11de1dc",
        64: "2b94928a2ae4916078ca51e05b6b800b",
        128: "adace1e0ed228fccda1f39692059dd4c",
        224: "b718ff6835fcbdb22ba9eacccd7b2601",
    },
    "tissuemnist": {
        28: "ebe78ee8b05294063de985d821c1c34b",
        64: "123ece2eba09d0aa5d698fda57103344",
        128: "61b955355d7425a89687b06cca3ce0c2",
        224: "b077128c4a949f0a4eb01517f9037b9c",
    },
    "organamnist": {
        28: "68e3f8846a6bd62f0c9bf841c0d9eacc",
        64: "2dcccc29b88e6da5a01161ef20cda288",
        128: "eeae80d0a227a8d099027e1b3cfd3b60",
        224: "50747347e05c87dd3aaf92c49f9f3170",
    },
    "organcmnist": {
        28: "b9ceb9546e10131b32923c5bbeaea2b1",
        64: "3ce34a8724ea6f548e6db4744d03b6a9",
        128: "773c1f009daa3fe5d9a2a201b2a7ed94",
        224: "050f5e875dc056f6768abf94ec9995d1",
    },
    "organsmnist": {
        28: "9ab87b696fb54e2a387ebe992d6ed5f1",
        64: "53a6d115339d874c25e309a994ff46d3",
        128: "ded0c5fa01a95dc4978b956f613e9b8e",
        224: "b354719e553fbbb2513d5533f52a4cb1",
    },
}

_ORGANS = ("bladder", "femur-left", "femur-right", "heart", "kidney-left", "kidney-right",
           "liver", "lung-left", "lung-right", "pancreas", "spleen")

#: Class names of each flag, index = label value (MedMNIST ``INFO[flag]["label"]``).
MEDMNIST_CLASSES = {
    "pathmnist": ("adipose", "background", "debris", "lymphocytes", "mucus", "smooth muscle",
                  "normal colon mucosa", "cancer-associated stroma",
                  "colorectal adenocarcinoma epithelium"),
    "chestmnist": ("atelectasis", "cardiomegaly", "effusion", "infiltration", "mass", "nodule",
                   "pneumonia", "pneumothorax", "consolidation", "edema", "emphysema",
                   "fibrosis", "pleural", "hernia"),
    "dermamnist": ("actinic keratoses and intraepithelial carcinoma", "basal cell carcinoma",
                   "benign keratosis-like lesions", "dermatofibroma", "melanoma",
                   "melanocytic nevi", "vascular lesions"),
    "octmnist": ("choroidal neovascularization", "diabetic macular edema", "drusen", "normal"),
    "pneumoniamnist": ("normal", "pneumonia"),
    "retinamnist": ("0", "1", "2", "3", "4"),
    "breastmnist": ("malignant", "normal, benign"),
    "bloodmnist": ("basophil", "eosinophil", "erythroblast",
                   "immature granulocytes(myelocytes, metamyelocytes and promyelocytes)",
                   "lymphocyte", "monocyte", "neutrophil", "platelet"),
    "tissuemnist": ("Collecting Duct, Connecting Tubule", "Distal Convoluted Tubule",
                    "Glomerular endothelial cells", "Interstitial endothelial cells",
                    "Leukocytes", "Podocytes", "Proximal Tubule Segments",
                    "Thick Ascending Limb"),
    "organamnist": _ORGANS,
    "organcmnist": _ORGANS,
    "organsmnist": _ORGANS,
}

#: ChestMNIST is multi-label: 14 columns of 0/1; every other flag has one label column.
MULTI_LABEL_FLAGS = frozenset({"chestmnist"})


class Split(NamedTuple):
    """One split of a MedMNIST file.

    Attributes
    ----------
    images : numpy.ndarray of uint8, (N, H, W) or (N, H, W, 3)
    labels : numpy.ndarray of int, (N, L)
    """

    images: np.ndarray
    labels: np.ndarray


def medmnist_flags():
    """Flags :func:`fetch_medmnist` knows, e.g. ``"pneumoniamnist"``.

    Returns
    -------
    list of str
    """
    return sorted(_MD5)


def medmnist_filename(flag, size=28):
    """File name of a MedMNIST flag at an image size.

    ``medmnist_filename("pneumoniamnist") == "pneumoniamnist.npz"``,
    ``medmnist_filename("pneumoniamnist", 64) == "pneumoniamnist_64.npz"``.
    """
    return f"{flag}.npz" if size == 28 else f"{flag}_{size}.npz"


def medmnist_url(flag, size=28):
    """Official Zenodo download URL and MD5 of a MedMNIST file.

    Parameters
    ----------
    flag : str
        One of :func:`medmnist_flags`.
    size : int
        Image side in pixels: 28, 64, 128 or 224.

    Returns
    -------
    (url, md5) : tuple of str

    Raises
    ------
    ValueError
        If the flag or size is unknown.
    """
    validate.choice("MedMNIST flag", flag, medmnist_flags())
    validate.choice(f"size for {flag}", size, sorted(_MD5[flag]))
    return f"{_ZENODO}{medmnist_filename(flag, size)}?download=1", _MD5[flag][size]


def fetch_medmnist(flag, size=28, root=None, *, opener=None, timeout=10.0, progress=True):
    """Download an official MedMNIST file once; return its path.

    Parameters
    ----------
    flag : str
        Data set, e.g. ``"pneumoniamnist"``; see :func:`medmnist_flags`.
    size : int
        Image side in pixels: 28, 64, 128 or 224.
    root : str or os.PathLike, optional
        Folder to save into (created if missing); default
        :func:`medlab.data.downloads.default_data_root` (``$MEDLAB_DATA``, else the checkout's
        ``data/``, else ``./data``).
    opener : callable, optional
        ``opener(url, timeout)`` -> readable binary stream; see :func:`medlab.data.downloads.download`.
    timeout : float
        Seconds before giving up on a connection (offline machines fail fast).
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    pathlib.Path
        ``root / "<flag>.npz"`` (size 28) or ``root / "<flag>_<size>.npz"``.

    Raises
    ------
    ValueError
        Unknown flag or size; ``root`` is a file or lies inside one (checked before
        downloading); or the download's MD5 does not match.
    FileExistsError
        A file is already at the destination but its MD5 is wrong; it is
        left untouched for you to inspect, move or delete.
    DownloadError
        Offline, server unreachable or download interrupted; the message says
        the URL and where to put the file by hand.
    """
    flag = str(flag).lower()
    url, md5 = medmnist_url(flag, size)
    root = default_data_root() if root is None else Path(root)
    check_folder("root", root)
    dest = root / medmnist_filename(flag, size)
    if dest.exists():
        files.regular_file(dest, f"the official {flag} (size {size}) file")  # a FIFO would hang
        got = file_md5(dest)
        if got == md5:
            return dest
        raise FileExistsError(
            f"{dest} exists but its MD5 is {got}, expected {md5} for the official {flag} "
            f"(size {size}) file. It was left untouched: move or delete it, then fetch again."
        )
    return download(url, dest, md5, opener=opener, timeout=timeout, progress=progress)


def _invalid(path, message):
    return ValueError(f"{path}: {message}")


def load_medmnist(path, n_classes=None):
    """Load and validate a MedMNIST 2D ``.npz`` file.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.npz`` file.
    n_classes : int, optional
        If given, every label must be in ``[0, n_classes)``.

    Returns
    -------
    dict of str -> Split
        ``{"train": Split(images, labels), "val": ..., "test": ...}``;
        images uint8 (N, H, W) or (N, H, W, 3), labels integer (N, L).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        Naming the file and the key: not a regular file (a folder, FIFO, device), not an
        ``.npz`` (zip) file or a damaged one, a key missing, an array damaged or
        truncated, object (pickled) arrays, images not uint8, of the wrong rank, smaller
        than 1 x 1 pixels or of another size than the train split's, labels not integer,
        not 2-D, without a column, with another number of columns than train's, negative
        or ``>= n_classes``, or images and labels with different N.
    """
    n_classes = validate.integer("n_classes", n_classes, low=1, allow_none=True)
    path = files.regular_file(path, "a MedMNIST .npz; medlab.data.fetch_medmnist downloads one")
    archive = open_npz(path, "a MedMNIST .npz archive with train_images, train_labels, "
                             "val_images, ... keys")
    with archive:
        missing = [f"{s}_{kind}" for s in SPLITS for kind in ("images", "labels")
                   if f"{s}_{kind}" not in archive.files]
        if missing:
            raise _invalid(path, f"missing key(s) {missing}; the file has {sorted(archive.files)}")
        arrays = {key: read_array(archive, key, path)
                  for key in (f"{s}_{kind}" for s in SPLITS for kind in ("images", "labels"))}
    splits = {}
    for split in SPLITS:
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        key = f"{split}_images"
        if images.dtype != np.uint8:
            raise _invalid(path, f"key {key!r} has dtype {images.dtype}; expected uint8")
        if not (images.ndim == 3 or (images.ndim == 4 and images.shape[-1] == 3)):
            raise _invalid(path, f"key {key!r} has shape {images.shape}; "
                                 "expected (N, H, W) or (N, H, W, 3)")
        if min(images.shape[1:3]) < 1:
            raise _invalid(path, f"key {key!r} has shape {images.shape}; expected images of "
                                 "at least 1 x 1 pixels")
        if split != SPLITS[0] and images.shape[1:] != splits[SPLITS[0]].images.shape[1:]:
            first = splits[SPLITS[0]].images.shape[1:]
            raise _invalid(path, f"key {key!r} has shape {images.shape} but {SPLITS[0]}_images "
                                 f"has images of shape {first}; expected the same in every split")
        key = f"{split}_labels"
        if not np.issubdtype(labels.dtype, np.integer):
            raise _invalid(path, f"key {key!r} has dtype {labels.dtype}; "
                                 "expected an integer dtype")
        if labels.ndim != 2:
            raise _invalid(path, f"key {key!r} has shape {labels.shape}; "
                                 "expected (N, L), e.g. (N, 1)")
        if labels.shape[1] < 1:
            raise _invalid(path, f"key {key!r} has shape {labels.shape}; expected at least one "
                                 "label column, (N, L) with L >= 1")
        if split != SPLITS[0] and labels.shape[1] != splits[SPLITS[0]].labels.shape[1]:
            raise _invalid(path, f"key {key!r} has {labels.shape[1]} label columns but "
                                 f"{SPLITS[0]}_labels has {splits[SPLITS[0]].labels.shape[1]}; "
                                 "expected the same in every split")
        if labels.shape[0] != images.shape[0]:
            raise _invalid(path, f"key {key!r} has {labels.shape[0]} rows but {split}_images has "
                        f"{images.shape[0]} images; expected the same N")
        if labels.size:
            low, high = int(labels.min()), int(labels.max())
            if low < 0:
                raise _invalid(path, f"key {key!r} has negative label {low}; expected labels >= 0")
            if n_classes is not None and high >= n_classes:
                raise _invalid(path, f"key {key!r} has label {high}; expected labels in "
                            f"[0, {n_classes}) for n_classes={n_classes}")
        splits[split] = Split(images, labels)
    return splits




def save_medmnist(path, splits, overwrite=False):
    """Write splits as a MedMNIST-format ``.npz`` (compressed), atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Destination, ending in ``.npz``; its folder is created if missing.
    splits : mapping of str -> (images, labels)
        Keys ``"train"``, ``"val"``, ``"test"``; images uint8 (N, H, W) or
        (N, H, W, 3), labels integer (N, L).
    overwrite : bool
        Replace an existing file. By default an existing file is an error.

    Returns
    -------
    pathlib.Path
        ``path``. The file is written to a temporary name first and renamed
        when complete, then read back with :func:`load_medmnist`.

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.
    ValueError
        If ``path`` does not end in ``.npz``, a split is missing, or the
        arrays break the MedMNIST format.
    """
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"{path}: expected a file name ending in .npz")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; not overwriting it (pass overwrite=True / --force)")
    missing = [s for s in SPLITS if s not in splits]
    if missing:
        raise ValueError(f"splits is missing {missing}; expected keys {list(SPLITS)}")
    arrays = {}
    for split in SPLITS:
        images, labels = splits[split]
        arrays[f"{split}_images"] = np.asarray(images)
        arrays[f"{split}_labels"] = np.asarray(labels)
    def check(tmp):
        try:
            load_medmnist(tmp)  # same checks as for a downloaded file
        except ValueError as exc:  # name the file being written, not the temporary one
            raise ValueError(str(exc).replace(str(tmp), str(path))) from None

    with files.atomic_write(path, overwrite=overwrite, check=check) as out:
        np.savez_compressed(out, **arrays)
    return path


__all__ = [
    "SPLITS", "MEDMNIST_CLASSES", "MULTI_LABEL_FLAGS", "Split",
    "medmnist_flags", "medmnist_filename", "medmnist_url", "fetch_medmnist",
    "load_medmnist", "save_medmnist",
]
