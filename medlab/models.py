"""Keras models the course builds.

``seed_cnn`` is the network of the article the kit grew from; ``improved_cnn`` the kit's
classifier; autoencoders (lessons 10 and 11) and the U-Net (lesson 12). The same forward pass in
NumPy, with a model's own weights, is ``medlab.forward.numpy_forward``.
"""

from __future__ import annotations

import numpy as np

from medlab import validate
from medlab._tensorflow import keras


def _output_layer(n_classes):
    """Dense 1 sigmoid for two classes, Dense K softmax for K > 2."""
    n_classes = validate.integer("n_classes", n_classes, low=2)
    if n_classes == 2:
        return keras.layers.Dense(1, activation="sigmoid", name="output")
    return keras.layers.Dense(int(n_classes), activation="softmax", name="output")


def seed_cnn(input_shape=(150, 150, 3), kernel_size=3, name="seed_cnn", n_classes=2):
    """The article's CNN, built from ``keras.Input``.

    Conv2D 32 (kernel_size, relu) -> MaxPooling 2 -> Conv2D 64 (kernel_size, relu)
    -> MaxPooling 2 -> Flatten -> Dense 64 relu -> Dense 1 sigmoid.

    Parameters
    ----------
    input_shape : tuple of 3 ints
        (height, width, channels) of one image, channels last.
    kernel_size : int
        Side of the square convolution kernels (the article uses 3).
    n_classes : int
        2 (the article's): one sigmoid unit, (N, 1) probabilities of class 1. More: a
        softmax over ``n_classes`` units, (N, K) probabilities.

    Returns
    -------
    keras.Sequential
        Uncompiled model mapping (N, H, W, C) images to (N, 1) probabilities.
    """
    input_shape = validate.image_shape("input_shape", input_shape)
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            keras.layers.Conv2D(32, kernel_size, activation="relu", name="conv1"),
            keras.layers.MaxPooling2D(2, name="pool1"),
            keras.layers.Conv2D(64, kernel_size, activation="relu", name="conv2"),
            keras.layers.MaxPooling2D(2, name="pool2"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(64, activation="relu", name="dense1"),
            _output_layer(n_classes),
        ],
        name=name,
    )


# --------------------------------------------------- the kit's improved classifier
def _augmentation_layers(translation=0.08, rotation=0.03, zoom=0.1, contrast=0.2):
    """Light, anatomy-preserving augmentation for chest X-rays, as a list of Keras layers.

    Small shifts (``translation``, fraction of height/width), rotations (``rotation``,
    fraction of a full turn: 0.03 = about 11 degrees), zooms and contrast changes. No
    horizontal flip: the heart is on the patient's left, and a flipped radiograph is
    anatomically wrong (dextrocardia). Each layer is random only in training;
    ``predict`` and ``evaluate`` pass images through unchanged (and so does
    ``medlab.forward.numpy_forward``: see its ``AUGMENTATION_LAYERS``).

    Returns
    -------
    list of keras layers
        Put them right after ``keras.Input`` in a Sequential model.
    """
    layers = keras.layers
    out = []
    if translation:
        out.append(layers.RandomTranslation(translation, translation, fill_mode="nearest",
                                            name="shift"))
    if rotation:
        out.append(layers.RandomRotation(rotation, fill_mode="nearest", name="rotate"))
    if zoom:
        out.append(layers.RandomZoom(zoom, fill_mode="nearest", name="zoom"))
    if contrast:
        out.append(layers.RandomContrast(contrast, value_range=(0.0, 1.0), name="contrast"))
    return out


