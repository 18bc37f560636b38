"""The command line, run in-process (the live tests run it as a real process)."""

from __future__ import annotations

import json
import logging
import re
import signal
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.serving import BaseWSGIServer

from mock_server import ServerConfig
from mock_server.__main__ import main
from mock_server.serving import bind_socket, build_server, server_url


@pytest.fixture
def server() -> Iterator[BaseWSGIServer]:
    server = build_server(ServerConfig(port=0, backlog=1500, delay=0))
    thread = threading.Thread(target=server.serve_forever, name="test-server", daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_build_server_serves_on_a_free_port(server: BaseWSGIServer) -> None:
    url = server_url(server)
    assert url.startswith("http://127.0.0.1:")
    assert not url.endswith(":0")
    with urllib.request.urlopen(url + "/status", timeout=5) as response:
        assert json.loads(response.read()) == {"result": "completed"}


def test_bind_socket_uses_the_backlog() -> None:
    with bind_socket("127.0.0.1", 0, 1024) as sock:
        assert sock.getsockname()[1] != 0


def test_main_reports_a_busy_port(capsys: pytest.CaptureFixture[str]) -> None:
    with bind_socket("127.0.0.1", 0, 8) as sock:
        port = sock.getsockname()[1]
        assert main(["--port", str(port)]) == 1
    assert "cannot listen" in capsys.readouterr().err


def test_main_bad_flag_exits_2() -> None:
    with pytest.raises(SystemExit) as info:
        main(["--delay", "-5"])
    assert info.value.code == 2


def test_main_serves_until_interrupted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    handlers: dict[int, Any] = {}
    monkeypatch.setattr(signal, "signal", lambda num, handler: handlers.update({num: handler}))

    statuses: list[int] = []

    def fetch(url: str) -> None:
        with urllib.request.urlopen(url + "/healthz", timeout=5) as response:
            statuses.append(response.status)

    def serve_forever(self: BaseWSGIServer, poll_interval: float = 0.5) -> None:
        # Serve one request for real, then act as if Ctrl-C was pressed.
        client = threading.Thread(target=fetch, args=(server_url(self),))
        client.start()
        self.handle_request()
        client.join(5)
        raise KeyboardInterrupt

    monkeypatch.setattr(BaseWSGIServer, "serve_forever", serve_forever)
    ours, werkzeug = logging.getLogger("mock_server"), logging.getLogger("werkzeug")
    levels = ours.level, werkzeug.level
    try:
        assert main(["--port", "0", "--log-level", "WARNING"]) == 0
        assert ours.level == logging.WARNING
    finally:
        ours.setLevel(levels[0])
        werkzeug.setLevel(levels[1])
    assert statuses == [200]
    line = capsys.readouterr().out
    assert re.fullmatch(r"heygen-mock-server listening on http://127\.0\.0\.1:\d+\n", line)
    # SIGTERM ends the server like Ctrl-C, through SystemExit(0).
    with pytest.raises(SystemExit) as info:
        handlers[signal.SIGTERM](signal.SIGTERM, None)
    assert info.value.code == 0
