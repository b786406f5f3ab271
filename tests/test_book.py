"""The course as a book (medlab.course.book, ``medlab book``): sources, options, a real build.

The browser reads the whole book in ``tests/e2e/test_book_browser.py``; here a small book
(the course map and lessons 02 and 05) is built for real, without solutions.
"""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from medlab.course import book, cli
from medlab.course.student_notebook import render, solution_lines, student_notebook

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
README = ROOT / "README.md"


def run(capsys, *argv):
    """``medlab argv...`` in-process: (exit code, stdout, stderr)."""
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(err):
    assert err.startswith("medlab: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err


def lesson(stem):
    return next(NOTEBOOKS.glob(f"{stem}_*.ipynb"))


@pytest.fixture
def mathjax(tmp_path):
    """A folder laid out like MathJax 2.7 (the parts the book copies), for building sources."""
    root = tmp_path / "mathjax"
    for part in book.MATHJAX_PARTS:
        target = root / part
        if Path(part).suffix:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("// MathJax\n")
        else:
            target.mkdir(parents=True, exist_ok=True)
            (target / "part.js").write_text("// MathJax\n")
    return root


def tiny_lesson(folder, name, title):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}\n\n**Learning goals**\n- one"),
                nbformat.v4.new_code_cell("print(1)")]
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / name)


def toc(src):
    """The chapter names of the book's table of contents, in order."""
    index = nbformat.read(src / "index.ipynb", as_version=4)
    cell = next(cell for cell in index.cells if cell.get("id") == "medlab-book-toc")
    lessons = cell.source.split(":caption: Lessons")[1].split("```")[0]
    return [line for line in lessons.split("\n") if line.strip()]


def text_of(path):
    """A page's text, tags removed (highlighted code reads as it was written)."""
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))


# ------------------------------------------------------------------ the sources
def test_chapters_follow_the_numbered_notebooks_present(tmp_path, mathjax):
    """No list of lessons is kept by hand: renumbered and added lessons come in file order;
    the course map is the landing page and the student notebooks are not chapters."""
    notebooks = tmp_path / "notebooks"
    tiny_lesson(notebooks, "00_map.ipynb", "00 · Map")
    tiny_lesson(notebooks, "03_later.ipynb", "03 · Later")
    tiny_lesson(notebooks, "01_first.ipynb", "01 · First")
    tiny_lesson(notebooks / "exercises", "01_first.ipynb", "01 · First, student")
    book.prepare_sources(tmp_path / "a", notebooks, README, mathjax=mathjax)
    assert toc(tmp_path / "a") == ["01_first", "03_later"]
    assert nbformat.read(tmp_path / "a" / "index.ipynb", as_version=4).cells[0].source.startswith("# 00 · Map")

    tiny_lesson(notebooks, "02_added.ipynb", "02 · Added")
    (notebooks / "03_later.ipynb").rename(notebooks / "04_later.ipynb")
    book.prepare_sources(tmp_path / "b", notebooks, README, mathjax=mathjax)
    assert toc(tmp_path / "b") == ["01_first", "02_added", "04_later"]
    assert sorted(p.name for p in (tmp_path / "b").glob("*.ipynb")) == [
        "01_first.ipynb", "02_added.ipynb", "04_later.ipynb", "index.ipynb"]


def test_every_lesson_page_links_its_notebook_and_says_how_to_run_it(tmp_path, mathjax):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for stem in ("00", "02"):
        shutil.copy(lesson(stem), notebooks)
    book.prepare_sources(tmp_path / "src", notebooks, README, mathjax=mathjax)
    for page, original in (("index.ipynb", lesson("00")), (lesson("02").name, lesson("02"))):
        cells = nbformat.read(tmp_path / "src" / page, as_version=4).cells
        note = cells[1].source  # right after the title cell
        assert f"(path:_notebooks/{original.name})" in note and "make lab" in note
        assert (tmp_path / "src" / "_notebooks" / original.name).read_bytes() == original.read_bytes()
    assert (tmp_path / "src" / "_static" / "mathjax" / "MathJax.js").is_file()


