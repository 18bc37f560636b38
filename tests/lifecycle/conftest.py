"""A live server whose jobs pend for a minute, and the tests' own view of it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from mock_server.testing import LiveServer
from tests.chaos._support import ServerProbe


@pytest.fixture
def server(live_server_factory: Callable[..., LiveServer]) -> LiveServer:
    """A live server whose jobs pend for a minute unless told otherwise."""
    return live_server_factory("--delay", "60", "--seed", "9", "--log-level", "WARNING")


@pytest.fixture
def probe(server: LiveServer) -> Iterator[ServerProbe]:
    """The test's own view of ``server``."""
    probe = ServerProbe(server)
    yield probe
    probe.close()
