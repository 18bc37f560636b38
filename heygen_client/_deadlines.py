"""Per-future deadlines: a heap of when each future given a ``deadline`` gives up.

The scheduler pops the due entries each round and fails their futures with
``DeadlineExceeded``.  An entry whose future stopped waiting some other way (its
job finished, it was cancelled) is not searched for: it is skipped when it
comes first, and all such entries are swept out when they are most of the heap.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from heygen_client._futures import JobFuture

__all__ = ["Deadline", "Deadlines"]

#: Below this many entries a heap is never swept: skipping costs less.
_SWEEP_FROM = 64


class Deadline(NamedTuple):
    """A heap entry: fail ``future`` at ``when`` (``seconds`` after it was tracked)."""

    when: float
    seq: int
    future: JobFuture
    seconds: float


class Deadlines:
    """The deadlines of the futures a scheduler tracks, soonest first.

    Not locked: the scheduler calls it under its own lock.

    Args:
        job_of: the job a future waits on, or None once it waits no more.
    """

    __slots__ = ("_heap", "_job_of", "_seq", "_stopped")

    def __init__(self, job_of: Callable[[JobFuture], object | None]) -> None:
        self._job_of = job_of
        self._heap: list[Deadline] = []
        self._seq = itertools.count()
        self._stopped = 0  # jobs dropped since the last sweep

    def __len__(self) -> int:
        return len(self._heap)

    def add(self, future: JobFuture, now: float, seconds: float) -> None:
        """Fail ``future`` ``seconds`` from ``now`` unless it is done by then."""
        heapq.heappush(self._heap, Deadline(now + seconds, next(self._seq), future, seconds))

    def pop_due(self, now: float) -> list[Deadline]:
        """Remove and return the entries due at ``now`` (some futures may wait no more)."""
        due: list[Deadline] = []
        heap = self._heap
        while heap and heap[0].when <= now:
            due.append(heapq.heappop(heap))
        return due

    def next_at(self) -> float | None:
        """When the first future still waiting gives up, or None."""
        heap = self._heap
        while heap and self._job_of(heap[0].future) is None:
            heapq.heappop(heap)
        return heap[0].when if heap else None

    def stopped(self) -> None:
        """Futures stopped waiting (a job was dropped): sweep when stale entries dominate."""
        self._stopped += 1
        if len(self._heap) > _SWEEP_FROM and 2 * self._stopped > len(self._heap):
            self._heap = [e for e in self._heap if self._job_of(e.future) is not None]
            heapq.heapify(self._heap)
            self._stopped = 0

    def clear(self) -> None:
        self._heap.clear()
