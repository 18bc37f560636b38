"""HeyGen's v3 dialect on the real mock server, time-scaled: ``python -m benchmarks.heygen_live``.

Every figure comes from mock servers started for it (``LiveServer``, one per
strategy, the strategies of a section side by side at the same time on the
same machine), with ``--api-key`` set, ``--error-rate 0.1`` and ``--seed 1``.

* ``w``: workload W (200 jobs arriving over 20 s, log-normal durations, median
  4 s, clipped to 1-15 s, seed 1) at ``--time-scale 60``: a second here is a
  minute at HeyGen.  Each job is a v3 translation of a video of
  ``duration x 60 / 2`` seconds, so that the mock's translation time (twice
  the video, +-30 %, over the scale) is W's duration, +-30 %: translations of
  1 to 15 minutes at HeyGen's pace.  Strategies:

  - ours: ``TranslationClient(api="heygen", time_scale=60)``, each job made
    with ``translate()`` at its arrival; its pacing runs 60 times faster, as
    the baselines' does;
  - HeyGen CLI's ``--wait`` (first poll at once, then 2 s doubling to 30 s,
    +-25 %) and HeyGen's guidance for agents (30 s for 3 minutes, then 60 s),
    every interval divided by 60;
  - a fixed 1 s poller, not scaled (W's trivial client; at HeyGen's pace a
    poll a minute).

  The baselines create each job with one ``POST /v3/video-translations`` and
  poll ``GET /v3/video-translations/{id}`` on a thread of their own (one
  keep-alive session each), as a script per job would.
* ``webhooks``: W again, our client receiving the webhooks
  (``serve_webhooks()``, each job's ``callback_url``): none lost, and
  ``--webhook-drop-rate 0.3``.
* ``bulk``: 1,000 translations (videos of 15 s to 10 minutes, 20 languages a
  create) tracked at once with ``track_many()`` at HeyGen's own pace
  (``--time-scale 1``, a default client) for ``--bulk-seconds``: the most
  status requests the server logged in any 30 s, over the jobs.

Requests are the server's: ``status_requests_total`` of ``/stats`` (single
and bulk status requests; a bulk one counts once), over the jobs.  Lateness
is when the caller learned the outcome (``time.time()`` in the future's done
callback, or when the baseline's poll returned) less the job's end
(``finishes_at`` of the mock's ``GET /jobs/ID``, the same clock).
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import requests

from benchmarks._server import MockServer, exit_on_sigterm
from benchmarks._stats import percentile
from benchmarks._workload import JobSpec, Workload
from benchmarks.heygen_scale import cli_delay, guidance_delay
from heygen_client import JobStatus, TranslationClient
from mock_server.config import DEFAULT_WEBHOOK_SECRET

KEY = "bench-heygen-key"
VIDEO = "https://example.com/talk.mp4"
ROUTE = "/v3/video-translations"
SINGLE = f"GET {ROUTE}/<video_translation_id>"
BULK = f"GET {ROUTE}/statuses"
#: The mock's translation seconds per video second (before the time scale).
RATIO = 2.0
#: The bulk figure's window, at HeyGen's pace.
WINDOW = 30.0
#: Most output languages in one create on the mock.
LANGUAGES_PER_CREATE = 20

#: A baseline's delay before its next poll, in HeyGen's seconds:
#: (polls so far, HeyGen seconds since the create, a seeded generator) -> seconds.
Schedule = Callable[[int, float, random.Random], float]


@dataclass(frozen=True)
class Baseline:
    """A polling loop as a script would write it."""

    schedule: Schedule
    scaled: bool  # whether the time scale divides its intervals


BASELINES: dict[str, Baseline] = {
    "HeyGen CLI (2 s doubling to 30 s, +-25 %)": Baseline(
        lambda polls, _age, rng: cli_delay(polls, rng), scaled=True
    ),
    "HeyGen guidance (30 s for 3 min, then 60 s)": Baseline(
        lambda polls, age, _rng: guidance_delay(polls, age), scaled=True
    ),
    "fixed 1 s": Baseline(lambda polls, _age, _rng: 0.0 if polls == 0 else 1.0, scaled=False),
}
OURS = 'ours (api="heygen", time_scale=60)'


@dataclass
class Run:
    """What one strategy did on its own server."""

    name: str
    jobs: int
    requests: int = 0
    single: int = 0
    bulk: int = 0
    lateness: dict[str, float] = field(default_factory=dict)
    wrong: int = 0
    by_webhook: list[str] = field(default_factory=list)
    webhooks: dict[str, int] = field(default_factory=dict)

    @property
    def by_poll(self) -> list[float]:
        """Lateness of the jobs learned by a poll, not a webhook."""
        pushed = set(self.by_webhook)
        return [late for job, late in self.lateness.items() if job not in pushed]

    def row(self) -> str:
        """A Markdown table row."""
        late = list(self.lateness.values())
        return (
            f"| {self.name} | {self.requests / self.jobs:.2f} | {ms(percentile(late, 50))} | "
            f"{ms(percentile(late, 95))} | {ms(max(late, default=float('nan')))} | "
            f"{len(late)}/{self.jobs} | {self.wrong} |"
        )


def ms(seconds: float) -> str:
    """``1,234 ms``."""
    return f"{seconds * 1000:,.0f} ms"


def video_seconds(spec: JobSpec, scale: float) -> float:
    """The video whose translation on the mock takes about ``spec.delay`` seconds."""
    return round(spec.delay * scale / RATIO, 3)


def server_flags(scale: float, *extra: str) -> tuple[str, ...]:
    """The mock's flags for one run: key, time scale, W's error rate, fixed seed."""
    scaled = ("--time-scale", f"{scale:g}")
    return ("--api-key", KEY, *scaled, "--error-rate", "0.1", "--seed", "1", *extra)


def _sleep_until(start: float, offset: float) -> None:
    delay = start + offset - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def _settle(url: str, run: Run, learned: dict[str, tuple[float, str]]) -> Run:
    """Fill ``run`` from the server: its counts, and each job's lateness and outcome."""
    stats = requests.get(f"{url}/stats", timeout=30).json()
    run.requests = stats["status_requests_total"]
    run.single = sum(stats["requests"].get(SINGLE, {}).values())
    run.bulk = sum(stats["requests"].get(BULK, {}).values())
    run.webhooks = {k: stats[f"webhooks_{k}"] for k in ("sent", "dropped", "failed")}
    with requests.Session() as http:
        for job_id, (at, result) in learned.items():
            record = http.get(f"{url}/jobs/{job_id}", timeout=30).json()
            run.lateness[job_id] = at - record["finishes_at"]
            run.wrong += result != record.get("outcome")
    return run


