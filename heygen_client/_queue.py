"""When each tracked job is polled: a heap of due times, and the ready queue.

A job is scheduled for a time (:meth:`Queue.schedule`); each round moves the
jobs whose time has come to the ready queue (:meth:`Queue.release`), where the
dispatcher finds them.  Heap entries carry the job's generation: rescheduling
or dropping a job bumps it, so an old entry is skipped when it comes up (lazy
deletion: no timer per job, and no search of the heap).
"""

from __future__ import annotations

import heapq
import itertools
from typing import NamedTuple

from heygen_client._jobs import Job

__all__ = ["Queue"]


class _Due(NamedTuple):
    """A heap entry: poll ``job`` at ``when``, unless its ``gen`` moved on."""

    when: float
    seq: int
    gen: int
    job: Job


class Queue:
    """The jobs scheduled for later (a heap) and the jobs due now (the ready queue).

    Not locked: the scheduler calls it under its own lock.
    """

    __slots__ = ("_heap", "_ready", "_seq")

    def __init__(self) -> None:
        self._heap: list[_Due] = []
        self._ready: dict[Job, None] = {}  # insertion-ordered; Job hashes by identity
        self._seq = itertools.count()

    def ready_count(self) -> int:
        """Jobs in the ready queue."""
        return len(self._ready)

    def window(self, size: int) -> list[Job]:
        """The first ``size`` jobs of the ready queue, oldest first."""
        # A slice, not a copy of it all: with 100,000 jobs ready and six workers,
        # copying the queue every round would cost more than the round.
        return list(itertools.islice(self._ready, size))

    def schedule(self, job: Job, when: float) -> None:
        """Make ``job`` due at ``when`` (its earlier entries no longer count)."""
        job.gen += 1
        heapq.heappush(self._heap, _Due(when, next(self._seq), job.gen, job))

    def make_ready(self, job: Job, now: float) -> None:
        """Put ``job`` in the ready queue (last) unless it is there."""
        if job not in self._ready:
            job.ready_since = now
            self._ready[job] = None

    def unready(self, job: Job) -> None:
        """Take ``job`` out of the ready queue, if it is there."""
        self._ready.pop(job, None)

    def first_due(self) -> float | None:
        """When the first job scheduled is due, or None (stale entries are dropped)."""
        heap = self._heap
        while heap and (heap[0].job.dropped or heap[0].gen != heap[0].job.gen):
            heapq.heappop(heap)
        return heap[0].when if heap else None

    def any_due(self, now: float) -> bool:
        """Whether an entry (perhaps a stale one) is due at ``now``."""
        return bool(self._heap) and self._heap[0].when <= now

    def release(self, horizon: float, now: float) -> None:
        """Move the jobs due by ``horizon`` to the ready queue (not those in flight)."""
        heap = self._heap
        while heap and heap[0].when <= horizon:
            due = heapq.heappop(heap)
            job = due.job
            if due.gen == job.gen and not job.dropped and not job.in_flight:
                self.make_ready(job, now)
