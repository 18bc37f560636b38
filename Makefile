# Every target sets itself up: a fresh machine needs only python3 (3.11+).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

# The suite mostly waits on live servers: two workers halve its time on two cores.
# Whole files go to one worker, so module-scoped servers start once. The fuzz
# tests run on their own, as tests/fuzz/conftest.py explains, and without coverage:
# tracing doubled their time and added no covered line.
PYTEST_PARALLEL ?= -n 2 --dist loadfile

.PHONY: test lint typecheck pytest package docs demo bench bench-server clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# The stamp records which extras are installed; it is redone when pyproject.toml changes.
$(VENV)/.installed-%: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[$*]"
	touch $@

test: $(VENV)/.installed-server,dev,bench,cli,docs
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m mkdocs build --strict --quiet
	$(PY) scripts/package_check.py
	$(PY) -m pytest $(PYTEST_PARALLEL) --ignore=tests/fuzz --cov --cov-report=term-missing:skip-covered
	$(PY) -m pytest tests/fuzz

# Build the sdist and wheel, twine check them, install the wheel into a fresh venv
# and follow docs/quickstart.md there (scripts/package_check.py says how).
package: $(VENV)/.installed-server,dev
	$(PY) scripts/package_check.py

# The docs as a site in site/ (not committed), with the API reference generated
# from the docstrings; --strict fails on a broken link, anchor or reference.
docs: $(VENV)/.installed-docs
	$(PY) -m mkdocs build --strict

demo: $(VENV)/.installed-server
	$(PY) -m heygen_client demo

bench: $(VENV)/.installed-server,dev,bench,cli
	$(PY) -m benchmarks

bench-server: $(VENV)/.installed-server,dev,bench,cli
	$(PY) -m benchmarks.server

clean:
	rm -rf $(VENV) .coverage .coverage.* .mypy_cache .pytest_cache .ruff_cache site
