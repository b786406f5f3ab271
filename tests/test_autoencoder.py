"""The lesson 10 models: the bottleneck autoencoder is decoder(encoder(x)); the denoiser is residual."""

import numpy as np
import pytest

from medlab import keras
from medlab._tensorflow import seed_everything
from medlab.models import compression_ratio, conv_autoencoder, residual_denoiser

X = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)


def test_autoencoder_is_decoder_of_encoder_with_shared_weights():
    autoencoder, encoder, decoder = conv_autoencoder((28, 28, 1), latent_dim=16)
    z = encoder(X)
    x_hat = decoder(z)
    assert tuple(z.shape) == (3, 16)  # z = f(x; W_f)
    assert tuple(x_hat.shape) == X.shape  # x_hat = g(z; W_g) has the shape of x
    np.testing.assert_allclose(autoencoder(X), x_hat, atol=1e-6)
    np.testing.assert_allclose(autoencoder.predict(X, verbose=0), x_hat, atol=1e-5)
    assert np.all((np.asarray(x_hat) >= 0) & (np.asarray(x_hat) <= 1))  # sigmoid output
    assert autoencoder.count_params() == encoder.count_params() + decoder.count_params()
    # the same variables, not copies: changing the encoder changes the autoencoder
    shared = {id(v) for v in autoencoder.weights}
    assert {id(v) for v in encoder.weights + decoder.weights} == shared
    kernel = encoder.get_layer("z").kernel
    kernel.assign(np.zeros(kernel.shape, dtype=np.float32))
    np.testing.assert_allclose(autoencoder(X), decoder(encoder(X)), atol=1e-6)
    assert np.ptp(np.asarray(encoder(X)) - np.asarray(encoder.get_layer("z").bias)) == 0.0


def test_compression_ratio_is_pixels_over_code_length():
    _, encoder, _ = conv_autoencoder((28, 28, 1), latent_dim=32)
    assert compression_ratio(encoder) == 28 * 28 / 32
    _, encoder, decoder = conv_autoencoder((32, 48, 1), latent_dim=8, filters=(4, 8, 8))
    assert encoder.output_shape == (None, 8) and decoder.output_shape == (None, 32, 48, 1)
    assert compression_ratio(encoder) == 32 * 48 / 8


def test_autoencoder_learns_from_images_alone():
    seed_everything(0)  # weights and batches independent of the tests that ran before
    autoencoder, _, _ = conv_autoencoder((28, 28, 1), latent_dim=8, filters=(4, 8))
    autoencoder.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    history = autoencoder.fit(X, X, epochs=5, verbose=0)  # the targets are the inputs
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_autoencoder_refuses_shapes_it_cannot_mirror():
    with pytest.raises(ValueError, match="height and width divisible by 4"):
        conv_autoencoder((30, 28, 1))
    with pytest.raises(ValueError, match="latent_dim"):
        conv_autoencoder((28, 28, 1), latent_dim=0)
    with pytest.raises(ValueError, match="odd"):
        conv_autoencoder((28, 28, 1), kernel_size=4)
    with pytest.raises(ValueError, match="at least one"):
        conv_autoencoder((28, 28, 1), filters=())


def test_residual_denoiser_adds_a_correction_to_its_input():
    model = residual_denoiser((None, None, 1), filters=4, depth=2)
    for shape in ((2, 28, 28, 1), (1, 32, 48, 1)):  # fully convolutional: any multiple of 4
        x = np.random.default_rng(1).random(shape, dtype=np.float32)
        assert model.predict(x, verbose=0).shape == shape
    correction = model.get_layer("correction")
    correction.set_weights([np.zeros_like(w) for w in correction.get_weights()])
    np.testing.assert_allclose(model(X), X, atol=1e-7)  # r = 0: the identity
    assert any(type(layer).__name__ == "Concatenate" for layer in model.layers)  # skips
    plain = residual_denoiser((28, 28, 1), filters=4, depth=0, convs=3)
    assert not any(type(layer).__name__ == "MaxPooling2D" for layer in plain.layers)
    with pytest.raises(ValueError, match="height and width divisible by 4"):
        residual_denoiser((30, 30, 1), depth=2)
    with pytest.raises(ValueError, match="depth"):
        residual_denoiser(depth=-1)