def run_ours(url: str, jobs: Sequence[JobSpec], scale: float, *, webhooks: bool, name: str) -> Run:
    """Our client creates each job with ``translate()`` at its arrival and tracks it."""
    learned: dict[str, tuple[float, str]] = {}
    pushed: list[str] = []
    done = threading.Semaphore(0)
    lock = threading.Lock()

    def on_done(job_id: str, future: Future[JobStatus]) -> None:
        at = time.time()
        error = future.exception()
        # A failed translation raises TranslationFailed, which carries its final status.
        status = future.result() if error is None else getattr(error, "status", None)
        result = status.result.value if isinstance(status, JobStatus) else repr(error)
        with lock:
            learned[job_id] = (at, result)
            if isinstance(status, JobStatus) and "event_type" in status.extra:
                pushed.append(job_id)  # the status a webhook made, not a poll's
        done.release()

    with TranslationClient(url, api="heygen", api_key=KEY, seed=1, time_scale=scale) as client:
        fields: dict[str, Any] = {}
        if webhooks:
            fields["callback_url"] = client.serve_webhooks(secret=DEFAULT_WEBHOOK_SECRET)
        start = time.monotonic()
        for spec in jobs:
            _sleep_until(start, spec.arrival)
            [future] = client.translate(VIDEO, "fr", duration=video_seconds(spec, scale), **fields)
            future.add_done_callback(functools.partial(on_done, str(future.job_id)))
        for _ in jobs:
            if not done.acquire(timeout=120):
                raise RuntimeError(f"{name}: not every job was learned in time")
    run = _settle(url, Run(name, len(jobs)), learned)
    run.by_webhook = pushed
    return run


