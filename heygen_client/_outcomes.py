"""What the scheduler does with an answer: update the job, settle or reschedule it.

``Scheduler.complete()`` hands each request's outcome to :func:`take`, under
its lock: a status (``on_status``), a failure (``on_failure``, which asks the
retry policy), a batch refused for its size or for one bad id
(``batch_refused``), or the capabilities the server offers
(``on_capabilities``).  The futures to settle and the events for the hooks are
collected in an :class:`~heygen_client._outbox.Outbox`, which the scheduler
delivers once the lock is released.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from heygen_client._backends import BatchAnswer
from heygen_client._jobs import Job, Kind, Request
from heygen_client._outbox import Outbox, own_copy
from heygen_client.errors import (
    HTTPStatusError,
    JobNotFound,
    MalformedResponse,
    TransportError,
)
from heygen_client.models import (
    JobResult,
    JobStatus,
    PollEvent,
    StateChange,
)

if TYPE_CHECKING:
    from heygen_client._scheduler import Scheduler

logger = logging.getLogger("heygen_client._scheduler")


def hint_missed(previous: JobStatus | None, waited: float | None) -> bool:
    """True when ``previous`` said the job would be done within the ``waited`` seconds
    (it is still pending: the caller asks after a pending answer)."""
    if previous is None or waited is None:
        return False
    hint = previous.remaining_seconds
    if hint is None:
        hint = previous.retry_after
    return hint is not None and hint <= waited


def about_job(error: BaseException, job: Job, retried: bool) -> BaseException:
    """``error`` as the job's own: a copy whose message names the job (and the tries).

    A request's error says what happened to the request ("cannot connect to
    ..."); the future's says which job it ended, after how many tries.  The
    request's error is the copy's ``__cause__``.  Errors about the job itself
    (``JobNotFound`` naming it, a deadline) and other exceptions are kept as they are.
    """
    if not isinstance(error, TransportError | HTTPStatusError | MalformedResponse):
        return error
    name = job.key or "(default)"
    message = str(error)
    if not message.startswith(f"job {name}"):
        message = f"job {name}: {message}"
    if retried:
        message += f" (gave up after {job.failures} tries)"
    copy = own_copy(error)
    if copy is error:
        return error
    copy.args = (message,)
    return copy


def batch_refused(s: Scheduler, request: Request, outcome: object, now: float) -> bool:
    """A batch request refused for what it was, not for its jobs' sake.

    The request's jobs go back to the ready queue, none fails:

    * 404/405: the batch route is not offered after all; the capability is
      dropped until the next discovery (``rediscover_after``);
    * 413/414: too many ids at once; batches are halved from now on, and a
      job that not even a batch of one can carry is polled on its own;
    * 400 on several jobs: one of them may be at fault; they are polled on
      their own until each has had an answer (a bad id then fails alone).
    """
    if not (
        request.kind in (Kind.BATCH, Kind.BATCH_LONG_POLL)
        and isinstance(outcome, HTTPStatusError)
        and outcome.status_code in (400, 404, 405, 413, 414)
    ):
        return False
    code, size = outcome.status_code, len(request.jobs)
    if code == 400 and size == 1:
        return False  # the job's own fault: it fails as any job does
    if code in (404, 405):
        s.discovery.no_batch_route(code, now)
        s.adapt()
    elif code in (413, 414) and size > 1:
        s.discovery.batch_too_large(size, code)
    else:
        logger.warning("a batch of %d ids was refused (%d): polling them alone", size, code)
    for job in request.jobs:
        job.in_flight = False
        job.alone = code not in (404, 405, 413, 414) or size == 1
        if not job.dropped:
            s.queue.make_ready(job, now)
    return True


def on_capabilities(s: Scheduler, outcome: object, now: float) -> None:
    """Take the answer to ``GET /capabilities`` (or its failure)."""
    if isinstance(outcome, HTTPStatusError) and outcome.retry_after is not None:
        s.budget.pause(outcome.retry_after, now)
    s.discovery.answered(outcome, now, s.budget.paused_until)
    s.adapt()


def take(s: Scheduler, request: Request, outcome: object, now: float, out: Outbox) -> None:
    """Take the outcome of ``request``: update its jobs, settle or reschedule them."""
    if request.kind is Kind.CAPABILITIES:
        on_capabilities(s, outcome, now)
        return
    if (
        request.kind is Kind.BATCH_LONG_POLL
        and isinstance(outcome, BatchAnswer)
        and s.discovery.batch_came_back(request, outcome, now)
    ):
        s.adapt()
    if batch_refused(s, request, outcome, now):
        return
    by_id: dict[str | None, JobStatus] = {}
    if isinstance(outcome, BatchAnswer):
        by_id = {status.job_id: status for status in outcome.statuses}
    for job in request.jobs:
        complete_job(s, job, request, outcome, by_id, now, out)


def complete_job(
    s: Scheduler,
    job: Job,
    request: Request,
    outcome: object,
    by_id: dict[str | None, JobStatus],
    now: float,
    out: Outbox,
) -> None:
    """Take one job's part of the outcome; a bug here reschedules the job."""
    try:
        if isinstance(outcome, BaseException):
            on_failure(s, job, request, outcome, now, out)
        elif isinstance(outcome, BatchAnswer):
            status = by_id.get(job.key)
            if status is not None:
                on_status(s, job, request, status, now, out)
            elif job.key in outcome.unknown:
                error = JobNotFound(f"job {job.key} is unknown to the server", status_code=404)
                on_failure(s, job, request, error, now, out)
            else:
                error2 = MalformedResponse(f"batch answer lacks job {job.key}")
                on_failure(s, job, request, error2, now, out)
        elif isinstance(outcome, JobStatus):
            on_status(s, job, request, outcome, now, out)
    except Exception:
        logger.exception("handling the answer for job %s failed", job.key or "(default)")
        job.in_flight = False
        if not job.dropped:
            s.queue.schedule(job, now + 1.0)


