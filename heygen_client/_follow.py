""":func:`follow`: a batch of futures shown by a reporter until every job is done.

``wait`` and ``submit`` track their jobs with one :class:`TranslationClient`
and hand the :class:`JobBatch` to :func:`follow`, which turns the futures into
:class:`~heygen_client._progress.JobView` snapshots for a reporter of
:mod:`heygen_client._progress`, and the outcomes into the exit status.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from heygen_client._batch import JobBatch
from heygen_client._exit_codes import ExitCode, exit_code_of, state_of, worst
from heygen_client._futures import JobFuture
from heygen_client._progress import JobView, Reporter, Summary
from heygen_client.errors import DeadlineExceeded, HeyGenError, TranslationFailed
from heygen_client.models import JobStatus

__all__ = ["counted_down", "failure_text", "follow", "status_fields"]


@dataclass(slots=True)
class _Tracked:
    future: JobFuture
    reported: str = "waiting"
    finished_at: float | None = None


def follow(
    batch: JobBatch,
    reporter: Reporter,
    *,
    clock: Callable[[], float] = time.monotonic,
    started: float | None = None,
    requests: Callable[[], int] | None = None,
) -> ExitCode:
    """Show ``batch`` with ``reporter`` until every job is done; returns the exit status.

    Runs on the caller's thread: the futures' done callbacks only queue the
    future (and when), so the reporter is never called from the client's threads.
    On Ctrl-C the reporter is closed with what is known, then the interrupt goes on.
    Elapsed times count from ``started`` (a ``clock()`` reading; default: now).
    ``requests`` gives the status requests made so far, for the summary.
    """
    start = clock() if started is None else started
    tracked = [_Tracked(future) for future in batch]
    finished: queue.SimpleQueue[tuple[JobFuture, float]] = queue.SimpleQueue()

    def on_done(future: Future[JobStatus]) -> None:
        assert isinstance(future, JobFuture)
        finished.put((future, clock()))

    def views() -> list[JobView]:
        now = clock()
        return [_view(item, start, now) for item in tracked]

    interrupted = True
    with reporter:
        reporter.start(views())
        for item in tracked:
            item.future.add_done_callback(on_done)
        try:
            _show_until_done(tracked, finished, reporter, start, views)
            interrupted = False
        finally:
            made = requests() if requests is not None else None
            reporter.close(Summary(views(), clock() - start, interrupted, made))
    return worst([exit_code_of(_error_of(item.future)) for item in tracked])


def _show_until_done(
    tracked: Sequence[_Tracked],
    finished: queue.SimpleQueue[tuple[JobFuture, float]],
    reporter: Reporter,
    start: float,
    views: Callable[[], list[JobView]],
) -> None:
    """Report each job as it finishes, and the others' changes once a tick."""
    index = {id(item.future): item for item in tracked}
    remaining = len(tracked)
    while remaining:
        try:
            future, at = finished.get(timeout=reporter.tick_seconds)
        except queue.Empty:
            pass
        else:
            item = index[id(future)]
            item.finished_at = at
            remaining -= 1
            reporter.finished(_view(item, start, at))
            continue  # drain every finished job before redrawing
        # One snapshot per tick, for both the changes and the redraw.
        current = views()
        for item, view in zip(tracked, current, strict=True):
            if item.finished_at is None and view.state != item.reported and not item.future.done():
                item.reported = view.state
                reporter.changed(view)
        reporter.tick(current)


def _error_of(future: JobFuture) -> BaseException | None:
    if future.cancelled():  # only our own close() on the way out cancels
        return HeyGenError("tracking was cancelled")
    return future.exception()


def _view(item: _Tracked, start: float, now: float) -> JobView:
    future = item.future
    status = future.status
    common: dict[str, Any] = {"job_id": future.job_id, "polls": future.polls}
    common.update(status_fields(status))
    if item.finished_at is None:
        if future.listening and future.polls == 0:
            state = "listening"  # its first long-poll is held: no answer yet is no news
        elif status is not None and not status.is_final:
            state = "pending"
            common["progress"], common["remaining_seconds"] = counted_down(status, time.time())
        else:  # no answer yet, or final but not yet handed to us: still running here
            state = item.reported
        return JobView(state=state, elapsed=now - start, **common)
    error = _error_of(future)
    state = state_of(error)
    detail = None
    if state == "timeout" and isinstance(error, DeadlineExceeded):
        last = future.last_error
        if status is not None:
            detail = f"still {status.result.value}"
        elif last is not None:
            detail = f"no answer in time; the last request: {last}"
        else:
            detail = "no answer from the server in time"
    elif state == "timeout":
        detail = str(error)
    elif state == "error" and isinstance(error, TranslationFailed):
        detail = failure_text(error.status)
    elif state in ("unreachable", "failed"):
        detail = str(error)
    return JobView(state=state, elapsed=item.finished_at - start, error=detail, **common)


def status_fields(status: JobStatus | None) -> dict[str, Any]:
    """The :class:`JobView` fields a status gives (none before the first answer)."""
    if status is None:
        return {}
    return {
        "result": status.result.value,
        "progress": status.progress,
        "remaining_seconds": status.remaining_seconds,
    }


def failure_text(status: JobStatus) -> str:
    """Why a job ended in error, with the server's reason when it gave one."""
    reason = status.extra.get("failure_message") or status.extra.get("message")
    return f"the job ended in error: {reason}" if reason else "the job ended in error"


def counted_down(status: JobStatus, wall_now: float) -> tuple[float | None, float | None]:
    """A pending status's (progress, remaining_seconds), moved on to ``wall_now``.

    The client may not ask again for a while (the server's ``Retry-After``), so
    the last estimate is counted down from when it arrived, and the progress
    moved on at the pace that estimate implies, instead of standing still.
    """
    progress, remaining = status.progress, status.remaining_seconds
    if remaining is None or status.received_at <= 0:
        return progress, remaining
    age = max(0.0, wall_now - status.received_at)
    if progress is not None and remaining > 0:
        progress = min(1.0, progress + (1.0 - progress) * min(age, remaining) / remaining)
    return progress, max(0.0, remaining - age)
