"""Print how many requests the fuzzers made, and how many got a 5xx.

These tests run in one process, in file order: each file ends with a guard that
checks the fuzzers before it really ran. Under pytest-xdist they are skipped,
because schemathesis gives all of one test's operations the same node id,
which xdist's schedulers cannot tell apart; ``make test`` runs them on their own.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz._support import REGISTRY

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the fuzz tests in an xdist worker, saying how to run them."""
    if not hasattr(config, "workerinput"):
        return
    skip = pytest.mark.skip(reason="run tests/fuzz without -n (make test does): see its conftest")
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per fuzzed app: requests and 5xx answers (the figures in docs/reliability.md)."""
    # One request is only schemathesis reading /openapi.json: that app was not fuzzed.
    used = [traffic for traffic in REGISTRY.values() if traffic.requests > 1]
    if not used:
        return
    terminalreporter.section("fuzzing")
    for traffic in used:
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(traffic.statuses.items()))
        terminalreporter.write_line(
            f"{traffic.label}: {traffic.requests} requests, {traffic.server_errors} 5xx ({codes})"
        )
    total = sum(t.requests for t in used)
    errors = sum(t.server_errors for t in used)
    terminalreporter.write_line(f"total: {total} requests, {errors} 5xx")
