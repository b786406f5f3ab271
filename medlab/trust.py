"""The recipe of lesson 09: networks that say how sure they are, and saliency that is tested.

====================================================  ===========================================
``train_members(build, x, y, seeds, ...)``            one network per seed (an ensemble), with or
                                                      without augmentation -> list of models
``augmentation_trial(build, x, y, ...)``              test AUC and accuracy with and without
                                                      augmentation, per seed and subset -> rows
``ensemble_predict(members, x)``                      (M, N) probabilities, one row per member
``features(model, x)``                                (N, D) features before the output unit
``block_features(model, x)``                          per block, each channel's mean and sd
``FeatureScores(model, x_train, y_train, x_val)``     candidate OOD scores from the network,
                                                      fitted on in-distribution images only
``ood_images(films, ..., split)``                     ultrasound, MRI, inverted and blank films
``mc_dropout_predict(model, x, samples, seed)``       (S, N): dropout kept on at inference
``tta_predict(model, x, copies, seed)``               (T, N): test-time augmentation
``randomised_copy(model, layers, seed)``              the model with some layers re-initialised
``cascading_randomisation(model, x, ...)``            saliency after randomising layer by layer,
                                                      its similarity to the original -> rows, maps
``map_similarity(maps_a, maps_b)``                    Spearman and SSIM of two sets of maps,
                                                      image by image
====================================================  ===========================================

The uncertainty scores, coverage curves and OOD AUROC computed from these predictions are in
:mod:`medlab.metrics.selective`; the occlusion map beside Grad-CAM in :mod:`medlab.gradcam`.
Everything is seeded: the same seed gives the same networks, dropout masks and transforms.
"""

from __future__ import annotations

import numpy as np

from medlab import validate
from medlab._tensorflow import keras, seed_everything
from medlab.engine.fit import fit, restart
from medlab.engine.predict import as_batch
from medlab.training import _as_labels, _classifier_settings, predict_scores


def train_members(build, x, y, seeds, *, epochs=5, batch_size=32, learning_rate=1e-3, augment=False,
                  strength=1.0):
    """Train one network per seed (an ensemble when they are averaged); return them.

    Seed ``s`` decides the initial weights (``build()`` after ``seed_everything(s)``) and the
    batch order. With ``augment``, every epoch sees a fresh augmented copy of the images
    (:func:`medlab.data.augment.augment_images`, seed ``1000 s + epoch``); the network, its
    initial weights and its batch order are those of the same seed without augmentation, so
    a comparison seed by seed isolates the augmentation. One network is compiled and traced
    once and restarted for every seed; each member is a fresh copy of its trained weights.

    Parameters
    ----------
    build : callable () -> keras.Model
        Builds the uncompiled network (sigmoid output).
    x : float32 array (N, H, W, 1) in [0, 1]
    y : array (N,) of 0/1
    seeds : sequence of int
    epochs, batch_size, learning_rate
        Adam and binary cross-entropy, as :func:`medlab.training.fit_classifier`.
    augment : bool
    strength : float
        Strength of the augmentation (see :func:`medlab.data.augment.xray_augmentation`).

    Returns
    -------
    list of keras.Model
        One per seed, uncompiled, ready for :func:`ensemble_predict`.
    """
    from medlab.data.augment import augment_images

    seeds = [validate.integer("seeds", s, low=0) for s in seeds]
    if not seeds:
        raise validate.ArgumentError("seeds is empty: expected at least one seed")
    epochs = validate.integer("epochs", epochs, low=1)
    x = as_batch(x, "x")
    y = _as_labels(y, len(x), "y")
    trainer, members = None, []
    for seed in seeds:
        seed_everything(seed)
        initial = build()
        if trainer is None:
            trainer = build()
            trainer.compile(**_classifier_settings(learning_rate))
        restart(trainer, initial, learning_rate=learning_rate)
        seed_everything(seed)
        for epoch in range(epochs):
            images = augment_images(x, seed=1000 * seed + epoch, strength=strength)[0] if augment else x
            fit(trainer, images, y, epochs=1, batch_size=batch_size)
        member = build()
        member.set_weights(trainer.get_weights())
        members.append(member)
    return members


