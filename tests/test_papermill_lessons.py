"""Every lesson runs under papermill with small non-default parameters, and refuses a bad one.

Each lesson is run twice, at the same time, through ``medlab.course.runs.run_notebook`` (papermill
in a fresh process, working directory the notebook's folder): once with small settings that
differ from its defaults (so the run is quick and the parameters really travel), once with
one bad value, which must stop the run in the cell after ``parameters`` with a message
naming the parameter. Budget for this module: under 90 s on 2 cores.

A lesson without an entry in ``SETTINGS`` is skipped with a reminder to add one.
"""

import ast
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from medlab.course import runs

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "notebooks").glob(runs.NOTEBOOK_GLOB))

#: lesson stem -> (small good parameters, (bad name, bad value, expected message regex))
SETTINGS = {
    "00_course_map": ({"show_versions": False},
                      ("show_versions", "yes", r"parameter 'show_versions' = 'yes' \(str\): "
                                               r"expected True or False")),
    "01_medical_images": ({"n_images": 4, "seed": 1, "window_name": "bone"},
                          ("window_name", "liver", r"parameter 'window_name' = 'liver' \(str\): "
                                                   r"expected one of 'lung', ")),
    "02_convolution": ({"kernel_size": 3, "kernel_kind": "sobel_x", "stride": 2, "seed": 1},
                       ("kernel_size", 4, r"parameter 'kernel_size' = 4 \(int\): "
                                          r"expected an odd integer")),
    "03_pooling": ({"pool_size": 3, "shift": 2, "seed": 1},
                   ("pool_size", 9, r"parameter 'pool_size' = 9 \(int\): "
                                    r"expected an integer in \[1, 8\]")),
    "04_dense_layers": ({"units": 8, "n_images": 2, "image_size": 16, "seed": 1},
                        ("units", 0, r"parameter 'units' = 0 \(int\): "
                                     r"expected an integer in \[1, 4096\]")),
    # kernel 7 needs images of at least 3 * 7 + 1 = 22 pixels: the rule that depends on another
    "05_cnn_formula": ({"image_size": 24, "channels": 1, "kernel_size": 5, "seed": 1},
                       ("image_size", 20, r"parameter 'image_size' = 20 \(int\): "
                                          r"expected an integer in \[22, 512\]")),
    "06_how_w_is_learned": ({"steps": 6, "batch_size": 8, "image_size": 16, "seed": 1},
                            ("momentum", 1.0, r"parameter 'momentum' = 1.0 \(float\): "
                                              r"expected a number in \[0.0, 1.0\)")),
    "07_training_a_classifier": ({"epochs": 1, "image_size": 16, "model": "seed", "batch_size": 64,
                                  "max_train": 200, "seed": 1},
                                 ("model", "resnet", r"parameter 'model' = 'resnet' \(str\): "
                                                     r"expected one of 'seed', 'improved'")),
    "08_clinical_evaluation": ({"epochs": 1, "image_size": 16, "model": "seed", "batch_size": 64,
                                "max_train": 200, "n_boot": 100, "seed": 1},
                               ("n_boot", 10, r"parameter 'n_boot' = 10 \(int\): "
                                              r"expected an integer in \[100, 20000\]")),
    "09_trustworthy_predictions": ({"max_train": 200, "epochs": 1, "small_subset": 40, "mc_samples": 5,
                                    "tta_copies": 5, "refer": 0.3, "n_ood": 10, "n_boot": 100, "seed": 1},
                                   ("members", 2, r"parameter 'members' = 2 \(int\): "
                                                  r"expected an integer in \[5, 20\]")),
    "10_autoencoder": ({"dataset": "synthetic", "noise": "poisson", "epochs": 1, "image_size": 16,
                        "latent_dim": 8, "seed": 1},
                       ("noise", "speckle", r"parameter 'noise' = 'speckle' \(str\): "
                                            r"expected one of 'gaussian', 'poisson', 'salt_and_pepper'")),
    "11_anomaly_and_pretraining": ({"dataset": "synthetic", "epochs": 1, "image_size": 16, "latent_dim": 8,
                                    "pretrain_steps": 10, "seed": 1},
                                   ("pretrain_grid", "huge", r"parameter 'pretrain_grid' = 'huge' \(str\): "
                                                             r"expected one of 'small', 'full'")),
    "12_segmentation": ({"epochs": 1, "max_train": 50, "compare_seeds": 1, "loss": "dice", "seed": 1},
                        ("loss", "focal", r"parameter 'loss' = 'focal' \(str\): "
                                          r"expected one of 'bce', 'dice', 'bce\+dice'")),
    "14_faq_training": ({"epochs": 1, "image_size": 20, "n_images": 100, "seed": 1},
                        ("seeds", 2, r"parameter 'seeds' = 2 \(int\): "
                                     r"expected an integer in \[3, 20\]")),
    "15_faq_generalisation": ({"epochs": 1, "image_size": 20, "n_images": 100, "seed": 1},
                              ("n_images", 50, r"parameter 'n_images' = 50 \(int\): "
                                               r"expected an integer in \[100, 4708\]")),
    "13_volumes_3d": ({"max_train": 4, "epochs": 1, "epochs_3d": 1, "base_filters": 2, "first_seed": 1},
                      ("seeds", 2, r"parameter 'seeds' = 2 \(int\): expected an integer in \[3, 10\]")),
}
BAD_EXTRA = {"05_cnn_formula": {"kernel_size": 7}}


