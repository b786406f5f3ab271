"""Augmentation that keeps the label and the anatomy, from Keras preprocessing layers (lesson 09).

A transform is allowed when a radiologist would give the transformed image the same label
*and* it is an image the scanner could have made. For a chest film: small rotations and
shifts (the child was not quite straight), zoom (another distance), brightness and contrast
(another exposure), a little noise (fewer photons). Not a left-right flip: by radiological
convention the patient's left is on the image's right, where the heart lies, and a flipped
film shows dextrocardia, a rare anomaly. Elastic deformation suits soft tissue in ultrasound
(:data:`ULTRASOUND_TRANSFORMS`), not bones on a radiograph.

Keras builds every transform (``keras.layers.Random*``); each is random only when called
with ``training=True`` and seeded, so the same ``seed`` gives the same images on every run.
Keras is imported inside the functions: importing this module does not load TensorFlow.
"""

from __future__ import annotations

import numpy as np

from medlab import validate

#: The chest-film transforms and their default strength: name -> (Keras layer, what it means).
XRAY_TRANSFORMS = {
    "rotate": ("RandomRotation", "up to +-5 degrees (0.014 of a turn)"),
    "shift": ("RandomTranslation", "up to +-6 % of the side"),
    "zoom": ("RandomZoom", "up to +-10 %"),
    "brightness": ("RandomBrightness", "up to +-0.1 on the [0, 1] grey scale"),
    "contrast": ("RandomContrast", "contrast x 0.8 to 1.2 about the mean"),
    "noise": ("GaussianNoise", "additive noise, sd 0.02 of the grey scale"),
}
#: What suits ultrasound and not a radiograph: soft tissue that deforms.
ULTRASOUND_TRANSFORMS = {"elastic": ("RandomElasticTransform", "smooth random displacement of the pixels")}


def _layer(name, seed, strength=1.0):
    from medlab._tensorflow import keras

    layers, s = keras.layers, float(strength)
    make = {
        "rotate": lambda: layers.RandomRotation(0.014 * s, fill_mode="nearest", seed=seed, name="rotate"),
        "shift": lambda: layers.RandomTranslation(0.06 * s, 0.06 * s, fill_mode="nearest", seed=seed, name="shift"),
        "zoom": lambda: layers.RandomZoom(0.1 * s, fill_mode="nearest", seed=seed, name="zoom"),
        "brightness": lambda: layers.RandomBrightness(0.1 * s, value_range=(0.0, 1.0), seed=seed, name="brightness"),
        "contrast": lambda: layers.RandomContrast(0.2 * s, value_range=(0.0, 1.0), seed=seed, name="contrast"),
        "noise": lambda: layers.GaussianNoise(0.02 * s, seed=seed, name="noise"),
        "elastic": lambda: layers.RandomElasticTransform(factor=min(1.0, 0.5 * s), scale=0.1, value_range=(0.0, 1.0),
                                                         seed=seed, name="elastic"),
    }
    return make[name]()


def xray_augmentation(transforms=tuple(XRAY_TRANSFORMS), seed=0, strength=1.0):
    """A Keras pipeline of label-preserving transforms, random only with ``training=True``.

    Parameters
    ----------
    transforms : sequence of str
        Names from :data:`XRAY_TRANSFORMS` (or ``"elastic"``, for ultrasound), applied in
        the order given.
    seed : int
        Seeds every layer (layer i gets ``seed + i``).
    strength : float in (0, 3]
        Multiplies every default strength (the elastic factor stops at Keras' maximum, 1).

    Returns
    -------
    keras.Sequential
        (N, H, W, 1) -> (N, H, W, 1); put it before a network to augment while it trains.
    """
    from medlab._tensorflow import keras

    allowed = {**XRAY_TRANSFORMS, **ULTRASOUND_TRANSFORMS}
    transforms = [validate.choice("transforms", t, tuple(allowed)) for t in transforms]
    seed = validate.integer("seed", seed, low=0)
    strength = validate.number("strength", strength, 0.0, 3.0, low_open=True)
    return keras.Sequential([_layer(t, seed + i, strength) for i, t in enumerate(transforms)],
                            name="augmentation")


def augment_images(images, transforms=tuple(XRAY_TRANSFORMS), copies=1, seed=0, strength=1.0):
    """``copies`` augmented versions of every image, clipped to [0, 1].

    Parameters
    ----------
    images : array (N, H, W) or (N, H, W, 1) in [0, 1]
    transforms, seed, strength
        As in :func:`xray_augmentation`.
    copies : int >= 1

    Returns
    -------
    float32 array (copies, N, H, W, 1)
        Copy k of image i is ``out[k, i]``; the same seed gives the same copies.
    """
    from medlab.engine.predict import as_batch

    x = as_batch(images)
    copies = validate.integer("copies", copies, low=1)
    pipeline = xray_augmentation(transforms, seed, strength)
    out = [np.asarray(pipeline(x, training=True)) for _ in range(copies)]
    return np.clip(np.stack(out), 0.0, 1.0).astype(np.float32)