def augmentation_trial(build, x, y, x_test, y_test, *, subsets, seeds, epochs=5, batch_size=32,
                       learning_rate=1e-3, threshold=0.5, subset_seed=0):
    """Test AUC and accuracy with and without augmentation, for each training-subset size and seed.

    Parameters
    ----------
    build : callable () -> keras.Model
    x, y : the training images (N, H, W, 1) and labels (N,)
    x_test, y_test : the images and labels that judge every network
    subsets : sequence of int
        Training-set sizes (stratified subsets of ``x``, drawn once with ``subset_seed``;
        a size >= N uses all images).
    seeds : sequence of int
        One pair of networks (without, with augmentation) per seed and subset.
    epochs, batch_size, learning_rate
        As :func:`train_members`. ``epochs`` passes over the largest subset; a smaller subset
        gets proportionally more (``ceil(epochs * largest / size)``), so that every network
        makes about the same number of training steps.
    threshold : float
        For the accuracy.

    Returns
    -------
    list of dict
        One row per subset, augmentation and seed: ``images`` (training images), ``epochs``,
        ``steps`` (batches the network was trained on: ``epochs * ceil(images / batch_size)``),
        ``augmentation`` ("none" or "label-preserving"), ``seed``, ``auc``, ``accuracy``.
    """
    from medlab import metrics
    from medlab.data.classification import _limit

    x, x_test = as_batch(x, "x"), as_batch(x_test, "x_test")
    y, y_test = _as_labels(y, len(x), "y"), _as_labels(y_test, len(x_test), "y_test")
    rows = []
    sizes = [min(validate.integer("subsets", size, low=2), len(x)) for size in subsets]
    epochs = validate.integer("epochs", epochs, low=1)
    for size in sizes:
        xs, ys = (x, y) if size >= len(x) else _limit(x, y.astype(np.int64), size, subset_seed)
        passes = -(-epochs * max(sizes) // size)
        for augment, name in ((False, "none"), (True, "label-preserving")):
            members = train_members(build, xs, ys, seeds, epochs=passes, batch_size=batch_size,
                                    learning_rate=learning_rate, augment=augment)
            for seed, member in zip(seeds, members):
                p = predict_scores(member, x_test)
                rows.append({"images": int(len(xs)), "epochs": passes, "steps": passes * -(-len(xs) // batch_size),
                             "augmentation": name, "seed": int(seed),
                             "auc": float(metrics.auc(y_test, p)),
                             "accuracy": float(np.mean((p >= threshold) == (y_test == 1)))})
    return rows


def ensemble_predict(members, x):
    """Every member's probability of class 1: float array (M, N).

    The ensemble's prediction is the mean over axis 0
    (:func:`medlab.metrics.uncertainty_scores` gives it with the uncertainty scores).
    """
    if not members:
        raise validate.ArgumentError("members is empty: expected at least one model")
    return np.stack([predict_scores(member, x) for member in members])


def _dropout_layers(model):
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Dropout)]


def mc_dropout_predict(model, x, samples=20, seed=0, batch_size=256):
    """Monte Carlo dropout: ``samples`` passes with fresh dropout masks (Gal and Ghahramani, 2016).

    Only the dropout layers act as in training (each unit dropped with the layer's rate, the
    rest scaled by ``1 / (1 - rate)``); batch normalisation keeps its running statistics and
    augmentation layers stay off.

    Parameters
    ----------
    model : keras.Sequential
        With at least one ``Dropout`` layer.
    x : array (N, H, W, 1)
    samples : int >= 1
    seed : int
        Seeds the masks: the same seed gives the same passes.

    Returns
    -------
    float32 array (samples, N)
    """
    if not _dropout_layers(model):
        raise validate.ArgumentError(f"model {model.name!r} has no Dropout layer: MC dropout needs one")
    samples = validate.integer("samples", samples, low=1)
    generator = keras.random.SeedGenerator(validate.integer("seed", seed, low=0))
    x = as_batch(x)
    out = []
    for _ in range(samples):
        parts = []
        for start in range(0, len(x), batch_size):
            h = x[start:start + batch_size]
            for layer in model.layers:
                if isinstance(layer, keras.layers.Dropout):
                    h = keras.random.dropout(h, layer.rate, seed=generator)
                else:
                    h = layer(h, training=False)
            parts.append(np.asarray(h).reshape(len(h), -1)[:, -1])
        out.append(np.concatenate(parts))
    return np.stack(out).astype(np.float32)


