"""10,000 jobs tracked at once: ``python -m benchmarks.scale``.

Our client (against the default server: batch and long-poll on) against
google-api-core's ``PollingFuture`` with callbacks, which starts a thread per
job. Jobs last an hour, so none finishes in the window; what is measured is
the cost of *tracking*: threads, added RSS, time for all the ``track()`` /
``add_done_callback`` calls, and status requests per job in a fixed window.

Bounds: the window is capped (default 30 s); the parent kills the client
process when it passes ``RSS_LIMIT`` or the time limit; the client process
ends itself with ``os._exit`` so 10,000 polling threads never hold it up.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import requests

from benchmarks._server import MockServer, status_requests

JOBS = 10_000
WINDOW = 30.0
MAX_WINDOW = 60.0
JOB_DELAY = 3600.0
#: The client process is killed if its RSS passes this.
RSS_LIMIT = 8 * 2**30
SAMPLE_EVERY = 0.05
#: The module each strategy imports, loaded before the baseline RSS is taken.
MODULES = {"ours": "heygen_client", "google": "google.api_core.future.polling"}


def create_jobs(url: str, count: int, delay: float, workers: int = 4) -> list[str]:
    """``POST /jobs`` ``count`` times on keep-alive sessions; returns the ids in order."""

    def make(n: int) -> list[str]:
        ids = []
        with requests.Session() as session:
            for _ in range(n):
                resp = session.post(f"{url}/jobs", json={"delay": delay}, timeout=30)
                resp.raise_for_status()
                ids.append(resp.json()["job_id"])
        return ids

    shares = [count // workers + (1 if i < count % workers else 0) for i in range(workers)]
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return [job_id for part in pool.map(make, shares) for job_id in part]


def child(strategy: str, url: str, ids_path: str, window: float, out_path: str) -> None:
    """The client process: track every job, wait out the window, report, exit hard."""
    from benchmarks._strategies import make_tracker

    ids: list[str] = json.loads(Path(ids_path).read_text())
    importlib.import_module(MODULES[strategy])
    threads0 = threading.active_count()
    with open("/proc/self/statm") as f:
        rss0 = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    print("ready", flush=True)
    learned = 0

    def done(job_id: str, outcome: str) -> None:
        nonlocal learned
        learned += 1

    result: dict[str, Any] = {"threads_before": threads0, "rss_before": rss0}
    try:
        start = time.time()
        t0 = time.perf_counter()
        end = start + window
        tracker = make_tracker(strategy, url, give_up=window * 10)
        tracked = 0
        for job_id in ids:
            # A thread-per-job tracker can take longer than the whole window
            # just to start its threads: stop there and report how far it got.
            if time.time() > end:
                break
            tracker.track(job_id, done)
            tracked += 1
        result["track_seconds"] = time.perf_counter() - t0
        result["tracked"] = tracked
        result["started_at"] = start
        while (left := end - time.time()) > 0:
            time.sleep(min(left, 0.5))
        result["ended_at"] = time.time()
        result["learned"] = learned
    except BaseException as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
    Path(out_path).write_text(json.dumps(result))
    sys.stdout.flush()
    os._exit(0)


def scale_one(strategy: str, jobs: int, window: float, log_dir: Path) -> dict[str, Any]:
    """One strategy on a fresh default server; never raises (see ``error``)."""
    out: dict[str, Any] = {"strategy": strategy, "mode": "batch", "jobs": jobs}
    server = MockServer("--seed", "1")
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        try:
            server.start()
            t0 = time.monotonic()
            ids = create_jobs(server.url, jobs, JOB_DELAY)
            out["create_seconds"] = time.monotonic() - t0
            ids_path = Path(tmp) / "ids.json"
            ids_path.write_text(json.dumps(ids))
            out_path = Path(tmp) / "out.json"
            before = status_requests(server.stats())
            peaks = _run_child(strategy, server, ids_path, window, out_path, log_dir)
            out.update(peaks)
            if not out_path.exists():
                out["error"] = f"client wrote no result ({peaks.get('killed', 'exited')})"
                return out
            raw = json.loads(out_path.read_text())
            out.update(raw)
            if "error" in raw:
                return out
            # The client process is gone, so nothing more arrives once in-flight
            # requests are answered.
            after = status_requests(server.get_json("/stats", timeout=120))
            span = raw["ended_at"] - raw["started_at"]
            out["window"] = span
            out["status_requests"] = after - before
            out["req_per_job"] = (after - before) / jobs
            out["req_per_tracked_job"] = (after - before) / max(1, raw["tracked"])
            out["server_rps"] = (after - before) / span
            out["library_threads"] = out["peak_threads"] - raw["threads_before"]
            out["added_rss_mb"] = (out["peak_rss"] - raw["rss_before"]) / 2**20
        except Exception as exc:
            out["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            server.stop()
    return out


def _run_child(
    strategy: str, server: MockServer, ids_path: Path, window: float, out_path: Path, log_dir: Path
) -> dict[str, Any]:
    peak_threads = peak_rss = server_threads = 0
    killed = ""
    with (log_dir / f"scale-{strategy}.log").open("wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.scale",
                "--child",
                strategy,
                server.url,
                str(ids_path),
                str(window),
                str(out_path),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            ps = psutil.Process(proc.pid)
            sps = psutil.Process(server.pid)
            deadline = time.monotonic() + window + 120
            while proc.poll() is None:
                if time.monotonic() > deadline:
                    killed = "time limit"
                    break
                try:
                    with ps.oneshot():
                        peak_threads = max(peak_threads, ps.num_threads())
                        peak_rss = max(peak_rss, ps.memory_info().rss)
                    server_threads = max(server_threads, sps.num_threads())
                except psutil.Error:
                    break
                if peak_rss > RSS_LIMIT:
                    killed = f"RSS over {RSS_LIMIT / 2**30:.0f} GiB"
                    break
                time.sleep(SAMPLE_EVERY)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    return {
        "peak_threads": peak_threads,
        "peak_rss": peak_rss,
        "server_peak_threads": server_threads,
        "killed": killed,
    }


def run_scale(
    out_dir: Path,
    jobs: int = JOBS,
    window: float = WINDOW,
    strategies: tuple[str, ...] = ("ours", "google"),
) -> dict[str, Any]:
    """Both strategies, one after the other; the dict the report's scale table reads."""
    window = min(window, MAX_WINDOW)
    out_dir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"jobs": jobs, "window": window, "job_delay": JOB_DELAY}
    for strategy in strategies:
        print(f"scale: {strategy}, {jobs} jobs, {window:.0f} s window", flush=True)
        res = scale_one(strategy, jobs, window, out_dir)
        result[strategy] = res
        print(
            f"  {json.dumps({k: v for k, v in res.items() if k != 'strategy'}, default=str)}",
            flush=True,
        )
    (out_dir / "scale.json").write_text(json.dumps(result, indent=1))
    return result


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.scale [--jobs N] [--window S] [--out DIR]``."""
    args_list = sys.argv[1:] if argv is None else argv
    if args_list and args_list[0] == "--child":
        strategy, url, ids_path, window, out_path = args_list[1:]
        child(strategy, url, ids_path, float(window), out_path)
        return 0
    p = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__)
    p.add_argument("--jobs", type=int, default=JOBS)
    p.add_argument("--window", type=float, default=WINDOW, help=f"seconds, at most {MAX_WINDOW:g}")
    p.add_argument("--strategies", default="ours,google")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(args_list)
    from benchmarks import _report
    from benchmarks.harness import RESULTS

    out = args.out or RESULTS / ("scale-" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
    result = run_scale(out, args.jobs, args.window, tuple(args.strategies.split(",")))
    print(_report.scale_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
