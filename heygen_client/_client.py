"""The public client: :class:`TranslationClient`."""

from __future__ import annotations

import atexit
import functools
import logging
import os
import random
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import requests

from heygen_client._backends import BackendFactory
from heygen_client._backends.heygen import HeyGenBackend
from heygen_client._backends.mock import MockBackend
from heygen_client._building import (
    AGE_MAX,
    API_DEFAULTS,
    API_KEY_ENV,
    APIS,
    NO_TAGS,
    api_key_of,
    as_hooks,
    check_tags,
    make_backend,
    make_transport,
    scaled,
    scheduler_config,
)
from heygen_client._futures import JobBatch, JobFuture, ProgressCallback
from heygen_client._options import Limits, Polling, Timeouts, merged
from heygen_client._scheduler import Scheduler
from heygen_client._stores import SharedStore, Store, TrackedJob
from heygen_client._stores.factory import open_store
from heygen_client._stores.memory import MemoryStore
from heygen_client._transport import Transport
from heygen_client._validate import (
    check_job_id,
    check_number,
    check_seconds,
    check_url,
)
from heygen_client._webhooks import (
    DEFAULT_TOLERANCE,
    SCHEMES,
    Outcome,
    WebhookApp,
    WebhookReceiver,
    WebhookServer,
    secrets_of,
)
from heygen_client.errors import ClientClosed, HeyGenError, HTTPStatusError, Unsupported
from heygen_client.models import (
    ClientStats,
    JobStatus,
    PollHook,
    StateChangeHook,
    WebhookEndpoint,
)
from heygen_client.policies import PollPolicy, RetryPolicy, default_policy, heygen_policy

