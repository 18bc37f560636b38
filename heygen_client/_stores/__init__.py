"""The store seam: what the client remembers, and where.

A :class:`Store` keeps three things for the scheduler and the client:

* the **statuses** of jobs: pending ones for a short TTL (so :meth:`get_status`
  calls do not each cost a request), final ones for good;
* the **durations** learned from jobs seen finishing, from which the poll
  policy paces jobs on a plain server;
* the **tracked jobs**, from ``track()`` until they end.

:class:`~heygen_client._stores.memory.MemoryStore` keeps them in the process
(the default).  A store shared by several processes or kept across restarts
implements the same protocol; the scheduler never sees the difference.
All methods are called from several threads and must be thread-safe; the
scheduler calls them under its own lock, so they must not call back into the
client.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from heygen_client.models import JobStatus

__all__ = ["Store", "TrackedJob"]


@dataclass(frozen=True, slots=True)
class TrackedJob:
    """A job a client tracks, as a store records it.

    Attributes:
        job_id: the job (None for the seed's single job).
        api: the backend's name (``"mock"``, ``"heygen"``).
        tags: the caller's small JSON-able dict from ``track(..., tags=)``.
    """

    job_id: str | None
    api: str
    tags: Mapping[str, Any] = field(default_factory=dict)


class Store(Protocol):
    """What a client remembers about jobs (see the module docstring)."""

    def get_status(self, job_id: str | None) -> JobStatus | None:
        """The job's fresh status: a final one, or a pending one within its TTL."""
        ...

    def put_status(self, job_id: str | None, status: JobStatus) -> None:
        """Remember ``status``; a final status is never replaced by a pending one."""
        ...

    def record_duration(self, seconds: float) -> None:
        """A job was seen to take about ``seconds``."""
        ...

    def durations(self) -> Sequence[float]:
        """The durations recorded so far, oldest first (a bounded window)."""
        ...

    def add_tracked(self, jobs: Sequence[TrackedJob]) -> None:
        """Record jobs that a caller started tracking."""
        ...

    def remove_tracked(self, job_id: str | None) -> None:
        """The job ended (or nobody tracks it any more)."""
        ...

    def tracked(self) -> list[TrackedJob]:
        """Every job recorded as tracked and not ended."""
        ...

    def close(self) -> None:
        """Release what the store holds (connections, files); idempotent."""
        ...
