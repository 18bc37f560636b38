"""A batch of tracked jobs (:class:`JobBatch`), and what sync and async batches share."""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol, TypeVar

from heygen_client._futures import JobFuture
from heygen_client.errors import TranslationFailed, WaitTimeout
from heygen_client.models import JobStatus

__all__ = ["JobBatch", "ProgressCallback"]

logger = logging.getLogger(__name__)


ProgressCallback = Callable[["JobBatch", JobFuture], object]


class JobBatch:
    """Many :class:`JobFuture` s tracked together (``TranslationClient.track_many``).

    Iterating yields the futures in the order the ids were given.
    """

    def __init__(
        self, futures: Iterable[JobFuture], on_progress: ProgressCallback | None = None
    ) -> None:
        self.futures: tuple[JobFuture, ...] = tuple(futures)
        self._lock = threading.Lock()
        self._callbacks: list[ProgressCallback] = []
        self._done = 0
        if on_progress is not None:
            self._callbacks.append(on_progress)
        for future in self.futures:
            future.add_done_callback(self._on_done)

    def __len__(self) -> int:
        return len(self.futures)

    def __iter__(self) -> Iterator[JobFuture]:
        return iter(self.futures)

    def __getitem__(self, job_id: str | None) -> JobFuture:
        """The future of ``job_id`` (the first one, if the id was given twice).

        Raises:
            KeyError: the batch does not track ``job_id``.
        """
        return find(self.futures, job_id)

    def _on_done(self, future: concurrent.futures.Future[JobStatus]) -> None:
        with self._lock:
            self._done += 1
            callbacks = list(self._callbacks)
        assert isinstance(future, JobFuture)
        for fn in callbacks:
            try:
                fn(self, future)
            except Exception:
                logger.exception("progress callback %r raised", fn)

    @property
    def done_count(self) -> int:
        """How many futures have finished (any way)."""
        with self._lock:
            return self._done

    def done(self) -> bool:
        """True when every future has finished."""
        return all(f.done() for f in self.futures)

    def as_completed(self, timeout: float | None = None) -> Iterator[JobFuture]:
        """Yield futures as they finish (:func:`concurrent.futures.as_completed`)."""
        for future in concurrent.futures.as_completed(self.futures, timeout=timeout):
            assert isinstance(future, JobFuture)
            yield future

    def wait(self, timeout: float | None = None) -> bool:
        """Block until all finish or ``timeout`` passes; True when all finished."""
        _, not_done = concurrent.futures.wait(self.futures, timeout=timeout)
        return not not_done

    def results(self, timeout: float | None = None) -> dict[str | None, JobStatus | BaseException]:
        """Each job's final status, or the error that ended its tracking.

        Jobs that ended in ``"error"`` map to their :class:`TranslationFailed`.

        Raises:
            WaitTimeout: not all finished within ``timeout`` (a ``TimeoutError``).
        """
        if not self.wait(timeout):
            pending = len(self.futures) - self.done_count
            raise WaitTimeout(f"{pending} of {len(self.futures)} jobs not done within {timeout} s")
        return {
            future.job_id: outcome(future, concurrent.futures.CancelledError)
            for future in self.futures
        }

    def counts(self) -> dict[str, int]:
        """How many jobs are ``pending``, ``completed``, ``error``, ``failed``, ``cancelled``.

        ``error`` is a job that ended in error; ``failed`` is tracking that failed
        (retries spent, deadline, client closed).
        """
        return counts_of(self.futures)


class Finishing(Protocol):
    """What :func:`counts_of`, :func:`outcome` and :func:`find` need: a concurrent or
    an asyncio future."""

    @property
    def job_id(self) -> str | None: ...
    def done(self) -> bool: ...
    def cancelled(self) -> bool: ...
    def exception(self) -> BaseException | None: ...
    def result(self) -> JobStatus: ...


def outcome(future: Finishing, cancelled: type[BaseException]) -> JobStatus | BaseException:
    """A finished future's entry in ``results()``: its status, or what ended it."""
    if future.cancelled():
        return cancelled()
    error = future.exception()  # an asyncio future's is then retrieved: results() report it
    return error if error is not None else future.result()


_F = TypeVar("_F", bound="Finishing")


def find(futures: Iterable[_F], job_id: str | None) -> _F:
    """The first of ``futures`` whose job is ``job_id`` (``batch[job_id]``, sync or async)."""
    for future in futures:
        if future.job_id == job_id:
            return future
    raise KeyError(job_id)


def counts_of(futures: Iterable[Finishing]) -> dict[str, int]:
    """``counts()`` of a batch, sync or async."""
    counts = dict.fromkeys(("pending", "completed", "error", "failed", "cancelled"), 0)
    for future in futures:
        if not future.done():
            key = "pending"
        elif future.cancelled():
            key = "cancelled"
        else:
            error = future.exception()
            key = (
                "completed"
                if error is None
                else "error"
                if isinstance(error, TranslationFailed)
                else "failed"
            )
        counts[key] += 1
    return counts
