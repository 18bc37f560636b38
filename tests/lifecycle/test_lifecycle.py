"""The client's life and death under load: close, use after close, exit, callbacks, cancel.

Against a live mock server, with jobs long enough to still be pending (and
long-polled) when the client is closed. The autouse ``no_thread_left_behind``
fixture (tests/conftest.py) also checks every test here for leaked threads.
"""

from __future__ import annotations

import collections
import logging
import random
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, wait
from typing import Any

import pytest

from heygen_client import TranslationClient
from heygen_client.errors import ClientClosed, TranslationFailed
from mock_server.testing import LiveServer
from tests._wait import wait_until
from tests.chaos._support import ForcedJob, ServerProbe
from tests.client._fakes import wait_for_callbacks
from tests.lifecycle._children import end_child

pytestmark = pytest.mark.live

#: close() must return within this, and the library's threads be gone.
CLOSE_LIMIT = 1.0
#: How long a test waits for the server to show long-polls in flight.
LONG_POLL_PATIENCE = 10.0
#: A process whose main thread ended must be gone within this. Its long-poll
#: would hold it for 30 s, so a hang cannot hide under this bound.
EXIT_LIMIT = 5.0


def wait_for_long_polls(probe: ServerProbe, at_least: int = 1) -> None:
    """Block until the server holds ``at_least`` long-polls."""
    wait_until(
        lambda: int(probe.stats()["long_polls_active"]) >= at_least,
        LONG_POLL_PATIENCE,
        message=f"fewer than {at_least} long-polls in flight",
    )


def new_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t not in before and t.is_alive()]


def test_close_with_hundreds_of_jobs_in_flight(server: LiveServer, probe: ServerProbe) -> None:
    jobs = probe.create_jobs(300, seed=1, delay=(60.0, 60.0))
    before = set(threading.enumerate())
    client = TranslationClient(server.url)
    futures = [client.track(job.job_id) for job in jobs]
    wait_for_long_polls(probe)
    library_threads = new_threads(before)
    assert library_threads, "the client started no thread?"

    started = time.monotonic()
    client.close()
    took = time.monotonic() - started

    assert took < CLOSE_LIMIT, f"close() took {took:.2f}s"
    for thread in library_threads:
        thread.join(max(0.0, started + CLOSE_LIMIT - time.monotonic()))
    alive = [t.name for t in library_threads if t.is_alive()]
    assert not alive, f"still running {CLOSE_LIMIT}s after close(): {alive}"
    for future in futures:
        assert future.done()
        assert isinstance(future.exception(timeout=0), ClientClosed)


#: Every public call that needs an open client, as ``call(client, job_id)``.
CALLS_AFTER_CLOSE: dict[str, Callable[[TranslationClient, str], object]] = {
    "track": lambda client, job_id: client.track(job_id),
    "track_many": lambda client, job_id: client.track_many([job_id]),
    "get_status": lambda client, job_id: client.get_status(job_id),
    "get_job": lambda client, job_id: client.get_job(job_id),
    "wait": lambda client, job_id: client.wait(job_id, timeout=1),
    "submit": lambda client, job_id: client.submit(delay=1),
}


@pytest.mark.parametrize("call", CALLS_AFTER_CLOSE.values(), ids=CALLS_AFTER_CLOSE.keys())
def test_use_after_close_raises(
    server: LiveServer, probe: ServerProbe, call: Callable[[TranslationClient, str], object]
) -> None:
    [job] = probe.create_jobs(1, seed=2, delay=(60.0, 60.0))
    client = TranslationClient(server.url)
    future = client.track(job.job_id)
    client.close()
    client.close()  # idempotent
    with pytest.raises(ClientClosed) as info:
        call(client, job.job_id)
    # Also a RuntimeError, like using a shut-down executor.
    assert isinstance(info.value, RuntimeError)
    assert isinstance(future.exception(timeout=0), ClientClosed)
    assert client.stats().tracked == 0


CHILD = textwrap.dedent(
    """
    import sys
    from heygen_client import TranslationClient

    client = TranslationClient(sys.argv[1])
    future = client.track(sys.argv[2])
    print("tracking", flush=True)
    sys.stdin.readline()  # the parent saw our long-poll arrive
    print("leaving", flush=True)
    # No close(): the interpreter must still exit promptly.
    """
)


def test_process_exits_with_a_client_open_and_a_long_poll_in_flight(
    server: LiveServer, probe: ServerProbe
) -> None:
    [job] = probe.create_jobs(1, seed=3, delay=(60.0, 60.0))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, server.url, job.job_id],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdin is not None
        assert child.stdout.readline().strip() == "tracking"
        wait_for_long_polls(probe)
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "leaving"
        left = time.monotonic()
        code = child.wait(timeout=EXIT_LIMIT)
        took = time.monotonic() - left
    finally:
        end_child(child)
    assert code == 0
    assert took < EXIT_LIMIT


