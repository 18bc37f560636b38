"""Tracking: job ids, or the store's records of them, become scheduled futures.

Every id and option is checked before any job is tracked.  A job whose
outcome the store already has resolves at once, without a request; the
others are recorded in the store (one write) and handed to the scheduler,
the jobs of one call together, resumed ones grouped by age.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from heygen_client._futures import JobFuture
from heygen_client._stores import SharedStore, Store, TrackedJob
from heygen_client._stores.memory import MemoryStore
from heygen_client._validate import check_job_id, check_seconds

if TYPE_CHECKING:
    from heygen_client._scheduler import Scheduler
    from heygen_client.models import JobStatus

__all__ = ["Tracking"]


AGE_MAX = 7 * 86400.0  # a record's clock may be off (another machine): bounded


TAGS_MAX = 4096  # bytes of JSON: tags label a job, they are not its payload


# Shared by every job tracked without tags or options: nothing per job.
NO_TAGS: Mapping[str, Any] = MappingProxyType({})


def check_tags(tags: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """``tags`` as a read-only copy, checked to be a small JSON object."""
    if not tags:
        return NO_TAGS
    if not isinstance(tags, Mapping) or not all(isinstance(k, str) for k in tags):
        raise ValueError("tags must be a dict with string keys")
    try:
        size = len(json.dumps(dict(tags)))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"tags must be JSON-serializable: {exc}") from exc
    if size > TAGS_MAX:
        raise ValueError(f"tags take {size} bytes as JSON; at most {TAGS_MAX}")
    return MappingProxyType(dict(tags))


class Tracking:
    """A client's way from records of jobs to futures its scheduler resolves."""

    def __init__(self, store: Store, scheduler: Scheduler, api: str) -> None:
        self._store = store
        self._scheduler = scheduler
        self._api = api
        # Checked once: isinstance() against a runtime Protocol is slow, and track() is hot.
        self._shared = store if isinstance(store, SharedStore) else None
        # The in-memory store outlives nothing, so there is nothing to resume from
        # it: recording each tracked job there would only cost memory (~110 B a job).
        self._records = not isinstance(store, MemoryStore)

    def records(
        self,
        job_ids: Sequence[str | None],
        expected: float | None,
        deadline: float | None,
        tags: Mapping[str, Any] | None,
    ) -> list[TrackedJob]:
        """The records of jobs tracked now; every id and option is checked first."""
        for job_id in job_ids:
            check_job_id(job_id)
        check_seconds("expected_duration", expected)
        check_seconds("deadline", deadline)
        checked = check_tags(tags)
        options = NO_TAGS if expected is None else {"expected_duration": expected}
        now = time.time()
        return [TrackedJob(job_id, self._api, checked, options, now) for job_id in job_ids]

    def resumable(self) -> list[TrackedJob]:
        """The store's records of jobs tracked for this API and not ended."""
        return [job for job in self._store.tracked() if job.api == self._api]

    def start(self, records: Sequence[TrackedJob], deadline: float | None) -> list[JobFuture]:
        """A job whose final status is stored is resolved at once; the others are
        recorded in the store (one write), then scheduled."""
        store = self._store
        futures = [JobFuture(r.job_id, self._scheduler, r.tags) for r in records]
        finals: dict[str | None, JobStatus] = {}
        if self._shared is not None and len(records) > 1:
            finals = self._shared.finals([r.job_id for r in records])  # one read, not one each
        polled: list[tuple[JobFuture, TrackedJob]] = []
        for future, record in zip(futures, records, strict=True):
            known = finals.get(future.job_id) or store.get_status(future.job_id)
            if known is not None and known.is_final:
                future.resolve(known, 0)
            else:
                if known is not None:
                    future.observe(known, 0)  # e.g. what create_job() was told
                polled.append((future, record))
        if self._records:
            store.add_tracked([record for _, record in polled])
        # Jobs tracked together share one call; resumed ones are grouped by age.
        now = time.time()
        groups: dict[tuple[float | None, float], list[JobFuture]] = {}
        for future, record in polled:
            age = round(min(max(0.0, now - record.tracked_at), AGE_MAX), 1)
            expected = record.options.get("expected_duration")
            groups.setdefault((expected, age), []).append(future)
        for (expected, age), group in groups.items():
            self._scheduler.track(group, expected_duration=expected, deadline=deadline, age=age)
        return futures