def improved_cnn(input_shape=(28, 28, 1), kernel_size=3, width=16, dropout=0.3, augment=True,
                 bn_momentum=0.9, name="improved_cnn", n_classes=2):
    """The kit's recommended classifier: small, batch-normalised, augmented, regularised.

    [augmentation] -> 3 stages of (Conv2D k x k, "same", no bias -> BatchNorm -> ReLU),
    with ``width``, ``2 width`` and ``4 width`` filters, the first two stages twice and
    followed by 2 x 2 max pooling -> GlobalAveragePooling -> Dropout -> Dense 1 sigmoid.

    Compared with ``seed_cnn``: batch normalisation makes training fast and stable at a
    higher learning rate; global average pooling replaces Flatten + Dense 64, which holds
    almost all of the seed network's weights (lesson 05) and is where it overfits; dropout
    and augmentation fight overfitting further.

    Parameters
    ----------
    input_shape : tuple of 3 ints
        (height, width, channels); height and width at least 4.
    kernel_size : int
        Side of every square convolution kernel, odd.
    width : int
        Filters of the first stage (then 2x and 4x).
    dropout : float in [0, 1)
        Dropout rate before the output unit; 0 leaves the layer out.
    augment : bool
        Start with :func:`_augmentation_layers` (identity at inference).
    bn_momentum : float in [0, 1)
        Momentum of the batch-norm moving averages used at inference. 0.9 (Keras: 0.99)
        lets them follow the training within an epoch of a small data set, so the
        validation curves are meaningful from the first epochs.
    n_classes : int
        2: one sigmoid output unit; more: a softmax over ``n_classes`` units.

    Returns
    -------
    keras.Sequential
        Uncompiled model mapping (N, H, W, C) images in [0, 1] to (N, 1) probabilities.
        Its last convolution is named ``"conv3"`` (the Grad-CAM layer).
    """
    input_shape = validate.image_shape("input_shape", input_shape, min_side=4)
    kernel_size = validate.integer("kernel_size", kernel_size, low=1, odd=True)
    width = validate.integer("width", width, low=1)
    validate.number("dropout", dropout, 0.0, 1.0, closed="left")
    layers = keras.layers

    def block(filters, tag):
        return [
            layers.Conv2D(filters, kernel_size, padding="same", use_bias=False, name=f"conv{tag}"),
            layers.BatchNormalization(momentum=float(bn_momentum), name=f"bn{tag}"),
            layers.ReLU(name=f"relu{tag}"),
        ]

    stack = [keras.Input(shape=input_shape)]
    if augment:
        stack += _augmentation_layers()
    stack += block(width, "1a") + block(width, "1b") + [layers.MaxPooling2D(2, name="pool1")]
    stack += block(2 * width, "2a") + block(2 * width, "2b") + [layers.MaxPooling2D(2, name="pool2")]
    stack += block(4 * width, "3")
    stack += [layers.GlobalAveragePooling2D(name="gap")]
    if dropout:
        stack += [layers.Dropout(float(dropout), name="dropout")]
    stack += [_output_layer(n_classes)]
    return keras.Sequential(stack, name=name)


#: Names of the classifiers lessons and benchmarks can ask for by name.
CLASSIFIER_NAMES = ("seed", "improved")


def build_classifier(name, input_shape, kernel_size=3, regularised=True, **options):
    """A classifier by name: ``"seed"`` (:func:`seed_cnn`) or ``"improved"`` (:func:`improved_cnn`).

    Parameters
    ----------
    name : {"seed", "improved"}
    input_shape : tuple (H, W, C)
    kernel_size : int
    regularised : bool
        For ``"improved"``: False leaves out augmentation and dropout (to show what they do).
        ``seed_cnn`` has neither; the flag changes nothing for it.
    **options
        More keyword arguments for :func:`improved_cnn` (e.g. ``width``).

    Returns
    -------
    keras.Sequential, uncompiled
    """
    if validate.choice("name", name, CLASSIFIER_NAMES) == "seed":
        if options:
            raise ValueError(f"seed_cnn takes no options, got {sorted(options)}")
        return seed_cnn(input_shape, kernel_size=kernel_size)
    if not regularised:
        options = {**options, "augment": False, "dropout": 0.0}
    return improved_cnn(input_shape, kernel_size=kernel_size, **options)


