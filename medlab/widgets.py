"""Interactive explorers for the lessons, and the pure functions behind them.

Each widget is an ``ipywidgets.interactive`` around a pure function that
returns a small result object; the widget only draws it. The functions are
tested directly, and a notebook prints them in a compared cell after the
(uncompared) widget cell:

=================================  ==========================================
pure function                      widget
=================================  ==========================================
:func:`convolution_view`           :func:`kernel_explorer` (kernel size, type,
                                   padding)
:func:`pooling_view`               :func:`pooling_explorer` (pool size, max or
                                   average, stride)
``training.learning_rate_trial``   :func:`learning_rate_explorer` (learning
                                   rate, log scale; lesson 07)
:func:`threshold_view`             :func:`threshold_explorer` (threshold of a
                                   probability map; lesson 12)
:func:`slice_view`                 :func:`slice_explorer` (plane and slice of
                                   a labelled volume; lesson 13)
=================================  ==========================================

``widget.result`` is always the latest result object, so a test can set a
slider's ``.value`` and read what the student would see. TensorFlow is imported
only by the widgets that train or segment, when they are called.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from medlab import ops, validate
from medlab.kernels import KERNEL_KINDS, MAX_KERNEL_SIZE, filter_image, make_kernel

POOL_KINDS = ("max", "average")
MAX_POOL_SIZE = 8
PADDINGS = ops.PADDINGS


def _image2d(image):
    image = validate.image_array("image", image, ndims=(2,), dtype_kinds="biuf")
    return image.astype(np.float32, copy=False)


@dataclass(frozen=True, eq=False)
class ConvolutionView:
    """What :func:`convolution_view` computed.

    Attributes
    ----------
    image : float32 array (H_out, W_out)
        The filtered image.
    kernel : float32 array (k, k)
        The kernel that was applied.
    input_shape, output_shape : tuple of int
        (height, width) before and after.
    text : str
        One line, e.g. ``"kernel 7x7 gaussian, valid padding, stride 1: input (128, 128)
        -> output (122, 122)"``.
    """

    image: np.ndarray
    kernel: np.ndarray
    input_shape: tuple
    output_shape: tuple
    text: str


@dataclass(frozen=True, eq=False)
class PoolingView:
    """What :func:`pooling_view` computed.

    Attributes
    ----------
    image : float32 array (H_out, W_out)
        The pooled image.
    input_shape, output_shape : tuple of int
        (height, width) before and after.
    text : str
        One line, e.g. ``"max pooling 2x2, stride 2: input (128, 128) -> output (64, 64)"``.
    """

    image: np.ndarray
    input_shape: tuple
    output_shape: tuple
    text: str


# ------------------------------------------------------------ pure functions
def convolution_view(image, kernel_kind, kernel_size, padding="valid", stride=1):
    """Filter a 2-D image with a named kernel and describe the shapes.

    Parameters
    ----------
    image : array (H, W)
    kernel_kind : str
        One of :data:`medlab.kernels.KERNEL_KINDS`.
    kernel_size : int
        Odd, 1 to 15.
    padding : {"valid", "same"}
    stride : int

    Returns
    -------
    ConvolutionView
    """
    image = _image2d(image)
    kernel = make_kernel(kernel_kind, kernel_size)
    out = filter_image(image, kernel, padding=padding, stride=stride)
    text = (
        f"kernel {kernel_size}x{kernel_size} {kernel_kind}, {padding} padding, stride {stride}: "
        f"input {image.shape} -> output {out.shape}"
    )
    return ConvolutionView(out, kernel, image.shape, out.shape, text)


def pooling_view(image, pool_size, kind="max", stride=None):
    """Pool a 2-D image (valid padding) and describe the shapes.

    Parameters
    ----------
    image : array (H, W)
    pool_size : int
        Side of the square window, >= 1.
    kind : {"max", "average"}
    stride : int, optional
        Step between windows; ``None`` means ``pool_size`` (no overlap).

    Returns
    -------
    PoolingView
    """
    image = _image2d(image)
    validate.choice("kind", kind, POOL_KINDS)
    function = ops.max_pool2d if kind == "max" else ops.avg_pool2d
    out = function(image[None, :, :, None], pool_size, stride)[0, :, :, 0]
    step = pool_size if stride is None else stride
    text = (
        f"{kind} pooling {pool_size}x{pool_size}, stride {step}: "
        f"input {image.shape} -> output {out.shape}"
    )
    return PoolingView(out, image.shape, out.shape, text)


# ------------------------------------------------------------------ drawing
def _side_by_side(image, result, title, same_scale, units=("value", "value")):
    """Input left, output right; ``same_scale``: one output pixel is drawn as one input pixel
    (a smaller output looks smaller), else the output is stretched to the input's size.
    ``units``: the colourbar labels of the input and of the output."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(8.6, 4))
    for ax, picture, name, unit in ((axes[0], image, "input", units[0]), (axes[1], result.image, title, units[1])):
        shown = ax.imshow(picture, cmap="gray")
        fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.03).set_label(unit, fontsize=8)
        ax.set_title(f"{name} {picture.shape[0]}x{picture.shape[1]}")
        if same_scale:
            ax.set_xlim(-0.5, image.shape[1] - 0.5)
            ax.set_ylim(image.shape[0] - 0.5, -0.5)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    plt.show()
    plt.close(fig)
    print(result.text)


