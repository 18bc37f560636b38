"""RetryPolicy: what to do after a status request failed."""

from __future__ import annotations

import random
from dataclasses import dataclass

from heygen_client.errors import (
    ClientClosed,
    HTTPStatusError,
    JobNotFound,
    MalformedResponse,
    TransportError,
)

__all__ = ["RetryPolicy"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """What to do after a status request *failed*; separate from the poll policy.

    Transport errors, timeouts, 5xx, 429 and malformed answers are retried with
    full-jitter backoff: ``uniform(0, min(cap, base * 2**attempt))``, but never sooner
    than a ``Retry-After`` the server sent (clamped to ``retry_after_max``).  Other 4xx
    fail at once.  After ``max_attempts`` consecutive failures, or ``budget`` seconds
    since the first of them, the job's futures fail with the last error.

    Attributes:
        max_attempts: consecutive failed requests allowed per job.
        base: the backoff's first step, seconds.
        cap: the largest backoff, seconds.
        budget: seconds of consecutive failure allowed per job.
        retry_after_max: a larger ``Retry-After`` is read as this many seconds.
    """

    max_attempts: int = 10
    base: float = 0.25
    cap: float = 8.0
    budget: float = 120.0
    retry_after_max: float = 120.0

    def is_retryable(self, error: BaseException) -> bool:
        """True when a request that failed with ``error`` is worth retrying.

        Transport errors and timeouts (unless marked ``retryable=False``, like an
        invalid URL), 5xx, 429 and malformed answers are; other 4xx (``JobNotFound``
        included), ``ClientClosed`` and any other exception (a bug) are not.  The
        scheduler asks this; subclass and override it to retry something else.
        """
        if isinstance(error, ClientClosed):
            return False
        if isinstance(error, HTTPStatusError):
            return error.retryable and not isinstance(error, JobNotFound)
        if isinstance(error, TransportError | MalformedResponse):
            return error.retryable
        return False

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full-jitter delay before retry number ``attempt`` (1-based)."""
        return rng.uniform(0.0, min(self.cap, self.base * 2.0 ** min(attempt - 1, 30)))

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """The backoff, raised to ``retry_after`` (clamped) when the server sent one."""
        delay = self.backoff(attempt, rng)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.retry_after_max))
        return delay

    def exhausted(self, attempt: int, failing_for: float) -> bool:
        """True when no retry is left."""
        return attempt >= self.max_attempts or failing_for >= self.budget