__all__ = ["APIS", "API_KEY_ENV", "TranslationClient"]


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
        if not callable(api) and api not in APIS:
            raise ValueError(
                f"api must be one of {', '.join(map(repr, APIS))} or a backend factory, "
                f"not {api!r}"
            )
        if webhook_scheme not in SCHEMES:
            raise ValueError(f"webhook_scheme must be one of {', '.join(map(repr, SCHEMES))}")
        check_seconds("webhook_tolerance", webhook_tolerance)
        check_number("lease_ttl", lease_ttl, above=0)
        check_number("time_scale", time_scale, above=0)
        if time_scale != 1.0 and api != "heygen":
            raise ValueError('time_scale is for api="heygen" (the mock\'s v3 --time-scale)')
        self.api = api if isinstance(api, str) else "custom"
        defaults = scaled(API_DEFAULTS["heygen" if api == "heygen" else "mock"], time_scale)
        base_url = defaults.base_url if base_url is None else base_url
        check_url(base_url)
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
        self.base_url = base_url.rstrip("/")
        self._clock = clock
        key = api_key_of(self.api, api_key)
        self._transport = make_transport(self.base_url, times, bounds, key, headers, session)
        self._backend = make_backend(api, self._transport, discover=pace.discover)
        self._store, owns_store = open_store(store, cache_ttl=pace.cache_ttl, clock=clock)
        # Checked once: isinstance() against a runtime Protocol is slow, and track() is hot.
        self._shared = self._store if isinstance(self._store, SharedStore) else None
        self._owned_store = self._store if owns_store else None
        # The in-memory store outlives nothing, so there is nothing to resume from
        # it: recording each tracked job there would only cost memory (~110 B a job).
        self._records = not isinstance(self._store, MemoryStore)
        self._retry = pace.retry if pace.retry is not None else RetryPolicy()
        self._webhook_secrets = secrets_of(webhook_secret) if webhook_secret is not None else ()
        self._webhook_scheme = webhook_scheme
        self._webhook_tolerance = webhook_tolerance
        # Shared with the finalizer, which then stops a server started later.
        self._servers: list[WebhookServer] = []
        self._rng = random.Random(seed)
        self._scheduler = Scheduler(
            self._backend,
            policy=pace.policy
            or (heygen_policy(time_scale) if api == "heygen" else default_policy()),
            retry=self._retry,
            store=self._store,
            config=scheduler_config(times, bounds, pace, defaults, lease_ttl, time_scale),
            clock=clock,
            rng=random.Random(seed),
            on_poll=as_hooks(on_poll),
            on_state_change=as_hooks(on_state_change),
        )
        self._lock = threading.Lock()
        self._closed = False
        self._closed_message = "client is closed"
        self._closing = threading.Event()  # wakes a translate() waiting out a 429
        # A client dropped without close() stops its threads when it is collected:
        # the scheduler and its threads hold no reference back to the client.
        self._finalizer = weakref.finalize(
            self,
            _collected,
            self.base_url,
            self._transport,
            self._scheduler,
            self._servers,
            self._owned_store,
        )
        _OPEN_CLIENTS.add(self)

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
        return f"<TranslationClient {self.api} {self.base_url} {state}>"

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
        self._closing.set()
        _OPEN_CLIENTS.discard(self)
        self._finalizer.detach()
        while self._servers:
            self._servers.pop().close()
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
        checked = check_tags(tags)
        options = NO_TAGS if expected is None else {"expected_duration": expected}
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
            age = round(min(max(0.0, now - record.tracked_at), AGE_MAX), 1)
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

    def translate(
        self,
        video_url: str,
        output_languages: str | Sequence[str],
        *,
        deadline: float | None = None,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> JobBatch:
        """Start translating a video, one job per output language, and track them.

        On HeyGen it is one ``POST /v3/video-translations`` with an
        ``Idempotency-Key``; on the mock server, one ``POST /jobs`` per language
        (HeyGen's field names mapped to the mock's).  A failed create is tried
        again with the same key, so a retry never starts a second, paid job:
        after a 429 (HeyGen's concurrency limit) as its ``Retry-After`` says,
        after a 409 (the first request still in flight), a 5xx or a lost
        connection with the retry policy's backoff.

        Args:
            video_url: a public URL of the video.
            output_languages: one language (``"fr"``) or several.
            deadline: seconds for the whole call: creating (retries included)
                and then tracking, as :meth:`track`'s ``deadline``.  Without it,
                the create is tried for the retry policy's ``budget`` (120 s)
                and the jobs are tracked without a limit.
            idempotency_key: the create's key; a new random one by default.
                Pass your own to make a create safe to repeat across processes.
            **fields: more of the create's body: ``title``, ``mode``,
                ``input_language``, ``callback_url``, ``callback_id``...

        Returns:
            A :class:`JobBatch`: one future per language, in the order given.

        Raises:
            ValueError: no output language.
            HeyGenError: the create failed, and trying again cannot help or
                the time is spent (``RateLimited`` still at the limit, ...).
        """
        self._check_open()
        check_seconds("deadline", deadline)
        languages = (
            [output_languages] if isinstance(output_languages, str) else list(output_languages)
        )
        if not languages:
            raise ValueError("output_languages must name at least one language")
        key = idempotency_key if idempotency_key is not None else uuid.uuid4().hex
        create = functools.partial(self._backend.translate, idempotency_key=key)
        started = self._clock()
        attempt = 0
        while True:
            try:
                statuses = self._call("translate", create, video_url, languages, fields)
                break
            except HeyGenError as exc:
                attempt += 1
                pause = self._create_pause(exc, attempt, self._clock() - started, deadline)
                if pause is None:
                    raise
                logger.info("translate: %s; trying again in %.1f s, same key", exc, pause)
                if self._closing.wait(pause):
                    raise ClientClosed("client closed while translate() waited") from exc
        for status in statuses:
            self._store.put_status(status.job_id, status)
        left = None if deadline is None else max(0.0, deadline - (self._clock() - started))
        return self.track_many([str(status.job_id) for status in statuses], deadline=left)

    def _create_pause(
        self, error: HeyGenError, attempt: int, spent: float, deadline: float | None
    ) -> float | None:
        """Seconds to wait before the create's next try, or None to give up."""
        in_progress = isinstance(error, HTTPStatusError) and error.status_code == 409
        if not (in_progress or self._retry.is_retryable(error)):
            return None
        retry_after = error.retry_after if isinstance(error, HTTPStatusError) else None
        pause = self._retry.delay(attempt, retry_after, self._rng)
        if deadline is None:
            if self._retry.exhausted(attempt, spent + pause):
                return None
        elif spent + pause > deadline:
            return None
        return pause

    # -- webhooks ------------------------------------------------------------------

    def handle_webhook(
        self,
        body: bytes,
        headers: Mapping[str, str],
        *,
        secret: str | Sequence[str] | None = None,
    ) -> bool:
        """Verify a webhook and apply its event: its job's futures resolve at once.

        A ``video_translate.success`` event completes the job's futures with a
        status built from the event (``video_url``); a ``video_translate.fail``
        one fails them with :class:`~heygen_client.errors.TranslationFailed`
        carrying the event's message.  The status is cached too, so a later
        :meth:`track` of the job finds it.  Repeats change nothing.  Polling goes
        on as a safety net, at a slower pace while webhooks come.

        Args:
            body: the request's raw body, exactly as received.
            headers: its headers (any case).
            secret: the signing secret(s); default the client's ``webhook_secret``.

        Returns:
            True when the signature is valid and the body readable (the event was
            applied, or ignored as not a translation event); False otherwise,
            and nothing changed.

        Raises:
            ValueError: no secret.
        """
        return self._receiver(secret).handle(body, headers) in (Outcome.APPLIED, Outcome.IGNORED)

    def webhook_app(self, *, secret: str | Sequence[str] | None = None) -> WebhookApp:
        """A WSGI application that receives webhooks for this client (any path).

        Mount it in your web stack (docs/heygen.md shows Flask).  A valid event
        is answered 200 and applied as by :meth:`handle_webhook`; a bad or
        missing signature gets 401 and changes nothing.  From now on polling is
        a safety net for lost webhooks, slower (docs/heygen.md#webhooks).

        Raises:
            ValueError: no secret (here or as the client's ``webhook_secret``).
        """
        app = WebhookApp(self._receiver(secret))
        self._scheduler.expect_pushes()
        return app

    def register_webhook(
        self, url: str, *, events: Sequence[str] | None = None, **fields: Any
    ) -> WebhookEndpoint:
        """Register a webhook receiver with HeyGen (``POST /v3/webhooks/endpoints``).

        HeyGen then posts the ``events`` of every translation to ``url``, not
        only of those created with a ``callback_url``.  The endpoint's signing
        secret joins the client's ``webhook_secret``: :meth:`handle_webhook`,
        and the :meth:`webhook_app` and :meth:`serve_webhooks` made from now on,
        verify with it.  Keep ``endpoint.secret`` for your next processes:
        HeyGen shows it only now.  Not retried, since a second try could
        register the endpoint twice.

        Args:
            url: where HeyGen posts events; HeyGen must be able to reach it.
            events: event types (``"video_translate.success"``...); None for all.
            **fields: more of the body (``entity_id``...), sent as given.

        Returns:
            The endpoint, its secret included (kept out of its ``repr``).

        Raises:
            Unsupported: the client does not speak HeyGen's API.
            HeyGenError: the request failed (see :mod:`heygen_client.errors`).
        """
        self._check_open()
        backend = self._backend
        if not isinstance(backend, HeyGenBackend):
            raise Unsupported(f'register_webhook() needs api="heygen", not {backend.name}')
        endpoint = self._call("register_webhook", backend.register_webhook, url, events, fields)
        with self._lock:
            self._webhook_secrets = (*self._webhook_secrets, endpoint.secret)
        return endpoint

    def serve_webhooks(
        self,
        *,
        secret: str | Sequence[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> str:
        """Receive webhooks on a small server of our own, on one more daemon thread.

        For scripts and tests; :meth:`close` stops it.  Give the URL to HeyGen
        (``callback_url``, or a registered endpoint): it must be reachable from
        there.

        Args:
            secret: as for :meth:`webhook_app`.
            host: the interface to listen on.
            port: the port; 0 picks a free one.

        Returns:
            The server's URL, e.g. ``"http://127.0.0.1:41234/"``.

        Raises:
            RuntimeError: this client serves webhooks already.
            OSError: the address cannot be bound.
        """
        self._check_open()
        app = self.webhook_app(secret=secret)
        with self._lock:
            if self._servers:
                raise RuntimeError(f"already serving webhooks at {self._servers[0].url}")
            server = WebhookServer(app, host, port)
            self._servers.append(server)
        logger.info("receiving webhooks at %s", server.url)
        return server.url

    def _receiver(self, secret: str | Sequence[str] | None) -> WebhookReceiver:
        secrets = secrets_of(secret) if secret is not None else self._webhook_secrets
        if not secrets:
            raise ValueError("no webhook secret: pass secret=... or webhook_secret= to the client")
        return WebhookReceiver(
            secrets, self._webhook_scheme, self._scheduler.apply, self._webhook_tolerance
        )

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
    base_url: str,
    transport: Transport,
    scheduler: Scheduler,
    servers: list[WebhookServer],
    store: Store | None,
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
            store.close()  # the scheduler's later calls to it then do nothing

    for server in servers:
        server.signal_close()  # its own thread stops: never blocks
    scheduler.signal_close(then=close_transport)
