# The two commands of the course (see README.md):
#   make lab    set up .venv if needed, then open JupyterLab on the course
#   make test   set up .venv if needed, then run the unit tests and every notebook with nbval
# Only Python 3.10+ is needed beforehand; nothing is installed outside .venv.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.medlab-installed
PORT ?= 8888

.PHONY: lab test setup constraints clean-notebooks bench

setup: $(STAMP)

$(STAMP): pyproject.toml requirements/constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -e ".[dev]"
	@touch $@

lab: $(STAMP)
	$(BIN)/jupyter lab --port=$(PORT) --notebook-dir=. notebooks/00_course_map.ipynb

test: $(STAMP)
	$(BIN)/python -m pytest

# Re-pin requirements/constraints.txt to what .venv holds now.
constraints: $(STAMP)
	{ echo "# Versions the stored notebook outputs were made with (Python 3.11, Linux x86-64)."; \
	  echo "# Used by 'make' as pip constraints; regenerate with: make constraints"; \
	  $(BIN)/python -m pip freeze --exclude-editable | grep -v -E "^(pip|setuptools|wheel)=="; \
	} > requirements/constraints.txt.new && mv requirements/constraints.txt.new requirements/constraints.txt

# Re-run every numbered notebook in place (after editing one).
clean-notebooks: $(STAMP)
	$(BIN)/python tools/execute_notebooks.py

bench: $(STAMP)
	$(BIN)/python benchmarks/ops.py
