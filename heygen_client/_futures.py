"""The future of one tracked job."""

from __future__ import annotations

import asyncio
import concurrent.futures
import concurrent.futures._base
import logging
import sys
import threading
from collections.abc import Callable, Generator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

from heygen_client._callbacks import run_callbacks
from heygen_client.errors import TranslationFailed, WaitTimeout
from heygen_client.models import JobStatus

if TYPE_CHECKING:
    from concurrent.futures._base import _Waiter

__all__ = ["JobFuture"]

logger = logging.getLogger(__name__)

_FINISHED = concurrent.futures._base.FINISHED
_CANCELLED_AND_NOTIFIED = concurrent.futures._base.CANCELLED_AND_NOTIFIED
_DONE = (concurrent.futures._base.CANCELLED, _CANCELLED_AND_NOTIFIED, _FINISHED)


class _Detacher(Protocol):
    def detach(self, future: JobFuture) -> None: ...


# The lean condition below reuses Condition's code through its private hooks, as
# CPython 3.11-3.13 define them. Elsewhere a future keeps the stdlib's condition.
LEAN_CONDITION = sys.implementation.name == "cpython" and (3, 11) <= sys.version_info < (3, 14)


#: The lean condition's waiters until its first wait(): most futures never have one.
_NO_WAITERS: tuple[()] = ()


class _Condition(threading.Condition):
    """The :class:`threading.Condition` of one :class:`JobFuture`, at a tenth of the size.

    A stdlib ``Condition`` keeps five bound methods of its lock and a ``deque`` of
    waiters (about 1,100 bytes, 11 MB for 10,000 tracked jobs).  This one is the same
    class with the same ``wait``/``notify`` code: the lock's methods are looked up on
    the class instead, its two attributes are slots, and waiters live in a list made
    by the first ``wait()`` (most futures are never waited on; ``notify`` finds no one
    in the empty tuple before).  ``Condition.wait`` and ``notify`` reach the lock only
    through ``_lock``, ``_release_save``, ``_acquire_restore`` and ``_is_owned``, and
    keep waiters in ``_waiters`` (CPython 3.11-3.13); tests/client/test_future_memory.py
    holds it to the stdlib's behaviour.
    """

    __slots__ = ("_lock", "_waiters")

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._waiters: list[object] | tuple[()] = _NO_WAITERS

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        self._lock.release()

    def wait(self, timeout: float | None = None) -> bool:
        # Only while holding the lock: wait() and notify() use the list under it, and
        # the stdlib's wait() raises for a caller that does not hold it.
        if self._waiters is _NO_WAITERS and self._is_owned():
            self._waiters = []
        return super().wait(timeout)

    def _release_save(self) -> object:
        return self._lock._release_save()  # type: ignore[attr-defined]

    def _acquire_restore(self, state: object) -> None:
        self._lock._acquire_restore(state)  # type: ignore[attr-defined]

    def _is_owned(self) -> bool:
        return self._lock._is_owned()  # type: ignore[attr-defined,no-any-return]


class _Inline:
    """A library-internal done-callback that only hands the future on, never blocking.

    It runs at settlement on the settling thread; every other callback is queued
    to the callback thread.
    """

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[JobFuture], object]) -> None:
        self.fn = fn

    def __call__(self, future: JobFuture) -> object:
        return self.fn(future)


