"""The load side of ``benchmarks/load.py``: locust users, run by ``python -m benchmarks._swarm``.

Run only as that child process: importing locust patches the standard library
for gevent (threads, sockets, time), which must not happen inside pytest or a
benchmark driver. ``benchmarks/load.py`` starts it with one JSON argument (see
:class:`Plan`) and reads one JSON document from its stdout: a list of steps.

Two kinds of locust ``FastHttpUser`` share one gevent loop:

- ``StatusUser``: ``GET /status?job_id=...`` back to back, cycling through jobs
  that pend for the whole run; their latency is the step's figure.
- ``LongPollUser``: ``GET /status?job_id=HELD&wait=W`` on a job that pends for
  the whole run; each is sent again as soon as it returns, so the server holds
  about as many long-polls as there are such users.

Each step sets the number of long-poll users, waits until the server's
``/stats`` shows them held, then measures for a fixed time while sampling
``/stats`` and the server process. Its ``time.sleep`` is gevent's, as locust
patched it: the users run while it sleeps.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import locust  # before requests: it patches the standard library for gevent, ssl included
import psutil
import requests
from locust.env import Environment

from benchmarks._stats import percentile

#: Users added per second when a step raises the long-poll count.
SPAWN_RATE = 500.0
#: Seconds between ``/stats`` samples during a step.
SAMPLE_EVERY = 0.5
#: How long the server gets to report every long-poll of a step held.
HOLD_TIMEOUT = 30.0
#: A long-poll not answered this long after its wait ran out counts as overdue.
OVERDUE_GRACE = 10.0
#: Connect and read timeout of one stream request, in seconds.
STREAM_TIMEOUT = 5.0
#: A step passes when the stream's p95 latency is at most this, in seconds.
LATENCY_LIMIT = 0.100


@dataclass(frozen=True)
class Plan:
    """What to run: from ``benchmarks/load.py``, as JSON."""

    url: str
    server_pid: int
    held_job: str
    stream_jobs: list[str]
    stream_users: int
    long_polls: list[int]
    seconds: float
    wait: float


class StatusUser(locust.FastHttpUser):
    """Status requests for the stream's jobs, one after another."""

    wait_time = locust.constant(0)
    network_timeout = STREAM_TIMEOUT
    connection_timeout = STREAM_TIMEOUT
    jobs: ClassVar[list[str]] = []
    _next: ClassVar[int] = 0

    @locust.task
    def status(self) -> None:
        """One request for the next job in turn."""
        job_id = StatusUser.jobs[StatusUser._next % len(StatusUser.jobs)]
        StatusUser._next += 1
        self.client.get(f"/status?job_id={job_id}", name="stream")


class LongPollUser(locust.FastHttpUser):
    """One long-poll after another on the held job."""

    wait_time = locust.constant(0)
    path: ClassVar[str] = ""

    @locust.task
    def long_poll(self) -> None:
        """Held by the server until its wait runs out."""
        self.client.get(LongPollUser.path, name="long-poll")


@dataclass
class Tally:
    """What the users' requests did during a step (locust's ``request`` event).

    Only requests sent after :meth:`start` and ended before :meth:`stop` count,
    so that the server's ``/stats`` read just outside that window counted each.
    """

    latencies: list[float] = field(default_factory=list)
    stream: Counter[str] = field(default_factory=Counter)
    long_polls: Counter[str] = field(default_factory=Counter)
    since: float = math.inf  # Unix time, as locust's start_time

    def start(self) -> None:
        """Count afresh from now on, for the next step."""
        self.latencies, self.stream, self.long_polls = [], Counter(), Counter()
        self.since = time.time()

    def stop(self) -> None:
        """Count nothing more."""
        self.since = math.inf

    def on_request(
        self,
        name: str,
        response_time: float,
        response: Any,
        exception: BaseException | None,
        start_time: float,
        **_: Any,
    ) -> None:
        """Count one answer (by status code) or one failure (by kind)."""
        if start_time < self.since:
            return
        code = getattr(response, "status_code", 0) or 0
        if code:
            outcome = str(code)
        elif isinstance(exception, TimeoutError):
            outcome = "timeout"
        elif isinstance(exception, OSError):
            outcome = "connection"
        else:
            outcome = "other"
        if name == "stream":
            self.stream[outcome] += 1
            if code:
                self.latencies.append(response_time / 1000)
        else:
            self.long_polls[outcome] += 1


