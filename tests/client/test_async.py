"""The asyncio face: ``AsyncTranslationClient``, its loop-bound futures, ``await JobFuture``.

Unit tests run the real scheduler thread on a fake clock that moves only when a
test ticks it, with scripted answers (``tests/client/_fakes.py``): nothing sleeps
to let time pass.  Coroutines run with ``asyncio.run``, whose shutdown joins the
threads of the loop's default executor (where the blocking requests run).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import pytest

from heygen_client import (
    AsyncJobFuture,
    AsyncTranslationClient,
    ClientClosed,
    DeadlineExceeded,
    JobFuture,
    JobStatus,
    TranslationClient,
    TranslationFailed,
)
from heygen_client._backends.mock import MockBackend
from heygen_client.policies import Fixed
from mock_server import FakeClock
from mock_server.testing import LiveServer
from tests.client._fakes import FakeSource, done, pending

_T = TypeVar("_T")

# Nothing listens there; the scripted source answers every poll instead.
NOWHERE = "http://127.0.0.1:9"


def sync_client(source: FakeSource) -> tuple[TranslationClient, FakeClock]:
    """A client whose polls ``source`` answers, every 1 s of a fake clock."""
    clock = FakeClock()
    client = TranslationClient(NOWHERE, discover=False, clock=clock, policy=Fixed(1.0))
    client._scheduler.backend = source
    return client, clock


def async_client(source: FakeSource) -> tuple[AsyncTranslationClient, FakeClock]:
    """As :func:`sync_client`, behind an async face that owns it."""
    clock = FakeClock()
    client = AsyncTranslationClient(NOWHERE, discover=False, clock=clock, policy=Fixed(1.0))
    client.sync_client._scheduler.backend = source
    return client, clock


def tick(client: TranslationClient | AsyncTranslationClient, clock: FakeClock) -> None:
    """One second of fake time, and wake the scheduler thread to see it.

    The clock moves only once no request is in flight: an answer handled after the
    move would schedule its next poll from the new time, beyond the next tick.
    """
    if isinstance(client, AsyncTranslationClient):
        client = client.sync_client
    scheduler = client._scheduler
    give_up = time.monotonic() + 5.0
    while True:
        with scheduler._cond:
            if scheduler.budget.in_flight_short == 0 and scheduler.budget.in_flight_long == 0:
                clock.advance(1.0)
                scheduler._kick()
                return
        assert time.monotonic() < give_up, "requests still in flight"
        time.sleep(0.001)


def polls(source: FakeSource, job_id: str) -> int:
    """Status requests ``source`` answered for ``job_id`` so far."""
    return sum(1 for kind, key, _ in list(source.calls) if kind == "get" and key == job_id)


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Let the loop run until ``predicate()`` holds (the scheduler's threads work meanwhile)."""
    give_up = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < give_up, "condition not met in time"
        await asyncio.sleep(0.001)


async def awaiting(awaitable: Awaitable[_T]) -> _T:
    """A task's body: await ``awaitable``."""
    return await awaitable


# -- await a JobFuture of the thread-world client --------------------------------


def test_a_job_future_can_be_awaited() -> None:
    source = FakeSource()
    source.script("a", pending("a"), done("a"))
    source.script("b", done("b", "error"))
    client, clock = sync_client(source)

    async def main() -> JobStatus:
        future = client.track("a")
        assert isinstance(future, JobFuture)
        await until(lambda: future.polls == 1)
        tick(client, clock)
        with pytest.raises(TranslationFailed):
            await client.track("b")
        return await future

    with client:
        status = asyncio.run(main())
    assert status.result == "completed"


def test_cancelling_the_task_awaiting_a_job_future_stops_polling() -> None:
    source = FakeSource()
    source.script("a", pending("a"))
    source.script("b", pending("b"))
    client, clock = sync_client(source)

    async def main() -> None:
        a, b = client.track("a"), client.track("b")
        await until(lambda: a.polls == 1 and b.polls == 1)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(awaiting(a), timeout=0.01)
        assert a.cancelled()
        assert client.stats().tracked == 1
        for expected in (2, 3):
            tick(client, clock)
            await until(lambda: polls(source, "b") == expected)  # noqa: B023
        assert polls(source, "a") == 1
        assert not b.done()

    with client:
        asyncio.run(main())


