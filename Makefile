# Mango developer tasks. `make demo` and `make test` are all a new machine needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Every plugin distribution in the repository (plugins/<name>/pyproject.toml).
PLUGIN_DIRS := $(patsubst %/pyproject.toml,%,$(wildcard plugins/*/pyproject.toml))
PLUGIN_NAMES := $(notdir $(PLUGIN_DIRS))
EXAMPLE_PLUGIN := tests/example_plugin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: install demo serve test test-sqlite test-postgres lint catalogs clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Mango needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Core and every plugin of the repository, editable, plus compiled message catalogues.
install: $(BIN)/python
	$(BIN)/pip install --quiet -e . $(foreach d,$(PLUGIN_DIRS),-e $(d))
	$(MAKE) --no-print-directory catalogs

catalogs:
	$(BIN)/python -m mango_core.web.catalogs mango_core $(foreach d,$(PLUGIN_DIRS),$(d)/mango_$(notdir $(d)))

# Demo: SQLite in ./instance with every plugin of the repository loaded (written to
# instance/mango.toml), demo partners/locations/users (logins printed) and data, Opcare served.
demo: install
	$(foreach p,$(PLUGIN_NAMES),$(BIN)/mango plugins enable $(p) &&) true
	$(BIN)/mango db upgrade
	$(BIN)/mango demo
	$(BIN)/mango serve --host $(HOST) --port $(PORT)

serve:
	$(BIN)/mango serve --host $(HOST) --port $(PORT)

# The whole suite (SQLite; set MANGO_TEST_DATABASE_URL for PostgreSQL), one pytest-xdist worker per
# core (at most 4; TEST_WORKERS=0 runs it in one process). A test file stays on one worker, so its
# module-wide servers start once; each worker has its own database (mango_core.testing.fixtures).
TEST_WORKERS ?= auto
test: install
	$(BIN)/pip install --quiet -e '.[test]' -e $(EXAMPLE_PLUGIN)
	$(BIN)/python -m mango_core.web.catalogs $(EXAMPLE_PLUGIN)/mango_example
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --maxprocesses 4 --dist loadscope $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) instance .pytest_cache
