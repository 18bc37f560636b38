"""Time for the server: the wall clock in production, a fake one in tests.

Everything in the server that reads or waits on time goes through a
``Clock``, so tests can drive long-polls and delays without really sleeping.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """What the server needs from time."""

    def now(self) -> float:
        """Current time, in Unix seconds."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block the calling thread for ``seconds`` (non-positive: return at once)."""
        ...


class SystemClock:
    """The real wall clock (``time.time``), so job times survive restarts.

    Wall-clock (not monotonic) time is deliberate: job ids carry absolute
    creation times that must mean the same in another process or after a
    restart, and benchmarks compare ``finishes_at`` with their own
    ``time.time()``.
    """

    def now(self) -> float:
        """Current Unix time."""
        return time.time()

    def sleep(self, seconds: float) -> None:
        """Really sleep; other request threads keep running."""
        if seconds > 0:
            time.sleep(seconds)


class FakeClock:
    """A clock that only moves when told to; ``sleep`` advances it instantly.

    Use it with ``create_app(config, clock=FakeClock())`` to test long-polls
    and job schedules without waiting. Calling it returns ``now()``, so it also
    stands in for ``time.monotonic`` wherever the client takes a ``clock``.
    It is thread-safe, but note that a sleep in one thread moves time for
    every thread.

    Args:
        start: The initial time, in Unix seconds.

    Attributes:
        sleeps: Every positive duration passed to ``sleep``, in call order.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def now(self) -> float:
        """The fake current time."""
        with self._lock:
            return self._now

    def __call__(self) -> float:
        """The fake current time, as ``now()``."""
        return self.now()

    def sleep(self, seconds: float) -> None:
        """Advance the clock by ``seconds`` without blocking."""
        if seconds > 0:
            with self._lock:
                self.sleeps.append(seconds)
                self._now += seconds

    def advance(self, seconds: float) -> None:
        """Move time forward (or backward, with a negative value) by ``seconds``."""
        with self._lock:
            self._now += seconds

    def set(self, when: float) -> None:
        """Jump to an absolute time."""
        with self._lock:
            self._now = float(when)
