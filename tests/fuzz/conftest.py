"""Print how many requests the fuzzers made, and how many got a 5xx."""

from __future__ import annotations

import pytest

from tests.fuzz._support import REGISTRY


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
