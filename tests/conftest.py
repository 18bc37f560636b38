"""Fixtures shared by every test package.

``live_server_factory`` and ``live_server`` start the real mock server as a
process (see ``mock_server.testing``). Both are function-scoped: each test gets a
fresh process, fresh counters and a fresh default job.

``no_thread_left_behind`` runs around every test: threads the test started
must have ended by its teardown (after a short grace period for threads that
are already on their way out).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from mock_server.testing import LiveServer

pytest_plugins = ["pytester"]

#: How long a test's threads get to finish exiting after the test (and its
#: other fixtures) returned. Generous for a loaded machine; a leaked thread
#: still fails, since a thread that is never told to stop never exits.
THREAD_EXIT_GRACE = 3.0


@pytest.fixture(autouse=True)
def no_thread_left_behind() -> Iterator[None]:
    """Fail a test that leaves a thread running that was not there before it.

    Compares thread identities, not just counts, so a thread that ended cannot
    hide one that leaked. Autouse fixtures are set up first, so this one is
    torn down last: the test's own fixtures have already cleaned up.
    """
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + THREAD_EXIT_GRACE
    for thread in threading.enumerate():
        if thread not in before:
            # Waits only as long as the thread needs; returns at once if it ended.
            thread.join(max(0.0, deadline - time.monotonic()))
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    if leaked:
        names = ", ".join(sorted(f"{t.name} (daemon={t.daemon})" for t in leaked))
        pytest.fail(
            f"{len(leaked)} thread(s) still running {THREAD_EXIT_GRACE}s after the test: {names}",
            pytrace=False,
        )


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
