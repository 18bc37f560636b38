"""The loop-bound futures of the asyncio face: :class:`AsyncJobFuture`, :class:`AsyncJobBatch`.

Each :class:`AsyncJobFuture` mirrors one :class:`~heygen_client.JobFuture`,
which the scheduler thread resolves; the result is handed to the future's
event loop, so that asyncio's own tools treat a job like any other
:class:`asyncio.Future`.  Cancelling it cancels the :class:`JobFuture`.

    scheduler thread                     event loop thread
    JobFuture ── done callback ──► call_soon_threadsafe ──► AsyncJobFuture result
    JobFuture.cancel() ◄──────────────── AsyncJobFuture.cancel() (task cancelled)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import AsyncIterator, Iterable
from typing import Any

from heygen_client._batch import counts_of, find, outcome
from heygen_client._futures import JobFuture
from heygen_client.errors import ClientClosed
from heygen_client.models import JobStatus

__all__ = ["AsyncJobBatch", "AsyncJobFuture"]

BatchResults = dict[str | None, JobStatus | BaseException]


class AsyncJobFuture(asyncio.Future[JobStatus]):
    """An :class:`asyncio.Future` for one job's final status, bound to one event loop.

    It mirrors a :class:`~heygen_client.JobFuture` (:attr:`job_future`), which the
    scheduler resolves; its result arrives on the loop, and callbacks run there.
    Awaiting it returns the final :class:`JobStatus` or raises
    :class:`~heygen_client.TranslationFailed` (or another
    :class:`~heygen_client.HeyGenError` when tracking failed).

    ``cancel()``, and so cancelling a task that awaits it or an
    :func:`asyncio.wait_for` timeout, also cancels the :class:`JobFuture`: polling
    stops unless another future still tracks the job.
    """

    __slots__ = ("_job_future",)  # one per tracked job: no __dict__

    def __init__(self, job_future: JobFuture, *, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop=loop)
        self._job_future = job_future
        if job_future.done():
            self._copy_state(job_future)
        else:
            # Inline, not on the callback thread: a blocking callback of another
            # future must not hold up the loop's results.
            job_future._add_inline_callback(self._on_job_done)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} job_id={self.job_id!r} {_state(super().__repr__())}>"

    @property
    def job_future(self) -> JobFuture:
        """The thread-world future this one mirrors."""
        return self._job_future

    @property
    def job_id(self) -> str | None:
        """The job's id (None for the seed's single job)."""
        return self._job_future.job_id

    @property
    def status(self) -> JobStatus | None:
        """The latest status seen for the job, or None before the first answer."""
        return self._job_future.status

    @property
    def polls(self) -> int:
        """Status requests made for this job so far (shared by all its futures)."""
        return self._job_future.polls

    def cancel(self, msg: Any | None = None) -> bool:
        """Cancel this future and its :class:`JobFuture`; see the class docstring."""
        if not super().cancel(msg):
            return False
        self._job_future.cancel()
        return True

    # On the thread that settled the JobFuture (the scheduler's, a worker's, a caller's).
    def _on_job_done(self, job_future: JobFuture) -> None:
        loop = self.get_loop()
        if loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody to tell
            loop.call_soon_threadsafe(self._copy_state, job_future)

    # On the loop.
    def _copy_state(self, job_future: concurrent.futures.Future[JobStatus]) -> None:
        if self.done():
            return
        if job_future.cancelled():
            super().cancel()
            return
        error = job_future.exception()
        if error is None:
            self.set_result(job_future.result())
            return
        self.set_exception(error)
        if isinstance(error, ClientClosed):
            # Closing the client failed it: the caller asked for that, so asyncio
            # need not log "exception was never retrieved" when nobody awaits it.
            self.exception()


class AsyncJobBatch(asyncio.Future[BatchResults]):
    """Many :class:`AsyncJobFuture` s tracked together (``AsyncTranslationClient.track_many``).

    An :class:`asyncio.Future` itself, like what :func:`asyncio.gather` returns:
    awaiting it waits for every job and returns ``{job_id: final JobStatus, or the
    error that ended it}`` (as ``JobBatch.results()``; a job that ended in
    ``"error"`` maps to its :class:`~heygen_client.TranslationFailed`, a cancelled one
    to :class:`asyncio.CancelledError`).  ``cancel()``, and so cancelling a task
    that awaits it, cancels every job of the batch.

    ``batch.futures`` holds the futures in the order the ids were given;
    ``async for future in batch.as_completed()`` yields them as they finish.
    """

    __slots__ = ("_finished", "_wakeups", "futures")

    def __init__(
        self, futures: Iterable[AsyncJobFuture], *, loop: asyncio.AbstractEventLoop
    ) -> None:
        super().__init__(loop=loop)
        self.futures: tuple[AsyncJobFuture, ...] = tuple(futures)
        self._finished: list[AsyncJobFuture] = []  # in the order they finished
        self._wakeups: list[asyncio.Future[None]] = []
        for future in self.futures:
            future.add_done_callback(self._on_done)
        if not self.futures:
            self.set_result({})

    def __repr__(self) -> str:
        return f"<{type(self).__name__} jobs={len(self.futures)} {_state(super().__repr__())}>"

    def __len__(self) -> int:
        return len(self.futures)

    def __getitem__(self, job_id: str | None) -> AsyncJobFuture:
        """The future of ``job_id`` (the first one, if the id was given twice).

        Raises:
            KeyError: the batch does not track ``job_id``.
        """
        return find(self.futures, job_id)

    @property
    def done_count(self) -> int:
        """How many futures have finished (any way)."""
        return len(self._finished)

    def cancel(self, msg: Any | None = None) -> bool:
        """Cancel the batch and every job in it that has not finished."""
        if self.done():
            return False
        for future in self.futures:
            future.cancel(msg)
        return super().cancel(msg)

    def as_completed(self) -> AsyncIterator[AsyncJobFuture]:
        """Iterate (``async for``) over the futures as they finish.

        Like :func:`asyncio.as_completed`, it does not own the futures: leaving the
        loop early (``break``, a timeout, a cancelled task) leaves the jobs
        tracked; call :meth:`cancel` to stop them.
        """
        return _Completed(self)

    def counts(self) -> dict[str, int]:
        """How many jobs are ``pending``, ``completed``, ``error``, ``failed``, ``cancelled``.

        As ``JobBatch.counts()``: ``error`` is a job that ended in error, ``failed``
        is tracking that failed (retries spent, deadline, client closed).
        """
        return counts_of(self.futures)

    def _on_done(self, future: asyncio.Future[JobStatus]) -> None:
        assert isinstance(future, AsyncJobFuture)
        self._finished.append(future)
        wakeups, self._wakeups = self._wakeups, []
        for wakeup in wakeups:
            if not wakeup.done():
                wakeup.set_result(None)
        if len(self._finished) == len(self.futures) and not self.done():
            self.set_result(self._results())

    def _results(self) -> BatchResults:
        return {f.job_id: outcome(f, asyncio.CancelledError) for f in self.futures}

    def _next_finished(self) -> asyncio.Future[None]:
        wakeup = self.get_loop().create_future()
        self._wakeups.append(wakeup)
        return wakeup


class _Completed:
    """``AsyncJobBatch.as_completed()``: its own cursor over the finished futures."""

    def __init__(self, batch: AsyncJobBatch) -> None:
        self._batch = batch
        self._next = 0

    def __aiter__(self) -> _Completed:
        return self

    async def __anext__(self) -> AsyncJobFuture:
        batch = self._batch
        while self._next == len(batch._finished):
            if self._next == len(batch.futures):
                raise StopAsyncIteration
            await batch._next_finished()
        future = batch._finished[self._next]
        self._next += 1
        return future


def _state(future_repr: str) -> str:
    """``"finished result=..."`` out of ``"<ClassName finished result=...>"``."""
    return future_repr[1:-1].partition(" ")[2]
