"""Read the arrays of an ``.npz`` archive we did not write, telling damage from pickles.

``archive[key]`` raises the same ValueError for an object array (which needs pickle) and for
a truncated or broken array, and returns raw bytes for a member that is not ``.npy`` at
all. :func:`load_array` reads the member's ``.npy`` header first, so that only a genuine
object array is reported as needing pickle; anything else that fails is damaged.

Only NumPy is imported here (``medlab data info`` uses this module).
"""

from __future__ import annotations

import numpy as np

__all__ = ["load_array", "read_array"]

_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}


def _member_name(archive, key):
    names = archive.zip.namelist()
    return key if key in names else f"{key}.npy"


def _stored_dtype(archive, key):
    """The dtype in ``key``'s ``.npy`` header (None for a header version read only by NumPy)."""
    with archive.zip.open(_member_name(archive, key)) as handle:
        version = np.lib.format.read_magic(handle)
        reader = _HEADER_READERS.get(version)
        return None if reader is None else reader(handle)[2]


def load_array(archive, key):
    """``archive[key]`` as an ndarray, never unpickling.

    Parameters
    ----------
    archive : numpy.lib.npyio.NpzFile
        Opened with ``allow_pickle=False``.
    key : str

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        With a short reason (no file name): ``"an object array (...)"`` when the header
        says so, else ``"damaged or truncated (...)"``.
    """
    try:
        dtype = _stored_dtype(archive, key)
    except Exception as exc:  # wrong magic, broken header, bad zip member
        raise ValueError(f"damaged or truncated ({type(exc).__name__}: {exc})") from None
    if dtype is not None and dtype.hasobject:
        raise ValueError(f"an object array (dtype {dtype}), which needs pickle to load; "
                         "refused, since unpickling can run code. Expected a plain numeric array")
    try:
        array = archive[key]
    except Exception as exc:  # data cut short, checksum mismatch, ...
        raise ValueError(f"damaged or truncated ({type(exc).__name__}: {exc})") from None
    if not isinstance(array, np.ndarray):
        raise ValueError("damaged or truncated (not a .npy array)")
    return array


def read_array(archive, key, path):
    """:func:`load_array`, its error naming the file and the key."""
    try:
        return load_array(archive, key)
    except ValueError as exc:
        raise ValueError(f"{path}: key {key!r} is {exc}") from None
