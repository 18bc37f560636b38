"""One scheduler's part in a fleet: its leases, and the outcomes other processes learn.

With a :class:`~heygen_client._stores.SharedStore`, every process that tracks a
job keeps it in its scheduler, but only the holder of the job's lease polls it.
The scheduler asks :class:`Fleet`, under its own lock, at three points of a round:

* :meth:`Fleet.sync`: the final statuses other processes recorded for its jobs
  (the store's feed, looked at every ``sync_every`` seconds), so their futures
  resolve without a request;
* :meth:`Fleet.renew`: every third of the TTL, renew every lease held in one call;
* :meth:`Fleet.claim`: before a ready job is polled, take its lease; a job
  leased to another process is looked at again when that lease runs out, so a
  dead process's jobs are adopted within one TTL.

Leases already held cost nothing here; only new ones and the renewal talk to the
store.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from heygen_client._stores import SharedStore
from heygen_client.models import JobStatus

__all__ = ["Fleet"]

#: Seconds after a lease's expiry before its job is claimed again (clock skew, latency).
ADOPT_MARGIN = 0.05
#: At most one claim of new leases per this many seconds: jobs tracked one by one
#: (10,000 ``track()`` calls) are claimed in a few writes, not one each.
CLAIM_EVERY = 0.02


class Fleet:
    """The leases a scheduler holds and the feed it reads (see the module docstring).

    Args:
        store: the shared store.
        lease_ttl: seconds a lease lasts unless renewed.
        sync_every: seconds between looks at the feed of outcomes.
        now: the scheduler's clock now.
    """

    def __init__(
        self, store: SharedStore, *, lease_ttl: float, sync_every: float, now: float
    ) -> None:
        self.store = store
        self.lease_ttl = lease_ttl
        self.sync_every = sync_every
        self._feed = store.feed()
        self._held: set[str | None] = set()
        self._renew_at = now + lease_ttl / 3
        self._sync_at = now
        self._claim_at = now

    @property
    def held(self) -> frozenset[str | None]:
        """The jobs whose leases this scheduler holds (tests, stats)."""
        return frozenset(self._held)

    def next_at(self) -> float:
        """When :meth:`sync` (or :meth:`renew`) has work next."""
        return min(self._sync_at, self._renew_at) if self._held else self._sync_at

    def sync(self, now: float, tracked: Collection[str | None]) -> dict[str | None, JobStatus]:
        """Final statuses of ``tracked`` jobs that the store recorded since the last look."""
        if now < self._sync_at:
            return {}
        self._sync_at = now + self.sync_every
        # Looked at even with no job tracked: it is also how a store that was
        # unreachable learns that it is back, and re-syncs.
        found = self._feed.poll()
        if found is None and tracked:  # the feed may have missed some: read them all
            found = self.store.finals(list(tracked))
        return {key: status for key, status in (found or {}).items() if key in tracked}

    def renew(self, now: float) -> None:
        """Renew every lease held, every third of the TTL; forget the ones lost."""
        if now < self._renew_at:
            return
        self._renew_at = now + self.lease_ttl / 3
        if self._held:
            lost = self.store.claim(list(self._held), self.lease_ttl)
            self._held.difference_update(lost)

    def claim(self, keys: Iterable[str | None], now: float) -> dict[str | None, float]:
        """Take the leases of jobs about to be polled.

        Returns:
            For each job not to be polled now, the seconds until it is worth
            asking again: for a job leased to another process, when that lease
            runs out unless renewed; for one that came just after a claim, the
            next claim (``CLAIM_EVERY``).
        """
        new = [key for key in keys if key not in self._held]
        if not new:
            return {}
        if now < self._claim_at:
            return dict.fromkeys(new, self._claim_at - now)
        self._claim_at = now + CLAIM_EVERY
        taken = self.store.claim(new, self.lease_ttl)
        self._held.update(key for key in new if key not in taken)
        return {key: left + ADOPT_MARGIN for key, left in taken.items()}

    def drop(self, key: str | None) -> None:
        """The job is no longer tracked here: its lease goes with it (if still held)."""
        if key in self._held:
            self._held.discard(key)
            self.store.release([key])  # no request when the store already let it go

    def close(self) -> None:
        """Release every lease held (others adopt the jobs at once) and stop the feed."""
        held, self._held = list(self._held), set()
        if held:
            self.store.release(held)
        self._feed.close()
