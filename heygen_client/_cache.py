"""A locked TTL cache of job statuses: pending answers expire, final ones stay."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

import cachetools

from heygen_client.models import JobStatus

__all__ = ["StatusCache"]


class StatusCache:
    """Statuses by job id, thread-safe, on an injectable clock.

    A pending status lives ``ttl`` seconds; a final one (``completed``/``error``)
    never expires, only the least recently used entries beyond ``maxsize`` are dropped.
    The seed's single job is stored under the key ``None``.
    """

    def __init__(
        self,
        *,
        ttl: float = 1.0,
        maxsize: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._cache: cachetools.TLRUCache[str | None, JobStatus] = cachetools.TLRUCache(
            maxsize=maxsize, ttu=self._time_to_use, timer=clock
        )

    def _time_to_use(self, _key: str | None, value: JobStatus, now: float) -> float:
        return math.inf if value.is_final else now + self.ttl

    def get(self, job_id: str | None) -> JobStatus | None:
        """The fresh status of ``job_id``, or None (a pending one with ``ttl <= 0``)."""
        with self._lock:
            status = self._cache.get(job_id)
        if status is not None and not status.is_final and self.ttl <= 0:
            return None  # the TTL applies to pending statuses only
        return status

    def put(self, status: JobStatus, job_id: str | None) -> None:
        """Remember ``status`` under ``job_id`` (None: the seed's single job).

        A final status is never replaced by a pending one.
        """
        with self._lock:
            old = self._cache.get(job_id)
            if old is not None and old.is_final and not status.is_final:
                return
            self._cache[job_id] = status

    def __len__(self) -> int:
        with self._lock:
            self._cache.expire()
            return len(self._cache)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._cache.clear()
