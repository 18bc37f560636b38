"""A locked TTL cache of job statuses: pending answers expire, final ones stay."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import cachetools

from heygen_client.models import JobStatus

__all__ = ["StatusCache"]


class StatusCache:
    """Statuses by job id, thread-safe, on an injectable clock.

    A pending status lives ``ttl`` seconds; a final one (``completed``/``error``)
    never expires, only the least recently used final ones beyond ``maxsize`` are
    dropped (and pending ones beyond ``maxsize`` within a ``ttl``).  The seed's
    single job is stored under the key ``None``.
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
        # Two caches rather than one TLRUCache with a time-to-use per status: a
        # TLRUCache keeps each replaced entry in its heap until it would have expired,
        # and a tracked job's pending status is replaced at every answer (up to ~70
        # bytes more a job at 10,000 jobs); a TTLCache reuses the entry.
        self._pending: cachetools.TTLCache[str | None, JobStatus] = cachetools.TTLCache(
            maxsize=maxsize, ttl=ttl, timer=clock
        )
        self._final: cachetools.LRUCache[str | None, JobStatus] = cachetools.LRUCache(maxsize)

    def get(self, job_id: str | None) -> JobStatus | None:
        """The fresh status of ``job_id``, or None."""
        with self._lock:
            status = self._final.get(job_id)
            return status if status is not None else self._pending.get(job_id)

    def put(self, status: JobStatus, job_id: str | None) -> None:
        """Remember ``status`` under ``job_id`` (None: the seed's single job).

        A final status is never replaced by a pending one.
        """
        with self._lock:
            if status.is_final:
                self._pending.pop(job_id, None)
                self._final[job_id] = status
            elif self.ttl > 0 and job_id not in self._final:
                self._pending[job_id] = status

    def __len__(self) -> int:
        with self._lock:
            self._pending.expire()
            return len(self._pending) + len(self._final)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._pending.clear()
            self._final.clear()
