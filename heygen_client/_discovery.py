"""What the server offers, as the scheduler learns it, and the dispatcher that fits.

The capabilities come from the backend up front, or from one ``GET
/capabilities`` that the scheduler makes before the first poll (and again
``rediscover_after`` seconds after a failure).  Answers then correct them:

* a batch route that answers 404/405 is not offered after all, until the next
  discovery;
* a batch refused as too large (413/414) caps the batch size from then on;
* batch long-polls that come back early with every job pending, twice in a
  row, mean the server ignores ``wait``: batches are plain from then on.

After each change the scheduler chooses the dispatcher again
(:func:`heygen_client._dispatch.choose`) and the bound of its worker pool.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from typing import TYPE_CHECKING

from heygen_client._dispatch import Dispatcher, choose
from heygen_client._jobs import Kind, Request
from heygen_client.models import PLAIN, Capabilities

if TYPE_CHECKING:
    from heygen_client._backends import BatchAnswer
    from heygen_client._budget import Budget
    from heygen_client._config import SchedulerConfig

__all__ = ["Discovery"]

logger = logging.getLogger("heygen_client._scheduler")


class Discovery:
    """The server's capabilities as known so far, and the dispatcher chosen for them.

    Not locked: the scheduler calls it under its own lock.

    Attributes:
        caps: the capabilities, or None until the first answer.
        requested: the first ``GET /capabilities`` has been started.
        retry_at: when to ask again after a failed discovery, or None.
        batch_cap: ids per batch at most, halved by each batch refused as too large.
        batch_long_off: the server answers batch long-polls at once: batches are plain.
        dispatcher: how ready jobs become requests, for these capabilities.
    """

    def __init__(self, known: Capabilities | None, config: SchedulerConfig) -> None:
        self.config = config
        self.caps = known
        self.requested = False
        self.retry_at: float | None = None
        self.batch_cap = sys.maxsize
        self.batch_long_off = False
        self._early = 0  # batch long-polls in a row answered early, all pending
        self.dispatcher: Dispatcher = self._choose()

    def ask(self, now: float, budget: Budget, requests: list[Request]) -> float | None:
        """Start a ``GET /capabilities`` if one is due (the first, or the one again
        after a failure) and the budget allows it; otherwise, when to try again."""
        if not self._due(now):
            return None
        blocked_at = budget.spend(now)
        if blocked_at is None:
            request = Request(Kind.CAPABILITIES, sent_at=now)
            budget.started(request)
            requests.append(request)
        if self.caps is None:
            self.requested = blocked_at is None
        else:
            self.retry_at = blocked_at
        return blocked_at

    def _due(self, now: float) -> bool:
        if self.caps is None:
            return not self.requested
        return self.retry_at is not None and now >= self.retry_at

    def choose(self) -> None:
        """Choose the dispatcher again, after what the server offers changed."""
        self.dispatcher = self._choose()

    def _choose(self) -> Dispatcher:
        return choose(self.caps or PLAIN, self.config, self.batch_long_wait())

    def batch_long_wait(self) -> float | None:
        """The ``wait`` of batch long-polls, or None when batches are plain.

        Plain when the server has no long-poll or answers batch long-polls at once,
        and with a single worker (a held batch would leave no worker for the jobs
        that wait for a slot).
        """
        caps = self.caps or PLAIN
        if caps.batch_max_ids is None or self.batch_long_off or self.config.max_workers < 2:
            return None
        return min(self.config.long_poll_wait, caps.long_poll_max_wait or 0.0) or None

    def thread_limit(self) -> int:
        """Worker threads needed: one per request that may be in flight at once."""
        caps = self.caps or PLAIN
        if caps.long_poll_max_wait and caps.batch_max_ids is None:
            return self.config.max_workers + self.config.max_long_polls
        return self.config.max_workers

    def batch_size(self, max_ids: int) -> int:
        """Ids in one batch request: the server's maximum, or less if it refused that."""
        return min(max_ids, self.batch_cap)

    def answered(self, outcome: object, now: float, paused_until: float) -> None:
        """Take the outcome of a ``GET /capabilities``; the caller chooses again."""
        if isinstance(outcome, Capabilities):
            self.caps = outcome
            self.retry_at = None
            return
        # Transient (no answer, 5xx, 429): poll as for a plain server meanwhile.
        logger.info("capabilities unknown (%s): plain for now, will ask again", outcome)
        self.caps = self.caps or PLAIN
        self.retry_at = max(now + self.config.rediscover_after, paused_until)

    def no_batch_route(self, code: int, now: float) -> None:
        """The batch route answered 404/405: no batches until the next discovery
        (the caller chooses again)."""
        logger.info("the batch route answered %d: polling jobs one by one", code)
        self.caps = dataclasses.replace(self.caps or PLAIN, batch_max_ids=None)
        self.retry_at = now + self.config.rediscover_after

    def batch_too_large(self, size: int, code: int) -> None:
        """A batch of ``size`` ids was refused for its size (413/414): halve batches."""
        self.batch_cap = min(self.batch_cap, size // 2)
        logger.warning("a batch of %d ids was too large (%d): %d at most", size, code, size // 2)

    def batch_came_back(self, request: Request, answer: BatchAnswer, now: float) -> bool:
        """Detect a server that ignores a batch long-poll's ``wait`` (as for single ones).

        A held batch comes back early only when one of its jobs left pending; back
        early with every job pending, twice in a row, means the server ignores
        ``wait``: batches are plain from then on.

        Returns:
            True when batch long-polls were just turned off (the caller chooses again).
        """
        wait = request.wait or 0.0
        all_pending = not any(status.is_final for status in answer.statuses)
        if now - request.sent_at >= 0.5 * wait or not all_pending:
            self._early = 0
            return False
        self._early += 1
        if self._early < 2 or self.batch_long_off:
            return False
        logger.info("the server answers batch long-polls at once: plain batches")
        self.batch_long_off = True
        return True
