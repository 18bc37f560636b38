"""What the scheduler learns from jobs that finished, and how it asks the poll policy.

``decide()`` builds a job's :class:`~heygen_client.policies.PollState` (with the
durations snapshot) and asks the poll policy, falling back to ``Backoff()`` when
the policy raises or answers nonsense.  ``learn()`` records a finished job's
duration in the store; ``snapshot()`` rebuilds the durations the policies see.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

from heygen_client._jobs import Job
from heygen_client.models import JobStatus
from heygen_client.policies import Backoff, Decision, Durations, PollState

if TYPE_CHECKING:
    from heygen_client._scheduler import Scheduler

logger = logging.getLogger("heygen_client._scheduler")

_AGES_KEPT = 1_000  # ages of running jobs sampled into each durations snapshot
_FALLBACK = Backoff()


def decide(s: Scheduler, job: Job, now: float) -> Decision | None:
    """Ask the poll policy; a policy that raises or answers nonsense gets Backoff().

    Called under the lock: policies must be pure (no I/O, no locks, no calls
    into the client), as docs/client.md says.
    """
    state = poll_state(s, job, now)
    try:
        decision = s.policy.next_delay(state)
        if decision is None or (
            isinstance(decision, Decision)
            and isinstance(decision.delay, int | float)
            and math.isfinite(decision.delay)
        ):
            return slowed(s, decision, now)
        problem = f"returned {decision!r}, not a Decision with a finite delay"
    except Exception as exc:
        logger.exception("poll policy %r raised; using Backoff()", s.policy)
        problem = f"raised {type(exc).__name__}"
    else:
        logger.error("poll policy %r %s; using Backoff()", s.policy, problem)
    fallback = _FALLBACK.next_delay(state)
    return Decision(fallback.delay, f"policy {problem}: {fallback.reason}")


def slowed(s: Scheduler, decision: Decision | None, now: float) -> Decision | None:
    """While statuses are pushed, polls are a safety net: space them out."""
    if decision is None or not s.pushes_flow(now):
        return decision
    delay = max(decision.delay * s.config.pushed_slowdown, s.config.pushed_min_delay)
    return Decision(delay, f"{decision.reason} (webhooks flow: safety net)")


def poll_state(s: Scheduler, job: Job, now: float) -> PollState:
    durations = snapshot(s, now)
    return PollState(
        elapsed=now - job.started,
        polls=job.polls,
        last=job.status,
        last_delay=job.last_delay,
        hint_misses=job.hint_misses,
        expected_duration=job.expected_duration,
        durations=durations,
        rng=s.rng,
        video_duration=job.video_duration,
        ratios=s._ratios,
    )


def snapshot(s: Scheduler, now: float, *, force: bool = False) -> Durations | None:
    # Rebuilt when a job ended, and every second while jobs run (their ages grow).
    due = now - s._durations_built >= 1.0
    stale = s._durations_dirty or (due and s._durations is not None and s._jobs)
    if stale and (force or s._learned < 64 or due):
        # The ages of the jobs still tracked are censored durations: without them
        # the first jobs seen ending (the short ones) bias every estimate short.
        # An even sample of at most _AGES_KEPT of them keeps a rebuild cheap.
        jobs = list(s._jobs.values())
        step = max(1, math.ceil(len(jobs) / _AGES_KEPT))
        sampled = jobs[::step]
        ages = [now - job.started for job in sampled]
        samples = s.store.durations()
        weight = len(jobs) / max(1, len(ages))
        s._durations = Durations(samples, ages, weight)
        if s._ratio_samples:
            ratio_ages = [
                (now - job.started) / job.video_duration
                for job in sampled
                if job.video_duration is not None
            ]
            s._ratios = Durations(s._ratio_samples, ratio_ages, weight)
        s._durations_dirty = False
        s._durations_built = now
    return s._durations


def learn(s: Scheduler, job: Job, previous: JobStatus | None, elapsed: float) -> None:
    """Record the job's duration, estimated between the last pending answer and now."""
    if job.last_pending_at is None:
        return  # first seen already final: its age is unknown
    lo, hi = job.last_pending_at, elapsed
    estimate = (lo + hi) / 2
    if previous is not None and previous.remaining_seconds is not None:
        estimate = min(hi, max(lo, lo + previous.remaining_seconds))
    s.store.record_duration(estimate)
    if job.video_duration is not None:
        s._ratio_samples.append(estimate / job.video_duration)
    s._learned += 1
    s._durations_dirty = True
