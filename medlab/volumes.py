"""Segmenting volumes (lesson 13): slice by slice, 2.5-D or 3-D, measured in mm and mm³.

=========================================  ===============================================
``METHODS``, ``RECIPES``                   "2d", "2.5d", "3d" and each one's settings
``as_volume_inputs(images)``               uint8 (N, D, H, W) -> float32 (N, D, H, W, 1)
``slice_stack(volumes, context)``          volumes -> slices (N*D, H, W, 1 + 2 context),
                                           the neighbouring slices as channels
``model_inputs(method, images)``           the arrays a method's network sees
``build_model(method, volume_shape)``      the method's U-Net (:func:`medlab.models.multiclass_unet`)
``train_method(method, ...)``              seeded, compiled ``fit`` -> (model, history)
``predict_probabilities(model, method,``   (N, D, H, W, K) class probabilities of volumes
``images)``
``sliding_window_probabilities(...)``      the same, window by window with overlap
``overlap_tile_probabilities(...)``        the same, keeping each window's centre: equal to
                                           one pass when the halo covers the receptive field
``largest_component(labels)``              keep the largest 3-D blob of the structures
``evaluate(reference, predicted, ...)``    Dice per structure and whole, HD95 and volumes
                                           in mm and mm³, per volume
``compare_methods(...)``                   every method on the same volumes and seeds
``run_recipe(data, method, seed)``         the benchmark's recipe on a VolumeSet
=========================================  ===============================================

A volume here is (D, H, W): the first axis is the one the 2-D methods slice along. The 2-D
U-Net sees one slice (H, W, 1); the **2.5-D** U-Net the same slice with ``context`` slices on
each side as extra channels (zeros beyond the ends); the **3-D** U-Net the whole volume
(D, H, W, 1) with 3 x 3 x 3 convolutions. All three predict a softmax over the classes
(0 background, 1 anterior, 2 posterior for the hippocampus) and train on cross-entropy plus
the soft Dice of the structures (:func:`medlab.engine.losses.multiclass_dice_ce`), Adam with
a cosine decay. TensorFlow is imported only by the functions that build, train or predict.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from medlab import metrics, validate

#: The three ways to segment a volume.
METHODS = ("2d", "2.5d", "3d")

#: Each method's settings (``benchmarks/segmentation3d.py``; the lesson trains shorter).
RECIPES = {
    "2d": {"depth": 3, "base_filters": 8, "context": 0, "batch_size": 32, "learning_rate": 3e-3,
           "epochs": 200, "time_budget_s": 120.0},
    "2.5d": {"depth": 3, "base_filters": 8, "context": 1, "batch_size": 32, "learning_rate": 3e-3,
             "epochs": 200, "time_budget_s": 120.0},
    "3d": {"depth": 2, "base_filters": 8, "context": 0, "batch_size": 4, "learning_rate": 3e-3,
           "epochs": 200, "time_budget_s": 120.0},
}


def _method(method):
    return validate.choice("method", method, METHODS)


def _settings(method, overrides=None):
    settings = {**RECIPES[_method(method)], **(overrides or {})}
    unknown = set(settings) - set(RECIPES[method])
    if unknown:
        raise ValueError(f"unknown recipe settings {sorted(unknown)}; expected {sorted(RECIPES[method])}")
    return settings


# ------------------------------------------------------------------ arrays
def as_volume_inputs(images):
    """Grey volumes (N, D, H, W) -> float32 (N, D, H, W, 1) in [0, 1] (uint8 divided by 255)."""
    x = np.asarray(images)
    if x.ndim != 4 or x.size == 0:
        raise ValueError(f"images has shape {x.shape}: expected volumes (N, D, H, W)")
    if x.dtype == np.uint8:
        return (x.astype(np.float32) / 255.0)[..., None]
    x = validate.values("images", x, 0, 1, dtype_kinds="f")
    return x.astype(np.float32)[..., None]


def slice_stack(volumes, context=0):
    """Every slice of every volume along axis 1, with ``context`` neighbours on each side as channels.

    Parameters
    ----------
    volumes : array (N, D, H, W) or (N, D, H, W, 1)
    context : int >= 0
        0: one slice (2-D); 1: slices k-1, k, k+1 (2.5-D); beyond the ends, zeros.

    Returns
    -------
    array (N * D, H, W, 1 + 2 context), same dtype; slice k of volume n is row n * D + k,
    its own slice the middle channel.

    >>> slice_stack(np.arange(8).reshape(1, 2, 2, 2), context=1)[1, 0, 0].tolist()
    [0, 4, 0]
    """
    v = np.asarray(volumes)
    if v.ndim == 5 and v.shape[-1] == 1:
        v = v[..., 0]
    if v.ndim != 4:
        raise ValueError(f"volumes has shape {v.shape}: expected (N, D, H, W)")
    context = validate.integer("context", context, 0)
    padded = np.pad(v, ((0, 0), (context, context), (0, 0), (0, 0)))
    n, d = v.shape[:2]
    channels = [padded[:, c:c + d] for c in range(2 * context + 1)]
    return np.stack(channels, axis=-1).reshape(n * d, *v.shape[2:], 2 * context + 1)


def model_inputs(method, images):
    """What ``method``'s network sees: volumes (N, D, H, W, 1) for "3d", slices for the others."""
    x = as_volume_inputs(images)
    if _method(method) == "3d":
        return x
    return slice_stack(x, RECIPES[method]["context"])


