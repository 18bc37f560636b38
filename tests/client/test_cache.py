"""The locked TTL cache: pending statuses expire, final ones stay."""

from __future__ import annotations

import threading

from heygen_client._cache import StatusCache
from heygen_client.models import JobResult, JobStatus
from mock_server import FakeClock


def test_pending_expires_final_stays() -> None:
    clock = FakeClock()
    cache = StatusCache(ttl=1.0, clock=clock)
    cache.put(JobStatus("a", JobResult.PENDING), "a")
    cache.put(JobStatus("b", JobResult.COMPLETED), "b")
    assert cache.get("a") is not None
    clock.advance(1.5)
    assert cache.get("a") is None
    clock.advance(1e6)
    assert cache.get("b") == JobStatus("b", JobResult.COMPLETED)
    assert len(cache) == 1


def test_a_new_pending_status_starts_a_new_ttl_and_a_final_one_replaces_it() -> None:
    clock = FakeClock()
    cache = StatusCache(ttl=1.0, clock=clock)
    cache.put(JobStatus("a", JobResult.PENDING, progress=0.1), "a")
    clock.advance(0.8)
    cache.put(JobStatus("a", JobResult.PENDING, progress=0.2), "a")
    clock.advance(0.8)  # 1.6 s after the first, 0.8 s after the second
    assert cache.get("a") == JobStatus("a", JobResult.PENDING, progress=0.2)
    assert len(cache) == 1
    cache.put(JobStatus("a", JobResult.COMPLETED), "a")
    assert len(cache) == 1
    clock.advance(0.5)  # past the pending one's ttl: the final one stays
    assert cache.get("a") == JobStatus("a", JobResult.COMPLETED)
    assert len(cache) == 1


def test_final_is_never_replaced_by_pending() -> None:
    cache = StatusCache(clock=FakeClock())
    cache.put(JobStatus("a", JobResult.ERROR), "a")
    cache.put(JobStatus("a", JobResult.PENDING), "a")
    assert cache.get("a") == JobStatus("a", JobResult.ERROR)


def test_seed_job_is_stored_under_none() -> None:
    cache = StatusCache(clock=FakeClock())
    # GET /status (no id) may answer with the seed job's id: still the key None.
    cache.put(JobStatus("seed-7", JobResult.PENDING), None)
    assert cache.get(None) == JobStatus("seed-7", JobResult.PENDING)
    assert cache.get("seed-7") is None
    cache.put(JobStatus("b", JobResult.PENDING), "b")
    assert cache.get("b") is not None
    cache.clear()
    assert cache.get(None) is None


def test_zero_ttl_caches_final_statuses_only() -> None:
    cache = StatusCache(ttl=0.0, clock=FakeClock())
    cache.put(JobStatus("", JobResult.PENDING), None)
    assert cache.get(None) is None
    cache.put(JobStatus("", JobResult.COMPLETED), None)
    assert cache.get(None) == JobStatus("", JobResult.COMPLETED)


def test_bounded_and_thread_safe() -> None:
    cache = StatusCache(maxsize=100, clock=FakeClock())
    wrong: list[tuple[str, JobStatus]] = []

    def fill(offset: int) -> None:
        for i in range(2000):
            key = f"{offset}-{i}"
            cache.put(JobStatus(key, JobResult.COMPLETED, progress=i / 2000), key)
            key = f"{offset}-{i // 2}"
            got = cache.get(key)
            expected = JobStatus(key, JobResult.COMPLETED, progress=(i // 2) / 2000)
            if got is not None and got != expected:
                wrong.append((key, got))

    threads = [threading.Thread(target=fill, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []
    assert len(cache) == 100
