"""The client against the real mock server, in every server mode."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable

import pytest

from heygen_client import (
    ClientClosed,
    JobNotFound,
    PollEvent,
    StateChange,
    TranslationClient,
    TranslationFailed,
)
from heygen_client.policies import RetryPolicy
from mock_server.testing import LiveServer
from tests.client._fakes import wait_for_callbacks

pytestmark = pytest.mark.live

MODES = {
    "plain": ("--plain",),
    "hints": ("--no-long-poll", "--no-batch"),
    "long-poll": ("--no-batch",),
    "batch": (),
}


def held_by_server(server: LiveServer, count: int, timeout: float = 10.0) -> None:
    """Wait until the server holds at least ``count`` long-polls (its /stats)."""
    deadline = time.monotonic() + timeout
    while server.stats()["long_polls_active"] < count:
        assert time.monotonic() < deadline, f"fewer than {count} long-polls held"
        time.sleep(0.01)


@pytest.mark.parametrize("mode", list(MODES))
def test_tracks_jobs_in_every_server_mode(
    mode: str, live_server_factory: Callable[..., LiveServer]
) -> None:
    server = live_server_factory(
        "--delay", "0.5", "--delay-max", "1.5", "--seed", "3", *MODES[mode]
    )
    with TranslationClient(server.url, seed=1) as client:
        futures = [client.submit() for _ in range(8)]
        failing = client.submit(delay=0.5, outcome="error")
        for future in futures:
            assert future.result(timeout=15).result == "completed"
            assert future.polls >= 1
        with pytest.raises(TranslationFailed) as info:
            failing.result(timeout=15)
        assert info.value.job_id == failing.job_id
        lateness = [
            future.status.received_at - client.get_job(future.job_id)["finishes_at"]  # type: ignore[union-attr, arg-type]
            for future in futures
        ]
        assert min(lateness) >= -0.05  # never "completed" before the server finished it
        stats = client.stats()
        assert stats.requests["ok"] >= len(futures)
        assert stats.tracked == 0
        caps = client._scheduler.capabilities
        assert caps is not None
        if mode == "plain":
            assert caps.long_poll_max_wait is None
            assert not caps.hints
        if mode in ("long-poll", "batch"):
            assert statistics.median(lateness) < 0.1
            assert stats.status_requests <= 2 * len(futures) + 2
        if mode == "batch":
            assert caps.batch_max_ids is not None


def test_seed_job_and_get_status(live_server_factory: Callable[..., LiveServer]) -> None:
    server = live_server_factory("--delay", "0.5", "--plain")
    with TranslationClient(server.url) as client:
        assert client.get_status().result in ("pending", "completed")
        final = client.wait(timeout=10)
        assert final.result == "completed"
        assert final.job_id == ""  # the plain seed server names no job
        before = client.stats().total_requests
        assert client.get_status() == final  # served from the cache
        assert client.stats().total_requests == before


def test_unknown_job_fails_fast(live_server: LiveServer) -> None:
    with TranslationClient(live_server.url) as client:
        future = client.track("no-such-job")
        with pytest.raises(JobNotFound):
            future.result(timeout=10)
        assert future.polls == 1


def test_hooks_see_every_poll_and_state_change(live_server: LiveServer) -> None:
    polls: list[PollEvent] = []
    changes: list[StateChange] = []
    with TranslationClient(
        live_server.url, on_poll=polls.append, on_state_change=changes.append
    ) as client:
        future = client.submit(delay=0.3)
        future.result(timeout=10)
    mine = [e for e in polls if e.job_id == future.job_id]
    assert len(mine) == future.polls
    assert [c.new for c in changes if c.job_id == future.job_id][-1] == "completed"


def test_callbacks_that_raise_do_not_stop_other_jobs(
    live_server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    def bad(_: object) -> None:
        raise RuntimeError("callback bug")

    with TranslationClient(live_server.url, on_poll=bad) as client:
        first = client.submit(delay=0.2)
        first.add_done_callback(bad)
        second = client.submit(delay=0.4)
        assert second.result(timeout=10).result == "completed"
        assert first.result(timeout=10).result == "completed"
    assert any("callback bug" in r.getMessage() or r.exc_info for r in caplog.records)


def test_batch_of_jobs(live_server: LiveServer) -> None:
    progress: list[int] = []
    with TranslationClient(live_server.url) as client:
        ids = [client.submit(delay=d).job_id for d in (0.2, 0.4, 0.6)]
        batch = client.track_many(
            [i for i in ids if i], on_progress=lambda b, f: progress.append(b.done_count)
        )
        finished = [f.job_id for f in batch.as_completed(timeout=10)]
        assert sorted(finished) == sorted(ids)  # type: ignore[type-var]
        assert batch.wait(1)
        assert batch.counts()["completed"] == 3
        assert all(s.result == "completed" for s in batch.results().values())  # type: ignore[union-attr]
    wait_for_callbacks()  # they run on the callback thread, after the futures settle
    assert sorted(progress) == [1, 2, 3]


def test_close_while_long_polling_is_fast_and_leaves_no_thread(
    live_server_factory: Callable[..., LiveServer],
) -> None:
    server = live_server_factory("--delay", "60", "--no-batch")
    before = set(threading.enumerate())
    client = TranslationClient(server.url)
    futures = [client.submit() for _ in range(30)]
    held_by_server(server, 30)
    assert any(t.name.startswith("heygen-client-worker") for t in threading.enumerate())
    started = time.monotonic()
    client.close()
    assert time.monotonic() - started < 1.0
    for future in futures:
        assert isinstance(future.exception(timeout=1), ClientClosed)
    assert not [t for t in threading.enumerate() if t not in before and t.is_alive()]
    with pytest.raises(ClientClosed):
        client.track("x")
    client.close()  # idempotent


def test_close_while_batch_long_polling(live_server_factory: Callable[..., LiveServer]) -> None:
    server = live_server_factory("--delay", "60")
    client = TranslationClient(server.url)
    futures = [client.submit() for _ in range(50)]
    held_by_server(server, 1)  # the batch long-poll(s)
    started = time.monotonic()
    client.close()
    assert time.monotonic() - started < 1.0
    assert all(isinstance(f.exception(timeout=1), ClientClosed) for f in futures)
    assert not client._scheduler.threads()


def test_unknown_results_count_as_malformed(
    live_server_factory: Callable[..., LiveServer],
) -> None:
    server = live_server_factory(
        "--delay", "0.3", "--fault-rate", "0.5", "--fault-kinds", "unknown-result", "--seed", "2"
    )
    with TranslationClient(server.url, retry=RetryPolicy(base=0.01, cap=0.05)) as client:
        futures = [client.submit() for _ in range(5)]
        assert all(f.result(timeout=20).result == "completed" for f in futures)
        requests_ = client.stats().requests
    assert requests_.get("malformed", 0) >= 1


@pytest.mark.live
def test_create_job_makes_a_job_without_tracking_it(live_server: LiveServer) -> None:
    with TranslationClient(live_server.url) as client:
        status = client.create_job(delay=0.3, title="Intro")
        assert status.result == "pending"
        assert status.job_id is not None
        assert client.stats().tracked == 0
        assert client.get_job(status.job_id)["title"] == "Intro"
        assert client.wait(status.job_id, timeout=10).result == "completed"
