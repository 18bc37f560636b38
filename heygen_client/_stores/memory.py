"""The default store: everything in this process, gone with it."""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Sequence

from heygen_client._cache import StatusCache
from heygen_client._stores import TrackedJob
from heygen_client.models import JobStatus

__all__ = ["MemoryStore"]


class MemoryStore:
    """Statuses in a locked TTL cache, durations in a bounded window, tracked jobs in a dict.

    Args:
        cache_ttl: seconds a pending status stays fresh.
        history_size: how many recent durations are kept.
        clock: the monotonic clock of the cache's TTL.
    """

    def __init__(
        self,
        *,
        cache_ttl: float = 1.0,
        history_size: int = 500,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cache = StatusCache(ttl=cache_ttl, clock=clock)
        self._lock = threading.Lock()
        self._durations: collections.deque[float] = collections.deque(maxlen=history_size)
        self._tracked: dict[str | None, TrackedJob] = {}

    def get_status(self, job_id: str | None) -> JobStatus | None:
        return self.cache.get(job_id)

    def put_status(self, job_id: str | None, status: JobStatus) -> None:
        self.cache.put(status, job_id)

    def record_duration(self, seconds: float) -> None:
        with self._lock:
            self._durations.append(seconds)

    def durations(self) -> Sequence[float]:
        with self._lock:
            return list(self._durations)

    def add_tracked(self, jobs: Sequence[TrackedJob]) -> None:
        with self._lock:
            for job in jobs:
                self._tracked.setdefault(job.job_id, job)

    def remove_tracked(self, job_id: str | None) -> None:
        with self._lock:
            self._tracked.pop(job_id, None)

    def tracked(self) -> list[TrackedJob]:
        with self._lock:
            return list(self._tracked.values())

    def close(self) -> None:
        """Nothing to release."""