# -- AsyncTranslationClient: results and errors ------------------------------------


def test_await_returns_the_final_status_and_callbacks_run_on_the_loop() -> None:
    source = FakeSource()
    source.script("a", pending("a", progress=0.5), done("a"))
    client, clock = async_client(source)

    async def main() -> None:
        async with client:
            future = client.track("a")
            assert isinstance(future, AsyncJobFuture)
            assert future.job_id == "a"
            assert isinstance(future.job_future, JobFuture)
            callback_threads: list[threading.Thread] = []
            future.add_done_callback(lambda _: callback_threads.append(threading.current_thread()))
            await until(lambda: future.polls == 1)
            assert future.status is not None
            assert future.status.progress == 0.5
            assert not future.done()
            tick(client, clock)
            status = await future
            assert status.result == "completed"
            assert future.status == status
            assert future.polls == 2
            assert callback_threads == [threading.current_thread()]

    asyncio.run(main())


def test_a_job_that_ended_in_error_raises_translation_failed() -> None:
    source = FakeSource()
    source.script("a", pending("a"), done("a", "error"))
    client, clock = async_client(source)

    async def main() -> None:
        async with client:
            call = asyncio.create_task(client.wait("a"))
            await until(lambda: polls(source, "a") == 1)
            tick(client, clock)
            with pytest.raises(TranslationFailed) as info:
                await call
            assert info.value.job_id == "a"
            assert info.value.status.result == "error"

    asyncio.run(main())


def test_wait_with_a_timeout_raises_deadline_exceeded() -> None:
    source = FakeSource()
    source.script("a", pending("a"))
    client, clock = async_client(source)

    async def main() -> None:
        async with client:
            call = asyncio.create_task(client.wait("a", timeout=0.5))
            await until(lambda: polls(source, "a") == 1)
            tick(client, clock)
            with pytest.raises(DeadlineExceeded):
                await call
            assert client.stats().tracked == 0

    asyncio.run(main())


# -- cancellation -------------------------------------------------------------------


async def _wait_for(future: AsyncJobFuture) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(future, timeout=0.01)


async def _timeout_block(future: AsyncJobFuture) -> None:
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await future


async def _cancel_task(future: AsyncJobFuture) -> None:
    task = asyncio.create_task(awaiting(future))
    await asyncio.sleep(0)  # the task starts awaiting
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def _wait_for_zero(future: AsyncJobFuture) -> None:
    # Timeout 0 cancels before anything awaits: only a real asyncio.Future sees it.
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(future, timeout=0)


@pytest.mark.parametrize(
    "give_up",
    [_wait_for, _timeout_block, _cancel_task, _wait_for_zero],
    ids=["wait_for", "asyncio.timeout", "task.cancel", "wait_for-0"],
)
def test_giving_up_on_a_future_cancels_its_job_and_stops_polling(
    give_up: Callable[[AsyncJobFuture], Awaitable[None]],
) -> None:
    source = FakeSource()
    source.script("a", pending("a"))
    source.script("b", pending("b"))  # a control: still tracked, still polled
    client, clock = async_client(source)

    async def main() -> None:
        async with client:
            a, b = client.track("a"), client.track("b")
            await until(lambda: polls(source, "a") == 1 and polls(source, "b") == 1)
            await give_up(a)
            assert a.cancelled()
            assert a.job_future.cancelled()
            assert client.stats().tracked == 1
            for expected in (2, 3):
                tick(client, clock)
                await until(lambda: polls(source, "b") == expected)  # noqa: B023
            assert polls(source, "a") == 1
            assert not b.done()

    asyncio.run(main())


