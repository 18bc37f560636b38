"""The public client: :class:`TranslationClient`."""

from __future__ import annotations

import atexit
import json
import logging
import random
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType, TracebackType
from typing import Any, TypeVar

import requests

from heygen_client._backends import Backend
from heygen_client._backends.mock import MockBackend
from heygen_client._futures import JobBatch, JobFuture, ProgressCallback
from heygen_client._scheduler import Scheduler, SchedulerConfig
from heygen_client._stores import SharedStore, Store, TrackedJob
from heygen_client._stores.factory import open_store
from heygen_client._transport import Transport
from heygen_client._validate import check_seconds
from heygen_client.errors import ClientClosed, HeyGenError, Unsupported
from heygen_client.models import ClientStats, JobStatus, PollHook, StateChangeHook
from heygen_client.policies import Durations, PollPolicy, RetryPolicy, default_policy

__all__ = ["TranslationClient"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

_OPEN_CLIENTS: weakref.WeakSet[TranslationClient] = weakref.WeakSet()


@atexit.register
def _close_open_clients() -> None:
    """At interpreter exit, close clients left open so no request holds the exit up."""
    for client in list(_OPEN_CLIENTS):
        client.close()


class TranslationClient:
    """Track HeyGen video-translation jobs until they are done.

    One background scheduler thread polls every tracked job at its own adaptive pace
    on a small bounded pool of HTTP workers, and resolves :class:`JobFuture` s.
    Threads start on the first :meth:`track`.  Use it as a context manager, or call
    :meth:`close`.

    Args:
        base_url: the server, e.g. ``"http://127.0.0.1:5000"``.
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
        discover: ask ``GET /capabilities``; False treats the server as plain.
        on_poll: hook(s) called with a :class:`PollEvent` after each poll.
        on_state_change: hook(s) called with a :class:`StateChange`.
        headers: extra HTTP headers (e.g. an API key).
        session: a ``requests.Session`` to use instead of the client's own; it is
            not mutated (our headers go with each request) and :meth:`close` does
            not close it (nor can it interrupt its in-flight requests).
        clock: monotonic clock (tests).
        seed: seed for the jitter's random generator (tests).
    """

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:5000",
        *,
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
        discover: bool = True,
        on_poll: PollHook | Sequence[PollHook] | None = None,
        on_state_change: StateChangeHook | Sequence[StateChangeHook] | None = None,
        headers: Mapping[str, str] | None = None,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        seed: int | None = None,
    ) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        if max_requests_per_second <= 0:
            raise ValueError("max_requests_per_second must be positive")
        for name, seconds in (
            ("connect_timeout", connect_timeout),
            ("read_timeout", read_timeout),
            ("long_poll_wait", long_poll_wait),
            ("batch_linger", batch_linger),
            ("cache_ttl", cache_ttl),
            ("lease_ttl", lease_ttl),
        ):
            check_seconds(name, seconds)
        if lease_ttl <= 0:
            raise ValueError("lease_ttl must be positive")
        self.base_url = base_url.rstrip("/")
        self._clock = clock
        self._transport = Transport(
            self.base_url,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            pool_size=max_workers + max_long_polls + 4,
            headers=headers,
            session=session,
        )
        self._backend: Backend = MockBackend(self._transport, discover=discover)
        self._store, owns_store = open_store(store, cache_ttl=cache_ttl, clock=clock)
        # Checked once: isinstance() against a runtime Protocol is slow, and track() is hot.
        self._shared = self._store if isinstance(self._store, SharedStore) else None
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
        # A client dropped without close() stops its threads when it is collected:
        # the scheduler and its threads hold no reference back to the client.
        self._owned_store = self._store if owns_store else None
        self._finalizer = weakref.finalize(
            self, _shut_down, self.base_url, self._transport, self._scheduler, self._owned_store
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
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        _OPEN_CLIENTS.discard(self)
        self._finalizer.detach()
        _shut_down(None, self._transport, self._scheduler, self._owned_store)

    def _check_open(self) -> None:
        if self._closed:
            raise ClientClosed("client is closed")

    # -- one-off requests (on the caller's thread) ------------------------------

    def get_status(self, job_id: str | None = None) -> JobStatus:
        """One job's status; from the cache when fresh (final statuses stay cached).

        Args:
            job_id: the job; None asks about the seed's single job (``GET /status``).

        Raises:
            RateLimited: the client is paused by a server's ``Retry-After``, or its
                request budget is spent; no request was made (see ``retry_after``).
            HeyGenError: see :mod:`heygen_client.errors` (no retries here).
        """
        self._check_open()
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
        """
        self._check_open()
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
            job_id: the job; None tracks the seed's single job.
            expected_duration: your estimate of the job's total duration in seconds.
            deadline: seconds from now after which the future fails with
                :class:`~heygen_client.errors.DeadlineExceeded`.
            tags: a small JSON object of yours (at most 4 KB as JSON), kept with
                the job in the store and given back as ``future.tags``, also by
                :meth:`resume`.

        Raises:
            ClientClosed: after :meth:`close`.
            ValueError: ``expected_duration`` or ``deadline`` is negative or not
                finite; ``tags`` is not a small JSON object.
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
            job_ids: the jobs.
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
        each job comes back with its ``tags`` and ``expected_duration`` (not its
        deadline).  Jobs that ended meanwhile are not in the batch: their
        outcomes were reported before they were recorded as ended, and
        :meth:`get_status` reads them from the store.  Jobs tracked for another
        API are left alone.  With the default in-memory store, only jobs tracked
        and not ended through this store object come back.

        Args:
            on_progress: as for :meth:`track_many`.
        """
        self._check_open()
        records = [job for job in self._store.tracked() if job.api == self._backend.name]
        futures = self._track_records(records, None)
        return JobBatch(futures, on_progress)

    def _track(
        self,
        job_ids: list[str | None],
        expected_duration: float | None,
        deadline: float | None,
        tags: Mapping[str, Any] | None,
    ) -> list[JobFuture]:
        self._check_open()
        check_seconds("expected_duration", expected_duration)
        check_seconds("deadline", deadline)
        checked = _check_tags(tags)
        options = _NONE if expected_duration is None else {"expected_duration": expected_duration}
        api, now = self._backend.name, time.time()
        records = [TrackedJob(job_id, api, checked, options, now) for job_id in job_ids]
        return self._track_records(records, deadline)

    def _track_records(self, records: list[TrackedJob], deadline: float | None) -> list[JobFuture]:
        """Resolve the jobs the store knows ended; record and schedule the others."""
        self._check_open()
        store = self._store
        ids = [record.job_id for record in records]
        if self._shared is not None and len(ids) > 1:
            finals = self._shared.finals(ids)  # one read instead of one per job
        else:
            finals = {}
            for job_id in ids:
                status = store.get_status(job_id)
                if status is not None and status.is_final:
                    finals[job_id] = status
        store.add_tracked([record for record in records if record.job_id not in finals])
        futures = []
        now = time.time()
        for record in records:
            future = JobFuture(record.job_id, self._scheduler, record.tags)
            final = finals.get(record.job_id)
            if final is not None:
                future.resolve(final, 0)
            else:
                expected = record.options.get("expected_duration")
                # A resumed job keeps its age: the poll policy paces jobs by age.
                age = min(max(0.0, now - record.tracked_at), _AGE_MAX)
                self._scheduler.track(
                    record.job_id, future, expected_duration=expected, deadline=deadline, age=age
                )
            futures.append(future)
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

    def learned_durations(self) -> Durations | None:
        """The durations of finished jobs the client learned its schedule from."""
        return self._scheduler.durations()


def _shut_down(
    unclosed: str | None, transport: Transport, scheduler: Scheduler, store: Store | None
) -> None:
    """Close the transport, the scheduler and the store the client opened.

    ``unclosed``: the URL of a client collected without :meth:`TranslationClient.close`.
    """
    if unclosed is not None:
        logger.debug("a client for %s was collected without close(); closing it", unclosed)
    transport.close()
    scheduler.close()
    if store is not None:
        store.close()


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
