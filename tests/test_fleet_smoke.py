"""Smoke test of the fleet benchmark (``benchmarks/fleet.py``), run tiny.

Two client processes share a budget through a real Redis against a
rate-limited server; the report must have every field, and the server must
have seen no 429. No assertion is about speed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import fleet

pytestmark = [pytest.mark.live, pytest.mark.timeout(60)]


def test_tiny_budget_run_reports_sane_figures(tmp_path: Path) -> None:
    fig = fleet.budget(tmp_path, processes=2, jobs_each=2, rate=5.0, seconds=1.5)

    assert fig["processes"] == 2
    assert fig["server_429"] == 0
    assert 0 < fig["status_requests"] <= 5.0 * (fig["run_seconds"] + 1) + 2
    # GCRA: any 1 s window holds at most rate x 1 s + burst (2) requests.
    assert 0 < fig["peak_1s"] <= 5 + 2


def test_the_peak_window_counts_requests_within_one_second() -> None:
    assert fleet._peak([0.0, 0.5, 0.99, 1.0, 1.5, 3.0], 1.0) == 3
    assert fleet._peak([], 1.0) == 0


def test_an_unknown_scenario_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        fleet.main(["dedupe"])
    assert "unknown scenario" in capsys.readouterr().err