def test_cancelling_one_tracker_leaves_another_future_of_the_job_polling() -> None:
    source = FakeSource()
    source.script("a", pending("a"), pending("a"), done("a"))
    client, clock = async_client(source)

    async def main() -> None:
        async with client:
            first, second = client.track("a"), client.track("a")
            task = asyncio.create_task(awaiting(first))
            await asyncio.sleep(0)  # the task's first step: it now awaits `first`
            await until(lambda: polls(source, "a") == 1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert first.cancelled()
            assert not second.done()
            assert client.stats().tracked == 1
            tick(client, clock)
            await until(lambda: polls(source, "a") == 2)
            tick(client, clock)
            assert (await second).result == "completed"
            assert second.polls == 3

    asyncio.run(main())


def test_tasks_awaiting_one_future_share_its_cancellation_unless_shielded() -> None:
    source = FakeSource()
    source.script("a", pending("a"))
    source.script("b", pending("b"), done("b"))
    client, clock = async_client(source)

    async def main() -> None:
        async with client:
            # Like any asyncio.Future: cancelling one awaiting task cancels the future.
            a = client.track("a")
            t1, t2 = asyncio.create_task(awaiting(a)), asyncio.create_task(awaiting(a))
            await asyncio.sleep(0)  # both tasks' first steps: they now await `a`
            await until(lambda: polls(source, "a") == 1)
            t1.cancel()
            with pytest.raises(asyncio.CancelledError):
                await t2
            assert a.cancelled()
            # A task that awaits it through asyncio.shield() leaves it to the others.
            b = client.track("b")
            shielded = asyncio.create_task(awaiting(asyncio.shield(b)))
            plain = asyncio.create_task(awaiting(b))
            await asyncio.sleep(0)
            await until(lambda: polls(source, "b") == 1)
            shielded.cancel()
            with pytest.raises(asyncio.CancelledError):
                await shielded
            assert not b.cancelled()
            tick(client, clock)
            assert (await plain).result == "completed"
            assert client.stats().tracked == 0

    asyncio.run(main())


# -- many jobs ------------------------------------------------------------------------


def test_gather_and_wait_over_many_futures() -> None:
    source = FakeSource()
    for job in "abde":
        source.script(job, pending(job), done(job))
    source.script("c", done("c"))
    client, clock = async_client(source)

    async def main() -> None:
        async with client:
            futures = [client.track(job) for job in "abcde"]
            first, _ = await asyncio.wait(futures, return_when=asyncio.FIRST_COMPLETED)
            assert first == {futures[2]}  # the futures themselves, not wrappers
            gathered = asyncio.gather(*futures)
            await until(lambda: all(f.polls == 1 for f in futures))
            tick(client, clock)
            statuses = await gathered
            assert [s.job_id for s in statuses] == list("abcde")
            assert {s.result for s in statuses} == {"completed"}

    asyncio.run(main())


def test_track_many_yields_as_completed_and_awaits_to_results() -> None:
    source = FakeSource()
    source.script("a", pending("a"), done("a"))
    source.script("b", done("b", "error"))
    source.script("c", pending("c"), pending("c"), done("c"))
    client, clock = async_client(source)

    async def main() -> None:
        async with client:
            batch = client.track_many(["a", "b", "c"])
            assert len(batch) == 3
            assert [f.job_id for f in batch.futures] == ["a", "b", "c"]
            order: list[str | None] = []

            async def consume() -> None:
                async for future in batch.as_completed():
                    order.append(future.job_id)

            consumer = asyncio.create_task(consume())
            # Every first answer handled before the clock moves, so a and c are due
            # one tick from now (a first poll handled after the tick is due later).
            await until(lambda: order == ["b"] and all(f.status for f in batch.futures))
            assert batch.done_count == 1
            assert batch.counts() == {
                "pending": 2,
                "completed": 0,
                "error": 1,
                "failed": 0,
                "cancelled": 0,
            }
            tick(client, clock)
            await until(lambda: order == ["b", "a"] and polls(source, "c") == 2)
            tick(client, clock)
            results = await batch
            await consumer
            assert order == ["b", "a", "c"]
            assert isinstance(results["b"], TranslationFailed)
            assert [getattr(results[job], "result", None) for job in "ac"] == ["completed"] * 2
            assert batch.counts()["completed"] == 2
            # A second pass sees every future at once.
            assert [f.job_id async for f in batch.as_completed()] == ["b", "a", "c"]
            assert await client.track_many([]) == {}

    asyncio.run(main())


def test_giving_up_on_a_batch_cancels_its_pending_jobs() -> None:
    source = FakeSource()
    source.script("a", pending("a"))
    source.script("b", pending("b"))
    source.script("c", done("c"))
    client, _ = async_client(source)

    async def main() -> None:
        async with client:
            batch = client.track_many(["a", "b", "c"])
            await until(lambda: batch.done_count == 1 and polls(source, "b") == 1)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(batch, timeout=0.01)
            assert batch.cancelled()
            assert [f.cancelled() for f in batch.futures] == [True, True, False]
            assert batch.counts()["cancelled"] == 2
            assert client.stats().tracked == 0

    asyncio.run(main())


# -- lifecycle ------------------------------------------------------------------------


def test_aclose_fails_pending_futures_with_client_closed() -> None:
    source = FakeSource()
    source.script("a", pending("a"))
    client, _ = async_client(source)

    async def main() -> None:
        future = client.track("a")
        waiter = asyncio.create_task(awaiting(future))
        await until(lambda: polls(source, "a") == 1)
        async with client:
            pass
        assert client.closed
        assert client.sync_client.closed
        assert isinstance(future.exception(), ClientClosed)
        with pytest.raises(ClientClosed):
            await waiter
        await client.aclose()  # idempotent
        with pytest.raises(ClientClosed):
            client.track("b")
        with pytest.raises(ClientClosed):
            await client.get_status("b")
        with pytest.raises(ClientClosed):
            await client.submit(delay=1)
        assert client.sync_client._scheduler.threads() == []

    asyncio.run(main())


def test_only_futures_failed_by_the_job_are_logged_as_never_retrieved(
    caplog: pytest.LogCaptureFixture,
) -> None:
    source = FakeSource()
    source.script("a", pending("a"))
    source.script("b", done("b", "error"))
    client, _ = async_client(source)

    async def main() -> None:
        async with client:
            client.track("a")  # never awaited, failed by aclose(): the caller's doing
            failed = client.track("b")  # never awaited, the job failed: worth a word
            await until(failed.done)
            del failed
        gc.collect()

    asyncio.run(main())
    logged = [r.getMessage() for r in caplog.records if r.name == "asyncio"]
    assert len(logged) == 1
    assert "exception was never retrieved" in logged[0]
    assert "job_id='b'" in logged[0]


def test_from_client_borrows_the_client_and_shares_its_scheduler() -> None:
    source = FakeSource()
    source.script("a", pending("a"), done("a"))
    source.script("b", pending("b"))
    sync, clock = sync_client(source)

    async def main() -> AsyncJobFuture:
        client = AsyncTranslationClient.from_client(sync)
        assert client.sync_client is sync
        thread_future = sync.track("a")
        loop_future = client.track("a")
        assert sync.stats().tracked == 1  # one job, one schedule, two futures
        await until(lambda: polls(source, "a") == 1)
        tick(sync, clock)
        assert (await loop_future).result == "completed"
        assert thread_future.result(timeout=0).result == "completed"
        assert polls(source, "a") == 2
        left = client.track("b")
        async with client:
            pass
        assert client.closed
        assert not sync.closed
        assert not left.done()
        return left

    try:
        left = asyncio.run(main())
    finally:
        sync.close()
    # The loop is gone: nothing is delivered to it, and nothing is logged.
    assert isinstance(left.job_future.exception(), ClientClosed)
    assert not left.done()


def test_track_needs_a_running_loop() -> None:
    client, _ = async_client(FakeSource())
    try:
        with pytest.raises(RuntimeError, match="no running event loop"):
            client.track("a")
        assert client.sync_client._scheduler.threads() == []
    finally:
        asyncio.run(client.aclose())


# -- the loop never blocks on a request -----------------------------------------------


def test_requests_run_off_the_loop() -> None:
    source = FakeSource()
    source.script("new", done("new"))
    client, _ = async_client(source)
    transport = client.sync_client._backend
    assert isinstance(transport, MockBackend)
    threads: list[threading.Thread] = []
    started, release = threading.Event(), threading.Event()

    def blocking(answer: _T) -> _T:
        threads.append(threading.current_thread())
        started.set()
        assert release.wait(5)
        return answer

    def get_status(job_id: str | None, *, wait: float | None = None) -> JobStatus:
        return blocking(done(job_id))

    def create_job(options: Mapping[str, Any]) -> JobStatus:
        return blocking(pending("new"))

    def get_job(job_id: str) -> dict[str, Any]:
        return blocking({"job_id": job_id})

    transport.get_status = get_status  # type: ignore[method-assign]
    transport.create_job = create_job  # type: ignore[method-assign]
    transport.get_job = get_job  # type: ignore[method-assign]

    async def held(request: Awaitable[_T]) -> _T:
        started.clear()
        release.clear()
        call = asyncio.ensure_future(request)
        await until(started.is_set)  # the loop runs while the request is held
        assert not call.done()
        release.set()
        return await call

    async def main() -> None:
        async with client:
            assert (await held(client.get_status("a"))).result == "completed"
            assert await held(client.get_job("a")) == {"job_id": "a"}
            assert (await held(client.submit(delay=1))).job_id == "new"
            assert len(threads) == 3
            assert threading.current_thread() not in threads

    asyncio.run(main())


def test_a_submit_cancelled_in_flight_leaves_its_job_untracked() -> None:
    source = FakeSource()
    source.script("new", pending("new"))
    client, _ = async_client(source)
    sent, release = threading.Event(), threading.Event()
    tracked: list[JobFuture] = []
    track = client.sync_client.track

    def create_job(options: Mapping[str, Any]) -> JobStatus:
        sent.set()
        assert release.wait(5)
        return pending("new")

    def recording_track(*args: Any, **kwargs: Any) -> JobFuture:
        tracked.append(track(*args, **kwargs))
        return tracked[-1]

    client.sync_client._backend.create_job = create_job  # type: ignore[method-assign]
    client.sync_client.track = recording_track  # type: ignore[method-assign]

    async def main() -> None:
        async with client:
            call = asyncio.create_task(client.submit(delay=1))
            await until(sent.is_set)
            call.cancel()
            release.set()
            with pytest.raises(asyncio.CancelledError):
                await call
            await until(lambda: len(tracked) == 1 and tracked[0].cancelled())
            assert client.stats().tracked == 0

    asyncio.run(main())


def test_a_submit_cancelled_before_it_is_sent_sends_nothing() -> None:
    client, _ = async_client(FakeSource())
    sent: list[Mapping[str, Any]] = []
    busy, release = threading.Event(), threading.Event()

    def occupy() -> None:
        busy.set()
        assert release.wait(5)

    def create_job(options: Mapping[str, Any]) -> JobStatus:
        sent.append(options)
        return pending("new")

    client.sync_client._backend.create_job = create_job  # type: ignore[method-assign]

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(1))
        async with client:
            blocker = loop.run_in_executor(None, occupy)  # the only worker is busy
            await until(busy.is_set)
            call = asyncio.create_task(client.submit(delay=1))
            await asyncio.sleep(0)  # queued behind the blocker
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
            release.set()
            await blocker
            await loop.run_in_executor(None, lambda: None)  # the queue has drained
            assert sent == []
            assert client.stats().tracked == 0

    asyncio.run(main())


