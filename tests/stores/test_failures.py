"""A store that cannot be used fails the client's construction; one that fails later does not."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from heygen_client import StoreError, TranslationClient
from heygen_client._stores import TrackedJob
from heygen_client._stores.redis import RedisStore
from heygen_client._stores.sqlite import SqliteStore
from heygen_client.models import JobResult, JobStatus
from mock_server.redis_server import RedisServer

DONE = JobStatus("j1", JobResult.COMPLETED)


def reachable(store: RedisStore) -> bool:
    """Read afresh each time (mypy would take the property to keep its value)."""
    return store.reachable


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    path.write_bytes(b"this is not SQLite" * 512)
    with pytest.raises(StoreError, match="not a SQLite database or is corrupt") as info:
        TranslationClient("http://127.0.0.1:9", store=f"sqlite:///{path}")
    assert isinstance(info.value.__cause__, sqlite3.DatabaseError)


def test_a_corrupt_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    SqliteStore(path).close()
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # the schema page, past the header
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="corrupt"):
        SqliteStore(path)


def test_a_file_locked_by_another_process_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode = DELETE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match="locked by another process"):
            TranslationClient("http://127.0.0.1:9", store=f"sqlite:///{path}?timeout=0.1")
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://host/jobs.db",
        "sqlite:///",
        "sqlite:///jobs.db?timeout=soon",
        "sqlite:///jobs.db?timeout=-1",
        "redis://host:notaport/0",
        "postgres://db/jobs",
    ],
)
def test_a_bad_store_url_is_a_clear_error(url: str) -> None:
    with pytest.raises(StoreError):
        TranslationClient("http://127.0.0.1:9", store=url)


def test_redis_going_away_leaves_the_store_in_memory_and_it_resyncs(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    store = RedisStore(redis_server.url)
    store.add_tracked([TrackedJob("j0", "mock")])
    redis_server.stop()
    with caplog.at_level(logging.WARNING, logger="heygen_client.store"):
        store.add_tracked([TrackedJob("j1", "mock", {"k": "v"}), TrackedJob("j2", "mock")])
        assert store.claim(["j1", "j2"], ttl=5.0) == {}  # every lease granted meanwhile
        store.put_status("j1", DONE)
        store.record_duration(4.0)
    assert not reachable(store)
    assert "unreachable" in caplog.text
    assert store.get_status("j1") == DONE  # from memory
    assert {job.job_id for job in store.tracked()} == {"j0", "j2"}  # this process's own

    redis_server.start()  # same port, empty: a Redis restarted without persistence
    store._retry_at = 0.0  # no waiting out the retry pause in a test
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="heygen_client.store"):
        other = RedisStore(redis_server.url)
        assert other.tracked() == []
        store.durations()  # any call reaches Redis again and re-syncs
    assert reachable(store)
    assert "is back" in caplog.text
    assert {job.job_id for job in other.tracked()} == {"j0", "j2"}
    assert other.get_status("j1") == DONE
    assert list(other.durations()) == [4.0]
    other.close()
    store.close()


def test_redis_unreachable_at_start_is_no_error(caplog: pytest.LogCaptureFixture) -> None:
    server = RedisServer(start=False)
    server.port = 1  # nothing listens there
    with caplog.at_level(logging.WARNING, logger="heygen_client.store"):
        store = RedisStore(server.url)
    assert not reachable(store)
    assert "tracking goes on in memory" in caplog.text
    store.add_tracked([TrackedJob("j1", "mock")])
    assert [job.job_id for job in store.tracked()] == ["j1"]
    store.close()
