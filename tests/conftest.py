"""Shared test settings (hypothesis profile sized for a 2-core machine) and fixtures."""

import os

import pytest
from hypothesis import HealthCheck, settings

import medlab._tensorflow  # noqa: F401  (imports TensorFlow quietly before any test does; `import medlab` alone is light)

settings.register_profile(
    "medlab",
    max_examples=int(os.environ.get("MEDLAB_HYPOTHESIS_EXAMPLES", "40")),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("medlab")


@pytest.fixture
def write_damaged_npz():
    """``write(path, arrays, key, damage)``: an .npz of ``arrays`` whose member ``key`` is damaged.

    ``damage``: ``"truncated"`` (array data cut short), ``"header"`` (a broken .npy header),
    ``"not npy"`` (bytes without the .npy magic) or ``"crc"`` (bytes flipped after zipping, so
    the member's checksum fails).
    """
    import io
    import zipfile

    import numpy as np

    def npy_bytes(array):
        buffer = io.BytesIO()
        np.save(buffer, array)
        return buffer.getvalue()

    def write(path, arrays, key, damage):
        with zipfile.ZipFile(path, "w") as archive:
            for name, array in arrays.items():
                data = npy_bytes(array)
                if name == key:
                    data = {"truncated": data[: len(data) - 20],
                            "header": b"\x93NUMPY\x01\x00" + b"garbage" * 10,
                            "not npy": b"hello world" * 10,
                            "crc": data}[damage]
                archive.writestr(f"{name}.npy", data)
        if damage == "crc":
            raw = bytearray(path.read_bytes())
            at = raw.index(f"{key}.npy".encode()) + len(key) + 4 + 130  # inside the array data
            raw[at] ^= 0xFF
            path.write_bytes(bytes(raw))
        return path

    return write
