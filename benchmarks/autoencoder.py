"""Denoising, anomaly detection and label-scarce pretraining on a MedMNIST file.

On the file's official test split, every choice made on the validation split:

- **denoising**, Gaussian noise of ``--sigma`` (default 0.1) on pixels in [0, 1] (clipped):
  PSNR and SSIM of the noisy images; of the best classical filter, Gaussian (sigma 0.3 to
  2.0 px), median (2 to 5 px), total variation (Chambolle, weight 0.04 to 0.14) or non-local
  means (h 0.04 to 0.12), its kind and setting chosen on validation
  (``medlab.denoise.best_classical_filter``); of the denoising network
  ``medlab.models.residual_denoiser`` (a small U-Net predicting the correction to the noisy
  image), trained noisy -> clean with fresh noise every epoch, Adam at a constant
  ``--learning-rate`` (``--cosine``: decayed along half a cosine), ending with the moving
  average of its weights (``--ema`` momentum, 0.99 chosen on validation), stopped by the wall clock
  after ``--seconds`` or, with ``--epochs``, after that many epochs (the same figures under
  any load);
- **anomaly detection**, normal (label 0) against abnormal (1): the bottleneck autoencoder
  ``medlab.models.conv_autoencoder`` trained on the normal training images only for
  ``--anomaly-seconds`` (or ``--anomaly-epochs``), scored ten ways and more (``medlab.anomaly``):
  reconstruction MSE, 1 - SSIM, 1 - SSIM at 28 and 14 px, MSE of standardised images,
  Mahalanobis distance of the code, the mean distance of the encoder's feature maps
  (``enc_conv2``, 7 x 7 x 32) to those of the nearest normal training images (1, 5 or 20
  neighbours, chosen on validation), a percentile of the per-pixel 1 - SSIM map (50th to 95th,
  chosen on validation: a local opacity counts even where the rest is rebuilt well); each SSIM
  score combined with the image sd, and the map percentile, the feature distance and the image
  sd combined, by a logistic rule fitted on the validation labels (its weights only; every
  input stays an unsupervised score, so the result is an anomaly detector calibrated on
  validation), its validation AUC out-of-fold (for the three-score rule nested: the map's
  percentile and the neighbour count are chosen, like the weights, on the training folds of
  each held-out fold; ``medlab.anomaly.combine_scores``); scores meant to survive a shift of
  the normal images away from the training normals: 1 - SSIM at the best of the integer
  offsets up to ``--shift-radius`` px (``anomaly.best_shift_score``), a small CNN trained
  ``--opacity-epochs`` to tell the normal training images from ``anomaly.synthetic_opacities``
  of them (its odds; ``anomaly.OpacityClassifier``), and two rules fitted on val like the
  others: the best-offset 1 - SSIM + sharpness (mean absolute Laplacian,
  ``anomaly.sharpness``) + image sd, and the same + the classifier; the score with the best validation AUC is
  reported (``anomaly_auc``, with a 95 % stratified bootstrap interval
  ``anomaly_auc_ci``), beside the MSE score (``anomaly_mse_auc``) and baselines: PCA of
  standardised images + 5 nearest neighbours (components chosen on validation), the mean
  intensity, the image standard deviation and the sharpness alone (direction chosen on validation); the
  chosen score minus the image sd on the same test images, with a paired bootstrap 95 %
  interval (``anomaly_minus_image_sd``: difference, low, high), and minus the sharpness alone
  (``anomaly_minus_sharpness``);
- **pretraining with scarce labels**: the same autoencoder trained on *all* training images
  without labels for ``--pretrain-seconds``; its encoder + one sigmoid unit fine-tuned with
  ``--fractions`` of the training labels against the same network from random weights,
  ``--finetune-steps`` Adam steps each, for each of ``--seeds`` (``medlab.pretraining``);
  mean and sd of the test ROC-AUC per fraction (``pretrain_auc``, ``scratch_auc``, ...).

Prints one JSON line on stdout and tables for people on stderr (with the 1-minute load
average at the start and the end: a time budget buys fewer epochs on a busy machine).

    python benchmarks/autoencoder.py --data medlab/data/files/pneumoniamnist.npz
    python benchmarks/autoencoder.py --data medlab/data/files/pneumoniamnist.npz --anomaly-epochs 40
    python benchmarks/autoencoder.py --data medlab/data/files/pneumoniamnist.npz --epochs 12 --anomaly-epochs 40
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time

import numpy as np

from medlab import anomaly, metrics, noise, pretraining, trust
from medlab._tensorflow import keras, seed_everything  # TensorFlow, imported quietly (no stderr)
from medlab.data import load_classification_data
from medlab.denoise import (NLM_STRENGTHS, TV_WEIGHTS, best_classical_filter, denoise,
                            train_denoiser)
from medlab.models import conv_autoencoder, residual_denoiser
from medlab.engine.callbacks import TimeBudget
from medlab.engine.predict import predict

#: PCA sizes tried (on validation) by the nearest-neighbour baseline.
PCA_COMPONENTS = (8, 16, 32, 64)
#: Resolutions of the multi-scale score (28 x 28 and 14 x 14 px).
MULTISCALE_SSIM_SCALES = 2
#: Percentiles of the per-pixel 1 - SSIM map tried (on validation) by the localising score.
SSIM_MAP_PERCENTILES = (50, 80, 90, 95)
#: Neighbour counts tried (on validation) by the nearest-normal-features score.
FEATURE_NEIGHBOURS = (1, 5, 20)
#: The encoder's layer whose feature maps (7 x 7 x 32 for 28 x 28 images) that score compares.
FEATURE_LAYER = "enc_conv2"
#: The trivial baseline of fine detail (``anomaly.sharpness``), its row's name.
SHARPNESS = "sharpness (mean |Laplacian|)"


def train_autoencoder(images, seconds, latent_dim, seed, batch_size=32, learning_rate=2e-3, epochs=None):
    """Bottleneck autoencoder fitted x -> x for ``epochs`` (if given) or else ``seconds``;
    returns (autoencoder, encoder, seconds, epochs)."""
    seed_everything(seed)
    autoencoder, encoder, _ = conv_autoencoder(images.shape[1:], latent_dim=latent_dim)
    autoencoder.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="mse")
    start = time.perf_counter()
    history = autoencoder.fit(images, images, epochs=10_000 if epochs is None else epochs,
                              batch_size=batch_size, verbose=0,
                              callbacks=[TimeBudget(seconds)] if epochs is None else [])
    return autoencoder, encoder, time.perf_counter() - start, len(history.history["loss"])


def anomaly_scores(data, autoencoder, encoder, seed, shift_radius=2, opacity=None):
    """Every score and baseline on val and test -> (rows of ``anomaly.compare_scores``, scores, info).

    The settings of the scores (PCA size, percentile of the SSIM map, neighbour count) are
    chosen on validation AUC; the test split only receives the chosen settings.
    ``shift_radius``: offsets (px) of the best-offset 1 - SSIM (0: none, its rows left out);
    ``opacity``: a fitted ``anomaly.OpacityClassifier`` (None: its rows left out).
    """
    normal = data.x_train[data.y_train == 0]
    latent = anomaly.LatentMahalanobis().fit(predict(encoder, normal))
    feature = {split: trust.features(encoder, x, layer=FEATURE_LAYER)
               for split, x in (("normal", normal), ("val", data.x_val), ("test", data.x_test))}
    knns = {k: anomaly.FeatureNearestNeighbours(k).fit(feature["normal"]) for k in FEATURE_NEIGHBOURS
            if k < len(normal)}
    knn_scores = {split: {k: knn.score(feature[split]) for k, knn in knns.items()} for split in ("val", "test")}
    knn_k = max(knns, key=lambda k: metrics.auc(data.y_val, knn_scores["val"][k]))
    map_scores = {}
    ks = [k for k in PCA_COMPONENTS if k < len(normal)]
    pca_auc = {k: metrics.auc(data.y_val, anomaly.PCANearestNeighbours(k).fit(normal).score(data.x_val))
               for k in ks}
    pca_k = max(pca_auc, key=pca_auc.get)
    pca_nn = anomaly.PCANearestNeighbours(pca_k).fit(normal)
    scores = {}
    for split in ("val", "test"):
        x, _ = data.split(split)
        rebuilt = denoise(autoencoder, x)
        scores[split] = {
            "reconstruction MSE": anomaly.mse_score(x, rebuilt),
            "1 - SSIM": anomaly.ssim_score(x, rebuilt),
            "multi-scale 1 - SSIM": anomaly.multiscale_ssim_score(x, rebuilt, MULTISCALE_SSIM_SCALES),
            "standardised MSE": anomaly.standardized_mse_score(x, rebuilt),
            "latent Mahalanobis": latent.score(predict(encoder, x)),
            "encoder features, nearest normals": knn_scores[split][knn_k],
        }
        if shift_radius:
            scores[split][f"1 - SSIM at the best offset (up to {shift_radius} px)"] = anomaly.best_shift_score(
                x, lambda moved: denoise(autoencoder, moved), radius=shift_radius)
        if opacity is not None:
            scores[split]["synthetic-opacity classifier (odds)"] = opacity.score(x)
        ssim_maps = anomaly.ssim_maps(x, rebuilt)
        map_scores[split] = {q: anomaly.quantile_score(ssim_maps, q) for q in SSIM_MAP_PERCENTILES}
    map_q = max(SSIM_MAP_PERCENTILES, key=lambda q: metrics.auc(data.y_val, map_scores["val"][q]))
    for split in ("val", "test"):
        scores[split]["1 - SSIM map, percentile"] = map_scores[split][map_q]
    for name in ("1 - SSIM", "multi-scale 1 - SSIM"):  # + contrast, rule fitted on val (out-of-fold there)
        scores["val"][name + " + image sd"], scores["test"][name + " + image sd"] = anomaly.with_contrast(
            scores["val"][name], data.x_val, data.y_val, scores["test"][name], data.x_test, seed=seed)
    # three unsupervised scores, their weights (three numbers and an offset) fitted on val labels;
    # the map's percentile and the neighbour count are chosen inside every fit (nested: on the
    # training folds for each held-out fold), so the rule's val AUC is out-of-fold throughout
    val_trio, test_trio = ({"1 - SSIM map, percentile": map_scores[split],
                            "encoder features, nearest normals": knn_scores[split],
                            "image sd": anomaly.contrast(x)}  # sd floored at SD_FLOOR, as in with_contrast
                           for split, x in (("val", data.x_val), ("test", data.x_test)))
    scores["val"]["SSIM map percentile + features + image sd"], \
        scores["test"]["SSIM map percentile + features + image sd"] = anomaly.combine_scores(
            val_trio, data.y_val, test_trio, seed=seed)
    # scores that survive a shift of the normals (a simulated one on val: benchmarks/README.md): the best-offset
    # 1 - SSIM, the image's fine detail and contrast, and the synthetic-opacity classifier
    rules = {}
    if shift_radius:
        aligned = f"1 - SSIM at the best offset (up to {shift_radius} px)"
        rules[aligned + " + sharpness + image sd"] = (aligned,)
        if opacity is not None:
            rules[aligned + " + opacity classifier + sharpness + image sd"] = (
                aligned, "synthetic-opacity classifier (odds)")
    for name, inputs in rules.items():
        val_in, test_in = ({**{n: scores[split][n] for n in inputs}, "sharpness": anomaly.sharpness(x),
                            "image sd": anomaly.contrast(x)}
                           for split, x in (("val", data.x_val), ("test", data.x_test)))
        scores["val"][name], scores["test"][name] = anomaly.combine_scores(val_in, data.y_val, test_in, seed=seed)
    for split in ("val", "test"):
        x, _ = data.split(split)
        scores[split].update({"PCA + nearest neighbours": pca_nn.score(x), **anomaly.intensity_features(x),
                              SHARPNESS: anomaly.sharpness(x)})
    trivial = ("mean intensity", "image sd", SHARPNESS)
    rows = anomaly.compare_scores(scores["val"], data.y_val, scores["test"], data.y_test,
                                  baselines=("PCA + nearest neighbours", *trivial), oriented=trivial, seed=seed)
    return rows, scores["test"], {"pca_components": pca_k, "ssim_map_percentile": map_q,
                                  "feature_neighbours": knn_k}


def run(args):
    data = load_classification_data(args.data)
    x_train, y_train, x_val, x_test = data.x_train, data.y_train, data.x_val, data.x_test
    noisy_val = noise.gaussian(x_val, args.sigma, seed=(args.seed, 1))
    noisy_test = noise.gaussian(x_test, args.sigma, seed=(args.seed, 2))

    classical = best_classical_filter(noisy_val, x_val, tv_weights=TV_WEIGHTS, nlm_strengths=NLM_STRENGTHS)
    filtered = classical.apply(noisy_test)

    seed_everything(args.seed)
    model = residual_denoiser(data.image_shape, filters=args.filters, depth=args.depth)
    fixed = args.epochs is not None  # a fixed number of epochs (reproducible under any load)
    history = train_denoiser(model, x_train, "gaussian", args.sigma,
                             epochs=args.epochs if fixed else 10_000, batch_size=args.batch_size,
                             learning_rate=args.learning_rate, seed=args.seed,
                             seconds=None if fixed else args.seconds, cosine=args.cosine,
                             ema=args.ema or None)
    denoised = denoise(model, noisy_test)

    normal_autoencoder, normal_encoder, anomaly_seconds, anomaly_epochs = train_autoencoder(
        x_train[y_train == 0], args.anomaly_seconds, args.latent_dim, args.seed, epochs=args.anomaly_epochs)
    opacity = (anomaly.OpacityClassifier(args.opacity_epochs, seed=args.seed).fit(x_train[y_train == 0])
               if args.opacity_epochs else None)
    rows, test_scores, anomaly_info = anomaly_scores(data, normal_autoencoder, normal_encoder, args.seed,
                                                     shift_radius=args.shift_radius, opacity=opacity)
    by_name = {row.name: row for row in rows}
    chosen = anomaly.choose_on_validation(rows)
    shift_check = None
    if args.shift_check:  # the same scores, settings and rules (all from clean val) on val with its normals moved
        moved = anomaly.shift_normals(x_val, data.y_val, radius=args.shift_check, seed=args.seed)
        shift_check, _, _ = anomaly_scores(dataclasses.replace(data, x_test=moved, y_test=data.y_val),
                                           normal_autoencoder, normal_encoder, args.seed,
                                           shift_radius=args.shift_radius, opacity=opacity)
    # paired stratified bootstrap on the test images: the chosen score minus contrast alone
    versus_sd = metrics.auc_difference_interval(
        data.y_test, test_scores[chosen.name], by_name["image sd"].sign * test_scores["image sd"],
        seed=args.seed)
    sharp = by_name[SHARPNESS]  # the same against the sharpness alone, the image statistic the new rules use
    versus_sharpness = metrics.auc_difference_interval(
        data.y_test, test_scores[chosen.name], sharp.sign * test_scores[SHARPNESS], seed=args.seed)

    _, encoder, pretrain_seconds, _ = train_autoencoder(x_train, args.pretrain_seconds, args.latent_dim,
                                                        args.seed)
    runs = pretraining.pretraining_curve(encoder, data, fractions=args.fractions, seeds=args.seeds,
                                         steps=args.finetune_steps)
    summary = pretraining.mean_sd_by_fraction(runs)

    result = {
        "psnr_noisy": metrics.psnr(x_test, noisy_test),
        "psnr_classical": metrics.psnr(x_test, filtered),
        "psnr_autoencoder": metrics.psnr(x_test, denoised),
        "ssim_noisy": metrics.ssim(x_test, noisy_test),
        "ssim_classical": metrics.ssim(x_test, filtered),
        "ssim_autoencoder": metrics.ssim(x_test, denoised),
        "anomaly_auc": chosen.test.estimate,
        "anomaly_auc_ci": [chosen.test.low, chosen.test.high],
        "anomaly_minus_image_sd": [versus_sd.estimate, versus_sd.low, versus_sd.high],
        "anomaly_minus_sharpness": [versus_sharpness.estimate, versus_sharpness.low, versus_sharpness.high],
        "anomaly_mse_auc": by_name["reconstruction MSE"].test.estimate,
        "baseline_pca_nn_auc": by_name["PCA + nearest neighbours"].test.estimate,
        "baseline_mean_intensity_auc": by_name["mean intensity"].test.estimate,
        "baseline_image_sd_auc": by_name["image sd"].test.estimate,
        "baseline_sharpness_auc": sharp.test.estimate,
        "train_seconds": history["seconds"],
    }
    for key, field in (("pretrain_auc", "pretrained_mean"), ("pretrain_auc_sd", "pretrained_sd"),
                       ("scratch_auc", "scratch_mean"), ("scratch_auc_sd", "scratch_sd")):
        result[key] = {f"{e['fraction']:g}": e[field] for e in summary}
    result = {k: _rounded(v) for k, v in result.items()}
    info = {"classical": classical.name,
            "classical_kinds": {kind: classical.best_of(kind) for kind in ("gaussian", "median", "tv", "nlm")},
            "denoiser_epochs": len(history["loss"]),
            "denoiser_parameters": model.count_params(), "anomaly_seconds": anomaly_seconds,
            "anomaly_epochs": anomaly_epochs,
            "opacity_seconds": opacity.seconds_ if opacity is not None else 0.0,
            "anomaly_score": chosen.name, "anomaly_rows": rows, "shift_check": shift_check, "pretrain_seconds": pretrain_seconds,
            "pretraining": summary, **anomaly_info}
    return result, info


def _rounded(value):
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    return round(float(value), 4)


def _fractions(text):
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    # distinct as printed: each fraction is a key ({fraction:g}) of the JSON result
    if (not values or not all(0 < v <= 1 for v in values)
            or len({f"{v:g}" for v in values}) != len(values)):
        raise argparse.ArgumentTypeError(
            f"--fractions {text!r}: expected distinct numbers in (0, 1], comma-separated")
    return values


def _seeds(text):
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        values = ()
    if not values or len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"--seeds {text!r}: expected distinct integers, comma-separated")
    return values


def _image_size(path):
    """(H, W) of the training images, from the ``.npz`` header alone; None where the file
    cannot tell (loading it then says why)."""
    from medlab.data.npz import open_npz, stored_shape

    try:
        with open_npz(path, "a MedMNIST .npz") as archive:
            shape = stored_shape(archive, "train_images")
    except (OSError, ValueError):
        return None
    return shape[1:3] if shape is not None and len(shape) in (3, 4) else None


def _check(parser, args):
    """parser.error (exit 2, one line) on any flag out of range, before data or training."""
    import math

    if not os.path.isfile(args.data):
        parser.error(f"--data {args.data!r}: no such file (expected a MedMNIST .npz)")
    positive = {"--seconds": args.seconds, "--anomaly-seconds": args.anomaly_seconds,
                "--pretrain-seconds": args.pretrain_seconds, "--sigma": args.sigma,
                "--learning-rate": args.learning_rate}
    for flag, value in positive.items():
        if not (math.isfinite(value) and value > 0):
            parser.error(f"{flag} {value!r}: expected a finite number > 0")
    at_least_one = {"--epochs": args.epochs, "--anomaly-epochs": args.anomaly_epochs,
                    "--finetune-steps": args.finetune_steps, "--filters": args.filters,
                    "--batch-size": args.batch_size, "--latent-dim": args.latent_dim}
    if args.shift_radius < 0:
        parser.error(f"--shift-radius {args.shift_radius}: expected an integer >= 0 (0: no best-offset score)")
    if args.shift_check < 0:
        parser.error(f"--shift-check {args.shift_check}: expected an integer >= 0 (0: no check)")
    if args.opacity_epochs < 0:
        parser.error(f"--opacity-epochs {args.opacity_epochs}: expected an integer >= 0 (0: no classifier)")
    for flag, value in at_least_one.items():
        if value is not None and value < 1:
            parser.error(f"{flag} {value}: expected an integer >= 1")
    if args.depth < 0:
        parser.error(f"--depth {args.depth}: expected an integer >= 0")
    size = _image_size(args.data)
    if size is not None and any(side % 2 ** args.depth for side in size):
        deepest = min((side & -side).bit_length() - 1 for side in size)  # 2 ** deepest divides both
        parser.error(f"--depth {args.depth}: the images are {size[0]} x {size[1]} pixels; expected "
                     f"2 ** depth to divide both sides (--depth at most {deepest})")
    for flag, radius in (("--shift-radius", args.shift_radius), ("--shift-check", args.shift_check)):
        if size is not None and 2 * radius >= min(size):
            parser.error(f"{flag} {radius}: the images are {size[0]} x {size[1]} pixels; expected a "
                         f"shift under half the smaller side (at most {(min(size) - 1) // 2})")
    if not (math.isfinite(args.ema) and 0 <= args.ema < 1):
        parser.error(f"--ema {args.ema!r}: expected a momentum in [0, 1) (0: no moving average)")
    if args.seed < 0:
        parser.error(f"--seed {args.seed}: expected an integer >= 0")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="MedMNIST .npz file (train/val/test splits)")
    parser.add_argument("--sigma", type=float, default=0.1, help="Gaussian noise sd, pixels in [0, 1]")
    parser.add_argument("--seconds", type=float, default=58.0,
                        help="denoiser training budget (s); fit() itself adds up to one batch")
    parser.add_argument("--epochs", type=int, default=None,
                        help="train the denoiser this many epochs instead of for --seconds")
    parser.add_argument("--cosine", action=argparse.BooleanOptionalAction, default=False,
                        help="cosine decay of the denoiser's learning rate over its budget (or epochs)")
    parser.add_argument("--ema", type=float, default=0.99,
                        help="the denoiser ends with the moving average of its weights, this momentum "
                             "(0: the last step's weights)")
    parser.add_argument("--anomaly-seconds", type=float, default=20.0,
                        help="training budget (s) of the autoencoder of normal images")
    parser.add_argument("--anomaly-epochs", type=int, default=None,
                        help="train the autoencoder of normal images this many epochs instead of "
                             "for --anomaly-seconds")
    parser.add_argument("--shift-radius", type=int, default=2,
                        help="the best-offset 1 - SSIM tries integer shifts up to this many pixels "
                             "(0: no such score)")
    parser.add_argument("--opacity-epochs", type=int, default=12,
                        help="epochs of the classifier of normal images against synthetic opacities "
                             "(0: no such classifier)")
    parser.add_argument("--shift-check", type=int, default=0,
                        help="also print every score's val AUC with the val normals moved by random "
                             "integer offsets up to this many pixels (0: no such check)")
    parser.add_argument("--pretrain-seconds", type=float, default=30.0,
                        help="training budget (s) of the autoencoder of all training images (no labels)")
    parser.add_argument("--fractions", type=_fractions, default=pretraining.FRACTIONS,
                        help="label fractions, comma-separated (default 0.01,0.05,0.2,1)")
    parser.add_argument("--seeds", type=_seeds, default=(0, 1, 2),
                        help="seeds of the fine-tuning runs, comma-separated")
    parser.add_argument("--finetune-steps", type=int, default=300,
                        help="Adam steps of every fine-tuned classifier")
    parser.add_argument("--filters", type=int, default=16, help="denoiser's first-level filters")
    parser.add_argument("--depth", type=int, default=2, help="denoiser's down-samplings")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--latent-dim", type=int, default=32, help="autoencoders' code size")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    _check(parser, args)
    started, load_start = time.perf_counter(), os.getloadavg()[0]
    result, info = run(args)
    print(json.dumps(result), flush=True)
    gain = result["psnr_autoencoder"] - result["psnr_classical"]
    print(f"noisy {result['psnr_noisy']:.2f} dB | {info['classical']} (chosen on val) "
          f"{result['psnr_classical']:.2f} dB | denoiser {result['psnr_autoencoder']:.2f} dB "
          f"({gain:+.2f} dB, {info['denoiser_epochs']} epochs in {result['train_seconds']:.0f} s, "
          f"{info['denoiser_parameters']:,} parameters)", file=sys.stderr)
    kinds = info["classical_kinds"].items()
    print("best setting of each classical filter, val PSNR: " + ", ".join(
        f"{kind} {parameter:g}: {value:.2f} dB" for kind, (parameter, value) in kinds), file=sys.stderr)
    print(f"anomaly detection, autoencoder of normal images trained {info['anomaly_seconds']:.0f} s "
          f"({info['anomaly_epochs']} epochs), synthetic-opacity classifier {info['opacity_seconds']:.0f} s "
          f"({args.opacity_epochs} epochs); "
          f"chosen on validation: {info['anomaly_score']} (PCA baseline: {info['pca_components']} "
          f"components; SSIM map: {info['ssim_map_percentile']}th percentile; features: "
          f"{info['feature_neighbours']} nearest normals; each chosen on validation)", file=sys.stderr)
    for row in info["anomaly_rows"]:
        print(row.text(width=50, digits=3), file=sys.stderr)
    if info["shift_check"]:
        print(f"val AUC, and val AUC with the val normals moved up to {args.shift_check} px (settings and "
              f"rules from clean val, so a fitted rule's moved AUC is in-sample: fitted on these very images, "
              f"unmoved; seed {args.seed}):", file=sys.stderr)
        for row, moved in zip(info["anomaly_rows"], info["shift_check"]):
            print(f"{row.name:>50}: {row.val_auc:.3f} | normals moved {moved.test.estimate:.3f}", file=sys.stderr)
    low_d, high_d = result["anomaly_minus_image_sd"][1:]
    print(f"test AUC, {info['anomaly_score']} minus image sd alone (paired bootstrap, 95 %): "
          f"{result['anomaly_minus_image_sd'][0]:+.3f} ({low_d:+.3f} to {high_d:+.3f}); minus sharpness alone: "
          f"{result['anomaly_minus_sharpness'][0]:+.3f} ({result['anomaly_minus_sharpness'][1]:+.3f} to "
          f"{result['anomaly_minus_sharpness'][2]:+.3f})", file=sys.stderr)
    print(f"pretraining: autoencoder of all training images trained {info['pretrain_seconds']:.0f} s, "
          f"{args.finetune_steps} fine-tuning steps per classifier, seeds {args.seeds}", file=sys.stderr)
    print(pretraining.fraction_table(info["pretraining"]), file=sys.stderr)
    print(f"total {time.perf_counter() - started:.0f} s; load_1min {load_start:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