def tta_predict(model, x, copies=10, seed=0, strength=1.0):
    """Test-time augmentation: the model's probability on ``copies`` augmented copies of each image.

    The copies come from :func:`medlab.data.augment.augment_images` (the label-preserving
    chest-film transforms), seeded.

    Returns
    -------
    float32 array (copies, N)
    """
    from medlab.data.augment import augment_images

    augmented = augment_images(x, copies=copies, seed=seed, strength=strength)
    return np.stack([predict_scores(model, images) for images in augmented]).astype(np.float32)


def features(model, x, layer=None, batch_size=256):
    """The network's features of each image: the output of ``layer``, flattened, (N, D).

    Default ``layer``: the last layer before the output unit that is not dropout (for
    :func:`medlab.models.small_cnn`, ``flatten``). Distances in this space are an
    out-of-distribution score (:func:`medlab.metrics.mahalanobis_score`).
    """
    from medlab.engine.predict import predict

    if layer is None:
        layer = [l.name for l in model.layers[:-1] if not isinstance(l, keras.layers.Dropout)][-1]
    extractor = keras.Model(model.inputs[0], model.get_layer(layer).output)
    out = predict(extractor, x, batch_size)
    return out.reshape(len(out), -1)


def _pooling_layers(model):
    return [l.name for l in model.layers if isinstance(l, (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D))]


def block_features(model, x, layers=None, batch_size=256):
    """Each block's feature maps summarised per channel: mean and sd over the image, (N, 2 C) per layer.

    The summary of Lee et al.'s multi-layer detector (NeurIPS 2018: channel means; the sd adds
    texture): early blocks see grey levels and edges, later ones shapes, so an image can look
    normal to one block and strange to another.

    Parameters
    ----------
    model : keras.Model
    x : array (N, H, W, 1)
    layers : sequence of str, optional
        Layers with (N, h, w, C) outputs. Default: every pooling layer (the end of each
        convolutional block; for :func:`medlab.models.small_cnn`, ``pool1`` and ``pool2``).

    Returns
    -------
    dict of str -> float64 array (N, 2 C)
        Per layer: the C channel means, then the C channel standard deviations (ddof 0).
    """
    batch_size = validate.integer("batch_size", batch_size, low=1)
    layers = _pooling_layers(model) if layers is None else [str(name) for name in layers]
    if len(set(layers)) != len(layers):
        raise validate.ArgumentError(f"layers {layers}: expected each name once")
    if not layers:
        raise validate.ArgumentError(f"model {model.name!r} has no pooling layer: pass layers (names of 4-D outputs)")
    for name in layers:
        validate.choice("layers", name, tuple(l.name for l in model.layers))
    extractor = keras.Model(model.inputs[0], [model.get_layer(name).output for name in layers])
    x = as_batch(x, "x")
    out = {name: [] for name in layers}
    for start in range(0, len(x), batch_size):
        maps = extractor(x[start:start + batch_size], training=False)
        for name, m in zip(layers, maps if len(layers) > 1 else [maps]):
            m = np.asarray(m, np.float64)
            if m.ndim != 4:
                raise validate.ArgumentError(f"layers: {name!r} gives shape {m.shape[1:]}: expected (h, w, C) maps")
            out[name].append(np.concatenate([m.mean(axis=(1, 2)), m.std(axis=(1, 2))], axis=1))
    return {name: np.concatenate(parts) for name, parts in out.items()}


