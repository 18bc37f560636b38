"""The scheduler's threads: its loop, and the HTTP workers that make its requests.

Both start on the first ``track()`` and are named; ``close()`` stops them.
The loop runs :meth:`Scheduler.run_due` rounds and sleeps in between
(:meth:`Scheduler.sleep`); a worker makes a request through the backend
(:func:`execute`) and hands its outcome to :meth:`Scheduler.complete`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from heygen_client._backends import Backend
from heygen_client._jobs import Kind, Request
from heygen_client._transport import IO_ERRORS, abandon_when, map_exception
from heygen_client._workers import WorkerPool
from heygen_client.errors import HeyGenError

if TYPE_CHECKING:
    from heygen_client._scheduler import Scheduler

__all__ = ["Threads", "execute"]

logger = logging.getLogger("heygen_client._scheduler")


def execute(backend: Backend, request: Request) -> object:
    """Make ``request`` through ``backend``; returns its value or the error."""
    try:
        if request.kind is Kind.CAPABILITIES:
            return backend.capabilities()
        if request.kind in (Kind.POLL, Kind.LONG_POLL):
            return backend.get_status(request.jobs[0].key, wait=request.wait)
        keys = [job.key for job in request.jobs if job.key is not None]
        return backend.batch_status(keys, wait=request.wait)
    except HeyGenError as exc:
        return exc
    except IO_ERRORS as exc:
        logger.debug("I/O error from %s", request.kind, exc_info=True)
        mapped = map_exception(exc)
        mapped.__cause__ = exc
        return mapped
    except Exception as exc:
        # A bug (ours or a custom source's), not a failed request: never retried;
        # it fails the futures of the request's jobs.
        logger.error("%s request raised %r; not retried", request.kind, exc, exc_info=True)
        return exc


class Threads:
    """One scheduler's loop thread and worker pool.

    Args:
        scheduler: the scheduler whose rounds the loop runs and whose requests
            the workers make.
        cond: the scheduler's condition (:meth:`signal_close` wakes it).
    """

    def __init__(self, scheduler: Scheduler, cond: threading.Condition) -> None:
        self._scheduler = scheduler
        self._cond = cond
        self.thread: threading.Thread | None = None
        self.pool: WorkerPool[Request] | None = None
        self._close_signal: Callable[[], object] | None = None  # set by signal_close()

    def start(self) -> None:
        """Start the loop and the pool unless started.

        Called under the scheduler's lock, while it is open.
        """
        if self.thread is not None:
            return
        scheduler = self._scheduler
        limit = scheduler.discovery.thread_limit()
        self.pool = WorkerPool(self._work, limit, scheduler.config.idle_worker_timeout)
        self.thread = threading.Thread(
            target=self._loop, name="heygen-client-scheduler", daemon=True
        )
        self.thread.start()

    def send(self, request: Request) -> None:
        """Queue ``request`` to a worker (none before :meth:`start` or after :meth:`stop`)."""
        if self.pool is not None:
            self.pool.submit(request)

    def resize(self, limit: int) -> None:
        """Bound the pool to ``limit`` workers (what the server offers changed)."""
        if self.pool is not None:
            self.pool.limit = limit

    def alive(self) -> list[threading.Thread]:
        """The live threads (tests)."""
        out = [self.thread] if self.thread is not None else []
        if self.pool is not None:
            out.extend(self.pool.threads())
        return [t for t in out if t.is_alive()]

    def signal_close(self, then: Callable[[], object]) -> None:
        """Have the loop call ``then()`` and close the scheduler; never blocks.

        For a finalizer: the collector may run it on any thread, one of ours holding
        our locks included, so it only sets a flag and wakes the loop if the lock
        is free (the loop also looks every ``max_sleep``).
        """
        self._close_signal = then
        if self._cond.acquire(blocking=False):
            try:
                self._cond.notify_all()
            finally:
                self._cond.release()

    def stop(self, end: float) -> None:
        """Stop the workers and join the loop, by ``end`` (``time.monotonic()``).

        Called once the scheduler is closed (nothing starts them again).
        """
        if self.pool is not None:
            self.pool.close(end)
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(max(0.0, end - time.monotonic()))

    def _loop(self) -> None:
        scheduler = self._scheduler
        while self._close_signal is None:
            try:
                next_at = scheduler.run_due(scheduler.clock())
            except Exception:  # a bug must not kill the thread silently
                logger.exception("scheduler round failed")
                next_at = scheduler.clock() + 0.1
            if not scheduler.sleep(next_at):
                return
        self._close_signal()
        scheduler.close()

    def _work(self, request: Request) -> None:
        """Execute and complete ``request`` (what a worker does).

        A request about jobs is given up once none of them is tracked any more
        (their futures' deadlines passed, or they were cancelled): a slow or
        endless answer then frees its worker within ``ABANDON_CHECK`` seconds.
        """
        scheduler = self._scheduler
        jobs = request.jobs
        if jobs:
            with abandon_when(lambda: all(job.dropped for job in jobs)):
                outcome = execute(scheduler.backend, request)
        else:
            outcome = execute(scheduler.backend, request)
        scheduler.complete(request, outcome, scheduler.clock())