def _ids(path):
    return path.stem


@pytest.mark.parametrize("path", LESSONS, ids=_ids)
def test_help_notebook_documents_every_parameter(path):
    """``papermill --help-notebook`` shows a type and a help text for each parameter."""
    found = runs.notebook_parameters(path)
    assert found, f"{path.name}: papermill finds no parameters"
    for name, parameter in found.items():
        assert parameter["inferred_type_name"] not in (None, "None"), f"{path.name}: {name} has no type"
        assert parameter["help"].strip(), f"{path.name}: {name} has no help comment"


@pytest.mark.parametrize("path", LESSONS, ids=_ids)
def test_check_call_covers_every_parameter(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    index = next(i for i, c in enumerate(code) if "parameters" in c.metadata.get("tags", []))
    following = code[index + 1].source
    for name in runs.notebook_parameters(path):
        assert re.search(rf"\b{name}={name}\b", following), f"{path.name}: {name} is not checked"


#: Seconds a cell may run: the slowest takes about 10 s here on an idle machine, and these
#: runs expect success, so the limit is far above what a loaded machine needs (120 s was
#: not). papermill's client could, rarely and under load, wait for a reply the kernel had
#: already sent (nteract/papermill#711, jupyter/jupyter_client#922; medlab's client now waits
#: in bounded slices); a run that ends with a timeout is still tried once more.
CELL_TIMEOUT = 600


def _attempt(job):
    path, parameters, output = job
    try:
        return runs.run_notebook(path, parameters, output, timeout=CELL_TIMEOUT)
    except runs.RunFailed as exc:
        if exc.ename not in ("CellTimeoutError", "TimeoutError"):
            return exc
    retry = output.with_name(output.name.replace(".ipynb", ".retry.ipynb"))
    try:
        return runs.run_notebook(path, parameters, retry, timeout=CELL_TIMEOUT)
    except runs.RunFailed as exc:
        return exc


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Every good and bad run of every lesson, two at a time: (stem, kind) -> outcome."""
    folder = tmp_path_factory.mktemp("lessons")
    jobs = {}
    for path in LESSONS:
        if path.stem in SETTINGS:
            good, (bad_name, bad_value, _) = SETTINGS[path.stem]
            bad = {**good, **BAD_EXTRA.get(path.stem, {}), bad_name: bad_value}
            jobs[path.stem, "good"] = (path, good, folder / f"{path.stem}.good.ipynb")
            jobs[path.stem, "bad"] = (path, bad, folder / f"{path.stem}.bad.ipynb")
    order = sorted(jobs, key=lambda key: key[1] == "bad")  # the long good runs first
    with ThreadPoolExecutor(2) as pool:
        return dict(zip(order, pool.map(_attempt, [jobs[key] for key in order])))


@pytest.mark.parametrize("path", LESSONS, ids=_ids)
def test_lesson_runs_with_small_parameters(path, outcomes):
    if path.stem not in SETTINGS:
        pytest.skip(f"no small settings for {path.stem} yet: add them to SETTINGS in {__name__}")
    good = SETTINGS[path.stem][0]
    defaults = {k: ast.literal_eval(v["default"]) for k, v in runs.notebook_parameters(path).items()}
    assert all(good[k] != defaults[k] for k in good), "use values other than the defaults"
    ran = outcomes[path.stem, "good"]
    assert isinstance(ran, runs.RunResult), f"{path.name} failed with {good}: {ran}"
    assert nbformat.read(ran.output, as_version=4).metadata.papermill.parameters == good


@pytest.mark.parametrize("path", LESSONS, ids=_ids)
def test_lesson_refuses_a_bad_parameter_naming_it(path, outcomes):
    if path.stem not in SETTINGS:
        pytest.skip(f"no bad value for {path.stem} yet: add one to SETTINGS in {__name__}")
    bad_name, bad_value, message = SETTINGS[path.stem][1]
    refused = outcomes[path.stem, "bad"]
    assert isinstance(refused, runs.RunFailed), f"{path.name} accepted {bad_name}={bad_value!r}"
    assert refused.ename == "ParameterError"
    assert re.search(message, str(refused)), str(refused)
    assert "\n" not in str(refused)
    failed = nbformat.read(refused.notebook, as_version=4)
    code = [c for c in failed.cells if c.cell_type == "code"]
    stopped = next(i for i, c in enumerate(code) if any(o.output_type == "error" for o in c.outputs))
    assert "injected-parameters" in code[stopped - 1].metadata.get("tags", []), \
        "the check must stop the run in the cell right after the parameters"
    assert not refused.notebook.with_name(f"{path.stem}.bad.ipynb").exists()