def run(plan: Plan) -> list[dict[str, Any]]:
    """Every step of the plan, in order; stops after the first step that fails."""
    StatusUser.jobs = plan.stream_jobs
    StatusUser.fixed_count = plan.stream_users
    LongPollUser.path = f"/status?job_id={plan.held_job}&wait={plan.wait:g}"
    LongPollUser.network_timeout = plan.wait + OVERDUE_GRACE
    env = Environment(user_classes=[StatusUser, LongPollUser], host=plan.url)
    tally = Tally()
    env.events.request.add_listener(tally.on_request)  # type: ignore[no-untyped-call]
    runner = env.create_local_runner()
    server = psutil.Process(plan.server_pid)
    steps: list[dict[str, Any]] = []
    with requests.Session() as http:

        def stats() -> dict[str, Any]:
            result: dict[str, Any] = http.get(plan.url + "/stats", timeout=30).json()
            return result

        try:
            for target in plan.long_polls:
                runner.start(plan.stream_users + target, spawn_rate=SPAWN_RATE)
                held_at_start = _wait_held(stats, target)
                print(f"  {target} long-polls: {held_at_start} held", file=sys.stderr, flush=True)
                before = stats()
                tally.start()
                samples, threads, rss = [], [], []
                started = time.monotonic()
                end = started + plan.seconds
                while (now := time.monotonic()) < end:
                    samples.append(int(stats()["long_polls_active"]))
                    threads.append(server.num_threads())
                    rss.append(server.memory_info().rss / 2**20)
                    time.sleep(min(SAMPLE_EVERY, end - now))
                tally.stop()
                elapsed = time.monotonic() - started
                step = _figures(
                    target, elapsed, held_at_start, samples, tally, before, stats(), plan.wait
                )
                step["server"].update(threads_max=max(threads), rss_mb_max=max(rss))
                steps.append(step)
                print(f"  {json.dumps(step)}", file=sys.stderr, flush=True)
                if not step["ok"]:
                    break
        finally:
            runner.quit()
    return steps


def _wait_held(stats: Callable[[], dict[str, Any]], target: int) -> int:
    """Poll ``/stats`` until the server holds ``target`` long-polls, or give up; the last count."""
    deadline = time.monotonic() + HOLD_TIMEOUT
    while (held := int(stats()["long_polls_active"])) < target and time.monotonic() < deadline:
        time.sleep(0.1)
    return held


def _figures(
    target: int,
    elapsed: float,
    held_at_start: int,
    samples: list[int],
    tally: Tally,
    before: dict[str, Any],
    after: dict[str, Any],
    wait: float,
) -> dict[str, Any]:
    """One step's figures, as ``benchmarks/load.py`` reports them."""

    def by_code(stats: dict[str, Any]) -> Counter[str]:
        return Counter({k: int(v) for k, v in stats["requests"].get("GET /status", {}).items()})

    lat = tally.latencies
    stream_errors = {k: n for k, n in tally.stream.items() if not k.isdigit()}
    stream_non_200 = {k: n for k, n in tally.stream.items() if k.isdigit() and k != "200"}
    p95 = percentile(lat, 95)
    errors = sum(stream_errors.values()) + sum(stream_non_200.values())
    return {
        "long_polls": target,
        "elapsed": elapsed,
        "stream": {
            "ok": tally.stream["200"],
            "answered": len(lat),
            "non_200": stream_non_200,
            "errors": stream_errors,
            "requests_per_second": tally.stream["200"] / elapsed,
            "latency_p50_ms": percentile(lat, 50) * 1000,
            "latency_p95_ms": p95 * 1000,
            "latency_p99_ms": percentile(lat, 99) * 1000,
            "latency_max_ms": max(lat, default=float("nan")) * 1000,
        },
        "held": {
            "at_start": held_at_start,
            "min": min(samples, default=0),
            "mean": sum(samples) / len(samples) if samples else 0.0,
            "max": max(samples, default=0),
            "samples": len(samples),
            "samples_below_target": sum(1 for n in samples if n < target),
        },
        "long_poll_answers": dict(tally.long_polls),
        "wait": wait,
        "server": {
            "status_requests": int(after["status_requests_total"])
            - int(before["status_requests_total"]),
            "get_status_by_code": dict(by_code(after) - by_code(before)),
            "long_polls_peak": int(after["long_polls_peak"]),
        },
        "ok": held_at_start >= target and errors == 0 and p95 <= LATENCY_LIMIT,
    }


def main() -> None:
    """Read the plan from ``argv[1]``, run it, print the steps as JSON."""
    plan = Plan(**json.loads(sys.argv[1]))
    # Quiet, but for errors: it warns of a high spawn rate, which is deliberate here.
    logging.getLogger("locust").setLevel(logging.ERROR)
    print(json.dumps(run(plan)), flush=True)


if __name__ == "__main__":
    main()
