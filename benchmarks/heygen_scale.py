"""HeyGen's time scale on a fake clock: ``python -m benchmarks.heygen_scale``.

Jobs of minutes, through the real scheduler with no HTTP and no sleeping: a
simulated HeyGen answers each single status request from the job's true end,
with the video's ``duration`` in the answer, as HeyGen's does.  The workload
(``--jobs``, default 200, arriving over an hour): videos of 1 to 10 minutes,
each translated in about twice its length, +-30 % (uniform).  Each strategy
tracks every job with one client (so ``heygen_policy()`` learns from the jobs
it saw end), one job per request (the bulk route would cut everyone's
requests alike).  Lateness is when the client learned the end less the end.

Strategies: ``heygen_policy()``; HeyGen CLI's ``--wait`` (2 s, doubling to
30 s, +-25 % jitter); HeyGen's written guidance for agents (every 30 s for
3 minutes, then every 60 s).
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from heygen_client._backends import BaseBackend
from heygen_client._config import SchedulerConfig
from heygen_client._futures import JobFuture
from heygen_client._scheduler import Scheduler
from heygen_client._stores.memory import MemoryStore
from heygen_client._threads import execute
from heygen_client.models import JobResult, JobStatus
from heygen_client.policies import Decision, PollPolicy, PollState, RetryPolicy, heygen_policy


def cli_delay(polls: int, rng: random.Random) -> float:
    """HeyGen CLI's wait before poll ``polls + 1``: at once, then 2 s doubling to 30 s, +-25 %."""
    if polls == 0:
        return 0.0
    base: float = min(30.0, 2.0 * 2 ** (polls - 1))
    return base * rng.uniform(0.75, 1.25)


def guidance_delay(polls: int, elapsed: float) -> float:
    """HeyGen's guidance for agents: at once, then every 30 s for 3 minutes, then every 60 s."""
    if polls == 0:
        return 0.0
    return 30.0 if elapsed < 180 else 60.0


@dataclass(frozen=True)
class CliSchedule:
    """HeyGen CLI's wait: 2 s, doubling, capped at 30 s, +-25 % jitter."""

    def next_delay(self, state: PollState) -> Decision:
        return Decision(cli_delay(state.polls, state.rng), "cli")


@dataclass(frozen=True)
class Guidance:
    """HeyGen's guidance for agents: every 30 s for 3 minutes, then every 60 s."""

    def next_delay(self, state: PollState) -> Decision:
        return Decision(guidance_delay(state.polls, state.elapsed), "guidance")


STRATEGIES: dict[str, Callable[[], PollPolicy]] = {
    "heygen_policy()": heygen_policy,
    "HeyGen CLI (2 s doubling to 30 s)": CliSchedule,
    "HeyGen guidance (30 s, then 60 s)": Guidance,
}


class Clock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class SimulatedHeyGen(BaseBackend):
    """Translations that end at fixed times on the fake clock; single GETs only."""

    name = "simulated heygen"

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.ends: dict[str, float] = {}
        self.videos: dict[str, float] = {}
        self.learned: dict[str, float] = {}
        self.requests = 0

    def get_status(self, job_id: str | None, *, wait: float | None = None) -> JobStatus:
        assert job_id is not None
        self.requests += 1
        now = self.clock()
        ended = now >= self.ends[job_id]
        if ended:
            self.learned.setdefault(job_id, now)
        extra = {"status": "completed" if ended else "running", "duration": self.videos[job_id]}
        result = JobResult.COMPLETED if ended else JobResult.PENDING
        return JobStatus(job_id, result, extra=MappingProxyType(extra))


@dataclass(frozen=True)
class Outcome:
    """What one strategy did on the workload."""

    strategy: str
    requests_per_job: float
    p50: float
    p95: float


def simulate(strategy: str, jobs: int, seed: int, latency: float = 0.2) -> Outcome:
    """Track the seeded workload with one strategy; ``latency`` per request."""
    rng = random.Random(seed)
    arrivals = sorted(rng.uniform(0, 3600) for _ in range(jobs))
    videos = [rng.uniform(60, 600) for _ in range(jobs)]
    translations = [2 * v * rng.uniform(0.7, 1.3) for v in videos]
    clock = Clock()
    server = SimulatedHeyGen(clock)
    scheduler = Scheduler(
        server,
        policy=STRATEGIES[strategy](),
        retry=RetryPolicy(),
        store=MemoryStore(clock=clock),
        config=SchedulerConfig(max_requests_per_second=1e6, burst=1e6),
        clock=clock,
        rng=random.Random(seed),
        threaded=False,
    )
    pending = list(zip(arrivals, videos, translations, strict=True))
    index = 0
    end = arrivals[-1] + 3 * max(translations) + 600
    while clock.now < end:
        while index < len(pending) and pending[index][0] <= clock.now:
            _, video, seconds = pending[index]
            job_id = str(index)
            server.ends[job_id] = clock.now + seconds
            server.videos[job_id] = video
            scheduler.track([JobFuture(job_id, scheduler)])
            index += 1
        next_at = scheduler.run_due(clock.now)
        while scheduler.dispatched:
            request = scheduler.dispatched.pop(0)
            outcome = execute(scheduler.backend, request)
            scheduler.complete(request, outcome, clock.now + latency)
            next_at = scheduler.run_due(clock.now)
        arrival = pending[index][0] if index < len(pending) else math.inf
        if next_at is None and arrival == math.inf:
            break
        clock.now = max(clock.now, min(next_at if next_at is not None else math.inf, arrival))
    late = sorted(server.learned[k] - server.ends[k] for k in server.ends)
    assert len(late) == jobs, "a job was never learned"
    return Outcome(
        strategy,
        server.requests / jobs,
        statistics.median(late),
        late[int(0.95 * (len(late) - 1))],
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Print each strategy's requests per job and lateness, averaged over seeds."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.heygen_scale")
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=4)
    args = parser.parse_args(argv)
    print("| strategy | requests/job | lateness p50 | p95 |")
    print("|---|---|---|---|")
    for strategy in STRATEGIES:
        runs = [simulate(strategy, args.jobs, seed) for seed in range(1, args.seeds + 1)]
        print(
            f"| {strategy} | {statistics.mean(r.requests_per_job for r in runs):.1f} | "
            f"{statistics.mean(r.p50 for r in runs):.1f} s | "
            f"{statistics.mean(r.p95 for r in runs):.1f} s |"
        )


if __name__ == "__main__":
    main()
