"""The public client: :class:`TranslationClient`.

Its parts live by what they do: here its options, one-off requests and
tracking; in ``create`` the methods that create jobs, in ``webhooks`` those
that receive them; ``tracking`` turns ids and stored records into scheduled
futures; ``lifecycle`` is how a client ends (``close()``, exit, fork, collection).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import requests

from heygen_client._backends import BackendFactory
from heygen_client._backends.mock import MockBackend
from heygen_client._batch import JobBatch, ProgressCallback
from heygen_client._building import (
    API_KEY_ENV,
    APIS,
    api_defaults,
    api_key_of,
    as_hooks,
    make_backend,
    make_transport,
    poll_policy,
    scheduler_config,
)
from heygen_client._client.create import CreateMethods
from heygen_client._client.lifecycle import Lifetime
from heygen_client._client.tracking import Tracking
from heygen_client._client.webhooks import WebhookMethods
from heygen_client._futures import JobFuture
from heygen_client._options import Limits, Polling, Timeouts, merged
from heygen_client._scheduler import Scheduler
from heygen_client._stores import Store, TrackedJob
from heygen_client._stores.factory import open_store
from heygen_client._validate import check_job_id, check_url
from heygen_client._webhooks import DEFAULT_TOLERANCE
from heygen_client.errors import HeyGenError, Unsupported
from heygen_client.models import ClientStats, JobStatus, PollHook, StateChangeHook
from heygen_client.policies import PollPolicy, RetryPolicy

__all__ = ["APIS", "API_KEY_ENV", "TranslationClient"]


_T = TypeVar("_T")


class TranslationClient(CreateMethods, WebhookMethods):
    """Track HeyGen video-translation jobs until they are done.

    One background scheduler thread polls every tracked job at its own adaptive pace
    on a small bounded pool of HTTP workers, and resolves :class:`JobFuture` s.
    Threads start on the first :meth:`track`.  Use it as a context manager, or call
    :meth:`close`.

    Args:
        base_url: the server; default ``"http://127.0.0.1:5000"`` (the mock
            server), or ``"https://api.heygen.com"`` with ``api="heygen"``.
        api: the API the server speaks: ``"mock"`` (our mock server's, with
            capability discovery), ``"heygen"`` (HeyGen's v3 video-translation
            API, docs/heygen.md), or a factory that makes a
            :class:`~heygen_client.Backend` from the client's
            :class:`~heygen_client.Transport` (docs/design.md shows one).
        api_key: sent as ``X-Api-Key`` on every request; never logged, never
            shown, never sent to another origin (redirects there are not
            followed).  With ``api="heygen"`` it defaults to ``$HEYGEN_API_KEY``,
            and a missing key is a ``ValueError`` here.
        policy: the poll policy (pace while pending); default :func:`default_policy`,
            or :func:`heygen_policy` with ``api="heygen"``.
        retry: the retry policy (after a failed request); default :class:`RetryPolicy`.
        connect_timeout: seconds to connect.
        read_timeout: seconds to wait for an answer (a long-poll adds its wait).
        long_poll_wait: seconds a long-poll asks the server to hold (clamped to
            the server's ``max_wait``).
        max_workers: HTTP worker threads for polls and batches.
        max_long_polls: extra workers for per-job long-polls, used only when the
            server offers long-poll but not batch.
        max_requests_per_second: the client-wide request budget; default 200,
            or 2 with ``api="heygen"``.
        burst: how many requests the budget allows at once; default 50, or 10
            with ``api="heygen"``.
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
        headers: extra HTTP headers.
        session: a ``requests.Session`` to use instead of the client's own; it is
            not mutated (our headers go with each request) and :meth:`close` does
            not close it (nor can it interrupt its in-flight requests).
        webhook_secret: the secret (or several, while one is rotated) that
            signs webhooks, for :meth:`handle_webhook`, :meth:`webhook_app` and
            :meth:`serve_webhooks`.
        webhook_scheme: how webhooks are signed: ``"hmac"`` (a hex HMAC-SHA256
            of the body in ``Signature``) or ``"standard"`` (Standard Webhooks).
        webhook_tolerance: seconds a Standard Webhooks timestamp may be off.
        time_scale: with ``api="heygen"``, how many times faster than HeyGen's
            the server's translations run (the mock server's ``--time-scale``):
            the client's own pacing (:func:`heygen_policy`, unless ``policy`` is
            given; the request budget, unless given; the bulk and webhook
            timings) runs that much faster too, so that a test sees HeyGen's
            schedule, sped up.
        clock: monotonic clock (tests).
        seed: seed for the jitter's random generator (tests).

    Raises:
        ValueError: an option is out of range or of the wrong type (checked here,
            so that no request fails later because of it).
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api: str | BackendFactory = "mock",
        api_key: str | None = None,
        timeouts: Timeouts | None = None,
        limits: Limits | None = None,
        polling: Polling | None = None,
        policy: PollPolicy | None = None,
        retry: RetryPolicy | None = None,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        long_poll_wait: float | None = None,
        max_workers: int | None = None,
        max_long_polls: int | None = None,
        max_requests_per_second: float | None = None,
        burst: float | None = None,
        batch_linger: float | None = None,
        cache_ttl: float | None = None,
        store: Store | str | None = None,
        lease_ttl: float = 5.0,
        max_response_bytes: int | None = None,
        discover: bool | None = None,
        on_poll: PollHook | Sequence[PollHook] | None = None,
        on_state_change: StateChangeHook | Sequence[StateChangeHook] | None = None,
        headers: Mapping[str, str] | None = None,
        session: requests.Session | None = None,
        webhook_secret: str | Sequence[str] | None = None,
        webhook_scheme: str = "hmac",
        webhook_tolerance: float = DEFAULT_TOLERANCE,
        time_scale: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        seed: int | None = None,
    ) -> None:
        # Long for its declarations: the options above, and the group field each
        # flat one sets below; every other line checks options or makes one part.
        defaults = api_defaults(api, time_scale)
        self.api = api if isinstance(api, str) else "custom"
        base_url = defaults.base_url if base_url is None else base_url
        check_url(base_url)
        self.base_url = base_url.rstrip("/")
        # The groups, with the flat options given put over them (each checks itself).
        times = merged(
            timeouts or Timeouts(),
            connect=connect_timeout,
            read=read_timeout,
            long_poll_wait=long_poll_wait,
        )
        bounds = merged(
            limits or Limits(),
            max_workers=max_workers,
            max_long_polls=max_long_polls,
            max_requests_per_second=max_requests_per_second,
            burst=burst,
            max_response_bytes=max_response_bytes,
        )
        pace = merged(
            polling or Polling(),
            policy=policy,
            retry=retry,
            batch_linger=batch_linger,
            cache_ttl=cache_ttl,
            discover=discover,
        )
        config = scheduler_config(times, bounds, pace, defaults, lease_ttl, time_scale)
        self._setup_webhooks(webhook_secret, webhook_scheme, webhook_tolerance)
        key = api_key_of(self.api, api_key)
        # Every option is checked: now the parts, which open connections and files.
        self._clock = clock
        self._rng = random.Random(seed)
        self._retry = pace.retry if pace.retry is not None else RetryPolicy()
        self._transport = make_transport(self.base_url, times, bounds, key, headers, session)
        self._backend = make_backend(api, self._transport, discover=pace.discover)
        self._store, owns_store = open_store(store, cache_ttl=pace.cache_ttl, clock=clock)
        self._scheduler = Scheduler(
            self._backend,
            policy=poll_policy(api, pace, time_scale),
            retry=self._retry,
            store=self._store,
            config=config,
            clock=clock,
            rng=random.Random(seed),
            on_poll=as_hooks(on_poll),
            on_state_change=as_hooks(on_state_change),
        )
        self._tracking = Tracking(self._store, self._scheduler, self._backend.name)
        owned = self._store if owns_store else None  # closed with the client
        self._lifetime = Lifetime(
            self, self.base_url, self._transport, self._scheduler, self._servers, owned
        )

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
        state = "closed" if self._lifetime.closed else "open"
        return f"<TranslationClient {self.api} {self.base_url} {state}>"

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._lifetime.closed

    def close(self) -> None:
        """Stop polling, within about a second; idempotent.

        In-flight requests are interrupted, the threads end, and futures still
        pending fail with :class:`~heygen_client.errors.ClientClosed`.

        In a process forked from the one that created the client, the client is
        already closed (every call raises :class:`ClientClosed`) and this does
        nothing: its connections and threads are the parent's.
        """
        self._lifetime.close()

    def _check_open(self) -> None:
        self._lifetime.check_open()

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
        return JobBatch(self._track_records(self._tracking.resumable(), None), on_progress)

    def _track(
        self,
        job_ids: Sequence[str | None],
        expected: float | None,
        deadline: float | None,
        tags: Mapping[str, Any] | None,
    ) -> list[JobFuture]:
        """Futures for ``job_ids``; every id is checked before any is tracked."""
        self._check_open()
        records = self._tracking.records(job_ids, expected, deadline, tags)
        return self._track_records(records, deadline)

    def _track_records(
        self, records: Sequence[TrackedJob], deadline: float | None
    ) -> list[JobFuture]:
        self._check_open()
        return self._tracking.start(records, deadline)

    def wait(self, job_id: str | None = None, timeout: float | None = None) -> JobStatus:
        """Track a job and block until it is done; returns its final status.

        Raises:
            TranslationFailed: the job ended in error.
            DeadlineExceeded: still pending after ``timeout`` seconds.
            HeyGenError: tracking failed (see :mod:`heygen_client.errors`).
        """
        return self.track(job_id, deadline=timeout).result()

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
