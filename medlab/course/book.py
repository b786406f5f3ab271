"""``medlab book``: the course as a static website, built from the stored notebooks.

The lessons are **not** run again: their stored outputs are the ones strict nbval tests,
so the book shows exactly those. Sphinx with MyST-NB and sphinx-book-theme (the optional
extra ``book``) turns them into HTML::

    from medlab.course import book

    site = book.build()                      # build/book/html/index.html
    site = book.build(solutions=False)       # lessons as the students get them

What the site holds:

- the course map (the first numbered notebook, ``00_...``) as its landing page
  (``index.html``), then one chapter per numbered lesson, in file-name order: the table
  of contents comes from the notebooks present, never from a list kept by hand;
- the README's setup and instructor sections (:data:`README_PAGES`) as two pages;
- on every lesson page a "download this notebook" link (the notebook as stored, or its
  student version) and how to run it locally (``make lab``);
- each slider cell shows its stored default view when the notebook stored the widget's
  state, and a note that the slider moves in JupyterLab;
- math typeset by a local copy of MathJax 2.7 (Debian's ``libjs-mathjax`` and
  ``fonts-mathjax``, or ``MEDLAB_MATHJAX``): no page loads anything from the network;
- Sphinx's search, copy buttons on code cells (sphinx-copybutton).

``solutions=False`` (``medlab book --no-solutions``) publishes each lesson with exercises
as its student notebook (:func:`medlab.course.student_notebook.student_notebook`, what
``medlab exercises release`` writes): solution blocks replaced by hints and
``raise NotImplementedError``, the outputs that depend on them cleared.

The site is written to a new folder next to the output and then takes its place, so a
failed build leaves the previous book as it was; an existing output folder is replaced only
when an earlier ``medlab book`` made it (it holds :data:`MARKER`).
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from medlab import files

__all__ = [
    "BookError", "BookSite", "DEFAULT_OUT", "MARKER", "README_PAGES", "build", "find_mathjax",
    "lessons", "missing_packages", "missing_tools", "prepare_sources", "readme_section", "static_view",
]

#: Where ``medlab book`` (and ``make book``) writes unless told: the site is ``html/`` in it.
DEFAULT_OUT = Path("build") / "book"
#: File that marks a folder as made by ``medlab book`` (only such a folder is replaced).
MARKER = ".medlab-book"
#: Seconds Sphinx may take before the build is stopped (about 30 s on 2 cores).
DEFAULT_TIMEOUT = 900
#: README sections published as pages: (page name, the README's ``## `` heading, page title).
README_PAGES = (
    ("setup", "Two commands", "Setting up the course"),
    ("instructors", "Exercises: for instructors and students", "For instructors: exercises and solutions"),
)
#: Python modules the build needs (the optional extra ``book``).
REQUIRED_MODULES = ("sphinx", "myst_nb", "sphinx_book_theme", "sphinx_copybutton")
#: Debian's MathJax 2.7 (packages libjs-mathjax and fonts-mathjax); ``MEDLAB_MATHJAX`` overrides.
DEBIAN_MATHJAX = Path("/usr/share/javascript/mathjax")
MATHJAX_ENV = "MEDLAB_MATHJAX"
#: The parts of MathJax the pages load (TeX input, CommonHTML output, its web fonts).
MATHJAX_PARTS = ("MathJax.js", "config/TeX-AMS_CHTML.js", "jax/input/TeX", "jax/output/CommonHTML",
                 "jax/element", "extensions", "fonts/HTML-CSS/TeX/woff")
HOW_TO_INSTALL = {
    "python": "pip install -c requirements/constraints.txt -e '.[book]' (make setup does it)",
    "mathjax": "as root: make book-deps (apt-get install libjs-mathjax fonts-mathjax), "
               f"or set {MATHJAX_ENV} to a MathJax 2.7 folder",
}
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
_DESCRIPTION = re.compile(r"description='([^']*)'")
_NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
_DOWNLOADS = "_notebooks"  # folder of the downloadable notebooks inside the sources


class BookError(ValueError):
    """The book cannot be built; ``str()`` is one line saying what is missing or wrong."""


@dataclass
class BookSite:
    """A built book: where its pages are and what went into it."""

    html: Path  # the site's folder (index.html in it)
    lessons: list  # the notebooks published, in order
    solutions: bool
    seconds: float
    warnings: list  # Sphinx's warnings, one line each


# ------------------------------------------------------------------ what is needed
def missing_packages():
    """Names of the Python modules of the extra ``book`` that cannot be imported."""
    return [name for name in REQUIRED_MODULES if importlib.util.find_spec(name) is None]


def find_mathjax(folder=None):
    """The MathJax 2.7 folder to copy into the site, checked to hold :data:`MATHJAX_PARTS`.

    ``folder``, else ``$MEDLAB_MATHJAX``, else Debian's ``/usr/share/javascript/mathjax``.
    """
    chosen = folder or os.environ.get(MATHJAX_ENV) or DEBIAN_MATHJAX
    root = Path(chosen)
    missing = [part for part in MATHJAX_PARTS if not (root / part).exists()]
    if missing:
        what = "no MathJax" if not (root / "MathJax.js").exists() else f"MathJax without {', '.join(missing)}"
        raise BookError(f"{what} at {root} (the book typesets its math offline with MathJax 2.7): "
                        f"{HOW_TO_INSTALL['mathjax']}")
    return root


def _check_packages():
    missing = missing_packages()
    if missing:
        raise BookError(f"the book needs Sphinx, MyST-NB, sphinx-book-theme and sphinx-copybutton; "
                        f"not installed here: {', '.join(missing)}: {HOW_TO_INSTALL['python']}")


def missing_tools(mathjax=None):
    """Why the book cannot be built on this machine (one line), or None when it can."""
    try:
        _check_packages()
        find_mathjax(mathjax)
    except BookError as exc:
        return str(exc)
    return None


# ------------------------------------------------------------------ the sources
def lessons(notebooks):
    """The numbered notebooks ``NN_name.ipynb`` of ``notebooks``, in name order (the chapters)."""
    folder = Path(notebooks)
    if not folder.is_dir():
        raise BookError(f"{folder}: no such folder (expected the lessons, notebooks/NN_name.ipynb)")
    found = sorted(folder.glob(_NOTEBOOK_GLOB))
    if not found:
        raise BookError(f"{folder}: no numbered notebooks (NN_name.ipynb) to publish")
    return found


def readme_section(text, heading, where="README.md"):
    """The body of the ``## heading`` section of a Markdown text (up to the next ``## ``),
    with its sub-headings raised one level. Lines inside code fences are never headings."""
    lines = text.split("\n")
    start, fence = None, None
    body = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            marker = stripped[:3]
            fence = None if fence == marker else (fence or marker)
        heading_line = fence is None and not stripped.startswith(("```", "~~~"))
        if start is None:
            if heading_line and re.fullmatch(rf"##\s+{re.escape(heading)}\s*", line):
                start = True
            continue
        if heading_line and re.match(r"#{1,2}\s", line):
            break
        body.append(line[1:] if heading_line and line.startswith("###") else line)
    if start is None:
        raise BookError(f"{where}: no section '## {heading}' (the book publishes it as a page)")
    return "\n".join(body).strip() + "\n"


def _note(html_text):
    return {"output_type": "display_data", "metadata": {},
            "data": {"text/html": html_text, "text/plain": re.sub(r"<[^>]+>", "", html_text)}}


def static_view(output, widget_state):
    """What a book shows for one stored widget output: the stored default view (the outputs
    of its Output widgets, when the notebook stored the widgets' state) and a note that the
    controls move in JupyterLab. Returns a list of nbformat outputs."""
    model_id = output.get("data", {}).get(WIDGET_VIEW, {}).get("model_id")
    shown, seen, todo = [], set(), [model_id]
    while todo:
        current = todo.pop(0)
        model = widget_state.get(current)
        if current in seen or not isinstance(model, dict):
            continue
        seen.add(current)
        state = model.get("state", {})
        if model.get("model_name") == "OutputModel":
            shown += [dict(out) for out in state.get("outputs", [])]
        todo += [child[len("IPY_MODEL_"):] for child in state.get("children", [])
                 if isinstance(child, str) and child.startswith("IPY_MODEL_")]
    plain = output.get("data", {}).get("text/plain", "")
    plain = "".join(plain) if isinstance(plain, list) else str(plain)
    labels = [label for label in _DESCRIPTION.findall(plain) if label]
    controls = f"its controls ({', '.join(labels)})" if len(labels) > 1 else \
        f"its control ({labels[0]})" if labels else "its controls"
    view = "Above: the view at the default settings. " if shown else ""
    return shown + [_note(
        f'<p class="medlab-widget-note">{view}This cell is interactive: in JupyterLab, moving '
        f"{controls} redraws it. Run the lesson locally (<code>make lab</code>) to try it.</p>")]


def _static_widgets(nb):
    """Replace every widget output of ``nb`` by :func:`static_view`; drop the widget state
    (so that MyST-NB adds no widget scripts, which would load from the network)."""
    widgets = nb.metadata.pop("widgets", None) or {}
    state = widgets.get(WIDGET_STATE, {}).get("state", {}) if isinstance(widgets, dict) else {}
    nbformat = _nbformat()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.outputs:
            if WIDGET_VIEW in output.get("data", {}):
                outputs += [nbformat.from_dict(out) for out in static_view(output, state)]
            else:
                outputs.append(output)
        cell.outputs = outputs
    return nb


def _nbformat():
    import nbformat

    return nbformat


def _markdown_cell(text, cell_id, nb):
    cell = _nbformat().v4.new_markdown_cell(text, id=cell_id)
    if (nb.nbformat, nb.nbformat_minor) < (4, 5):  # cell ids came with nbformat 4.5
        del cell["id"]
    return cell


def _run_locally_cell(nb, download_name, download_target, student):
    what = "the student version, exercises to do" if student else "with its stored outputs"
    return _markdown_cell(
        ":::{admonition} Run this lesson\n:class: tip medlab-run-locally\n"
        f"[Download this notebook](path:{download_target}) (`{download_name}`, {what}). "
        "To run it locally, get the course and type `make lab`: it sets up the environment and "
        "opens JupyterLab ([Setting up the course](setup.md)). Sliders and exercises work there.\n:::",
        "medlab-book-run-locally", nb)


def _toc_cell(nb, chapters, readme_pages):
    lines = ["```{toctree}", ":hidden:", ":caption: Lessons", "", *chapters, "```", "",
             "```{toctree}", ":hidden:", ":caption: Using the course", "", *readme_pages, "```"]
    return _markdown_cell("\n".join(lines), "medlab-book-toc", nb)


def prepare_sources(src, notebooks="notebooks", readme="README.md", *, solutions=True, mathjax=None):
    """Write the Sphinx project of the book into the new folder ``src``; return the lessons.

    ``src`` gets ``conf.py``, ``index.ipynb`` (the course map), one ``NN_name.ipynb`` per
    lesson (student versions when not ``solutions``), the README pages, the downloadable
    notebooks in ``_notebooks/`` and MathJax in ``_static/mathjax/``.
    """
    from medlab.course.student_notebook import BEGIN, ExerciseError, render, student_notebook

    nbformat = _nbformat()
    paths = lessons(notebooks)
    mathjax = find_mathjax(mathjax)
    readme = Path(readme)
    try:
        readme_text = readme.read_text(encoding="utf-8")
    except OSError as exc:
        raise BookError(f"{readme}: cannot read it ({exc.strerror or exc}); the book publishes its "
                        "setup and instructor sections") from None
    pages = {name: f"# {title}\n\n{readme_section(readme_text, heading, readme.name)}"
             for name, heading, title in README_PAGES}
    src = Path(src)
    src.mkdir(parents=True)
    downloads = src / _DOWNLOADS
    downloads.mkdir()
    chapters = [path.stem for path in paths[1:]]
    for number, path in enumerate(paths):
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception as exc:  # noqa: BLE001  (nbformat raises many kinds)
            raise BookError(f"{path}: not a readable notebook ({type(exc).__name__}: {exc})") from None
        student = not solutions and any(
            cell.cell_type == "code" and BEGIN in cell.source for cell in nb.cells)
        if student:
            try:
                nb = student_notebook(nb, path.name)
            except ExerciseError as exc:
                raise BookError(str(exc)) from None
            files.write_text(downloads / path.name, render(nb))
        else:
            shutil.copyfile(path, downloads / path.name)
        page = _static_widgets(copy.deepcopy(nb))
        first_markdown = next((i for i, cell in enumerate(page.cells) if cell.cell_type == "markdown"), -1)
        page.cells.insert(first_markdown + 1,
                          _run_locally_cell(page, path.name, f"{_DOWNLOADS}/{path.name}", student))
        if number == 0:
            page.cells.append(_toc_cell(page, chapters, [name for name, _, _ in README_PAGES]))
        nbformat.write(page, src / ("index.ipynb" if number == 0 else path.name))
    for name, text in pages.items():
        files.write_text(src / f"{name}.md", text)
    static = src / "_static"
    for part in MATHJAX_PARTS:
        source, target = mathjax / part, static / "mathjax" / part
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    files.write_text(static / "medlab-book.css", _CSS)
    files.write_text(src / "conf.py", _CONF.format())  # (the braces are doubled for format)
    return paths


_CSS = """\
.medlab-widget-note { font-style: italic; border-left: 3px solid var(--pst-color-primary); padding-left: .6em; }
"""

_CONF = '''\
"""Sphinx configuration of the course book, written by `medlab book` (medlab/course/book.py)."""

project = "medlab"
html_title = "medlab: deep learning for medical images"
author = "medlab"
root_doc = "index"
extensions = ["myst_nb", "sphinx_copybutton"]
exclude_patterns = ["_build", "_notebooks", "**.ipynb_checkpoints"]

# the stored outputs are the tested ones: never execute a notebook
nb_execution_mode = "off"
nb_ipywidgets_js = {{}}  # no widget scripts (they would load from a CDN)
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
myst_dmath_double_inline = True  # $$...$$ inside a paragraph, as JupyterLab shows it
suppress_warnings = ["myst.header", "mystnb.unknown_mime_type"]

# math: MathJax 2.7 copied into _static/mathjax, nothing loaded from the network
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS_CHTML"
myst_update_mathjax = False  # its settings are MathJax 3's; these are 2.7's:
mathjax2_config = {{
    "showMathMenu": False, "messageStyle": "none",
    "tex2jax": {{"processClass": "tex2jax_process|mathjax_process|math|output_area"}},
    "CommonHTML": {{"linebreaks": {{"automatic": True}}}},
}}

html_theme = "sphinx_book_theme"
html_static_path = ["_static"]
html_css_files = ["medlab-book.css"]
html_copy_source = False
html_show_sourcelink = False
html_theme_options = {{
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "use_download_button": False,
    "use_fullscreen_button": False,
    "use_repository_button": False,
    "search_bar_text": "Search the course...",
}}
html_context = {{"default_mode": "light"}}  # the figures are drawn for a light page

# copy buttons on code (cells and commands), not on outputs
copybutton_selector = "div.cell_input div.highlight pre, div.highlight-bash div.highlight pre"
copybutton_exclude = ".linenos, .gp"


def setup(app):
    # MathJax on every page, not only those with equations: the navigation shows lesson titles
    # with math on pages without any
    app.set_html_assets_policy("always")
'''


# ------------------------------------------------------------------ the build
def _replaceable(out):
    """Whether ``out`` may be replaced: missing, empty, or made by ``medlab book``."""
    return not out.exists() or (out.is_dir() and ((out / MARKER).exists() or not any(out.iterdir())))


def build(out=None, notebooks="notebooks", readme="README.md", *, solutions=True, mathjax=None,
          jobs=1, timeout=DEFAULT_TIMEOUT):
    """Build the book into ``out`` (default ``build/book``); the site is ``out/html``.

    Parameters
    ----------
    out : str or Path, optional
        The book's folder; replaced only when missing, empty or made by ``medlab book``.
    notebooks : str or Path
        Folder of the numbered lessons.
    readme : str or Path
        The README whose setup and instructor sections become pages.
    solutions : bool
        Publish the lessons with their solutions (default) or as student notebooks.
    mathjax : str or Path, optional
        A MathJax 2.7 folder (default ``$MEDLAB_MATHJAX`` or Debian's).
    jobs : int
        Sphinx processes (``sphinx-build -j``), 1 to 16.
    timeout : float
        Seconds Sphinx may take; then it is stopped and BookError raised.

    Returns
    -------
    BookSite
    """
    from medlab import validate

    jobs = validate.integer("jobs", jobs, low=1, high=16)
    timeout = validate.number("timeout", timeout, low=1)
    out = Path(out) if out is not None else DEFAULT_OUT
    if not _replaceable(out):
        raise BookError(f"{out}: exists and was not made by 'medlab book' (no {MARKER} in it); "
                        "give another --out, or remove it yourself")
    _check_packages()
    started = time.monotonic()
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".new", dir=out.parent))
    try:
        paths = prepare_sources(work / "src", notebooks, readme, solutions=solutions, mathjax=mathjax)
        warnings = _sphinx(work, jobs, timeout)
        shutil.rmtree(work / "src")
        for scratch in ("doctrees", "jupyter_execute"):  # Sphinx's and MyST-NB's working files
            shutil.rmtree(work / scratch, ignore_errors=True)
        (work / MARKER).write_text("Made by 'medlab book'; 'medlab book' replaces this folder.\n")
        if out.exists():
            shutil.rmtree(out)
        os.replace(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return BookSite(out / "html", paths, solutions, time.monotonic() - started, warnings)


def _sphinx(work, jobs, timeout):
    """Run sphinx-build (HTML) on ``work/src`` into ``work/html``; return its warnings."""
    log = work / "sphinx-warnings.log"
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-E", "-j", str(jobs),
               "-d", str(work / "doctrees"), "-w", str(log), str(work / "src"), str(work / "html")]
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    # its own process group: a timeout or Ctrl-C stops Sphinx and the workers of -j N together
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BookError(f"Sphinx did not finish the book in {timeout:.0f} s (--timeout)") from None
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    warnings = [line for line in (log.read_text(errors="replace").splitlines() if log.exists() else [])
                if line.strip()]
    if process.returncode != 0:
        lines = [line for line in (stderr + "\n" + "\n".join(warnings)).splitlines() if line.strip()]
        last = next((line for line in reversed(lines) if "error" in line.lower()), lines[-1] if lines else "")
        raise BookError(f"Sphinx failed (exit {process.returncode}): {last.strip()}")
    return warnings
