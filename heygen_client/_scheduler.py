"""The scheduler: one lock, the tracked jobs, and the rounds that poll them.

``run_due(now)`` does one round with no thread at all (unit tests call it on a
fake clock): it expires deadlines, moves due jobs to the ready queue and turns
ready jobs into requests (single polls, long-polls, batches) as far as the
request budget and the worker bound allow.  Workers make the requests and hand
the outcome to ``complete()``, which updates the job, resolves futures and
schedules the next poll from the poll policy or the retry policy.

The scheduler keeps the lock and the tracked jobs.  The rest of the state is
its collaborators', each in a module of its own, called under the lock:

* ``_queue.Queue``: when each job is due (a heap), and the jobs due now;
* ``_deadlines.Deadlines``: when each future given a deadline gives up;
* ``_discovery.Discovery``: what the server offers, and the dispatcher for it;
* ``_budget.Budget``: the token bucket, the ``Retry-After`` pause, requests in flight;
* ``_learning.Pacer``: the poll policy asked, with the durations learned;
* ``_fleet.Fleet``: leases, and the outcomes other processes learn (a shared store);
* ``_threads.Threads``: the scheduler thread and the HTTP workers.

What an answer does to a job is ``_outcomes``'.  Futures are resolved and hooks
are called only after the lock is released (``_outbox.Outbox``).
"""

from __future__ import annotations

import collections
import random
import threading
import time
from collections.abc import Callable, Sequence

from heygen_client import _outcomes
from heygen_client._backends import Backend
from heygen_client._budget import Budget, TokenBucket
from heygen_client._config import SchedulerConfig
from heygen_client._deadlines import Deadlines
from heygen_client._discovery import Discovery
from heygen_client._fleet import Fleet
from heygen_client._futures import JobFuture
from heygen_client._jobs import Job, Kind, Request, add_future, remove_future, take_futures
from heygen_client._learning import Pacer
from heygen_client._outbox import Outbox
from heygen_client._queue import Queue
from heygen_client._stores import Limiter, SharedStore, Store
from heygen_client._threads import Threads
from heygen_client._validate import check_seconds
from heygen_client.errors import ClientClosed, DeadlineExceeded, HTTPStatusError
from heygen_client.models import Capabilities, JobStatus, PollHook, StateChangeHook
from heygen_client.policies import Durations, PollPolicy, RetryPolicy

Clock = Callable[[], float]


_POLLS_KEPT = 100_000  # finished jobs whose poll counts stats() keeps


