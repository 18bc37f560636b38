"""What SQLite and Redis stores have in common: a memory copy, and carrying on without the server.

:class:`BackedStore` keeps what this process knows in a
:class:`~heygen_client._stores.memory.MemoryStore` (pending statuses, finals
seen, durations) and writes through to a backend what other processes, or a
later one, must see: tracked jobs, final statuses, durations, leases.  A
subclass writes the backend's primitives (the ``_b_*`` methods), which may raise
the backend's errors (:attr:`BackedStore.backend_errors`).

When the backend fails, the store carries on in memory: every lease is granted
(so this process polls its own jobs), what should have been written is kept, and
one WARNING says so.  It tries again after ``retry_after`` seconds; when the
backend answers, it writes what it kept and re-adds the jobs this process
tracks (a restarted Redis has lost them), and says so at WARNING too.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TypeVar

from heygen_client._stores import TrackedJob
from heygen_client._stores.memory import MemoryStore
from heygen_client.models import JobStatus

__all__ = ["BackedStore", "Held", "job_key", "key_job", "owner_is_dead"]

#: A lease another owner holds: seconds left on it, and who.
Held = tuple[float, str]

logger = logging.getLogger("heygen_client.store")

_T = TypeVar("_T")

#: Seconds between attempts to reach a backend that failed.
RETRY_AFTER = 1.0
#: Seconds the backend's durations are reused before they are read again.
DURATIONS_REFRESH = 1.0


def job_key(job_id: str | None) -> str:
    """A job id as a backend key: the seed's single job (None) is ``""``."""
    return job_id or ""


def key_job(key: str) -> str | None:
    """The job id of a backend key (see :func:`job_key`)."""
    return key or None


_HOST = socket.gethostname()


def new_owner() -> str:
    """A lease owner's name: ``host/pid/random``, so that a process on the same
    host can tell that the owner is gone (:func:`owner_is_dead`)."""
    return f"{_HOST}/{os.getpid()}/{uuid.uuid4().hex[:12]}"


def owner_is_dead(owner: str) -> bool:
    """True when ``owner`` was a process of this host that no longer runs.

    A process restarted after a crash finds its predecessor's leases; waiting
    for them to run out would delay every one of its jobs by up to a TTL.  Only
    a process of this host can be checked (and a reused pid reads as alive:
    the lease is then waited out, as for any other host's).
    """
    host, _, rest = owner.partition("/")
    pid_text = rest.partition("/")[0]
    if host != _HOST or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except OSError:  # EPERM: it runs, as another user
        return False
    return False