def _logits(model, f):
    """The logit z of a one-unit sigmoid output, p = 1 / (1 + exp(-z)), from the features (N, D) before it.

    From the output layer's kernel and bias, not from p (which rounds to 1 in float32 once z > 17).
    """
    out = model.layers[-1]
    if not isinstance(out, keras.layers.Dense) or out.units != 1 or out.activation is not keras.activations.sigmoid:
        raise validate.ArgumentError(f"model {model.name!r}: expected a last layer Dense(1, sigmoid), got {out.name!r}")
    return f.astype(np.float64) @ np.asarray(out.kernel, np.float64)[:, 0] + float(np.asarray(out.bias)[0])


class FeatureScores:
    """Candidate out-of-distribution scores of one trained classifier, fitted on in-distribution images only.

    Every score but ``energy`` is higher for images less like the training films; ``energy``
    of a one-unit sigmoid output is :math:`\\log(1 - p)`, a function of the predicted class
    alone, so it is a negative control (:func:`medlab.metrics.energy_score`). Fitted on the training
    films (features and labels) and standardised on in-distribution validation films; no
    out-of-distribution image is used, so that choosing between the candidates on
    validation OOD images, and measuring the chosen one on test, stays honest.

    ==============================  ==========================================================
    ``energy``                      :func:`medlab.metrics.energy_score` of the output logit
                                    (Liu et al., 2020)
    ``kNN, flatten``                :func:`medlab.metrics.knn_distance` of the unit-length
                                    :func:`features` to the training films' (Sun et al., 2022)
    ``Mahalanobis, flatten``        class-conditional :func:`medlab.metrics.mahalanobis_score`
                                    of :func:`features` (Lee et al., 2018, one layer)
    ``Mahalanobis, blocks, sum``    the same on every block's :func:`block_features`, each
    ``Mahalanobis, blocks, max``    standardised on the validation films, summed or maxed
                                    (:func:`medlab.metrics.combine_scores`)
    ==============================  ==========================================================

    Parameters
    ----------
    model : keras.Model
        The trained classifier, last layer Dense(1, sigmoid).
    x_train, y_train : arrays (N, H, W, 1) and (N,)
        The films it was trained on, with their labels.
    x_val : array (N_val, H, W, 1)
        In-distribution validation films (not the training films: their distances are
        smaller than a new film's).
    layers : sequence of str, optional
        The blocks, as :func:`block_features`.
    k : int
        Neighbour of the kNN score.

    Calling the object on images (N, H, W, 1) gives dict of name -> float64 array (N,).
    """

    names = ("energy", "kNN, flatten", "Mahalanobis, flatten", "Mahalanobis, blocks, sum",
             "Mahalanobis, blocks, max")

    def __init__(self, model, x_train, y_train, x_val, layers=None, k=5):
        from medlab import metrics

        self.model, self.layers = model, layers
        x_train = as_batch(x_train, "x_train")
        self.k = validate.integer("k", k, low=1, high=len(x_train))
        y_train = _as_labels(y_train, len(x_train), "y_train")
        self.train_flat = features(model, x_train)
        _logits(model, self.train_flat[:1])  # a Dense(1, sigmoid) output, or a clear error now
        self.flat_distance = metrics.MahalanobisScore(self.train_flat, y_train)
        self.block_distance = {name: metrics.MahalanobisScore(f, y_train)
                               for name, f in block_features(model, x_train, layers).items()}
        self.val_blocks = self._block_scores(as_batch(x_val, "x_val"))

    def _block_scores(self, x):
        return {name: self.block_distance[name](f) for name, f in block_features(self.model, x, self.layers).items()}

    def __call__(self, x):
        from medlab import metrics

        x = as_batch(x, "x")
        flat, blocks = features(self.model, x), self._block_scores(x)
        return {"energy": metrics.energy_score(_logits(self.model, flat)),
                "kNN, flatten": metrics.knn_distance(self.train_flat, flat, self.k),
                "Mahalanobis, flatten": self.flat_distance(flat),
                "Mahalanobis, blocks, sum": metrics.combine_scores(self.val_blocks, blocks, "sum"),
                "Mahalanobis, blocks, max": metrics.combine_scores(self.val_blocks, blocks, "max")}