def test_callbacks_that_raise_do_not_stop_other_jobs(
    live_server_factory: Callable[..., LiveServer], caplog: pytest.LogCaptureFixture
) -> None:
    # tests/client covers an on_poll hook and a done-callback raising for two
    # jobs; here every kind of callback raises, on every event of 20 jobs,
    # and the scheduler must still take on new work afterwards.
    server = live_server_factory("--seed", "4", "--log-level", "WARNING")
    probe = ServerProbe(server)
    try:
        jobs = probe.create_jobs(20, seed=4, delay=(0.2, 1.5))
        later = probe.create_jobs(3, seed=5, delay=(0.2, 0.5))
    finally:
        probe.close()
    raised = collections.Counter[str]()

    def exploding(kind: str) -> Callable[..., None]:
        def explode(*_: Any) -> None:
            raised[kind] += 1
            raise RuntimeError(f"{kind} callback blew up")

        return explode

    with (
        caplog.at_level(logging.ERROR),
        TranslationClient(
            server.url, on_poll=exploding("poll"), on_state_change=exploding("state")
        ) as client,
    ):
        batch = client.track_many([job.job_id for job in jobs], on_progress=exploding("progress"))
        for future in batch:
            future.add_done_callback(exploding("done"))
        assert batch.wait(SETTLE_TIMEOUT)
        # The scheduler is still alive after all those exceptions.
        late = [client.track(job.job_id) for job in later]
        _, not_done = wait(late, timeout=SETTLE_TIMEOUT)
        assert not not_done
        wait_for_callbacks()  # they run on the callback thread, after the futures settle
    for job, future in [*zip(jobs, batch, strict=True), *zip(later, late, strict=True)]:
        check_truth(job, future)
    assert raised["done"] == raised["progress"] == len(jobs), raised
    assert raised["poll"] >= len(jobs) + len(later), raised
    assert raised["state"] >= len(jobs) + len(later), raised
    # Every one of them was logged, none swallowed silently.
    logged = sum(1 for record in caplog.records if record.exc_info is not None)
    assert logged >= sum(raised.values()), (logged, raised)


#: How long a test waits for its futures; a hang fails here.
SETTLE_TIMEOUT = 10.0
#: Rounds of the cancel race.
RACES = 200
#: Each cancel lands this close (seconds, either side) to its job's end.
RACE_WINDOW = 0.15


def test_cancel_racing_completion_leaves_a_consistent_state(
    live_server_factory: Callable[..., LiveServer],
) -> None:
    # concurrent.futures.wait() counts a cancelled future as done only once it is
    # notified (CANCELLED_AND_NOTIFIED): JobFuture.cancel() must get it there.
    server = live_server_factory("--seed", "6", "--log-level", "WARNING")
    probe = ServerProbe(server)
    try:
        jobs = probe.create_jobs(RACES, seed=6, delay=(1.0, 1.5))
    finally:
        probe.close()
    rng = random.Random(6)
    with TranslationClient(server.url) as client:
        # Two futures per job share one schedule: cancelling the first must
        # never stop or spoil the second.
        pairs = [(job, client.track(job.job_id), client.track(job.job_id)) for job in jobs]
        cancelled_ok: list[Future[Any]] = []

        def canceller() -> None:
            # Each cancel is timed around its job's end, so some land before the
            # client learns the outcome and some after.
            plan = sorted(
                ((job.finishes_at + rng.uniform(-RACE_WINDOW, RACE_WINDOW), first)
                 for job, first, _ in pairs),
                key=lambda item: item[0],
            )  # fmt: skip
            for when, first in plan:
                time.sleep(max(0.0, when - time.time()))
                if first.cancel():
                    cancelled_ok.append(first)

        thread = threading.Thread(target=canceller, name="test-canceller")
        thread.start()
        thread.join(30)
        assert not thread.is_alive()
        everything = [f for _, first, second in pairs for f in (first, second)]
        _, not_done = wait(everything, timeout=SETTLE_TIMEOUT)
        assert not not_done
        # Nothing is left tracked: cancelled jobs were dropped or finished.
        assert client.stats().tracked == 0

    for job, first, second in pairs:
        assert first.done()
        # cancel() said True exactly when the future ended up cancelled.
        assert first.cancelled() == (first in cancelled_ok)
        if first.cancelled():
            with pytest.raises(CancelledError):
                first.result(timeout=0)
        else:
            check_truth(job, first)
        check_truth(job, second)
    # Both orders happened, so the race really was run.
    assert 0 < len(cancelled_ok) < RACES, len(cancelled_ok)


def check_truth(job: ForcedJob, future: Future[Any]) -> None:
    """The future ended with the job's true outcome."""
    if job.outcome == "error":
        error = future.exception(timeout=0)
        assert isinstance(error, TranslationFailed), error
        assert error.job_id == job.job_id
    else:
        assert future.result(timeout=0).result == "completed"