class BackedStore:
    """A memory copy in front of a backend other processes share (see the module docstring).

    Args:
        url: where the backend is, for messages.
        cache_ttl: seconds a pending status stays fresh.
        history_size: how many recent durations are kept.
        clock: the monotonic clock of the cache's TTL.
    """

    #: The backend's errors that mean "unreachable" (carry on in memory).
    backend_errors: tuple[type[BaseException], ...] = ()

    def __init__(
        self,
        url: str,
        *,
        cache_ttl: float = 1.0,
        history_size: int = 500,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.owner = new_owner()
        self.history_size = history_size
        self._memory = MemoryStore(cache_ttl=cache_ttl, history_size=history_size, clock=clock)
        self._lock = threading.RLock()
        # Jobs this store object tracks: re-added to a backend that lost them.
        self._mine: dict[str | None, TrackedJob] = {}
        # Leases this owner holds, released at close().
        self._leased: set[str | None] = set()
        # Written while the backend was unreachable, to write when it is back.
        self._unsent_finals: dict[str | None, JobStatus] = {}
        self._unsent_removals: set[str | None] = set()
        self._unsent_durations: list[float] = []
        self._down_since: float | None = None
        self._retry_at = 0.0
        self._durations: list[float] | None = None
        self._durations_read = -1e9
        self._closed = False

    # -- the backend's primitives (subclasses) ---------------------------------

    def _b_add_tracked(self, jobs: Sequence[TrackedJob]) -> None:
        raise NotImplementedError

    def _b_remove_tracked(self, job_ids: Sequence[str | None], owner: str) -> None:
        """Untrack the jobs and release this owner's leases on them."""
        raise NotImplementedError

    def _b_tracked(self) -> list[TrackedJob]:
        """Tracked jobs without a final status."""
        raise NotImplementedError

    def _b_put_finals(self, statuses: Sequence[JobStatus], owner: str) -> None:
        """Record final statuses, untrack their jobs, release this owner's leases: atomically."""
        raise NotImplementedError

    def _b_finals(self, job_ids: Sequence[str | None]) -> dict[str | None, JobStatus]:
        raise NotImplementedError

    def _b_record_durations(self, seconds: Sequence[float]) -> None:
        raise NotImplementedError

    def _b_durations(self) -> list[float]:
        raise NotImplementedError

    def _b_claim(
        self, job_ids: Sequence[str | None], owner: str, ttl: float
    ) -> dict[str | None, Held]:
        """Take or renew the leases; the ones another owner holds, with who."""
        raise NotImplementedError

    def _b_steal(
        self, job_ids: Sequence[str | None], holder: str, owner: str, ttl: float
    ) -> list[str | None]:
        """Take the leases ``holder`` still holds (compare-and-set); the ones taken."""
        raise NotImplementedError

    def _b_release(self, job_ids: Sequence[str | None], owner: str) -> None:
        raise NotImplementedError

    def _b_close(self) -> None:
        raise NotImplementedError

    # -- failure and recovery --------------------------------------------------

    @property
    def reachable(self) -> bool:
        """False while the backend is taken to be unreachable."""
        return self._down_since is None

    def _guard(self, what: str, op: Callable[[], _T], fallback: _T) -> tuple[bool, _T]:
        """Run a backend operation: ``(True, its value)``, or ``(False, fallback)`` if down."""
        with self._lock:
            now = time.monotonic()
            if self._closed or (self._down_since is not None and now < self._retry_at):
                return False, fallback
            try:
                value = op()
            except self.backend_errors as exc:
                self._went_down(what, exc, now)
                return False, fallback
            if self._down_since is not None:
                self._came_back(now)
            return True, value

    def _went_down(self, what: str, exc: BaseException, now: float) -> None:
        self._retry_at = now + RETRY_AFTER
        if self._down_since is None:
            self._down_since = now
            logger.warning(
                "store %s unreachable (%s: %s: %s): tracking goes on in memory, "
                "every job is polled by this process; trying again every %g s",
                self.url,
                what,
                type(exc).__name__,
                exc,
                RETRY_AFTER,
            )

    def _came_back(self, now: float) -> None:
        """Write what was kept while the backend was down; re-add this process's jobs."""
        finals = list(self._unsent_finals.values())
        removals = [k for k in self._unsent_removals if k not in self._unsent_finals]
        durations = list(self._unsent_durations)
        try:
            if finals:
                self._b_put_finals(finals, self.owner)
            if removals:
                self._b_remove_tracked(removals, self.owner)
            if self._mine:
                self._b_add_tracked(list(self._mine.values()))
            if durations:
                self._b_record_durations(durations)
        except self.backend_errors as exc:
            self._retry_at = now + RETRY_AFTER
            logger.warning("store %s: re-sync failed (%s); trying again", self.url, exc)
            return
        down_for = now - (self._down_since or now)
        self._down_since = None
        self._unsent_finals.clear()
        self._unsent_removals.clear()
        self._unsent_durations.clear()
        self._durations_read = -1e9
        logger.warning(
            "store %s is back after %.1f s: re-synced %d tracked jobs, %d outcomes, %d durations",
            self.url,
            down_for,
            len(self._mine),
            len(finals),
            len(durations),
        )

    # -- Store -----------------------------------------------------------------

    def get_status(self, job_id: str | None) -> JobStatus | None:
        status = self._memory.get_status(job_id)
        if status is not None:
            return status
        return self.finals([job_id]).get(job_id)

    def put_status(self, job_id: str | None, status: JobStatus) -> None:
        self._memory.put_status(job_id, status)
        if not status.is_final:
            return
        with self._lock:
            self._mine.pop(job_id, None)
            self._leased.discard(job_id)
            ok, _ = self._guard(
                "recording an outcome", lambda: self._b_put_finals([status], self.owner), None
            )
            if not ok:
                self._unsent_finals[job_id] = status

    def record_duration(self, seconds: float) -> None:
        self._memory.record_duration(seconds)
        with self._lock:
            if self._durations is not None:
                self._durations.append(seconds)
                del self._durations[: -self.history_size]
            ok, _ = self._guard(
                "recording a duration", lambda: self._b_record_durations([seconds]), None
            )
            if not ok:
                self._unsent_durations.append(seconds)
                del self._unsent_durations[: -self.history_size]

    def durations(self) -> Sequence[float]:
        with self._lock:
            now = time.monotonic()
            if self._durations is None or now - self._durations_read >= DURATIONS_REFRESH:
                none: list[float] = []
                ok, read = self._guard("reading durations", self._b_durations, none)
                if ok:
                    self._durations = read
                    self._durations_read = now
            if self._durations is not None and self.reachable:
                return list(self._durations)
        return self._memory.durations()

    def add_tracked(self, jobs: Sequence[TrackedJob]) -> None:
        if not jobs:
            return
        with self._lock:
            for job in jobs:
                self._mine.setdefault(job.job_id, job)
                self._unsent_removals.discard(job.job_id)
            # Not kept aside when down: _came_back re-adds every job in _mine.
            self._guard("recording tracked jobs", lambda: self._b_add_tracked(jobs), None)

    def remove_tracked(self, job_id: str | None) -> None:
        with self._lock:
            if self._mine.pop(job_id, None) is None:
                return  # ended (put_status), or tracked by another store object
            self._leased.discard(job_id)
            ok, _ = self._guard(
                "untracking a job",
                lambda: self._b_remove_tracked([job_id], self.owner),
                None,
            )
            if not ok:
                self._unsent_removals.add(job_id)

    def tracked(self) -> list[TrackedJob]:
        nothing: list[TrackedJob] = []
        ok, jobs = self._guard("reading tracked jobs", self._b_tracked, nothing)
        if ok:
            return jobs
        with self._lock:
            return list(self._mine.values())

    # -- SharedStore -----------------------------------------------------------

    def finals(self, job_ids: Sequence[str | None]) -> dict[str | None, JobStatus]:
        if not job_ids:
            return {}
        none: dict[str | None, JobStatus] = {}
        found = self._guard("reading outcomes", lambda: self._b_finals(job_ids), none)[1]
        if found:
            self.ended(found)
        return found

    def ended(self, finals: dict[str | None, JobStatus]) -> None:
        """Final statuses read from the backend: kept here; those jobs need no untracking."""
        with self._lock:
            for job_id, status in finals.items():
                self._memory.put_status(job_id, status)
                self._mine.pop(job_id, None)
                self._leased.discard(job_id)

    def claim(self, job_ids: Sequence[str | None], ttl: float) -> dict[str | None, float]:
        if not job_ids:
            return {}
        with self._lock:
            granted: dict[str | None, Held] = {}
            held = self._guard(
                "claiming leases", lambda: self._b_claim(job_ids, self.owner, ttl), granted
            )[1]
            # Leases of a process of this host that is gone (a crash, a restart):
            # taken over now rather than waited out.
            by_dead: dict[str, list[str | None]] = {}
            for key, (_, holder) in held.items():
                if owner_is_dead(holder):
                    by_dead.setdefault(holder, []).append(key)
            for holder, keys in by_dead.items():
                steal = functools.partial(self._b_steal, keys, holder, self.owner, ttl)
                none: list[str | None] = []
                for key in self._guard("taking over leases", steal, none)[1]:
                    del held[key]
            taken = {key: left for key, (left, _) in held.items()}
            self._leased.update(k for k in job_ids if k not in taken)
            return taken

    def release(self, job_ids: Sequence[str | None]) -> None:
        with self._lock:
            mine = [k for k in job_ids if k in self._leased]
            self._leased.difference_update(mine)
            if mine:
                self._guard("releasing leases", lambda: self._b_release(mine, self.owner), None)

    def close(self) -> None:
        """Release this owner's leases and the connection; idempotent."""
        with self._lock:
            if self._closed:
                return
            leased = list(self._leased)
            self._leased.clear()
            if leased:
                self._guard("releasing leases", lambda: self._b_release(leased, self.owner), None)
            self._closed = True  # after the release: a closed store makes no call
            if self._unsent_finals or self._unsent_removals:
                logger.warning(
                    "store %s closed while unreachable: %d outcomes were not recorded there",
                    self.url,
                    len(self._unsent_finals),
                )
            self._b_close()