def ood_images(films, n_per_source=60, image_size=28, seed=0, split="test"):
    """Images a chest X-ray classifier was never trained on, from the data medlab ships.

    Two disjoint sets of source images: ``split="test"`` for measuring, ``"validation"`` for
    choosing between scores, so that no test image helps choose.

    Parameters
    ----------
    films : array (N, S, S, 1) in [0, 1]
        Real films of the same split (test or validation): their negatives make the
        "inverted film" source and their mean grey level the blank films'.
    n_per_source : int >= 1
    image_size : int
        Side S of the returned images (resized with ``skimage.transform.resize``).
    seed : int
        Which images are drawn, and the noise of the blank films.
    split : "test" or "validation"
        HC18 examinations: the even-ranked ones for test, the odd-ranked for validation (no
        examination in both); MRI: the hippocampus test volumes (30 subjects) or validation
        volumes (20 other subjects).

    Returns
    -------
    dict of str -> float32 array (n, S, S, 1) in [0, 1]
        ``fetal ultrasound`` (HC18 frames), ``brain MRI`` (middle axial slices around the
        hippocampus, MSD Task04), ``inverted film`` (1 - x: a film shown with the wrong
        photometric interpretation, DICOM MONOCHROME1 read as MONOCHROME2), ``blank film``
        (uniform grey at the films' mean level, with slight noise).
    """
    from skimage.transform import resize

    from medlab.data.bundled import load_hc18
    from medlab.data.hippocampus import load_hippocampus

    n = validate.integer("n_per_source", n_per_source, low=1)
    size = validate.integer("image_size", image_size, low=8)
    split = validate.choice("split", split, ("test", "validation"))
    films = as_batch(films, "films")
    rng = np.random.default_rng(validate.integer("seed", seed, low=0))

    def fit(images):  # (k, h, w) grey levels in [0, 1] -> (k, size, size, 1)
        out = np.stack([resize(im, (size, size), anti_aliasing=True) for im in images])
        return np.clip(out, 0, 1).astype(np.float32)[..., None]

    hc18 = load_hc18()
    examinations = np.unique(hc18.subject)[slice(0 if split == "test" else 1, None, 2)]
    ultrasound = hc18.images[np.isin(hc18.subject, examinations)]
    ultrasound = ultrasound[rng.choice(len(ultrasound), min(n, len(ultrasound)), replace=False)] / 255.0
    volumes = load_hippocampus()["test" if split == "test" else "val"].images.astype(np.float64) / 255.0
    middle = volumes.shape[3] // 2  # volumes (V, 40, 56, 40)
    slices = np.concatenate([volumes[:, :, :, middle + k] for k in range(-3, 4)])  # (7 V, 40, 56)
    slices = slices[rng.choice(len(slices), min(n, len(slices)), replace=False)]
    chosen = films[rng.choice(len(films), min(n, len(films)), replace=False)]
    level = float(films.mean())
    blank = np.clip(level + rng.normal(0.0, 0.02, (n, size, size, 1)), 0, 1).astype(np.float32)
    return {"fetal ultrasound": fit(ultrasound), "brain MRI": fit(slices),
            "inverted film": (1.0 - chosen).astype(np.float32), "blank film": blank}


def weight_layers(model):
    """Names of the layers with a kernel (convolutions and dense), input to output."""
    return [layer.name for layer in model.layers if getattr(layer, "kernel", None) is not None]


def randomised_copy(model, build, layers, seed=0):
    """A copy of ``model`` whose ``layers`` have freshly initialised weights (kernels and biases).

    Parameters
    ----------
    model : keras.Model
        The trained network.
    build : callable () -> keras.Model
        Builds the same architecture (the copy).
    layers : sequence of str
        Names of layers to re-initialise, with their layer's own initializers, seeded.
    seed : int

    Returns
    -------
    keras.Model
        The other layers (batch-norm statistics included) keep the trained values.
    """
    copy = build()
    copy.set_weights(model.get_weights())
    names = weight_layers(copy)
    for index, name in enumerate(layers):
        validate.choice("layers", name, tuple(names))
        layer = copy.get_layer(name)
        layer.kernel.assign(layer.kernel_initializer.__class__(seed=seed + index)(layer.kernel.shape))
        if getattr(layer, "bias", None) is not None:
            layer.bias.assign(np.zeros(layer.bias.shape, np.float32))
    return copy


