"""Settings applied when medlab is imported inside a Jupyter kernel.

Figures are embedded as JPEG at 80 dpi: medical images and noise compress
poorly as PNG, and notebooks must stay small (under 1 MB) to be reviewed and
versioned. nbval compares a figure's text (``<Figure size ... with N Axes>``),
not its pixels, so the format does not change what the tests check.
"""

from __future__ import annotations

import sys

FIGURE_FORMAT = "jpeg"
FIGURE_DPI = 80


def configure_inline_figures():
    """Switch the inline backend to compact figures; do nothing outside a kernel."""
    IPython = sys.modules.get("IPython")  # a kernel has imported it; the command line has not
    if IPython is None:
        return False
    get_ipython = IPython.get_ipython
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return False
    import matplotlib
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats(FIGURE_FORMAT)
    matplotlib.rcParams["figure.dpi"] = FIGURE_DPI
    return True
