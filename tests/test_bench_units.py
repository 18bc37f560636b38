"""The benchmark harness's pure pieces: workload drawing, percentiles, Pareto front, targets,
the scale run's memory report."""

from __future__ import annotations

import math
import tracemalloc

import pytest

from benchmarks._plots import pareto_front
from benchmarks._report import targets
from benchmarks._stats import percentile
from benchmarks._workload import Duration, Workload
from benchmarks.harness import RunResult
from benchmarks.scale import _traced_memory, memory_table


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lognormal:4,0.6", Duration("lognormal", 4.0, 0.6)),
        ("uniform:1,15", Duration("uniform", 1.0, 15.0)),
    ],
)
def test_duration_parse(text: str, expected: Duration) -> None:
    assert Duration.parse(text) == expected
    assert str(Duration.parse(text)) == text


@pytest.mark.parametrize("text", ["normal:1,2", "lognormal:0,1", "uniform:5,1", "uniform:1"])
def test_duration_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="bad"):
        Duration.parse(text)


def test_workload_is_seeded_sorted_and_clipped() -> None:
    w = Workload(jobs_count=300, spread=20, clip=(1, 15), error_rate=0.1, seed=7)
    jobs = w.jobs()
    assert jobs == w.jobs()
    assert jobs != Workload(jobs_count=300, seed=8).jobs()
    arrivals = [j.arrival for j in jobs]
    assert arrivals == sorted(arrivals)
    assert all(0 <= a <= 20 for a in arrivals)
    assert all(1 <= j.delay <= 15 for j in jobs)
    errors = sum(j.outcome == "error" for j in jobs)
    assert 0 < errors < 90
    assert {j.outcome for j in jobs} == {"completed", "error"}


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile(values, 100) == 100
    assert percentile([3.0], 50) == 3.0
    assert math.isnan(percentile([], 50))


def test_pareto_front_keeps_only_undominated_points() -> None:
    points = [(6.4, 500.0), (36.7, 75.0), (5.6, 1070.0), (3.9, 2000.0), (4.7, 2100.0)]
    assert pareto_front(points) == [(3.9, 2000.0), (5.6, 1070.0), (6.4, 500.0), (36.7, 75.0)]


def _run(strategy: str, mode: str, req: float, p50: float, p95: float) -> RunResult:
    return RunResult(strategy, mode, jobs=10, req_per_job=req, lateness_p50=p50, lateness_p95=p95)


def test_targets_report_met_and_missed_with_margins() -> None:
    results = [
        _run("ours", "plain", 3.0, 0.30, 0.90),
        _run("fixed-1s", "plain", 6.4, 0.50, 0.96),
        _run("google", "plain", 5.6, 1.07, 6.0),
        _run("tenacity", "plain", 2.9, 2.0, 7.7),
        _run("ours", "hints", 2.0, 0.2, 0.4),
        _run("ours", "long-poll", 1.2, 0.01, 0.02),
    ]
    text = targets(results, None)
    lines = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines()[2:]}
    assert "| met |" in lines["plain: fewer req/job than fixed 1 s"]
    assert "| met |" in lines["plain: Pareto-dominates google"]
    # Fewer requests but later: tenacity is not dominated.
    assert "**missed**" in lines["plain: Pareto-dominates tenacity"]
    assert "**missed**" in lines["hints: median lateness <= 150 ms"]
    assert "+50 ms" in lines["hints: median lateness <= 150 ms"]
    assert "| met |" in lines["long-poll: <= 1.5 req/job"]


def test_pareto_dominance_is_judged_on_the_best_plain_row_and_names_it() -> None:
    results = [
        _run("ours", "plain", 6.0, 0.45, 0.90),
        _run("ours-economical", "plain", 3.4, 0.90, 2.0),
        _run("fixed-1s", "plain", 6.4, 0.50, 0.96),
        _run("google", "plain", 6.2, 1.2, 6.0),
        _run("tenacity", "plain", 3.9, 2.1, 7.7),
        _run("polling2", "plain", 3.0, 2.1, 7.7),
    ]
    text = targets(results, None)
    lines = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines()[2:]}
    # The fixed-1 s targets stay the default client's.
    assert "6.00 vs 6.40" in lines["plain: fewer req/job than fixed 1 s"]
    # Only the economical row dominates tenacity; both dominate google.
    tenacity = lines["plain: Pareto-dominates tenacity"]
    assert "| met |" in tenacity
    assert "ours-economical (plain): 3.40 req, 900 ms" in tenacity
    google = lines["plain: Pareto-dominates google"]
    assert "| met |" in google
    assert "ours (plain): 6.00 req" in google
    assert "also ours-economical (plain)" in google
    # Nothing dominates polling2 (fewer requests): the closest row is shown.
    polling2 = lines["plain: Pareto-dominates polling2"]
    assert "**missed**" in polling2
    assert "ours-economical (plain)" in polling2
    assert "req +0.40" in polling2


def _hold_200_kb() -> list[bytes]:
    return [bytes(2_000) for _ in range(100)]  # the line the report must name


def test_the_memory_report_names_the_lines_holding_the_most_per_job() -> None:
    tracemalloc.start()
    try:
        held = _hold_200_kb()
        memory = _traced_memory(top=3)
    finally:
        tracemalloc.stop()
    assert len(held) == 100
    top = memory["lines"][0]
    assert top["where"].endswith(f"test_bench_units.py:{_hold_200_kb.__code__.co_firstlineno + 1}")
    assert top["count"] >= 100
    assert 200_000 <= top["bytes"] <= memory["traced"] <= memory["peak"]
    table = memory_table({"jobs": 100, "memory": memory})
    assert f"| {top['bytes'] / 100:.0f} | {top['count']} | `{top['where']}` |" in table
