"""The locked TTL cache: pending statuses expire, final ones stay."""

from __future__ import annotations

import threading

from heygen_client._cache import StatusCache
from heygen_client.models import JobResult, JobStatus
from tests.client._fakes import FakeClock


def test_pending_expires_final_stays() -> None:
    clock = FakeClock()
    cache = StatusCache(ttl=1.0, clock=clock)
    cache.put(JobStatus("a", JobResult.PENDING))
    cache.put(JobStatus("b", JobResult.COMPLETED))
    assert cache.get("a") is not None
    clock.advance(1.5)
    assert cache.get("a") is None
    clock.advance(1e6)
    assert cache.get("b") == JobStatus("b", JobResult.COMPLETED)
    assert len(cache) == 1


def test_final_is_never_replaced_by_pending() -> None:
    cache = StatusCache(clock=FakeClock())
    cache.put(JobStatus("a", JobResult.ERROR))
    cache.put(JobStatus("a", JobResult.PENDING))
    assert cache.get("a") == JobStatus("a", JobResult.ERROR)


def test_seed_job_and_zero_ttl() -> None:
    cache = StatusCache(ttl=0.0, clock=FakeClock())
    cache.put(JobStatus(None, JobResult.COMPLETED))
    assert cache.get(None) is None  # ttl 0 disables the cache
    cache = StatusCache(clock=FakeClock())
    cache.put(JobStatus(None, JobResult.PENDING))
    assert cache.get(None) is not None
    cache.clear()
    assert cache.get(None) is None


def test_bounded_and_thread_safe() -> None:
    cache = StatusCache(maxsize=100, clock=FakeClock())

    def fill(offset: int) -> None:
        for i in range(2000):
            cache.put(JobStatus(f"{offset}-{i}", JobResult.COMPLETED))
            cache.get(f"{offset}-{i // 2}")

    threads = [threading.Thread(target=fill, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(cache) == 100