# --------------------------------------------------------- autoencoders (lessons 10 and 11)
def conv_autoencoder(input_shape=(28, 28, 1), latent_dim=32, filters=(16, 32), kernel_size=3,
                     name="autoencoder"):
    """A convolutional autoencoder with a dense bottleneck: x -> z = f(x; W_f) -> x_hat = g(z; W_g).

    Encoder f: per entry of ``filters``, Conv2D (k x k, stride 2, "same", ReLU), halving height
    and width -> Flatten -> Dense ``latent_dim`` (linear): the code z.
    Decoder g: Dense (ReLU) back to the last feature maps' size -> Reshape -> per entry of
    ``filters`` in reverse, Conv2DTranspose (k x k, stride 2, ReLU), doubling height and width
    -> Conv2D to C channels with a sigmoid, so x_hat is in [0, 1] like x.

    Parameters
    ----------
    input_shape : tuple (H, W, C)
        H and W divisible by ``2 ** len(filters)`` (28 with two stages: 28 -> 14 -> 7).
    latent_dim : int
        Length of z, numbers per image; much smaller than H * W * C.
    filters : sequence of int
        Filters of each encoder stage (the decoder mirrors them).
    kernel_size : int
        Side of every square kernel, odd.

    Returns
    -------
    autoencoder, encoder, decoder : keras.Model
        ``encoder`` maps (N, H, W, C) -> (N, latent_dim), ``decoder`` (N, latent_dim) ->
        (N, H, W, C), and ``autoencoder`` is ``decoder(encoder(x))``: the three share their
        layers and weights, so training the autoencoder trains f and g. Uncompiled.
    """
    filters = tuple(validate.integer("filters", f, low=1) for f in filters)
    latent_dim = validate.integer("latent_dim", latent_dim, low=1)
    kernel_size = validate.integer("kernel_size", kernel_size, low=1, odd=True)
    if not filters:
        raise validate.ArgumentError(f"filters {filters!r}: expected at least one stage")
    scale = 2 ** len(filters)
    input_shape = validate.image_shape("input_shape", input_shape, multiple_of=scale)
    layers = keras.layers
    height, width, channels = input_shape
    small = (height // scale, width // scale, filters[-1])

    x = inputs = keras.Input(shape=input_shape, name="x")
    for i, f in enumerate(filters, 1):
        x = layers.Conv2D(f, kernel_size, strides=2, padding="same", activation="relu",
                          name=f"enc_conv{i}")(x)
    x = layers.Flatten(name="enc_flatten")(x)
    z = layers.Dense(latent_dim, name="z")(x)
    encoder = keras.Model(inputs, z, name="encoder")

    y = code = keras.Input(shape=(latent_dim,), name="z_in")
    y = layers.Dense(int(np.prod(small)), activation="relu", name="dec_dense")(y)
    y = layers.Reshape(small, name="dec_reshape")(y)
    for i, f in enumerate(reversed(filters), 1):
        y = layers.Conv2DTranspose(f, kernel_size, strides=2, padding="same", activation="relu",
                                   name=f"dec_deconv{i}")(y)
    x_hat = layers.Conv2D(channels, kernel_size, padding="same", activation="sigmoid",
                          name="x_hat")(y)
    decoder = keras.Model(code, x_hat, name="decoder")

    autoencoder = keras.Model(inputs, decoder(encoder(inputs)), name=name)
    return autoencoder, encoder, decoder


def compression_ratio(encoder):
    """Numbers in one input image divided by numbers in its code z (e.g. 784 / 32 = 24.5)."""
    numbers_in = int(np.prod(encoder.input_shape[1:]))
    numbers_out = int(np.prod(encoder.output_shape[1:]))
    return numbers_in / numbers_out


def _u_net(inputs, block, filters, depth, up_activation=None):
    """The U-Net skeleton of :func:`residual_denoiser` and :func:`unet`, on ``inputs``.

    ``block(x, filters, tag)`` makes a level's convolutions (layers named ``{tag}_...``); per
    level ``down{n}`` then ``pool{n}`` (2 x 2 max pooling), ``bottom``, then per level back up
    ``up{n}`` (2 x 2 Conv2DTranspose, stride 2), ``skip{n}`` (concatenated with ``down{n}``'s
    maps) and ``dec{n}``; the filters double per level. Returns the decoder's last maps.
    """
    layers = keras.layers
    x, skips = inputs, []
    for level in range(depth):
        x = block(x, filters * 2 ** level, f"down{level + 1}")
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"pool{level + 1}")(x)
    x = block(x, filters * 2 ** depth, "bottom")
    for level in reversed(range(depth)):
        x = layers.Conv2DTranspose(filters * 2 ** level, 2, strides=2, activation=up_activation,
                                   name=f"up{level + 1}")(x)
        x = layers.Concatenate(name=f"skip{level + 1}")([x, skips[level]])
        x = block(x, filters * 2 ** level, f"dec{level + 1}")
    return x