class JobFuture(concurrent.futures.Future[JobStatus]):
    """A real :class:`concurrent.futures.Future` for one job's final status.

    ``result()`` returns the final :class:`JobStatus` when the job completed and raises
    :class:`TranslationFailed` when it ended in error (or another
    :class:`~heygen_client.errors.HeyGenError` when tracking failed).  ``cancel()``
    stops polling the job unless another future still tracks it.

    Callbacks added with :meth:`add_done_callback` run on the library's callback
    thread (one per process), in the order they were added, never on the thread
    that polls: a callback that blocks delays only the callbacks after it.
    ``result()`` and ``wait()`` return when the future settles, whether or not its
    callbacks have run yet.  A callback added once the future is done runs at
    once, on the caller's thread, as with any ``Future``.

    In a running asyncio event loop, ``await future`` gives the same result (see
    :meth:`__await__`).
    """

    # A class default: the instances of untagged jobs keep no attribute for it.
    _tags: Mapping[str, Any] = MappingProxyType({})
    _waiter_list: list[_Waiter] | None

    def __init__(
        self,
        job_id: str | None,
        owner: _Detacher | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if LEAN_CONDITION:
            self._condition = _Condition()  # the same Condition API, without 1 KB per job
            self._waiter_list = None  # see _waiters
        # None, one callback, or a list of them: most futures get none or one, and a
        # list costs 88 bytes (add_done_callback and _invoke_callbacks, both below,
        # are the only readers).
        self._done_callbacks: Callable[[JobFuture], object] | list[Any] | None = None
        self._job_id = job_id
        self._owner = owner
        # Pushed by the scheduler (observe, resolve, fail); read by the caller.
        self._status: JobStatus | None = None
        self._polls = 0
        self._last_error: tuple[BaseException, int] | None = None
        self._listening = False
        if tags:
            self._tags = MappingProxyType(dict(tags))

    @property
    def _waiters(self) -> list[_Waiter]:
        """The waiters of ``concurrent.futures.wait()`` and ``as_completed()``.

        Future keeps them in a list from the start; most futures never have one.
        With the lean condition the list is made at the first read: on CPython
        3.11-3.13, ``wait()``, ``as_completed()`` and Future's own methods read it
        only under the condition, so one list is made, once.
        """
        waiters = self._waiter_list
        if waiters is None:
            waiters = self._waiter_list = []
        return waiters

    @_waiters.setter
    def _waiters(self, waiters: list[_Waiter]) -> None:
        self._waiter_list = waiters  # Future.__init__ sets a list

    def __repr__(self) -> str:
        # Future's repr is "<JobFuture at 0x... state=...>": keep what follows the class name.
        state = super().__repr__()[1:-1].split(" ", 1)[1]
        return f"<JobFuture job_id={self._job_id!r} {state}>"

    @property
    def job_id(self) -> str | None:
        """The job's id (None for the seed's single job)."""
        return self._job_id

    @property
    def status(self) -> JobStatus | None:
        """The latest status seen for the job, or None before the first answer."""
        return self._status

    @property
    def tags(self) -> Mapping[str, Any]:
        """The caller's ``tags`` given to ``track()`` (read-only; empty when none)."""
        return self._tags

    @property
    def polls(self) -> int:
        """Status requests made for this job so far (shared by all its futures)."""
        return self._polls

    def add_done_callback(self, fn: Callable[[JobFuture], object]) -> None:
        """Call ``fn(future)`` when the future is done (at once if it is already).

        As :meth:`concurrent.futures.Future.add_done_callback`, typed with the
        :class:`JobFuture` so that ``fn`` can read :attr:`job_id`, :attr:`status`
        and :attr:`polls`.
        """
        with self._condition:
            if self._state not in _DONE:
                callbacks = self._done_callbacks
                if callbacks is None:
                    self._done_callbacks = fn
                elif isinstance(callbacks, list):
                    callbacks.append(fn)
                else:
                    self._done_callbacks = [callbacks, fn]
                return
        try:
            fn(self)
        except Exception:
            logger.exception("exception calling callback for %r", self)

    def cancel(self) -> bool:
        """Cancel this future; polling stops when no other future tracks the job."""
        cancelled = super().cancel()
        if cancelled:
            with self._condition:
                # Move CANCELLED to CANCELLED_AND_NOTIFIED (what an executor's worker
                # does), so that wait() and as_completed() see the future as done.
                # Under the condition, so it cannot race _set() doing the same.
                if self._state == concurrent.futures._base.CANCELLED:
                    self.set_running_or_notify_cancel()
            if self._owner is not None:
                self._owner.detach(self)
        return cancelled

    def __await__(self) -> Generator[Any, None, JobStatus]:
        """``await future`` in a running asyncio loop: the final status, or the error.

        As when a task awaits an :class:`asyncio.Future`, cancelling the awaiting task
        (or an :func:`asyncio.wait_for` timeout) cancels this future, so polling stops
        unless another future still tracks the job; every other awaiter of *this*
        future sees the cancellation too.  Callbacks added with
        :meth:`add_done_callback` still run on the callback thread;
        :class:`~heygen_client.AsyncTranslationClient` gives loop-bound futures.
        """
        return asyncio.wrap_future(self).__await__()

    def _add_inline_callback(self, fn: Callable[[JobFuture], object]) -> None:
        """Call ``fn(self)`` on the settling thread; only for calls that never block."""
        self.add_done_callback(_Inline(fn))

    def _invoke_callbacks(self) -> None:
        # concurrent.futures calls this after waking the waiters, on the thread that
        # settled the future: run our inline hand-offs here, queue the rest.
        callbacks = self._done_callbacks
        if callbacks is None:
            return
        queued = []
        for fn in callbacks if isinstance(callbacks, list) else (callbacks,):
            if isinstance(fn, _Inline):
                try:
                    fn(self)
                except Exception:
                    logger.exception("exception calling callback for %r", self)
            else:
                queued.append(fn)
        if queued:
            run_callbacks(self, queued)

    # The scheduler's side of the contract: it pushes what it learns.

    def observe(
        self,
        status: JobStatus | None,
        polls: int,
        *,
        error: BaseException | None = None,
        failures: int = 0,
    ) -> None:
        """Record what the scheduler learned: the job's latest status and poll count,
        or the error of its last request and how many failed in a row."""
        if status is not None:
            self._status = status
            self._last_error = None
        elif error is not None:
            self._last_error = (error, failures)
        self._polls = polls
        self._listening = False

    @property
    def last_error(self) -> BaseException | None:
        """The error of the job's last request, if no answer came after it."""
        return self._last_error[0] if self._last_error is not None else None

    def observe_listening(self) -> None:
        """A request the server holds until the job changes (a long-poll) is open."""
        self._listening = True

    @property
    def listening(self) -> bool:
        """True while the server holds a long-poll for this job: no answer is news."""
        return self._listening

    def result(self, timeout: float | None = None) -> JobStatus:
        """The job's final status, waiting up to ``timeout`` seconds (None: for good).

        Raises:
            TranslationFailed: the job ended in error.
            WaitTimeout: not done within ``timeout``; the job is still tracked, and
                the message says what was last seen of it.
            HeyGenError: tracking failed (see :mod:`heygen_client.errors`).
        """
        try:
            return super().result(timeout)
        except TimeoutError:
            if self.done():
                raise  # the job's own outcome (a DeadlineExceeded), not the wait's
            raise self._wait_timeout(timeout) from None

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """What :meth:`result` would raise once done (None for a completed job).

        Raises:
            WaitTimeout: not done within ``timeout``.
        """
        try:
            return super().exception(timeout)
        except TimeoutError:
            raise self._wait_timeout(timeout) from None

    def _wait_timeout(self, timeout: float | None) -> WaitTimeout:
        waited = f"within {timeout:g} s" if timeout is not None else "yet"
        name = self._job_id or "(default)"
        if self._last_error is not None:
            error, failures = self._last_error
            seen = f"its last request failed ({failures} in a row): {error}"
        elif self._listening:
            seen = "the server holds a long-poll open for it (listening)"
        elif self._status is not None:
            seen = f"last seen {self._status.result.value} after {self._polls} polls"
            if self._status.progress is not None:
                seen += f", {self._status.progress:.0%} done"
        else:
            seen = "no answer about it yet"
        return WaitTimeout(f"job {name} not done {waited}: {seen}", self._job_id, self._status)

    def resolve(self, status: JobStatus, polls: int) -> None:
        """Settle with the job's final status: its result, or
        :class:`TranslationFailed` for a job that ended in error.

        Called by the client's scheduler, never under its lock; a no-op on a
        future that is already done or cancelled.
        """
        self.observe(status, polls)
        if status.result == "error":
            self._set(None, TranslationFailed(status.job_id, status))
        else:
            self._set(status, None)

    def fail(self, error: BaseException, polls: int) -> None:
        """Settle with ``error``: tracking ended without a final status.

        :attr:`status` keeps the last status seen.  As :meth:`resolve`.
        """
        self.observe(None, polls)
        self._set(None, error)

    def _set(self, status: JobStatus | None, error: BaseException | None) -> None:
        with self._condition:
            if self._state in (_FINISHED, _CANCELLED_AND_NOTIFIED):
                return
            if not self.set_running_or_notify_cancel():
                return
        if error is not None:
            self.set_exception(error)
        else:
            self.set_result(status)  # type: ignore[arg-type]
