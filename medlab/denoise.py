"""Denoising: classical filters tuned on validation images, and training a network noisy -> clean.

=============================================  ===========================================
``gaussian_filter(images, sigma)``             Gaussian blur of each image (scipy.ndimage)
``best_classical_filter(noisy_val, clean_val)``  the filter and setting with the best
                                               validation PSNR -> :class:`ClassicalFilter`
                                               (Gaussian, median; optionally total
                                               variation and non-local means)
``NoisyPairs(clean, kind, level, ...)``        Keras dataset of (noisy, clean) batches with
                                               fresh, seeded noise every epoch
``train_denoiser(model, clean, ...)``          Adam + MSE on ``NoisyPairs``, optional wall-clock
                                               budget, cosine decay, moving average of the
                                               weights -> history dict
``denoise(model, images)``                     predict (:mod:`medlab.engine.predict`) and clip
                                               to [0, 1], any image layout
``patches(images, size, stride)``              square patches of 2-D images (training a fully
                                               convolutional denoiser on a few scans)
=============================================  ===========================================

Images are float arrays in [0, 1] of shape (N, H, W) or (N, H, W, 1); every function
filters each image on its own (never across the batch axis).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from medlab import noise as _noise
from medlab import validate
from medlab._tensorflow import keras
from medlab.engine.callbacks import TimeCosineDecay
from medlab.engine.fit import fit
from medlab.engine.predict import as_batch, predict

#: Settings :func:`best_classical_filter` tries by default.
GAUSSIAN_SIGMAS = tuple(round(0.3 + 0.05 * i, 2) for i in range(35))  # 0.3 ... 2.0 pixels
MEDIAN_SIZES = (2, 3, 4, 5)
#: Total-variation weights (``tv_weights=``) and non-local means strengths ``h``
#: (``nlm_strengths=``) a caller may add to :func:`best_classical_filter` (not tried by default).
TV_WEIGHTS = (0.04, 0.06, 0.08, 0.1, 0.12, 0.14)
NLM_STRENGTHS = (0.04, 0.06, 0.08, 0.1, 0.12)
#: Patch side and search distance (pixels) of :func:`_nl_means_filter`.
NLM_PATCH, NLM_DISTANCE = 5, 5


#: Which axes of an image array of each rank are the image's rows and columns (1) or not (0).
_SPATIAL_AXES = {2: (1.0, 1.0), 3: (0, 1.0, 1.0), 4: (0, 1.0, 1.0, 0)}


def _image_axes(images):
    """``images`` as float32 and which of its axes are spatial (filters never cross the others)."""
    x = validate.image_array("images", images, ndims=(2, 3, 4), dtype_kinds="uifb", min_size=0)
    return x.astype(np.float32, copy=False), _SPATIAL_AXES[x.ndim]


def gaussian_filter(images, sigma):
    """Blur each image with a Gaussian of standard deviation ``sigma`` pixels.

    Parameters
    ----------
    images : array (H, W), (N, H, W) or (N, H, W, C)
    sigma : float >= 0
        In pixels; 0 returns the images unchanged.

    Returns
    -------
    float32 array, the same shape (edges: mirror reflection)
    """
    x, axes = _image_axes(images)
    sigma = validate.number("sigma", sigma, 0.0)
    return ndimage.gaussian_filter(x, sigma=[sigma * a for a in axes], mode="reflect")


def _median_filter(images, size):
    """Replace each pixel by the median of its ``size x size`` neighbourhood, image by image.

    The median ignores a few extreme values, so it removes salt-and-pepper noise that a
    Gaussian blur only smears.

    Parameters
    ----------
    images : array (H, W), (N, H, W) or (N, H, W, C)
    size : int >= 1

    Returns
    -------
    float32 array, the same shape
    """
    x, axes = _image_axes(images)
    size = validate.integer("size", size, low=1)
    footprint = [int(size) if a else 1 for a in axes]
    return ndimage.median_filter(x, size=footprint, mode="reflect")


def _each_image(images, filter_one):
    """``filter_one`` (2-D image -> 2-D image) applied to every image (and channel) on its own."""
    x, _ = _image_axes(images)
    planes = np.moveaxis(x, -1, 1) if x.ndim == 4 else x  # (N, C, H, W): channels apart
    flat = planes.reshape((-1,) + planes.shape[-2:])
    out = np.stack([filter_one(image) for image in flat]) if len(flat) else flat
    out = out.astype(np.float32).reshape(planes.shape)
    return np.moveaxis(out, 1, -1) if x.ndim == 4 else out


def _tv_filter(images, weight):
    """Total-variation denoising (Chambolle, ``skimage.restoration.denoise_tv_chambolle``) of
    each image: flat regions with sharp edges, ``weight`` > 0 the strength (brightness units)."""
    from skimage.restoration import denoise_tv_chambolle

    weight = validate.number("weight", weight, 0.0, low_open=True)
    return _each_image(images, lambda image: denoise_tv_chambolle(image, weight=weight))


def _nl_means_filter(images, h):
    """Non-local means (``skimage.restoration.denoise_nl_means``, fast mode) of each image:
    every pixel averaged with the pixels whose ``NLM_PATCH``-pixel patches, within
    ``NLM_DISTANCE`` pixels, look alike; ``h`` > 0 (brightness units) sets how alike."""
    from skimage.restoration import denoise_nl_means

    h = validate.number("h", h, 0.0, low_open=True)
    return _each_image(images, lambda image: denoise_nl_means(
        image, patch_size=NLM_PATCH, patch_distance=NLM_DISTANCE, h=h, fast_mode=True))


_FILTERS = {"gaussian": gaussian_filter, "median": _median_filter, "tv": _tv_filter,
            "nlm": _nl_means_filter}


@dataclass(frozen=True)
class ClassicalFilter:
    """A classical filter at one setting, chosen on validation images.

    Attributes
    ----------
    kind : {"gaussian", "median", "tv", "nlm"}
    parameter : float or int
        ``sigma`` (pixels) of a Gaussian filter, ``size`` of a median filter, ``weight`` of
        total-variation denoising, ``h`` of non-local means.
    val_psnr : float
        Mean PSNR (dB) of the filtered validation images.
    tried : dict of (kind, parameter) -> validation PSNR
        Every setting tried.
    """

    kind: str
    parameter: float
    val_psnr: float
    tried: dict = field(default_factory=dict, repr=False, compare=False)

    def apply(self, images):
        """Filter ``images`` with this setting."""
        return _FILTERS[self.kind](images, self.parameter)

    def __call__(self, images):
        return self.apply(images)

    @property
    def name(self):
        """E.g. ``"Gaussian filter, sigma 1.00 px"`` or ``"median filter, 3 x 3"``."""
        if self.kind == "gaussian":
            return f"Gaussian filter, sigma {self.parameter:.2f} px"
        if self.kind == "tv":
            return f"total-variation filter, weight {self.parameter:.2f}"
        if self.kind == "nlm":
            return f"non-local means, h {self.parameter:.2f}"
        return f"median filter, {self.parameter} x {self.parameter}"

    def best_of(self, kind):
        """(parameter, validation PSNR) of the best setting of ``kind`` that was tried."""
        rows = [(p, v) for (k, p), v in self.tried.items() if k == kind]
        if not rows:
            raise KeyError(f"no {kind!r} setting was tried")
        return max(rows, key=lambda row: row[1])


def best_classical_filter(noisy_val, clean_val, sigmas=GAUSSIAN_SIGMAS, sizes=MEDIAN_SIZES,
                          tv_weights=(), nlm_strengths=()):
    """Try Gaussian, median and optionally TV and non-local-means filters on val images; keep the best PSNR.

    Parameters
    ----------
    noisy_val, clean_val : arrays (N, H, W) or (N, H, W, 1) in [0, 1]
        Validation images with and without noise (never the test split).
    sigmas : sequence of float
        Gaussian standard deviations to try, in pixels.
    sizes : sequence of int
        Median window sides to try; empty to leave the median out.
    tv_weights : sequence of float
        Total-variation weights to try (e.g. :data:`TV_WEIGHTS`); none by default.
    nlm_strengths : sequence of float
        Non-local means strengths ``h`` to try (e.g. :data:`NLM_STRENGTHS`); none by default.

    Returns
    -------
    ClassicalFilter
        Ties go to the first setting tried (Gaussian, smallest first, then median, total
        variation, non-local means).
    """
    from medlab.metrics import psnr

    noisy_val = np.asarray(noisy_val, dtype=np.float32)
    clean_val = np.asarray(clean_val, dtype=np.float32)
    if noisy_val.shape != clean_val.shape:
        raise ValueError(f"noisy_val {noisy_val.shape} and clean_val {clean_val.shape} differ in shape")
    tried = {}
    for kind, settings in (("gaussian", sigmas), ("median", sizes), ("tv", tv_weights),
                           ("nlm", nlm_strengths)):
        for parameter in settings:
            parameter = int(parameter) if kind == "median" else float(parameter)
            tried[kind, parameter] = psnr(clean_val, _FILTERS[kind](noisy_val, parameter))
    if not tried:
        raise ValueError("no settings to try: give sigmas, sizes, tv_weights or nlm_strengths")
    (kind, parameter), value = max(tried.items(), key=lambda item: item[1])
    return ClassicalFilter(kind, parameter, value, tried)


# ------------------------------------------------------------------ training a network
class NoisyPairs(keras.utils.PyDataset):
    """Batches ``(noisy, clean)`` of the clean images, with new noise every epoch.

    Batch ``b`` of epoch ``e`` uses the images ``permutation(seed, e)[b * batch_size: ...]``
    and noise seeded by ``(seed, e, b)``: the same seed gives the same batches, and the
    network never sees the same noisy image twice (the noise cannot be memorised).

    Parameters
    ----------
    clean : array (N, H, W) or (N, H, W, C) in [0, 1]
    kind, level : noise of :func:`medlab.noise.add_noise`
    batch_size : int
    seed : int
    shuffle : bool
        Visit the images in a new order every epoch.
    """

    def __init__(self, clean, kind="gaussian", level=0.1, batch_size=32, seed=0, shuffle=True):
        super().__init__()
        validate.choice("kind", kind, _noise.NOISE_KINDS)
        self.clean = as_batch(clean, "clean")
        self.kind, self.level = kind, float(level)
        self.batch_size = validate.integer("batch_size", batch_size, low=1)
        self.seed, self.shuffle = int(seed), bool(shuffle)
        self.epoch = 0
        self._order = self._permutation()

    def _permutation(self):
        if not self.shuffle:
            return np.arange(len(self.clean))
        return np.random.default_rng((self.seed, self.epoch, 1)).permutation(len(self.clean))

    def __len__(self):
        return math.ceil(len(self.clean) / self.batch_size)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} out of range for {len(self)} batches")
        rows = self._order[index * self.batch_size:(index + 1) * self.batch_size]
        clean = self.clean[rows]
        noisy = _noise.add_noise(clean, self.kind, self.level, seed=(self.seed, self.epoch, 0, index))
        return noisy, clean

    def on_epoch_end(self):
        self.epoch += 1
        self._order = self._permutation()


def train_denoiser(model, clean, kind="gaussian", level=0.1, *, epochs=10, batch_size=32,
                   learning_rate=2e-3, seed=0, seconds=None, validation=None, callbacks=(),
                   cosine=False, ema=None):
    """Train ``model`` to map noisy images to clean ones (mean squared error, Adam).

    Parameters
    ----------
    model : keras.Model
        (N, H, W, C) -> (N, H, W, C), e.g. :func:`medlab.models.residual_denoiser`;
        compiled here.
    clean : array (N, H, W) or (N, H, W, C) in [0, 1]
        Clean training images; noisy versions are drawn fresh each epoch (:class:`NoisyPairs`).
    kind, level : noise of :func:`medlab.noise.add_noise`
    epochs, batch_size, learning_rate : training settings
    seed : int
        Seeds the weights' initialisation was done with (call ``seed_everything`` before
        building the model) and the noise; training itself is re-seeded with it here.
    seconds : float, optional
        Wall-clock budget (:class:`medlab.engine.callbacks.TimeBudget`); training stops within one
        batch of it.
    validation : tuple (noisy_val, clean_val), optional
        Fixed noisy validation images, to report ``val_loss`` per epoch.
    callbacks : sequence of keras callbacks
    cosine : bool
        Decay the learning rate from ``learning_rate`` to 0 along half a cosine: over the
        ``seconds`` of the budget when one is given
        (:class:`medlab.engine.callbacks.TimeCosineDecay`, so a slower machine also ends with
        small steps), else over the ``epochs``. False: a constant rate.
    ema : float in (0, 1), optional
        End with the exponential moving average of the weights over the steps (Keras'
        ``use_ema``, momentum ``ema``: 0.99 averages about the last 100 steps) instead of the
        last step's weights, which wander with the noise of the last batches.

    Returns
    -------
    dict
        History lists (``loss``, ``val_loss``), plus ``seconds`` (float) and ``stopped_by_budget``.
    """
    pairs = NoisyPairs(clean, kind, level, batch_size=batch_size, seed=seed)
    rate = float(learning_rate)
    callbacks = list(callbacks)
    if cosine and seconds is not None:
        callbacks.append(TimeCosineDecay(rate, seconds))
    elif cosine:
        rate = keras.optimizers.schedules.CosineDecay(rate, int(epochs) * len(pairs))
    averaging = {}
    if ema is not None:
        averaging = {"use_ema": True,
                     "ema_momentum": validate.number("ema", ema, 0.0, 1.0, closed="neither")}
    val = None
    if validation is not None:
        val = (as_batch(validation[0], "noisy_val"), as_batch(validation[1], "clean_val"))
    done = fit(model, pairs, validation=val, epochs=epochs, seed=seed, time_budget_s=seconds,
               callbacks=callbacks, optimizer=keras.optimizers.Adam(learning_rate=rate, **averaging),
               loss="mse")
    return {**done.history, "seconds": done.seconds, "stopped_by_budget": done.stopped_by_budget}


def denoise(model, images, batch_size=256):
    """The model's outputs for images of any layout, clipped to [0, 1], in the input's layout.

    Batched inference without tracing (:func:`medlab.engine.predict.predict`).

    Parameters
    ----------
    model : keras.Model
    images : array (H, W), (N, H, W) or (N, H, W, C)

    Returns
    -------
    float32 array, the shape of ``images``
    """
    x, _ = _image_axes(images)
    out = predict(model, x[None] if x.ndim == 2 else x, batch_size)
    return np.clip(out, 0.0, 1.0).astype(np.float32).reshape(x.shape)


def patches(images, size, stride=None):
    """Square patches of 2-D images, row by row.

    Parameters
    ----------
    images : array (H, W) or (N, H, W)
    size : int
        Side of a patch, at most H and W.
    stride : int, optional
        Step between patches (default ``size``: no overlap).

    Returns
    -------
    array (M, size, size)
        ``M = N * (1 + (H - size) // stride) * (1 + (W - size) // stride)``; the
        right and bottom borders that no full patch covers are left out.
    """
    x = validate.image_array("images", images, ndims=(2, 3), dtype_kinds="uifb", min_size=0)
    if x.ndim == 2:
        x = x[None]
    size = int(size)
    stride = size if stride is None else int(stride)
    if size < 1 or stride < 1 or size > min(x.shape[1:]):
        raise ValueError(f"need 1 <= size <= min(H, W) = {min(x.shape[1:])} and stride >= 1, "
                         f"got size {size}, stride {stride}")
    windows = np.lib.stride_tricks.sliding_window_view(x, (size, size), axis=(1, 2))
    windows = windows[:, ::stride, ::stride]
    return np.ascontiguousarray(windows.reshape(-1, size, size))


__all__ = [
    "ClassicalFilter", "GAUSSIAN_SIGMAS", "MEDIAN_SIZES", "NLM_STRENGTHS", "NoisyPairs", "TV_WEIGHTS",
    "best_classical_filter", "denoise", "gaussian_filter", "patches", "train_denoiser",
]
