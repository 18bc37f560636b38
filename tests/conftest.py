"""Fixtures shared by every test package.

``live_server_factory`` and ``live_server`` start the real mock server as a
process (see ``tests/_live.py``). Both are function-scoped: each test gets a
fresh process, fresh counters and a fresh default job.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests._live import LiveServer

#: Flags of the ``live_server`` fixture: jobs finish after one second, all
#: help on, no faults.
LIVE_SERVER_FLAGS: tuple[str, ...] = ("--delay", "1", "--seed", "1")


@pytest.fixture
def live_server_factory() -> Iterator[Callable[..., LiveServer]]:
    """Start servers with ``live_server_factory(*flags)``; all are stopped at teardown."""
    servers: list[LiveServer] = []

    def start(*flags: str, env: dict[str, str] | None = None) -> LiveServer:
        server = LiveServer(*flags, env=env, start=False)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def live_server(live_server_factory: Callable[..., LiveServer]) -> LiveServer:
    """A running server with one-second jobs (``LIVE_SERVER_FLAGS``)."""
    return live_server_factory(*LIVE_SERVER_FLAGS)
