"""10,000 jobs tracked at once: ``python -m benchmarks.scale``.

Our client (against the default server: batch and long-poll on) against
google-api-core's ``PollingFuture`` with callbacks, which starts a thread per
job. Jobs last an hour, so none finishes in the window; what is measured is
the cost of *tracking*: threads, added RSS, time for all the ``track()`` /
``add_done_callback`` calls, and status requests per job in a fixed window.

With ``--trace-memory S``, the client process also runs tracemalloc and, S
seconds after its first ``track()``, reports where its memory is, by source
line (its RSS is then inflated by tracemalloc's own bookkeeping).

Bounds: the window is capped (default 30 s); the parent kills the client
process when it passes ``RSS_LIMIT`` or the time limit; the client process
ends itself with ``os._exit`` so 10,000 polling threads never hold it up.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import gc
import importlib
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

import psutil
import requests

from benchmarks._server import MockServer, exit_on_sigterm, status_requests

JOBS = 10_000
WINDOW = 30.0
MAX_WINDOW = 60.0
JOB_DELAY = 3600.0
#: The client process is killed if its RSS passes this.
RSS_LIMIT = 8 * 2**30
#: Longest the client process may take to import and start tracking.
START_LIMIT = 60.0
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


def child(
    strategy: str, url: str, ids_path: str, window: float, trace_at: float | None = None
) -> None:
    """The client process: track every job, then idle until the parent kills it.

    It reports by JSON lines on stdout (a file the parent reads): ``ready``
    (threads and RSS before the client exists), ``start`` (wall time of the
    first ``track()``), ``tracked`` (when every job is tracked), and with
    ``trace_at``, ``memory`` (what tracemalloc sees that many seconds after
    the start). A
    thread-per-job client may never get to ``tracked`` within the window, and
    may not even get the GIL to write a result: the parent measures the window
    from outside and does not wait for this process.
    """
    from benchmarks._strategies import make_tracker

    def say(event: str, **fields: Any) -> None:
        print(json.dumps({"event": event, **fields}), flush=True)

    ids: list[str] = json.loads(Path(ids_path).read_text())
    importlib.import_module(MODULES[strategy])
    with open("/proc/self/statm") as f:
        rss0 = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    say("ready", threads_before=threading.active_count(), rss_before=rss0)

    def done(job_id: str, outcome: str) -> None:
        pass

    try:
        if trace_at is not None:
            tracemalloc.start()
        say("start", at=time.time())
        t0 = time.perf_counter()
        tracker = make_tracker(strategy, url, give_up=window * 10)
        for job_id in ids:
            tracker.track(job_id, done)
        say("tracked", n=len(ids), seconds=time.perf_counter() - t0)
        if trace_at is not None:
            time.sleep(max(0.0, trace_at - (time.perf_counter() - t0)))
            say("memory", **_traced_memory())
    except BaseException as exc:
        say("error", error=f"{type(exc).__name__}: {exc}")
    # Bounded even if the parent dies: it normally kills this process first.
    time.sleep(window * 3)
    os._exit(0)


def _traced_memory(top: int = 15) -> dict[str, Any]:
    """What tracemalloc sees now: the total, its peak, and the lines holding the most."""
    gc.collect()  # what is live, not the cyclic garbage a later collection frees
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__)]
    )
    traced, peak = tracemalloc.get_traced_memory()
    lines = []
    for stat in snapshot.statistics("lineno")[:top]:
        frame = stat.traceback[0]
        where = frame.filename
        for root in (os.getcwd(), "site-packages", sysconfig.get_paths()["stdlib"]):
            where = where.split(root + os.sep, 1)[-1]
        lines.append({"where": f"{where}:{frame.lineno}", "bytes": stat.size, "count": stat.count})
    return {"traced": traced, "peak": peak, "lines": lines}


def memory_table(res: dict[str, Any]) -> str:
    """The ``--trace-memory`` report of one strategy: bytes per job by source line."""
    memory, jobs = res["memory"], res["jobs"]
    rows = [
        f"traced {memory['traced'] / 2**20:.1f} MiB (peak {memory['peak'] / 2**20:.1f} MiB), "
        f"{memory['traced'] / jobs:.0f} B per job\n",
        "| B per job | blocks | where |",
        "|---:|---:|---|",
    ]
    rows += [
        f"| {x['bytes'] / jobs:.0f} | {x['count']} | `{x['where']}` |" for x in memory["lines"]
    ]
    return "\n".join(rows) + "\n"


def _events(log: Path) -> dict[str, dict[str, Any]]:
    events: dict[str, dict[str, Any]] = {}
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith('{"event"'):
            try:
                event = json.loads(line)
            except ValueError:
                continue
            events[event["event"]] = event
    return events


def scale_one(
    strategy: str, jobs: int, window: float, log_dir: Path, trace_at: float | None = None
) -> dict[str, Any]:
    """One strategy on a fresh default server; never raises (see ``error``)."""
    out: dict[str, Any] = {"strategy": strategy, "mode": "batch", "jobs": jobs}
    server = MockServer("--seed", "1")
    log_path = log_dir / f"scale-{strategy}.log"
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        try:
            server.start()
            t0 = time.monotonic()
            ids = create_jobs(server.url, jobs, JOB_DELAY)
            out["create_seconds"] = time.monotonic() - t0
            ids_path = Path(tmp) / "ids.json"
            ids_path.write_text(json.dumps(ids))
            before = status_requests(server.stats())
            measured = _run_child(strategy, server, ids_path, window, log_path, trace_at)
            stats = measured.pop("stats", None)
            out.update(measured)
            events = _events(log_path)
            if "error" in events:
                out["error"] = events["error"]["error"]
                return out
            if stats is None:
                out["error"] = out.get("killed") or "the client never started tracking"
                return out
            after = status_requests(stats)
            out["status_requests"] = after - before
            out["req_per_job"] = (after - before) / jobs
            # A fresh server: the only jobs polled are this run's.
            out["jobs_polled"] = stats["jobs_polled"]
            out["server_rps"] = (after - before) / measured["window"]
            out["library_threads"] = out["peak_threads"] - events["ready"]["threads_before"]
            out["added_rss_mb"] = (out["peak_rss"] - events["ready"]["rss_before"]) / 2**20
            if "memory" in events:
                out["memory"] = {k: v for k, v in events["memory"].items() if k != "event"}
            tracked = events.get("tracked")
            out["tracked_all"] = tracked is not None
            out["track_seconds"] = tracked["seconds"] if tracked else None
        except Exception as exc:
            out["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            server.stop()
    return out


def _run_child(
    strategy: str,
    server: MockServer,
    ids_path: Path,
    window: float,
    log_path: Path,
    trace_at: float | None = None,
) -> dict[str, Any]:
    """Run the client process through the window; kill it; return what was measured."""
    peak_threads = peak_rss = server_threads = 0
    result: dict[str, Any] = {}
    with log_path.open("wb") as log:
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
                *([] if trace_at is None else [str(trace_at)]),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            ps = psutil.Process(proc.pid)
            sps = psutil.Process(server.pid)
            window_end: float | None = None
            deadline = time.monotonic() + START_LIMIT
            while proc.poll() is None and time.monotonic() < deadline:
                if window_end is None:
                    start = _events(log_path).get("start")
                    if start is not None:
                        window_end = time.monotonic() + window - (time.time() - start["at"])
                        deadline = window_end
                try:
                    with ps.oneshot():
                        peak_threads = max(peak_threads, ps.num_threads())
                        peak_rss = max(peak_rss, ps.memory_info().rss)
                    server_threads = max(server_threads, sps.num_threads())
                except psutil.Error:
                    break
                if peak_rss > RSS_LIMIT:
                    result["killed"] = f"RSS over {RSS_LIMIT / 2**30:.0f} GiB"
                    break
                time.sleep(SAMPLE_EVERY)
            if window_end is not None and "killed" not in result and proc.poll() is None:
                result["stats"] = server.get_json("/stats", timeout=60)
                result["window"] = window
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    result.update(peak_threads=peak_threads, peak_rss=peak_rss, server_peak_threads=server_threads)
    return result


#: Lateness at scale: every job ends between LEAD and LEAD + SPREAD seconds after
#: the start of creation (creation takes ~20 s on 2 cores), so all end while tracked.
LATENESS_LEAD = 40.0
LATENESS_SPREAD = 20.0


def create_ending_jobs(url: str, ends: list[float], workers: int = 4) -> list[tuple[str, float]]:
    """Jobs that end at the given wall-clock times; returns ``(job_id, finishes_at)``."""

    def make(part: list[float]) -> list[tuple[str, float]]:
        made = []
        with requests.Session() as session:
            for end in part:
                delay = max(0.5, end - time.time())
                resp = session.post(f"{url}/jobs", json={"delay": round(delay, 3)}, timeout=30)
                resp.raise_for_status()
                body = resp.json()
                made.append((body["job_id"], float(body["finishes_at"])))
        return made

    parts = [ends[i::workers] for i in range(workers)]
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return [job for part in pool.map(make, parts) for job in part]


def lateness_child(url: str, ids_path: str, out_path: str, limit: float) -> None:
    """Track every job with our client; write when each outcome was learned; exit hard."""
    from benchmarks._strategies import make_tracker

    ids: list[str] = json.loads(Path(ids_path).read_text())
    learned: dict[str, float] = {}
    cond = threading.Condition()

    def done(job_id: str, outcome: str) -> None:
        at = time.time()
        with cond:
            learned.setdefault(job_id, at)
            cond.notify_all()

    start = time.time()
    tracker = make_tracker("ours", url, give_up=limit)
    for job_id in ids:
        tracker.track(job_id, done)
    deadline = time.monotonic() + limit
    with cond:
        while len(learned) < len(ids) and (left := deadline - time.monotonic()) > 0:
            cond.wait(min(left, 1.0))
        snapshot = dict(learned)
    Path(out_path).write_text(json.dumps({"started_at": start, "learned": snapshot}))
    os._exit(0)


def scale_lateness(jobs: int, log_dir: Path, seed: int = 1) -> dict[str, Any]:
    """Our client tracking ``jobs`` jobs at once that all end within ~20 s: how late it learns."""
    import random

    from benchmarks._stats import percentile
    from benchmarks.harness import run_sampled

    rng = random.Random(seed)
    out: dict[str, Any] = {"strategy": "ours", "mode": "batch", "jobs": jobs}
    server = MockServer("--seed", str(seed))
    with tempfile.TemporaryDirectory(prefix="bench-late-") as tmp:
        try:
            server.start()
            t0 = time.time()
            ends = [t0 + LATENESS_LEAD + rng.uniform(0, LATENESS_SPREAD) for _ in range(jobs)]
            made = create_ending_jobs(server.url, ends)
            ids_path, out_path = Path(tmp) / "ids.json", Path(tmp) / "out.json"
            ids_path.write_text(json.dumps([job_id for job_id, _ in made]))
            limit = LATENESS_LEAD + LATENESS_SPREAD + 60
            command = [
                sys.executable,
                "-m",
                "benchmarks.scale",
                "--lateness-child",
                server.url,
                str(ids_path),
                str(out_path),
                str(limit),
            ]
            peak_threads, _ = run_sampled(
                command, log_dir / "scale-lateness.log", limit + 30, SAMPLE_EVERY
            )
            raw = json.loads(out_path.read_text())
            learned: dict[str, float] = raw["learned"]
            ended_early = sum(1 for _, end in made if end < raw["started_at"])
            late = [
                learned[j] - end for j, end in made if j in learned and end >= raw["started_at"]
            ]
            total = status_requests(server.stats())
            out.update(
                ended_before_tracking=ended_early,
                learned=len(learned),
                lateness_p50=percentile(late, 50),
                lateness_p95=percentile(late, 95),
                lateness_max=max(late) if late else None,
                req_per_job=total / jobs,
                peak_threads=peak_threads,
            )
        except Exception as exc:
            out["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            server.stop()
    return out


def run_scale(
    out_dir: Path,
    jobs: int = JOBS,
    window: float = WINDOW,
    strategies: tuple[str, ...] = ("ours", "google"),
    trace_at: float | None = None,
) -> dict[str, Any]:
    """Both strategies, one after the other; the dict the report's scale table reads."""
    window = min(window, MAX_WINDOW)
    out_dir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"jobs": jobs, "window": window, "job_delay": JOB_DELAY}
    for strategy in strategies:
        print(f"scale: {strategy}, {jobs} jobs, {window:.0f} s window", flush=True)
        res = scale_one(strategy, jobs, window, out_dir, trace_at)
        result[strategy] = res
        shown = {k: v for k, v in res.items() if k not in ("strategy", "memory")}
        print(f"  {json.dumps(shown, default=str)}", flush=True)
        if "memory" in res:
            print(memory_table(res), flush=True)
    (out_dir / "scale.json").write_text(json.dumps(result, indent=1))
    return result


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.scale [--jobs N] [--window S] [--out DIR]``."""
    args_list = sys.argv[1:] if argv is None else argv
    if args_list and args_list[0] == "--lateness-child":
        url, ids_path, out_path, limit = args_list[1:]
        lateness_child(url, ids_path, out_path, float(limit))
        return 0
    if args_list and args_list[0] == "--child":
        strategy, url, ids_path, window, *trace_at = args_list[1:]
        child(strategy, url, ids_path, float(window), *map(float, trace_at))
        return 0
    p = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__)
    p.add_argument("--jobs", type=int, default=JOBS)
    p.add_argument("--window", type=float, default=WINDOW, help=f"seconds, at most {MAX_WINDOW:g}")
    p.add_argument("--strategies", default="ours,google")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument(
        "--trace-memory",
        type=float,
        default=None,
        metavar="S",
        help="also: where the client's memory is S seconds in, by line (tracemalloc; "
        "inflates its RSS)",
    )
    p.add_argument(
        "--lateness",
        action="store_true",
        help="instead: our client tracking N jobs that all end within 20 s; how late it learns",
    )
    args = p.parse_args(args_list)
    exit_on_sigterm()
    from benchmarks import _report
    from benchmarks.harness import RESULTS

    out = args.out or RESULTS / ("scale-" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
    if args.lateness:
        out.mkdir(parents=True, exist_ok=True)
        late = scale_lateness(args.jobs, out)
        (out / "scale-lateness.json").write_text(json.dumps(late, indent=1))
        print(json.dumps(late, indent=1))
        return 0
    if args.trace_memory is not None and not 0 < args.trace_memory < min(args.window, MAX_WINDOW):
        p.error("--trace-memory must be within the window")
    result = run_scale(
        out, args.jobs, args.window, tuple(args.strategies.split(",")), args.trace_memory
    )
    print(_report.scale_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
