"""A JobFuture's lean Condition: the stdlib API and behaviour, a fraction of the memory.

On CPython 3.11-3.13 ``JobFuture`` swaps the ``threading.Condition`` that
``concurrent.futures.Future`` creates for a subclass that keeps no bound methods and
no deque (about 1 KB less per tracked job), and the future makes its list of
``wait()``/``as_completed()`` waiters when first needed; elsewhere it keeps the
stdlib's condition and list.  The
behaviour tests run with each, holding both to what ``Future``, ``wait``,
``as_completed`` and ``result(timeout)`` need; the last test holds the saving.
"""

from __future__ import annotations

import concurrent.futures
import gc
import threading
import time
import tracemalloc
from typing import Any

import pytest

from heygen_client import _futures as futures_module
from heygen_client._futures import JobFuture
from heygen_client.models import JobResult, JobStatus
from tests._wait import wait_until


@pytest.fixture(autouse=True, params=["lean", "stdlib"])
def condition_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test runs with the lean condition and with the stdlib's."""
    if request.param == "lean" and not futures_module.LEAN_CONDITION:
        pytest.skip("the lean condition is used on CPython 3.11-3.13 only")
    monkeypatch.setattr(futures_module, "LEAN_CONDITION", request.param == "lean")
    return str(request.param)


def _finish(future: JobFuture, job_id: str) -> None:
    future.resolve(JobStatus(job_id, JobResult.COMPLETED), 1)


def test_condition_is_a_threading_condition_over_an_rlock() -> None:
    future = JobFuture("a")
    assert isinstance(future._condition, threading.Condition)
    condition: Any = future._condition
    with condition, condition:  # reentrant, as the stdlib's
        assert condition._is_owned()
    assert not condition._is_owned()
    with pytest.raises(RuntimeError):
        condition.notify_all()  # not held: as the stdlib's


def test_every_waiter_is_woken_with_the_result() -> None:
    future = JobFuture("a")
    condition: Any = future._condition
    results: list[str | None] = []
    lock = threading.Lock()

    def wait() -> None:
        status = future.result(timeout=10)
        with lock:
            results.append(status.job_id)

    threads = [threading.Thread(target=wait) for _ in range(8)]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(condition._waiters) >= 8, 5, interval=0.001)
    _finish(future, "a")
    for thread in threads:
        thread.join(5)
    assert results == ["a"] * 8
    assert len(condition._waiters) == 0


def test_result_times_out_and_wait_and_as_completed_see_every_ending() -> None:
    pending = JobFuture("p")
    start = time.monotonic()
    with pytest.raises(concurrent.futures.TimeoutError):
        pending.result(timeout=0.05)
    assert time.monotonic() - start >= 0.04

    futures = [JobFuture(str(i)) for i in range(30)]

    def finish_all() -> None:
        for i, future in enumerate(reversed(futures)):
            time.sleep(0.001)
            if i % 5 == 0:
                assert future.cancel()
            else:
                _finish(future, future.job_id or "")

    thread = threading.Thread(target=finish_all)
    thread.start()
    seen = list(concurrent.futures.as_completed(futures, timeout=10))
    thread.join(5)
    assert len(seen) == 30
    done, not_done = concurrent.futures.wait(futures, timeout=0)
    assert len(done) == 30
    assert not not_done


def test_wait_over_done_and_pending_futures_wakes_and_leaves_no_waiter_behind() -> None:
    done, pending = JobFuture("d"), JobFuture("p")
    _finish(done, "d")

    def waiters(future: JobFuture) -> int:
        with future._condition:  # as Future and wait() read them
            return len(future._waiters)

    outcome: list[set[concurrent.futures.Future[JobStatus]]] = []
    thread = threading.Thread(
        target=lambda: outcome.append(concurrent.futures.wait([done, pending], timeout=10)[0])
    )
    thread.start()
    # wait() gives every future the waiter, the done one too, and takes it back after.
    wait_until(lambda: waiters(pending) == 1 == waiters(done), 5, interval=0.001)
    _finish(pending, "p")
    thread.join(5)
    assert outcome == [{done, pending}]
    assert set(concurrent.futures.as_completed([pending, done], timeout=0)) == {done, pending}
    assert waiters(done) == 0 == waiters(pending)


def test_a_job_future_with_a_done_callback_costs_well_under_half_a_kilobyte(
    condition_kind: str,
) -> None:
    """10,000 tracked jobs are 10,000 futures, most with a done-callback: keep the
    per-future cost in check.

    Measured on CPython 3.11: about 370 bytes, 345-355 on 3.12 and 3.13 (the
    stdlib's own Future is about 1,630 with a callback, two thirds of it its
    Condition).
    """
    if condition_kind != "lean":
        pytest.skip("the saving is the lean condition's")
    count = 2_000
    job_ids = [f"job-{i}" for i in range(count)]

    def callback(_: JobFuture) -> None:
        pass

    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        futures = [JobFuture(job_id) for job_id in job_ids]
        for future in futures:
            future.add_done_callback(callback)
        per_future = (tracemalloc.get_traced_memory()[0] - before) / count
    finally:
        tracemalloc.stop()
    assert len(futures) == count
    assert per_future < 410  # a list per future (56 bytes or more) would break this
