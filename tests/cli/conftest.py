"""One mock server for a whole test module of tests/cli.

Most CLI tests create their own jobs (``submit``, with short delays), so they
can share a server; starting one per test (the ``live_server`` fixture) would
cost most of the package's time budget. Tests that need a fresh default job or
other flags use ``live_server_factory``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests._live import LiveServer
from tests.conftest import LIVE_SERVER_FLAGS


@pytest.fixture(scope="module")
def cli_server() -> Iterator[LiveServer]:
    """A server with the ``live_server`` fixture's flags, shared by a module's tests."""
    with LiveServer(*LIVE_SERVER_FLAGS) as server:
        yield server