class Scheduler:
    """Decides when each tracked job is polled, and polls it on a bounded pool."""

    def __init__(
        self,
        backend: Backend,
        *,
        policy: PollPolicy,
        retry: RetryPolicy,
        store: Store,
        config: SchedulerConfig | None = None,
        clock: Clock = time.monotonic,
        rng: random.Random | None = None,
        on_poll: Sequence[PollHook] = (),
        on_state_change: Sequence[StateChangeHook] = (),
        threaded: bool = True,
    ) -> None:
        self.backend = backend
        self.retry = retry
        self.store = store
        self.config = cfg = config or SchedulerConfig()
        self.clock = clock
        self.rng = rng or random.Random()
        self.on_poll = tuple(on_poll)
        self.on_state_change = tuple(on_state_change)
        self._cond = threading.Condition(threading.Lock())
        self._jobs: dict[str | None, Job] = {}
        self.pacer = Pacer(policy, store, self._jobs, cfg, self.rng)
        self.queue = Queue()
        self._deadlines = Deadlines(self._job_of)
        self._closed = False
        self._kicked = False
        self.discovery = Discovery(backend.known_capabilities, cfg)
        # With a shared store: one budget for every process, leases, the outcomes
        # other processes learn.
        self._fleet: Fleet | None = None
        bucket: Limiter
        if isinstance(store, SharedStore):
            self._fleet = Fleet(
                store, lease_ttl=cfg.lease_ttl, sync_every=cfg.fleet_sync, now=clock()
            )
            bucket = store.limiter(cfg.max_requests_per_second, cfg.burst)
        else:
            bucket = TokenBucket(cfg.max_requests_per_second, cfg.burst, clock())
        self.budget = Budget(bucket, retry.retry_after_max)
        # Polls of jobs no longer tracked (live jobs count on their Job), oldest first.
        self._done_polls: collections.OrderedDict[str, int] = collections.OrderedDict()
        # Without threads (tests), the requests a round starts wait here to be made.
        self._threads = Threads(self, self._cond) if threaded else None
        self.dispatched: list[Request] = []

    # -- public surface (called by the client) -----------------------------------

    @property
    def capabilities(self) -> Capabilities | None:
        """The server's capabilities once known."""
        return self.discovery.caps

    def track(
        self,
        futures: Sequence[JobFuture],
        *,
        expected_duration: float | None = None,
        deadline: float | None = None,
        age: float = 0.0,
    ) -> None:
        """Start polling each future's job (or join the job's existing schedule).

        One lock and one wake-up for them all: tracking 100,000 jobs at once
        costs no more scheduling rounds than tracking one.  ``age``: seconds since
        the jobs were first tracked (resumed ones), as the poll policy paces by age.
        """
        check_seconds("expected_duration", expected_duration)
        check_seconds("deadline", deadline)
        now = self.clock()
        with self._cond:
            if self._closed:
                raise ClientClosed("client is closed")
            for future in futures:
                self._add(future, now, expected_duration, deadline, age)
            self._kick()
            if self._threads is not None:
                self._threads.start()

    def _add(
        self,
        future: JobFuture,
        now: float,
        expected: float | None,
        deadline: float | None,
        age: float,
    ) -> None:
        key = future.job_id
        job = self._jobs.get(key)
        if job is None:
            job = Job(key, now - age, future, expected)
            self._jobs[key] = job
            self.queue.make_ready(job, now)
        else:
            add_future(job, future)
            future.observe(job.status, job.polls)
            if expected is not None and job.expected_duration is None:
                job.expected_duration = expected
        if deadline is not None:
            self._deadlines.add(future, now, deadline)

    def detach(self, future: JobFuture) -> None:
        """Forget a cancelled future; stop polling its job when no future is left."""
        with self._cond:
            job = self._job_of(future)
            if job is None:
                return
            remove_future(job, future)
            if not job.futures:
                self._drop(job)
            self._kick()

    def _job_of(self, future: JobFuture) -> Job | None:
        """The live job ``future`` waits on, or None when it waits no more."""
        job = self._jobs.get(future.job_id)
        return job if job is not None and future in job.futures else None

    def admit(self, what: str, *, max_wait: float = 0.1) -> None:
        """Gate a request made on the caller's thread (``get_status``, ``submit``...).

        It shares the client-wide ``Retry-After`` pause and the request budget with
        the polls: it waits up to ``max_wait`` seconds for a token, and otherwise
        raises :class:`RateLimited` (with ``retry_after``) without a request.
        """
        with self._cond:
            give_up = time.monotonic() + max_wait
            while True:
                if self._closed:
                    raise ClientClosed("client is closed")
                due = self.budget.admit(what, self.clock(), give_up - time.monotonic())
                if due is None:
                    return
                self._cond.wait(due)

    def note_answer(self, error: BaseException) -> None:
        """A caller-thread request failed: a ``Retry-After`` on it pauses every poll."""
        if isinstance(error, HTTPStatusError) and error.retry_after is not None:
            with self._cond:
                self.budget.pause(error.retry_after, self.clock())

    def apply(self, key: str | None, status: JobStatus) -> bool:
        """Take a status pushed to the client (a webhook) as if a poll had answered it.

        A final status resolves the job's futures at once and stops its polling;
        it is cached either way, so a later ``track()`` finds it.  Repeats are
        harmless.  While statuses are pushed, polling stays on as a safety net
        for pushes that are lost, slower (see :meth:`expect_pushes`).

        Returns:
            True when a tracked job took the status.
        """
        out = Outbox()
        now = self.clock()
        with self._cond:
            if self._closed:
                return False
            self.pacer.pushed_at = now
            self.store.put_status(key, status)
            job = self._jobs.get(key)
            if job is None:
                return False
            self.queue.unready(job)
            push = Request(Kind.PUSH, [job], sent_at=now)
            _outcomes.on_status(self, job, push, status, now, out)
            self._kick()
        out.deliver(self.on_poll, self.on_state_change)
        return True

    def expect_pushes(self) -> None:
        """Statuses will be pushed (a webhook receiver started): poll as a safety net.

        From now until ``pushed_recent`` seconds after the last push (or after
        this call, if none comes), every poll's delay, the first included, is
        ``pushed_slowdown`` times the policy's, and at least
        ``pushed_min_delay``; a bulk request takes the jobs due within
        ``pushed_slowdown`` times ``batch_gather``.  A lost push is then learned
        by a poll at most that much later than the policy alone would.
        """
        with self._cond:
            self.pacer.pushed_at = self.clock()

    def stats(self) -> tuple[dict[str, int], int, int]:
        """(polls per job, status requests, tracked jobs)."""
        with self._cond:
            polls = dict(self._done_polls)
            for job in self._jobs.values():
                key = job.key or ""
                polls[key] = polls.get(key, 0) + job.polls
            return polls, self.budget.status_requests, len(self._jobs)

    def durations(self) -> Durations | None:
        """The learned durations snapshot (rebuilt if stale)."""
        with self._cond:
            return self.pacer.snapshot(self.clock(), force=True)

    def close(self, timeout: float = 0.9) -> None:
        """Stop the thread and workers; fail every pending future with ClientClosed."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            futures = [f for job in self._jobs.values() for f in job.futures]
            for job in list(self._jobs.values()):
                self._drop(job)
            self._deadlines.clear()
            if self._fleet is not None:
                self._fleet.close()
            self._cond.notify_all()
        error = ClientClosed("client closed while the job was pending")
        out = Outbox()
        for future in futures:
            out.fail(future, error, future.polls)
        out.deliver(self.on_poll, self.on_state_change)
        if self._threads is not None:
            self._threads.stop(time.monotonic() + timeout)

    def signal_close(self, then: Callable[[], object]) -> None:
        """Have the scheduler thread call ``then()`` and :meth:`close`; never blocks
        (for a finalizer: see :meth:`Threads.signal_close`)."""
        if self._threads is not None:
            self._threads.signal_close(then)

    def threads(self) -> list[threading.Thread]:
        """The live threads of this scheduler (tests)."""
        return self._threads.alive() if self._threads is not None else []

    # -- the round ---------------------------------------------------------------

    def run_due(self, now: float) -> float | None:
        """One scheduling round at ``now``; returns when the next one is due (or None)."""
        out = Outbox()
        requests: list[Request] = []
        try:
            with self._cond:
                if self._closed:
                    return None
                next_at = self._round(now, out, requests)
        finally:
            # Even when the round failed part-way: resolve what expired, send what started.
            out.deliver(self.on_poll, self.on_state_change)
            if self._threads is not None:
                for request in requests:
                    self._threads.send(request)
            else:
                self.dispatched.extend(requests)
        return next_at

    def _round(self, now: float, out: Outbox, requests: list[Request]) -> float | None:
        self._expire_deadlines(now, out)
        blocked_at = self.discovery.ask(now, self.budget, requests)
        caps = self.discovery.caps
        if caps is None:  # no poll before the server says what it offers
            times = [t for t in (blocked_at, self._deadlines.next_at()) if t is not None]
            return min(times) if times else None
        horizon = now
        if caps.batch_max_ids is not None and self.queue.any_due(now):
            # One bulk request asks about many jobs: the ones due soon go with it
            # (an early poll costs no lateness, and no request of its own).
            gather = self.config.batch_gather
            if self.pacer.pushes_flow(now):
                gather *= self.config.pushed_slowdown
            horizon = now + gather
        self.queue.release(horizon, now)
        if self._fleet is not None:
            self._fleet_round(self._fleet, now, out)
        blocked_at = self._dispatch(now, requests)
        return self._next_deadline(blocked_at)

    def _fleet_round(self, fleet: Fleet, now: float, out: Outbox) -> None:
        """Outcomes other processes learned; renewed leases; ready jobs leased elsewhere wait."""
        for key, status in fleet.sync(now, self._jobs).items():
            _outcomes.on_final_elsewhere(self, self._jobs[key], status, now, out)
        fleet.renew(now)
        # The jobs the dispatcher will look at this round (a window, as it does).
        window = self.queue.window(self.discovery.dispatcher.window)
        elsewhere = fleet.claim([job.key for job in window], now) if window else {}
        for job in window:
            if job.key in elsewhere:
                self.queue.unready(job)
                self.queue.schedule(job, now + elsewhere[job.key])

    def _next_deadline(self, blocked_at: float | None) -> float | None:
        """When the next round is due: the earliest of every clock the scheduler keeps."""
        times = [blocked_at, self.discovery.retry_at, self.queue.first_due()]
        times.append(self._deadlines.next_at())
        if self._fleet is not None and self._jobs:
            times.append(self._fleet.next_at())
        known = [t for t in times if t is not None]
        return min(known) if known else None

    def _expire_deadlines(self, now: float, out: Outbox) -> None:
        for entry in self._deadlines.pop_due(now):
            job = self._job_of(entry.future)
            if job is None:
                continue
            remove_future(job, entry.future)
            if not job.futures:
                self._drop(job)
            out.fail(entry.future, DeadlineExceeded(job.key, entry.seconds), job.polls)

    def _dispatch(self, now: float, requests: list[Request]) -> float | None:
        """Turn ready jobs into requests; returns when a blocked dispatch can go on."""
        queue = self.queue
        before = queue.ready_count()
        if not before:
            return None
        if now < self.budget.paused_until:
            return self.budget.paused_until
        dispatcher = self.discovery.dispatcher
        window = queue.window(dispatcher.window)
        blocked_at = dispatcher(self, window, now, requests)
        if before > len(window) and queue.ready_count() < before:
            return now  # jobs left the queue: look at the next part of it at once
        return blocked_at

    def adapt(self) -> None:
        """Choose the dispatcher and the worker bound again, after what the server
        offers changed (see :class:`Discovery`)."""
        self.discovery.choose()
        if self._threads is not None:
            self._threads.resize(self.discovery.thread_limit())

    # -- what the threads call ---------------------------------------------------

    def complete(self, request: Request, outcome: object, now: float) -> None:
        """Take the outcome of ``request``: update jobs, resolve futures, reschedule."""
        out = Outbox()
        try:
            with self._cond:
                self.budget.finished(request)
                if not self._closed:
                    _outcomes.take(self, request, outcome, now, out)
                    self._kick()
        finally:
            # Whatever went wrong above, the futures resolved so far are resolved.
            out.deliver(self.on_poll, self.on_state_change)

    def sleep(self, next_at: float | None) -> bool:
        """Wait (on the scheduler thread) until ``next_at``, a wake-up or ``max_sleep``.

        Returns:
            False once the scheduler is closed.
        """
        with self._cond:
            if self._closed:
                return False
            if self._kicked:
                self._kicked = False
                return True
            timeout = self.config.max_sleep
            if next_at is not None:
                timeout = min(timeout, max(0.0, next_at - self.clock()))
            if timeout > 0:
                self._cond.wait(timeout)
            self._kicked = False
            return True

    # -- helpers (all under the lock) --------------------------------------------

    def finish(
        self,
        job: Job,
        status: JobStatus | None,
        error: BaseException | None,
        out: Outbox,
    ) -> None:
        """Settle every future of ``job`` with ``status`` or ``error``; stop tracking it."""
        for future in take_futures(job):
            out.settle.append((future, status, error, job.polls))
        self._drop(job)

    def _drop(self, job: Job) -> None:
        if job.dropped:
            return
        job.dropped = True
        job.gen += 1
        self.queue.unready(job)
        if self._jobs.get(job.key) is job:
            del self._jobs[job.key]
            if not self._closed:  # closing keeps the job recorded, for resume()
                self.store.remove_tracked(job.key)
            if self._fleet is not None:
                self._fleet.drop(job.key)
        key = job.key or ""
        self._done_polls[key] = self._done_polls.pop(key, 0) + job.polls
        if len(self._done_polls) > _POLLS_KEPT:
            self._done_polls.popitem(last=False)
        self._deadlines.stopped()

    def _kick(self) -> None:
        self._kicked = True
        self._cond.notify()
