"""Notebook hygiene, checked on the committed files (as nbdev checks notebooks are clean).

After editing a notebook, re-run it with ``python tools/execute_notebooks.py NOTEBOOK``.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").rglob("*.ipynb"))
NUMBERED = [p for p in NOTEBOOKS if re.match(r"\d\d_", p.name) and p.parent.name == "notebooks"]
EXERCISES = [p for p in NOTEBOOKS if p.parent.name == "exercises"]
IGNORE_MARKERS = ("NBVAL_IGNORE_OUTPUT", "NBVAL_SKIP")
IGNORE_TAGS = ("nbval-ignore-output", "nbval-skip")
MAX_BYTES = 1_000_000


def _load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def _code_cells(nb):
    return [cell for cell in nb["cells"] if cell["cell_type"] == "code"]


def _source(cell):
    return "".join(cell["source"])


def _ignored(cell):
    tags = cell.get("metadata", {}).get("tags", [])
    return any(m in _source(cell) for m in IGNORE_MARKERS) or any(t in tags for t in IGNORE_TAGS)


def test_there_are_notebooks():
    assert (ROOT / "notebooks" / "00_course_map.ipynb") in NUMBERED


def test_nbval_gives_kernels_and_outputs_the_time_a_loaded_machine_needs(request):
    """nbval waits 60 s for a kernel to start and 5 s (fixed in nbval: computationalmodelling/
    nbval#136, #231) for each output message of a cell after its reply; a busy machine reaches
    both. pyproject.toml and conftest.py give the notebooks of the suite more."""
    from nbval.plugin import IPyNbFile

    config = request.config
    assert config.getoption("nbval_kernel_startup_timeout") >= 300
    cells = list(IPyNbFile.from_parent(request.session, path=NUMBERED[0]).collect())
    root_conftest = next(plugin for plugin in config.pluginmanager.get_plugins()
                         if getattr(plugin, "__file__", None) == str(ROOT / "conftest.py"))
    root_conftest.pytest_collection_modifyitems(items=cells)
    assert cells and all(cell.output_timeout >= 60 for cell in cells)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_is_clean(path):
    assert path.stat().st_size <= MAX_BYTES, f"{path.name} is over 1 MB: shrink its figures"
    nb = _load(path)
    assert nb["metadata"].get("kernelspec", {}).get("name") == "python3", "kernelspec must be python3"
    for key in ("widgets", "papermill", "jupytext"):
        assert key not in nb["metadata"], f"volatile notebook metadata {key!r}: run tools/execute_notebooks.py"
    first = nb["cells"][0]
    assert first["cell_type"] == "markdown" and _source(first).startswith("# "), "first cell: a title"
    assert "learning goals" in _source(first).lower(), "first cell must list the learning goals"
    for cell in nb["cells"]:
        for key in ("execution", "ExecuteTime", "papermill"):
            assert key not in cell.get("metadata", {}), f"volatile cell metadata {key!r}"


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p not in EXERCISES],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_executed_in_order_without_errors_or_stderr(path):
    cells = _code_cells(_load(path))
    counts = [cell["execution_count"] for cell in cells]
    assert counts == list(range(1, len(cells) + 1)), f"execution counts {counts}: run top to bottom"
    for number, cell in enumerate(cells, 1):
        for output in cell["outputs"]:
            assert output["output_type"] != "error", f"cell {number} stored an error"
            assert output.get("name") != "stderr", f"cell {number} wrote to stderr: {output['text']!r}"


@pytest.mark.parametrize("path", NUMBERED, ids=lambda p: p.name)
def test_one_parameters_cell_of_literals_then_check(path):
    cells = _code_cells(_load(path))
    tagged = [i for i, c in enumerate(cells) if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: exactly one cell tagged 'parameters', found {len(tagged)}"
    lines = [line for line in _source(cells[tagged[0]]).splitlines() if line.strip()]
    for line in lines:
        if line.lstrip().startswith("#"):
            continue
        match = re.match(r"^(\w+): (\w+) = (.+?)\s+# \S", line)
        assert match, f"{path.name}: parameter line needs 'name: type = literal  # help': {line!r}"
        compile(match.group(3), path.name, "eval")
        assert re.fullmatch(r"""[-+\w."'/()\[\], e]+""", match.group(3)), f"not a plain literal: {line!r}"
    following = _source(cells[tagged[0] + 1])
    assert "params.check(" in following, f"{path.name}: validate the parameters right after their cell"


def test_most_outputs_are_compared():
    compared = ignored = 0
    for path in NOTEBOOKS:
        for cell in _code_cells(_load(path)):
            if cell["outputs"]:
                if _ignored(cell):
                    ignored += 1
                else:
                    compared += 1
    assert compared / max(compared + ignored, 1) >= 0.6, f"only {compared} of {compared + ignored} compared"


def test_course_map_names_the_python_the_package_requires():
    """Lesson 00 tells the reader the same minimum Python as pyproject.toml's requires-python."""
    required = re.search(r'requires-python\s*=\s*">=(\d+\.\d+)"', (ROOT / "pyproject.toml").read_text())
    assert required, "pyproject.toml: requires-python = '>=X.Y' not found"
    prose = " ".join(_source(c) for c in _load(ROOT / "notebooks" / "00_course_map.ipynb")["cells"]
                     if c["cell_type"] == "markdown")
    named = set(re.findall(r"Python (\d+\.\d+) or newer", prose))
    assert named == {required.group(1)}, f"00_course_map names Python {named}, pyproject requires {required.group(1)}"


# ---------------------------------------------------------------- short lessons, shown (#23)
LESSONS = [p for p in NUMBERED if not p.name.startswith("00_")]  # 00 is the course map
MAX_CELLS = 40
MAX_WORDS = 2_600  # "about 2,500 words" of prose
MAX_MARKDOWN_CHARACTERS = 2_000
MAX_CODE_LINES = 25
MIN_STATIC_FIGURES = 4
IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _prose_words(nb):
    """Words of the markdown cells, math between $...$ left out."""
    text = " ".join(_source(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    return len(re.sub(r"\$\$.*?\$\$|\$[^$]*\$", " ", text, flags=re.S).split())


def _images(cell):
    return sum(1 for o in cell.get("outputs", []) for kind in IMAGE_TYPES if kind in o.get("data", {}))


def _has_widget(cell):
    return any(WIDGET_VIEW in o.get("data", {}) for o in cell.get("outputs", []))


@pytest.mark.parametrize("path", NUMBERED, ids=lambda p: p.name)
def test_lesson_is_short(path):
    nb = _load(path)
    assert len(nb["cells"]) <= MAX_CELLS, f"{path.name}: {len(nb['cells'])} cells (at most {MAX_CELLS}): split it"
    words = _prose_words(nb)
    assert words <= MAX_WORDS, f"{path.name}: {words} words of prose (about 2,500 at most)"
    for number, cell in enumerate(nb["cells"]):
        text = _source(cell)
        if cell["cell_type"] == "markdown":
            assert len(text) <= MAX_MARKDOWN_CHARACTERS, \
                f"{path.name} cell {number}: markdown of {len(text)} characters (at most {MAX_MARKDOWN_CHARACTERS})"
        elif cell["cell_type"] == "code":
            lines = len(text.splitlines())
            assert lines <= MAX_CODE_LINES, f"{path.name} cell {number}: {lines} lines of code (at most {MAX_CODE_LINES})"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_lesson_stores_static_figures_and_a_picture_beside_every_widget(path):
    cells = _code_cells(_load(path))
    static = sum(_images(c) for c in cells if not _has_widget(c))
    assert static >= MIN_STATIC_FIGURES, f"{path.name}: {static} static figures (at least {MIN_STATIC_FIGURES})"
    for i, cell in enumerate(cells):
        if _has_widget(cell):
            beside = [c for c in cells[max(i - 1, 0):i + 2] if c is not cell]
            assert any(_images(c) for c in beside), \
                f"{path.name}: the widget in code cell {i + 1} has no static picture of its default view beside it"


@pytest.mark.parametrize("path", NUMBERED, ids=lambda p: p.name)
def test_every_question_has_its_answer(path):
    """The "Check your understanding" questions are numbered; an Answers part answers each."""
    cells = [_source(c) for c in _load(path)["cells"] if c["cell_type"] == "markdown"]
    start = [i for i, text in enumerate(cells) if re.search(r"^#+ Check your understanding", text, re.M)]
    assert len(start) == 1, f"{path.name}: one 'Check your understanding' section, found {len(start)}"
    text = "\n".join(cells[start[0]:])
    text = text[re.search(r"^#+ Check your understanding", text, re.M).start():]
    split = re.search(r"^#+ Answers|<summary>\s*Answers", text, re.M)
    assert split, f"{path.name}: the questions have no 'Answers' part"
    questions = set(re.findall(r"^(\d+)\. ", text[:split.start()], re.M))
    answers = set(re.findall(r"^(\d+)\. ", text[split.start():], re.M))
    assert questions, f"{path.name}: no numbered questions under 'Check your understanding'"
    assert questions <= answers, f"{path.name}: questions {sorted(questions - answers, key=int)} have no answer"


PLUS_MINUS_ZERO = re.compile(r"(?:±|\+-|\+/-)\s*0(?:\.0+)?(?![\d.]*[1-9])(?!\s*\(all)")


@pytest.mark.parametrize("path", NUMBERED, ids=lambda p: p.name)
def test_no_spread_printed_as_zero(path):
    """A spread that rounds to zero is printed with enough digits (medlab.evidence.mean_sd_text);
    one seed prints no ± at all. Exactly equal seeds say so: '± 0 (all 3 seeds equal)'."""
    nb = _load(path)
    texts = [_source(c) for c in nb["cells"] if c["cell_type"] == "markdown"]
    for cell in _code_cells(nb):
        for output in cell["outputs"]:
            texts.append("".join(output.get("text", "")) + "".join(output.get("data", {}).get("text/plain", "")))
    for text in texts:
        found = PLUS_MINUS_ZERO.search(text)
        assert not found, f"{path.name}: {text[max(found.start() - 40, 0):found.end() + 20]!r} prints a spread of zero"


def test_plus_minus_zero_pattern():
    assert PLUS_MINUS_ZERO.search("0.910 +- 0.000") and PLUS_MINUS_ZERO.search("0.91 ± 0.00 |")
    assert PLUS_MINUS_ZERO.search("0.5 ± 0")
    assert not PLUS_MINUS_ZERO.search("0.910 ± 0.004") and not PLUS_MINUS_ZERO.search("0.91 ± 0.0007")
    assert not PLUS_MINUS_ZERO.search("0.50 ± 0 (all 2 seeds equal)")
    assert not PLUS_MINUS_ZERO.search("0.91 ± 0.02")
