"""Stores to test: each test runs against SQLite and against a real Redis.

``make_store()`` opens another store object on the same backend, as another
process would (its own connection and lease owner); all are closed after the
test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from heygen_client._stores.redis import RedisStore
from heygen_client._stores.sqlite import SqliteStore
from mock_server.redis_server import RedisServer

MakeStore = Callable[[], SqliteStore | RedisStore]


@pytest.fixture(params=["sqlite", "redis"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeStore]:
    """Opens store objects on one fresh backend (a SQLite file or a Redis server)."""
    opened: list[SqliteStore | RedisStore] = []
    if request.param == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")

        def make() -> SqliteStore | RedisStore:
            opened.append(RedisStore(server.url))
            return opened[-1]

    else:
        path = tmp_path / "jobs.db"

        def make() -> SqliteStore | RedisStore:
            opened.append(SqliteStore(path))
            return opened[-1]

    yield make
    for store in opened:
        store.close()
