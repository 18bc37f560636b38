"""Cold start: one job tracked alone, nothing learned, on a plain server.

``python -m benchmarks.cold_start [--runs 10] [--durations 3 10 30]``

For each job duration ``d`` and each strategy, ``--runs`` single jobs: each is
created (``POST /jobs``) and tracked at once by a client of its own, fresh, so
nothing is learned and no other job shares its schedule.  A job takes ``d``
plus a fraction of a second drawn for the run (the same for every strategy):
jobs do not end on whole seconds, and one that did would flatter a fixed
1 s poller, whose polls would land just after its end.  The runs go one
after another on one ``--plain`` mock server, the strategies of a run side
by side (one job each, so all see the same machine).  Requests are
the server's count of status requests for the job (``GET /jobs/ID``); the
client's one ``GET /capabilities`` (a 404 on a plain server) is not in them.
Lateness is when the client's future resolved (``time.time()`` in its done
callback) less the server's ``finishes_at``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import requests

from benchmarks._server import MockServer, exit_on_sigterm
from heygen_client import JobStatus, TranslationClient
from heygen_client.policies import Fixed, PollPolicy, default_policy

#: The strategies compared: a name and the poll policy of a fresh client.
STRATEGIES: dict[str, Callable[[], PollPolicy]] = {
    "default": default_policy,
    "fixed 1 s": lambda: Fixed(1.0),
}


@dataclass(frozen=True)
class Run:
    """One job tracked alone."""

    strategy: str
    duration: float
    requests: int
    lateness: float


def track_one(url: str, strategy: str, duration: float, seed: int) -> Run:
    """Create a job of ``duration`` seconds and track it with a fresh client."""
    created = requests.post(f"{url}/jobs", json={"delay": duration}, timeout=10)
    created.raise_for_status()
    job_id: str = created.json()["job_id"]
    learned: list[float] = []
    done = threading.Event()

    def on_done(_: Future[JobStatus]) -> None:
        learned.append(time.time())
        done.set()

    with TranslationClient(url, policy=STRATEGIES[strategy](), seed=seed) as client:
        client.track(job_id).add_done_callback(on_done)
        if not done.wait(duration + 60):
            raise RuntimeError(f"{strategy}: job {job_id} not learned in time")
    record: dict[str, Any] = requests.get(f"{url}/jobs/{job_id}", timeout=10).json()
    return Run(strategy, duration, record["status_requests"], learned[0] - record["finishes_at"])


def measure(durations: Sequence[float], runs: int, seed: int = 1) -> list[Run]:
    """Every (duration, strategy) ``runs`` times; the strategies of a run side by side."""
    results: list[Run] = []
    rng = random.Random(seed)
    with MockServer("--plain", "--seed", str(seed)) as server, ThreadPoolExecutor() as pool:
        for duration in durations:
            for run in range(runs):
                delay = duration + rng.random()
                futures = [
                    pool.submit(track_one, server.url, strategy, delay, run)
                    for strategy in STRATEGIES
                ]
                results.extend(dataclasses.replace(f.result(), duration=duration) for f in futures)
    return results


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def table(results: Sequence[Run]) -> str:
    """A Markdown table: requests and lateness per (duration, strategy)."""
    lines = [
        "| job | strategy | requests (mean, min-max) | lateness mean | p50 | p95 |",
        "|---|---|---|---|---|---|",
    ]
    keys = dict.fromkeys((r.duration, r.strategy) for r in results)
    for duration, strategy in keys:
        runs = [r for r in results if (r.duration, r.strategy) == (duration, strategy)]
        counts = [r.requests for r in runs]
        late = [r.lateness for r in runs]
        lines.append(
            f"| {duration:g} s | {strategy} | {statistics.mean(counts):.1f} "
            f"({min(counts)}-{max(counts)}) | {statistics.mean(late):.2f} s | "
            f"{percentile(late, 50):.2f} s | {percentile(late, 95):.2f} s |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the measurement and print its table (and, with ``--json``, the runs)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cold_start")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--durations", type=float, nargs="+", default=[3.0, 10.0, 30.0])
    parser.add_argument("--json", metavar="FILE", help="also write every run to FILE")
    args = parser.parse_args(argv)
    exit_on_sigterm()
    results = measure(args.durations, args.runs)
    print(table(results))
    if args.json:
        with open(args.json, "w") as out:
            json.dump([r.__dict__ for r in results], out, indent=1)


if __name__ == "__main__":
    main()