def residual_denoiser(input_shape=(None, None, 1), filters=16, depth=2, convs=2,
                      name="denoiser"):
    """A small U-Net that predicts the correction to a noisy image: x_hat = y + r(y; W).

    An encoder-decoder with skip connections. Encoder: at each of ``depth`` levels,
    ``convs`` Conv2D 3 x 3 (ReLU, "same") then 2 x 2 max pooling, doubling the filters per
    level; at the bottom ``convs`` more convolutions. Decoder: per level, a 2 x 2
    Conv2DTranspose (stride 2) back up, concatenated with the encoder's maps of that size
    (the skip connection: fine detail need not squeeze through the bottom), then ``convs``
    convolutions. A last linear 3 x 3 convolution gives r, added to the input (residual
    learning: the network only has to estimate the noise, ``-r``).

    Unlike :func:`conv_autoencoder` it has no dense bottleneck, so it is fully
    convolutional: trained on 28 x 28 images or patches, it denoises images of any size
    whose height and width are divisible by ``2 ** depth``.

    Parameters
    ----------
    input_shape : tuple (H, W, C)
        H and W may be None (any size).
    filters : int
        Filters of the first level (then 2x, 4x, ...).
    depth : int >= 0
        Number of 2 x 2 down-samplings (0: a plain stack of convolutions, DnCNN-like).
    convs : int >= 1
        Convolutions per level.

    Returns
    -------
    keras.Model
        Uncompiled; (N, H, W, C) -> (N, H, W, C), not clipped (clip to [0, 1] after predict).
    """
    input_shape = tuple(None if s is None else int(s) for s in input_shape)
    filters = validate.integer("filters", filters, low=1)
    convs = validate.integer("convs", convs, low=1)
    depth = validate.integer("depth", depth, low=0)
    # an encoder that halves the image depth times, a decoder that doubles it back
    input_shape = validate.image_shape("input_shape", input_shape, multiple_of=2 ** depth, unknown_sides=True)
    layers = keras.layers

    def stack(x, f, tag):
        for i in range(convs):
            x = layers.Conv2D(f, 3, padding="same", activation="relu", name=f"{tag}_conv{i + 1}")(x)
        return x

    inputs = keras.Input(shape=input_shape, name="noisy")
    x = _u_net(inputs, stack, filters, depth, up_activation="relu")
    correction = layers.Conv2D(input_shape[2], 3, padding="same", name="correction")(x)
    outputs = layers.Add(name="denoised")([inputs, correction])
    return keras.Model(inputs, outputs, name=name)


# --------------------------------------------------------- segmentation (lesson 12)
def unet(input_shape=(64, 64, 1), depth=3, base_filters=8, convs=2, batch_norm_momentum=0.9,
         name="unet"):
    """A U-Net for binary segmentation: the autoencoder of lesson 10 with skip connections.

    Encoder (as :func:`conv_autoencoder`'s, with pooling): at each of ``depth`` levels,
    ``convs`` times [Conv2D 3 x 3 "same" -> BatchNormalization -> ReLU], then 2 x 2 max
    pooling; the filters double per level (8, 16, 32, ...), and ``convs`` more blocks at the
    bottom. Decoder: per level, a 2 x 2 Conv2DTranspose (stride 2) back up, **concatenated with
    the encoder's maps of that size** (the skip connection: where the autoencoder had to squeeze
    everything through its code, the decoder here gets the fine detail of each scale directly),
    then ``convs`` blocks. A 1 x 1 convolution with a sigmoid gives, for every pixel, the
    probability that it belongs to the structure.

    Batch normalisation uses momentum 0.9, not Keras's 0.99: its running means then follow the
    weights within a few dozen steps, and a short training is evaluated with statistics that
    match them (with 0.99 the probes gave Dice 0 after one epoch). Compile without
    ``jit_compile`` on CPUs: XLA made the first epoch several times slower.

    Parameters
    ----------
    input_shape : tuple (H, W, C)
        H and W divisible by ``2 ** depth``, or None (any such size).
    depth : int >= 0
        Number of 2 x 2 down-samplings (3: 64 -> 32 -> 16 -> 8 pixels, filters 8-16-32-64).
    base_filters : int
        Filters of the first level.
    convs : int >= 1
        Convolution blocks per level.
    batch_norm_momentum : float in [0, 1)

    Returns
    -------
    keras.Model
        Uncompiled; (N, H, W, C) -> (N, H, W, 1) probabilities in [0, 1].
    """
    input_shape = tuple(None if s is None else int(s) for s in input_shape)
    base_filters = validate.integer("base_filters", base_filters, low=1)
    convs = validate.integer("convs", convs, low=1)
    depth = validate.integer("depth", depth, 0, 8)
    momentum = validate.number("batch_norm_momentum", batch_norm_momentum, 0.0, 1.0, closed="left")
    # an encoder that halves the image depth times, a decoder that doubles it back
    input_shape = validate.image_shape("input_shape", input_shape, multiple_of=2 ** depth, unknown_sides=True)
    layers = keras.layers

    def block(x, filters, tag):
        for i in range(1, convs + 1):
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{tag}_conv{i}")(x)
            x = layers.BatchNormalization(momentum=momentum, name=f"{tag}_bn{i}")(x)
            x = layers.ReLU(name=f"{tag}_relu{i}")(x)
        return x

    inputs = keras.Input(shape=input_shape, name="image")
    x = _u_net(inputs, block, base_filters, depth)
    outputs = layers.Conv2D(1, 1, activation="sigmoid", name="mask_probability")(x)
    return keras.Model(inputs, outputs, name=name)


