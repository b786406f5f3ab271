"""The set-up stays in step: environment.yml (the conda route) with pyproject.toml, the pins with
the Python claimed, and the JupyterLab that ``make lab`` starts with the course's settings."""

import os
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def _name(spec):
    return re.split(r"[<>=!~ ]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_names_the_same_packages_as_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    conda, pip = set(), set()
    for entry in env["dependencies"]:
        if isinstance(entry, dict):
            pip.update(_name(spec) for spec in entry["pip"])
        else:
            conda.add(_name(entry))
    assert "pip" in conda, "list pip explicitly so the pip: section works"
    assert {"tensorflow", "keras"} <= pip, "TensorFlow and Keras come from the pip: section"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = [r for group in project["optional-dependencies"].values() for r in group]
    requirements = [Requirement(r) for r in project["dependencies"] + extras]
    wanted = {r.name.lower() for r in requirements if r.marker is None or r.marker.evaluate({"python_version": "3.11"})}
    named = (conda | pip) - {"python", "pip"}
    assert named == wanted, f"only in environment.yml: {named - wanted}; only in pyproject: {wanted - named}"


def test_constraints_pin_every_direct_dependency():
    pins = {}
    for line in (ROOT / "requirements" / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for text in project["dependencies"] + [r for group in project["optional-dependencies"].values() for r in group]:
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        name = requirement.name.lower()
        assert name in pins, f"requirements/constraints.txt does not pin {name}"
        assert requirement.specifier.contains(pins[name]), f"pin {name}=={pins[name]} breaks {requirement}"


def test_python_claim_matches_the_pins_everywhere():
    """The pins (numpy 2.4, scipy, keras, ...) need Python 3.11: every file says so."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11"
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    assert "You need Python 3.11 or newer" in (ROOT / "README.md").read_text()
    assert "Only Python 3.11+ is needed" in (ROOT / "Makefile").read_text()
    for path in ("README.md", "Makefile", "pyproject.toml", "environment.yml", "CONTRIBUTING.md"):
        assert not re.search(r"3\.10\b", (ROOT / path).read_text()), f"{path} still claims 3.10"


# ------------------------------------------------------------------ make lab
NOTIFICATION = "@jupyterlab/apputils-extension:notification"


def _make_lab_command(tmp_path):
    """What ``make lab`` runs (``make -n``, set-up skipped): its environment and its options."""
    make = shutil.which("make")
    if make is None:
        pytest.skip("no make on this machine")
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "MAKE"))}
    result = subprocess.run([make, "-n", "-s", "-o", f"{venv}/.medlab-installed", "lab", f"VENV={venv}"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.replace("\\\n", " ").splitlines() if " lab " in line]
    assert len(lines) == 1, result.stdout
    words = shlex.split(lines[0])
    assignments = {}
    while re.fullmatch(r"[A-Z_]+=.*", words[0]):
        name, value = words.pop(0).split("=", 1)
        assignments[name] = value
    assert words[:2] == [f"{venv}/bin/jupyter", "lab"], words
    return assignments, words[2:]


def test_make_lab_shows_no_news_pop_up_and_fetches_nothing(tmp_path, monkeypatch):
    """No "Would you like to get notified about official Jupyter news?" over the first lesson."""
    from jupyterlab.handlers.announcements import NeverCheckForUpdate
    from jupyterlab.labapp import LabApp
    from jupyterlab_server.settings_utils import get_settings

    assignments, options = _make_lab_command(tmp_path)
    # the server, as LabApp reads the options: no news feed, no version check on the internet
    lab = LabApp()
    lab.parse_command_line([option for option in options if option.startswith("--LabApp.")])
    assert lab.news_url is None
    assert lab.check_for_updates_class is NeverCheckForUpdate
    # the page: the defaults JupyterLab's settings API serves to a student with no settings yet
    # (the pop-up shows while fetchNews is "none", the schema's own default)
    for name, value in assignments.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "home-config"))  # not this machine's ~/.jupyter
    settings, _ = get_settings(lab.app_settings_dir, lab.schemas_dir, str(tmp_path / "user-settings"),
                               NOTIFICATION, labextensions_path=lab.extra_labextensions_path + lab.labextensions_path)
    defaults = {name: spec["default"] for name, spec in settings["schema"]["properties"].items()}
    assert defaults["fetchNews"] == "false" and defaults["checkForUpdates"] is False
    assert settings["raw"] == "{}"  # nothing written in the student's own settings