def _model_targets(method, masks):
    """Class numbers as the Keras targets: uint8 (N, D, H, W, 1) for "3d", (N * D, H, W, 1) else."""
    m = np.asarray(masks)
    if m.ndim != 4:
        raise ValueError(f"masks has shape {m.shape}: expected (N, D, H, W) of class numbers")
    m = m.astype(np.uint8)[..., None]
    return m if _method(method) == "3d" else m.reshape(-1, *m.shape[2:])


# ------------------------------------------------------------------ models and training
def class_shares(masks, n_classes=3):
    """Each class's share of the voxels of ``masks`` (N, D, H, W) of class numbers 0 .. n_classes - 1.

    A class with no voxel gets 1e-6 (its log stays finite), and the shares are scaled back to
    sum to 1.

    >>> class_shares(np.array([[[[0, 0, 1, 2]]]]))
    array([0.5 , 0.25, 0.25])
    """
    n_classes = validate.integer("n_classes", n_classes, 2)
    m = np.asarray(masks)
    if m.size == 0 or m.dtype.kind not in "uib" or m.min() < 0 or m.max() >= n_classes:
        raise validate.ArgumentError(f"masks ({m.dtype}, {m.size} values): expected integer class numbers "
                                     f"0 to {n_classes - 1}")
    shares = np.maximum(np.bincount(m.astype(np.int64).ravel(), minlength=n_classes) / m.size, 1e-6)
    return shares / shares.sum()


def build_model(method, volume_shape, n_classes=3, depth=None, base_filters=None, context=None, class_shares=None,
                weights_from=None):
    """``method``'s U-Net for volumes of ``volume_shape`` (D, H, W) (:func:`medlab.models.multiclass_unet`).

    ``depth``, ``base_filters`` and ``context`` default to :data:`RECIPES`'s; ``class_shares``
    (:func:`class_shares` of the training masks) starts the last layer's biases at their logs.
    ``weights_from``: a trained model of the same method and settings, built for any volume size,
    whose weights the new one takes (a fully convolutional network has the same weights at every
    size: window-by-window inference).
    """
    from medlab.models import multiclass_unet

    settings = RECIPES[_method(method)]
    depth = settings["depth"] if depth is None else depth
    base_filters = settings["base_filters"] if base_filters is None else base_filters
    context = settings["context"] if context is None else context
    d, h, w = (int(s) for s in volume_shape)
    shape = (d, h, w, 1) if method == "3d" else (h, w, 1 + 2 * context)
    model = multiclass_unet(shape, n_classes, depth=depth, base_filters=base_filters, class_shares=class_shares,
                            name=f"unet_{method.replace('.', '_')}")
    if weights_from is not None:
        theirs, ours = weights_from.get_weights(), model.get_weights()
        if [w.shape for w in theirs] != [w.shape for w in ours]:
            raise ValueError(f"weights_from: a model whose weights do not fit a {method} U-Net of depth {depth}, "
                             f"{base_filters} base filters and {n_classes} classes")
        model.set_weights(theirs)
    return model


