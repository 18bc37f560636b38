"""Done-callbacks run on the callback thread, never on the scheduler or an HTTP worker."""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

import pytest

from heygen_client import TranslationClient
from heygen_client._batch import JobBatch
from heygen_client._callbacks import CallbackRunner
from heygen_client._futures import JobFuture
from heygen_client.errors import DeadlineExceeded
from heygen_client.models import JobResult, JobStatus
from mock_server.testing import LiveServer

#: How long a blocking test callback holds its thread at most.
BLOCK = 15.0


def completed(job_id: str) -> JobStatus:
    return JobStatus(job_id, JobResult.COMPLETED)


def test_callbacks_run_in_order_on_one_named_thread_started_on_demand() -> None:
    runner = CallbackRunner(idle_timeout=0.2)
    assert not runner.running()
    seen: list[tuple[str, threading.Thread]] = []
    done = threading.Event()
    future: Future[int] = Future()

    def record(label: str) -> None:
        seen.append((label, threading.current_thread()))
        if label == "last":
            done.set()

    runner.submit(future, [functools.partial(lambda i, _: record(i), str(i)) for i in range(50)])
    assert runner.running()
    runner.submit(future, [lambda _: record("last")])
    assert done.wait(5)
    assert [label for label, _ in seen] == [*map(str, range(50)), "last"]
    [thread] = {thread for _, thread in seen}  # one thread, started for the first
    assert thread.name == "heygen-client-callbacks"
    assert thread.daemon
    thread.join(2)
    assert not thread.is_alive(), "an idle callback thread must leave"
    assert not runner.running()


def test_a_callback_that_raises_is_logged_and_the_next_one_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runner = CallbackRunner(idle_timeout=0.2)
    after = threading.Event()

    def bad(_: object) -> None:
        raise RuntimeError("callback bug")

    def exits(_: object) -> None:
        raise SystemExit(3)  # would end the thread, stranding every later callback

    runner.submit(Future(), [bad, exits, lambda _: after.set()])
    assert after.wait(5)
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert sum("callback" in m for m in messages) == 2


def test_no_thread_at_interpreter_shutdown_drops_the_callbacks_quietly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't create new thread at interpreter shutdown")

    runner = CallbackRunner()
    ran: list[object] = []
    with monkeypatch.context() as patch:
        patch.setattr(threading.Thread, "start", refuse)
        runner.submit(Future(), [ran.append])  # an atexit close() settling a future
    assert not runner.running()
    assert ran == []


def test_result_wakes_at_settlement_while_the_callback_still_blocks() -> None:
    release = threading.Event()
    entered = threading.Event()
    future = JobFuture("a")

    def blocking(_: object) -> None:
        entered.set()
        release.wait(BLOCK)

    future.add_done_callback(blocking)
    settled_on = threading.current_thread()
    try:
        future.resolve(completed("a"), 1)  # returns although the callback blocks
        assert future.result(timeout=0).result == "completed"
        assert entered.wait(5)
    finally:
        release.set()
    assert settled_on is threading.current_thread()


def test_a_callback_added_after_the_end_runs_at_once_on_the_callers_thread() -> None:
    future = JobFuture("a")
    future.resolve(completed("a"), 1)
    threads: list[threading.Thread] = []
    future.add_done_callback(lambda _: threads.append(threading.current_thread()))
    assert threads == [threading.current_thread()]


@pytest.mark.parametrize("count", [1, 2, 5])
@pytest.mark.parametrize("ending", ["resolve", "cancel"])
def test_each_callback_runs_once_in_the_order_added_inline_ones_on_the_settling_thread(
    count: int, ending: str
) -> None:
    future = JobFuture("a")
    seen: list[tuple[str, str]] = []
    last = threading.Event()

    def record(label: str, _: object) -> None:
        seen.append((label, threading.current_thread().name))
        if label == f"queued {count - 1}":
            last.set()

    for i in range(count):
        future.add_done_callback(functools.partial(record, f"queued {i}"))
        future._add_inline_callback(functools.partial(record, f"inline {i}"))
    settler = threading.current_thread().name
    if ending == "cancel":
        assert future.cancel()
    else:
        future.resolve(completed("a"), 1)
    # The inline ones ran on this thread before the others were queued.
    assert last.wait(5)
    assert seen[:count] == [(f"inline {i}", settler) for i in range(count)]
    assert seen[count:] == [(f"queued {i}", "heygen-client-callbacks") for i in range(count)]


def test_progress_callbacks_of_a_batch_run_on_the_callback_thread() -> None:
    futures = [JobFuture(job_id) for job_id in "abc"]
    names: list[str] = []
    all_done = threading.Event()

    def progress(batch: JobBatch, _: JobFuture) -> None:
        names.append(threading.current_thread().name)
        if batch.done_count == len(batch):
            all_done.set()

    JobBatch(futures, progress)
    for future in futures:
        future.resolve(completed(str(future.job_id)), 1)
    assert all_done.wait(5)
    assert names == ["heygen-client-callbacks"] * 3


@pytest.mark.live
@pytest.mark.parametrize("blocks_on", ["event", "client"])
def test_a_blocking_callback_does_not_hold_up_other_jobs(
    live_server_factory: Callable[..., LiveServer], blocks_on: str
) -> None:
    server = live_server_factory()  # default flags: long-poll and batch on
    release = threading.Event()
    with TranslationClient(server.url) as client:
        slow = client.create_job(delay=60).job_id
        other = client.create_job(delay=60).job_id
        quick = [client.create_job(delay=1).job_id for _ in range(5)]
        assert slow is not None
        assert other is not None

        def block(_: object) -> None:
            if blocks_on == "event":
                release.wait(BLOCK)
            else:  # the probe's callback: re-enters the client and waits (close() ends it)
                client.track(other).exception(timeout=BLOCK)

        started = time.monotonic()
        stuck = client.track(slow, deadline=0.05)
        stuck.add_done_callback(block)
        futures = [client.track(job_id) for job_id in quick]
        for future in futures:
            assert future.result(timeout=BLOCK).result == "completed"
        took = time.monotonic() - started
        release.set()
        assert isinstance(stuck.exception(timeout=0), DeadlineExceeded)
    assert took < 1.5, f"five 1 s jobs took {took:.2f} s behind a blocking callback"
