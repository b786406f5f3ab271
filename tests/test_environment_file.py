"""environment.yml (the conda route) stays in step with pyproject.toml."""

import re
import tomllib
from pathlib import Path

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
