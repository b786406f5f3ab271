"""The course book (``medlab book``) read in a real browser, with the network cut off.

The whole book is built once from the stored notebooks (about 20 s on 2 cores), served on a
localhost port, and read in Debian's Chromium through Playwright. Every request to a host
other than this machine is aborted and recorded (``offline_page`` in ``conftest.py``): a page
that needs a CDN for its math, fonts or scripts fails here. A screenshot of one lesson page is
kept in ``test-artifacts/e2e/`` for reviewers.
"""

from __future__ import annotations

import collections
import functools
import http.server
import re
import threading
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import nbformat
import pytest

from medlab.course import book

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"  # the same folder as conftest.py's
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

pytestmark = pytest.mark.e2e

PAGE_S = 60  # one page: load, MathJax typesetting, images
SEARCH_S = 60  # Sphinx's search: index loaded and results listed
RAW_MATH = re.compile(r"\$[^$\s][^$]*\$|\\\(|\\\[")  # $x$, \(x\) or \[x\] left as text

# MathJax 2 is done when its queue has run the first typesetting (pages without math load no
# MathJax). Polled by wait_for_function, so that a MathJax that never loads ends in a timeout.
_MATH_DONE = """() => {
    if (!document.querySelector('script[src*="MathJax.js"]')) return 'no math';
    if (window.__medlabTypeset) return 'typeset';
    if (!window.__medlabQueued && window.MathJax && MathJax.Hub && MathJax.isReady) {
        window.__medlabQueued = true;
        MathJax.Hub.Queue(() => { window.__medlabTypeset = true; });
    }
    return false;
}"""

# Every image of the page loaded and decoded (lazy ones are loaded first), each within a limit.
_IMAGES = """async (limit) => {
    const images = [...document.images];
    images.forEach((image) => { image.loading = 'eager'; });
    const late = () => new Promise((done) => setTimeout(done, limit));
    return Promise.all(images.map(async (image) => {
        try { await Promise.race([image.decode(), late()]); } catch (error) { /* width 0 below */ }
        return {src: image.getAttribute('src'), width: image.naturalWidth};
    }));
}"""

# The page's text (the navigation too: lesson titles hold math) without code, outputs and
# MathJax's own elements.
_PROSE = """() => {
    const copy = document.body.cloneNode(true);
    copy.querySelectorAll('pre, code, script, style, .highlight, .MathJax_Preview').forEach(e => e.remove());
    return copy.textContent;
}"""


@pytest.fixture(scope="module")
def site(book_tools, tmp_path_factory):
    """The whole course book, built from the stored notebooks."""
    built = book.build(tmp_path_factory.mktemp("book") / "book", ROOT / "notebooks", ROOT / "README.md")
    assert built.warnings == [], "\n".join(built.warnings)
    return built


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(site):
    """The site on a free localhost port (a static host, as GitHub Pages would serve it)."""
    handler = functools.partial(_QuietHandler, directory=str(site.html))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=30)


def page_name(lesson):
    return "index.html" if lesson == LESSONS[0] else f"{lesson.stem}.html"


