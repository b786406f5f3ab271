"""The lesson library's layout: what imports TensorFlow, what is used, what imports what.

- Every module that does not build or train a Keras model imports without TensorFlow
  (``import medlab.metrics`` in a fresh process leaves ``tensorflow`` out of ``sys.modules``):
  the modules are discovered; only :data:`NEEDS_KERAS` is left out.
- Every public function and class of the lesson library (``medlab/`` except the course
  tooling ``course/`` and the exercise checks ``checks/``) is used somewhere: by a lesson
  (``notebooks/NN_*.ipynb``), a benchmark, ``tools/`` or another medlab module; or named with
  its full dotted path (``medlab.denoise.NoisyPairs``) in a lesson's text or a README. A class
  counts as used when a used function or class of its module returns it (return annotation,
  or the "Returns" section of the docstring) or when it is the base class of a used class.
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
    "medlab.models", "medlab.pretraining", "medlab.segmentation", "medlab.training", "medlab.trust",
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
    """Top-level public functions and classes defined in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if not node.name.startswith("_"):
                yield node.name


def _returns_section(docstring):
    """The text of a NumPy-style docstring's "Returns" section ('' if it has none)."""
    match = re.search(r"^[ \t]*Returns\n[ \t]*-+\n(.*?)(?=^[ \t]*\w[\w ]*\n[ \t]*-+\n|\Z)",
                      docstring or "", re.M | re.S)
    return match.group(1) if match else ""


def _met_through(path):
    """{class name: names of the top-level functions/classes of ``path`` that hand it to the reader}.

    A class is met through a function (or a method of a class) that returns it, by its return
    annotation or its docstring's "Returns" section, and through each class derived from it.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    met = {name: set() for name in classes}
    for top in tree.body:
        if isinstance(top, ast.ClassDef):
            for base in top.bases:
                if isinstance(base, ast.Name) and base.id in met:
                    met[base.id].add(top.name)
        if not isinstance(top, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for node in ast.walk(top):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            said = _returns_section(ast.get_docstring(node))
            if node.returns is not None:
                said += " " + ast.unparse(node.returns)
            for name in met:
                if name != top.name and re.search(rf"\b{name}\b", said):
                    met[name].add(top.name)
    return met


def _notebook_cells(path, kind):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == kind)


def test_every_public_name_of_the_lesson_library_is_used():
    modules = _modules()
    sources = {name: path.read_text(encoding="utf-8") for name, path in modules.items()}
    lessons = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    outside = [_notebook_cells(path, "code") for path in lessons]
    outside += [path.read_text(encoding="utf-8") for folder in ("benchmarks", "tools")
                for path in sorted((ROOT / folder).glob("*.py"))]
    texts = [_notebook_cells(path, "markdown") for path in lessons]
    texts += [path.read_text(encoding="utf-8") for path in sorted(ROOT.glob("*.md")) + sorted(ROOT.glob("*/*.md"))
              if "exercises" not in path.parts]
    unused = []
    for module, path in modules.items():
        parts = module.split(".")
        if len(parts) < 2 or parts[1] in ("course", "checks") or parts[-1].startswith("_"):
            continue
        elsewhere = [text for other, text in sources.items() if other != module]

        def used(name):
            word = re.compile(rf"\b{re.escape(name)}\b")
            dotted = re.compile(rf"\b{re.escape(module)}\.{re.escape(name)}\b")
            return (f"{module}.{name}" in UNUSED_ON_PURPOSE or any(word.search(text) for text in outside + elsewhere)
                    or any(dotted.search(text) for text in texts))

        names = list(_public_names(path))
        found = {name for name in names if used(name)}
        met = _met_through(path)
        while True:  # a class met through a used function or class is used too (to a fixed point)
            more = {name for name in names if name not in found and met.get(name, set()) & found}
            if not more:
                break
            found |= more
        unused += [f"{module}.{name}" for name in names if name not in found]
    assert not unused, ("public names that no lesson, benchmark, tool or other medlab module uses "
                        f"(make them private, remove them, or list them in UNUSED_ON_PURPOSE): {unused}")


def test_a_class_is_met_through_what_returns_it_or_derives_from_it(tmp_path):
    module = tmp_path / "m.py"
    module.write_text('''
class Result:
    pass


class Base:
    pass


class Child(Base):
    def run(self) -> "Result | None":
        pass


class Alone:
    pass


def make():
    """Make one.

    Returns
    -------
    list of Alone
        Each one.

    Notes
    -----
    Result is named here, outside "Returns".
    """
''')
    assert _met_through(module) == {"Result": {"Child"}, "Base": {"Child"}, "Child": set(), "Alone": {"make"}}


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
