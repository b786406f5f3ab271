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
    ``"huge header"`` (a header longer than NumPy reads without pickle), ``"not npy"`` (bytes
    without the .npy magic) or ``"crc"`` (bytes flipped after zipping, so the member's
    checksum fails).
    """
    import io
    import zipfile

    import numpy as np

    def npy_bytes(array):
        buffer = io.BytesIO()
        np.save(buffer, array)
        return buffer.getvalue()

    def huge_header(array):
        text = (f"{{'descr': {array.dtype.str!r}, 'fortran_order': False, "
                f"'shape': {array.shape}, }}").ljust(20_000) + "\n"
        return b"\x93NUMPY\x02\x00" + len(text).to_bytes(4, "little") + text.encode() + array.tobytes()

    def write(path, arrays, key, damage):
        with zipfile.ZipFile(path, "w") as archive:
            for name, array in arrays.items():
                data = npy_bytes(array)
                if name == key:
                    data = {"truncated": data[: len(data) - 20],
                            "header": b"\x93NUMPY\x01\x00" + b"garbage" * 10,
                            "huge header": huge_header(array),
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


#: Seconds a reader may take on a FIFO before the test calls it blocked (generous: a reader
#: that refuses the FIFO returns at once, one that opens it waits forever).
FIFO_WAIT_S = 120


class _Fifos:
    """Make FIFOs and call readers on them without ever hanging the test run."""

    def __init__(self, folder):
        self.folder = folder
        self.paths = []

    def make(self, name):
        """A FIFO (named pipe) ``name`` in the test's folder (sub-folders created)."""
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(path)
        self.paths.append(path)
        return path

    def release(self):
        """Open each FIFO for writing and close it: a reader blocked in open() gets EOF."""
        for path in self.paths:
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:  # no reader waiting
                pass

    def call(self, function, *args, **kwargs):
        """``function(*args, **kwargs)`` in a thread; fail the test if it blocks."""
        import threading

        outcome = {}

        def target():
            try:
                outcome["value"] = function(*args, **kwargs)
            except BaseException as exc:  # re-raised in the test's thread
                outcome["error"] = exc

        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        thread.join(FIFO_WAIT_S)
        if thread.is_alive():
            self.release()
            thread.join(FIFO_WAIT_S)
            pytest.fail(f"{getattr(function, '__name__', function)} blocked on a FIFO "
                        "(opened it instead of refusing it)")
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("value")


@pytest.fixture
def fifos(tmp_path):
    """:class:`_Fifos` in ``tmp_path``; any reader still blocked is released at the end."""
    made = _Fifos(tmp_path)
    yield made
    made.release()


@pytest.fixture(scope="session")
def book_tools():
    """Skip a book test without Sphinx or MathJax (saying how to get them); under CI, fail."""
    from medlab.course import book

    reason = book.missing_tools()
    if reason is None:
        return
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):  # as tests/e2e
        pytest.fail(f"CI is set, so the book test must run, but {reason}", pytrace=False)
    pytest.skip(f"book test not run: {reason}")


@pytest.fixture(scope="module")
def tiny():
    """The learning-rate tests' data (test_training, test_widgets): 48 images of 12 x 12,
    label 1 with a bright square (learnable in a few epochs)."""
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.random((48, 12, 12, 1), dtype=np.float32) * 0.3
    y = np.arange(48) % 2
    x[y == 1, 3:7, 3:7] += 0.7
    return x, y


@pytest.fixture
def run_check(capsys):
    """``run_check(exercise, function)`` -> (passed, printed text) of the exercise's check
    (``medlab.checks.CHECKS``), which must write nothing to stderr."""
    from medlab import checks

    def run(exercise, function):
        verdict = checks.CHECKS[exercise](function)
        out, err = capsys.readouterr()
        assert err == ""
        return bool(verdict), out

    return run