# --------------------------------------------------------- volumes (lesson 13)
def multiclass_unet(input_shape=(40, 56, 40, 1), n_classes=3, depth=2, base_filters=8, convs=2,
                    batch_norm_momentum=0.9, class_shares=None, name=None):
    """A U-Net with one softmax probability per class and voxel, in 2-D or in 3-D.

    :func:`unet`'s layout (``convs`` x [conv 3 "same" -> BatchNormalization -> ReLU] per level,
    max pooling by 2, filters doubling per level, transposed convolutions back up, skip
    connections) with 2-D layers for an input (H, W, C) and 3-D layers (Conv3D 3 x 3 x 3,
    MaxPooling3D, Conv3DTranspose) for an input (D, H, W, C); a last 1 x 1 (x 1) convolution
    with a softmax over ``n_classes``.

    Parameters
    ----------
    input_shape : tuple (H, W, C) or (D, H, W, C)
        Spatial sides divisible by ``2 ** depth`` (or None: any such size).
    n_classes : int >= 2
        Classes of the masks, background included (3 for the hippocampus).
    depth, base_filters, convs, batch_norm_momentum
        As :func:`unet`.
    class_shares : sequence of n_classes positive floats, optional
        Each class's share of the training voxels: the last layer's biases start at their logs
        (Lin et al., ICCV 2017's "prior" start), so the untrained network predicts about these
        shares, not the 1 / n_classes per voxel of a zero bias, which would call a large part
        of a volume a structure (``medlab.volumes.class_shares`` counts them). Default: zero biases.

    Returns
    -------
    keras.Model
        Uncompiled; (N, [D,] H, W, C) -> (N, [D,] H, W, n_classes), each voxel's probabilities
        summing to 1.

    >>> multiclass_unet((8, 8, 8, 1), depth=1, base_filters=2).output_shape
    (None, 8, 8, 8, 3)
    """
    try:
        shape = tuple(None if s is None else int(s) for s in input_shape)
    except (TypeError, ValueError):
        shape = ()
    n_classes = validate.integer("n_classes", n_classes, 2)
    base_filters = validate.integer("base_filters", base_filters, low=1)
    convs = validate.integer("convs", convs, low=1)
    depth = validate.integer("depth", depth, 0, 8)
    momentum = validate.number("batch_norm_momentum", batch_norm_momentum, 0.0, 1.0, closed="left")
    bias = "zeros"
    if class_shares is not None:
        shares = np.asarray(class_shares, dtype=float)
        if shares.shape != (n_classes,) or not np.all(np.isfinite(shares)) or np.any(shares <= 0):
            raise validate.ArgumentError(f"class_shares {class_shares!r}: expected {n_classes} positive numbers")
        bias = keras.initializers.Constant(np.log(shares / shares.sum()).astype(np.float32))
    step = 2 ** depth
    if len(shape) not in (3, 4) or shape[-1] is None or shape[-1] < 1 or any(
            s is not None and (s < 1 or s % step) for s in shape[:-1]):
        raise validate.ArgumentError(f"input_shape {input_shape!r}: expected (H, W, C) or (D, H, W, C), "
                                     f"spatial sides divisible by {step} (2 ** depth)")
    layers = keras.layers
    three_d = len(shape) == 4
    conv = layers.Conv3D if three_d else layers.Conv2D
    pool = layers.MaxPooling3D if three_d else layers.MaxPooling2D
    up = layers.Conv3DTranspose if three_d else layers.Conv2DTranspose

    def block(x, filters, tag):
        for i in range(1, convs + 1):
            x = conv(filters, 3, padding="same", use_bias=False, name=f"{tag}_conv{i}")(x)
            x = layers.BatchNormalization(momentum=momentum, name=f"{tag}_bn{i}")(x)
            x = layers.ReLU(name=f"{tag}_relu{i}")(x)
        return x

    inputs = keras.Input(shape=shape, name="volume" if three_d else "image")
    x, skips = inputs, []
    for level in range(depth):
        x = block(x, base_filters * 2 ** level, f"down{level + 1}")
        skips.append(x)
        x = pool(2, name=f"pool{level + 1}")(x)
    x = block(x, base_filters * 2 ** depth, "bottom")
    for level in reversed(range(depth)):
        x = up(base_filters * 2 ** level, 2, strides=2, name=f"up{level + 1}")(x)
        x = layers.Concatenate(name=f"skip{level + 1}")([x, skips[level]])
        x = block(x, base_filters * 2 ** level, f"dec{level + 1}")
    outputs = conv(n_classes, 1, activation="softmax", bias_initializer=bias, name="class_probability")(x)
    return keras.Model(inputs, outputs, name=name or ("unet3d" if three_d else "unet2d"))


