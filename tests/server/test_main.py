"""The command line, run in-process (the live tests run it as a real process)."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator

import pytest
from werkzeug.serving import BaseWSGIServer

from mock_server import ServerConfig
from mock_server.__main__ import bind_socket, build_server, main, server_url


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