def cascading_randomisation(model, build, images, saliency, seed=0):
    """Adebayo et al.'s model-randomisation test: re-initialise layers from the output down.

    After each step (the output layer, then it and the layer below, ...) the saliency maps
    of ``images`` are recomputed and compared with the trained network's: a method that
    explains the *model* must change its maps when the weights are destroyed.

    Parameters
    ----------
    model, build
        As :func:`randomised_copy`.
    images : array (n, H, W, 1)
    saliency : callable (model, images) -> array (n, H, W)
        E.g. :func:`medlab.gradcam.grad_cam`.
    seed : int

    Returns
    -------
    rows : list of dict
        ``randomised`` ("none", then "down to <layer>"), ``layers`` (how many), ``spearman``
        (mean over images of the rank correlation with the original maps, absolute values; a
        constant map counts as 0)
        and ``ssim`` (mean structural similarity, maps scaled to [0, 1]).
    maps : dict of str -> array (n, H, W)
        The maps at every step, keyed as ``randomised``.
    """
    images = as_batch(images)
    names = weight_layers(model)[::-1]  # output first
    original = np.asarray(saliency(model, images), np.float64)
    steps = [("none", [])] + [(f"down to {name}", names[:k + 1]) for k, name in enumerate(names)]
    rows, maps = [], {}
    for label, layers in steps:
        m = original if not layers else np.asarray(
            saliency(randomised_copy(model, build, layers, seed), images), np.float64)
        similar = map_similarity(original, m)
        rows.append({"randomised": label, "layers": len(layers), "spearman": float(np.mean(similar["spearman"])),
                     "ssim": float(np.mean(similar["ssim"]))})
        maps[label] = m
    return rows, maps


def map_similarity(maps_a, maps_b):
    """How alike two sets of saliency maps are, image by image (Adebayo et al.'s two measures).

    Parameters
    ----------
    maps_a, maps_b : array (n, H, W)
        E.g. the trained network's Grad-CAM maps and those of a network with random weights
        or trained on shuffled labels, for the same n images.

    Returns
    -------
    dict of str -> float array (n,)
        ``spearman``: rank correlation of the absolute values (1 = the same order of pixels;
        a constant map, no evidence anywhere, counts as 0); ``ssim``: structural similarity
        of the absolute maps, each scaled to its own maximum (1 = identical).

    >>> m = np.random.default_rng(0).random((2, 8, 8))
    >>> {k: v.round(6).tolist() for k, v in map_similarity(m, 3 * m).items()}
    {'spearman': [1.0, 1.0], 'ssim': [1.0, 1.0]}
    """
    from scipy import stats

    from medlab import metrics

    a = np.abs(validate.values("maps_a", maps_a).astype(np.float64))
    b = np.abs(validate.values("maps_b", maps_b).astype(np.float64))
    if a.ndim != 3 or a.shape != b.shape:
        raise validate.ArgumentError(f"maps_a {a.shape} and maps_b {b.shape}: expected the same shape (n, H, W)")

    def rank_correlation(x, y):
        x, y = x.ravel(), y.ravel()
        return 0.0 if np.ptp(x) == 0 or np.ptp(y) == 0 else float(stats.spearmanr(x, y)[0])

    def scaled(m):
        peak = m.reshape(len(m), -1).max(axis=1)[:, None, None]
        return m / np.where(peak > 0, peak, 1.0)

    return {"spearman": np.array([rank_correlation(x, y) for x, y in zip(a, b)]),
            "ssim": np.asarray(metrics.ssim_per_image(scaled(a), scaled(b)), np.float64)}


__all__ = [
    "FeatureScores", "augmentation_trial", "block_features", "cascading_randomisation", "ensemble_predict", "features",
    "map_similarity", "mc_dropout_predict", "ood_images",
    "randomised_copy", "train_members", "tta_predict", "weight_layers",
]
