"""The public client: :class:`TranslationClient`."""

from __future__ import annotations

import atexit
import json
import logging
import os
import random
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType, TracebackType
from typing import Any, TypeVar

import requests

from heygen_client._backends import Backend, BackendFactory
from heygen_client._backends.mock import MockBackend
from heygen_client._futures import JobBatch, JobFuture, ProgressCallback
from heygen_client._scheduler import Scheduler, SchedulerConfig
from heygen_client._stores import SharedStore, Store, TrackedJob
from heygen_client._stores.factory import open_store
from heygen_client._stores.memory import MemoryStore
from heygen_client._transport import MAX_RESPONSE_BYTES, Transport
from heygen_client._validate import (
    check_count,
    check_job_id,
    check_number,
    check_seconds,
    check_url,
)
from heygen_client.errors import ClientClosed, HeyGenError, Unsupported
from heygen_client.models import ClientStats, JobStatus, PollHook, StateChangeHook
from heygen_client.policies import PollPolicy, RetryPolicy, default_policy

__all__ = ["TranslationClient"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

_OPEN_CLIENTS: weakref.WeakSet[TranslationClient] = weakref.WeakSet()


@atexit.register
def _close_open_clients() -> None:
    """At interpreter exit, close clients left open so no request holds the exit up."""
    for client in list(_OPEN_CLIENTS):
        client.close()


def _after_fork_in_child() -> None:
    """In a forked child, retire every client inherited from the parent.

    Their threads do not exist here, and their sockets and locks are shared with,
    or were held by, the parent's threads: the child must neither use them nor
    close them (a shutdown() would cut the parent's requests).
    """
    for client in list(_OPEN_CLIENTS):
        client._retire_after_fork()
    _OPEN_CLIENTS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class TranslationClient:
    """Track HeyGen video-translation jobs until they are done.

    One background scheduler thread polls every tracked job at its own adaptive pace
    on a small bounded pool of HTTP workers, and resolves :class:`JobFuture` s.
    Threads start on the first :meth:`track`.  Use it as a context manager, or call
    :meth:`close`.

    Args:
        base_url: the server, e.g. ``"http://127.0.0.1:5000"``.
        api: the API the server speaks: ``"mock"`` (our mock server's, with
            capability discovery), or a factory that makes a
            :class:`~heygen_client.Backend` from the client's
            :class:`~heygen_client.Transport` (docs/design.md shows one).
        policy: the poll policy (pace while pending); default :func:`default_policy`.
        retry: the retry policy (after a failed request); default :class:`RetryPolicy`.
        connect_timeout: seconds to connect.
        read_timeout: seconds to wait for an answer (a long-poll adds its wait).
        long_poll_wait: seconds a long-poll asks the server to hold (clamped to
            the server's ``max_wait``).
        max_workers: HTTP worker threads for polls and batches.
        max_long_polls: extra workers for per-job long-polls, used only when the
            server offers long-poll but not batch.
        max_requests_per_second: the client-wide request budget.
        burst: how many requests the budget allows at once.
        batch_linger: seconds between batch long-polls of the same jobs, so that
            several completions come back in one answer.
        cache_ttl: seconds a pending status stays fresh for :meth:`get_status`.
        store: where tracked jobs, outcomes and learned durations are kept: None
            (this process only), ``"sqlite:///path/to/file.db"`` (survives
            restarts; shared by the processes of one machine),
            ``"redis://host:port/db"`` (shared by a fleet; needs the ``[redis]``
            extra), or a store object (not closed by :meth:`close`).  A shared
            store gives one poller per job across processes, and one request
            budget (``max_requests_per_second``) for all of them.
        lease_ttl: seconds a job's lease lasts in a shared store unless renewed:
            how soon another process adopts the jobs of one that died.
        max_response_bytes: the largest answer read; a larger one fails the
            request with :class:`~heygen_client.errors.MalformedResponse`.
        discover: ask ``GET /capabilities``; False treats the server as plain.
        on_poll: hook(s) called with a :class:`PollEvent` after each poll.
        on_state_change: hook(s) called with a :class:`StateChange`.
        headers: extra HTTP headers (e.g. an API key).
        session: a ``requests.Session`` to use instead of the client's own; it is
            not mutated (our headers go with each request) and :meth:`close` does
            not close it (nor can it interrupt its in-flight requests).
        clock: monotonic clock (tests).
        seed: seed for the jitter's random generator (tests).

    Raises:
        ValueError: an option is out of range or of the wrong type (checked here,
            so that no request fails later because of it).
    """

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:5000",
        *,
        api: str | BackendFactory = "mock",
        policy: PollPolicy | None = None,
        retry: RetryPolicy | None = None,
        connect_timeout: float = 3.05,
        read_timeout: float = 10.0,
        long_poll_wait: float = 20.0,
        max_workers: int = 6,
        max_long_polls: int = 64,
        max_requests_per_second: float = 200.0,
        burst: float = 50.0,
        batch_linger: float = 0.05,
        cache_ttl: float = 1.0,
        store: Store | str | None = None,
        lease_ttl: float = 5.0,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        discover: bool = True,
        on_poll: PollHook | Sequence[PollHook] | None = None,
        on_state_change: StateChangeHook | Sequence[StateChangeHook] | None = None,
        headers: Mapping[str, str] | None = None,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        seed: int | None = None,
    ) -> None:
        check_url(base_url)
        check_count("max_workers", max_workers, 1)
        check_count("max_long_polls", max_long_polls, 0)
        check_count("max_response_bytes", max_response_bytes, 1)
        check_number("connect_timeout", connect_timeout, above=0)
        check_number("read_timeout", read_timeout, above=0)
        check_number("max_requests_per_second", max_requests_per_second, above=0)
        check_number("burst", burst, at_least=1)
        check_number("lease_ttl", lease_ttl, above=0)
        for name, seconds in (
            ("long_poll_wait", long_poll_wait),
            ("batch_linger", batch_linger),
            ("cache_ttl", cache_ttl),
        ):
            check_seconds(name, seconds)
        self.base_url = base_url.rstrip("/")
        self._clock = clock
        self._transport = Transport(
            self.base_url,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            pool_size=max_workers + max_long_polls + 4,
            max_response_bytes=max_response_bytes,
            headers=headers,
            session=session,
        )
        self._backend = _backend(api, self._transport, discover=discover)
        self._store, owns_store = open_store(store, cache_ttl=cache_ttl, clock=clock)
        # Checked once: isinstance() against a runtime Protocol is slow, and track() is hot.
        self._shared = self._store if isinstance(self._store, SharedStore) else None
        self._owned_store = self._store if owns_store else None
        # The in-memory store outlives nothing, so there is nothing to resume from
        # it: recording each tracked job there would only cost memory (~110 B a job).
        self._records = not isinstance(self._store, MemoryStore)
        self._scheduler = Scheduler(
            self._backend,
            policy=policy if policy is not None else default_policy(),
            retry=retry if retry is not None else RetryPolicy(),
            store=self._store,
            config=SchedulerConfig(
                max_workers=max_workers,
                max_long_polls=max_long_polls,
                long_poll_wait=long_poll_wait,
                batch_linger=batch_linger,
                max_requests_per_second=max_requests_per_second,
                burst=burst,
                lease_ttl=lease_ttl,
            ),
            clock=clock,
            rng=random.Random(seed),
            on_poll=_hooks(on_poll),
            on_state_change=_hooks(on_state_change),
        )
        self._lock = threading.Lock()
        self._closed = False
        self._closed_message = "client is closed"
        # A client dropped without close() stops its threads when it is collected:
        # the scheduler and its threads hold no reference back to the client.
        self._finalizer = weakref.finalize(
            self, _collected, self.base_url, self._transport, self._scheduler, self._owned_store
        )
        _OPEN_CLIENTS.add(self)

    # -- lifecycle ---------------------------------------------------------------

    def __enter__(self) -> TranslationClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<TranslationClient {self.base_url} {state}>"

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    def close(self) -> None:
        """Stop polling, within about a second; idempotent.

        In-flight requests are interrupted, the threads end, and futures still
        pending fail with :class:`~heygen_client.errors.ClientClosed`.

        In a process forked from the one that created the client, the client is
        already closed (every call raises :class:`ClientClosed`) and this does
        nothing: its connections and threads are the parent's.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        _OPEN_CLIENTS.discard(self)
        self._finalizer.detach()
        self._transport.close()
        self._scheduler.close()
        if self._owned_store is not None:
            self._owned_store.close()

    def _check_open(self) -> None:
        if self._closed:
            raise ClientClosed(self._closed_message)

    def _retire_after_fork(self) -> None:
        """Closed in a forked child, without touching what the parent still uses."""
        self._lock = threading.Lock()  # a parent thread may have held it at the fork
        self._closed = True
        self._closed_message = (
            "this client was created before os.fork() and belongs to the parent "
            "process; create a new TranslationClient in the child"
        )
        self._finalizer.detach()

    # -- one-off requests (on the caller's thread) ------------------------------

    def get_status(self, job_id: str | None = None) -> JobStatus:
        """One job's status; from the cache when fresh (final statuses stay cached).

        Args:
            job_id: the job; None asks about the seed's single job (``GET /status``).

        Raises:
            ValueError: ``job_id`` is not a valid id (see :meth:`track`).
            RateLimited: the client is paused by a server's ``Retry-After``, or its
                request budget is spent; no request was made (see ``retry_after``).
            HeyGenError: see :mod:`heygen_client.errors` (no retries here).
        """
        self._check_open()
        check_job_id(job_id)
        cached = self._store.get_status(job_id)
        if cached is not None:
            return cached
        status = self._call("GET /status", self._backend.get_status, job_id)
        self._store.put_status(job_id, status)
        return status

    def get_job(self, job_id: str) -> dict[str, Any]:
        """The job's full record (``GET /jobs/ID``), uncached.

        Raises:
            RateLimited: as for :meth:`get_status`.
            ValueError: ``job_id`` is not a valid id (see :meth:`track`).
        """
        self._check_open()
        if job_id is None:
            raise ValueError("get_job() needs a job id")
        check_job_id(job_id)
        if not isinstance(self._backend, MockBackend):
            raise Unsupported(f"get_job() needs the mock server, not the {self._backend.name} API")
        return self._call("GET /jobs", self._backend.get_job, job_id)

    def _call(self, what: str, fn: Callable[..., _T], *args: Any) -> _T:
        """A request on the caller's thread, through the scheduler's pause and budget."""
        self._scheduler.admit(what)
        try:
            return fn(*args)
        except HeyGenError as exc:
            self._scheduler.note_answer(exc)
            raise

    # -- tracking ----------------------------------------------------------------

    def track(
        self,
        job_id: str | None = None,
        *,
        expected_duration: float | None = None,
        deadline: float | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> JobFuture:
        """Start tracking a job; returns its future at once.

        Two ``track()`` calls for the same job share one poll schedule.  With a
        durable store the job is recorded there before this returns, so that
        :meth:`resume` finds it after a restart; a job whose outcome the store
        already has resolves at once, without a request.

        Args:
            job_id: the job; None tracks the seed's single job.  An id is a
                non-empty ``str`` of at most ``MAX_JOB_ID_LENGTH`` (256)
                characters, without control characters.
            expected_duration: your estimate of the job's total duration in seconds.
            deadline: seconds from now after which the future fails with
                :class:`~heygen_client.errors.DeadlineExceeded`.
            tags: a small JSON object of yours (at most 4 KB as JSON), kept with
                the job in the store and given back as ``future.tags``, also by
                :meth:`resume`.

        Raises:
            ClientClosed: after :meth:`close`.
            ValueError: ``job_id`` is not a valid id, ``expected_duration`` or
                ``deadline`` is negative or not finite, or ``tags`` is not a
                small JSON object.
        """
        return self._track([job_id], expected_duration, deadline, tags)[0]

    def track_many(
        self,
        job_ids: Iterable[str],
        *,
        expected_duration: float | None = None,
        deadline: float | None = None,
        tags: Mapping[str, Any] | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> JobBatch:
        """Track many jobs; returns a :class:`JobBatch` of their futures.

        The store records them all in one write.

        Args:
            job_ids: the jobs (ids as for :meth:`track`; all are checked before
                any is tracked).
            expected_duration: as for :meth:`track`, for every job.
            deadline: as for :meth:`track`, for every job.
            tags: as for :meth:`track`, for every job.
            on_progress: called as ``on_progress(batch, future)`` when each one finishes.
        """
        futures = self._track(list(job_ids), expected_duration, deadline, tags)
        return JobBatch(futures, on_progress)

    def resume(self, *, on_progress: ProgressCallback | None = None) -> JobBatch:
        """Track every job the store records as tracked and not ended.

        For a process that restarts, after :meth:`close`, a crash or a SIGKILL:
        each job comes back with its ``tags``, its ``expected_duration`` and its
        age (not its deadline).  Jobs that ended meanwhile are not in the batch:
        their outcomes were recorded before their futures resolved, and
        :meth:`get_status` reads them from the store.  Jobs tracked for another
        API are left alone.  The default in-memory store records no tracked
        jobs (nothing outlives it): the batch is empty.

        Args:
            on_progress: as for :meth:`track_many`.

        Raises:
            ClientClosed: after :meth:`close`.
        """
        self._check_open()
        records = [job for job in self._store.tracked() if job.api == self._backend.name]
        return JobBatch(self._track_records(records, None), on_progress)

    def _track(
        self,
        job_ids: Sequence[str | None],
        expected: float | None,
        deadline: float | None,
        tags: Mapping[str, Any] | None,
    ) -> list[JobFuture]:
        """Futures for ``job_ids``; every id is checked before any is tracked."""
        self._check_open()
        for job_id in job_ids:
            check_job_id(job_id)
        check_seconds("expected_duration", expected)
        check_seconds("deadline", deadline)
        checked = _check_tags(tags)
        options = _NONE if expected is None else {"expected_duration": expected}
        api, now = self._backend.name, time.time()
        records = [TrackedJob(job_id, api, checked, options, now) for job_id in job_ids]
        return self._track_records(records, deadline)

    def _track_records(
        self, records: Sequence[TrackedJob], deadline: float | None
    ) -> list[JobFuture]:
        """A job whose final status is stored is resolved at once; the others are
        recorded in the store (one write), then scheduled."""
        self._check_open()
        store = self._store
        futures = [JobFuture(r.job_id, self._scheduler, r.tags) for r in records]
        finals: dict[str | None, JobStatus] = {}
        if self._shared is not None and len(records) > 1:
            finals = self._shared.finals([r.job_id for r in records])  # one read, not one each
        polled: list[tuple[JobFuture, TrackedJob]] = []
        for future, record in zip(futures, records, strict=True):
            known = finals.get(future.job_id) or store.get_status(future.job_id)
            if known is not None and known.is_final:
                future.resolve(known, 0)
            else:
                if known is not None:
                    future.observe(known, 0)  # e.g. what create_job() was told
                polled.append((future, record))
        if self._records:
            store.add_tracked([record for _, record in polled])
        # Jobs tracked together share one call; resumed ones are grouped by age.
        now = time.time()
        groups: dict[tuple[float | None, float], list[JobFuture]] = {}
        for future, record in polled:
            age = round(min(max(0.0, now - record.tracked_at), _AGE_MAX), 1)
            expected = record.options.get("expected_duration")
            groups.setdefault((expected, age), []).append(future)
        for (expected, age), group in groups.items():
            self._scheduler.track(group, expected_duration=expected, deadline=deadline, age=age)
        return futures

    def wait(self, job_id: str | None = None, timeout: float | None = None) -> JobStatus:
        """Track a job and block until it is done; returns its final status.

        Raises:
            TranslationFailed: the job ended in error.
            DeadlineExceeded: still pending after ``timeout`` seconds.
            HeyGenError: tracking failed (see :mod:`heygen_client.errors`).
        """
        return self.track(job_id, deadline=timeout).result()

    def submit(self, **job_options: Any) -> JobFuture:
        """Create a job (``POST /jobs`` with ``job_options`` as its body) and track it.

        Keyword arguments other than ``expected_duration`` and ``deadline`` (which go to
        :meth:`track`) form the body, e.g. ``delay=5``, ``outcome="error"``,
        ``video_length=90``, ``source_language="en"``.

        Raises:
            RateLimited: as for :meth:`get_status` (the job was not created).
        """
        self._check_open()
        expected = job_options.pop("expected_duration", None)
        deadline = job_options.pop("deadline", None)
        check_seconds("expected_duration", expected)
        check_seconds("deadline", deadline)
        status = self.create_job(**job_options)
        return self.track(status.job_id, expected_duration=expected, deadline=deadline)

    def create_job(self, **job_options: Any) -> JobStatus:
        """Create a job (``POST /jobs`` with ``job_options`` as its body), without tracking it.

        Returns:
            The new job's first status; its ``job_id`` is what :meth:`track` takes.

        Raises:
            RateLimited: as for :meth:`get_status` (the job was not created).
        """
        self._check_open()
        status = self._call("POST /jobs", self._backend.create_job, job_options)
        self._store.put_status(status.job_id, status)
        return status

    # -- counters ----------------------------------------------------------------

    def stats(self) -> ClientStats:
        """Requests by outcome, polls per job, status requests and jobs tracked now."""
        polls, status_requests, tracked = self._scheduler.stats()
        return ClientStats(
            requests=self._transport.counts(),
            polls=polls,
            status_requests=status_requests,
            tracked=tracked,
        )


def _collected(
    base_url: str, transport: Transport, scheduler: Scheduler, store: Store | None
) -> None:
    """The finalizer of a client collected without close(): it only signals.

    The collector runs it on whichever thread allocates at the time, possibly one
    of ours holding the scheduler's or the pool's lock: closing here would wait for
    that lock forever, and cyclic collection would stop for the whole process.  So
    the scheduler thread closes the transport and itself.  A client whose thread
    never started has nothing running; its pooled connections close with the pool.
    """

    def close_transport() -> None:  # on the scheduler thread: logging may take locks
        logger.debug("a client for %s was collected without close(); closing it", base_url)
        transport.close()
        if store is not None:
            store.close()

    scheduler.signal_close(then=close_transport)


def _backend(api: str | BackendFactory, transport: Transport, *, discover: bool) -> Backend:
    """The backend for ``api``: a name, or a factory given the transport."""
    if callable(api):
        return api(transport)
    if api == "mock":
        return MockBackend(transport, discover=discover)
    raise ValueError(f"api must be 'mock' or a backend factory, not {api!r}")


_AGE_MAX = 7 * 86400.0  # a record's clock may be off (another machine): bounded
_TAGS_MAX = 4096  # bytes of JSON: tags label a job, they are not its payload
# Shared by every job tracked without tags or options: nothing per job.
_NONE: Mapping[str, Any] = MappingProxyType({})


def _check_tags(tags: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """``tags`` as a read-only copy, checked to be a small JSON object."""
    if not tags:
        return _NONE
    if not isinstance(tags, Mapping) or not all(isinstance(k, str) for k in tags):
        raise ValueError("tags must be a dict with string keys")
    try:
        size = len(json.dumps(dict(tags)))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"tags must be JSON-serializable: {exc}") from exc
    if size > _TAGS_MAX:
        raise ValueError(f"tags take {size} bytes as JSON; at most {_TAGS_MAX}")
    return MappingProxyType(dict(tags))


def _hooks(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    if callable(value):
        return (value,)
    return tuple(value)