def compile_model(model, n_classes=3, dice_over="batch"):
    """Compile for :func:`train_method`: Adam (its rate set by the training), the loss
    :func:`~medlab.engine.losses.multiclass_dice_ce` (its Dice over the batch by default), no
    XLA (slower on CPUs)."""
    from medlab._tensorflow import keras
    from medlab.engine.losses import multiclass_dice_ce

    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=multiclass_dice_ce(n_classes, dice_over),
                  jit_compile=False)
    return model


def train_method(method, model, images, masks, *, seed=0, epochs=5, batch_size=None, learning_rate=3e-3,
                 time_budget_s=None, validation=None):
    """Train a compiled ``method`` model on volumes; the rate decays by a cosine to 0.

    Parameters
    ----------
    method : {"2d", "2.5d", "3d"}
    model : keras.Model
        :func:`build_model` then :func:`compile_model` (or :func:`medlab.engine.fit.restart`).
    images : uint8 (N, D, H, W); masks : (N, D, H, W) of class numbers
    seed : int
        Seeds the batches (and nothing else: the weights are the model's).
    epochs : int
    batch_size : int, optional
        Default :data:`RECIPES`'s (volumes for "3d", slices for the others).
    learning_rate : float
        Adam's first step; a cosine decay over ``epochs`` or, with ``time_budget_s``, over
        the seconds (:class:`medlab.engine.callbacks.TimeCosineDecay`).
    time_budget_s : float, optional
    validation : (images, masks), optional
        Then the weights of the epoch with the lowest validation loss are kept.

    Returns
    -------
    dict
        Per-epoch ``loss`` (and ``val_loss``), ``train_seconds``, ``epochs_run``.
    """
    from medlab.engine.callbacks import StepRates, TimeCosineDecay
    from medlab.engine.fit import fit

    batch_size = RECIPES[_method(method)]["batch_size"] if batch_size is None else batch_size
    epochs = validate.integer("epochs", epochs, 1)
    batch_size = validate.integer("batch_size", batch_size, 1)
    learning_rate = validate.number("learning_rate", learning_rate, 0.0, 1.0, low_open=True)
    x, y = model_inputs(method, images), _model_targets(method, masks)
    steps = epochs * -(-len(x) // batch_size)
    schedule = (TimeCosineDecay(learning_rate, time_budget_s) if time_budget_s is not None
                else StepRates(learning_rate * 0.5 * (1 + np.cos(np.pi * np.arange(steps) / steps))))
    val = None if validation is None else (model_inputs(method, validation[0]),
                                           _model_targets(method, validation[1]))
    done = fit(model, x, y, val, epochs=epochs, batch_size=batch_size, seed=seed, time_budget_s=time_budget_s,
               callbacks=[schedule], restore_best=("val_loss", "min") if val is not None else None)
    return {**done.history, "train_seconds": done.seconds, "epochs_run": done.epochs_run}


def predict_probabilities(model, method, images, batch_size=None):
    """Class probabilities of every voxel of volumes, float32 (N, D, H, W, K).

    The 2-D methods predict slice by slice and the slices are stacked back into volumes.
    """
    x = model_inputs(method, images)
    n, d = np.shape(images)[:2]
    size = validate.integer("batch_size", batch_size or (8 if method == "3d" else 256), 1)
    p = np.concatenate([np.asarray(model(x[i:i + size], training=False)) for i in range(0, len(x), size)])
    return p if method == "3d" else p.reshape(n, d, *p.shape[1:])


def labels_of(probabilities):
    """The most probable class of each voxel: uint8 (N, D, H, W) from (N, D, H, W, K)."""
    return np.argmax(np.asarray(probabilities), axis=-1).astype(np.uint8)


# ------------------------------------------------------------------ inference window by window
def window_starts(size, window, step):
    """Start of each window along one axis: every ``step``, the last one flush with the end.

    >>> window_starts(40, 24, 8)
    [0, 8, 16]
    """
    size, window, step = (validate.integer(n, v, 1) for n, v in (("size", size), ("window", window), ("step", step)))
    if window > size:
        raise ValueError(f"window {window} is larger than the volume's side {size}")
    starts = list(range(0, size - window + 1, step))
    if starts[-1] != size - window:
        starts.append(size - window)
    return starts


def _volume_and_window(volume, window):
    """A (D, H, W, C) array and a window of 3 positive sides, checked, for the window-by-window predictors."""
    v = np.asarray(volume)
    if v.ndim != 4:
        raise ValueError(f"volume has shape {v.shape}: expected (D, H, W, C)")
    window = tuple(validate.integer("window", w, 1) for w in window)
    if len(window) != 3:
        raise ValueError(f"window {window}: expected 3 sides (d, h, w)")
    return v, window


def sliding_window_probabilities(predict, volume, window, overlap=0.5, multiple_of=1):
    """Predict a volume window by window, with overlap, and average where windows overlap.

    What a volume too large for memory needs (MONAI's ``sliding_window_inference`` with
    uniform weights): the network sees one window at a time, and each voxel's probabilities are
    the mean over the windows that hold it. Near a window's faces the network sees zero padding
    instead of the real neighbours, so the result is close to, not equal to, whole-volume
    inference; overlap puts most voxels away from some window's faces.

    Parameters
    ----------
    predict : callable
        (B, d, h, w, C) -> (B, d, h, w, K) for windows of shape ``window`` (e.g. ``lambda x:
        model.predict(x, verbose=0)``).
    volume : array (D, H, W, C)
    window : tuple of 3 ints
        Window sides, at most the volume's.
    overlap : float in [0, 1)
        Share of a window shared with the next one along each axis.
    multiple_of : int
        Steps are rounded down to a multiple of it (a U-Net's pooling grid: 2 ** depth), and at
        least it.

    Returns
    -------
    float32 array (D, H, W, K)
    """
    v, window = _volume_and_window(volume, window)
    overlap = validate.number("overlap", overlap, 0.0, 1.0, closed="left")
    multiple_of = validate.integer("multiple_of", multiple_of, 1)
    steps = [max(multiple_of, int(w * (1 - overlap)) // multiple_of * multiple_of) for w in window]
    starts = [window_starts(s, w, st) for s, w, st in zip(v.shape[:3], window, steps)]
    total = count = None
    for a in starts[0]:
        for b in starts[1]:
            for c in starts[2]:
                where = (slice(a, a + window[0]), slice(b, b + window[1]), slice(c, c + window[2]))
                p = np.asarray(predict(v[where][None]))[0]
                if total is None:
                    total = np.zeros((*v.shape[:3], p.shape[-1]), np.float64)
                    count = np.zeros(v.shape[:3], np.float64)
                total[where] += p
                count[where] += 1
    return (total / count[..., None]).astype(np.float32)


def overlap_tile_probabilities(predict, volume, window, halo, multiple_of=1):
    """Predict a volume window by window, keeping only each window's centre: equal to one pass.

    Overlap-tile inference (Ronneberger et al., MICCAI 2015; for padded convolutions Majurski
    and Bajcsy, J. Res. NIST 2021): a voxel's output depends only on the input within the
    receptive field, a region as wide as :func:`medlab.summary.receptive_field` measures but,
    after pooling, not centred on the voxel: its reach to each side depends on the voxel's
    place on the pooling grid. With windows starting on that grid (``multiple_of``), a
    window's outputs at least ``halo`` voxels from each of its *inner* faces (faces inside the
    volume; faces on the volume's own border see the same zero padding as one pass) equal
    whole-volume inference, up to float rounding, when ``halo`` covers the largest reach at
    such positions (half the receptive field for the U-Nets of :mod:`medlab.models`, checked in
    the tests and lesson 13). Windows overlap by at least ``2 * halo`` along each axis they tile; each
    voxel is taken from a window where it lies in the centre.

    Parameters
    ----------
    predict : callable
        (1, d, h, w, C) -> (1, d, h, w, K) for windows of shape ``window``.
    volume : array (D, H, W, C)
    window : tuple of 3 ints
        Window sides, each the volume's side (not tiled) or more than ``2 * halo`` and a
        multiple of ``multiple_of``.
    halo : int >= 0
        Voxels dropped at each inner face (half the receptive field, e.g. from
        :func:`medlab.summary.receptive_field`).
    multiple_of : int
        Window starts on multiples of it (a U-Net's pooling grid: 2 ** depth).

    Returns
    -------
    float32 array (D, H, W, K)

    >>> volume = np.random.default_rng(0).random((20, 8, 8, 1))
    >>> voxelwise = lambda x: np.stack([x[..., 0], 1 - x[..., 0]], -1)  # halo 0 would do
    >>> bool(np.allclose(overlap_tile_probabilities(voxelwise, volume, (12, 8, 8), halo=2), voxelwise(volume[None])[0]))
    True
    """
    v, window = _volume_and_window(volume, window)
    halo = validate.integer("halo", halo, 0)
    multiple_of = validate.integer("multiple_of", multiple_of, 1)
    ranges = []  # per axis: (start, first kept, end kept) of each window
    for axis, (size, w) in enumerate(zip(v.shape[:3], window)):
        if w >= size:
            if w > size:
                raise ValueError(f"window {window}: side {w} is larger than the volume's side {size} (axis {axis})")
            ranges.append([(0, 0, size)])
            continue
        step = (w - 2 * halo) // multiple_of * multiple_of
        if step < 1 or w % multiple_of or size % multiple_of:
            raise ValueError(f"window {window}, halo {halo}: along axis {axis} (side {size}) the window must exceed "
                             f"2 * halo + {multiple_of - 1} and, like the side, be a multiple of {multiple_of}")
        starts = window_starts(size, w, step)
        ranges.append([(a, 0 if a == 0 else a + halo, size if a + w == size else a + w - halo) for a in starts])
    out = None
    for a, a0, a1 in ranges[0]:
        for b, b0, b1 in ranges[1]:
            for c, c0, c1 in ranges[2]:
                p = np.asarray(predict(v[a:a + window[0], b:b + window[1], c:c + window[2]][None]))[0]
                if out is None:
                    out = np.zeros((*v.shape[:3], p.shape[-1]), np.float32)
                out[a0:a1, b0:b1, c0:c1] = p[a0 - a:a1 - a, b0 - b:b1 - b, c0 - c:c1 - c]
    return out


# ------------------------------------------------------------------ post-processing and measures
def largest_component(labels):
    """Keep the structures' largest connected blob in each volume; every other labelled voxel -> 0.

    The hippocampus is one organ on each side: the voxels of any class other than 0 form one
    26-connected region (``scipy.ndimage.label``); stray blobs apart from the largest one are
    set to background, the classes inside it kept.

    Parameters
    ----------
    labels : int array (D, H, W) or (N, D, H, W)

    Returns
    -------
    array of the same shape and dtype
    """
    from scipy import ndimage

    lab = np.asarray(labels)
    if lab.ndim == 4:
        return np.stack([largest_component(one) for one in lab])
    if lab.ndim != 3:
        raise ValueError(f"labels has shape {lab.shape}: expected (D, H, W) or (N, D, H, W)")
    blobs, n = ndimage.label(lab > 0, structure=np.ones((3, 3, 3), bool))
    if n <= 1:
        return lab.copy()
    sizes = np.bincount(blobs.ravel())[1:]
    return np.where(blobs == 1 + int(np.argmax(sizes)), lab, 0).astype(lab.dtype)


def evaluate(reference, predicted, spacing_mm, classes=(1, 2)):
    """Dice per structure and for the whole, HD95 in mm and volumes in mm³, volume by volume.

    Parameters
    ----------
    reference, predicted : int arrays (N, D, H, W) of class numbers
    spacing_mm : 3 floats > 0
    classes : the structures' class numbers (the whole is every class > 0)

    Returns
    -------
    dict of float64 arrays (N,) (or (N, len(classes)))
        ``dice`` (N, len(classes)), ``dice_whole``, ``hd95_mm`` (N, len(classes), nan where
        a prediction is empty), ``hd95_whole_mm``, ``volume_mm3`` and ``reference_volume_mm3``
        (whole), ``volume_error_pct``: 100 (predicted - reference) / reference.
    """
    a, b = np.asarray(reference), np.asarray(predicted)
    if a.shape != b.shape or a.ndim != 4:
        raise ValueError(f"reference {a.shape} and predicted {b.shape}: expected label volumes (N, D, H, W)")
    hd = np.array([[metrics.hausdorff95_mm(r == k, p == k, spacing_mm) for k in classes] for r, p in zip(a, b)])
    whole_ref, whole = _volume_whole(a, spacing_mm), _volume_whole(b, spacing_mm)
    return {
        "dice": metrics.dice_per_class(a, b, classes),
        "dice_whole": metrics.dice_per_image(a > 0, b > 0),
        "hd95_mm": hd,
        "hd95_whole_mm": np.array([metrics.hausdorff95_mm(r > 0, p > 0, spacing_mm) for r, p in zip(a, b)]),
        "reference_volume_mm3": whole_ref,
        "volume_mm3": whole,
        "volume_error_pct": 100 * (whole - whole_ref) / np.maximum(whole_ref, 1e-12),
    }


def _volume_whole(labels, spacing_mm):
    """Volume in mm³ of every class > 0 together, per volume (N,)."""
    return metrics.volume_mm3(np.asarray(labels) > 0, spacing_mm)


def summary(figures):
    """One number per figure of :func:`evaluate`: means over volumes (HD95 over the defined ones).

    Returns
    -------
    dict
        ``test_dice_anterior``, ``test_dice_posterior``, ``test_dice_mean`` (of the two),
        ``test_dice_whole``, ``hd95_mm`` (mean over volumes and both structures),
        ``hd95_undefined`` (count of empty predictions), ``volume_error_pct`` (mean of |error|),
        ``volume_bias_pct`` (mean error).
    """
    dice = figures["dice"]
    hd = figures["hd95_mm"]
    return {
        "test_dice_anterior": float(dice[:, 0].mean()), "test_dice_posterior": float(dice[:, 1].mean()),
        "test_dice_mean": float(dice.mean()), "test_dice_whole": float(figures["dice_whole"].mean()),
        "hd95_mm": float(np.nanmean(hd)) if np.isfinite(hd).any() else float("nan"),
        "hd95_undefined": int(np.isnan(hd).sum()),
        "volume_error_pct": float(np.mean(np.abs(figures["volume_error_pct"]))),
        "volume_bias_pct": float(np.mean(figures["volume_error_pct"])),
    }


# ------------------------------------------------------------------ comparisons
@dataclass(eq=False)
class MethodComparison:
    """What :func:`compare_methods` measured.

    Attributes
    ----------
    dice_mean : dict of method -> list of float
        Mean test Dice of the two structures, one per seed (in the order of ``seeds``).
    figures : dict of method -> dict
        :func:`evaluate`'s per-volume figures of the method's first seed.
    labels : dict of method -> uint8 (N, D, H, W)
        The predicted test labels of each method's first seed.
    models : dict of method -> keras.Model
        Each method's network with the weights of its first seed.
    seconds : dict of method -> float
        Wall-clock seconds of all of the method's training.
    """

    dice_mean: dict
    figures: dict
    labels: dict
    models: dict
    seconds: dict


def compare_methods(train_images, train_masks, test_images, test_masks, spacing_mm, *, methods=METHODS,
                    seeds=(0, 1, 2), epochs=3, learning_rate=3e-3, base_filters=None, batch_sizes=None):
    """Train each method once per seed on the same volumes; measure each on the same test volumes.

    For a method, the network is built and compiled once and restarted from each seed's
    initial weights (:func:`medlab.engine.fit.restart`): one traced graph per method.
    ``epochs`` is an int or a mapping method -> int; ``batch_sizes`` (method -> int) overrides
    :data:`RECIPES`'s; ``base_filters`` the width.

    Returns
    -------
    MethodComparison
    """
    from medlab._tensorflow import seed_everything
    from medlab.engine.fit import restart

    seeds = tuple(validate.integer("seed", s) for s in seeds)
    if not seeds:
        raise ValueError("seeds: expected at least one")
    epochs_of = dict(epochs) if isinstance(epochs, dict) else dict.fromkeys(methods, epochs)
    if set(methods) - set(epochs_of):
        raise ValueError(f"epochs: no value for {sorted(set(methods) - set(epochs_of))}")
    shape, shares = np.shape(train_images)[1:], class_shares(train_masks)
    out = MethodComparison({}, {}, {}, {}, {})
    for method in methods:
        start = time.perf_counter()
        model = compile_model(build_model(method, shape, base_filters=base_filters, class_shares=shares))
        out.dice_mean[method], first = [], None
        for seed in seeds:
            seed_everything(seed)
            restart(model, build_model(method, shape, base_filters=base_filters, class_shares=shares).get_weights())
            train_method(method, model, train_images, train_masks, seed=seed, epochs=epochs_of[method],
                         learning_rate=learning_rate, batch_size=(batch_sizes or {}).get(method))
            labels = labels_of(predict_probabilities(model, method, test_images))
            out.dice_mean[method].append(float(metrics.dice_per_class(test_masks, labels).mean()))
            if seed == seeds[0]:  # the full measures (HD95 is the slow one) for the first seed only
                out.labels[method], first = labels, model.get_weights()
                out.figures[method] = evaluate(test_masks, labels, spacing_mm)
        model.set_weights(first)
        out.models[method], out.seconds[method] = model, time.perf_counter() - start
    return out


def run_recipe(data, method, seed=0, recipe=None, measure_shape=None):
    """Train ``method``'s recipe on ``data["train"]`` (best epoch by ``data["val"]``); measure on the test split.

    Parameters
    ----------
    data : medlab.data.VolumeSet (or any mapping of "train", "val", "test" to splits with
        ``images`` and ``masks``, plus ``spacing_mm``)
    method : {"2d", "2.5d", "3d"}
    seed : int
    recipe : dict, optional
        Overrides of :data:`RECIPES` [method].
    measure_shape : (D, H, W), optional
        Measure only this corner of each volume (volumes zero-padded to the network's stride
        are cut back to their own size).

    Returns
    -------
    dict
        :func:`summary`'s figures, ``val_dice_mean``, ``train_seconds``, ``epochs_run``,
        ``n_train``, ``n_val``, ``n_test``, and with ``_lcc`` the figures after
        :func:`largest_component`.
    """
    from medlab._tensorflow import seed_everything

    settings = _settings(method, recipe)
    if settings["context"] != RECIPES[method]["context"]:
        raise ValueError(f"context: {method} uses {RECIPES[method]['context']} (RECIPES), not {settings['context']}")
    train, val, test = data["train"], data["val"], data["test"]
    seed_everything(seed)
    model = compile_model(build_model(method, np.shape(train.images)[1:], depth=settings["depth"],
                                      base_filters=settings["base_filters"], context=settings["context"],
                                      class_shares=class_shares(train.masks)))
    history = train_method(method, model, train.images, train.masks, seed=seed, epochs=settings["epochs"],
                           batch_size=settings["batch_size"], learning_rate=settings["learning_rate"],
                           time_budget_s=settings["time_budget_s"],
                           validation=(val.images, val.masks) if len(val.images) else None)
    cut = (slice(None),) + tuple(slice(0, s) for s in (measure_shape or np.shape(test.masks)[1:]))
    predicted = labels_of(predict_probabilities(model, method, test.images))[cut]
    reference = np.asarray(test.masks)[cut]
    result = {"n_train": len(train.images), "n_val": len(val.images), "n_test": len(test.images),
              "train_seconds": history["train_seconds"], "epochs_run": history["epochs_run"]}
    if len(val.images):
        val_labels = labels_of(predict_probabilities(model, method, val.images))
        result["val_dice_mean"] = float(metrics.dice_per_class(np.asarray(val.masks)[cut], val_labels[cut]).mean())
    result.update(summary(evaluate(reference, predicted, data.spacing_mm)))
    after = summary(evaluate(reference, largest_component(predicted), data.spacing_mm))
    result.update({f"{k}_lcc": v for k, v in after.items()})
    return result


__all__ = [
    "METHODS", "MethodComparison", "RECIPES", "as_volume_inputs", "build_model", "compare_methods",
    "class_shares", "compile_model", "evaluate", "labels_of", "largest_component", "model_inputs",
    "predict_probabilities", "run_recipe", "slice_stack", "sliding_window_probabilities", "summary",
    "train_method", "window_starts",
]
