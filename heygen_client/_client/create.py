"""The methods of :class:`~heygen_client.TranslationClient` that create jobs.

``create_job()`` only creates, ``submit()`` creates and tracks one job, and
``translate()`` creates one job per language with an ``Idempotency-Key``,
trying the create again (same key) while that may help, then tracks them.
"""

from __future__ import annotations

import functools
import logging
import random
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from heygen_client._validate import check_seconds
from heygen_client.errors import ClientClosed, HeyGenError, HTTPStatusError
from heygen_client.models import JobStatus

if TYPE_CHECKING:
    from heygen_client._backends import Backend
    from heygen_client._batch import JobBatch
    from heygen_client._client.lifecycle import Lifetime
    from heygen_client._futures import JobFuture
    from heygen_client._stores import Store
    from heygen_client.policies import RetryPolicy

__all__ = ["CreateMethods"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")


class CreateMethods:
    """The job-creating methods of :class:`~heygen_client.TranslationClient` (a mixin)."""

    if TYPE_CHECKING:  # what TranslationClient provides
        _backend: Backend
        _store: Store
        _retry: RetryPolicy
        _rng: random.Random
        _clock: Callable[[], float]
        _lifetime: Lifetime

        def _check_open(self) -> None: ...
        def _call(self, what: str, fn: Callable[..., _T], *args: Any) -> _T: ...
        def track(
            self, job_id: str | None, *, expected_duration: float | None, deadline: float | None
        ) -> JobFuture: ...
        def track_many(self, job_ids: Iterable[str], *, deadline: float | None) -> JobBatch: ...

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
        create = functools.partial(
            self._backend.translate, video_url, languages, fields, idempotency_key=key
        )
        started = self._clock()
        statuses = self._create_with_retries(create, started, deadline)
        for status in statuses:
            self._store.put_status(status.job_id, status)
        left = None if deadline is None else max(0.0, deadline - (self._clock() - started))
        return self.track_many([str(status.job_id) for status in statuses], deadline=left)

    def _create_with_retries(
        self, create: Callable[[], _T], started: float, deadline: float | None
    ) -> _T:
        """``create()``, tried again (same key) while :meth:`_create_pause` allows."""
        attempt = 0
        while True:
            try:
                return self._call("translate", create)
            except HeyGenError as exc:
                attempt += 1
                pause = self._create_pause(exc, attempt, self._clock() - started, deadline)
                if pause is None:
                    raise
                logger.info("translate: %s; trying again in %.1f s, same key", exc, pause)
                if self._lifetime.closing.wait(pause):
                    raise ClientClosed("client closed while translate() waited") from exc

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
