"""Smoke tests of ``benchmarks.cold_start`` and ``benchmarks.heygen_scale``: tiny runs,
sane numbers, no assertion about speed."""

from __future__ import annotations

import pytest

from benchmarks import cold_start, heygen_scale


@pytest.mark.live
def test_cold_start_measures_every_strategy() -> None:
    runs = cold_start.measure([0.2], runs=1)
    assert sorted(r.strategy for r in runs) == sorted(cold_start.STRATEGIES)
    for run in runs:
        assert run.duration == 0.2
        assert run.requests >= 1
        assert 0 <= run.lateness < 5
    table = cold_start.table(runs)
    assert all(f"| 0.2 s | {name} |" in table for name in cold_start.STRATEGIES)


def test_percentile() -> None:
    assert cold_start.percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert cold_start.percentile([1.0, 2.0], 95) == pytest.approx(1.95)


@pytest.mark.parametrize("strategy", list(heygen_scale.STRATEGIES))
def test_heygen_scale_learns_every_job(strategy: str) -> None:
    outcome = heygen_scale.simulate(strategy, jobs=12, seed=1)
    assert outcome.requests_per_job >= 2  # at least a first poll and the final one
    assert 0 <= outcome.p50 <= outcome.p95 < 120
