"""Smoke tests of ``benchmarks.cold_start``, ``benchmarks.heygen_scale`` and
``benchmarks.heygen_live``: tiny runs, sane numbers, no assertion about speed."""

from __future__ import annotations

import pytest

from benchmarks import cold_start, heygen_live, heygen_scale
from benchmarks._workload import Duration, Workload


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


#: A few short jobs: translations of half a second to a second at --time-scale 60.
TINY = Workload(jobs_count=4, spread=0.3, duration=Duration("uniform", 0.5, 1.0), clip=(0.5, 1.0))


@pytest.mark.live
def test_heygen_live_w_runs_ours_and_every_baseline() -> None:
    runs = heygen_live.measure_w(TINY, scale=60.0)
    assert [r.name for r in runs] == [heygen_live.OURS, *heygen_live.BASELINES]
    for run in runs:
        assert run.wrong == 0
        assert len(run.lateness) == run.jobs == 4  # every outcome learned
        assert all(-0.05 < late < 5 for late in run.lateness.values())
        assert run.requests >= 1
        assert f"| {run.name} |" in run.row()
    ours = runs[0]
    assert ours.requests == ours.single + ours.bulk


@pytest.mark.live
def test_heygen_live_webhooks_learn_every_job_lost_webhooks_by_a_poll() -> None:
    kept, dropped = heygen_live.measure_webhooks(TINY, scale=60.0, drop_rate=0.5)
    assert len(kept.by_webhook) == len(kept.lateness) == 4
    assert kept.webhooks["dropped"] == 0
    assert len(dropped.lateness) == 4  # nothing lost
    assert len(dropped.by_poll) >= dropped.webhooks["dropped"]  # each lost one: by a poll


@pytest.mark.live
def test_heygen_live_bulk_counts_requests_per_window() -> None:
    bulk = heygen_live.measure_bulk(jobs=30, seconds=1.0)
    assert bulk.requests == bulk.single + bulk.bulk
    assert 1 <= bulk.busiest <= bulk.requests
    assert bulk.bulk >= 1  # 30 jobs asked about in bulk, not one by one


def test_busiest_window() -> None:
    assert heygen_live.busiest([0.0, 10.0, 29.0, 31.0, 75.0], 30.0) == 3
    assert heygen_live.busiest([], 30.0) == 0
