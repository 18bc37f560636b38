# Every target sets itself up: a fresh machine needs only python3 (3.11+).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: test lint typecheck pytest package demo bench bench-server clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# The stamp records which extras are installed; it is redone when pyproject.toml changes.
$(VENV)/.installed-%: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[$*]"
	touch $@

test: $(VENV)/.installed-server,dev,bench,cli
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) scripts/package_check.py
	$(PY) -m coverage erase
	$(PY) -m coverage run -m pytest
	$(PY) -m coverage combine --quiet
	$(PY) -m coverage report

# Build the sdist and wheel, twine check them, install the wheel into a fresh venv
# and follow docs/quickstart.md there (scripts/package_check.py says how).
package: $(VENV)/.installed-server,dev
	$(PY) scripts/package_check.py

demo: $(VENV)/.installed-server
	$(PY) -m heygen_client demo

bench: $(VENV)/.installed-server,dev,bench,cli
	$(PY) -m benchmarks

bench-server: $(VENV)/.installed-server,dev,bench,cli
	$(PY) -m benchmarks.server

clean:
	rm -rf $(VENV) .coverage .coverage.* .mypy_cache .pytest_cache .ruff_cache
