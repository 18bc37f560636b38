"""The client's own lifetime and its caller-thread requests."""

from __future__ import annotations

import gc
import threading
from typing import Any

import pytest

from heygen_client import TranslationClient
from heygen_client.errors import ClientClosed, RateLimited
from heygen_client.models import JobResult, JobStatus
from mock_server import FakeClock


def test_a_collected_client_stops_its_threads_and_fails_its_futures() -> None:
    # Port 9 refuses connections: the job stays pending (retried) on a clock that never moves.
    client = TranslationClient("http://127.0.0.1:9", discover=False, clock=FakeClock())
    future = client.track("a")
    threads = client._scheduler.threads()
    assert any(t.name == "heygen-client-scheduler" for t in threads)
    del client
    gc.collect()
    for thread in threads:
        thread.join(2.0)
    assert not [t for t in threads if t.is_alive()]
    assert isinstance(future.exception(2.0), ClientClosed)


@pytest.mark.parametrize("lock", ["scheduler", "pool"])
def test_the_finalizer_never_waits_for_a_lock_of_ours(lock: str) -> None:
    client = TranslationClient("http://127.0.0.1:9", discover=False, clock=FakeClock())
    future = client.track("a")
    scheduler = client._scheduler
    threads = scheduler.threads()
    held: Any = scheduler._cond if lock == "scheduler" else scheduler._threads.pool._cond  # type: ignore[union-attr]
    finalized = threading.Event()

    def collect() -> None:  # what the collector does, on whichever thread it runs
        client._lifetime.finalizer()
        finalized.set()

    with held:  # as a worker inside complete(), or submitting, holds it
        collector = threading.Thread(target=collect)
        collector.start()
        # Before, the finalizer closed the scheduler itself and waited here forever
        # when the collector ran on the thread that held the lock.
        assert finalized.wait(1.0), "the finalizer waited for our lock"
    collector.join()
    # The scheduler thread did the closing.
    assert isinstance(future.exception(2.0), ClientClosed)
    for thread in threads:
        thread.join(2.0)
    assert not [t for t in threads if t.is_alive()]
    assert client._transport.closed
    client.close()


def test_caller_requests_share_the_pause_and_the_budget() -> None:
    clock = FakeClock()
    client = TranslationClient(
        "http://127.0.0.1:9", discover=False, clock=clock, max_requests_per_second=0.01, burst=2
    )
    calls: list[str | None] = []

    def get_status(job_id: str | None, *, wait: float | None = None) -> JobStatus:
        calls.append(job_id)
        if len(calls) == 1:
            raise RateLimited("slow", status_code=429, retry_after=5.0)
        return JobStatus(job_id or "", JobResult.PENDING)

    client._backend.get_status = get_status  # type: ignore[method-assign]
    try:
        with pytest.raises(RateLimited):
            client.get_status("a")
        with pytest.raises(RateLimited) as info:
            client.get_status("b")  # paused by the first answer's Retry-After: not sent
        assert info.value.retry_after == pytest.approx(5.0)
        assert calls == ["a"]
        with pytest.raises(RateLimited):
            client.get_job("x")
        clock.advance(5.0)
        assert client.get_status("b").result == "pending"
        assert calls == ["a", "b"]
        # Two tokens spent, the next one is 100 s away: refused without a request.
        with pytest.raises(RateLimited) as info:
            client.get_status("c")
        assert info.value.retry_after is not None
        assert info.value.retry_after > 1.0
        assert calls == ["a", "b"]
    finally:
        client.close()