def on_status(
    s: Scheduler,
    job: Job,
    request: Request,
    status: JobStatus,
    now: float,
    out: Outbox,
) -> None:
    """Take ``status`` for ``job``: settle a final one, or schedule the next poll."""
    job.in_flight = False
    s.store.put_status(job.key, status)
    if job.dropped:
        return
    previous = job.status
    elapsed = _record(s, job, request, status, now, out)
    if status.is_final:
        s.pacer.learn(job, previous, elapsed)
        s.finish(job, status, None, out)
        out.events.append(poll_event(s, job, request, elapsed, status.result, None, None, "final"))
        return
    job.last_pending_at = elapsed
    job.hint_misses = job.hint_misses + 1 if hint_missed(previous, job.last_delay) else 0
    delay, reason = next_delay(s, job, request, now)
    delay = max(delay, 0.0)
    job.last_delay = delay
    s.queue.schedule(job, now + delay)
    out.events.append(poll_event(s, job, request, elapsed, status.result, None, delay, reason))


def _record(
    s: Scheduler, job: Job, request: Request, status: JobStatus, now: float, out: Outbox
) -> float:
    """Give ``job`` its new status and tell its futures; a new state is an event
    (and a log line).  Returns the job's age."""
    # Answered: back into batches, unless not even a batch of one carries it.
    job.alone = job.alone and s.discovery.batch_cap <= 1
    if request.kind is not Kind.PUSH:
        job.polls += 1
    job.failures = 0
    elapsed = now - job.started
    old = job.status.result if job.status is not None else None
    job.status = status
    if status.video_duration is not None:
        job.video_duration = status.video_duration  # a bulk answer does not repeat it
    for future in job.futures:
        future.observe(status, job.polls)
    if old != status.result:
        out.events.append(StateChange(job.key, old, status.result, elapsed, status))
        logger.info(
            "job %s: %s -> %s after %.2f s (%d poll%s)",
            job.key or "(default)",
            old.value if old else "unknown",
            status.result.value,
            elapsed,
            job.polls,
            "" if job.polls == 1 else "s",
        )
    return elapsed


