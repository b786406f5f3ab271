# The two commands of the course (see README.md):
#   make lab    set up .venv if needed, then open JupyterLab on the course
#   make test   set up .venv if needed, then run the unit tests and every notebook with nbval
#   make book   the course as a static website, build/book/html (from the stored outputs)
# Only Python 3.11+ is needed beforehand; nothing is installed outside .venv, except Chromium
# for the browser test and MathJax for the book (make e2e-deps, make book-deps: Debian's
# packages, and only when run as root).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.medlab-installed
PORT ?= 8888

.PHONY: lab test e2e-deps book book-deps setup constraints clean-notebooks bench

setup: $(STAMP)

$(STAMP): pyproject.toml requirements/constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -e ".[dev,cluster,book,grading]"
	@touch $@

# LAB_ARGS: more options, e.g. make lab LAB_ARGS=--no-browser. Jupyter refuses to run as root
# (a container, a CI machine) unless told, so root gets --allow-root.
# No "Would you like to get notified about official Jupyter news?" pop-up over the first lesson:
# jupyter_config/labconfig/default_setting_overrides.json sets JupyterLab's default to "never fetch
# news" (a student's own settings still win), and the server neither fetches news nor checks for
# new versions (news_url=None, NeverCheckForUpdate). Nothing is written outside the course folder.
LAB_ARGS ?=
ROOT_ARGS := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root)
LAB_CONFIG_PATH := $(CURDIR)/jupyter_config$(if $(JUPYTER_CONFIG_PATH),:$(JUPYTER_CONFIG_PATH))
lab: $(STAMP)
	JUPYTER_CONFIG_PATH="$(LAB_CONFIG_PATH)" $(BIN)/jupyter lab --port=$(PORT) --notebook-dir=. \
	  --LabApp.news_url=None --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate \
	  $(ROOT_ARGS) $(LAB_ARGS) notebooks/00_course_map.ipynb

# Two pytest workers (pytest-xdist), one notebook or test module per worker at a time: the suite
# waits on kernels and subprocesses often enough that 2 workers on 2 cores take about 7 minutes
# instead of 10 (benchmarks/suite.py). PYTEST_WORKERS=0 runs it in one process.
PYTEST_WORKERS ?= 2
test: $(STAMP) e2e-deps book-deps
	$(BIN)/python -m pytest $(if $(filter 0,$(PYTEST_WORKERS)),,--numprocesses=$(PYTEST_WORKERS) --dist=loadscope)

# $(call apt_install,PRESENT-TEST,PACKAGES,WHAT,NO-APT-NOTE,NO-ROOT-NOTE): install Debian packages
# when PRESENT-TEST fails and we may (root, or passwordless sudo, with apt-get); otherwise print
# the note and go on. A failed install is a note too: the tests that need it then say why.
apt_install = if $(1); then :; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
	  echo "note: $(4)"; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "installing $(3): apt-get install $(2)"; \
	  sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(2)' \
	    || echo "note: could not install $(3); its tests will skip (under CI=true: fail)"; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
	  echo "installing $(3) with sudo"; \
	  sudo -n sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(2)' \
	    || echo "note: could not install $(3); its tests will skip (under CI=true: fail)"; \
	else \
	  echo "note: $(5)"; \
	fi

# The browser test (tests/e2e) drives Debian's Chromium with Playwright. Install it when it is
# missing and we may (root, or passwordless sudo, with apt-get); otherwise print a note and go on:
# the test then skips, except under CI=true, where it fails and says why.
CHROMIUM ?= $(or $(MEDLAB_CHROMIUM),/usr/bin/chromium)
e2e-deps:
	@$(call apt_install,[ -x "$(CHROMIUM)" ],chromium,Chromium for the browser test,no $(CHROMIUM) and no apt-get: the browser test (tests/e2e) will skip; see README,no $(CHROMIUM) and no root: the browser test (tests/e2e) will be skipped; to run it: sudo make e2e-deps (or sudo apt-get install chromium))

# The course as a static website (README, "The course as a book"): build/book/html, from the
# stored notebooks, not run again. BOOK_ARGS: more options, e.g. make book BOOK_ARGS=--no-solutions
# (the lessons as the students get them); see .venv/bin/medlab book --help.
BOOK_ARGS ?=
book: $(STAMP) book-deps
	$(BIN)/medlab book $(BOOK_ARGS)

# The book typesets its math with Debian's MathJax 2.7, copied into the site (no CDN). Installed
# like Chromium above: when missing and we may (root, or passwordless sudo); otherwise a note,
# and `medlab book` says what is missing (the book test skips, except under CI=true).
MATHJAX ?= $(or $(MEDLAB_MATHJAX),/usr/share/javascript/mathjax)
book-deps:
	@$(call apt_install,[ -f "$(MATHJAX)/MathJax.js" ] && [ -d "$(MATHJAX)/fonts/HTML-CSS/TeX/woff" ],libjs-mathjax fonts-mathjax,MathJax for the book,no MathJax at $(MATHJAX) and no apt-get: make book cannot typeset math; set MEDLAB_MATHJAX to a MathJax 2.7 folder (README),no MathJax at $(MATHJAX) and no root: to build the book: sudo make book-deps (or sudo apt-get install libjs-mathjax fonts-mathjax))

# Re-pin requirements/constraints.txt to what .venv holds now.
constraints: $(STAMP)
	{ echo "# Versions the stored notebook outputs were made with (Python 3.11, Linux x86-64)."; \
	  echo "# Used by 'make' as pip constraints; regenerate with: make constraints"; \
	  $(BIN)/python -m pip freeze --exclude-editable | grep -v -E "^(pip|setuptools|wheel)=="; \
	} > requirements/constraints.txt.new && mv requirements/constraints.txt.new requirements/constraints.txt

# Re-run every numbered notebook in place (after editing one).
clean-notebooks: $(STAMP)
	$(BIN)/python tools/execute_notebooks.py
	$(BIN)/medlab exercises release

bench: $(STAMP)
	$(BIN)/python benchmarks/ops.py
