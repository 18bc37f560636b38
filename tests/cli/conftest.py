"""One mock server for a whole test module of tests/cli.

Most CLI tests create their own jobs (``submit``, with short delays), so they
can share a server; starting one per test (the ``live_server`` fixture) would
cost most of the package's time budget. Tests that need a fresh default job or
other flags use ``live_server_factory``. Two stubs stand for servers the mock
server will not be: one that never answers, one that always says 429.
"""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator

import pytest

from mock_server.testing import LiveServer
from tests.conftest import LIVE_SERVER_FLAGS


@pytest.fixture(scope="module")
def cli_server() -> Iterator[LiveServer]:
    """A server with the ``live_server`` fixture's flags, shared by a module's tests."""
    with LiveServer(*LIVE_SERVER_FLAGS) as server:
        yield server


class SilentServer:
    """A socket that accepts connections and never answers (a hung server).

    Its thread accepts until :meth:`close`, which also closes every connection.
    """

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="silent-server")
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            self.accepted.append(connection)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._listener.close()
        for connection in self.accepted:
            connection.close()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    """A server that accepts connections and never answers; closed at teardown."""
    server = SilentServer()
    try:
        yield server
    finally:
        server.close()


class _Always429(http.server.BaseHTTPRequestHandler):
    """Every request: 429 with ``Retry-After: 0``, counted on the server."""

    server: CountingServer

    def _answer(self) -> None:
        self.server.requests += 1
        body = b'{"error": {"code": "rate_limited", "message": "slow down"}}'
        self.send_response(429)
        self.send_header("Content-Type", "application/json")
        self.send_header("Retry-After", self.server.retry_after)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


class CountingServer(http.server.ThreadingHTTPServer):
    requests = 0
    retry_after = "0"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def always_429() -> Iterator[CountingServer]:
    """An HTTP server that answers every request 429 (``.retry_after``, default "0")."""
    server = CountingServer(("127.0.0.1", 0), _Always429)
    thread = threading.Thread(target=server.serve_forever, name="always-429")
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
