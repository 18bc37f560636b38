"""The real server over raw sockets: what an HTTP library would not send.

Chunked bodies, connections that send too slowly or not at all, long-polls
whose client left, and more connections than the server serves at once.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mock_server import ServerConfig
from mock_server.app import max_content_length
from mock_server.testing import LiveServer

pytestmark = pytest.mark.live

LIMIT = max_content_length(ServerConfig())

Factory = Callable[..., LiveServer]


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


# -- per-connection limits ----------------------------------------------------

REQUEST_TIMEOUT = 0.5
#: Generous bound on how soon the server must act after REQUEST_TIMEOUT.
WITHIN = 5.0


@pytest.fixture(scope="module")
def strict_server() -> Iterator[LiveServer]:
    """A server that gives each connection one second to send its request."""
    server = LiveServer("--delay", "60", "--request-timeout", str(REQUEST_TIMEOUT))
    yield server
    server.stop()


def connect(server: LiveServer) -> socket.socket:
    return socket.create_connection((server.host, server.port), timeout=WITHIN)


def assert_closed_by_server(sock: socket.socket) -> None:
    """Read to end of file, which must come within ``WITHIN`` seconds."""
    deadline = time.monotonic() + WITHIN
    with sock:
        while time.monotonic() < deadline:
            try:
                if not sock.recv(4096):
                    return
            except ConnectionResetError:
                return
        pytest.fail("the server kept the connection open")


def test_an_idle_connection_is_closed(strict_server: LiveServer) -> None:
    assert_closed_by_server(connect(strict_server))


def test_half_sent_headers_are_closed(strict_server: LiveServer) -> None:
    sock = connect(strict_server)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n")
    assert_closed_by_server(sock)


def test_headers_dripped_a_byte_at_a_time_are_cut_at_the_deadline(
    strict_server: LiveServer,
) -> None:
    # Each byte comes well within the timeout: only a bound on the whole
    # request stops this.
    started = time.monotonic()
    with connect(strict_server) as sock:
        sock.settimeout(0.2)
        while time.monotonic() - started < WITHIN:
            try:
                sock.sendall(b"X")
                if not sock.recv(4096):
                    break
            except TimeoutError:
                continue  # still open: drip on
            except (ConnectionResetError, BrokenPipeError):
                break
        else:
            pytest.fail("the server kept reading a dripped request")
    assert time.monotonic() - started >= REQUEST_TIMEOUT * 0.9


def test_a_chunked_body_not_sent_in_time_is_408(strict_server: LiveServer) -> None:
    start = post("/jobs", "Transfer-Encoding: chunked\r\n", b'f\r\n{"delay"')
    status, answer = exchange(strict_server, start)  # the rest never comes
    assert (status, answer["error"]["code"]) == (408, "request_timeout")


def test_a_long_poll_outlasts_the_request_timeout(strict_server: LiveServer) -> None:
    job_id = create_job(strict_server)
    wait = REQUEST_TIMEOUT * 2
    request = f"GET /status?job_id={job_id}&wait={wait} HTTP/1.1\r\nHost: test\r\n\r\n"
    started = time.monotonic()
    status, answer = exchange(strict_server, request.encode())
    assert (status, answer["result"]) == (200, "pending")
    assert time.monotonic() - started >= wait * 0.9


@pytest.mark.parametrize("batch", [False, True], ids=["status", "batch"])
def test_a_long_poll_ends_when_its_client_hangs_up(server: LiveServer, batch: bool) -> None:
    job_id = create_job(server)
    if batch:
        body = json.dumps({"job_ids": [job_id], "wait": 30}).encode()
        request = post("/status/batch", f"Content-Length: {len(body)}\r\n", body)
    else:
        request = f"GET /status?job_id={job_id}&wait=30 HTTP/1.1\r\nHost: test\r\n\r\n".encode()
    with connect(server) as sock:
        sock.sendall(request)
        wait_for_long_polls(server, 1)
    # Without noticing, the server would hold it for the whole 30 s wait.
    wait_for_long_polls(server, 0)


def test_connections_beyond_the_bound_wait_their_turn(live_server_factory: Factory) -> None:
    server = live_server_factory("--max-connections", "2", "--request-timeout", "1")
    with connect(server), connect(server):
        # Both slots are held by idle connections until their timeout ends them.
        started = time.monotonic()
        status, answer = exchange(server, b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        assert (status, answer) == (200, {"status": "ok"})
        assert time.monotonic() - started >= 0.5


def create_job(server: LiveServer) -> str:
    request = post("/jobs", "Content-Length: 2\r\n", b"{}")
    status, answer = exchange(server, request)
    assert status == 201
    job_id: str = answer["job_id"]
    return job_id


def wait_for_long_polls(server: LiveServer, count: int) -> None:
    deadline = time.monotonic() + WITHIN
    while (active := server.stats()["long_polls_active"]) != count:
        assert time.monotonic() < deadline, f"{active} long-polls held, expected {count}"
        time.sleep(0.02)
