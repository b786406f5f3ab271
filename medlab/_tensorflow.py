"""Import TensorFlow and Keras once, quietly, and make runs reproducible.

TensorFlow's C++ runtime writes log lines (oneDNN notices, CUDA probes) to the
process's stderr before its own log settings take effect. In a notebook they
become a stderr output that differs from machine to machine and breaks nbval.
``import medlab`` therefore imports TensorFlow here with file descriptor 2
pointed at ``/dev/null`` for the import and the first device query only;
Python exceptions still propagate normally.
"""

from __future__ import annotations

import contextlib
import os
import sys

# 3 = C++ errors too: TF 2.21 logs a harmless "NodeDef mentions attribute
# use_unbounded_threadpool" error at the first predict after op determinism is on.
# Python exceptions are unaffected. Set the variable yourself to see C++ logs.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def _silenced_fd2():
    """Send C-level writes to stderr (fd 2) to /dev/null inside the block."""
    try:
        saved = os.dup(2)
    except OSError:  # no fd 2 (some embedded interpreters): nothing to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        sys.stderr.flush()
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


with _silenced_fd2():
    import tensorflow as tf

    tf.config.list_physical_devices()  # CUDA/platform probes log here
    import keras


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy, TensorFlow and Keras and make TF ops deterministic.

    Same seed, same machine: bit-identical weights and training curves.
    """
    keras.utils.set_random_seed(int(seed))
    tf.config.experimental.enable_op_determinism()


__all__ = ["tf", "keras", "seed_everything"]
