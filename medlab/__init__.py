"""medlab: a Jupyter-first teaching kit for deep learning in medical image analysis.

Importing medlab first imports TensorFlow quietly (see ``medlab._tensorflow``),
so notebooks show no TensorFlow log lines on stderr.
"""

from medlab._tensorflow import keras, seed_everything, tf
from medlab import ops, params, verify  # noqa: E402  (after TensorFlow is imported quietly)

__version__ = "0.1.0"

from medlab._notebook import configure_inline_figures  # noqa: E402

configure_inline_figures()

__all__ = ["keras", "ops", "params", "seed_everything", "tf", "verify", "__version__"]
