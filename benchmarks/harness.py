"""The strategy x server-mode matrix: ``python -m benchmarks``.

For each (strategy, mode) it starts a fresh mock server, runs the strategy's
client in its own process on the same seeded workload, samples that process's
threads and RSS, then reads the server's ``/stats`` and each job's record.
Runs go one after another (``--parallel`` exists for the smoke test only: it
skews lateness and CPU).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from benchmarks._server import MODE_FLAGS, MockServer, exit_on_sigterm, status_requests
from benchmarks._stats import percentile
from benchmarks._strategies import STRATEGIES, STRATEGY_MODES
from benchmarks._workload import Duration, JobSpec, Workload

RESULTS = Path(__file__).resolve().parent / "results"
#: How often the parent samples the client's threads and RSS.
SAMPLE_EVERY = 0.02
#: Extra seconds a run may take beyond the last arrival and the longest job.
GRACE = 30.0


@dataclass
class RunResult:
    """What one (strategy, mode) run measured."""

    strategy: str
    mode: str
    jobs: int = 0
    learned: int = 0
    wrong: int = 0
    requests: int = 0
    req_per_job: float = math.nan
    lateness_p50: float = math.nan
    lateness_p95: float = math.nan
    lateness_max: float = math.nan
    peak_threads: int = 0
    cpu_seconds: float = math.nan
    peak_rss_mb: float = math.nan
    added_rss_mb: float = math.nan
    track_seconds: float = math.nan
    wall_seconds: float = math.nan
    error: str = ""
    per_job: list[dict[str, Any]] = field(default_factory=list)

    @property
    def label(self) -> str:
        """``strategy (mode)``."""
        return f"{self.strategy} ({self.mode})"

    def summary(self) -> dict[str, Any]:
        """Everything but the per-job details."""
        return {k: v for k, v in self.__dict__.items() if k != "per_job"}


def run_timeout(workload: Workload) -> float:
    """How long the client may wait for the last outcome after the last arrival."""
    return workload.longest * 3 + GRACE


def run_one(
    strategy: str, mode: str, workload: Workload, jobs: list[JobSpec], log_dir: Path
) -> RunResult:
    """One run on a fresh server; never raises for a failing client (see ``error``)."""
    result = RunResult(strategy, mode, jobs=len(jobs))
    timeout = run_timeout(workload)
    server = MockServer(*MODE_FLAGS[mode], "--seed", str(workload.seed))
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        spec_path = Path(tmp) / "spec.json"
        out_path = Path(tmp) / "out.json"
        try:
            server.start()
            spec_path.write_text(
                json.dumps(
                    {
                        "strategy": strategy,
                        "url": server.url,
                        "timeout": timeout,
                        "jobs": [j.__dict__ for j in jobs],
                    }
                )
            )
            log_path = log_dir / f"client-{strategy}-{mode}.log"
            started = time.monotonic()
            peak_threads, peak_rss = _run_client(
                spec_path, out_path, log_path, workload.spread + timeout + GRACE
            )
            result.wall_seconds = time.monotonic() - started
            if not out_path.exists():
                result.error = f"client wrote no result; see {log_path.name}"
                return result
            raw = json.loads(out_path.read_text())
            if "error" in raw:
                result.error = raw["error"]
                return result
            _fill(result, raw, server, peak_threads, peak_rss)
        except Exception as exc:
            result.error = f"{type(exc).__name__}: {exc}"
        finally:
            server.stop()
    return result


def _run_client(spec_path: Path, out_path: Path, log_path: Path, limit: float) -> tuple[int, int]:
    """Run the client process to its end (killed after ``limit`` s); return its peaks."""
    command = [sys.executable, "-m", "benchmarks._runner", str(spec_path), str(out_path)]
    return run_sampled(command, log_path, limit)


def run_sampled(
    command: list[str], log_path: Path, limit: float, every: float = SAMPLE_EVERY
) -> tuple[int, int]:
    """Run ``command`` to its end, killed after ``limit`` s; return its peak threads and RSS.

    Threads and RSS are sampled from outside the process, so they are the
    child's alone; its output goes to ``log_path``.
    """
    peak_threads = 0
    peak_rss = 0
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            ps = psutil.Process(proc.pid)
            deadline = time.monotonic() + limit
            while proc.poll() is None and time.monotonic() < deadline:
                try:
                    with ps.oneshot():
                        peak_threads = max(peak_threads, ps.num_threads())
                        peak_rss = max(peak_rss, ps.memory_info().rss)
                except psutil.Error:
                    break
                time.sleep(every)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    return peak_threads, peak_rss


def _fill(
    result: RunResult,
    raw: dict[str, Any],
    server: MockServer,
    peak_threads: int,
    peak_rss: int,
) -> None:
    stats = server.stats()
    ids: list[str] = raw["job_ids"]
    learned: dict[str, dict[str, Any]] = raw["learned"]
    result.requests = status_requests(stats)
    result.req_per_job = result.requests / max(1, len(ids))
    lateness: list[float] = []
    for job_id in ids:
        record = server.get_json(f"/jobs/{job_id}")
        seen = learned.get(job_id)
        entry: dict[str, Any] = {
            "job_id": job_id,
            "delay": record["finishes_at"] - record["created_at"],
            "created_at": record["created_at"],
            "finishes_at": record["finishes_at"],
            "outcome": record.get("outcome", record.get("result")),
            "status_requests": record.get("status_requests"),
            "request_times": record.get("status_request_times", []),
            "learned_at": seen["at"] if seen else None,
            "learned_outcome": seen["outcome"] if seen else None,
        }
        if seen:
            late = seen["at"] - record["finishes_at"]
            entry["lateness"] = late
            lateness.append(late)
            if seen["outcome"] != entry["outcome"]:
                result.wrong += 1
        result.per_job.append(entry)
    result.learned = len(lateness)
    result.lateness_p50 = percentile(lateness, 50)
    result.lateness_p95 = percentile(lateness, 95)
    result.lateness_max = max(lateness) if lateness else math.nan
    result.peak_threads = peak_threads
    result.cpu_seconds = raw["cpu_seconds"]
    result.peak_rss_mb = max(peak_rss, raw["maxrss"]) / 2**20
    result.added_rss_mb = (max(peak_rss, raw["maxrss"]) - raw["rss_ready"]) / 2**20
    result.track_seconds = raw["track_seconds"]


def plan(strategies: list[str], modes: list[str]) -> list[tuple[str, str]]:
    """The (strategy, mode) runs: ours in every requested mode, baselines in plain only."""
    runs = []
    for strategy in strategies:
        for mode in STRATEGY_MODES[strategy]:
            if strategy == "ours" and mode not in modes:
                continue
            runs.append((strategy, mode))
    return runs


def run_matrix(
    workload: Workload,
    runs: list[tuple[str, str]],
    out_dir: Path,
    parallel: int = 1,
    progress: bool = True,
) -> list[RunResult]:
    """Run every (strategy, mode) in ``runs``; results in the order of ``runs``."""
    jobs = workload.jobs()
    out_dir.mkdir(parents=True, exist_ok=True)

    def one(run: tuple[str, str]) -> RunResult:
        res = run_one(run[0], run[1], workload, jobs, out_dir)
        if progress:
            print(
                f"  {res.label:22} req/job {res.req_per_job:6.2f}  p50 {res.lateness_p50:7.3f}s"
                f"  p95 {res.lateness_p95:7.3f}s  {res.wall_seconds:5.1f}s wall"
                + (f"  ERROR {res.error}" if res.error else ""),
                flush=True,
            )
        return res

    if parallel <= 1:
        return [one(run) for run in runs]
    with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
        return list(pool.map(one, runs))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("--jobs", type=int, default=200, help="number of jobs (200)")
    p.add_argument("--spread", type=float, default=20.0, help="arrivals over S seconds (20)")
    p.add_argument(
        "--dist",
        type=Duration.parse,
        default=Duration("lognormal", 4.0, 0.6),
        help="lognormal:MEDIAN,SIGMA or uniform:A,B (lognormal:4,0.6)",
    )
    p.add_argument("--clip", default="1,15", help="clip durations to LOW,HIGH s (1,15)")
    p.add_argument("--error-rate", type=float, default=0.1, help="fraction ending in error")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--modes", default="plain,hints,long-poll,batch", help="modes for our client")
    p.add_argument("--strategies", default=",".join(STRATEGIES))
    p.add_argument("--out", type=Path, default=None, help="results directory")
    p.add_argument(
        "--quick",
        action="store_true",
        help="a tiny workload (8 jobs over 0.5 s, 0.3-1.2 s) and no scale run",
    )
    p.add_argument("--parallel", type=int, default=1, help="runs at once (smoke test only)")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--no-scale", action="store_true", help="skip the 10,000-job scale run")
    args = p.parse_args(argv)
    if args.quick:
        args.jobs, args.spread = 8, 0.5
        args.dist, args.clip = Duration("uniform", 0.3, 1.2), "0.3,1.2"
        args.error_rate, args.no_scale = 0.25, True
    lo, hi = (float(x) for x in args.clip.split(","))
    args.workload = Workload(
        args.jobs, args.spread, args.dist, (lo, hi), args.error_rate, args.seed
    )
    args.strategy_list = [s for s in args.strategies.split(",") if s]
    args.mode_list = [m for m in args.modes.split(",") if m]
    for s in args.strategy_list:
        if s not in STRATEGIES:
            p.error(f"unknown strategy {s!r}")
    for m in args.mode_list:
        if m not in MODE_FLAGS:
            p.error(f"unknown mode {m!r}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the matrix (and the scale run), write tables, plots and JSON."""
    from benchmarks import _report

    args = parse_args(argv)
    exit_on_sigterm()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out: Path = args.out or RESULTS / stamp
    out.mkdir(parents=True, exist_ok=True)
    command = "python -m benchmarks " + " ".join(argv if argv is not None else sys.argv[1:])
    print(f"workload: {args.workload.describe()}\nresults: {out}", flush=True)
    runs = plan(args.strategy_list, args.mode_list)
    results = run_matrix(args.workload, runs, out, parallel=args.parallel)
    scale: dict[str, Any] | None = None
    if not args.no_scale:
        from benchmarks import scale as scale_mod

        scale = scale_mod.run_scale(out)
    report = _report.write_all(
        out,
        results,
        args.workload,
        command=command.strip(),
        scale=scale,
        plots=not args.no_plots,
        parallel=args.parallel,
    )
    print(report)
    if args.out is None:
        latest = RESULTS / "latest"
        if latest.is_symlink() or latest.exists():
            latest.unlink()
        os.symlink(out.name, latest)
    return 1 if any(r.error for r in results) else 0
