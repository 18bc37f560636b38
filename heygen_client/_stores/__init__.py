"""The store seam: what the client remembers, and where.

A :class:`Store` keeps three things for the scheduler and the client:

* the **statuses** of jobs: pending ones for a short TTL (so :meth:`get_status`
  calls do not each cost a request), final ones for good;
* the **durations** learned from jobs seen finishing, from which the poll
  policy paces jobs on a plain server;
* the **tracked jobs**, from ``track()`` until they end.

:class:`~heygen_client._stores.memory.MemoryStore` keeps them in the process
(the default).  A :class:`SharedStore` (SQLite, Redis) keeps them where other
processes, and this one after a restart, see them, and adds what a fleet needs:
leases (one poller per job), a feed of the outcomes other processes learned, and
a request budget shared by every client of the store.

All methods are called from several threads and must be thread-safe; the
scheduler calls them under its own lock, so they must not call back into the
client, and a shared store must answer within a bounded time even when its
server is gone (it carries on in memory then).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

from heygen_client.models import JobResult, JobStatus

__all__ = [
    "FinalsFeed",
    "Limiter",
    "SharedStore",
    "Store",
    "TrackedJob",
    "status_from_json",
    "status_to_json",
]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class TrackedJob:
    """A job a client tracks, as a store records it.

    Attributes:
        job_id: the job (None for the seed's single job).
        api: the backend's name (``"mock"``, ``"heygen"``).
        tags: the caller's small JSON-able dict from ``track(..., tags=)``.
        options: how it was tracked (``expected_duration``), for ``resume()``.
        tracked_at: when it was first tracked (``time.time()``), so that a
            resumed job keeps its age (the poll policy paces by age).
    """

    job_id: str | None
    api: str
    tags: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    options: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    tracked_at: float = 0.0

    def to_json(self) -> str:
        """The record as one JSON text (without the id, which is the key)."""
        record = {
            "api": self.api,
            "tags": dict(self.tags),
            "options": dict(self.options),
            "tracked_at": self.tracked_at,
        }
        return json.dumps(record)

    @classmethod
    def from_json(cls, job_id: str | None, text: str | bytes) -> TrackedJob:
        """The record written by :meth:`to_json` for ``job_id``."""
        data = json.loads(text)
        return cls(
            job_id,
            str(data["api"]),
            data.get("tags") or _EMPTY,
            data.get("options") or _EMPTY,
            float(data.get("tracked_at") or 0.0),
        )


def status_to_json(status: JobStatus) -> str:
    """A final status as JSON, to be read back by :func:`status_from_json`."""
    return json.dumps(
        {
            "job_id": status.job_id,
            "result": status.result.value,
            "progress": status.progress,
            "remaining_seconds": status.remaining_seconds,
            "received_at": status.received_at,
            "extra": dict(status.extra),
        }
    )


def status_from_json(text: str | bytes) -> JobStatus:
    """The status :func:`status_to_json` wrote."""
    data = json.loads(text)
    extra = data.get("extra") or {}
    return JobStatus(
        job_id=data.get("job_id") or "",
        result=JobResult(data["result"]),
        progress=data.get("progress"),
        remaining_seconds=data.get("remaining_seconds"),
        received_at=float(data.get("received_at") or 0.0),
        extra=MappingProxyType(extra) if extra else _EMPTY,
    )


class Store(Protocol):
    """What a client remembers about jobs (see the module docstring)."""

    def get_status(self, job_id: str | None) -> JobStatus | None:
        """The job's fresh status: a final one, or a pending one within its TTL."""
        ...

    def put_status(self, job_id: str | None, status: JobStatus) -> None:
        """Remember ``status``; a final status is never replaced by a pending one.

        A final status ends the job: it is no longer tracked (and a shared store
        has recorded it for every process before this returns).
        """
        ...

    def record_duration(self, seconds: float) -> None:
        """A job was seen to take about ``seconds``."""
        ...

    def durations(self) -> Sequence[float]:
        """The durations recorded so far, oldest first (a bounded window)."""
        ...

    def add_tracked(self, jobs: Sequence[TrackedJob]) -> None:
        """Record jobs that a caller started tracking (in one write, before it returns).

        A job already recorded keeps its first record (its tags, and its age).
        """
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


class Limiter(Protocol):
    """A request budget: :class:`~heygen_client._budget.TokenBucket`'s two methods.

    ``now`` is the caller's monotonic clock; a shared limiter keeps its own
    (shared) time and only adds its answer to ``now``.
    """

    def take(self, now: float) -> bool:
        """Spend one request of the budget if there is one."""
        ...

    def next_token_at(self, now: float) -> float:
        """When the next request is allowed (``now`` or later)."""
        ...


class FinalsFeed(Protocol):
    """The final statuses that processes sharing a store record, as they come."""

    def poll(self) -> dict[str | None, JobStatus] | None:
        """The final statuses recorded since the last call (any process); cheap when none.

        None when some may have been missed (a lost connection): the caller then
        reads the finals of every job it tracks.
        """
        ...

    def close(self) -> None:
        """Stop listening; idempotent."""
        ...


@runtime_checkable
class SharedStore(Store, Protocol):
    """A store that other processes share: leases, a feed of outcomes, one budget.

    Attributes:
        owner: this store's name in leases (unique per store object).
        url: where the store is (for messages; no password).
    """

    owner: str
    url: str

    def finals(self, job_ids: Sequence[str | None]) -> dict[str | None, JobStatus]:
        """The final statuses recorded for any of ``job_ids`` (one read)."""
        ...

    def claim(self, job_ids: Sequence[str | None], ttl: float) -> dict[str | None, float]:
        """Take, or renew, the lease of each job for ``ttl`` seconds.

        Returns:
            For each job whose lease another owner holds: the seconds left on it.
            Every other job is leased to this owner.  While the store is
            unreachable, every lease is granted (each process polls for itself).
        """
        ...

    def release(self, job_ids: Sequence[str | None]) -> None:
        """Give up the leases of ``job_ids`` that this owner holds."""
        ...

    def feed(self) -> FinalsFeed:
        """A new :class:`FinalsFeed`, starting now."""
        ...

    def limiter(self, rate: float, burst: float) -> Limiter:
        """The budget of ``rate`` requests per second (``burst`` at once) shared by all."""
        ...