def run_baseline(url: str, jobs: Sequence[JobSpec], scale: float, name: str) -> Run:
    """A thread per job: create it, then poll its single status on the baseline's schedule."""
    baseline = BASELINES[name]
    divisor = scale if baseline.scaled else 1.0
    learned: dict[str, tuple[float, str]] = {}
    lock = threading.Lock()
    headers = {"X-Api-Key": KEY}

    def poll(job_id: str, seed: int) -> None:
        rng = random.Random(seed)
        created = time.monotonic()
        polls = 0
        with requests.Session() as session:
            while True:
                age = (time.monotonic() - created) * scale  # in HeyGen's seconds
                time.sleep(baseline.schedule(polls, age, rng) / divisor)
                answer = session.get(f"{url}{ROUTE}/{job_id}", headers=headers, timeout=30)
                polls += 1
                word = answer.json()["data"]["status"]
                if word in ("completed", "failed"):
                    with lock:
                        learned[job_id] = (
                            time.time(),
                            "completed" if word == "completed" else "error",
                        )
                    return

    threads = []
    with requests.Session() as creator:
        start = time.monotonic()
        for spec in jobs:
            _sleep_until(start, spec.arrival)
            body = {
                "video": {"type": "url", "url": VIDEO},
                "output_languages": ["fr"],
                "duration": video_seconds(spec, scale),
            }
            answer = creator.post(f"{url}{ROUTE}", json=body, headers=headers, timeout=30)
            answer.raise_for_status()
            [job_id] = answer.json()["data"]["video_translation_ids"]
            thread = threading.Thread(target=poll, args=(job_id, spec.index), daemon=True)
            thread.start()
            threads.append(thread)
    for thread in threads:
        thread.join(120)
    return _settle(url, Run(name, len(jobs)), learned)


def _side_by_side(cases: dict[str, tuple[tuple[str, ...], Callable[[str], Run]]]) -> list[Run]:
    """Each case on a server of its own (its flags), all at once; their runs in order."""
    servers = {name: MockServer(*flags) for name, (flags, _) in cases.items()}
    try:
        for server in servers.values():
            server.start()
        with ThreadPoolExecutor(len(cases)) as pool:
            futures = [pool.submit(run, servers[name].url) for name, (_, run) in cases.items()]
            return [f.result() for f in futures]
    finally:
        for server in servers.values():
            server.stop()


def measure_w(workload: Workload, scale: float) -> list[Run]:
    """Ours and the three baselines on W, each on its own server, all at once."""
    jobs = workload.jobs()
    flags = server_flags(scale)
    cases: dict[str, tuple[tuple[str, ...], Callable[[str], Run]]] = {
        OURS: (flags, lambda url: run_ours(url, jobs, scale, webhooks=False, name=OURS))
    }
    for name in BASELINES:
        cases[name] = (flags, functools.partial(run_baseline, jobs=jobs, scale=scale, name=name))
    return _side_by_side(cases)


def measure_webhooks(workload: Workload, scale: float, drop_rate: float = 0.3) -> list[Run]:
    """Ours with webhooks on W: none lost, and ``drop_rate`` of them lost; at once."""
    jobs = workload.jobs()
    cases: dict[str, tuple[tuple[str, ...], Callable[[str], Run]]] = {}
    for name, extra in (
        ("ours, webhooks", ()),
        (f"ours, webhooks, {drop_rate:.0%} dropped", ("--webhook-drop-rate", f"{drop_rate:g}")),
    ):
        run = functools.partial(run_ours, jobs=jobs, scale=scale, webhooks=True, name=name)
        cases[name] = (server_flags(scale, *extra), run)
    return _side_by_side(cases)


@dataclass
class BulkRun:
    """Many jobs tracked at once by one client: the status requests they cost."""

    jobs: int
    seconds: float
    requests: int
    single: int
    bulk: int
    busiest: int
    ended: int

    def row(self) -> str:
        """A Markdown table row."""
        return (
            f"| {self.jobs:,} | {self.seconds:g} s | {self.requests} ({self.bulk} bulk, "
            f"{self.single} single) | {self.busiest} | **{self.busiest / self.jobs:.3f}** | "
            f"{self.ended} |"
        )


def busiest(times: Sequence[float], window: float) -> int:
    """The most of ``times`` within any span of ``window`` seconds."""
    ordered = sorted(times)
    best = low = 0
    for high, at in enumerate(ordered):
        while at - ordered[low] > window:
            low += 1
        best = max(best, high - low + 1)
    return best


