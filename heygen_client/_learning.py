"""When each job is polled next: the poll policy asked, with what finished jobs taught.

:class:`Pacer` builds a job's :class:`~heygen_client.policies.PollState` (with
the durations snapshot) and asks the poll policy, falling back to ``Backoff()``
when the policy raises or answers nonsense, and spacing polls out while
statuses are pushed (webhooks).  It records each finished job's duration in the
store, and rebuilds the durations the policies see from them.
"""

from __future__ import annotations

import collections
import logging
import math
import random
from collections.abc import Mapping
from typing import TYPE_CHECKING

from heygen_client._jobs import Job
from heygen_client._stores import Store
from heygen_client.models import JobStatus
from heygen_client.policies import Backoff, Decision, Durations, PollPolicy, PollState

if TYPE_CHECKING:
    from heygen_client._config import SchedulerConfig

__all__ = ["Pacer"]

logger = logging.getLogger("heygen_client._scheduler")

_AGES_KEPT = 1_000  # ages of running jobs sampled into each durations snapshot
_RATIOS_KEPT = 500  # translation seconds per video second, of the last finished jobs
_FALLBACK = Backoff()


class Pacer:
    """Decides each job's next delay; learns durations from the jobs that finish.

    Not locked: the scheduler calls it under its own lock.

    Args:
        policy: the poll policy.
        store: where learned durations are kept (shared, or from a restart: a warm start).
        jobs: the scheduler's tracked jobs (their ages are censored durations).
        config: the scheduler's knobs (the ``pushed_*`` ones).
        rng: the random source the policy jitters with.
    """

    def __init__(
        self,
        policy: PollPolicy,
        store: Store,
        jobs: Mapping[str | None, Job],
        config: SchedulerConfig,
        rng: random.Random,
    ) -> None:
        self.policy = policy
        self.store = store
        self.config = config
        self.rng = rng
        self._jobs = jobs
        self.pushed_at: float | None = None  # when a status was last pushed (or expected)
        self._learned = len(store.durations())  # durations recorded, for the rebuild pace
        self._durations: Durations | None = None
        # Translation seconds per second of video, of finished jobs whose length was known.
        self._ratio_samples: collections.deque[float] = collections.deque(maxlen=_RATIOS_KEPT)
        self._ratios: Durations | None = None
        self._dirty = self._learned > 0  # durations already in the store: a warm start
        self._built = -1e9

    def pushes_flow(self, now: float) -> bool:
        """Whether polls are a safety net now (``Scheduler.expect_pushes``)."""
        return self.pushed_at is not None and now - self.pushed_at < self.config.pushed_recent

    def decide(self, job: Job, now: float) -> Decision | None:
        """Ask the poll policy; a policy that raises or answers nonsense gets Backoff().

        Called under the lock: policies must be pure (no I/O, no locks, no calls
        into the client), as docs/client.md says.
        """
        state = self._poll_state(job, now)
        try:
            decision = self.policy.next_delay(state)
            if decision is None or (
                isinstance(decision, Decision)
                and isinstance(decision.delay, int | float)
                and math.isfinite(decision.delay)
            ):
                return self._slowed(decision, now)
            problem = f"returned {decision!r}, not a Decision with a finite delay"
        except Exception as exc:
            logger.exception("poll policy %r raised; using Backoff()", self.policy)
            problem = f"raised {type(exc).__name__}"
        else:
            logger.error("poll policy %r %s; using Backoff()", self.policy, problem)
        fallback = _FALLBACK.next_delay(state)
        return Decision(fallback.delay, f"policy {problem}: {fallback.reason}")

    def _slowed(self, decision: Decision | None, now: float) -> Decision | None:
        """While statuses are pushed, polls are a safety net: space them out."""
        if decision is None or not self.pushes_flow(now):
            return decision
        delay = max(decision.delay * self.config.pushed_slowdown, self.config.pushed_min_delay)
        return Decision(delay, f"{decision.reason} (webhooks flow: safety net)")

    def _poll_state(self, job: Job, now: float) -> PollState:
        durations = self.snapshot(now)
        return PollState(
            elapsed=now - job.started,
            polls=job.polls,
            last=job.status,
            last_delay=job.last_delay,
            hint_misses=job.hint_misses,
            expected_duration=job.expected_duration,
            durations=durations,
            rng=self.rng,
            video_duration=job.video_duration,
            ratios=self._ratios,
        )

    def snapshot(self, now: float, *, force: bool = False) -> Durations | None:
        """The learned durations the policies see (``force``: rebuilt whenever stale)."""
        # Rebuilt when a job ended, and every second while jobs run (their ages grow).
        due = now - self._built >= 1.0
        stale = self._dirty or (due and self._durations is not None and self._jobs)
        if stale and (force or self._learned < 64 or due):
            # The ages of the jobs still tracked are censored durations: without them
            # the first jobs seen ending (the short ones) bias every estimate short.
            # An even sample of at most _AGES_KEPT of them keeps a rebuild cheap.
            jobs = list(self._jobs.values())
            step = max(1, math.ceil(len(jobs) / _AGES_KEPT))
            sampled = jobs[::step]
            ages = [now - job.started for job in sampled]
            samples = self.store.durations()
            weight = len(jobs) / max(1, len(ages))
            self._durations = Durations(samples, ages, weight)
            if self._ratio_samples:
                ratio_ages = [
                    (now - job.started) / job.video_duration
                    for job in sampled
                    if job.video_duration is not None
                ]
                self._ratios = Durations(self._ratio_samples, ratio_ages, weight)
            self._dirty = False
            self._built = now
        return self._durations

    def learn(self, job: Job, previous: JobStatus | None, elapsed: float) -> None:
        """Record the job's duration, estimated between the last pending answer and now."""
        if job.last_pending_at is None:
            return  # first seen already final: its age is unknown
        lo, hi = job.last_pending_at, elapsed
        estimate = (lo + hi) / 2
        if previous is not None and previous.remaining_seconds is not None:
            estimate = min(hi, max(lo, lo + previous.remaining_seconds))
        self.store.record_duration(estimate)
        if job.video_duration is not None:
            self._ratio_samples.append(estimate / job.video_duration)
        self._learned += 1
        self._dirty = True