def next_delay(s: Scheduler, job: Job, request: Request, now: float) -> tuple[float, str]:
    """Seconds until ``job``'s next poll after a pending answer to ``request``, and why."""
    if request.kind is Kind.LONG_POLL:
        if now - request.sent_at < 0.5 * (request.wait or 0.0):
            job.long_poll_early += 1  # the server ignored wait= (a plain server)
        else:
            job.long_poll_early = 0
    if request.kind is Kind.BATCH_LONG_POLL:
        job.lingering = True
        if not request.reserved:
            request.reserved = True
            s.budget.reserved.append(now + s.config.batch_linger + 0.5)
        return s.config.batch_linger, "batch long-poll again"
    if request.kind is Kind.LONG_POLL and job.long_poll_early < 2:
        return 0.0, "long-poll again"
    decision = s.pacer.decide(job, now)
    if decision is None:
        delay, reason = 1.0, "no policy opinion"
    else:
        delay, reason = decision.delay, decision.reason
    if request.kind is Kind.BATCH and s.discovery.batch_long_wait() is not None:
        # A stand-in for a batch long-poll slot: come back soon to join one.
        cap = s.config.batch_join_wait / 2
        if delay > cap:
            return cap, "waiting for a batch long-poll slot"
    return delay, reason


def on_final_elsewhere(s: Scheduler, job: Job, status: JobStatus, now: float, out: Outbox) -> None:
    """Take a final status that another process of the fleet learned (no poll here)."""
    old = job.status.result if job.status is not None else None
    job.status = status
    for future in job.futures:
        future.observe(status, job.polls)
    out.events.append(StateChange(job.key, old, status.result, now - job.started, status))
    s.finish(job, status, None, out)


def on_failure(
    s: Scheduler,
    job: Job,
    request: Request,
    error: BaseException,
    now: float,
    out: Outbox,
) -> None:
    job.in_flight = False
    if job.dropped:
        return
    job.polls += 1
    elapsed = now - job.started
    if job.failures == 0:
        job.failing_since = now
    job.failures += 1
    for future in job.futures:
        future.observe(None, job.polls, error=error, failures=job.failures)
    retryable = s.retry.is_retryable(error)
    retry_after = error.retry_after if isinstance(error, HTTPStatusError) else None
    if retryable and not s.retry.exhausted(job.failures, now - job.failing_since):
        delay = s.retry.delay(job.failures, retry_after, s.rng)
        if retry_after is not None:
            s.budget.pause(retry_after, now)
        reason = f"retry {job.failures} after {type(error).__name__}"
        s.queue.schedule(job, now + delay)
        out.events.append(poll_event(s, job, request, elapsed, None, error, delay, reason))
        return
    reason = "retries exhausted" if retryable else "not retryable"
    logger.info("job %s: tracking failed (%s): %s", job.key or "(default)", reason, error)
    s.finish(job, None, about_job(error, job, retryable), out)
    out.events.append(poll_event(s, job, request, elapsed, None, error, None, reason))


def poll_event(
    s: Scheduler,
    job: Job,
    request: Request,
    elapsed: float,
    result: JobResult | None,
    error: BaseException | None,
    delay: float | None,
    reason: str,
) -> PollEvent:
    """The event for the hooks after a poll of ``job``, logged at DEBUG."""
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "poll job=%s n=%d elapsed=%.3fs %s result=%s next=%s (%s)",
            job.key or "(default)",
            job.polls,
            elapsed,
            request.kind,
            result.value if result is not None else type(error).__name__,
            "-" if delay is None else f"{delay:.3f}s",
            reason,
        )
    return PollEvent(
        job_id=job.key,
        elapsed=elapsed,
        poll=job.polls,
        result=result,
        error=error,
        next_delay=delay,
        reason=reason,
        kind=request.kind.value,
    )
