"""Anomaly scores for lesson 11, their trivial baselines, and a fair comparison of them.

A model of *normal* images turns each image into a number, higher for less normal images.
Which number matters: on PneumoniaMNIST the mean squared reconstruction error ranks the
official test split at chance, because pneumonia X-rays have less contrast (so a smaller
error anyway) and the test normals are framed differently from the training normals. Scores
that compare *structure* rather than raw intensities survive both.

==============================================  ==========================================
``mse_score(x, x_hat)``                         mean squared error of each image
``ssim_score(x, x_hat)``                        1 - SSIM of each image
``multiscale_ssim_score(x, x_hat, scales)``     1 - SSIM averaged over halved resolutions
``standardized_mse_score(x, x_hat)``            MSE after standardising x and x_hat
``error_maps(x, x_hat)``                        ``|x - x_hat|`` per pixel, (N, H, W)
``ssim_maps(x, x_hat)``                         1 - SSIM per pixel, (N, H, W)
``quantile_score(maps, q, margin)``             the q-th percentile of each map: a local
                                                failure counts even if the rest is rebuilt
``best_shift_score(x, rebuild, radius=2)``      a reconstruction score at the best
                                                offset (integer shifts up to ``radius`` px)
``shift_normals(images, labels, radius)``       the normal images moved by random integer
                                                offsets: a simulated shift of the normals
``intensity_features(images)``                  the trivial baselines: mean intensity, sd
``sharpness(images)``                           mean absolute Laplacian of each image, (N,)
``synthetic_opacities(images, seed)``           normal images with a simulated opacity in
                                                a lung field (self-supervised anomalies)
``OpacityClassifier().fit(x).score(x)``         a small CNN, normal against
                                                ``synthetic_opacities`` of them: its odds
``LatentMahalanobis().fit(z).score(z)``         Mahalanobis distance to the normal codes
``PCANearestNeighbours().fit(x).score(x)``      PCA of standardised images, k-NN distance
``FeatureNearestNeighbours().fit(f).score(f)``  k-NN distance to the normal images' features
``compare_scores(val, y_val, test, y_test)``    validation and test AUC of every score,
                                                the test AUC with a bootstrap interval
``choose_on_validation(rows)``                  the row with the best validation AUC
``with_contrast(score, images, y, ...)``        a score and the image sd combined by a
                                                logistic regression fitted on validation
``combine_scores(val, y_val, test)``            a few scores (each > 0) combined the same way
``contrast(images)``                            the image sd floored at ``SD_FLOOR``, (N,)
==============================================  ==========================================

Images are float arrays in [0, 1], (N, H, W) or (N, H, W, 1). Every score is an array (N,),
higher meaning "more anomalous". The codes z = f(x) of an encoder are
``medlab.engine.predict.predict(encoder, images)``. Only NumPy is imported here (scikit-learn
inside the functions that need it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from medlab import metrics, validate

#: Floor of an image's standard deviation in :func:`_standardize` (a flat image stays finite).
SD_FLOOR = 1e-6


def _images(images, name="images"):
    """Grey images (N, H, W) or (N, H, W, 1) as finite float64 (N, H, W)."""
    x = validate.image_array(name, images, ndims=(3, 4), dtype_kinds="uifb", channels=(1,))
    x = x.astype(np.float64).reshape(x.shape[:3])
    if not np.all(np.isfinite(x)):
        raise validate.ArgumentError(f"{name} holds NaN or infinity: expected finite values")
    return x


def _pair(images, reconstructions):
    """Images and their reconstructions as float64 (N, H, W), the same shape."""
    a, b = _images(images), _images(reconstructions, "reconstructions")
    if a.shape != b.shape:
        raise ValueError(f"images have shape {a.shape} but reconstructions {b.shape}")
    return a, b


def _standardize(images):
    """Each image minus its own mean, divided by its own standard deviation.

    Parameters
    ----------
    images : array (N, H, W) or (N, H, W, 1)

    Returns
    -------
    float64 array (N, H, W)
        Every image with mean 0 and sd 1 (a flat image: all zeros): brightness and contrast
        are gone, the pattern stays.
    """
    x = _images(images)
    mean = x.mean(axis=(1, 2), keepdims=True)
    sd = x.std(axis=(1, 2), keepdims=True)
    return (x - mean) / np.maximum(sd, SD_FLOOR)


def mse_score(images, reconstructions):
    """Mean squared reconstruction error of each image, (N,): the score that fails on test."""
    return metrics.reconstruction_error(_images(images), _images(reconstructions, "reconstructions"))


def ssim_score(images, reconstructions):
    """``1 - SSIM(x, x_hat)`` of each image, (N,).

    SSIM compares local means, contrasts and correlations (7 x 7 windows) and divides by the
    local contrast, so a low-contrast image is not rewarded for its small absolute error.
    """
    return 1.0 - metrics.ssim_per_image(_images(images), _images(reconstructions, "reconstructions"))


def _halve(x):
    """(N, H, W) -> (N, H // 2, W // 2), the mean of every 2 x 2 block (odd edges dropped)."""
    n, h, w = x.shape
    return x[:, :h // 2 * 2, :w // 2 * 2].reshape(n, h // 2, 2, w // 2, 2).mean(axis=(2, 4))


def multiscale_ssim_score(images, reconstructions, scales=2):
    """``1 - SSIM`` averaged over ``scales`` resolutions, (N,).

    Scale 1 is the image itself, each next one halves it (mean of 2 x 2 blocks) before
    comparing: the 7 x 7 SSIM window then sees structures twice, four times... as large.
    ``scales=1`` is :func:`ssim_score`. The smallest scale needs at least 7 x 7 pixels.
    """
    scales = validate.integer("scales", scales, low=1)
    a, b = _pair(images, reconstructions)
    if min(a.shape[1:]) // 2 ** (scales - 1) < 7:
        raise ValueError(f"scales={scales}: images of {a.shape[1]} x {a.shape[2]} pixels, halved "
                         f"{scales - 1} times, are smaller than SSIM's 7 x 7 window")
    total = np.zeros(len(a))
    for _ in range(scales):
        total += 1.0 - metrics.ssim_per_image(a, b)
        a, b = _halve(a), _halve(b)
    return total / scales


def standardized_mse_score(images, reconstructions):
    """MSE between the standardised image and its standardised reconstruction, (N,).

    Equal to ``2 (1 - r)`` with r the Pearson correlation of x and x_hat over the pixels.
    """
    a, b = _standardize(images), _standardize(reconstructions)
    return np.mean((a - b) ** 2, axis=(1, 2))


def error_maps(images, reconstructions):
    """``|x - x_hat|`` of every pixel, (N, H, W): where the autoencoder failed to rebuild."""
    a, b = _pair(images, reconstructions)
    return np.abs(a - b)


def ssim_maps(images, reconstructions):
    """``1 - SSIM`` at every pixel, (N, H, W): one minus :func:`medlab.metrics.ssim_maps`
    (7 x 7 windows, scikit-image's ``full=True`` map).

    Its mean over the pixels is :func:`ssim_score` (up to the border that scikit-image leaves
    out of its mean). Values lie in [0, 2]; 0 where x and x_hat agree in structure.
    """
    return 1.0 - metrics.ssim_maps(*_pair(images, reconstructions))


def quantile_score(maps, q=80.0, margin=0):
    """The ``q``-th percentile of each per-pixel map, (N,): a score that localises.

    The mean of a map dilutes a small opacity among the pixels rebuilt well; a high
    percentile counts only the worst ``100 - q`` % of them. ``q=50`` is the median.

    Parameters
    ----------
    maps : array (N, H, W)
        Per-pixel errors, higher = worse (:func:`ssim_maps`, :func:`error_maps`).
    q : float in [0, 100]
    margin : int >= 0
        Pixels left out at every border (0: the whole image).

    >>> maps = np.zeros((2, 10, 10)); maps[1, 4:6, 4:6] = 1.0   # one image with a 2 x 2 spot
    >>> quantile_score(maps, q=50).tolist(), quantile_score(maps, q=99).tolist()
    ([0.0, 0.0], [0.0, 1.0])
    """
    m = validate.values("maps", maps, dtype_kinds="uif")  # names a NaN; refuses complex, text
    if m.ndim != 3 or 0 in m.shape:
        raise validate.ArgumentError(f"maps has shape {m.shape}: expected (N, H, W) with N, H, W >= 1")
    q = validate.number("q", q, 0, 100)
    margin = validate.integer("margin", margin, low=0)
    if 2 * margin >= min(m.shape[1:]):
        raise validate.ArgumentError(f"margin={margin}: leaves no pixel of {m.shape[1]} x {m.shape[2]} maps")
    inner = m[:, margin:m.shape[1] - margin, margin:m.shape[2] - margin]
    return np.percentile(inner.reshape(len(m), -1), q, axis=1)


def best_shift_score(images, rebuild, score=None, radius=2):
    """A reconstruction score at the offset where each image is rebuilt best, (N,).

    Every image is shifted by each integer offset (dy, dx) with ``|dy|, |dx| <= radius``
    (edge pixels repeated, no interpolation, so no blur), rebuilt by ``rebuild`` and scored;
    the minimum over the ``(2 radius + 1) ** 2`` offsets is kept. A normal image framed a
    pixel or two differently from the training normals finds an offset where the model of
    normal images rebuilds it well; an image with an opacity is rebuilt badly at every offset.
    ``radius=0`` is the plain score.

    Parameters
    ----------
    images : array (N, H, W, 1) or (N, H, W)
    rebuild : callable
        Images (N, H, W, 1) float32 -> reconstructions of that shape (e.g.
        ``lambda x: medlab.denoise.denoise(autoencoder, x)``), called once per offset.
    score : callable, optional
        ``score(images, reconstructions) -> (N,)``, higher = more anomalous; default
        :func:`ssim_score`.
    radius : int >= 0, less than half the smaller side

    >>> normal = np.zeros((9, 9, 1)); normal[3:6, 3:6] = 1.0    # a centred square
    >>> rebuild = lambda im: np.broadcast_to(normal, im.shape)  # a "model" that knows only it
    >>> x = np.roll(normal, 1, axis=1)[None]                     # the square framed 1 px off
    >>> float(mse_score(x, rebuild(x))[0]) > 0, float(best_shift_score(x, rebuild, mse_score, radius=1)[0])
    (True, 0.0)
    """
    from scipy import ndimage

    x = _images(images).astype(np.float32)
    radius = validate.integer("radius", radius, low=0)
    if 2 * radius >= min(x.shape[1:]):
        raise validate.ArgumentError(f"radius={radius}: expected less than half of {x.shape[1]} x {x.shape[2]} images")
    if not callable(rebuild):
        raise validate.ArgumentError(f"rebuild is a {type(rebuild).__name__}: expected a callable images -> reconstructions")
    score = ssim_score if score is None else score
    best = np.full(len(x), np.inf)
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            moved = ndimage.shift(x, (0, dy, dx), order=0, mode="nearest")[..., None]
            best = np.minimum(best, np.asarray(score(moved, rebuild(moved)), dtype=np.float64))
    return best


def shift_normals(images, labels, radius=2, seed=0):
    """The images with every normal one (label 0) moved by a random integer offset, (N, H, W, 1).

    Each normal image gets its own (dy, dx), uniform on ``[-radius, radius]`` each (edge
    pixels repeated, no interpolation, so no blur; (0, 0) included); abnormal images are
    returned unchanged. A stress test of a score on validation: the AUC on these images tells
    how the score would fare if new normal images were framed differently from the training
    normals, a shift that makes the normals, not the abnormal images, look new.

    >>> x = np.zeros((3, 5, 5)); x[:, 2, 2] = 1.0
    >>> moved = shift_normals(x, [0, 0, 1], radius=1, seed=0)
    >>> moved.shape, bool(np.array_equal(moved[2, ..., 0], x[2]))
    ((3, 5, 5, 1), True)
    """
    from scipy import ndimage

    x = _images(images).astype(np.float32)
    y = validate.binary("labels", labels)
    if y.shape != (len(x),):
        raise validate.ArgumentError(f"labels: {y.size} labels for {len(x)} images")
    radius = validate.integer("radius", radius, low=0)
    if 2 * radius >= min(x.shape[1:]):
        raise validate.ArgumentError(f"radius={radius}: expected less than half of {x.shape[1]} x {x.shape[2]} images")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    out = x.copy()
    for i in np.flatnonzero(y == 0):
        out[i] = ndimage.shift(x[i], rng.integers(-radius, radius + 1, 2), order=0, mode="nearest")
    return out[..., None]


def sharpness(images):
    """Mean absolute Laplacian of each image (``scipy.ndimage.laplace`` over H and W, edges
    reflected), floored at :data:`SD_FLOOR`, (N,), in intensity units per pixel.

    The fine detail of an image (rib edges, vessel markings): an opacity that fills a lung
    field blurs it away, and the autoencoder's own error grows with it (a blurry rebuild of a
    sharp normal image loses more structure), so it is an image statistic for a
    :func:`combine_scores` rule beside the error, like :func:`contrast`. No model: alone it
    is a trivial baseline.

    >>> flat, checker = np.full((4, 4), 0.5), np.indices((4, 4)).sum(axis=0) % 2 * 1.0
    >>> sharpness(np.stack([flat, checker])).tolist()
    [1e-06, 3.0]
    """
    from scipy import ndimage

    x = _images(images)
    return np.maximum(np.abs(ndimage.laplace(x, axes=(1, 2))).mean(axis=(1, 2)), SD_FLOOR)


def synthetic_opacities(images, seed=0, amplitude=(0.08, 0.3), radius=(0.09, 0.21)):
    """Each image with one simulated opacity in a lung field: a self-supervised anomaly, (N, H, W, 1).

    A Gaussian blob of weight ``g`` (centre in the middle half of the rows and in the left
    or the right lung's columns, 18-43 % or 57-82 % of the width; sd ``radius`` times the
    width) blends the image towards a blurred (1 px) and brightened copy of itself:
    ``x' = (1 - g) x + g (b + a (1 - b))``, ``b`` the blurred image, ``a`` the
    ``amplitude``. What a consolidation does on an X-ray: a local whitening that hides the
    fine markings. Drawn per image from ``seed``; the input is not changed.

    Parameters
    ----------
    images : array (N, H, W) or (N, H, W, 1), values in [0, 1]
    seed : int, sequence of ints or numpy Generator
    amplitude, radius : (low, high)
        Uniform ranges of the brightening (fraction of the way to white) and of the blob's
        sd (fraction of the width).

    Returns
    -------
    float32 array (N, H, W, 1) in [0, 1]

    >>> x = np.full((2, 28, 28), 0.3)
    >>> y = synthetic_opacities(x, seed=0)
    >>> y.shape, bool(np.all(y >= x[..., None] - 1e-6)), bool(y.max() > 0.35), float(x[0, 0, 0])
    ((2, 28, 28, 1), True, True, 0.3)
    """
    from scipy import ndimage

    x = _images(images)
    for name, pair in (("amplitude", amplitude), ("radius", radius)):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise validate.ArgumentError(f"{name}={pair!r}: expected (low, high), two numbers in [0, 1]")
        low_, high_ = (validate.number(f"{name}[{i}]", v, 0.0, 1.0) for i, v in enumerate(pair))
        if not low_ <= high_:
            raise validate.ArgumentError(f"{name}={tuple(pair)!r}: expected (low, high) with low <= high")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    n, h, w = x.shape
    rows, cols = np.mgrid[:h, :w]
    centre_y = rng.uniform(0.25, 0.75, n) * h
    side = rng.integers(0, 2, n)  # 0: the image's left lung field, 1: its right
    centre_x = (rng.uniform(0.18, 0.43, n) + 0.39 * side) * w
    sd = rng.uniform(*radius, n) * w
    a = rng.uniform(*amplitude, n)[:, None, None]
    g = np.exp(-((rows - centre_y[:, None, None]) ** 2 + (cols - centre_x[:, None, None]) ** 2)
               / (2 * np.maximum(sd, 1e-9)[:, None, None] ** 2))
    blurred = ndimage.gaussian_filter(x, sigma=(0, 1, 1))
    out = (1 - g) * x + g * (blurred + a * (1 - blurred))
    return np.clip(out, 0, 1)[..., None].astype(np.float32)


class OpacityClassifier:
    """A self-supervised anomaly score: a small CNN trained to tell normal images from
    :func:`synthetic_opacities` of them, its odds ``p / (1 - p)`` the score (> 0, higher =
    more anomalous; ``log`` of it is the network's logit).

    No abnormal image is seen: the network learns what a local opacity looks like on these
    normal images, whatever their framing (the blob falls anywhere in a lung field), so a
    normal image framed differently is not pushed away by its framing alone.

    Parameters
    ----------
    epochs : int >= 1
        Passes over the normal images, each with fresh synthetic opacities (as many as normal
        images per pass).
    width : int
        Filters of :func:`medlab.models.small_cnn`'s first convolution.
    seed : int
        Seeds the weights, the opacities and the shuffling.

    Attributes
    ----------
    model_ : keras.Model after ``fit``; ``seconds_``: its training time (wall clock).
    """

    def __init__(self, epochs=8, width=8, batch_size=64, learning_rate=2e-3, seed=0):
        self.epochs = validate.integer("epochs", epochs, low=1)
        self.width = validate.integer("width", width, low=1)
        self.batch_size = validate.integer("batch_size", batch_size, low=1)
        self.learning_rate = validate.number("learning_rate", learning_rate, low=0.0, low_open=True)
        self.seed = validate.integer("seed", seed, low=0)
        self.model_ = None
        self.seconds_ = None

    def fit(self, normal_images):
        """normal_images: (N, H, W[, 1]) in [0, 1], N >= 2. Returns self."""
        import time

        from medlab._tensorflow import keras, seed_everything
        from medlab.models import small_cnn

        x = _images(normal_images, "normal_images").astype(np.float32)[..., None]
        if len(x) < 2:
            raise validate.ArgumentError(f"normal_images: {len(x)} image(s), expected at least 2")
        seed_everything(self.seed)
        rng = np.random.default_rng(self.seed)
        self.model_ = small_cnn(x.shape[1:], width=self.width, seed=self.seed)
        self.model_.compile(optimizer=keras.optimizers.Adam(self.learning_rate), loss="binary_crossentropy")
        labels = np.r_[np.zeros(len(x)), np.ones(len(x))].astype(np.float32)
        start = time.perf_counter()
        for _ in range(self.epochs):  # fresh opacities every pass
            both = np.concatenate([x, synthetic_opacities(x, rng)])
            self.model_.fit(both, labels, epochs=1, batch_size=self.batch_size, shuffle=True, verbose=0)
        self.seconds_ = time.perf_counter() - start
        return self

    def score(self, images):
        """(N,) odds of a synthetic opacity, ``p / (1 - p)`` with p clipped to [1e-7, 1 - 1e-7]."""
        from medlab.engine.predict import predict

        if self.model_ is None:
            raise RuntimeError("OpacityClassifier: call fit(normal_images) before score(images)")
        p = np.clip(predict(self.model_, _images(images).astype(np.float32)[..., None])[:, 0]
                    .astype(np.float64), 1e-7, 1 - 1e-7)
        return p / (1 - p)


def intensity_features(images):
    """The trivial baselines: ``{"mean intensity": (N,), "image sd": (N,)}``.

    No model at all; a score that does not beat these measures brightness or contrast, not
    disease.
    """
    x = _images(images)
    return {"mean intensity": x.mean(axis=(1, 2)), "image sd": x.std(axis=(1, 2))}


def _names(keys):
    """The names (or settings) of a dict, sorted by their text: names of mixed types sort too."""
    return sorted(map(repr, keys))


def _orient(val_scores, y_val):
    """+1 or -1: the direction in which a score ranks the validation positives higher.

    A trivial baseline has no built-in direction (is pneumonia brighter or darker?); choose it
    on validation, never on test. Ties (AUC exactly 0.5) give +1.
    """
    return 1.0 if metrics.auc(y_val, val_scores) >= 0.5 else -1.0


class LatentMahalanobis:
    """Mahalanobis distance of a code z to the codes of normal images.

    ``fit`` estimates their mean and covariance (Ledoit-Wolf shrinkage,
    ``sklearn.covariance.LedoitWolf``, well conditioned even with few images);
    ``score`` returns ``sqrt((z - mean)^T C^-1 (z - mean))`` of each code.
    """

    def __init__(self):
        self.covariance_ = None

    def fit(self, codes):
        """codes: (N, D) of normal images, N >= 2. Returns self."""
        from sklearn.covariance import LedoitWolf

        z = np.asarray(codes, dtype=np.float64)
        if z.ndim != 2 or z.shape[0] < 2:
            raise ValueError(f"codes must have shape (N, D) with N >= 2, got {z.shape}")
        self.covariance_ = LedoitWolf().fit(z)
        return self

    def score(self, codes):
        """(N,) distances, in units of the normal codes' spread."""
        if self.covariance_ is None:
            raise RuntimeError("LatentMahalanobis: call fit(normal_codes) before score(codes)")
        z = np.asarray(codes, dtype=np.float64)
        if z.ndim != 2 or z.shape[1] != self.covariance_.location_.shape[0]:
            raise ValueError(f"codes must have shape (N, {self.covariance_.location_.shape[0]}), "
                             f"got {z.shape}")
        return np.sqrt(np.maximum(self.covariance_.mahalanobis(z), 0.0))


class PCANearestNeighbours:
    """A baseline without a network: PCA of standardised normal images, then the mean
    distance to the ``n_neighbors`` nearest normal images in that space.

    Parameters
    ----------
    n_components : int
        PCA dimensions kept (PCA is the best *linear* autoencoder with this code length).
    n_neighbors : int
    standardized : bool
        Standardise each image first (:func:`_standardize`); without it, brightness and
        framing dominate the distances.
    """

    def __init__(self, n_components=32, n_neighbors=5, standardized=True):
        self.n_components = validate.integer("n_components", n_components, low=1)
        self.n_neighbors = validate.integer("n_neighbors", n_neighbors, low=1)
        self.standardized = bool(standardized)
        self.pca_ = self.neighbours_ = None

    def _features(self, images):
        x = _standardize(images) if self.standardized else _images(images)
        return x.reshape(len(x), -1)

    def fit(self, normal_images):
        """Fit on normal images (N, H, W[, 1]) with N > n_components and N > n_neighbors."""
        from sklearn.decomposition import PCA
        from sklearn.neighbors import NearestNeighbors

        features = self._features(normal_images)
        if len(features) <= max(self.n_components, self.n_neighbors):
            raise ValueError(f"normal_images: {len(features)} images, need more than "
                             f"n_components={self.n_components} and n_neighbors={self.n_neighbors}")
        self.pca_ = PCA(self.n_components, random_state=0).fit(features)
        self.neighbours_ = NearestNeighbors(n_neighbors=self.n_neighbors).fit(
            self.pca_.transform(features))
        return self

    def score(self, images):
        """(N,) mean distance to the nearest normal training images (PCA space)."""
        if self.pca_ is None:
            raise RuntimeError("PCANearestNeighbours: call fit(normal_images) before score(images)")
        distances, _ = self.neighbours_.kneighbors(self.pca_.transform(self._features(images)))
        return distances.mean(axis=1)


class FeatureNearestNeighbours:
    """Mean distance to the ``n_neighbors`` nearest normal images in a network's feature space.

    ``fit`` keeps the features of normal images (e.g. an encoder's feature maps, flattened),
    each feature standardised by its mean and sd over them (``sklearn.preprocessing.StandardScaler``:
    a feature constant on the normal images, such as a ReLU unit they never switch on, keeps
    scale 1, so an image that switches it on is not thrown ~1e6 sd units away by it alone);
    ``score`` returns the mean Euclidean distance of each image to its nearest normal images in
    those units (:func:`medlab.metrics.knn_distance` with ``mean=True``). No reconstruction: an
    image is anomalous when no normal image looks like it to the encoder (SPADE-like, on the
    whole image).

    What is and is not protected: only a feature *exactly* constant on the normal images keeps
    scale 1. A *nearly* dead feature is divided by its tiny sd: one that is 1e-7 on a single
    normal image and 0 on all others (sd ~1e-7 / sqrt(N)), or one with sd 1e-9, puts an image
    where it is 1e-3 about 1e4 to 1e6 sd units away by itself and so decides the score. No
    floor is applied; check ``scaler_.scale_`` (e.g. its minimum against its median) when
    features may be nearly dead.

    >>> rng = np.random.default_rng(0)
    >>> model = FeatureNearestNeighbours(n_neighbors=1).fit(rng.normal(size=(50, 4)))
    >>> bool(model.score(np.full((1, 4), 5.0))[0] > model.score(np.zeros((1, 4)))[0])
    True
    """

    def __init__(self, n_neighbors=1):
        self.n_neighbors = validate.integer("n_neighbors", n_neighbors, low=1)
        self.scaler_ = self.reference_ = None

    @staticmethod
    def _flat(features, name):
        f = validate.values(name, features)  # names the first NaN or infinity
        if f.ndim < 2 or 0 in f.shape:
            raise validate.ArgumentError(f"{name} has shape {f.shape}: expected (N, ...) features of "
                                         f"N >= 1 images, at least one value each")
        return f.reshape(len(f), -1)

    def fit(self, normal_features):
        """normal_features: (N, ...) of normal images, N > n_neighbors. Returns self."""
        from sklearn.preprocessing import StandardScaler

        f = self._flat(normal_features, "normal_features")
        if len(f) <= self.n_neighbors:
            raise validate.ArgumentError(f"normal_features: {len(f)} images, need more than "
                                         f"n_neighbors={self.n_neighbors}")
        self.scaler_ = StandardScaler().fit(f)
        self.reference_ = self.scaler_.transform(f)
        return self

    def score(self, features):
        """(N,) mean distance to the nearest normal images, in normal-sd units per feature
        (raw units for a feature constant on them)."""
        if self.scaler_ is None:
            raise RuntimeError("FeatureNearestNeighbours: call fit(normal_features) before score(features)")
        f = self._flat(features, "features")
        if f.shape[1] != self.reference_.shape[1]:
            raise validate.ArgumentError(f"features have {f.shape[1]} values per image, "
                                         f"the normal ones {self.reference_.shape[1]}")
        return metrics.knn_distance(self.reference_, self.scaler_.transform(f), self.n_neighbors,
                                    normalise=False, mean=True)


@dataclass(frozen=True)
class ScoreRow:
    """One score's figures: AUC on validation (for choosing) and on test (for reporting).

    Attributes
    ----------
    name : str
    val_auc : float
    test : metrics.Interval
        Test ROC-AUC with its stratified bootstrap interval.
    baseline : bool
        A baseline shown beside the scores, not a candidate for the choice.
    sign : float
        +1, or -1 when validation turned the score round (lower = more anomalous).
    """

    name: str
    val_auc: float
    test: metrics.Interval
    baseline: bool = False
    sign: float = 1.0

    def text(self, width=34, digits=2):
        """One line: ``name (baseline...): val AUC 0.95 | test AUC 0.87 (95 % CI 0.85-0.90)``,
        the name right-aligned in ``width`` characters, AUCs to ``digits`` decimals."""
        kind = (" (baseline" + (", lower = anomalous" if self.sign < 0 else "") + ")") if self.baseline else ""
        return (f"{self.name + kind:>{width}}: val AUC {self.val_auc:.{digits}f} | "
                f"test AUC {self.test.text(digits)}")


def compare_scores(val_scores, y_val, test_scores, y_test, baselines=(), oriented=(), n_boot=1000,
                   seed=0):
    """Validation and test ROC-AUC of every score, the test AUC with a 95 % bootstrap interval.

    Parameters
    ----------
    val_scores, test_scores : dict of name -> array (N,)
        The same names in both; higher means more anomalous.
    y_val, y_test : array (N,) of 0 (normal) / 1 (abnormal)
    baselines : collection of str
        Names of the baselines shown beside the scores (left out of
        :func:`choose_on_validation`).
    oriented : collection of str
        Names whose direction is not given (a trivial baseline): each is multiplied by
        :func:`_orient` on validation (the test split never chooses anything).
    n_boot, seed : int
        Bootstrap resamples and their seed (``medlab.metrics.auc_interval``, the same
        interval as ``medlab.metrics.bootstrap_ci`` with ``metrics.auc``).

    Returns
    -------
    list of ScoreRow, in the order of ``val_scores``
    """
    if set(val_scores) != set(test_scores):
        raise ValueError(f"val_scores and test_scores must name the same scores, got "
                         f"{sorted(val_scores)} and {sorted(test_scores)}")
    for what, names in (("baselines", baselines), ("oriented", oriented)):
        unknown = set(names) - set(val_scores)
        if unknown:
            raise ValueError(f"{what} {sorted(unknown)} are not among the scores {sorted(val_scores)}")
    rows = []
    for name, val in val_scores.items():
        sign = _orient(val, y_val) if name in oriented else 1.0
        val_auc = metrics.auc(y_val, sign * np.asarray(val, dtype=np.float64))
        test = metrics.auc_interval(y_test, sign * np.asarray(test_scores[name], dtype=np.float64),
                                    n_boot=n_boot, seed=seed)
        rows.append(ScoreRow(name, float(val_auc), test, name in baselines, sign))
    return rows


def choose_on_validation(rows, include_baselines=False):
    """The row with the highest validation AUC (first on ties); baselines left out by default."""
    candidates = [r for r in rows if include_baselines or not r.baseline]
    if not candidates:
        raise ValueError("no score to choose from")
    return max(candidates, key=lambda r: r.val_auc)


def with_contrast(val_score, val_images, y_val, test_score, test_images, folds=5, seed=0):
    """A score combined with the image's contrast by a rule fitted on validation labels.

    A logistic regression on ``[log score, log image sd]`` (standardised; scikit-learn) learns
    on the validation split how much contrast to add to the score. Validation's own combined
    scores are *out-of-fold* (``folds``-fold stratified cross-validation on validation), so
    their AUC is a fair figure for choosing; the test scores come from the rule fitted on all
    of validation. The test split is never used for fitting.

    Parameters
    ----------
    val_score, test_score : array (N,) > 0
        The score, higher = more anomalous (e.g. :func:`ssim_score`).
    val_images, test_images : arrays (N, H, W) or (N, H, W, 1)
        The images the scores belong to (for their standard deviation).
    y_val : array (N,) of 0/1
    folds, seed : int
        Cross-validation folds and their shuffling seed.

    Returns
    -------
    val_combined, test_combined : float64 arrays (N,), higher = more anomalous
    """
    folds = validate.integer("folds", folds, low=2)
    val_sd, test_sd = contrast(val_images), contrast(test_images)
    for name, score, sd in (("val_score", val_score, val_sd), ("test_score", test_score, test_sd)):
        score = validate.values(name, score, 0, low_open=True)  # finite and > 0 (it takes logs)
        if score.shape != sd.shape:
            raise validate.ArgumentError(f"{name}: {score.shape[0] if score.ndim else 'no'} scores "
                                         f"for {len(sd)} images")
    return combine_scores({"score": val_score, "image sd": val_sd}, y_val,
                          {"score": test_score, "image sd": test_sd}, folds=folds, seed=seed)


def contrast(images):
    """Each image's standard deviation floored at :data:`SD_FLOOR`, (N,): the ``image sd`` that
    :func:`with_contrast` and a :func:`combine_scores` rule take the log of (a flat image stays
    finite there).

    >>> contrast(np.stack([np.zeros((4, 4)), np.eye(4)])).tolist()
    [1e-06, 0.4330127018922193]
    """
    return np.maximum(intensity_features(images)["image sd"], SD_FLOOR)


def combine_scores(val_scores, y_val, test_scores, folds=5, seed=0):
    """A few positive scores combined by a logistic rule fitted on the validation labels.

    The features are the logs of the scores (standardised); a logistic regression
    (scikit-learn) learns their weights on validation. Validation's own combined scores are
    *out-of-fold* (``folds``-fold stratified cross-validation), so their AUC is a fair figure
    for choosing; the test scores come from the rule fitted on all of validation. The test
    split is never used for fitting. Each score stays unsupervised (a model of normal images
    or an image statistic); only their weights, a handful of numbers, see labels, so the result
    is still an anomaly detector whose calibration was fitted on val. Keep it to a few scores.

    A score with a setting to choose (a percentile, a neighbour count) is given as a dict of
    its candidates, setting -> array (N,); the candidate with the highest AUC is chosen inside
    every fit: on the training folds for each held-out fold (nested, so the out-of-fold AUC
    has seen no label of the fold it scores), and on all of validation for the test rule.

    Parameters
    ----------
    val_scores, test_scores : dict of name -> array (N,) > 0, or name -> {setting: array (N,)}
        The same names (and settings) in both; every value finite and > 0 (their logs are
        taken; a score <= 0 is refused, naming it: shift it, or use :func:`contrast` for an sd).
        Names of one type (they are sorted in messages). N >= 1 test images.
    y_val : array (N,) of 0/1, both classes, each at least ``folds`` times
    folds, seed : int
        Cross-validation folds and their shuffling seed.

    Returns
    -------
    val_combined, test_combined : float64 arrays (N,), higher = more anomalous

    >>> rng = np.random.default_rng(0)
    >>> y = np.r_[np.zeros(40), np.ones(40)].astype(int)
    >>> a, b = np.exp(y + rng.normal(size=80)), np.exp(rng.normal(size=80))
    >>> val, test = combine_scores({"a": a, "b": b}, y, {"a": a[:3], "b": b[:3]})
    >>> val.shape, test.shape, bool(metrics.auc(y, val) > 0.7)
    ((80,), (3,), True)
    >>> val, test = combine_scores({"a": {1: a, 2: b}}, y, {"a": {1: a[:3], 2: b[:3]}})  # a chosen
    >>> bool(metrics.auc(y, val) > 0.7)
    True
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from collections.abc import Mapping

    folds = validate.integer("folds", folds, low=2)
    for what, scores in (("val_scores", val_scores), ("test_scores", test_scores)):
        if not isinstance(scores, Mapping) or not scores:
            raise validate.ArgumentError(f"{what} is a {type(scores).__name__}: expected a dict of "
                                         f"name -> array (N,) (at least one score)")
    if set(val_scores) != set(test_scores):
        raise validate.ArgumentError(f"val_scores and test_scores must name the same scores, got "
                                     f"{_names(val_scores)} and {_names(test_scores)}")
    names = list(val_scores)

    def candidates(scores, what):
        """name -> {setting: float64 array (N,)}, a fixed score as the one setting None."""
        out = {}
        for n in names:
            given = scores[n].items() if isinstance(scores[n], Mapping) else [(None, scores[n])]
            out[n] = {k: validate.values(f"{what}[{n!r}]" + ("" if k is None else f"[{k!r}]"), v, 0,
                                         low_open=True) for k, v in given}
        columns = [c for n in names for c in out[n].values()]
        if not all(out[n] for n in names) or any(c.ndim != 1 or c.shape != columns[0].shape for c in columns):
            raise validate.ArgumentError(f"{what}: every score must be one array (N,) of the same N, "
                                         f"got {[c.shape for c in columns]}")
        if columns[0].shape == (0,):
            raise validate.ArgumentError(f"{what} holds scores of 0 images: expected N >= 1")
        return out

    val, test = candidates(val_scores, "val_scores"), candidates(test_scores, "test_scores")
    for n in names:
        if set(val[n]) != set(test[n]):
            raise validate.ArgumentError(f"{n!r}: val_scores and test_scores must hold the same "
                                         f"settings, got {_names(val[n])} and {_names(test[n])}")
    n_val = len(next(iter(val[names[0]].values())))
    y = validate.binary("y_val", y_val)
    if y.shape != (n_val,):
        raise validate.ArgumentError(f"y_val: {y.size} labels for {n_val} validation images")
    fewest = int(min(np.sum(y == 0), np.sum(y == 1)))
    if fewest < folds:
        raise validate.ArgumentError(f"y_val has {int(np.sum(y == 0))} normal and {int(np.sum(y == 1))} "
                                     f"abnormal images: expected each class at least folds={folds} times")

    def features(scores, settings, rows=slice(None)):
        return np.log(np.stack([scores[n][settings[n]][rows] for n in names], axis=1))

    def fit(rows):
        """The settings with the best AUC on ``rows`` of validation and the rule fitted there."""
        settings = {n: max(val[n], key=lambda k: metrics.auc(y[rows], val[n][k][rows])) if len(val[n]) > 1
                    else next(iter(val[n])) for n in names}
        return settings, make_pipeline(StandardScaler(), LogisticRegression()).fit(
            features(val, settings, rows), y[rows])

    val_combined = np.empty(n_val)
    for train, held in StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(n_val), y):
        settings, rule = fit(train)
        val_combined[held] = rule.decision_function(features(val, settings, held))
    settings, rule = fit(np.arange(n_val))
    return val_combined, rule.decision_function(features(test, settings))


__all__ = [
    "FeatureNearestNeighbours", "LatentMahalanobis", "OpacityClassifier", "PCANearestNeighbours", "SD_FLOOR", "ScoreRow",
    "best_shift_score", "choose_on_validation", "combine_scores", "contrast", "compare_scores", "error_maps", "intensity_features",
    "mse_score", "multiscale_ssim_score", "quantile_score", "sharpness", "shift_normals", "ssim_maps", "ssim_score", "synthetic_opacities",
    "standardized_mse_score", "with_contrast",
]