def test_readme_sections_become_pages(tmp_path, mathjax):
    text = ("# Title\n\n## Two commands\n\nRun it:\n\n```bash\n# not a heading\nmake lab\n```\n\n"
            "### Details\n\nmore\n\n## Next section\n\nnot this\n")
    section = book.readme_section(text, "Two commands")
    assert section == "Run it:\n\n```bash\n# not a heading\nmake lab\n```\n\n## Details\n\nmore\n"
    with pytest.raises(book.BookError, match=r"^NOTES.md: no section '## Missing'"):
        book.readme_section(text, "Missing", "NOTES.md")

    notebooks = tmp_path / "notebooks"
    tiny_lesson(notebooks, "00_map.ipynb", "00 · Map")
    book.prepare_sources(tmp_path / "src", notebooks, README, mathjax=mathjax)
    setup = (tmp_path / "src" / "setup.md").read_text()
    instructors = (tmp_path / "src" / "instructors.md").read_text()
    assert setup.startswith("# Setting up the course\n") and "make lab" in setup and "make test" in setup
    assert "medlab exercises release" in instructors and "**Students.**" in instructors


def test_a_slider_shows_its_stored_default_view_and_a_note():
    view = {"output_type": "display_data", "metadata": {}, "data": {
        book.WIDGET_VIEW: {"model_id": "box", "version_major": 2, "version_minor": 0},
        "text/plain": "interactive(children=(IntSlider(value=5, description='kernel size', max=15), "
                      "Output()))"}}
    image = {"output_type": "display_data", "metadata": {},
             "data": {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}}
    state = {
        "box": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_slider", "IPY_MODEL_out"]}},
        "slider": {"model_name": "IntSliderModel", "state": {"value": 5, "description": "kernel size"}},
        "out": {"model_name": "OutputModel", "state": {"outputs": [image]}},
    }
    shown = book.static_view(view, state)
    assert shown[0] == image and len(shown) == 2
    assert "kernel size" in shown[1]["data"]["text/html"] and "make lab" in shown[1]["data"]["text/html"]
    assert "default settings" in shown[1]["data"]["text/html"]

    alone = book.static_view(view, {})  # the lessons store no widget state: the note only
    assert len(alone) == 1 and "kernel size" in alone[0]["data"]["text/plain"]
    assert "default settings" not in alone[0]["data"]["text/plain"]


def test_slider_cells_of_the_lessons_become_notes(tmp_path, mathjax):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for stem in ("00", "02"):
        shutil.copy(lesson(stem), notebooks)
    book.prepare_sources(tmp_path / "src", notebooks, README, mathjax=mathjax)
    page = nbformat.read(tmp_path / "src" / lesson("02").name, as_version=4)
    outputs = [out for cell in page.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not any(book.WIDGET_VIEW in out.get("data", {}) for out in outputs)
    notes = [out for out in outputs if "medlab-widget-note" in out.get("data", {}).get("text/html", "")]
    assert len(notes) == 1 and "kernel size" in notes[0]["data"]["text/html"]
    assert "widgets" not in page.metadata


def test_without_solutions_the_lessons_are_the_student_notebooks(tmp_path, mathjax):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for stem in ("00", "02"):
        shutil.copy(lesson(stem), notebooks)
    solution = nbformat.read(lesson("02"), as_version=4)
    hidden = solution_lines(solution)
    assert hidden, "lesson 02 has no solution lines to hide"

    book.prepare_sources(tmp_path / "with", notebooks, README, mathjax=mathjax)
    book.prepare_sources(tmp_path / "without", notebooks, README, solutions=False, mathjax=mathjax)

    def code(src):
        nb = nbformat.read(src / lesson("02").name, as_version=4)
        return "\n".join(cell.source for cell in nb.cells)

    assert all(line in code(tmp_path / "with") for line in hidden)
    assert not [line for line in hidden if line in code(tmp_path / "without")]
    download = (tmp_path / "without" / "_notebooks" / lesson("02").name).read_text()
    assert download == render(student_notebook(solution, lesson("02").name))
    assert "NotImplementedError" in code(tmp_path / "without")
    assert "the student version" in nbformat.read(tmp_path / "without" / lesson("02").name,
                                                  as_version=4).cells[1].source


# ------------------------------------------------------------------ bad input, missing tools
def test_missing_tools_are_named_with_how_to_get_them(monkeypatch, tmp_path):
    monkeypatch.setattr(book, "REQUIRED_MODULES", (*book.REQUIRED_MODULES, "medlab_no_such_module"))
    message = book.missing_tools()
    assert "medlab_no_such_module" in message and "'.[book]'" in message and "\n" not in message
    monkeypatch.setenv(book.MATHJAX_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(book.BookError) as missing:
        book.find_mathjax()
    assert str(missing.value).startswith(f"no MathJax at {tmp_path / 'nowhere'} ")
    assert "make book-deps" in str(missing.value) and "\n" not in str(missing.value)
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "MathJax.js").write_text("")
    with pytest.raises(book.BookError, match="MathJax without config/TeX-AMS_CHTML.js"):
        book.find_mathjax(tmp_path / "half")


def test_bad_input_is_one_line(capsys, tmp_path, mathjax):
    code, out, _ = run(capsys, "book", "--help")
    assert code == 0 and "--no-solutions" in out and "build/book" in out
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("a student's notes")
    code, _, err = run(capsys, "book", "--out", mine, "--mathjax", mathjax)
    assert code == 1 and f"{mine}: exists and was not made by 'medlab book'" in err
    assert_one_line_error(err)
    assert (mine / "notes.txt").read_text() == "a student's notes" and len(list(mine.iterdir())) == 1

    for argv, message in ((["--jobs", 0], "--jobs 0: expected an integer in [1, 16]"),
                          (["--timeout", -5], "--timeout -5.0: expected a number >= 1"),
                          (["--jobs", "two"], "argument --jobs: invalid int value: 'two'"),
                          (["--notebooks", tmp_path / "none"], f"{tmp_path / 'none'}: no such folder")):
        code, _, err = run(capsys, "book", "--out", tmp_path / "out", "--mathjax", mathjax, *argv)
        assert code in (1, 2) and message in err, err
        assert_one_line_error(err)
    assert not (tmp_path / "out").exists()

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "00_map.ipynb").write_text("{not json")
    with pytest.raises(book.BookError, match=r"00_map.ipynb: not a readable notebook"):
        book.prepare_sources(tmp_path / "src", bad, README, mathjax=mathjax)