# ------------------------------------------------------------------ lessons 14 and 15's network
#: Hidden activations :func:`small_cnn` accepts.
ACTIVATIONS = ("relu", "sigmoid", "tanh")


def small_cnn(input_shape, kernel_size=3, activation="relu", width=8, batch_norm=True, dropout=0.0,
              l2=0.0, augment=False, seed=None, name="small_cnn"):
    """[Conv(k, width) -> BN -> act -> MaxPool 2] -> same with 2 width -> Flatten -> Dense 1 sigmoid.

    Parameters
    ----------
    input_shape : tuple (H, W, C)
    kernel_size : int, odd
        Side of both convolution kernels ("same" padding, so any odd size fits).
    activation : str
        Hidden activation, one of :data:`ACTIVATIONS`.
    width : int
        Filters of the first convolution.
    batch_norm : bool
        Batch normalisation (momentum 0.9) between each convolution and its activation:
        it makes a network this small learn in a few epochs.
    dropout : float in [0, 1)
        Dropout rate before the output unit (0: no dropout layer).
    l2 : float >= 0
        L2 penalty on every kernel (0: none); Keras adds ``l2 * sum(w ** 2)`` to the loss.
    augment : bool
        Start with random shifts of up to 10 % and zooms (identity at inference).
    seed : int, optional
        Seeds every initializer and random layer, so the initial weights and the dropout and
        augmentation draws depend on ``seed`` alone (no global seeding needed). Default:
        Keras' global random state.

    Returns
    -------
    keras.Sequential, uncompiled, (N, H, W, C) -> (N, 1) probabilities.
    """
    validate.choice("activation", activation, ACTIVATIONS)
    kernel_size = validate.integer("kernel_size", kernel_size, low=1, odd=True)
    width = validate.integer("width", width, low=1)
    dropout = validate.number("dropout", dropout, low=0.0, high=0.99)
    l2 = validate.number("l2", l2, low=0.0)
    seed = validate.integer("seed", seed, allow_none=True)
    layers = keras.layers
    penalty = keras.regularizers.L2(l2) if l2 else None

    def seeded(index):  # a distinct seed per initializer and random layer
        return None if seed is None else 1000 * seed + index

    def kernel(index):
        return keras.initializers.GlorotUniform(seed=seeded(index))

    stack = [keras.Input(shape=tuple(int(s) for s in input_shape))]
    if augment:
        stack += [layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=seeded(10), name="shift"),
                  layers.RandomZoom(0.1, fill_mode="nearest", seed=seeded(11), name="zoom")]
    for tag, filters in (("1", width), ("2", 2 * width)):
        stack.append(layers.Conv2D(filters, kernel_size, padding="same", kernel_regularizer=penalty,
                                   kernel_initializer=kernel(int(tag)), name=f"conv{tag}"))
        if batch_norm:
            stack.append(layers.BatchNormalization(momentum=0.9, name=f"bn{tag}"))
        stack += [layers.Activation(activation, name=f"{activation}{tag}"),
                  layers.MaxPooling2D(2, name=f"pool{tag}")]
    stack.append(layers.Flatten(name="flatten"))
    if dropout:
        stack.append(layers.Dropout(dropout, seed=seeded(12), name="dropout"))
    stack.append(layers.Dense(1, activation="sigmoid", kernel_regularizer=penalty, kernel_initializer=kernel(3),
                              name="output"))
    return keras.Sequential(stack, name=name)