def measure_bulk(jobs: int = 1000, seconds: float = 60.0, scale: float = 1.0) -> BulkRun:
    """``jobs`` translations tracked at once by one client; the most requests in a window.

    The window is ``WINDOW`` at HeyGen's pace (``WINDOW / scale`` here).  A job's
    requests are in its ``status_request_times`` on the mock (a bulk request is
    logged against each job it asked about, at one time), so the distinct times
    are the requests.
    """
    rng = random.Random(1)
    with MockServer(*server_flags(scale)) as server, requests.Session() as http:
        ids: list[str] = []
        while len(ids) < jobs:
            count = min(LANGUAGES_PER_CREATE, jobs - len(ids))
            body = {
                "video": {"type": "url", "url": VIDEO},
                "output_languages": [f"lang-{i}" for i in range(count)],
                "duration": round(rng.uniform(15, 600), 1),
            }
            answer = http.post(f"{server.url}{ROUTE}", json=body, headers={"X-Api-Key": KEY})
            answer.raise_for_status()
            ids += answer.json()["data"]["video_translation_ids"]
        with TranslationClient(server.url, api="heygen", api_key=KEY, time_scale=scale) as client:
            futures = client.track_many(ids).futures
            time.sleep(seconds)
            ended = sum(f.done() for f in futures)
        stats = server.stats()
        times: set[float] = set()
        for job_id in ids:
            record = http.get(f"{server.url}/jobs/{job_id}", timeout=30).json()
            times.update(record["status_request_times"])
    return BulkRun(
        jobs=jobs,
        seconds=seconds,
        requests=stats["status_requests_total"],
        single=sum(stats["requests"].get(SINGLE, {}).values()),
        bulk=sum(stats["requests"].get(BULK, {}).values()),
        busiest=busiest(sorted(times), WINDOW / scale),
        ended=ended,
    )


TABLE = (
    "| strategy | status requests per job | lateness p50 | p95 | max | learned | wrong |\n"
    "|---|---:|---:|---:|---:|---:|---:|"
)
BULK_TABLE = (
    "| jobs | tracked for | status requests | most in any 30 s | per job | ended |\n"
    "|---:|---:|---|---:|---:|---:|"
)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the sections asked for and print their tables."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.heygen_live")
    parser.add_argument("--sections", default="w,webhooks,bulk", help="of w, webhooks, bulk")
    parser.add_argument(
        "--time-scale", type=float, default=60.0, help="of the w and webhooks runs"
    )
    parser.add_argument("--jobs", type=int, default=200, help="jobs of W")
    parser.add_argument("--spread", type=float, default=20.0, help="seconds W's jobs arrive over")
    parser.add_argument("--bulk-jobs", type=int, default=1000)
    parser.add_argument("--bulk-seconds", type=float, default=60.0)
    parser.add_argument("--json", metavar="FILE", help="also write every run to FILE")
    args = parser.parse_args(argv)
    exit_on_sigterm()
    workload = Workload(jobs_count=args.jobs, spread=args.spread)
    sections = args.sections.split(",")
    out: dict[str, Any] = {"time_scale": args.time_scale, "workload": workload.to_json()}
    if "w" in sections:
        runs = measure_w(workload, args.time_scale)
        print(f"W at --time-scale {args.time_scale:g}\n\n{TABLE}")
        print("\n".join(run.row() for run in runs), flush=True)
        out["w"] = [asdict(run) for run in runs]
    if "webhooks" in sections:
        runs = measure_webhooks(workload, args.time_scale)
        print(f"\nWebhooks, W at --time-scale {args.time_scale:g}\n\n{TABLE}")
        print("\n".join(run.row() for run in runs))
        for run in runs:
            polled = run.by_poll
            print(
                f"{run.name}: {len(run.by_webhook)} learned by webhook, {len(polled)} by a poll "
                f"(lateness p50 {ms(percentile(polled, 50))}, max "
                f"{ms(max(polled, default=float('nan')))}); {run.bulk} bulk and {run.single} "
                f"single requests; webhooks {run.webhooks}",
                flush=True,
            )
        out["webhooks"] = [asdict(run) for run in runs]
    if "bulk" in sections:
        bulk = measure_bulk(args.bulk_jobs, args.bulk_seconds)
        print(f"\n{BULK_TABLE}\n{bulk.row()}")
        out["bulk"] = asdict(bulk)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(out, handle, indent=1)


if __name__ == "__main__":
    main()
