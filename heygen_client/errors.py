"""The exception tree of :mod:`heygen_client`.

Every error the library raises derives from :class:`HeyGenError`, and every one
that was caused by another exception is chained to it (``raise ... from exc``)::

    HeyGenError
    ├── TransportError              the request never got an HTTP answer
    │   └── TransportTimeout        a timeout (also TimeoutError)
    │       ├── ConnectTimeout      no connection in time: the server may be down
    │       └── ReadTimeout         connected, but no answer in time
    ├── HTTPStatusError             a 4xx/5xx answer, or a redirect not followed (3xx):
    │   │                           .status_code, .body, .retry_after
    │   ├── JobNotFound             404 for a job id, or "unknown" in a batch answer
    │   └── RateLimited             429: .retry_after (seconds, or None)
    ├── MalformedResponse           not JSON, or JSON we cannot read (unknown result)
    ├── TranslationFailed           the job ended in "error": .job_id, .status,
    │                               .failure_message
    ├── DeadlineExceeded            track(deadline=) or wait(timeout=) ran out
    │                               (also TimeoutError)
    ├── WaitTimeout                 future.result(timeout) returned first; the job
    │                               is still tracked (also TimeoutError)
    ├── Unsupported                 the API in use has no such operation
    │                               (also NotImplementedError)
    ├── StoreError                  a store= that cannot be used (a corrupt or
    │                               locked SQLite file, a bad URL)
    └── ClientClosed                the client was closed (also RuntimeError)

Which errors are *retried* while tracking a job is decided by the retry policy
(:meth:`heygen_client.policies.RetryPolicy.is_retryable`): transport errors, 5xx,
429 and malformed responses are; other 4xx fail the future at once, and so does
any exception that is not a :class:`HeyGenError` (a bug).  When the retry budget
is spent, the future fails with the last error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from heygen_client.models import JobStatus

__all__ = [
    "ClientClosed",
    "ConnectTimeout",
    "DeadlineExceeded",
    "HTTPStatusError",
    "HeyGenError",
    "JobNotFound",
    "MalformedResponse",
    "RateLimited",
    "ReadTimeout",
    "StoreError",
    "TranslationFailed",
    "TransportError",
    "TransportTimeout",
    "Unsupported",
    "WaitTimeout",
]


class HeyGenError(Exception):
    """Root of every exception raised by :mod:`heygen_client`."""


class TransportError(HeyGenError):
    """The request got no usable HTTP answer (connection refused, reset, DNS...).

    Attributes:
        retryable: False for errors that a retry cannot fix (an invalid URL).
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class TransportTimeout(TransportError, TimeoutError):
    """A connect or read timeout."""


class ConnectTimeout(TransportTimeout):
    """No connection within the connect timeout: the server may be down or unreachable."""


class ReadTimeout(TransportTimeout):
    """Connected, but no answer within the read timeout: the server is there, and slow."""


class HTTPStatusError(HeyGenError):
    """The server answered with a 4xx or 5xx status, or a redirect we do not follow.

    Attributes:
        status_code: the HTTP status.
        body: the response body (text, possibly truncated to 2,000 characters).
        retry_after: seconds from a ``Retry-After`` header, or None.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        """True for 5xx and 429, which the retry policy retries."""
        return self.status_code >= 500 or self.status_code == 429


class JobNotFound(HTTPStatusError):
    """The server does not know this job id (404)."""


class RateLimited(HTTPStatusError):
    """429 Too Many Requests; never retried sooner than :attr:`retry_after`."""


class MalformedResponse(HeyGenError):
    """The answer was not JSON, or not a shape we understand.

    Attributes:
        body: the response body (possibly truncated).
    """

    def __init__(self, message: str, *, body: str = "") -> None:
        super().__init__(message)
        self.body = body

    retryable = True


class TranslationFailed(HeyGenError):
    """The job finished with ``result == "error"``.

    Attributes:
        job_id: the job's id (None for the seed's single job).
        status: the final :class:`~heygen_client.models.JobStatus`.
        failure_message: why, when the server said (HeyGen's ``failure_message``);
            also in the exception's message.
    """

    def __init__(self, job_id: str | None, status: JobStatus) -> None:
        self.failure_message = status.failure_message
        message = f"translation job {job_id or '(default)'} ended in error"
        super().__init__(f"{message}: {self.failure_message}" if self.failure_message else message)
        self.job_id = job_id
        self.status = status

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.job_id, self.status))


class DeadlineExceeded(HeyGenError, TimeoutError):
    """The caller's deadline passed before the job finished.

    Attributes:
        job_id: the job's id (None for the seed's single job).
    """

    def __init__(self, job_id: str | None, deadline: float) -> None:
        super().__init__(
            f"job {job_id or '(default)'} still pending after the {deadline:g} s deadline"
        )
        self.job_id = job_id
        self.deadline = deadline

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.job_id, self.deadline))


class StoreError(HeyGenError):
    """The store given as ``store=`` cannot be used: raised when the client is built.

    A store that fails later (Redis gone, a SQLite write that times out) does not
    raise: the client carries on in memory and logs a WARNING.
    """


class ClientClosed(HeyGenError, RuntimeError):
    """The client is closed: it makes no more requests and resolves no more futures."""


class Unsupported(HeyGenError, NotImplementedError):
    """The API the client speaks has no such operation (e.g. batch status, job creation)."""


class WaitTimeout(HeyGenError, TimeoutError):
    """``future.result(timeout)`` (or ``exception``, ``batch.results``) timed out.

    Only the wait ended: the job is still tracked.  The message says what was
    last seen of it: its status, or the error of its last request.

    Attributes:
        job_id: the job (None for the seed's single job, or a whole batch).
        last: the job's latest status, or None before any answer.
    """

    def __init__(self, message: str, job_id: str | None = None, last: JobStatus | None = None):
        super().__init__(message)
        self.job_id = job_id
        self.last = last

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.job_id, self.last))
