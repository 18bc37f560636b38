"""What the scheduler keeps per job, and the requests it makes about them."""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from heygen_client.models import JobStatus

if TYPE_CHECKING:
    from heygen_client._futures import JobFuture

__all__ = ["Job", "Kind", "Request", "add_future", "remove_future"]


@dataclass(slots=True, eq=False)
class Job:
    """Per-job state: small on purpose (no locks, timers or threads per job)."""

    key: str | None
    started: float
    # Read as ``futures``.  Usually one future, kept bare (a list of one would add
    # 64 bytes a job); a few in a tuple; from _MANY on a dict, so that cancelling
    # one of many stays O(1).
    _futures: JobFuture | tuple[JobFuture, ...] | dict[JobFuture, None]
    expected_duration: float | None = None
    video_duration: float | None = None  # seconds of video, once an answer said
    polls: int = 0
    status: JobStatus | None = None
    gen: int = 0
    in_flight: bool = False
    dropped: bool = False
    first_scheduled: bool = False
    last_pending_at: float | None = None
    last_delay: float | None = None
    failures: int = 0
    failing_since: float = 0.0
    long_poll_early: int = 0
    lingering: bool = False
    ready_since: float = 0.0
    hint_misses: int = 0  # pending answers in a row after a hint said "done by now"
    alone: bool = False  # polled on its own: a batch that carried it was refused

    @property
    def futures(self) -> Collection[JobFuture]:
        """The futures waiting on the job (see :func:`add_future`, :func:`remove_future`)."""
        futures = self._futures
        return futures if isinstance(futures, tuple | dict) else (futures,)


#: Futures of one job from which they are kept in a dict instead of a tuple.
_MANY = 16


def add_future(job: Job, future: JobFuture) -> None:
    """Add ``future`` to the futures waiting on ``job``."""
    futures = job._futures
    if isinstance(futures, dict):
        futures[future] = None
    elif not isinstance(futures, tuple):
        job._futures = (futures, future)
    elif len(futures) < _MANY:
        job._futures = (*futures, future)
    else:
        job._futures = dict.fromkeys([*futures, future])


def take_futures(job: Job) -> Collection[JobFuture]:
    """The futures waiting on ``job``, which then has none."""
    futures, job._futures = job.futures, ()
    return futures


def remove_future(job: Job, future: JobFuture) -> None:
    """Remove ``future`` from the futures waiting on ``job`` (it must be there)."""
    futures = job._futures
    if isinstance(futures, dict):
        del futures[future]
    elif isinstance(futures, tuple):
        at = futures.index(future)
        job._futures = futures[:at] + futures[at + 1 :]
    elif futures is future:
        job._futures = ()
    else:
        raise ValueError(f"{future!r} does not wait on job {job.key!r}")


class Kind(enum.StrEnum):
    """What a request asks; the value is what :class:`PollEvent` ``.kind`` shows."""

    CAPABILITIES = "capabilities"
    POLL = "poll"
    LONG_POLL = "long-poll"
    BATCH = "batch"
    BATCH_LONG_POLL = "batch long-poll"
    PUSH = "push"  # a status pushed to the client (a webhook), not a request


@dataclass(slots=True, eq=False)
class Request:
    """One HTTP request the scheduler wants made."""

    kind: Kind
    jobs: list[Job] = field(default_factory=list)
    wait: float | None = None
    sent_at: float = 0.0
    reserved: bool = False
