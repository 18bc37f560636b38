# Every target sets itself up: a fresh machine needs only python3 (3.11+).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

# The venv with every extra: what make test and each of its checks use.
DEV := $(VENV)/.installed-server,dev,bench,cli,docs,redis

# The suite mostly waits on live servers and on jobs' delays: on two cores, four
# workers finish it in about half the time two take. A fifth saves a few seconds
# at most, for 8 s more CPU to start it and more contention for the tests that
# wait on real clocks. Whole files go to one worker, so module-scoped servers
# start once.
# The fuzz tests run on their own, as tests/fuzz/conftest.py explains, and without
# coverage: tracing doubled their time and added no covered line. They alone use
# schemathesis's plugin; the suite leaves it out, which saves each of its workers
# about a second of CPU at start (importing it, and rewriting its asserts).
PYTEST_PARALLEL ?= -n 4 --dist loadfile

# The checks of make test; each is also a target of its own.
CHECKS := lint typecheck docs-check package pytest fuzz
# What the checks that keep no time run under, so that when make test runs them
# beside the suite, the suite's tests (which wait on real clocks) get the CPU first.
YIELD := nice -n 10

.PHONY: test $(CHECKS) docs demo bench bench-server redis-server clean

# uv installs the extras: it resolves, fetches and unpacks in parallel, a fresh
# install in seconds where pip takes about a minute. It reads UV_INDEX_URL (or
# UV_DEFAULT_INDEX), not pip's configuration. --compile-bytecode writes the .pyc
# files pip would: without them every process the suite starts compiles its imports
# anew where PYTHONDONTWRITEBYTECODE is set.
$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/bin/uv: | $(PY)
	$(PY) -m pip install --quiet uv

# The stamp records which extras are installed; it is redone when pyproject.toml changes.
$(VENV)/.installed-%: pyproject.toml | $(VENV)/bin/uv
	$(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) -e ".[$*]"
	touch $@

# The store tests start real Redis servers (the redis_server fixture): the binary
# comes from the Debian package, installed as root when it is missing.
redis-server:
	@command -v redis-server >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; }

# Every check at once, after the install: the suite mostly waits on live servers,
# and the other checks use the CPU it leaves idle. Each check's output is shown
# whole when it ends (--output-sync); all of them run even when one fails
# (--keep-going), so one run shows every failure, and make test then fails.
# make 3.81 (macOS's) has no --output-sync: there the outputs interleave.
test: $(DEV) redis-server
	@$(MAKE) --no-print-directory --jobs=$(words $(CHECKS)) $(if $(filter output-sync,$(.FEATURES)),--output-sync=target) --keep-going $(CHECKS)

lint: $(DEV)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(DEV)
	$(YIELD) $(PY) -m mypy

# The site as make docs builds it, quietly: --strict fails on a broken link,
# anchor or reference.
docs-check: $(DEV)
	$(YIELD) $(PY) -m mkdocs build --strict --quiet

# Build the sdist and wheel, check them with twine, check-wheel-contents and
# check-manifest, install the wheel into a fresh venv and follow docs/quickstart.md
# there (scripts/package_check.py says how).
package: $(DEV)
	$(PY) -m scripts.package_check

pytest: $(DEV) redis-server
	$(PY) -m pytest $(PYTEST_PARALLEL) -p no:schemathesis --ignore=tests/fuzz --cov --cov-report=term-missing:skip-covered

fuzz: $(DEV)
	$(YIELD) $(PY) -m pytest tests/fuzz

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