# ------------------------------------------------------------------ widgets
def _with_default_view(drawings, widget):
    """Keep the first drawing (the default view) of ``widget`` for :func:`default_view`."""
    widget.draw_default_view = drawings[0]
    widget.default_result = widget.result
    return widget


def default_view(widget):
    """Draw ``widget``'s first view again, as an ordinary figure stored in the notebook.

    A slider's own drawing lives in the running kernel only: GitHub, nbviewer, the book and a
    reader without a kernel see nothing there. Call this in the cell beside the widget so the
    saved notebook keeps a static picture of the default view (and its printed text).

    Parameters
    ----------
    widget : the result of one of this module's explorers

    Returns
    -------
    the widget's first result object (:class:`ConvolutionView`, :class:`PoolingView`,
    :class:`LearningRateTrials` or :class:`ThresholdView`)
    """
    if not hasattr(widget, "draw_default_view"):
        raise validate.ArgumentError("default_view: widget is not one of medlab.widgets' explorers")
    widget.draw_default_view()
    return widget.default_result


def kernel_explorer(image, kernel_kind="gaussian", kernel_size=3, units="value"):
    """Sliders over :func:`convolution_view`: kernel size, kernel type, padding.

    Parameters
    ----------
    image : array (H, W)
        Shown on the left; the filtered image is on the right at the same
        pixel scale, so "valid" padding visibly shrinks it.
    kernel_kind : str
        Kernel shown first.
    kernel_size : int
        Kernel side shown first (odd, 1 to 15).
    units : str
        What the image's values are (e.g. "soft-tissue window (0 to 1)"): the colourbar labels.

    Returns
    -------
    ipywidgets.interactive
        Display it in a notebook; ``.result`` is the current
        :class:`ConvolutionView`.
    """
    import ipywidgets as widgets

    image = _image2d(image)
    make_kernel(kernel_kind, kernel_size)  # fail here, not inside the widget

    drawings = []

    def show(kernel_size, kernel_kind, padding):
        result = convolution_view(image, kernel_kind, kernel_size, padding)
        drawing = partial(_side_by_side, image, result,
                          f"{kernel_kind} {kernel_size}x{kernel_size}, output", True,
                          (units, f"filter response ({units})"))
        drawings[:] = drawings or [drawing]  # the first: the default view
        drawing()
        return result

    return _with_default_view(drawings, widgets.interactive(
        show,
        kernel_size=widgets.IntSlider(
            value=kernel_size, min=1, max=MAX_KERNEL_SIZE, step=2,
            description="kernel size", continuous_update=False,
        ),
        kernel_kind=widgets.Dropdown(options=KERNEL_KINDS, value=kernel_kind, description="kernel"),
        padding=widgets.ToggleButtons(options=PADDINGS, value="valid", description="padding"),
    ))


