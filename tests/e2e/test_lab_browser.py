"""The course works in a real JupyterLab: run lessons in Chromium and move their sliders.

What a student does, done by Playwright: open a lesson, Run > Run All Cells, wait for the
kernel, move a slider, and see the widget redraw. Screenshots of each slider before and after
the move are saved in ``test-artifacts/e2e/`` for reviewers; a failing test also leaves a
screenshot, the browser console and the server log there (see ``conftest.py``).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"  # the same folder as conftest.py's

pytestmark = pytest.mark.e2e

# Bounds of the waits below: far above what a loaded machine needs (the suite shares 2 cores
# with other work); they are reached only when something is wrong.
RUN_ALL_S = 600  # a lesson's Run All, kernel start included (the rules allow 30 s, training 60 s)
WIDGET_S = 300  # one redraw of a widget after a slider move
PAGE_S = 300  # a page to load and render, a kernel to start
STOPPED_S = 30  # the kernel idle and nothing queued for this long: Run All has stopped
SHAPES = re.compile(r"input \((\d+), (\d+)\) -> output \((\d+), (\d+)\)")  # lesson 02's text
LEARNING_RATE = re.compile(r"learning rate ([0-9.e+-]+):")  # lesson 07's text
STDOUT = "[data-mime-type='application/vnd.jupyter.stdout']"
STDERR = "[data-mime-type='application/vnd.jupyter.stderr']"
ERROR = "[data-mime-type='application/vnd.jupyter.error']"


# ------------------------------------------------------------------ helpers
def code_cell_count(path):
    return sum(cell.cell_type == "code" for cell in nbformat.read(ROOT / path, as_version=4).cells)


def notebook(page):
    """The notebook panel on show."""
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")


def open_lesson(page, lab, path):
    """Open a notebook in JupyterLab and wait until its kernel is idle."""
    page.goto(lab.page_url(path))
    panel = notebook(page)
    cells = len(nbformat.read(ROOT / path, as_version=4).cells)
    page.wait_for_function(  # all of them: JupyterLab shows one empty cell until the file is loaded
        """(n) => document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-cell').length === n""",
        arg=cells, timeout=PAGE_S * 1000)
    panel.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=PAGE_S * 1000)
    return panel


def menu(page, *path):
    """Click through the menu bar, e.g. ``menu(page, "Run", "Run All Cells")``."""
    page.get_by_role("menuitem", name=path[0], exact=True).click()
    for name in path[1:]:
        page.get_by_role("menuitem", name=name, exact=True).click()


_RUN_STATE = """() => {
    const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
    const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].map(p => p.textContent.trim());
    const errors = [...panel.querySelectorAll(`.jp-OutputArea-output${STDERR}, .jp-OutputArea-output${ERROR}`)]
        .map(e => e.innerText);
    const indicator = panel.querySelector('.jp-Notebook-ExecutionIndicator');
    return {prompts, errors, status: indicator ? indicator.dataset.status : null};
}""".replace("${STDERR}", STDERR).replace("${ERROR}", ERROR)


def run_all_cells(page, panel, path):
    """Edit > Clear Outputs of All Cells (so no stored execution count can pass for a new one),
    then Run > Run All Cells; wait until every code cell has run and the kernel is idle.
    Fails at once, with the output, when a cell writes to stderr or raises."""
    menu(page, "Edit", "Clear Outputs of All Cells")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell "
        ".jp-InputArea-prompt')].every(p => !/\\d/.test(p.textContent))", timeout=PAGE_S * 1000)
    menu(page, "Run", "Run All Cells")
    expected = code_cell_count(path)
    deadline = time.monotonic() + RUN_ALL_S
    stopped_since = None
    while True:
        state = page.evaluate(_RUN_STATE)
        prompts, idle = state["prompts"], state["status"] == "idle"
        ran = [bool(re.fullmatch(r"\[\d+\]:", p)) for p in prompts]
        if state["errors"]:
            raise AssertionError(f"{path} failed in JupyterLab (stderr or an exception):\n"
                                 + "\n---\n".join(state["errors"])[-4000:])
        if len(prompts) == expected and all(ran) and idle:
            return
        # the kernel idle, nothing queued or running, yet some cell not run: Run All stopped
        stopped = idle and not any("*" in p for p in prompts) and any(ran)
        stopped_since = (stopped_since or time.monotonic()) if stopped else None
        if stopped_since and time.monotonic() - stopped_since > STOPPED_S:
            first = ran.index(False) if False in ran else len(ran)
            raise AssertionError(f"Run All stopped at code cell {first + 1} of {len(prompts)} "
                                 f"(the file has {expected}): prompts {prompts}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path}: Run All not done in {RUN_ALL_S} s; prompts {prompts}")
        time.sleep(0.5)


