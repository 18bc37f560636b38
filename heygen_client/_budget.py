"""The client-wide request budget: a token bucket on the scheduler's clock."""

from __future__ import annotations

__all__ = ["TokenBucket"]


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
