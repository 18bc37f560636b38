"""Dispatchers: how ready jobs become requests, one per kind of server.

The scheduler's :class:`~heygen_client._discovery.Discovery` picks one when it
learns what the server offers (:func:`choose`); the scheduler calls it each
round, under its lock, with the jobs that are due.  A dispatcher starts
requests (:func:`_start`) as far as the request budget and the worker bound
allow, and returns when a blocked round can go on (or None).

* :class:`PollEach` - one request per job: plain polls, or held long-polls
  when the server offers them (up to ``long_limit`` at once).
* :class:`Batches` - plain batch requests of up to ``max_ids`` jobs; a few
  jobs left over (fewer than ``batch_min_jobs``) are polled one by one.
* :class:`BatchLongPolls` - batch requests held by the server; a job waits to
  join the next one, or after ``batch_join_wait`` gets a plain batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from heygen_client._jobs import Job, Kind, Request
from heygen_client.models import Capabilities

if TYPE_CHECKING:
    from heygen_client._config import SchedulerConfig
    from heygen_client._scheduler import Scheduler

__all__ = ["BatchLongPolls", "Batches", "Dispatcher", "PollEach", "choose"]


class Dispatcher(Protocol):
    """Turns the due jobs into requests; returns when a blocked round can go on."""

    @property
    def window(self) -> int:
        """How many of the due jobs one round looks at (the rest wait their turn)."""
        ...

    def __call__(
        self, s: Scheduler, jobs: list[Job], now: float, requests: list[Request]
    ) -> float | None: ...


@dataclass(frozen=True, slots=True)
class PollEach:
    """One request per job.

    Attributes:
        long_wait: the ``wait`` of a long-poll, or None on a server without.
        long_limit: long-polls held at once; jobs beyond it poll plainly meanwhile.
        short_limit: plain requests in flight at once.
    """

    long_wait: float | None
    long_limit: int
    short_limit: int

    @property
    def window(self) -> int:
        return 4 * (self.long_limit + self.short_limit) + 64

    def __call__(
        self, s: Scheduler, jobs: list[Job], now: float, requests: list[Request]
    ) -> float | None:
        if self.long_wait is None:
            jobs = _first_polls(s, jobs, now)
        budget = s.budget
        for job in jobs:
            use_long = (
                self.long_wait is not None
                and budget.in_flight_long < self.long_limit
                and job.long_poll_early < 2
            )
            if not use_long and budget.in_flight_short >= self.short_limit:
                break
            if (blocked_at := budget.spend(now)) is not None:
                return blocked_at
            if use_long:
                _start(s, Request(Kind.LONG_POLL, [job], self.long_wait, now), requests)
            else:
                _start(s, Request(Kind.POLL, [job], None, now), requests)
        return None


def _first_polls(s: Scheduler, jobs: list[Job], now: float) -> list[Job]:
    """Jobs whose first poll is due now; the policy may put it off (learned
    durations, an expected duration), and those are scheduled for later."""
    due: list[Job] = []
    for job in jobs:
        if not job.first_scheduled:
            job.first_scheduled = True
            decision = s.pacer.decide(job, now)
            if decision is not None and decision.delay > 0:
                s.queue.unready(job)
                s.queue.schedule(job, now + decision.delay)
                continue
        due.append(job)
    return due


def _start(s: Scheduler, request: Request, requests: list[Request]) -> None:
    """Count ``request`` in flight and queue it to be sent after the round."""
    for job in request.jobs:
        s.queue.unready(job)
        job.in_flight = True
        job.lingering = False
        if request.wait:
            for future in job.futures:
                future.observe_listening()
    s.budget.started(request)
    requests.append(request)


def _split(jobs: list[Job]) -> tuple[list[Job], list[Job]]:
    """(jobs a batch can carry, jobs polled on their own): the seed's single job
    (it has no id), and jobs whose batch the server refused."""
    batchable = [j for j in jobs if j.key is not None and not j.alone]
    return batchable, [j for j in jobs if j.key is None or j.alone]


@dataclass(frozen=True, slots=True)
class Batches:
    """Plain batch requests; what is left over goes to ``then``."""

    max_ids: int
    min_jobs: int
    then: PollEach

    @property
    def window(self) -> int:
        return self.max_ids * self.then.short_limit + self.then.window

    def __call__(
        self, s: Scheduler, jobs: list[Job], now: float, requests: list[Request]
    ) -> float | None:
        if self.then.long_wait is None:
            jobs = _first_polls(s, jobs, now)
        batchable, rest = _split(jobs)
        while batchable and s.budget.in_flight_short < self.then.short_limit:
            if len(batchable) < self.min_jobs:
                rest.extend(batchable)
                break
            if (blocked_at := s.budget.spend(now)) is not None:
                return blocked_at
            size = s.discovery.batch_size(self.max_ids)
            chunk, batchable = batchable[:size], batchable[size:]
            _start(s, Request(Kind.BATCH, chunk, None, now), requests)
        return self.then(s, rest, now, requests)


@dataclass(frozen=True, slots=True)
class BatchLongPolls:
    """Batch long-polls (at most ``long_limit`` held), joined by the jobs that wait."""

    max_ids: int
    wait: float
    long_limit: int
    join_wait: float
    then: PollEach

    @property
    def window(self) -> int:
        return self.max_ids * (self.long_limit + self.then.short_limit) + self.then.window

    def __call__(
        self, s: Scheduler, jobs: list[Job], now: float, requests: list[Request]
    ) -> float | None:
        for job in jobs:
            job.first_scheduled = True
        batchable, rest = _split(jobs)
        budget = s.budget
        budget.reserved = [t for t in budget.reserved if t > now]
        while batchable:
            use_long = budget.in_flight_long + len(budget.reserved) < self.long_limit
            if not use_long and budget.reserved and any(job.lingering for job in batchable):
                # The slot kept for a batch that came back, during its linger.
                budget.reserved.pop()
                use_long = True
            if not use_long:
                batchable, blocked_at = self._plain_for_stale(s, batchable, now, requests)
                if batchable:
                    return blocked_at
                break
            if (blocked_at := budget.spend(now)) is not None:
                return blocked_at
            size = s.discovery.batch_size(self.max_ids)
            chunk, batchable = batchable[:size], batchable[size:]
            _start(s, Request(Kind.BATCH_LONG_POLL, chunk, self.wait, now), requests)
        return self.then(s, rest, now, requests)

    def _plain_for_stale(
        self, s: Scheduler, batchable: list[Job], now: float, requests: list[Request]
    ) -> tuple[list[Job], float | None]:
        """No slot: wait to join the next batch long-poll (one comes back at every
        completion), but a job kept waiting ``join_wait`` (few completions: batches
        are held for their whole wait) gets a plain batch, paced by its policy.

        Returns the jobs still waiting, and when the round can go on for them.
        """
        while batchable:
            stale = [j for j in batchable if now - j.ready_since >= self.join_wait]
            if not stale or s.budget.in_flight_short >= self.then.short_limit:
                fresh = [j.ready_since for j in batchable if now - j.ready_since < self.join_wait]
                return batchable, min(fresh) + self.join_wait if fresh else None
            if (blocked_at := s.budget.spend(now)) is not None:
                return batchable, blocked_at
            chunk = stale[: s.discovery.batch_size(self.max_ids)]
            _start(s, Request(Kind.BATCH, chunk, None, now), requests)
            batchable = [j for j in batchable if not j.in_flight]
        return batchable, None


def choose(
    caps: Capabilities, config: SchedulerConfig, batch_long_wait: float | None
) -> Dispatcher:
    """The dispatcher for a server that offers ``caps``.

    ``batch_long_wait`` is the ``wait`` of batch long-polls, or None when batches
    are plain (no long-poll, a server that answers them at once, one worker).
    """
    workers = config.max_workers
    long_wait = min(config.long_poll_wait, caps.long_poll_max_wait or 0.0) or None
    if caps.batch_max_ids is None:
        limit = config.max_long_polls if long_wait else 0
        return PollEach(long_wait, limit, workers)
    if batch_long_wait is None:
        return Batches(caps.batch_max_ids, config.batch_min_jobs, PollEach(long_wait, 0, workers))
    long_limit = max(1, workers - 2)
    return BatchLongPolls(
        caps.batch_max_ids,
        batch_long_wait,
        long_limit,
        config.batch_join_wait,
        PollEach(long_wait, long_limit, workers - long_limit),
    )