def read_page(tab, url):
    """Open ``url`` and wait for MathJax and the images; return what the checks need."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    response = tab.goto(url, wait_until="load", timeout=PAGE_S * 1000)
    try:
        math = tab.wait_for_function(_MATH_DONE, timeout=PAGE_S * 1000, polling=100).json_value()
    except PlaywrightTimeout:
        math = f"not typeset in {PAGE_S} s"
    return {
        "status": response.status if response else None,
        "math": math,
        "typeset": tab.locator(".MathJax_CHTML").count(),
        "images": tab.evaluate(_IMAGES, PAGE_S * 1000),
        "prose": tab.evaluate(_PROSE),
        "links": tab.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"),
        "copy_buttons": tab.locator("button.copybtn").count(),
        "code_cells": tab.locator("div.cell_input").count(),
        "downloads": tab.eval_on_selector_all("a.download", "links => links.map(a => a.href)"),
    }


def test_every_page_reads_offline(offline_page, server, site):
    """Each lesson page, the course map and the README pages: no console error, no request
    off this machine, every image decoded, all math typeset, copy buttons on code, and a
    download link to the notebook as stored."""
    tab = offline_page
    pages = {page_name(lesson): lesson for lesson in LESSONS}
    pages.update({f"{name}.html": None for name, _, _ in book.README_PAGES})
    problems, links = [], collections.defaultdict(set)
    for name, lesson in pages.items():
        before = len(tab.console_lines)
        found = read_page(tab, urljoin(server, name))
        errors = [line for line in tab.console_lines[before:] if line.startswith(("[error]", "[pageerror]"))]
        broken = [image["src"] for image in found["images"] if not image["width"]]
        raw = RAW_MATH.findall(found["prose"])
        if found["status"] != 200:
            problems.append(f"{name}: HTTP {found['status']}")
        problems += [f"{name}: console {line}" for line in errors]
        problems += [f"{name}: image not decoded: {src}" for src in broken]
        if raw:
            problems.append(f"{name}: math left as text: {raw[:5]}")
        if found["math"] not in ("typeset", "no math"):
            problems.append(f"{name}: MathJax {found['math']}")
        elif found["math"] == "typeset" and not found["typeset"]:
            problems.append(f"{name}: MathJax ran but typeset nothing")
        if found["code_cells"] and found["copy_buttons"] < found["code_cells"]:
            problems.append(f"{name}: {found['copy_buttons']} copy buttons for {found['code_cells']} code cells")
        if lesson is not None:
            wanted = [url for url in found["downloads"] if url.endswith("/" + lesson.name)]
            if len(wanted) != 1:
                problems.append(f"{name}: no download link to {lesson.name} ({found['downloads']})")
            else:
                body = tab.request.get(wanted[0]).body()
                if body != lesson.read_bytes():
                    problems.append(f"{name}: the downloaded {lesson.name} is not the lesson as stored")
        for link in found["links"]:
            links[link].add(name)
    assert not tab.blocked_requests, f"requests off this machine: {sorted(set(tab.blocked_requests))[:10]}"
    assert not problems, "\n".join(problems)
    lesson_pages = [page_name(lesson) for lesson in LESSONS]
    assert all(any(link.split("#")[0].endswith("/" + page) for link in links) for page in lesson_pages[1:]), \
        "the table of contents does not link every lesson"
    _check_internal_links(tab, server, links)


def _check_internal_links(tab, server, links):
    """Every link into the site answers 200, and its #fragment names an element of the page."""
    pages, broken = {}, []
    for link, sources in sorted(links.items()):
        if urlsplit(link).netloc != urlsplit(server).netloc:
            continue
        address, fragment = urldefrag(link)
        if address not in pages:
            response = tab.request.get(address)
            pages[address] = response.text() if response.ok else None
        text = pages[address]
        if text is None:
            broken.append(f"{link} (from {', '.join(sorted(sources))}): not found")
        elif fragment and not re.search(rf'\bid="{re.escape(fragment)}"', text):
            broken.append(f"{link} (from {', '.join(sorted(sources))}): no #{fragment} there")
    assert len(pages) > len(LESSONS), f"only {len(pages)} pages linked"
    assert not broken, "broken internal links:\n" + "\n".join(broken[:20])


def _word_of_lesson(number):
    """A word of lesson ``number``'s prose found in as few other lessons as possible."""
    def words(path):
        nb = nbformat.read(path, as_version=4)
        text = " ".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
        return collections.Counter(re.findall(r"\b[a-z]{7,}\b", re.sub(r"\$[^$]*\$", " ", text.lower())))

    lesson = next(path for path in LESSONS if path.name.startswith(f"{number:02d}_"))
    own = words(lesson)
    others = [words(path) for path in LESSONS if path != lesson]
    return min(own, key=lambda word: (sum(word in other for other in others), -own[word], word)), lesson


def test_search_finds_a_word_of_lesson_05(offline_page, server, site):
    word, lesson = _word_of_lesson(5)
    tab = offline_page
    tab.goto(urljoin(server, f"search.html?q={word}"), timeout=PAGE_S * 1000)
    tab.wait_for_function(
        "() => { const s = document.querySelector('#search-results .search-summary, p.search-summary');"
        " return s && /found|did not match/i.test(s.textContent); }", timeout=SEARCH_S * 1000, polling=250)
    results = tab.eval_on_selector_all("#search-results ul.search li a", "links => links.map(a => a.href)")
    assert any(urlsplit(url).path.endswith(f"/{lesson.stem}.html") for url in results), (word, results)
    assert not tab.blocked_requests, f"requests off this machine: {sorted(set(tab.blocked_requests))}"
    errors = [line for line in tab.console_lines if line.startswith(("[error]", "[pageerror]"))]
    assert not errors, errors


def test_screenshot_of_a_lesson_page(offline_page, server, site):
    """For reviewers: lesson 02 as a reader sees it (test-artifacts/e2e/book-02_convolution.png)."""
    lesson = next(path for path in LESSONS if path.name.startswith("02_"))
    tab = offline_page
    read_page(tab, urljoin(server, page_name(lesson)))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = tab.screenshot(path=str(ARTIFACTS / f"book-{lesson.stem}.png"), animations="disabled")
    assert shot[:8] == b"\x89PNG\r\n\x1a\n" and tab.locator("h1").first.inner_text().startswith("02")
    assert not tab.blocked_requests
