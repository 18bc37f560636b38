"""What the scheduler hands out once its lock is released: futures to settle, hook events.

Under its lock the scheduler only collects, into an :class:`Outbox`; the outbox
delivers after the lock is released, so no user code (a done-callback, a hook)
runs under it, and one that raises is logged and harms no other.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from heygen_client.models import JobStatus, PollEvent, PollHook, StateChange, StateChangeHook

if TYPE_CHECKING:
    from heygen_client._futures import JobFuture

__all__ = ["Outbox", "own_copy"]

logger = logging.getLogger("heygen_client._scheduler")


def own_copy(error: BaseException) -> BaseException:
    """A copy of ``error`` (same type, args and attributes), chained to it."""
    try:
        clone = type(error).__new__(type(error), *error.args)
        clone.__dict__.update(error.__dict__)
        clone.args = error.args
    except Exception:  # an exotic exception type: share it rather than fail
        return error
    clone.__cause__ = error
    return clone


class Outbox:
    """The futures to settle and the events for the hooks, collected under the lock."""

    __slots__ = ("events", "settle")

    def __init__(self) -> None:
        self.settle: list[tuple[JobFuture, JobStatus | None, BaseException | None, int]] = []
        self.events: list[PollEvent | StateChange] = []

    def resolve(self, future: JobFuture, status: JobStatus, polls: int) -> None:
        self.settle.append((future, status, None, polls))

    def fail(self, future: JobFuture, error: BaseException, polls: int) -> None:
        self.settle.append((future, None, error, polls))

    def deliver(
        self, on_poll: Sequence[PollHook], on_state_change: Sequence[StateChangeHook]
    ) -> None:
        """Settle the futures, then call the hooks with the events (in order)."""
        self._settle()
        for event in self.events:
            hooks: Sequence[Callable[[Any], object]] = (
                on_poll if isinstance(event, PollEvent) else on_state_change
            )
            for hook in hooks:
                try:
                    hook(event)
                except Exception:
                    logger.exception("hook %r raised", hook)

    def _settle(self) -> None:
        shared = collections.Counter(id(e) for _, _, e, _ in self.settle if e is not None)
        for future, status, error, polls in self.settle:
            try:
                if error is not None:
                    # One failed batch (or close) fails many futures: each gets its
                    # own exception, so a traceback added by one caller is not seen
                    # by another.
                    future.fail(own_copy(error) if shared[id(error)] > 1 else error, polls)
                elif status is not None:
                    future.resolve(status, polls)
            except Exception:
                logger.exception("resolving the future of job %s failed", future.job_id)