def pooling_explorer(image, pool_size=2, kind="max", units="value"):
    """Sliders over :func:`pooling_view`: pool size, max or average, stride.

    Parameters
    ----------
    image : array (H, W)
        Shown on the left; the pooled image is on the right, stretched to the
        same size, so each pooled value shows as a block.
    pool_size : int
        Window side shown first (1 to 8).
    kind : {"max", "average"}
    units : str
        What the image's values are (e.g. "HU"): the colourbar labels; pooling keeps them.

    Returns
    -------
    ipywidgets.interactive
        ``.result`` is the current :class:`PoolingView`. The stride menu's
        "= pool size" entry (value 0) means stride ``None``.
    """
    import ipywidgets as widgets

    image = _image2d(image)
    validate.choice("kind", kind, POOL_KINDS)

    drawings = []

    def show(pool_size, kind, stride):
        result = pooling_view(image, pool_size, kind, stride or None)
        drawing = partial(_side_by_side, image, result,
                          f"{kind} pool {pool_size}x{pool_size}, output", False, (units, units))
        drawings[:] = drawings or [drawing]  # the first: the default view
        drawing()
        return result

    strides = [("= pool size", 0)] + [(str(s), s) for s in range(1, MAX_POOL_SIZE + 1)]
    return _with_default_view(drawings, widgets.interactive(
        show,
        pool_size=widgets.IntSlider(
            value=pool_size, min=1, max=MAX_POOL_SIZE, step=1,
            description="pool size", continuous_update=False,
        ),
        kind=widgets.Dropdown(options=POOL_KINDS, value=kind, description="pooling"),
        stride=widgets.Dropdown(options=strides, value=0, description="stride"),
    ))


# ------------------------------------------------- learning rate (lesson 07)
#: Slider range of :func:`learning_rate_explorer`, as powers of ten.
LEARNING_RATE_RANGE = (1e-5, 1e-1)


@dataclass(eq=False)
class LearningRateTrials:
    """What :func:`learning_rate_explorer` shows: the latest rate and every curve so far.

    Attributes
    ----------
    learning_rate : float
        The rate just tried.
    history : dict of str -> list of float
        Its history (from :func:`medlab.training.learning_rate_trial`).
    tried : dict of float -> history
        Every rate tried so far, in the order tried (the widget overlays their losses).
    """

    learning_rate: float
    history: dict
    tried: dict = field(default_factory=dict)

    @property
    def text(self):
        loss = self.history["loss"]
        return (f"learning rate {self.learning_rate:.0e}: training loss "
                f"{loss[0]:.2f} -> {loss[-1]:.2f} in {len(loss)} epochs")


