"""Smoke tests of the scripts in ``benchmarks/``: each runs end to end with tiny arguments.

The benchmarks are not imported by anything else, so a change in ``medlab`` that breaks
one would otherwise go unnoticed until someone runs it by hand. Each test loads a script
in-process (a subprocess would pay TensorFlow's import again, about 5 s), calls its
``main(argv)`` with budgets of a second or two, and checks what it prints: the table
header, one row or JSON line per expected case, figures that parse as finite numbers and
the correctness figures that do not depend on the machine (error against TensorFlow,
images counted, AUCs within [0, 1]). Speed is never asserted: machines differ.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from medlab.data import save_medmnist, synthetic_chest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_benchmark(name):
    """Import ``benchmarks/<name>.py`` as a fresh module (not on ``sys.path``)."""
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_main(module, argv, capsys):
    """``module.main(argv)``; returns (exit status, stdout lines)."""
    status = module.main(argv)
    out = capsys.readouterr().out
    return status, out.splitlines()


def json_lines(lines):
    """The lines of ``lines`` that are JSON objects, parsed."""
    return [json.loads(line) for line in lines if line.startswith("{")]


def assert_finite(value, name):
    assert isinstance(value, (int, float)) and not isinstance(value, bool), (name, value)
    assert math.isfinite(value), (name, value)


def assert_auc(value, name):
    assert_finite(value, name)
    assert 0.0 <= value <= 1.0, (name, value)


def write_tiny_medmnist(path, n_per_split=(48, 24, 24), size=28):
    """A PneumoniaMNIST-like ``.npz`` of synthetic chest X-rays (uint8, labels (N, 1)).

    Every split holds both classes (``synthetic_chest`` draws exactly half positive),
    so AUCs are defined on each.
    """
    splits = {}
    for seed, (split, n) in enumerate(zip(("train", "val", "test"), n_per_split)):
        images, labels = synthetic_chest(n, size=size, seed=seed)
        splits[split] = (np.round(images * 255).astype(np.uint8), labels[:, None])
    return save_medmnist(path, splits)


@pytest.fixture
def tiny_medmnist(tmp_path):
    return write_tiny_medmnist(tmp_path / "tiny_pneumoniamnist.npz")


# ---------------------------------------------------------------------------- ops.py
def test_ops_benchmark_matches_tensorflow_on_every_layer(monkeypatch, capsys):
    ops_bench = load_benchmark("ops")
    # the script always uses batch 32 (150 px inputs): batch 2 keeps the same layer shapes
    monkeypatch.setattr(ops_bench, "layer_cases",
                        functools.partial(ops_bench.layer_cases, batch=2))
    # the 3-D rows: a batch of 2 hippocampus volumes, each layer fed the previous one's output
    monkeypatch.setattr(ops_bench, "volume_cases",
                        functools.partial(ops_bench.volume_cases, batch=2))
    expected = [name for name, *_ in ops_bench.layer_cases() + ops_bench.volume_cases()]
    assert len(expected) == 12

    status, lines = run_main(ops_bench, ["--repeats", "1", "--json"], capsys)
    assert status == 0
    rows = json_lines(lines)
    assert [row["layer"] for row in rows] == expected
    for row in rows:
        assert row["input"].startswith("2x"), row
        for key in ("max_abs_error", "numpy_ms", "tf_ms", "ratio"):
            assert_finite(row[key], f"{row['layer']} {key}")
        assert row["max_abs_error"] <= 1e-5, row
        assert row["numpy_ms"] > 0 and row["tf_ms"] > 0 and row["ratio"] > 0, row


def test_ops_benchmark_prints_a_table(monkeypatch, capsys):
    ops_bench = load_benchmark("ops")
    all_cases = ops_bench.layer_cases
    monkeypatch.setattr(ops_bench, "layer_cases",
                        lambda: [case for case in all_cases(batch=2) if "28px" in case[0]])
    monkeypatch.setattr(ops_bench, "volume_cases", lambda: [])
    status, lines = run_main(ops_bench, ["--repeats", "1"], capsys)
    assert status == 0
    assert lines[0].startswith("medlab.ops vs TensorFlow")
    assert lines[1].split() == ["layer", "input", "max", "abs", "err", "numpy", "ms", "tf", "ms",
                                "numpy/tf"]
    rows = lines[2:-1]
    assert [" ".join(row.split()[:2]) for row in rows] == [
        "conv1 28px", "pool1 28px", "conv2 28px", "pool2 28px"]
    for row in rows:
        figures = [float(x) for x in row.split()[3:]]
        assert len(figures) == 4 and all(math.isfinite(x) for x in figures), row
        assert figures[0] <= 1e-5, row
    assert re.match(r"max error \S+ \(goal <= 1e-5\); slowest ratio \S+ on .+ \(goal <= 1\.00\)$",
                    lines[-1]), lines[-1]


# ------------------------------------------------------------------------ pipeline.py
def test_pipeline_benchmark_counts_every_image_of_every_epoch(capsys):
    pipeline = load_benchmark("pipeline")
    n, epochs = 40, 2  # 40 images, batch 32: a full and a partial batch per epoch
    status, lines = run_main(
        pipeline, ["--n", str(n), "--epochs", str(epochs), "--repeat", "1", "--json"], capsys)
    assert status == 0

    assert lines[0].startswith(f"{n} PNG images 64x64 -> 150x150 rgb, batch 32, {epochs} epochs")
    assert lines[1].split()[0] == "pipeline" and lines[1].split()[-1] == "speed-up"
    names = [name for name, _ in pipeline.PIPELINES]
    assert [line[:28].strip() for line in lines[2:4]] == names
    assert lines[4].startswith("(later s:")

    report = json.loads("\n".join(lines[5:]))
    assert (report["n"], report["epochs"], report["repeat"]) == (n, epochs, 1)
    assert [row["pipeline"] for row in report["results"]] == names
    for row in report["results"]:
        assert row["images"] == n * epochs, row
        assert len(row["epoch_s"]) == epochs, row
        for key in ("build_s", "seconds", "images_per_s"):
            assert_finite(row[key], f"{row['pipeline']} {key}")
            assert row[key] >= 0, row
        assert row["seconds"] == pytest.approx(row["build_s"] + sum(row["epoch_s"]))
    assert_finite(report["speedup"], "speedup")
    assert report["speedup"] > 0


def test_pipeline_benchmark_keep_exports_the_folder(tmp_path, capsys):
    pipeline = load_benchmark("pipeline")
    folder = tmp_path / "png"
    status, _ = run_main(pipeline, ["--n", "4", "--epochs", "1", "--repeat", "1",
                                    "--interpolation", "bilinear", "--keep", str(folder)], capsys)
    assert status == 0
    assert sorted(p.name for p in folder.iterdir()) == ["normal", "pneumonia"]
    assert len(list(folder.rglob("*.png"))) == 4


# ----------------------------------------------------------------------- synthetic.py
def test_synthetic_benchmark_reports_finite_aucs_per_seed(monkeypatch, capsys):
    synthetic = load_benchmark("synthetic")
    # the script always times 3 x 2,000 images of 64x64: a few images keep the format
    timed = synthetic.generation_seconds
    monkeypatch.setattr(synthetic, "generation_seconds", lambda: timed(n=16, size=16, repeat=1))
    status, lines = run_main(synthetic, ["--seeds", "0", "1", "--size", "16", "--n-train", "64",
                                         "--n-test", "32", "--epochs", "2"], capsys)
    assert status == 0
    assert re.match(r"synthetic_chest\(2000, size=64\): (\S+) s wall, (\S+) s CPU$", lines[0])
    assert all(math.isfinite(float(x)) for x in re.findall(r"[\d.]+(?= s)", lines[0]))

    seed_line = re.compile(r"seed (\d+): mean-intensity AUC (\S+)  LR AUC (\S+)  "
                           r"CNN AUC by epoch (.+)  \(fit (\S+) s\)$")
    assert len(lines) == 3, lines
    for seed, line in zip((0, 1), lines[1:]):
        match = seed_line.match(line)
        assert match, line
        assert int(match[1]) == seed
        for auc in (match[2], match[3], *match[4].split()):
            assert_auc(float(auc), line)
        assert len(match[4].split()) == 2, line  # one CNN AUC per epoch
        assert_finite(float(match[5]), line)


# ----------------------------------------------------------------------------- ood.py
def test_ood_benchmark_prints_one_json_line_per_seed_and_the_verdicts(tiny_medmnist, capsys):
    ood = load_benchmark("ood")
    status, lines = run_main(ood, ["--data", str(tiny_medmnist), "--seeds", "0", "1", "--max-train", "0",
                                   "--epochs", "1", "--n-ood", "8", "--n-boot", "100"], capsys)
    assert status == 0
    rows = json_lines(lines)
    assert [row["seed"] for row in rows] == [0, 1]
    for row in rows:
        assert set(row["validation_auroc"]) == set(ood.trust.FeatureScores.names)
        assert row["chosen"] == max(row["validation_auroc"], key=row["validation_auroc"].get)
        assert set(row["test_auroc"]) == {"chosen", "image_statistics", "flatten_one_cloud"}
        for name, iv in row["test_auroc"].items():
            for key in ("estimate", "low", "high"):
                assert_auc(iv[key], f"{name} {key}")
            assert iv["low"] <= iv["estimate"] <= iv["high"]
        assert row["test_films"] == 24 and row["test_ood_images"] == 3 * 8  # ultrasound, MRI, blank
    assert any(line.startswith("score chosen on validation, test AUROC over 2 seeds") for line in lines)
    assert sum("test AUROC:" in line for line in lines) == 2  # the two paired verdicts
    with pytest.raises(SystemExit):
        ood.main(["--seeds", "1", "1"])


# ----------------------------------------------------------------------- pneumonia.py
def test_pneumonia_benchmark_prints_one_json_line_per_model(tiny_medmnist, capsys):
    pneumonia = load_benchmark("pneumonia")
    status, lines = run_main(pneumonia, ["--data", str(tiny_medmnist), "--epochs", "2",
                                         "--budget", "30"], capsys)
    assert status == 0
    rows = json_lines(lines)
    assert len(rows) == len(lines) == 2, lines
    assert [row["model"] for row in rows] == ["improved_cnn", "seed_cnn"]
    for row in rows:
        for key in ("test_auc", "test_acc", "sensitivity", "specificity", "val_auc", "threshold"):
            assert_auc(row[key], f"{row['model']} {key}")
        assert_finite(row["train_seconds"], "train_seconds")
    kit, article = rows
    assert kit["budget_s"] == 30 and kit["budget_hit"] in (True, False)
    if not kit["budget_hit"]:
        assert kit["epochs"] == 2
    assert 1 <= kit["best_epoch"] <= kit["epochs"]
    assert article["epochs"] == pneumonia.ARTICLE["epochs"]
    assert article["threshold"] == 0.5


def test_pneumonia_benchmark_only_trains_the_named_model(tiny_medmnist, capsys):
    pneumonia = load_benchmark("pneumonia")
    status, lines = run_main(pneumonia, ["--data", str(tiny_medmnist), "--epochs", "1",
                                         "--budget", "5", "--only", "improved_cnn"], capsys)
    assert status == 0
    assert [row["model"] for row in json_lines(lines)] == ["improved_cnn"]


def test_pneumonia_benchmark_refuses_a_missing_file(tmp_path, capsys):
    pneumonia = load_benchmark("pneumonia")
    with pytest.raises(SystemExit) as exit_info:
        pneumonia.main(["--data", str(tmp_path / "absent.npz")])
    assert exit_info.value.code == 2
    assert "no such file" in capsys.readouterr().err


# --------------------------------------------------------------------- autoencoder.py
def test_autoencoder_benchmark_reports_denoising_anomaly_scores_and_pretraining(tiny_medmnist, capsys):
    autoencoder = load_benchmark("autoencoder")
    status = autoencoder.main(["--data", str(tiny_medmnist), "--epochs", "2", "--anomaly-epochs", "2",
                               "--pretrain-seconds", "1", "--fractions", "0.1,1", "--seeds", "0,1",
                               "--finetune-steps", "3", "--filters", "4", "--opacity-epochs", "1",
                               "--shift-radius", "1", "--shift-check", "1"])
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert status == 0
    assert len(lines) == 1, lines  # the tables for people go to stderr
    result = json.loads(lines[0])
    assert set(result) == {"psnr_noisy", "psnr_classical", "psnr_autoencoder", "ssim_noisy",
                           "ssim_classical", "ssim_autoencoder", "anomaly_auc", "anomaly_auc_ci",
                           "anomaly_minus_image_sd", "anomaly_minus_sharpness", "anomaly_mse_auc", "baseline_pca_nn_auc",
                           "baseline_mean_intensity_auc", "baseline_image_sd_auc", "baseline_sharpness_auc", "train_seconds", "pretrain_auc", "pretrain_auc_sd",
                           "scratch_auc", "scratch_auc_sd"}
    for key in ("pretrain_auc", "pretrain_auc_sd", "scratch_auc", "scratch_auc_sd"):
        assert set(result[key]) == {"0.1", "1"}, (key, result[key])
        for fraction, value in result[key].items():
            assert_finite(value, f"{key} {fraction}")
    for key in ("pretrain_auc", "scratch_auc"):
        for fraction, value in result[key].items():
            assert_auc(value, f"{key} {fraction}")
    low, high = result["anomaly_auc_ci"]
    assert 0 <= low <= result["anomaly_auc"] <= high <= 1, result
    for key in ("anomaly_minus_image_sd", "anomaly_minus_sharpness"):
        difference, low, high = result[key]
        assert -1 <= low <= difference <= high <= 1, (key, result)
    for key in ("anomaly_auc", "anomaly_mse_auc", "baseline_pca_nn_auc", "baseline_mean_intensity_auc",
                "baseline_image_sd_auc", "baseline_sharpness_auc"):
        assert_auc(result[key], key)
    for key in ("psnr_noisy", "psnr_classical", "psnr_autoencoder", "ssim_noisy", "ssim_classical",
                "ssim_autoencoder", "train_seconds"):
        assert_finite(result[key], key)
    for key in ("ssim_noisy", "ssim_classical", "ssim_autoencoder"):
        assert -1.0 <= result[key] <= 1.0, (key, result[key])
    # sigma 0.1 on [0, 1] pixels, clipped: about 20 dB; any filter worth its name does better
    assert 15 < result["psnr_noisy"] < 25, result
    assert result["psnr_classical"] > result["psnr_noisy"], result
    assert result["train_seconds"] > 0
    table = captured.err
    assert "chosen on validation:" in table and "image sd (baseline" in table, table
    assert "best setting of each classical filter, val PSNR: gaussian" in table and "nlm " in table, table
    assert "(2 epochs)" in table and "minus image sd alone (paired bootstrap" in table, table
    assert "; minus sharpness alone: " in table, table
    assert "1 - SSIM + image sd: val AUC" in table and "load_1min" in table, table
    for name in ("1 - SSIM map, percentile", "encoder features, nearest normals",
                 "SSIM map percentile + features + image sd", "1 - SSIM at the best offset (up to 1 px)",
                 "synthetic-opacity classifier (odds)",
                 "1 - SSIM at the best offset (up to 1 px) + sharpness + image sd",
                 "1 - SSIM at the best offset (up to 1 px) + opacity classifier + sharpness + image sd"):
        assert f"{name}: val AUC" in table, (name, table)
    assert re.search(r"SSIM map: \d+th percentile; features: \d+ nearest normals", table), table
    assert "sharpness (mean |Laplacian|) (baseline" in table, table
    assert "with the val normals moved up to 1 px" in table, table
    assert re.search(r"1 - SSIM at the best offset \(up to 1 px\): [\d.]+ \| normals moved [\d.]+", table), table
    assert re.search(r"synthetic-opacity classifier \d+ s \(1 epochs\)", table), table
    assert re.search(r"denoiser [\d.]+ dB \([+-][\d.]+ dB, 2 epochs", table), table
    assert "10 % (" in table and "100 % (" in table and "pretrained - scratch" in table, table


def test_autoencoder_benchmark_refuses_bad_fractions(tiny_medmnist, capsys):
    autoencoder = load_benchmark("autoencoder")
    with pytest.raises(SystemExit):
        autoencoder.main(["--data", str(tiny_medmnist), "--fractions", "0,1"])
    assert "expected distinct numbers in (0, 1]" in capsys.readouterr().err


@pytest.mark.parametrize("flags, message", [
    (["--anomaly-seconds", "0"], "--anomaly-seconds 0.0: expected a finite number > 0"),
    (["--anomaly-seconds", "-1"], "--anomaly-seconds -1.0: expected a finite number > 0"),
    (["--seconds", "nan"], "--seconds nan: expected a finite number > 0"),
    (["--pretrain-seconds", "inf"], "--pretrain-seconds inf: expected a finite number > 0"),
    (["--anomaly-epochs", "0"], "--anomaly-epochs 0: expected an integer >= 1"),
    (["--epochs", "0"], "--epochs 0: expected an integer >= 1"),
    (["--finetune-steps", "-3"], "--finetune-steps -3: expected an integer >= 1"),
    (["--batch-size", "0"], "--batch-size 0: expected an integer >= 1"),
    (["--latent-dim", "0"], "--latent-dim 0: expected an integer >= 1"),
    (["--filters", "0"], "--filters 0: expected an integer >= 1"),
    (["--depth", "-1"], "--depth -1: expected an integer >= 0"),
    (["--depth", "3"], "--depth 3: the images are 28 x 28 pixels; expected 2 ** depth to divide both "
                       "sides (--depth at most 2)"),  # read from the .npz header, before loading
    (["--sigma", "0"], "--sigma 0.0: expected a finite number > 0"),
    (["--learning-rate", "-0.1"], "--learning-rate -0.1: expected a finite number > 0"),
    (["--ema", "1"], "--ema 1.0: expected a momentum in [0, 1)"),
    (["--seed", "-2"], "--seed -2: expected an integer >= 0"),
    (["--fractions", "0.1,1,0.1"], "--fractions '0.1,1,0.1': expected distinct numbers in (0, 1]"),
    (["--fractions", "0.5,0.50"], "--fractions '0.5,0.50': expected distinct numbers in (0, 1]"),
    (["--fractions", "0.1,x"], "--fractions '0.1,x': expected distinct numbers in (0, 1]"),
    (["--seeds", "0,0"], "--seeds '0,0': expected distinct integers"),
    (["--seeds", "a"], "--seeds 'a': expected distinct integers"),
    (["--shift-radius", "-1"], "--shift-radius -1: expected an integer >= 0"),
    (["--opacity-epochs", "-1"], "--opacity-epochs -1: expected an integer >= 0"),
    (["--shift-check", "-2"], "--shift-check -2: expected an integer >= 0"),
    (["--shift-radius", "14"], "--shift-radius 14: the images are 28 x 28 pixels; expected a shift under "
                               "half the smaller side (at most 13)"),  # not after the training
    (["--shift-check", "20"], "--shift-check 20: the images are 28 x 28 pixels; expected a shift under "
                              "half the smaller side (at most 13)"),
])
def test_autoencoder_benchmark_refuses_bad_flags_before_any_training(tiny_medmnist, capsys, monkeypatch,
                                                                      flags, message):
    autoencoder = load_benchmark("autoencoder")
    monkeypatch.setattr(autoencoder, "run", lambda args: pytest.fail("run() reached with a bad flag"))
    with pytest.raises(SystemExit) as exit_info:
        autoencoder.main(["--data", str(tiny_medmnist), *flags])
    assert exit_info.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert message in last and "Traceback" not in last, last


def test_autoencoder_benchmark_refuses_a_missing_data_file(tmp_path, capsys, monkeypatch):
    autoencoder = load_benchmark("autoencoder")
    monkeypatch.setattr(autoencoder, "run", lambda args: pytest.fail("run() reached with a bad flag"))
    with pytest.raises(SystemExit) as exit_info:
        autoencoder.main(["--data", str(tmp_path / "nonexistent.npz")])
    assert exit_info.value.code == 2
    assert "nonexistent.npz': no such file" in capsys.readouterr().err


# ------------------------------------------------------------------------ medmnist.py
def write_multiclass_medmnist(path, n_classes, rgb, n_per_split=(60, 30, 30), size=28, seed=0):
    """A MedMNIST-like file of ``n_classes`` classes: class c brightens a band of rows (learnable)."""
    rng = np.random.default_rng(seed)
    splits = {}
    for split, n in zip(("train", "val", "test"), n_per_split):
        labels = np.arange(n) % n_classes  # every class in every split
        images = rng.integers(0, 120, size=(n, size, size, 3) if rgb else (n, size, size)).astype(np.uint8)
        band = size // n_classes
        for i, c in enumerate(labels):
            images[i, c * band:(c + 1) * band] += 100
        splits[split] = (images, labels[:, None].astype(np.uint8))
    return save_medmnist(path, splits)


@pytest.mark.parametrize("kind", ["binary", "five_classes_rgb", "five_classes_grey"])
def test_medmnist_benchmark_prints_one_json_line_per_model(kind, tiny_medmnist, tmp_path, capsys):
    medmnist = load_benchmark("medmnist")
    if kind == "binary":
        path, n_classes, channels = tiny_medmnist, 2, 1
    else:
        rgb = kind.endswith("rgb")
        path = write_multiclass_medmnist(tmp_path / f"{kind}.npz", 5, rgb)
        n_classes, channels = 5, 3 if rgb else 1
    status, lines = run_main(medmnist, ["--data", str(path), "--epochs", "3", "--kit-epochs", "2", "--budget", "1000",
                                        "--reserve", "0", "--fixed-epochs",
                                        "--snapshots", "2", "--members", "2", "--n-boot", "50"], capsys)
    assert status == 0
    rows = json_lines(lines)
    assert len(rows) == len(lines) == 4, lines
    assert [row["model"] for row in rows[:3]] == ["recipe", "improved_cnn", "seed_cnn"]
    for row in rows[:3]:
        assert row["n_classes"] == n_classes and row["image_shape"] == [28, 28, channels]
        for key in ("test_auc", "test_acc", "val_auc"):
            assert_auc(row[key], f"{row['model']} {key}")
        for key in ("test_auc", "test_acc"):
            low, high = row[f"{key}_ci95"]
            assert 0 <= low <= high <= 1, (row["model"], key, low, high)
        assert_finite(row["train_seconds"], "train_seconds")
        assert isinstance(row["settings"], dict) and row["settings"]["learning_rate"] > 0
    recipe, kit, article = rows[:3]
    assert 1 <= kit["best_epoch"] <= kit["epochs"] <= 2
    # two networks of 3 epochs each, whatever the clock says (--fixed-epochs; the shrinking
    # plan is tested with a fake clock in test_engine.py)
    assert recipe["members"] == 2 and recipe["epochs_planned"] == 3 and recipe["epochs_run"] == [3, 3]
    assert recipe["epochs"] == 6 and len(recipe["best_epochs"]) == 2
    assert all(1 <= b <= 3 for b in recipe["best_epochs"]) and recipe["best_epoch"] == recipe["best_epochs"][0]
    assert recipe["settings"]["members"] == 2 and recipe["settings"]["scale_epochs"] is False
    assert kit["settings"]["width"] == medmnist.KIT["width"] and kit["settings"]["budget_s"] == 1000
    assert article["epochs"] == medmnist.ARTICLE["epochs"]
    # the recipe's choices, every one made on val, are printed with the figures it scored them by
    choices = recipe["choices_on_val"]
    assert recipe["predictor"] in choices["predictors_val_cross_entropy"]
    assert set(choices["predictors_val_cross_entropy"]) == {"best_epoch", "best_epoch+tta2px",
                                                            "last_2", "last_2+tta2px"}
    scores = choices["predictors_val_cross_entropy"]
    assert scores[recipe["predictor"]] == min(scores.values())
    assert recipe["val_cross_entropy"] == scores[recipe["predictor"]]
    assert len(choices["each_network_alone_val_cross_entropy"]) == len(choices["each_network_alone_val_auc"]) == 2
    rules = choices["call_rules_held_out_accuracy"]
    assert recipe["call_rule"] in rules and rules[recipe["call_rule"]] == max(rules.values())
    # the test split's best threshold is printed as a diagnostic only: it is never the one used
    diagnostic = recipe["diagnostic_never_used_for_any_choice"]
    if n_classes == 2:
        oracle = diagnostic["oracle_threshold_on_test"]
        assert 0 <= oracle["threshold"] <= 1 and recipe["test_acc"] <= oracle["acc"] <= 1
    else:
        assert diagnostic["oracle_threshold_on_test"] is None
    assert recipe["total_seconds"] == pytest.approx(recipe["train_seconds"] + recipe["inference_seconds"], abs=0.11)
    if n_classes == 2:
        assert set(rules) == set(medmnist.BINARY_RULES) and 0 <= recipe["threshold"] <= 1
        assert 0 <= kit["threshold"] <= 1 and article["threshold"] == 0.5
    else:
        assert set(rules) == set(medmnist.MULTICLASS_RULES)
        assert recipe["threshold"] is None and kit["threshold"] is None and article["threshold"] is None  # argmax
    differences = rows[3]
    for name in ("improved_cnn", "seed_cnn"):
        for figure, key in (("auc", "test_auc"), ("acc", "test_acc")):
            d = differences[f"{figure}_minus_{name}"]
            assert d["estimate"] == pytest.approx(recipe[key] - rows[1 if name == "improved_cnn" else 2][key], abs=1e-4)
            assert -1 <= d["ci95"][0] <= d["ci95"][1] <= 1


def test_medmnist_benchmark_only_trains_the_named_models(tiny_medmnist, capsys):
    medmnist = load_benchmark("medmnist")
    status, lines = run_main(medmnist, ["--data", str(tiny_medmnist), "--only", "seed_cnn", "--n-boot", "20"], capsys)
    assert status == 0
    rows = json_lines(lines)
    assert [row["model"] for row in rows] == ["seed_cnn"] and rows[0]["n_boot"] == 20


def test_medmnist_val_only_prints_no_test_figure(tiny_medmnist, capsys):
    medmnist = load_benchmark("medmnist")
    status, lines = run_main(medmnist, ["--data", str(tiny_medmnist), "--only", "recipe", "--val-only",
                                        "--members", "1", "--epochs", "2", "--snapshots", "1", "--fixed-epochs",
                                        "--budget", "1000", "--reserve", "0"], capsys)
    assert status == 0
    (row,) = json_lines(lines)
    assert len(lines) == 1 and row["epochs_run"] == [2] and row["settings"]["scale_epochs"] is False
    assert not [key for key in row if key.startswith("test") or key.startswith("diagnostic")], sorted(row)
    assert_auc(row["val_auc"], "val_auc")
    with pytest.raises(SystemExit):
        medmnist.main(["--data", str(tiny_medmnist), "--val-only"])  # the baselines would print test figures
    assert "--val-only" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["binary", "five_classes_grey"])
def test_medmnist_recipe_trains_with_mixup_label_smoothing_and_crops(kind, tiny_medmnist, tmp_path, capsys):
    medmnist = load_benchmark("medmnist")
    path = tiny_medmnist if kind == "binary" else write_multiclass_medmnist(tmp_path / "five.npz", 5, False)
    common = ["--data", str(path), "--only", "recipe", "--val-only", "--members", "1", "--epochs", "2",
              "--snapshots", "1", "--fixed-epochs", "--budget", "1000", "--reserve", "0", "--tta-shift", "0"]
    rows = {}
    for name, extra in (("plain", ["--crop", "0"]), ("mixup", ["--crop", "0", "--mixup", "0.2"]),
                        ("smooth", ["--crop", "0", "--label-smoothing", "0.1"]), ("crop", [])):
        status, lines = run_main(medmnist, common + extra, capsys)
        assert status == 0
        (rows[name],) = json_lines(lines)
    assert rows["plain"]["settings"]["mixup_alpha"] == 0 and rows["plain"]["settings"]["label_smoothing"] == 0
    assert rows["mixup"]["settings"]["mixup_alpha"] == 0.2 and rows["smooth"]["settings"]["label_smoothing"] == 0.1
    assert rows["crop"]["settings"]["crop_px"] == medmnist.RECIPE["crop_px"] == 2  # the default
    assert rows["plain"]["settings"]["crop_px"] == 0
    for name in ("mixup", "smooth", "crop"):  # same seed, deterministic ops: only the option differs
        assert rows[name]["epochs_run"] == [2]
        assert_auc(rows[name]["val_auc"], name)
        assert rows[name]["val_cross_entropy"] != rows["plain"]["val_cross_entropy"], name
    for flags in (["--mixup", "-1"], ["--label-smoothing", "0.5"], ["--mixup", "nan"], ["--crop", "-1"]):
        with pytest.raises(SystemExit):
            medmnist.main(common + flags)
        assert flags[0] in capsys.readouterr().err


def brute_force_oracle(y, p):
    """The best accuracy of ``p >= t`` over a threshold t at and between every score, below
    the lowest and above the highest (every cut, everyone positive and everyone negative)."""
    u = np.unique(p)
    cuts = np.concatenate([[u[0] - 1.0], u, (u[:-1] + u[1:]) / 2, [u[-1] + 1.0]])
    return max(float(np.mean((p >= t) == y)) for t in cuts)


def test_medmnist_oracle_threshold_is_the_best_accuracy_on_the_labels_given():
    medmnist = load_benchmark("medmnist")
    y = np.array([0, 0, 0, 1, 1, 1, 0, 1])
    p = np.array([0.1, 0.2, 0.3, 0.35, 0.6, 0.7, 0.8, 0.9])
    oracle = medmnist.oracle_accuracy(y, p)
    best = max(np.mean((p >= t) == y) for t in p)
    assert oracle["acc"] == best == 0.875 and np.mean((p >= oracle["threshold"]) == y) == best
    assert oracle["threshold"] == 0.35  # the highest of the best thresholds
    assert medmnist.oracle_accuracy(np.array([0, 1]), np.eye(2)) is None
    # calling everyone negative is a cut too: here it beats every threshold at a score (0.5)
    y, p = np.array([0, 0, 0, 1]), np.array([0.9, 0.1, 0.2, 0.05])
    oracle = medmnist.oracle_accuracy(y, p)
    assert oracle == {"threshold": 0.95, "acc": 0.75} and np.mean((p >= 0.95) == y) == 0.75
    assert max(np.mean((p >= t) == y) for t in p) == 0.5
    assert medmnist.oracle_accuracy(y, np.array([1.0, 0.1, 0.2, 0.05])) == {"threshold": None, "acc": 0.75}
    # and everyone positive
    oracle = medmnist.oracle_accuracy(np.array([1, 1, 1, 0]), np.array([0.9, 0.1, 0.2, 0.95]))
    assert oracle == {"threshold": 0.1, "acc": 0.75}
    # every cut, on random rankings with ties
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(2, 30))
        y = rng.permutation(np.arange(n) % 2)
        p = rng.integers(0, 6, n) / 5.0
        p = np.where(p >= 1.0, 0.99, p)
        oracle = medmnist.oracle_accuracy(y, p)
        assert oracle["acc"] == round(brute_force_oracle(y, p), 4)
        assert np.mean((p >= oracle["threshold"]) == y) == pytest.approx(oracle["acc"], abs=1e-4)


def test_medmnist_recipe_chooses_the_call_rule_on_held_out_halves_of_val():
    medmnist = load_benchmark("medmnist")
    y = np.r_[np.zeros(100, np.int64), np.ones(100, np.int64)]
    p = np.where(y == 1, 0.3, 0.1)  # separated, but 0.5 calls no positive
    prior = np.array([0.5, 0.5])
    rule, held_out = medmnist.choose_call_rule(y, p, prior, n_splits=10)
    assert held_out["0.5"] == 0.5 and held_out["prior"] == 0.5 and rule == "youden"  # tie with accuracy: simpler
    assert held_out["youden"] == held_out["accuracy"] == 1.0
    # several classes: the training prior restored (argmax of p * prior) when val has that prior too
    y3 = np.r_[np.zeros(90, np.int64), np.ones(10, np.int64)]
    p3 = np.tile([0.45, 0.55], (100, 1))  # balanced weights pushed every call to the rare class
    p3 = np.c_[p3, np.zeros(100)]
    rule, held_out = medmnist.choose_call_rule(y3, p3, np.array([0.9, 0.1, 0.0]), n_splits=5)
    assert rule == "prior" and held_out == {"argmax": 0.1, "prior": 0.9}


def test_medmnist_recipe_thresholds_and_test_time_views():
    medmnist = load_benchmark("medmnist")
    prior = np.array([0.26, 0.74])
    assert medmnist.fit_rule(None, np.array([0.1, 0.9]), "prior", prior) == 0.26  # p pi_1 = (1 - p) pi_0
    assert medmnist.fit_rule(None, np.array([0.1, 0.9]), "0.5", prior) == 0.5
    assert medmnist.fit_rule(None, np.ones((2, 3)) / 3, "argmax", prior) is None
    x = np.arange(2 * 5 * 5 * 3, dtype=np.float32).reshape(2, 5, 5, 3)
    views = medmnist.tta_views(x, 2)
    assert len(views) == 5 and all(v.shape == x.shape for v in views)
    np.testing.assert_array_equal(views[0], x)
    np.testing.assert_array_equal(views[1][:, 2:], x[:, :-2])  # moved 2 rows down
    np.testing.assert_array_equal(views[1][:, :2], np.repeat(x[:, :1], 2, axis=1))  # edge rows repeated
    np.testing.assert_array_equal(views[4][:, :, :-2], x[:, :, 2:])  # moved 2 columns left
    assert len(medmnist.tta_views(x, 0)) == 1
    y = np.array([0, 1])
    assert medmnist.cross_entropy(y, np.array([0.5, 0.5])) == pytest.approx(np.log(2))
    assert medmnist.cross_entropy(y, np.array([[0.5, 0.5], [0.2, 0.8]])) == pytest.approx(-np.mean(np.log([0.5, 0.8])))


def test_medmnist_benchmark_auc_is_medmnists_one_vs_rest_mean():
    medmnist = load_benchmark("medmnist")
    y = np.array([0, 1, 2, 2, 1, 0])
    p = np.array([[0.8, 0.1, 0.1], [0.2, 0.5, 0.3], [0.1, 0.2, 0.7], [0.3, 0.3, 0.4],
                  [0.4, 0.4, 0.2], [0.5, 0.3, 0.2]])
    from sklearn.metrics import roc_auc_score

    want = np.mean([roc_auc_score(y == k, p[:, k]) for k in range(3)])
    got = medmnist.figures(y, p, None)
    assert got["test_auc"] == round(want, 4)
    assert got["test_acc"] == round(np.mean(np.argmax(p, axis=1) == y), 4)


def test_medmnist_benchmark_refuses_multi_label_and_missing_files(tmp_path, capsys):
    medmnist = load_benchmark("medmnist")
    rng = np.random.default_rng(0)
    splits = {s: (rng.integers(0, 255, (4, 28, 28)).astype(np.uint8),
                  rng.integers(0, 2, (4, 14)).astype(np.uint8)) for s in ("train", "val", "test")}
    path = save_medmnist(tmp_path / "chest.npz", splits)
    with pytest.raises(SystemExit) as exit_info:
        medmnist.main(["--data", str(path)])
    assert exit_info.value.code == 2
    assert "multi-label" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        medmnist.main(["--data", str(tmp_path / "absent.npz")])
    assert "no such file" in capsys.readouterr().err


@pytest.mark.parametrize("flags, message", [
    (["--budget", "inf"], "--budget inf: expected finite seconds > 0"),
    (["--budget", "nan"], "--budget nan: expected finite seconds > 0"),
    (["--budget", "1e400"], "--budget inf: expected finite seconds > 0"),
    (["--budget", "5", "--reserve", "4.5"], "--reserve 4.5 and --budget 5: expected 0 <= reserve and at least 1 s"),
    (["--reserve", "nan"], "--reserve nan and --budget 120: expected 0 <= reserve"),
])
def test_medmnist_benchmark_refuses_budgets_it_cannot_keep_before_training(tiny_medmnist, capsys, flags, message):
    medmnist = load_benchmark("medmnist")
    with pytest.raises(SystemExit) as exit_info:
        medmnist.main(["--data", str(tiny_medmnist), *flags])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and message in err.strip().splitlines()[-1], err  # one line after the usage


def test_medmnist_benchmark_breaks_auc_ties_by_accuracy():
    medmnist = load_benchmark("medmnist")
    y = np.array([0, 0, 1, 1])
    ranked_badly_called = np.array([0.6, 0.7, 0.8, 0.9])  # AUC 1, accuracy 0.5 at 0.5
    ranked_well_called = np.array([0.1, 0.2, 0.8, 0.9])  # AUC 1, accuracy 1
    assert medmnist.selection_score(y, ranked_well_called) > medmnist.selection_score(y, ranked_badly_called)
    worse_auc = np.array([0.1, 0.95, 0.8, 0.9])  # AUC 0.75 loses whatever its accuracy
    assert medmnist.selection_score(y, worse_auc) < medmnist.selection_score(y, ranked_badly_called)


# ----------------------------------------------------------------------- backprop.py
def test_backprop_benchmark_reports_gradient_agreement_and_times(capsys):
    bench = load_benchmark("backprop")
    status, lines = run_main(bench, ["--sizes", "12,16", "--batch", "4", "--repeats", "1", "--json"],
                             capsys)
    assert status == 0
    rows = json_lines(lines)
    assert [r["input"] for r in rows] == ["4x12x12x1", "4x16x16x1"]
    for row in rows:
        assert row["max_relative_gradient_error"] <= 1e-5, row
        for key in ("numpy_ms", "keras_ms", "ratio", "loss_difference"):
            assert_finite(row[key], key)
        assert len(row["load"]) == 2  # the load average before and after, printed with the times


def test_backprop_benchmark_prints_a_table(capsys):
    bench = load_benchmark("backprop")
    status, lines = run_main(bench, ["--sizes", "12", "--batch", "2", "--repeats", "1"], capsys)
    assert status == 0
    assert lines[0].startswith("one training step of seed_cnn: NumPy (medlab) vs Keras")
    assert lines[2].startswith("2x12x12x1")
    assert lines[-1].startswith("largest gradient error")


# --------------------------------------------------------------------- segmentation.py
def write_disc_masks(path, n=40, size=16, with_measurements=True, seed=0):
    """Bright discs on noise with their masks; optionally pixel sizes, circumferences, subjects."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[:size, :size]
    centres = rng.uniform(5, size - 5, (n, 2))
    radii = rng.uniform(2.5, 4.5, n)
    masks = ((rows - centres[:, :1, None]) ** 2 + (cols - centres[:, 1:, None]) ** 2
             <= radii[:, None, None] ** 2).astype(np.uint8)
    images = np.clip(masks * 140 + rng.normal(60, 25, masks.shape), 0, 255).astype(np.uint8)
    arrays = {"images": images, "masks": masks}
    if with_measurements:
        pixel = rng.uniform(0.5, 2.0, n).astype(np.float32)
        arrays.update(pixel_size_mm=pixel, head_circumference_mm=(2 * np.pi * radii * pixel).astype(np.float32),
                      subject=(np.arange(n) // 2).astype(np.int16))
    np.savez(path, **arrays)
    return path


def test_segmentation_benchmark_reports_dice_iou_and_hc_per_seed_and_summary(tmp_path, capsys):
    segmentation = load_benchmark("segmentation")
    path = write_disc_masks(tmp_path / "discs.npz")
    status, lines = run_main(segmentation, ["--data", str(path), "--seeds", "2", "--epochs", "2",
                                            "--seconds", "20", "--base-filters", "2"], capsys)
    assert status == 0
    rows = json_lines(lines)
    assert len(rows) == len(lines) == 3, lines
    for seed, row in enumerate(rows[:2]):
        assert row["seed"] == seed and row["n_train"] + row["n_val"] + row["n_test"] == 40
        for key in ("val_dice", "test_dice", "test_iou", "baseline_dice"):
            assert 0 <= row[key] <= 1, (key, row)
        assert row["test_iou"] <= row["test_dice"]
        for key in ("hc_mae_mm", "hc_median_mm", "floor_hc_mae_mm", "train_seconds"):
            assert_finite(row[key], key)
            assert row[key] >= 0
        assert row["settings"]["split"] == "subject" and row["settings"]["epochs"] == 2
        assert row["settings"]["loss"] == "bce+dice" and row["epochs_run"] <= 2
    summary = rows[2]
    assert summary["seeds"] == 2
    assert summary["test_dice"] == pytest.approx(np.mean([r["test_dice"] for r in rows[:2]]), abs=1e-4)
    assert summary["test_dice_sd"] == pytest.approx(np.std([r["test_dice"] for r in rows[:2]]), abs=1e-4)


def test_segmentation_benchmark_reads_a_file_of_images_and_masks_only(tmp_path, capsys):
    segmentation = load_benchmark("segmentation")
    path = write_disc_masks(tmp_path / "plain.npz", n=24, with_measurements=False)
    status, lines = run_main(segmentation, ["--data", str(path), "--epochs", "1",
                                            "--base-filters", "2"], capsys)
    assert status == 0
    (row,) = json_lines(lines)
    assert row["settings"]["split"] == "image" and "hc_mae_mm" not in row
    assert 0 <= row["test_dice"] <= 1


def test_segmentation_benchmark_names_a_bad_file(tmp_path, capsys):
    segmentation = load_benchmark("segmentation")
    np.savez(tmp_path / "nomasks.npz", images=np.zeros((4, 8, 8), np.uint8))
    with pytest.raises(SystemExit) as exit_info:
        segmentation.main(["--data", str(tmp_path / "nomasks.npz")])
    assert exit_info.value.code == 2
    assert "nomasks.npz: missing key 'masks'" in capsys.readouterr().err


def test_segmentation_benchmark_chooses_and_compares_with_the_plain_unet(tmp_path, capsys):
    segmentation = load_benchmark("segmentation")
    path = write_disc_masks(tmp_path / "discs.npz", n=30)
    status, lines = run_main(segmentation, ["--data", str(path), "--seconds", "0", "--epochs", "8",
                                            "--base-filters", "2", "--choose", "--plain",
                                            "--measure", "contour"], capsys)
    assert status == 0
    (row,) = json_lines(lines)
    assert row["settings"]["time_budget_s"] is None and row["settings"]["choose"] is True
    assert row["settings"]["measure"] == "contour"
    assert len(row["candidate_val_dice"]) == 3 and isinstance(row["chosen"], dict)
    assert row["plain_epochs_run"] == 8 and 0 <= row["plain_test_dice"] <= 1
    assert row["recipe_minus_plain_test_dice"] == pytest.approx(row["test_dice"] - row["plain_test_dice"], abs=2e-4)
    for key in ("val_hc_mae_mm", "plain_hc_mae_mm", "floor_hc_mae_mm", "load_1min"):
        assert_finite(row[key], key)


def test_segmentation_benchmark_chooses_the_outline_level_on_validation_and_prints_the_diagnosis(tmp_path, capsys):
    segmentation = load_benchmark("segmentation")
    path = write_disc_masks(tmp_path / "discs.npz", n=30)
    status = segmentation.main(["--data", str(path), "--seconds", "0", "--epochs", "3", "--base-filters", "2",
                                "--level", "choose", "--seeds", "2"])
    captured = capsys.readouterr()
    assert status == 0
    row, _, summary = json_lines(captured.out.splitlines())
    from medlab.segmentation import LEVELS
    assert summary["seeds"] == 2 and "level05_hc_mae_mm" in summary and "hc_signed_mm" in summary
    assert row["settings"]["level"] == "choose" and row["chosen_level"] in LEVELS
    assert row["hc_level"] == row["chosen_level"] and len(row["level_val_hc_mae_mm"]) == len(LEVELS)
    assert row["val_hc_mae_mm"] == pytest.approx(min(row["level_val_hc_mae_mm"]), abs=1e-4)
    for key in ("hc_signed_mm", "val_hc_signed_mm"):
        assert_finite(row[key], key)
    for key in ("hc_share_over_5mm", "val_hc_share_over_5mm", "hc_over_5mm_part"):
        assert 0 <= row[key] <= 1, (key, row)
    for key in ("val_masks_multi_region", "val_masks_with_holes", "val_masks_at_edge"):
        assert 0 <= row[key] <= row["n_val"], (key, row)
    # the same network at the recipe's 0.5, beside (also when the choice fell on 0.5: pairs for the verdict)
    assert row["level05_val_hc_mae_mm"] >= row["val_hc_mae_mm"] - 1e-4
    assert_finite(row["level05_hc_mae_mm"], "level05_hc_mae_mm")
    err = captured.err
    assert "signed" in err and "over 5 mm" in err and "outline level" in err and "chosen by validation" in err
    assert "outline level choose vs level 0.5, test HC error (mm): " in err
    # the seeds' mean level is no seed's choice: the summary lists each seed's instead
    (mean_line,) = [line for line in err.splitlines() if line.startswith("mean of 2 seeds: ")]
    levels = ", ".join(format(r["chosen_level"]) for r in (row, json_lines(captured.out.splitlines())[1]))
    assert f"outline levels chosen by validation HC error, seed by seed: {levels}" in mean_line
    assert "outline level " not in mean_line.replace("outline levels chosen", "")
    for bad in ("1.5", "half"):
        with pytest.raises(SystemExit) as exit_info:
            segmentation.main(["--data", str(path), "--level", bad])
        assert exit_info.value.code == 2 and "--level must be a number in (0, 1) or 'choose'" in capsys.readouterr().err


@pytest.mark.parametrize("level", ["choose", "0.3"])
def test_segmentation_benchmark_refuses_a_level_for_a_file_without_head_circumferences(tmp_path, capsys, level):
    segmentation = load_benchmark("segmentation")
    path = write_disc_masks(tmp_path / "plain.npz", n=24, with_measurements=False)
    with pytest.raises(SystemExit) as exit_info:  # refused before any training, not silently ignored
        segmentation.main(["--data", str(path), "--level", level])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and f"--level {level}" in err and "head_circumference_mm" in err


def test_segmentation_benchmark_refuses_a_split_by_two_subjects(tmp_path, capsys):
    segmentation = load_benchmark("segmentation")
    path = write_disc_masks(tmp_path / "two.npz", n=8)
    data = dict(np.load(path))
    np.savez(path, **{**data, "subject": (np.arange(8) // 4).astype(np.int16)})
    with pytest.raises(SystemExit) as exit_info:
        segmentation.main(["--data", str(path)])
    assert exit_info.value.code == 2
    message = "2 subject(s); a split by subject into train, validation and test needs at least 3"
    assert message in capsys.readouterr().err


def test_segmentation_benchmark_trains_on_sub_pixel_targets_and_measures_by_moments(tmp_path, capsys):
    segmentation = load_benchmark("segmentation")
    path = write_disc_masks(tmp_path / "discs.npz", n=30)
    status, lines = run_main(segmentation, ["--data", str(path), "--seconds", "0", "--epochs", "2",
                                            "--base-filters", "2", "--targets", "area", "--measure", "moments"],
                             capsys)
    assert status == 0
    (row,) = json_lines(lines)
    assert row["settings"]["targets"] == "area" and row["settings"]["measure"] == "moments"
    assert row["epochs_run"] == 2 and 0 <= row["val_dice"] <= 1
    for key in ("hc_mae_mm", "val_hc_mae_mm", "floor_hc_mae_mm", "hc_correction"):
        assert_finite(row[key], key)
    with pytest.raises(SystemExit) as exit_info:
        segmentation.main(["--data", str(path), "--targets", "blur"])
    assert exit_info.value.code == 2 and "--targets" in capsys.readouterr().err


def test_segmentation_targets_benchmark_measures_validation_only_and_pairs_the_kinds(tmp_path, capsys, monkeypatch):
    bench = load_benchmark("segmentation_targets")
    path = write_disc_masks(tmp_path / "discs.npz", n=30)
    predicted = []
    probabilities = bench.segmentation._probabilities
    monkeypatch.setattr(bench.segmentation, "_probabilities",
                        lambda model, images, settings: predicted.append(len(images)) or probabilities(
                            model, images, settings))
    status = bench.main(["--data", str(path), "--seeds", "2", "--epochs", "1", "--base-filters", "2",
                         "--targets", "mask", "area"])
    captured = capsys.readouterr()
    assert status == 0
    rows = json_lines(captured.out.splitlines())
    assert [(r["seed"], r["targets"]) for r in rows] == [(0, "mask"), (0, "area"), (1, "mask"), (1, "area")]
    from medlab.segmentation import split_masks
    n_val = [len(split_masks(bench.load_masks(path), seed)[1]) for seed in (0, 0, 1, 1)]
    assert predicted == n_val  # only the validation examinations are ever predicted
    for row in rows:
        assert row["epochs_run"] == 1 and 0 <= row["val_dice"] <= 1
        for measure in ("mask", "contour", "moments"):
            assert_finite(row[f"{measure}_hc_mae_mm"], measure)
            assert row[f"{measure}_chosen_hc_mae_mm"] <= row[f"{measure}_hc_mae_mm"] + 1e-4
    verdicts = [line for line in captured.err.splitlines() if line.startswith("area targets vs mask targets")]
    assert len(verdicts) == 3 and all("validation HC error" in line for line in verdicts)


@pytest.mark.parametrize("flags, message", [
    (["--targets", "mask", "mask"], "--targets mask mask: expected distinct kinds"),
    (["--base-filters", "0"], "--base-filters 0: expected an integer >= 1"),
])
def test_segmentation_targets_benchmark_refuses_bad_flags_before_training(tmp_path, capsys, monkeypatch,
                                                                          flags, message):
    bench = load_benchmark("segmentation_targets")
    monkeypatch.setattr(bench, "validation_figures", lambda *a: pytest.fail("trained with a bad flag"))
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--data", str(write_disc_masks(tmp_path / "discs.npz", n=30)), *flags])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_hippocampus_slices_script_writes_a_mask_file_by_volume(tmp_path, capsys):
    from medlab.data import load_masks

    script = load_benchmark("hippocampus_slices")
    out = tmp_path / "slices.npz"
    status, lines = run_main(script, [str(out), "--volumes", "3"], capsys)
    assert status == 0 and lines == [f"{out}: {load_masks(out).describe()}"]
    data = load_masks(out)
    assert len(np.unique(data.subject)) == 3 and data.images.shape[1:] == (56, 40)
    with pytest.raises(SystemExit) as exit_info:  # an existing file is kept unless --overwrite
        script.main([str(out)])
    assert exit_info.value.code == 2 and "overwrite" in capsys.readouterr().err


def test_speed_benchmark_prints_both_networks_per_size_and_thread_count(capsys):
    speed_benchmark = load_benchmark("speed")
    status, lines = run_main(speed_benchmark, ["--sizes", "12", "--threads", "1", "--steps", "1", "--warmup", "1",
                                               "--batch", "4", "--timeout", "600"], capsys)
    assert status == 0
    assert lines[1].split()[:3] == ["network", "input", "threads"]
    rows = [line.split() for line in lines[2:]]
    assert [r[0] for r in rows] == ["seed_cnn", "small_cnn"]
    assert all(r[1:4] == ["12", "x", "12"] and r[4] == "1" for r in rows)
    assert rows[0][-1] == "1.0x"  # the baseline against itself
    assert int(rows[1][5]) == speed_benchmark.build("small_cnn", 12).count_params()
    assert_finite(float(rows[1][7]), "images/s")


# ---------------------------------------------------------------------------- grading.py
def test_grading_benchmark_grades_its_class(capsys):
    grading_bench = load_benchmark("grading")
    status, lines = run_main(grading_bench, ["--students", "2", "--jobs", "1", "--json"], capsys)
    assert status == 0
    (result,) = json_lines(lines)
    assert (result["students"], result["rows"], result["jobs"]) == (2, 6, 1)
    assert result["mean_points"] == 2.57  # one right (3 points), one flipped kernel (1/7 + 1 + 1)
    assert_finite(result["seconds"], "seconds")


# --------------------------------------------------------------------- segmentation3d.py
def write_blob_volumes(path, counts=(3, 2, 2), shape=(10, 12, 9), seed=0):
    """Bright two-part ellipsoids on noise, labelled 1 (front half) and 2 (back half), in the
    hippocampus file's keys; sides not divisible by 8, so the benchmark has to pad."""
    rng = np.random.default_rng(seed)
    arrays = {"spacing_mm": np.array([1.0, 1.2, 0.8])}
    grid = np.indices(shape)
    for split, n in zip(("train", "val", "test"), counts):
        centres = rng.uniform(3.5, np.array(shape) - 3.5, (n, 3))
        masks = np.zeros((n, *shape), np.uint8)
        for i, c in enumerate(centres):
            inside = sum(((g - ci) / r) ** 2 for g, ci, r in zip(grid, c, (3.0, 3.5, 2.5))) <= 1
            masks[i][inside] = np.where(grid[1][inside] < c[1], 2, 1)
        arrays[f"{split}_images"] = np.clip((masks > 0) * 120 + rng.normal(60, 20, masks.shape), 0, 255).astype(np.uint8)
        arrays[f"{split}_masks"] = masks
    np.savez(path, **arrays)
    return path


def test_segmentation3d_benchmark_reports_3d_and_2d_figures_per_seed_and_summary(tmp_path, capsys):
    bench = load_benchmark("segmentation3d")
    path = write_blob_volumes(tmp_path / "blobs.npz")
    status, lines = run_main(bench, ["--data", str(path), "--seeds", "2", "--epochs", "1", "--seconds", "30",
                                     "--base-filters", "2"], capsys)
    assert status == 0
    rows = json_lines(lines)
    assert len(rows) == len(lines) == 3, lines
    for seed, row in enumerate(rows[:2]):
        assert row["seed"] == seed and (row["n_train"], row["n_val"], row["n_test"]) == (3, 2, 2)
        for prefix in ("", "2d_"):
            for key in ("test_dice_anterior", "test_dice_posterior", "test_dice_mean", "test_dice_whole"):
                assert 0 <= row[prefix + key] <= 1, (prefix + key, row)
            for key in ("volume_error_pct", "train_seconds"):
                assert_finite(row[prefix + key], prefix + key)
            assert row[prefix + "hd95_mm"] >= 0 or row[prefix + "hd95_undefined"] == 4
        assert row["settings"]["3d"]["epochs"] == 1 and row["settings"]["2d"]["base_filters"] == 2
    summary = rows[2]
    assert summary["seeds"] == 2
    assert summary["test_dice_mean"] == pytest.approx(np.mean([r["test_dice_mean"] for r in rows[:2]]), abs=1e-4)
    assert summary["2d_test_dice_mean"] == pytest.approx(np.mean([r["2d_test_dice_mean"] for r in rows[:2]]), abs=1e-4)


def test_segmentation3d_benchmark_names_a_bad_file(tmp_path, capsys):
    bench = load_benchmark("segmentation3d")
    np.savez(tmp_path / "noval.npz", train_images=np.zeros((2, 8, 8, 8), np.uint8))
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--data", str(tmp_path / "noval.npz")])
    assert exit_info.value.code == 2
    assert "noval.npz: no key" in capsys.readouterr().err
