"""The client-wide request budget: what the scheduler may send now.

:class:`Budget` holds the token bucket (``max_requests_per_second``,
``burst``; this client's :class:`TokenBucket`, or a shared store's), the pause
a ``Retry-After`` asks for, and the requests in flight, which the dispatchers
weigh against the worker bound.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from heygen_client._jobs import Kind, Request
from heygen_client.errors import RateLimited

if TYPE_CHECKING:
    from heygen_client._stores import Limiter

__all__ = ["Budget", "TokenBucket"]


class Budget:
    """What the scheduler may send now, client-wide.

    Not locked: the scheduler uses it under its own lock.

    Attributes:
        bucket: the request budget, one token per request.
        paused_until: no request before this (a 429/503 speaks for the whole server).
        in_flight_short: plain requests in flight (capabilities, polls, batches).
        in_flight_long: requests held by the server in flight (long-polls).
        reserved: batch long-poll slots kept for the jobs of a batch that came
            back, during its linger: their expiry times.  Without them, new jobs
            take the slot and the lingering ones are left unwatched until another
            batch returns.
        status_requests: status requests started so far.
    """

    __slots__ = (
        "bucket",
        "in_flight_long",
        "in_flight_short",
        "paused_until",
        "reserved",
        "retry_after_max",
        "status_requests",
    )

    def __init__(self, bucket: Limiter, retry_after_max: float) -> None:
        self.bucket = bucket
        self.retry_after_max = retry_after_max
        self.paused_until = 0.0
        self.in_flight_short = 0
        self.in_flight_long = 0
        self.reserved: list[float] = []
        self.status_requests = 0

    def pause(self, retry_after: float, now: float) -> None:
        """No request for ``retry_after`` seconds (at most ``retry_after_max``)."""
        hard = min(retry_after, self.retry_after_max)
        self.paused_until = max(self.paused_until, now + hard)

    def spend(self, now: float) -> float | None:
        """Spend a token on a request now: None when spent, otherwise when it can be
        (the pause's end, or the next token)."""
        if now < self.paused_until:
            return self.paused_until
        if not self.bucket.take(now):
            return self.bucket.next_token_at(now)
        return None

    def admit(self, what: str, now: float, left: float) -> float | None:
        """Spend a token for a request made on a caller's thread, or say how long
        to wait for one.

        Raises:
            RateLimited: paused, or no token within ``left`` seconds; not sent.
        """
        if now < self.paused_until:
            raise RateLimited(
                f"{what}: the server asked to wait (Retry-After); not sent",
                status_code=429,
                retry_after=self.paused_until - now,
            )
        if self.bucket.take(now):
            return None
        due = self.bucket.next_token_at(now) - now
        if due > left:
            raise RateLimited(
                f"{what}: the client's request budget is spent; not sent",
                status_code=429,
                retry_after=due,
            )
        return due

    def started(self, request: Request) -> None:
        """Count ``request`` in flight."""
        if request.wait:
            self.in_flight_long += 1
        else:
            self.in_flight_short += 1
        if request.kind is not Kind.CAPABILITIES:
            self.status_requests += 1

    def finished(self, request: Request) -> None:
        """``request`` is in flight no more."""
        if request.wait:
            self.in_flight_long -= 1
        else:
            self.in_flight_short -= 1


class TokenBucket:
    """``rate`` requests per second on average, ``burst`` at once.

    Not locked: the scheduler calls it under its own lock.
    """

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = max(1.0, burst)
        self.tokens = self.burst
        self.stamp = now

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def take(self, now: float) -> bool:
        """Spend one token if there is one."""
        self._refill(now)
        # A tolerance: at next_token_at() the refill may land a rounding error short
        # of 1.0, and the round would be blocked again at (nearly) the same instant.
        if self.tokens >= 1.0 - 1e-9:
            self.tokens = max(0.0, self.tokens - 1.0)
            return True
        return False

    def next_token_at(self, now: float) -> float:
        """When the next token is there."""
        self._refill(now)
        return now + max(0.0, (1.0 - self.tokens) / self.rate)
