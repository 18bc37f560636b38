"""Clients sharing a store, against the real mock server: one poller per job, shared outcomes,
adoption after a SIGKILL, resume() after a SIGKILL, and Redis going away mid-run."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from heygen_client import AsyncTranslationClient, TranslationClient, TranslationFailed
from heygen_client._stores.memory import MemoryStore
from mock_server.redis_server import RedisServer
from mock_server.testing import LiveServer

pytestmark = pytest.mark.live

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    live = LiveServer("--plain", "--delay", "1", "--seed", "4")
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "redis":
        redis: RedisServer = request.getfixturevalue("redis_server")
        return redis.url
    return f"sqlite:///{tmp_path / 'jobs.db'}"


def make_jobs(client: TranslationClient, delays: list[float]) -> list[str]:
    return [str(client.create_job(delay=d).job_id) for d in delays]


def outcome(future: object) -> str:
    assert hasattr(future, "result")
    try:
        return str(future.result(timeout=30).result)
    except TranslationFailed:
        return "error"


def test_two_clients_poll_each_job_once_and_both_learn_every_outcome(
    server: LiveServer, store_url: str
) -> None:
    with (
        TranslationClient(server.url, store=store_url) as a,
        TranslationClient(server.url, store=store_url) as b,
    ):
        ids = make_jobs(a, [0.6 + 0.1 * i for i in range(8)])
        first, second = a.track_many(ids), b.track_many(ids)
        assert [outcome(f) for f in first] == ["completed"] * 8
        assert [outcome(f) for f in second] == ["completed"] * 8
        polls_a, polls_b = a.stats().polls, b.stats().polls
    for job_id in ids:
        # Exactly one of the two polled each job; the other was told.
        assert (polls_a.get(job_id, 0) > 0) != (polls_b.get(job_id, 0) > 0), job_id


def test_a_job_the_store_knows_ended_resolves_without_a_request(
    server: LiveServer, store_url: str
) -> None:
    with TranslationClient(server.url, store=store_url) as a:
        (job_id,) = make_jobs(a, [0.2])
        assert a.track(job_id, tags={"order": 1}).result(timeout=10).result == "completed"
    before = server.stats()["status_requests_total"]
    with TranslationClient(server.url, store=store_url) as b:
        future = b.track(job_id)
        assert future.done()
        assert future.result().result == "completed"
        assert b._scheduler.durations() is not None  # started warm
    assert server.stats()["status_requests_total"] == before


def test_resume_after_close_brings_back_unfinished_jobs_with_their_tags(
    server: LiveServer, store_url: str
) -> None:
    with TranslationClient(server.url, store=store_url) as a:
        ids = make_jobs(a, [30.0, 30.0])
        a.track(ids[0], tags={"user": "ann"}, expected_duration=30)
        a.track(ids[1], tags={"user": "bob"}).cancel()  # given up: not resumed
    with TranslationClient(server.url, store=store_url) as b:
        batch = b.resume()
        assert [(f.job_id, dict(f.tags)) for f in batch] == [(ids[0], {"user": "ann"})]
        assert not batch.futures[0].done()
        batch.futures[0].cancel()
        assert b.resume().futures == ()


def test_the_memory_store_records_no_tracked_job(server: LiveServer) -> None:
    store = MemoryStore()
    with TranslationClient(server.url, store=store) as a:
        (job_id,) = make_jobs(a, [30.0])
        future = a.track(job_id, tags={"n": 1})
        assert future.tags == {"n": 1}
        assert store.tracked() == []  # ~110 B a job saved: nothing outlives it
        assert a.resume().futures == ()
        future.cancel()


def spawn_tracker(url: str, store: str, lease_ttl: float, ids: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.stores._tracker", url, store, str(lease_ttl), *ids],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


class Lines:
    """The lines a child prints, read on a thread, waited for by content."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with self._cond:
                self.lines.append(line.strip())
                self._cond.notify_all()

    def wait_for(self, predicate: Callable[[list[str]], bool], timeout: float = 20.0) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: predicate(self.lines), timeout), self.lines

    def join(self) -> list[str]:
        """Kill the child (if still running), and the lines it printed."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self._thread.join(5)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        return self.lines


def reported(lines: list[str]) -> dict[str, str]:
    return {p[1]: p[2] for p in (line.split() for line in lines) if p[0] == "reported"}


def test_resume_after_sigkill_learns_every_outcome_once(
    server: LiveServer, tmp_path: Path
) -> None:
    store = f"sqlite:///{tmp_path / 'jobs.db'}"
    with TranslationClient(server.url) as maker:
        delays = [0.3 + 0.25 * i for i in range(16)]
        ids = [
            str(maker.create_job(delay=d, outcome="error" if i % 5 == 0 else "completed").job_id)
            for i, d in enumerate(delays)
        ]
    lines = Lines(spawn_tracker(server.url, store, 5.0, ids))
    try:
        lines.wait_for(lambda got: len(reported(got)) >= 4)
        lines.proc.send_signal(signal.SIGKILL)
    finally:
        before = reported(lines.join())
    assert 4 <= len(before) < len(ids)

    with TranslationClient(server.url, store=store) as client:
        batch = client.resume()
        after = {str(f.job_id): outcome(f) for f in batch}
        # Ended before the kill: in the store, not resumed, not reported again.
        for job_id, result in before.items():
            status = client.get_status(job_id)
            assert status.result == result
    assert not before.keys() & after.keys()
    assert before.keys() | after.keys() == set(ids)
    for i, job_id in enumerate(ids):
        assert {**before, **after}[job_id] == ("error" if i % 5 == 0 else "completed")


def test_a_killed_processs_jobs_are_adopted_after_its_lease_runs_out(
    server: LiveServer, redis_server: RedisServer
) -> None:
    # On Redis only: the lease code is shared, and SQLite's takeover of a dead
    # process's leases is what the resume test above goes through.
    store_url = redis_server.url
    with TranslationClient(server.url) as maker:
        ids = make_jobs(maker, [4.0] * 5)
    lines = Lines(spawn_tracker(server.url, store_url, 1.0, ids))
    try:
        deadline = time.monotonic() + 10
        while not all(server.get_json(f"/jobs/{job_id}")["status_requests"] for job_id in ids):
            assert time.monotonic() < deadline, "the child never polled every job"
            time.sleep(0.05)
        with TranslationClient(server.url, store=store_url, lease_ttl=1.0) as client:
            batch = client.track_many(ids)
            time.sleep(0.3)  # the child holds every lease and polls
            assert all(client.stats().polls.get(job_id, 0) == 0 for job_id in ids)
            lines.proc.send_signal(signal.SIGKILL)
            assert [outcome(f) for f in batch] == ["completed"] * 5
            assert all(client.stats().polls[job_id] > 0 for job_id in ids)  # adopted
    finally:
        lines.join()


def test_redis_gone_mid_run_loses_no_future_and_resyncs(
    server: LiveServer, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="heygen_client.store"),
        TranslationClient(server.url, store=redis_server.url) as client,
    ):
        ids = make_jobs(client, [0.5 + 0.2 * i for i in range(6)])
        batch = client.track_many(ids, tags={"run": 1})
        redis_server.stop()
        assert [outcome(f) for f in batch] == ["completed"] * 6
        assert "unreachable" in caplog.text
        redis_server.start()
        deadline = time.monotonic() + 10
        while "is back" not in caplog.text:  # the scheduler looks at the store's feed
            assert time.monotonic() < deadline, caplog.text
            time.sleep(0.05)
    with TranslationClient(server.url, store=redis_server.url) as other:
        # The outcomes learned while Redis was gone were written when it came back.
        assert all(other.track(job_id).done() for job_id in ids)


def test_the_async_client_records_tags_and_resumes(server: LiveServer, tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'jobs.db'}"

    async def run() -> None:
        async with AsyncTranslationClient(server.url, store=store) as first:
            (job_id,) = make_jobs(first.sync_client, [1.0])
            batch = first.track_many([job_id], tags={"user": "ann"})
            assert dict(batch.futures[0].job_future.tags) == {"user": "ann"}
        async with AsyncTranslationClient(server.url, store=store) as second:
            resumed = second.resume()
            assert [f.job_id for f in resumed.futures] == [job_id]
            results = await asyncio.wait_for(resumed, 10)
            assert results[job_id].result == "completed"  # type: ignore[union-attr]

    asyncio.run(run())
