"""The real server over raw sockets: what an HTTP library would not send."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from mock_server import ServerConfig
from mock_server.app import max_content_length
from mock_server.testing import LiveServer

pytestmark = pytest.mark.live

LIMIT = max_content_length(ServerConfig())


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    """One default server for the tests that leave it as they found it."""
    server = LiveServer("--delay", "60")
    yield server
    server.stop()


def exchange(server: LiveServer, request: bytes) -> tuple[int, Any]:
    """Send raw bytes; return the status and JSON body of the answer."""
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(request)
        response = http.client.HTTPResponse(sock)
        response.begin()
        assert response.getheader("Content-Type") == "application/json"
        return response.status, json.loads(response.read())


def chunked(body: bytes, size: int = 65536) -> bytes:
    """``body`` in chunks of ``size`` bytes, then the last chunk."""
    chunks = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks) + b"0\r\n\r\n"


def post(path: str, headers: str, body: bytes) -> bytes:
    return f"POST {path} HTTP/1.1\r\nHost: test\r\n{headers}\r\n".encode() + body


def test_a_chunked_body_is_read(server: LiveServer) -> None:
    request = post("/jobs", "Transfer-Encoding: chunked\r\n", chunked(b'{"delay": 1.25}', 4))
    status, body = exchange(server, request)
    assert (status, body["delay"]) == (201, 1.25)


def test_a_chunked_body_over_the_limit_is_413_not_cut(server: LiveServer) -> None:
    created = server.stats()["jobs_created"]
    # Cut at the limit this body is blank, which would create a default job.
    body = b" " * (5 * LIMIT) + b'{"delay": 1.25}'
    status, answer = exchange(
        server, post("/jobs", "Transfer-Encoding: chunked\r\n", chunked(body))
    )
    assert (status, answer["error"]["code"]) == (413, "payload_too_large")
    assert server.stats()["jobs_created"] == created


def test_a_chunked_batch_over_the_limit_is_413(server: LiveServer) -> None:
    body = json.dumps({"job_ids": ["j" + "A" * 127] * 2000}).encode()
    request = post("/status/batch", "Transfer-Encoding: chunked\r\n", chunked(body))
    status, answer = exchange(server, request)
    assert (status, answer["error"]["code"]) == (413, "payload_too_large")


def test_content_length_beside_transfer_encoding_is_400(server: LiveServer) -> None:
    headers = "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"
    status, answer = exchange(server, post("/jobs", headers, chunked(b'{"delay": 1.25}')))
    assert (status, answer["error"]["code"]) == (400, "bad_request")
