# Every target sets itself up: a fresh machine needs only python3 (3.11+).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

# The suite mostly waits on live servers: two workers halve its time on two cores.
# Whole files go to one worker, so module-scoped servers start once. The fuzz
# tests run on their own, as tests/fuzz/conftest.py explains, and without coverage:
# tracing doubled their time and added no covered line.
PYTEST_PARALLEL ?= -n 2 --dist loadfile

.PHONY: test lint typecheck pytest package docs demo bench bench-server redis-server clean

# uv installs the extras: it resolves, fetches and unpacks in parallel, a fresh
# install in seconds where pip takes about a minute. It reads UV_INDEX_URL (or
# UV_DEFAULT_INDEX), not pip's configuration. --compile-bytecode writes the .pyc
# files pip would: without them every process the suite starts compiles its imports
# anew where PYTHONDONTWRITEBYTECODE is set.
$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet uv

# The stamp records which extras are installed; it is redone when pyproject.toml changes.
$(VENV)/.installed-%: pyproject.toml | $(PY)
	$(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) -e ".[$*]"
	touch $@

# The store tests start real Redis servers (the redis_server fixture): the binary
# comes from the Debian package, installed as root when it is missing.
redis-server:
	@command -v redis-server >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; }

test: $(VENV)/.installed-server,dev,bench,cli,docs,redis redis-server
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m mkdocs build --strict --quiet
	$(PY) -m scripts.package_check
	$(PY) -m pytest $(PYTEST_PARALLEL) --ignore=tests/fuzz --cov --cov-report=term-missing:skip-covered
	$(PY) -m pytest tests/fuzz

# Build the sdist and wheel, check them with twine, check-wheel-contents and
# check-manifest, install the wheel into a fresh venv and follow docs/quickstart.md
# there (scripts/package_check.py says how).
package: $(VENV)/.installed-server,dev
	$(PY) -m scripts.package_check

# The docs as a site in site/ (not committed), with the API reference generated
# from the docstrings; --strict fails on a broken link, anchor or reference.
docs: $(VENV)/.installed-docs
	$(PY) -m mkdocs build --strict

demo: $(VENV)/.installed-server
	$(PY) -m heygen_client demo

bench: $(VENV)/.installed-server,dev,bench,cli,redis redis-server
	$(PY) -m benchmarks

bench-server: $(VENV)/.installed-server,dev,bench,cli
	$(PY) -m benchmarks.load

clean:
	rm -rf $(VENV) .coverage .coverage.* .mypy_cache .pytest_cache .ruff_cache site