# ------------------------------------------------------------------ a real build
def test_medlab_book_builds_a_small_book_without_solutions(book_tools, capsys, tmp_path):
    """The course map and lessons 02 and 05 through ``medlab book --no-solutions``: an offline
    site (no http(s) script, style sheet or font), the chapters in order, the student
    notebooks to download, no solution line on any page; a rebuild replaces the old book."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for stem in ("00", "02", "05"):
        shutil.copy(lesson(stem), notebooks)
    out = tmp_path / "book"
    out.mkdir()
    (out / book.MARKER).write_text("")
    (out / "stale.html").write_text("from the previous build")

    code, stdout, err = run(capsys, "book", "--no-solutions", "--out", out, "--notebooks", notebooks,
                            "--readme", README)
    assert (code, err) == (0, ""), err
    assert "3 notebooks, without solutions (student notebooks)" in stdout and "index.html" in stdout
    site = out / "html"
    assert not (out / "stale.html").exists() and (out / book.MARKER).exists()
    pages = sorted(p.name for p in site.glob("*.html"))
    assert {"index.html", "02_convolution.html", "05_cnn_formula.html", "setup.html", "instructors.html",
            "search.html"} <= set(pages)
    assert (site / "searchindex.js").is_file() and (site / "_static" / "mathjax" / "MathJax.js").is_file()

    index = (site / "index.html").read_text()
    assert index.index('href="02_convolution.html"') < index.index('href="05_cnn_formula.html"')
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        remote = re.findall(r'<(?:script|link|img|iframe)\b[^>]*(?:src|href)="((?:https?:)?//[^"]*)"', text)
        assert not remote, f"{page.name} loads {remote}"
    for sheet in site.rglob("*.css"):
        assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", sheet.read_text(errors="replace")), sheet.name
    for page in site.glob("*.html"):  # every page: the navigation shows titles with math
        assert 'src="_static/mathjax/MathJax.js?config=TeX-AMS_CHTML"' in page.read_text(), page.name

    for stem in ("02", "05"):
        solution = nbformat.read(lesson(stem), as_version=4)
        page = text_of(site / f"{lesson(stem).stem}.html")
        shown = [line for line in solution_lines(solution) if line in page]
        assert not shown, f"solution lines on the {stem} page: {shown}"
        downloads = list(site.glob(f"_downloads/*/{lesson(stem).name}"))
        assert len(downloads) == 1
        assert downloads[0].read_text() == render(student_notebook(solution, lesson(stem).name))
    assert "medlab-widget-note" in (site / "02_convolution.html").read_text()
    assert "copybutton.js" in (site / "02_convolution.html").read_text()
