"""Fakes for unit tests: a scripted status source, and a scheduler stepped by hand.

Their clock is ``mock_server.FakeClock``, which the client takes as its ``clock``.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Sequence
from typing import Any

from heygen_client._backends import BaseBackend, BatchAnswer
from heygen_client._callbacks import run_callbacks
from heygen_client._config import SchedulerConfig
from heygen_client._futures import JobFuture
from heygen_client._jobs import Request
from heygen_client._scheduler import Scheduler
from heygen_client._stores.memory import MemoryStore
from heygen_client._threads import execute
from heygen_client.models import PLAIN, Capabilities, JobResult, JobStatus
from heygen_client.policies import PollPolicy, RetryPolicy, default_policy
from mock_server import FakeClock


def pending(job_id: str | None, **fields: float) -> JobStatus:
    return JobStatus(job_id or "", JobResult.PENDING, **fields)  # type: ignore[arg-type]


def done(job_id: str | None, result: str = "completed") -> JobStatus:
    return JobStatus(job_id or "", JobResult(result))


def wait_for_callbacks(timeout: float = 5.0) -> None:
    """Block until every done-callback queued so far has run (the queue is FIFO)."""
    reached = threading.Event()
    run_callbacks(None, [lambda _: reached.set()])
    assert reached.wait(timeout), f"callbacks still running after {timeout}s"


class FakeSource(BaseBackend):
    """A backend that answers from per-job scripts; an exhausted script repeats its last answer.

    Its capabilities are discovered (one ``capabilities()`` call), as the mock's are.
    """

    name = "fake"
    known_capabilities = None

    def __init__(self, caps: Capabilities = PLAIN) -> None:
        self.caps = caps
        self.scripts: dict[str | None, deque[JobStatus | Exception]] = {}
        self.calls: list[tuple[str, object, float | None]] = []

    def script(self, job_id: str | None, *answers: JobStatus | Exception) -> None:
        self.scripts[job_id] = deque(answers)

    def _next(self, job_id: str | None) -> JobStatus | Exception:
        script = self.scripts[job_id]
        return script.popleft() if len(script) > 1 else script[0]

    def get_status(self, job_id: str | None, *, wait: float | None = None) -> JobStatus:
        self.calls.append(("get", job_id, wait))
        answer = self._next(job_id)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def batch_status(self, job_ids: Sequence[str], *, wait: float | None = None) -> BatchAnswer:
        self.calls.append(("batch", tuple(job_ids), wait))
        statuses = []
        for job_id in job_ids:
            answer = self._next(job_id)
            if isinstance(answer, Exception):
                raise answer
            statuses.append(answer)
        return BatchAnswer(statuses, [])

    def capabilities(self) -> Capabilities:
        self.calls.append(("caps", None, None))
        return self.caps


class Harness:
    """A scheduler with no threads: ``step()`` runs a round and answers its requests."""

    def __init__(
        self,
        source: FakeSource | None = None,
        *,
        policy: PollPolicy | None = None,
        retry: RetryPolicy | None = None,
        config: SchedulerConfig | None = None,
        latency: float = 0.0,
    ) -> None:
        self.clock = FakeClock(1000.0)
        self.source = source or FakeSource()
        self.latency = latency
        self.store = MemoryStore(cache_ttl=1.0, clock=self.clock)
        self.cache = self.store.cache
        self.scheduler = Scheduler(
            self.source,
            policy=policy or default_policy(),
            retry=retry or RetryPolicy(),
            store=self.store,
            config=config or SchedulerConfig(),
            clock=self.clock,
            rng=random.Random(7),
            threaded=False,
        )
        self.requests: list[tuple[float, Request]] = []

    def track(self, job_id: str | None, **kwargs: Any) -> JobFuture:
        future = JobFuture(job_id, self.scheduler)
        self.scheduler.track([future], **kwargs)
        return future

    def step(self) -> float | None:
        """One round at the current time; answer every request it made."""
        next_at = self.scheduler.run_due(self.clock())
        while self.scheduler.dispatched:
            request = self.scheduler.dispatched.pop(0)
            self.requests.append((self.clock(), request))
            outcome = execute(self.scheduler.backend, request)
            self.clock.advance(self.latency)
            self.scheduler.complete(request, outcome, self.clock())
            next_at = self.scheduler.run_due(self.clock())
        return next_at

    def run_until(self, end: float, max_rounds: int = 100_000) -> None:
        """Step, jumping the clock to each next deadline, until ``end`` (absolute)."""
        for _ in range(max_rounds):
            next_at = self.step()
            if next_at is None or next_at > end:
                self.clock.set(max(self.clock(), end))
                self.step()
                return
            self.clock.set(max(self.clock(), next_at))
        raise AssertionError("too many rounds")

    def poll_times(self, job_id: str | None) -> list[float]:
        return [
            t
            for t, r in self.requests
            if r.kind != "capabilities" and any(j.key == job_id for j in r.jobs)
        ]
