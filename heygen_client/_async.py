"""The asyncio face of the client: :class:`AsyncTranslationClient`.

It rides on one :class:`~heygen_client.TranslationClient` and its single scheduler
thread; nothing here polls.  What it adds is loop-bound futures, so that asyncio's
own tools (``await``, :func:`asyncio.wait_for`, :func:`asyncio.wait`,
:func:`asyncio.gather`, :func:`asyncio.shield`, task cancellation) treat a job
like any other :class:`asyncio.Future`; and it makes the blocking HTTP calls off
the event loop.  The futures are :mod:`heygen_client._async_futures`.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar, Unpack

from heygen_client._async_futures import AsyncJobBatch, AsyncJobFuture
from heygen_client._batch import JobBatch
from heygen_client._client import TranslationClient
from heygen_client._futures import JobFuture
from heygen_client._options import ClientOptions
from heygen_client._webhooks import WebhookApp
from heygen_client.errors import ClientClosed
from heygen_client.models import ClientStats, JobStatus, WebhookEndpoint

__all__ = ["AsyncTranslationClient"]

_T = TypeVar("_T")


class AsyncTranslationClient:
    """Track HeyGen video-translation jobs from asyncio code.

    An async face for one :class:`~heygen_client.TranslationClient`: the same single
    scheduler thread polls every job (there is no second poller), and its futures are
    mirrored by :class:`AsyncJobFuture` s bound to the running loop.  Requests made
    on the caller's behalf (:meth:`get_status`, :meth:`get_job`, :meth:`submit`) and
    the joins of :meth:`aclose` run on the loop's default executor, so the loop never
    blocks on the network.  Use it as an async context manager, or ``await``
    :meth:`aclose`.

    Args:
        base_url: the server; the API's own by default (see
            :class:`~heygen_client.TranslationClient`).
        **options: the keyword options of :class:`~heygen_client.TranslationClient`
            (``api``, ``api_key``, ``timeouts``, ``limits``, ``polling``, or the
            same flat, ``max_workers=``...), typed by :class:`ClientOptions`.
    """

    def __init__(self, base_url: str | None = None, **options: Unpack[ClientOptions]) -> None:
        self._client = TranslationClient(base_url, **options)
        self._owns = True
        self._closed = False

    @classmethod
    def from_client(cls, client: TranslationClient) -> AsyncTranslationClient:
        """An async face for an existing client, sharing its scheduler and its jobs.

        The client is borrowed: :meth:`aclose` closes only this face and leaves the
        client, and the jobs it tracks, to their owner.
        """
        self = cls.__new__(cls)
        self._client = client
        self._owns = False
        self._closed = False
        return self

    # -- lifecycle ---------------------------------------------------------------

    async def __aenter__(self) -> AsyncTranslationClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<AsyncTranslationClient {self._client.base_url} {state}>"

    @property
    def base_url(self) -> str:
        """The server's URL."""
        return self._client.base_url

    @property
    def sync_client(self) -> TranslationClient:
        """The :class:`~heygen_client.TranslationClient` doing the work."""
        return self._client

    @property
    def closed(self) -> bool:
        """True once :meth:`aclose` was called (or the underlying client closed)."""
        return self._closed or self._client.closed

    async def aclose(self) -> None:
        """Stop polling, within about a second, without blocking the loop; idempotent.

        Futures still pending fail with :class:`~heygen_client.errors.ClientClosed`.
        A face made by :meth:`from_client` leaves its client open.
        """
        if self._closed:
            return
        self._closed = True
        if self._owns:
            await asyncio.to_thread(self._client.close)

    def _check_open(self) -> None:
        if self._closed:
            raise ClientClosed("client is closed")

    # -- one-off requests (on the loop's default executor) -----------------------

    async def get_status(self, job_id: str | None = None) -> JobStatus:
        """One job's status, as :meth:`TranslationClient.get_status`, off the loop."""
        self._check_open()
        return await asyncio.to_thread(self._client.get_status, job_id)

    async def get_job(self, job_id: str) -> dict[str, Any]:
        """The job's full record, as :meth:`TranslationClient.get_job`, off the loop."""
        self._check_open()
        return await asyncio.to_thread(self._client.get_job, job_id)

    async def register_webhook(
        self, url: str, *, events: Sequence[str] | None = None, **fields: Any
    ) -> WebhookEndpoint:
        """As :meth:`TranslationClient.register_webhook`, off the loop."""
        self._check_open()
        return await asyncio.to_thread(
            functools.partial(self._client.register_webhook, url, events=events, **fields)
        )

    async def create_job(self, **job_options: Any) -> JobStatus:
        """Create a job, untracked (:meth:`TranslationClient.create_job`), off the loop."""
        self._check_open()
        return await asyncio.to_thread(self._client.create_job, **job_options)

    async def submit(self, **job_options: Any) -> AsyncJobFuture:
        """Create a job (``POST /jobs``, off the loop) and track it; returns its future.

        Arguments as for :meth:`TranslationClient.submit`.  Cancelled before the
        request is sent, it sends nothing; cancelled while the request is in flight,
        the job may be created, but it is not tracked.

        Raises:
            RateLimited: as for :meth:`TranslationClient.submit` (no job was created).
        """
        self._check_open()
        job_future = await _create_tracked(lambda: self._client.submit(**job_options))
        return AsyncJobFuture(job_future, loop=asyncio.get_running_loop())

    async def translate(
        self,
        video_url: str,
        output_languages: str | Sequence[str],
        **options: Any,
    ) -> AsyncJobBatch:
        """Start translating a video and track its jobs; returns their batch.

        As :meth:`TranslationClient.translate` (same arguments), with the create
        and its retries off the loop.  Cancelled before the request is sent, it
        sends nothing; cancelled later, the jobs may be created, but they are
        not tracked.
        """
        self._check_open()
        batch = await _create_tracked(
            lambda: self._client.translate(video_url, output_languages, **options)
        )
        loop = asyncio.get_running_loop()
        return AsyncJobBatch((AsyncJobFuture(f, loop=loop) for f in batch), loop=loop)

    # -- webhooks (no request; as the sync client's) ------------------------------

    def handle_webhook(
        self,
        body: bytes,
        headers: Mapping[str, str],
        *,
        secret: str | Sequence[str] | None = None,
    ) -> bool:
        """As :meth:`TranslationClient.handle_webhook`: fast, so called on the loop."""
        return self._client.handle_webhook(body, headers, secret=secret)

    def webhook_app(self, *, secret: str | Sequence[str] | None = None) -> WebhookApp:
        """As :meth:`TranslationClient.webhook_app`."""
        return self._client.webhook_app(secret=secret)

    def serve_webhooks(
        self,
        *,
        secret: str | Sequence[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> str:
        """As :meth:`TranslationClient.serve_webhooks`; :meth:`aclose` stops it."""
        return self._client.serve_webhooks(secret=secret, host=host, port=port)

    # -- tracking (no request here; returns at once) -----------------------------

    def track(
        self,
        job_id: str | None = None,
        *,
        expected_duration: float | None = None,
        deadline: float | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> AsyncJobFuture:
        """Start tracking a job; returns its future at once (call it in a running loop).

        ``await client.track(job_id)`` is the final status.  Arguments as for
        :meth:`TranslationClient.track`; two ``track()`` calls for the same job share
        one poll schedule, and cancelling one future stops polling only when no other
        future still tracks the job.

        Raises:
            RuntimeError: no running event loop.
            ClientClosed: after :meth:`aclose`.
        """
        loop = asyncio.get_running_loop()
        self._check_open()
        job_future = self._client.track(
            job_id, expected_duration=expected_duration, deadline=deadline, tags=tags
        )
        return AsyncJobFuture(job_future, loop=loop)

    def track_many(
        self,
        job_ids: Iterable[str],
        *,
        expected_duration: float | None = None,
        deadline: float | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> AsyncJobBatch:
        """Track many jobs; returns an :class:`AsyncJobBatch` of their futures.

        Arguments as for :meth:`track`, for every job; the store records them in
        one write.
        """
        loop = asyncio.get_running_loop()
        self._check_open()
        batch = self._client.track_many(
            job_ids, expected_duration=expected_duration, deadline=deadline, tags=tags
        )
        return AsyncJobBatch((AsyncJobFuture(f, loop=loop) for f in batch), loop=loop)

    def resume(self) -> AsyncJobBatch:
        """Track every job the store records as tracked and not ended.

        As :meth:`TranslationClient.resume`; call it in a running loop.  It reads
        the store on the loop's thread (one read).
        """
        loop = asyncio.get_running_loop()
        self._check_open()
        batch = self._client.resume()
        return AsyncJobBatch((AsyncJobFuture(f, loop=loop) for f in batch), loop=loop)

    async def wait(self, job_id: str | None = None, timeout: float | None = None) -> JobStatus:
        """Track a job and wait until it is done; returns its final status.

        Raises:
            TranslationFailed: the job ended in error.
            DeadlineExceeded: still pending after ``timeout`` seconds.
            HeyGenError: tracking failed (see :mod:`heygen_client.errors`).
        """
        return await self.track(job_id, deadline=timeout)

    # -- counters ----------------------------------------------------------------

    def stats(self) -> ClientStats:
        """As :meth:`TranslationClient.stats` (no request; returns at once)."""
        return self._client.stats()


def _in_executor(loop: asyncio.AbstractEventLoop, fn: Callable[[], _T]) -> asyncio.Future[_T]:
    """Run ``fn`` on the loop's default executor, in a copy of the caller's context."""
    return loop.run_in_executor(None, functools.partial(contextvars.copy_context().run, fn))


_Created = TypeVar("_Created", JobFuture, JobBatch)


async def _create_tracked(make: Callable[[], _Created]) -> _Created:
    """Run ``make`` (a create-and-track call) off the loop.

    Cancelled before ``make`` runs, nothing is sent; cancelled while it runs,
    the jobs may be created, but what it tracked is cancelled once it returns.
    """
    abandoned = threading.Event()

    def create() -> _Created | None:
        return None if abandoned.is_set() else make()

    call = _in_executor(asyncio.get_running_loop(), create)
    try:
        created = await asyncio.shield(call)
    except asyncio.CancelledError:
        abandoned.set()
        call.add_done_callback(_cancel_created)
        raise
    assert created is not None
    return created


def _cancel_created(
    call: asyncio.Future[JobFuture | None] | asyncio.Future[JobBatch | None],
) -> None:
    """A submit or translate whose caller was cancelled: stop tracking what it created."""
    if call.cancelled() or call.exception() is not None:
        return
    created = call.result()
    if created is None:
        return
    for future in created if isinstance(created, JobBatch) else (created,):
        future.cancel()
