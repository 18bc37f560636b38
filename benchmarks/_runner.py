"""The client process of one run: ``python -m benchmarks._runner SPEC.json OUT.json``.

It creates each job (``POST /jobs``) at its arrival time and starts tracking
it at once with the strategy named in the spec, records ``time.time()`` when
the strategy reports the outcome, and writes what it saw to ``OUT.json``.

The process holds only the strategy's client, so the parent can measure that
client's threads and memory from outside. CPU seconds are measured here:
process CPU time from the first arrival to the end, minus the main thread's
CPU spent creating jobs (harness work, not client work).

It ends with ``os._exit`` so threads a baseline left behind never hold it up.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time
from typing import Any

import requests

from benchmarks._strategies import make_tracker

#: Pause between the process being ready and the first arrival.
LEAD_IN = 0.2


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the workload in ``spec`` and return the raw observations."""
    url: str = spec["url"]
    timeout: float = spec["timeout"]
    jobs: list[dict[str, Any]] = spec["jobs"]
    tracker = make_tracker(spec["strategy"], url, give_up=timeout)

    learned: dict[str, tuple[float, str]] = {}
    cond = threading.Condition()

    def done(job_id: str, outcome: str) -> None:
        at = time.time()
        with cond:
            learned.setdefault(job_id, (at, outcome))
            cond.notify_all()

    session = requests.Session()
    ids: list[str] = []
    harness_cpu = 0.0
    track_seconds = 0.0
    rss_ready = _rss()
    cpu0 = time.process_time()
    start = time.monotonic() + LEAD_IN
    for job in jobs:
        pause = start + job["arrival"] - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        c0 = time.thread_time()
        resp = session.post(
            f"{url}/jobs", json={"delay": job["delay"], "outcome": job["outcome"]}, timeout=30
        )
        resp.raise_for_status()
        job_id: str = resp.json()["job_id"]
        harness_cpu += time.thread_time() - c0
        ids.append(job_id)
        t0 = time.perf_counter()
        tracker.track(job_id, done)
        track_seconds += time.perf_counter() - t0

    deadline = time.monotonic() + timeout
    with cond:
        while len(learned) < len(ids):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            cond.wait(min(left, 1.0))
        snapshot = dict(learned)
    cpu = time.process_time() - cpu0 - harness_cpu
    threads_end = threading.active_count()
    try:
        tracker.close()
    except Exception as exc:  # a failing close is reported, not fatal
        print(f"close failed: {exc!r}", file=sys.stderr)
    return {
        "strategy": spec["strategy"],
        "job_ids": ids,
        "learned": {job_id: {"at": at, "outcome": oc} for job_id, (at, oc) in snapshot.items()},
        "cpu_seconds": cpu,
        "track_seconds": track_seconds,
        "rss_ready": rss_ready,
        "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "threads_at_end": threads_end,
    }


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main(argv: list[str]) -> None:
    """Entry point: read the spec, run, write the result, exit hard."""
    spec_path, out_path = argv
    with open(spec_path) as f:
        spec = json.load(f)
    code = 0
    try:
        result = run(spec)
    except BaseException as exc:
        result = {"strategy": spec["strategy"], "error": f"{type(exc).__name__}: {exc}"}
        code = 1
    with open(out_path + ".tmp", "w") as f:
        json.dump(result, f)
    os.replace(out_path + ".tmp", out_path)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main(sys.argv[1:])
