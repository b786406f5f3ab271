"""The lesson library's layout: what imports TensorFlow, what is used, what imports what.

- Every module that does not build or train a Keras model imports without TensorFlow
  (``import medlab.metrics`` in a fresh process leaves ``tensorflow`` out of ``sys.modules``):
  the modules are discovered; only :data:`NEEDS_KERAS` is left out.
- Every public function and class of the lesson library (``medlab/`` except the course
  tooling ``course/`` and the exercise checks ``checks/``) is used somewhere: by a lesson
  (``notebooks/NN_*.ipynb``), a benchmark, ``tools/`` or another medlab module.
- No import cycle among medlab's modules, counting imports inside functions too.

These are textual checks of the source (``ast``), so they are fast and import nothing but the
modules of the first check.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "medlab"

#: Modules that import TensorFlow by design: they build, train or explain Keras models (and
#: ``_tensorflow``, which imports it quietly for ``medlab.tf``/``medlab.keras``).
NEEDS_KERAS = {
    "medlab._tensorflow", "medlab.anomaly", "medlab.denoise", "medlab.experiments", "medlab.gradcam",
    "medlab.models", "medlab.pretraining", "medlab.segmentation", "medlab.training",
    # the engine's Keras side: callbacks subclass keras.callbacks.Callback, losses are Keras ops
    "medlab.engine.callbacks", "medlab.engine.fit", "medlab.engine.losses", "medlab.engine.schedules",
}

#: Public names kept although nothing in the course uses them, and why (keep this short).
UNUSED_ON_PURPOSE = {
    "medlab.validate.CLOSED": "documents the values Interval(closed=...) takes",
}


def _module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules():
    """{dotted name: path} of every module of the medlab package."""
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


# ------------------------------------------------------------------ no TensorFlow
IMPORT_ONE_BY_ONE = """
import importlib, json, sys
for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
    if "tensorflow" in sys.modules or "keras" in sys.modules:
        print(json.dumps(name))
        break
else:
    print(json.dumps(None))
"""


def tensorflow_importers(names):
    """The modules among ``names`` whose import brings TensorFlow (or Keras) in: each found by
    importing them in order in a fresh process, then again without the culprits found so far."""
    culprits, left = [], list(names)
    while left:
        result = subprocess.run([sys.executable, "-c", IMPORT_ONE_BY_ONE, json.dumps(left)], cwd=ROOT,
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        culprit = json.loads(result.stdout.strip().splitlines()[-1])
        if culprit is None:
            break
        culprits.append(culprit)
        left = left[left.index(culprit) + 1:]
    return culprits


def test_modules_without_keras_import_without_tensorflow():
    light = sorted(name for name in _modules() if name not in NEEDS_KERAS and name != "medlab.__main__")
    for wanted in ("medlab.ops", "medlab.backprop", "medlab.numpy_training", "medlab.metrics",
                   "medlab.evidence", "medlab.data", "medlab.checks", "medlab.course", "medlab.validate",
                   "medlab.params", "medlab.files", "medlab.verify", "medlab.kernels", "medlab.imaging",
                   "medlab.noise", "medlab.optimizers"):
        assert any(name == wanted or name.startswith(wanted + ".") for name in light), wanted
    culprits = tensorflow_importers(light)
    assert not culprits, (f"importing {culprits} imports TensorFlow: import it inside the functions "
                          "that need it, or add the module to NEEDS_KERAS if it is about Keras models")


# ------------------------------------------------------------------ every public name is used
def _public_names(path):
    """Top-level public functions and classes defined in ``path`` (plus ALL_CAPS constants)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if not node.name.startswith("_"):
                yield node.name


def _notebook_code(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")


def test_every_public_name_of_the_lesson_library_is_used():
    modules = _modules()
    sources = {name: path.read_text(encoding="utf-8") for name, path in modules.items()}
    outside = [_notebook_code(path) for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))]
    outside += [path.read_text(encoding="utf-8") for folder in ("benchmarks", "tools")
                for path in sorted((ROOT / folder).glob("*.py"))]
    unused = []
    for module, path in modules.items():
        parts = module.split(".")
        if len(parts) < 2 or parts[1] in ("course", "checks") or parts[-1].startswith("_"):
            continue
        for name in _public_names(path):
            if f"{module}.{name}" in UNUSED_ON_PURPOSE:
                continue
            word = re.compile(rf"\b{re.escape(name)}\b")
            elsewhere = [text for other, text in sources.items() if other != module]
            if not any(word.search(text) for text in outside + elsewhere):
                unused.append(f"{module}.{name}")
    assert not unused, ("public names that no lesson, benchmark, tool or other medlab module uses "
                        f"(make them private, remove them, or list them in UNUSED_ON_PURPOSE): {unused}")


# ------------------------------------------------------------------ no import cycles
def _imports(module, path, known):
    """The medlab modules that ``module`` imports anywhere in its source (functions too)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                     for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:  # a name inside a module: the module
                name = name.rpartition(".")[0]
            if name and name != "medlab" and name != module:
                found.add(name)
    return found


def import_cycles():
    """Each import cycle among medlab's modules, as a sorted list of module names."""
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(node):  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_the_cycle_finder_sees_imports_inside_functions(tmp_path, monkeypatch):
    package = tmp_path / "medlab"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from medlab import b\n")
    (package / "b.py").write_text("def f():\n    from medlab.a import g\n")
    (package / "c.py").write_text("import medlab.a\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", package)
    assert import_cycles() == [["medlab.a", "medlab.b"]]


def test_no_import_cycles_among_medlab_modules():
    assert import_cycles() == []