def learning_rate_explorer(images, labels, epochs=5, seed=0, learning_rate=1e-3, batch_size=32):
    """A log-scale learning-rate slider that retrains and overlays the loss curves so far.

    Parameters
    ----------
    images, labels, epochs, seed, batch_size
        Passed to :func:`medlab.training.learning_rate_trial` (keep the subset small: each
        move retrains).
    learning_rate : float
        Rate tried first, in [1e-5, 1e-1].

    Returns
    -------
    ipywidgets.interactive
        ``.result`` is the latest :class:`LearningRateTrials`; ``.trials`` holds every
        history tried, keyed by rate (the same dict as ``.result.tried``).
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from medlab.engine.predict import as_batch
    from medlab.plots import loss_curves
    from medlab.training import learning_rate_trial

    low, high = LEARNING_RATE_RANGE
    validate.number("learning_rate", learning_rate, low, high)
    images = as_batch(images, "images")
    labels = validate.values("labels", labels, 0, 1).reshape(-1)
    if len(labels) != len(images):
        raise validate.ArgumentError(f"labels has {len(labels)} values: expected one per image ({len(images)})")
    tried, drawings = {}, []

    def show(learning_rate):
        rate = float(f"{learning_rate:.3g}")  # the slider's steps, without float noise
        if rate not in tried:
            tried[rate] = learning_rate_trial(rate, images, labels, epochs=epochs, seed=seed,
                                              batch_size=batch_size)
        result = LearningRateTrials(rate, tried[rate], tried)
        drawing = partial(draw, LearningRateTrials(rate, tried[rate], dict(tried)))  # as it is now
        drawings[:] = drawings or [drawing]  # the first: the default view
        drawing()
        return result

    def draw(result):
        curves = {f"lr {r:.0e}": h for r, h in sorted(result.tried.items())}
        fig = loss_curves(curves, metrics=("loss",), validation=False,
                          title="training loss, every rate tried so far")
        plt.show()
        plt.close(fig)
        print(result.text)

    slider = widgets.FloatLogSlider(
        value=float(learning_rate), base=10, min=math.log10(low), max=math.log10(high), step=0.25,
        description="learning rate", readout_format=".0e", continuous_update=False,
        style={"description_width": "initial"},
    )
    widget = _with_default_view(drawings, widgets.interactive(show, learning_rate=slider))
    widget.trials = tried
    return widget


# ------------------------------------------------- segmentation threshold (lesson 12)
@dataclass(frozen=True)
class ThresholdView:
    """One image's mask at one threshold, with its agreement with the expert's mask."""

    threshold: float
    mask: np.ndarray
    dice: float
    area_pixels: int
    reference_area_pixels: int

    def __str__(self):
        return (f"threshold {self.threshold:.2f}: {self.area_pixels} pixels inside "
                f"(expert {self.reference_area_pixels}), Dice {self.dice:.3f}")


def threshold_view(probability, reference, threshold=0.5):
    """The mask of one probability map at ``threshold`` and its Dice against ``reference``.

    Parameters
    ----------
    probability : array (H, W) in [0, 1]
    reference : array (H, W) of 0/1
    threshold : float in [0, 1]

    Returns
    -------
    ThresholdView
    """
    from medlab import metrics
    from medlab.segmentation import threshold_masks

    p = np.asarray(probability)
    r = np.asarray(reference)
    if p.ndim != 2 or p.shape != r.shape:
        raise ValueError(f"probability {p.shape} and reference {r.shape}: expected one (H, W) each")
    mask = threshold_masks(p, threshold)
    return ThresholdView(float(threshold), mask, float(metrics.dice_per_image(r, mask)[0]),
                         int(mask.sum()), int(np.sum(r == 1)))


def threshold_explorer(image, probability, reference, threshold=0.5):
    """A slider over :func:`threshold_view`: the mask at each threshold.

    Parameters
    ----------
    image : array (H, W)
        Shown under the outlines.
    probability : array (H, W) in [0, 1]
        The network's probability map.
    reference : array (H, W) of 0/1
        The expert's mask (green outline); the thresholded mask is red.
    threshold : float
        Shown first.

    Returns
    -------
    ipywidgets.interactive
        ``.result`` is the current :class:`ThresholdView`.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from medlab import plots

    image = validate.image_array("image", image, ndims=(2,), dtype_kinds="biuf")  # uint8 stays 0..255 for mask_overlay
    threshold_view(probability, reference, threshold)  # fail here, not in the widget

    def draw(result):
        fig = plots.mask_overlay(image[None], np.asarray(reference)[None], result.mask[None],
                                 titles=[str(result)], size=3.0)
        plt.show()
        plt.close(fig)

    drawings = []

    def show(threshold):
        result = threshold_view(probability, reference, threshold)
        drawing = partial(draw, result)
        drawings[:] = drawings or [drawing]  # the first: the default view
        drawing()
        return result

    return _with_default_view(drawings, widgets.interactive(
        show,
        threshold=widgets.FloatSlider(value=threshold, min=0.0, max=1.0, step=0.05,
                                      description="threshold", continuous_update=False),
    ))


# ------------------------------------------------- slices of a volume (lesson 13)
@dataclass(frozen=True)
class SliceView:
    """One slice of a labelled volume: where it is in mm, and the voxels of each class in it."""

    axis: int
    index: int
    position_mm: float
    image: np.ndarray
    labels: np.ndarray
    class_voxels: tuple

    def __str__(self):
        counts = ", ".join(f"class {k + 1}: {n}" for k, n in enumerate(self.class_voxels))
        return (f"axis {self.axis}, slice {self.index} at {self.position_mm:.1f} mm: "
                f"labelled voxels {counts}")


def slice_view(volume, labels, axis=0, index=None, spacing_mm=(1.0, 1.0, 1.0)):
    """Slice ``index`` of a volume along ``axis`` with its labels (the slider's function).

    Parameters
    ----------
    volume : array (D, H, W)
    labels : int array (D, H, W) of class numbers (0 background)
    axis : 0, 1 or 2
    index : int, optional
        Default the middle slice.
    spacing_mm : 3 floats > 0
        The slice's position is ``index * spacing_mm[axis]``, from the volume's first face.

    Returns
    -------
    SliceView
    """
    v, lab = np.asarray(volume), np.asarray(labels)
    if v.ndim != 3 or v.shape != lab.shape:
        raise validate.ArgumentError(f"volume {v.shape} and labels {lab.shape}: expected one (D, H, W) each")
    axis = validate.integer("axis", axis, 0, 2)
    index = v.shape[axis] // 2 if index is None else validate.integer("index", index, 0, v.shape[axis] - 1)
    spacing = validate.values("spacing_mm", spacing_mm, 0, low_open=True, dtype_kinds="uif")
    if spacing.shape != (3,):
        raise validate.ArgumentError(f"spacing_mm has shape {spacing.shape}: expected 3 voxel sizes")
    image, sliced = np.take(v, index, axis=axis), np.take(lab, index, axis=axis)
    counts = tuple(int(np.sum(sliced == k)) for k in range(1, max(int(lab.max()), 1) + 1))
    return SliceView(axis, index, float(index * spacing[axis]), image, sliced, counts)


