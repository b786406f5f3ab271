"""Denoising and anomaly detection on a MedMNIST file: classical filters against autoencoders.

On the file's test split, with Gaussian noise of ``--sigma`` (default 0.1) on pixels in
[0, 1] (clipped to [0, 1]):

- PSNR and SSIM of the noisy images;
- of the best classical filter: Gaussian (sigma 0.3 to 2.0 px) or median (2 to 5 px),
  the setting chosen on the **validation** split (``medlab.denoise.best_classical_filter``);
- of the denoising network ``medlab.models.residual_denoiser`` (a small U-Net-like
  encoder-decoder with skip connections, predicting the correction to the noisy image),
  trained noisy -> clean on the training split with fresh noise every epoch, stopped by the
  wall clock after ``--seconds``;
- anomaly detection: ROC-AUC of the reconstruction error of the bottleneck autoencoder
  ``medlab.models.conv_autoencoder`` trained on the **normal** (label 0) training images
  only, for ``--anomaly-seconds``, scoring normal (0) against abnormal (1) test images.

Prints one JSON line on stdout (``train_seconds``: the denoiser's training time) and a table
for people on stderr.

    python benchmarks/autoencoder.py --data medlab/data/files/pneumoniamnist.npz
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

import medlab  # noqa: F401  (imports TensorFlow quietly: nothing on stderr)
from medlab import metrics, noise
from medlab._tensorflow import keras, seed_everything
from medlab.data import load_medmnist
from medlab.datasets import grey_float
from medlab.denoise import best_classical_filter, denoise, train_denoiser
from medlab.models import conv_autoencoder, residual_denoiser
from medlab.training import TimeBudget


def load_splits(path):
    """{split: (float32 images (N, H, W) in [0, 1], int labels (N,))} of a MedMNIST .npz."""
    out = {}
    for name, split in load_medmnist(path).items():
        out[name] = (grey_float(split.images)[..., 0], split.labels[:, 0].astype(np.int64))
    return out


def train_anomaly_autoencoder(normal_images, seconds, latent_dim, seed, batch_size=32,
                              learning_rate=2e-3):
    """Bottleneck autoencoder fitted x -> x on normal images only; returns (autoencoder, s)."""
    seed_everything(seed)
    autoencoder, _, _ = conv_autoencoder(normal_images.shape[1:] + (1,), latent_dim=latent_dim)
    autoencoder.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="mse")
    budget = TimeBudget(seconds)
    x = normal_images[..., None]
    start = time.perf_counter()
    autoencoder.fit(x, x, epochs=10_000, batch_size=batch_size, callbacks=[budget], verbose=0)
    return autoencoder, time.perf_counter() - start


def run(args):
    splits = load_splits(args.data)
    (x_train, y_train), (x_val, _), (x_test, y_test) = (splits[s] for s in ("train", "val", "test"))
    noisy_val = noise.gaussian(x_val, args.sigma, seed=(args.seed, 1))
    noisy_test = noise.gaussian(x_test, args.sigma, seed=(args.seed, 2))

    classical = best_classical_filter(noisy_val, x_val)
    filtered = classical.apply(noisy_test)

    seed_everything(args.seed)
    model = residual_denoiser(x_train.shape[1:] + (1,), filters=args.filters, depth=args.depth)
    history = train_denoiser(model, x_train, "gaussian", args.sigma, epochs=10_000,
                             batch_size=args.batch_size, learning_rate=args.learning_rate,
                             seed=args.seed, seconds=args.seconds)
    denoised = denoise(model, noisy_test)

    autoencoder, anomaly_seconds = train_anomaly_autoencoder(
        x_train[y_train == 0], args.anomaly_seconds, args.latent_dim, args.seed)
    scores = metrics.reconstruction_error(x_test, denoise(autoencoder, x_test))
    result = {
        "psnr_noisy": metrics.psnr(x_test, noisy_test),
        "psnr_classical": metrics.psnr(x_test, filtered),
        "psnr_autoencoder": metrics.psnr(x_test, denoised),
        "ssim_noisy": metrics.ssim(x_test, noisy_test),
        "ssim_classical": metrics.ssim(x_test, filtered),
        "ssim_autoencoder": metrics.ssim(x_test, denoised),
        "anomaly_auc": metrics.auc(y_test, scores),
        "train_seconds": history["seconds"],
    }
    result = {k: round(float(v), 4) for k, v in result.items()}
    info = {"classical": classical.name, "denoiser_epochs": len(history["loss"]),
            "denoiser_parameters": model.count_params(), "anomaly_seconds": anomaly_seconds}
    return result, info


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="MedMNIST .npz file (train/val/test splits)")
    parser.add_argument("--sigma", type=float, default=0.1, help="Gaussian noise sd, pixels in [0, 1]")
    parser.add_argument("--seconds", type=float, default=52.0,
                        help="denoiser training budget (s); fit() itself adds a few seconds")
    parser.add_argument("--anomaly-seconds", type=float, default=20.0,
                        help="anomaly autoencoder training budget (s)")
    parser.add_argument("--filters", type=int, default=16, help="denoiser's first-level filters")
    parser.add_argument("--depth", type=int, default=2, help="denoiser's down-samplings")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--latent-dim", type=int, default=32, help="anomaly autoencoder's code size")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result, info = run(args)
    print(json.dumps(result), flush=True)
    gain = result["psnr_autoencoder"] - result["psnr_classical"]
    print(f"noisy {result['psnr_noisy']:.2f} dB | {info['classical']} (chosen on val) "
          f"{result['psnr_classical']:.2f} dB | denoiser {result['psnr_autoencoder']:.2f} dB "
          f"({gain:+.2f} dB, {info['denoiser_epochs']} epochs in {result['train_seconds']:.0f} s, "
          f"{info['denoiser_parameters']:,} parameters) | anomaly AUC {result['anomaly_auc']:.3f} "
          f"({info['anomaly_seconds']:.0f} s) | total {time.perf_counter() - started:.0f} s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