def test_loop_futures_resolve_while_a_threaded_callback_blocks() -> None:
    source = FakeSource()
    source.script("a", done("a"))
    source.script("b", pending("b"), done("b"))
    client, clock = async_client(source)
    release = threading.Event()

    async def main() -> None:
        async with client:
            blocked = client.sync_client.track("a")
            blocked.add_done_callback(lambda _: release.wait(15))
            future = client.track("b")
            await until(blocked.done)
            # b's first answer (pending) must be in before the clock moves, or its
            # next poll lands a tick later than this test gives it.
            await until(lambda: polls(source, "b") == 1)
            tick(client, clock)
            # The callback thread is held by "a"'s callback; the loop's result is not.
            status = await asyncio.wait_for(future, timeout=5)
            assert status.result == "completed"
            assert not release.is_set()
            release.set()

    try:
        asyncio.run(main())
    finally:
        release.set()


# -- against the real server ----------------------------------------------------------


@pytest.mark.live
def test_live_submit_gather_and_wait_for(live_server: LiveServer) -> None:
    async def main() -> None:
        async with AsyncTranslationClient(live_server.url) as client:
            futures = [await client.submit(delay=0.2) for _ in range(3)]
            statuses = await asyncio.gather(*futures)
            assert [s.result for s in statuses] == ["completed"] * 3
            slow = await client.submit(delay=30)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(slow, timeout=0.3)
            assert slow.cancelled()
            assert client.stats().tracked == 0
            assert slow.job_id is not None
            assert (await client.get_status(slow.job_id)).result == "pending"
            created = await client.create_job(delay=0.2)
            assert created.result == "pending"
            assert client.stats().tracked == 0
            assert (await client.wait(created.job_id, timeout=10)).result == "completed"

    asyncio.run(main())
