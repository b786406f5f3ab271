"""The stored outputs of every lesson that trains a network hold under another math back-end.

Strict nbval compares what a lesson prints; a trained network's figures differ between CPUs, so
lessons compare facts and claims with margins (medlab.verify). This re-runs each training
lesson (through its student notebook where it has one, see tools/portability.py) in a fresh
pytest process with oneDNN off or limited to AVX2, so a figure that depends on the machine is
caught where it is added. The full matrix: ``python tools/portability.py`` (CONTRIBUTING.md).
"""

from pathlib import Path

import portability  # tools/portability.py (the root conftest.py puts tools/ on the path)
import pytest

ROOT = Path(__file__).resolve().parents[1]
JOBS = portability.quick_jobs()


def test_every_training_lesson_is_checked():
    lessons = portability.training_lessons()
    assert {p.stem for p in lessons} >= {"06_how_w_is_learned", "07_training_a_classifier",
                                         "08_clinical_evaluation", "10_autoencoder",
                                         "11_anomaly_and_pretraining", "14_faq_training",
                                         "15_faq_generalisation", "09_trustworthy_predictions",
                                         "13_volumes_3d"}
    checked = {p.name for notebooks in JOBS.values() for p in notebooks}
    assert checked == {p.name for p in lessons}


def test_training_code_is_recognised():
    for code in ("model.fit(x, y)", "fit_classifier(m, x)", "train_denoiser(d, x)", "experiments.Runner(d)",
                 "numpy_training.train_keras(m, w, x, y, o, b)", "segmentation.compare_losses(x, y, t, m)",
                 "segmentation.train_segmenter(m, x, y)"):
        assert portability.TRAINS.search(code), code
    assert not portability.TRAINS.search("medlab.ops.conv2d(x, w)")


@pytest.mark.parametrize("name", list(JOBS))
def test_stored_outputs_hold_under_another_math_backend(name):
    config, notebooks = portability.CONFIGS[name], JOBS[name]
    # about 90 s per configuration on an idle machine: the limit leaves room for a loaded one
    passed, seconds, tail = portability.run(config, notebooks, timeout=3600)
    names = ", ".join(p.relative_to(ROOT).as_posix() for p in notebooks)
    assert passed, f"strict nbval under {config.name} ({config.env or 'cpus=' + str(config.cpus)}) failed " \
                   f"for {names}:\n{tail}"