def slice_explorer(volume, labels, axis=0, index=None, spacing_mm=(1.0, 1.0, 1.0), label_names=None):
    """Sliders over :func:`slice_view`: the plane (axis) and the slice, labels overlaid.

    ``label_names[k]`` names class ``k`` in the legend (default "class k").

    Returns
    -------
    ipywidgets.interactive
        ``.result`` is the current :class:`SliceView`.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    from medlab.plots.volumes import CLASS_COLOURS

    first = slice_view(volume, labels, axis, index, spacing_mm)  # fail here, not in the widget
    n_classes = len(first.class_voxels) + 1  # the classes in this volume: 0 .. its largest label
    if label_names is not None and (isinstance(label_names, str) or len(label_names) < n_classes):
        raise validate.ArgumentError(f"label_names {label_names!r}: expected a name for each class 0 to "
                                     f"{n_classes - 1} (background first)")
    names = [str(n) for n in label_names] if label_names is not None else [f"class {k}" for k in range(n_classes)]
    spacing = [float(s) for s in spacing_mm]
    shape = np.shape(volume)

    def draw(result):
        rows, cols = [a for a in range(3) if a != result.axis]
        extent = (0, shape[rows] * spacing[rows], 0, shape[cols] * spacing[cols])
        fig, ax = plt.subplots(figsize=(4.4, 3.8))
        shown = ax.imshow(result.image.T, cmap="gray", extent=extent, origin="lower")
        for k in range(1, len(result.class_voxels) + 1):
            if np.any(result.labels == k):
                ax.contour((result.labels == k).T, levels=[0.5], colors=[CLASS_COLOURS[k - 1]], extent=extent,
                           origin="lower", linewidths=1.2)
        handles = [Line2D([], [], color=CLASS_COLOURS[k - 1], label=names[k])
                   for k in range(1, len(result.class_voxels) + 1) if np.any(result.labels == k)]
        if handles:
            ax.legend(handles=handles, loc="upper right", fontsize=7)
        fig.colorbar(shown, ax=ax, fraction=0.046).set_label("MR signal (scaled, no unit)", fontsize=8)
        ax.set_xlabel(f"axis {rows} (mm)")
        ax.set_ylabel(f"axis {cols} (mm)")
        counts = ", ".join(f"{names[k + 1]} {n}" for k, n in enumerate(result.class_voxels))
        ax.set_title(f"axis {result.axis}, slice {result.index} at {result.position_mm:.1f} mm\n"
                     f"labelled voxels: {counts}", fontsize=8)
        fig.tight_layout()
        plt.show()
        plt.close(fig)

    drawings = []

    def show(axis, index):
        result = slice_view(volume, labels, axis, min(index, shape[axis] - 1), spacing_mm)
        drawing = partial(draw, result)
        drawings[:] = drawings or [drawing]  # the first: the default view
        drawing()
        return result

    return _with_default_view(drawings, widgets.interactive(
        show,
        axis=widgets.Dropdown(options=[("axis 0", 0), ("axis 1", 1), ("axis 2", 2)], value=first.axis,
                              description="plane"),
        index=widgets.IntSlider(value=first.index, min=0, max=max(shape) - 1, description="slice",
                                continuous_update=False),
    ))


__all__ = [
    "ConvolutionView", "LEARNING_RATE_RANGE", "LearningRateTrials", "POOL_KINDS", "PoolingView",
    "ThresholdView", "convolution_view", "default_view", "kernel_explorer", "learning_rate_explorer", "pooling_explorer",
    "pooling_view", "threshold_explorer", "threshold_view", "SliceView", "slice_explorer", "slice_view",
]
