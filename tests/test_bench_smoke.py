"""Smoke test of the benchmark harness (``benchmarks/``): a tiny workload, every strategy.

It runs the real harness: a fresh mock server per run on a free port, each
strategy's client in its own process, the real baseline libraries. It checks
that the table has every strategy and that the numbers are sane. It is not a
timed test: no assertion is about speed.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from benchmarks import _report
from benchmarks._strategies import STRATEGIES
from benchmarks._workload import Duration, Workload
from benchmarks.harness import RunResult, plan, run_matrix

pytestmark = [pytest.mark.live, pytest.mark.timeout(240)]

WORKLOAD = Workload(
    jobs_count=6,
    spread=0.3,
    duration=Duration("uniform", 0.2, 0.8),
    clip=(0.2, 0.8),
    error_rate=0.34,
    seed=3,
)
MODES = ["plain", "hints", "long-poll", "batch"]
#: Loose: the slowest baseline (backoff, uncapped full jitter) learns a job of
#: under a second well within this.
LATENESS_BOUND = 10.0


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[RunResult], Path]:
    out = tmp_path_factory.mktemp("bench")
    runs = plan(list(STRATEGIES), MODES)
    results = run_matrix(WORKLOAD, runs, out, parallel=4, progress=False)
    return results, out


def by_label(results: list[RunResult]) -> dict[str, RunResult]:
    return {r.label: r for r in results}


def test_plan_runs_baselines_in_plain_only_and_ours_in_every_mode() -> None:
    runs = plan(list(STRATEGIES), MODES)
    assert [m for s, m in runs if s == "ours"] == MODES
    assert all(m == "plain" for s, m in runs if s != "ours")
    assert {s for s, _ in runs} == set(STRATEGIES)


def test_every_run_completes_with_right_outcomes(matrix: tuple[list[RunResult], Path]) -> None:
    results, _ = matrix
    assert {r.strategy for r in results} == set(STRATEGIES)
    for r in results:
        assert not r.error, f"{r.label}: {r.error}"
        assert r.jobs == WORKLOAD.jobs_count
        assert r.learned == r.jobs, r.label
        assert r.wrong == 0, r.label


def test_numbers_are_sane(matrix: tuple[list[RunResult], Path]) -> None:
    results, _ = matrix
    for r in results:
        # A batch request counts once for many jobs, so only it may go below one.
        floor = 0.0 if r.mode == "batch" else 1.0
        assert r.req_per_job >= floor, r.label
        assert r.requests >= 1, r.label
        assert 0.0 <= r.lateness_p50 <= r.lateness_p95 <= r.lateness_max, r.label
        assert r.lateness_max < LATENESS_BOUND, r.label
        assert r.peak_threads >= 1, r.label
        assert r.cpu_seconds >= 0.0, r.label
        assert r.peak_rss_mb > 0.0, r.label
        for job in r.per_job:
            # The server logged each job's polls, and the last came after the job's start.
            assert job["request_times"], (r.label, job["job_id"])
            assert max(job["request_times"]) >= job["created_at"]


def test_our_client_runs_in_every_mode(matrix: tuple[list[RunResult], Path]) -> None:
    runs = by_label(matrix[0])
    for mode in MODES:
        assert f"ours ({mode})" in runs
    # Sanity, not a target: long-poll needs about one request per job.
    assert runs["ours (long-poll)"].req_per_job < runs["fixed-0.1s (plain)"].req_per_job


def test_economical_preset_runs_in_plain_only(matrix: tuple[list[RunResult], Path]) -> None:
    assert [r.mode for r in matrix[0] if r.strategy == "ours-economical"] == ["plain"]
    assert "| ours-economical | plain |" in _report.table(matrix[0])


def test_faster_fixed_loop_costs_more_requests(matrix: tuple[list[RunResult], Path]) -> None:
    runs = by_label(matrix[0])
    assert runs["fixed-0.1s (plain)"].req_per_job > runs["fixed-1s (plain)"].req_per_job


def test_thread_per_job_baselines_start_a_thread_per_job(
    matrix: tuple[list[RunResult], Path],
) -> None:
    runs = by_label(matrix[0])
    # Every job runs at once in this workload (arrivals over 0.3 s, each >= 0.2 s)
    # at least for the first poll; the sampler may miss a short-lived peak, so
    # this asserts only more than the main thread.
    for name in ("fixed-1s", "google", "backoff"):
        assert runs[f"{name} (plain)"].peak_threads > 1


def test_report_has_a_row_per_run_and_pictures(
    matrix: tuple[list[RunResult], Path],
) -> None:
    results, out = matrix
    text = _report.write_all(
        out, results, WORKLOAD, command="smoke", scale=None, plots=True, parallel=4
    )
    table = _report.table(results)
    rows = [line for line in table.splitlines()[2:] if line.startswith("|")]
    assert len(rows) == len(results)
    for r in results:
        assert f"| {r.strategy} | {r.mode} |" in table
    assert "## Targets" in text
    for name in ("scatter.png", "timeline.png", "results.json", "report.md"):
        path = out / name
        assert path.stat().st_size > 0, name
    assert not math.isnan(results[0].req_per_job)


@pytest.mark.live
def test_the_threads_probe_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import threads

    argv = ["--threads", "4", "--seconds", "0.5", "--jobs", "10", "--longest", "0.6"]
    assert threads.main(argv) == 0
    assert ", 0 wrong, library threads left: none" in capsys.readouterr().out