def interact(panel, label):
    """The ``ipywidgets.interactive`` whose slider is labelled ``label``."""
    page = panel.page
    labelled = page.locator(".widget-slider", has=page.locator(".widget-label", has_text=label))
    widget = panel.locator(".widget-interact", has=labelled)
    widget.wait_for(state="attached", timeout=WIDGET_S * 1000)
    widget.scroll_into_view_if_needed()
    widget.wait_for(timeout=WIDGET_S * 1000)
    return widget, widget.locator(".widget-slider", has=page.locator(".widget-label", has_text=label))


def printed(widget):
    return widget.locator(f".widget-output .jp-OutputArea-output{STDOUT}")


def image_src(widget):
    image = widget.locator(".widget-output img")
    image.wait_for(timeout=WIDGET_S * 1000)
    return image.get_attribute("src")


def set_slider(slider, text):
    """Type a value into the slider's readout and press Enter, as a student can."""
    readout = slider.locator(".widget-readout")
    readout.fill(text)
    readout.press("Enter")


def wait_for_new_image(page, widget, old_src):
    widget.locator(".widget-output img").wait_for(timeout=WIDGET_S * 1000)
    page.wait_for_function(
        """([element, old]) => {
            const image = element.querySelector('.widget-output img');
            return image !== null && image.complete && image.getAttribute('src') !== old;
        }""",
        arg=[widget.element_handle(), old_src], timeout=WIDGET_S * 1000, polling=250,
    )
    return image_src(widget)


def shoot(widget, name):
    """Save a screenshot of the widget for reviewers; return its PNG bytes."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    widget.scroll_into_view_if_needed()
    return widget.screenshot(path=str(ARTIFACTS / name), animations="disabled")


def assert_not_saved(lab, path):
    """The lesson's stored outputs are what nbval compares: the browser must never save it."""
    assert f"Saving file at /{path}" not in lab.log(), f"JupyterLab saved {path} during the test"


