"""The scheduler's knobs, with their defaults (the client builds them from its options)."""

from __future__ import annotations

from dataclasses import dataclass

from heygen_client._options import Limits, Polling, Timeouts

__all__ = ["SchedulerConfig"]


@dataclass(frozen=True, slots=True)
class SchedulerConfig:
    """The scheduler's knobs; durations in seconds.

    Attributes:
        max_workers: HTTP worker threads for polls and batches.
        max_long_polls: per-job long-polls held at once, on workers of their own.
        long_poll_wait: the ``wait`` a long-poll asks (at most the server's).
        batch_linger: after a batch long-poll answers, how long its pending jobs
            wait before the next one, so that completions accumulate.
        batch_min_jobs: fewer ready jobs than this are polled one by one.
        max_requests_per_second: the request budget's rate.
        burst: the request budget's burst.
        idle_worker_timeout: an idle worker leaves after this.
        max_sleep: the scheduler thread looks at least this often (a finalizer's signal).
        batch_join_wait: a job kept waiting this long for a batch long-poll slot
            gets a plain batch instead.
        rediscover_after: capabilities are asked again this long after a failed
            discovery, or after the batch route answered 404/405.
        batch_gather: a job due takes the jobs due within this into its bulk request.
        pushed_slowdown: while statuses are pushed, poll delays are this many times
            the policy's (and ``batch_gather`` too).
        pushed_min_delay: while statuses are pushed, poll delays are at least this.
        pushed_recent: statuses count as pushed until this long after the last one.
        lease_ttl: with a shared store, how long a job's lease lasts unless renewed.
        fleet_sync: with a shared store, how often its feed of outcomes is read.
    """

    max_workers: int = Limits.max_workers
    max_long_polls: int = Limits.max_long_polls
    long_poll_wait: float = Timeouts.long_poll_wait
    batch_linger: float = Polling.batch_linger
    batch_min_jobs: int = 2
    max_requests_per_second: float = 200.0
    burst: float = 50.0
    idle_worker_timeout: float = 5.0
    max_sleep: float = 0.5
    batch_join_wait: float = 1.0
    rediscover_after: float = 10.0
    batch_gather: float = 0.0
    pushed_slowdown: float = 4.0
    pushed_min_delay: float = 0.0
    pushed_recent: float = 600.0
    lease_ttl: float = 5.0
    fleet_sync: float = 0.05