def mixup(images, targets, weights, rng, alpha=0.2):
    """Mixup (Zhang et al., 2018) of one batch: each image blended with a partner of the batch.

    Image i becomes ``lam_i x_i + (1 - lam_i) x_j`` with ``j`` from a random permutation of
    the batch and ``lam_i ~ Beta(alpha, alpha)`` (small ``alpha``: most ``lam`` near 0 or 1,
    images close to real ones); its target and its sample weight are blended the same way, so
    a class weight still counts in proportion to how much of that class the image holds.

    Parameters
    ----------
    images : float array (N, H, W, C)
    targets : float array (N,) of 0/1 (or probabilities) or (N, K) one-hot
    weights : float array (N,), the sample weights (ones when there are none)
    rng : numpy.random.Generator
    alpha : float > 0

    Returns
    -------
    (images, targets, weights), float32 arrays of the shapes given

    >>> x = np.array([0.0, 1.0]).reshape(2, 1, 1, 1); y = np.array([0.0, 1.0]); w = np.array([1.0, 3.0])
    >>> mx, my, mw = mixup(x, y, w, np.random.default_rng(0), alpha=1.0)
    >>> bool(np.allclose(mx[:, 0, 0, 0], my)), bool(np.allclose(mw, 1 + 2 * my))   # blended alike
    (True, True)
    """
    alpha = validate.number("alpha", alpha, 0.0, low_open=True)
    images, targets = np.asarray(images, np.float32), np.asarray(targets, np.float32)
    weights = np.asarray(weights, np.float32)
    if not len(images) == len(targets) == len(weights):
        raise validate.ArgumentError(f"images, targets, weights: expected one length, got "
                                     f"{len(images)}, {len(targets)}, {len(weights)}")
    partner = rng.permutation(len(images))
    lam = rng.beta(alpha, alpha, size=len(images)).astype(np.float32)

    def blend(a):
        shape = (-1,) + (1,) * (a.ndim - 1)
        return lam.reshape(shape) * a + (1 - lam).reshape(shape) * a[partner]

    return blend(images), blend(targets), blend(weights)


def random_crops(images, pad, rng):
    """Random crops: each image padded by ``pad`` pixels (edges repeated) and cut back to its
    size at a random offset, i.e. moved by up to ``pad`` whole pixels each way.

    images (N, H, W, C) -> float32 (N, H, W, C); ``pad`` 0 returns them unchanged.

    >>> x = np.arange(4.0).reshape(1, 1, 4, 1)
    >>> out = random_crops(x, 1, np.random.default_rng(0))[0, 0, :, 0].tolist()
    >>> out in ([0.0, 0.0, 1.0, 2.0], [0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 3.0])
    True
    """
    pad = validate.integer("pad", pad, low=0)
    images = np.asarray(images, np.float32)
    if images.ndim != 4:
        raise validate.ArgumentError(f"images of shape {images.shape}: expected (N, H, W, C)")
    if not pad:
        return images
    n, h, w = images.shape[:3]
    padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="edge")
    dy, dx = rng.integers(0, 2 * pad + 1, size=(2, n))
    rows = dy[:, None] + np.arange(h)  # (N, H)
    cols = dx[:, None] + np.arange(w)  # (N, W)
    return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


def mixup_batches(images, targets, weights, batch_size, alpha=0.2, seed=0, crop=0):
    """An endless generator of batches ``(images, targets, weights)`` for ``model.fit``, mixed up.

    Each epoch (``ceil(N / batch_size)`` batches, the last one smaller) visits the training
    images in a new random order, as ``fit(..., shuffle=True)`` does; each batch gets
    :func:`random_crops` of ``crop`` pixels (0: none), then :func:`mixup` (``alpha`` 0: none).
    Pass it as ``model.fit(gen, steps_per_epoch=ceil(N / batch_size))``; the weights replace
    ``class_weight`` (give each image its class's weight). Seeded: the same ``seed`` gives the
    same batches.

    >>> gen = mixup_batches(np.zeros((5, 2, 2, 1)), np.ones(5), np.ones(5), batch_size=2)
    >>> [len(next(gen)[0]) for _ in range(4)]     # 2, 2, 1, then the next epoch
    [2, 2, 1, 2]
    """
    images, targets = np.asarray(images, np.float32), np.asarray(targets, np.float32)
    weights = np.asarray(weights, np.float32)
    batch_size = validate.integer("batch_size", batch_size, low=1)
    alpha = validate.number("alpha", alpha, 0.0)
    crop = validate.integer("crop", crop, low=0)
    if not len(images) == len(targets) == len(weights):
        raise validate.ArgumentError(f"images, targets, weights: expected one length, got "
                                     f"{len(images)}, {len(targets)}, {len(weights)}")
    rng = np.random.default_rng(validate.integer("seed", seed, low=0))
    while True:
        order = rng.permutation(len(images))
        for start in range(0, len(images), batch_size):
            i = order[start:start + batch_size]
            x = random_crops(images[i], crop, rng)
            yield mixup(x, targets[i], weights[i], rng, alpha) if alpha else (x, targets[i], weights[i])


__all__ = ["ULTRASOUND_TRANSFORMS", "XRAY_TRANSFORMS", "augment_images", "mixup", "mixup_batches",
           "random_crops", "xray_augmentation"]