# -------------------------------------------------------------------- tests
def test_server_lists_the_numbered_lessons(lab):
    listing = lab.api("/api/contents/notebooks?content=1")
    names = sorted(item["name"] for item in listing["content"] if item["type"] == "notebook")
    numbered = sorted(path.name for path in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert "00_course_map.ipynb" in numbered and "02_convolution.ipynb" in numbered
    assert set(numbered) <= set(names), f"served: {names}; in notebooks/: {numbered}"


def test_course_map_opens(page, lab):
    """The page that `make lab` opens first renders, with its title, and no news pop-up over it."""
    panel = open_lesson(page, lab, "notebooks/00_course_map.ipynb")  # up to its kernel, idle
    heading = panel.locator(".jp-MarkdownCell h1").first
    heading.wait_for(timeout=PAGE_S * 1000)
    assert heading.inner_text().startswith("00"), heading.inner_text()
    # JupyterLab asks as soon as it has restored the page, before the kernel is idle (were it to
    # ask later, this could miss the pop-up, never fail wrongly)
    assert page.get_by_text("official Jupyter news").count() == 0, "the news pop-up is shown"


def test_kernel_size_slider_redraws_the_convolution(page, lab):
    path = "notebooks/02_convolution.ipynb"
    started = time.monotonic()
    panel = open_lesson(page, lab, path)
    run_all_cells(page, panel, path)
    widget, slider = interact(panel, "kernel size")

    text = printed(widget)
    text.filter(has_text="-> output").wait_for(timeout=WIDGET_S * 1000)
    before_text, before_src = text.inner_text(), image_src(widget)
    size = int(slider.locator(".widget-readout").inner_text())
    height, width, _, _ = map(int, SHAPES.search(before_text).groups())
    assert f"kernel {size}x{size}" in before_text and f"output ({height - size + 1}, {width - size + 1})" in before_text
    before_png = shoot(widget, "02_kernel_size_before.png")

    new = 9 if size != 9 else 3
    set_slider(slider, str(new))
    text.filter(has_text=f"kernel {new}x{new}").wait_for(timeout=WIDGET_S * 1000)
    assert float(slider.locator("[role=slider]").get_attribute("aria-valuenow")) == new
    after_src = wait_for_new_image(page, widget, before_src)
    after_text = text.inner_text()
    after_png = shoot(widget, "02_kernel_size_after.png")

    assert f"output ({height - new + 1}, {width - new + 1})" in after_text, after_text
    assert after_text != before_text
    assert after_src != before_src, "the filtered image did not change"
    assert after_png != before_png, "the widget looks the same after the move"
    assert_not_saved(lab, path)
    print(f"02: {before_text!r} -> {after_text!r} in {time.monotonic() - started:.0f} s")


def parameter_cell_index(path):
    cells = nbformat.read(ROOT / path, as_version=4).cells
    return next(i for i, cell in enumerate(cells) if "parameters" in cell.metadata.get("tags", []))


def override_parameters(page, panel, path, **values):
    """Append ``name = value`` lines to the lesson's parameters cell in the browser, as papermill's
    ``-p`` would (the notebook is never saved), for the parameters the cell defines."""
    index = parameter_cell_index(path)
    source = nbformat.read(ROOT / path, as_version=4).cells[index].source
    lines = [f"{name} = {value!r}  # the browser test's cheap run" for name, value in values.items()
             if re.search(rf"^{name}\s*[:=]", source, re.MULTILINE)]
    editor = panel.locator(".jp-Notebook-cell").nth(index).locator(".cm-content")
    editor.click()
    for line in lines:
        page.keyboard.press("Control+End")
        page.keyboard.press("Enter")
        page.keyboard.type(line)
    page.keyboard.press("Escape")
    for line in lines:
        assert line.split("  #")[0] in editor.inner_text()
    return lines


def test_learning_rate_slider_adds_a_loss_curve(page, lab):
    """Lesson 07 at its cheapest (1 epoch per training run; the slider's own trials are 5 epochs
    on 160 images): run it, move the learning rate from 1e-3 to 1e-2, see a new curve."""
    path = "notebooks/07_training_a_classifier.ipynb"
    started = time.monotonic()
    panel = open_lesson(page, lab, path)
    override_parameters(page, panel, path, epochs=1)
    run_all_cells(page, panel, path)
    widget, slider = interact(panel, "learning rate")

    text = printed(widget)
    text.filter(has_text="training loss").wait_for(timeout=WIDGET_S * 1000)
    before_text, before_src = text.inner_text(), image_src(widget)
    readout = slider.locator(".widget-readout")
    start = float(readout.inner_text())  # the slider shows "1e-3", the printed text "1e-03"
    assert float(LEARNING_RATE.search(before_text).group(1)) == start, (readout.inner_text(), before_text)
    before_png = shoot(widget, "07_learning_rate_before.png")

    new = 1e-2 if start != 1e-2 else 1e-3
    set_slider(slider, f"{new:.0e}")
    text.filter(has_text=f"learning rate {new:.0e}:").wait_for(timeout=WIDGET_S * 1000)
    after_src = wait_for_new_image(page, widget, before_src)
    after_text = text.inner_text()
    after_png = shoot(widget, "07_learning_rate_after.png")

    assert float(readout.inner_text()) == new
    assert after_src != before_src, "the loss plot did not change"
    assert after_png != before_png, "the widget looks the same after the move"
    assert_not_saved(lab, path)
    print(f"07: {before_text!r} -> {after_text!r} in {time.monotonic() - started:.0f} s")
