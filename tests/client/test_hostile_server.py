"""The transport against a server that misbehaves in ways the mock's fault flags do not.

A tiny loopback ``http.server`` per test drips bytes, redirects (two servers on
two ports are two origins), serves deeply nested JSON and bodies of 10 MB and
without end. Every request must end, in bounded time and memory, with one of
our errors, and the API key must not leave its origin.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from heygen_client import BaseBackend, JobStatus, TranslationClient
from heygen_client._connections import ABANDON_CHECK, abandon_when
from heygen_client._transport import MAX_REDIRECTS, Transport
from heygen_client.errors import (
    DeadlineExceeded,
    HTTPStatusError,
    MalformedResponse,
    ReadTimeout,
    TransportError,
)
from tests._wait import wait_until

#: Seconds between two dripped bytes: well under the read timeout, so no single
#: read ever times out.
DRIP = 0.05
CONNECT_TIMEOUT = 0.3
READ_TIMEOUT = 0.4
#: What a request may take in all, with slack for a loaded machine.
TOTAL_LIMIT = CONNECT_TIMEOUT + READ_TIMEOUT + 1.0
KEY = "secret-key"
TEN_MB = 10 * 1024 * 1024


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HostileServer:
    """A loopback HTTP/1.1 server with one misbehaviour per path."""

    stop: threading.Event = field(default_factory=threading.Event)
    seen: list[Seen] = field(default_factory=list)
    #: Set when a client hung up with an answer unread.
    hung_up: threading.Event = field(default_factory=threading.Event)
    httpd: http.server.ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.httpd is not None
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> None:
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 5.0  # an idle keep-alive connection ends

            def log_message(self, *args: object) -> None:
                pass

            def handle(self) -> None:
                try:
                    super().handle()
                except (BrokenPipeError, ConnectionResetError):
                    # Writing, or reading the next request: the client hung up
                    # with our answer unread (a reset says so).
                    server.hung_up.set()

            def do_GET(self) -> None:
                self.handle_any()

            def do_POST(self) -> None:
                self.handle_any()

            def handle_any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                url = urllib.parse.urlsplit(self.path)
                server.seen.append(Seen(self.command, url.path, dict(self.headers), body))
                query = dict(urllib.parse.parse_qsl(url.query))
                route = getattr(self, "route_" + url.path.strip("/").replace("-", "_"), None)
                if route is None:
                    self.answer(200, b'{"job_id": "j", "result": "pending"}')
                else:
                    route(query)

            def answer(self, code: int, body: bytes, **headers: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name.replace("_", "-"), value)
                self.end_headers()
                self.wfile.write(body)

            def route_drip_body(self, _: dict[str, str]) -> None:
                self.send_response(200)
                self.send_header("Content-Length", "100000")
                self.end_headers()
                self.drip(b"{" + b" " * 99_999)

            def route_drip_head(self, _: dict[str, str]) -> None:
                self.drip(b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100_000)

            def drip(self, data: bytes) -> None:
                for byte in data:
                    if server.stop.wait(DRIP):
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()

            def route_redirect(self, query: dict[str, str]) -> None:
                code = int(query.get("code", "302"))
                self.answer(code, b"{}", Location=query["to"])

            def route_loop(self, _: dict[str, str]) -> None:
                self.answer(302, b"{}", Location="/loop")

            def route_nested(self, _: dict[str, str]) -> None:
                self.answer(200, b"[" * 100_000 + b"]" * 100_000)

            def route_nested_error(self, _: dict[str, str]) -> None:
                self.answer(503, b"[" * 1_500 + b"]" * 1_500, Retry_After="1")

            def route_big(self, query: dict[str, str]) -> None:
                code = int(query.get("code", "200"))
                self.send_response(code)
                self.send_header("Content-Length", str(TEN_MB))
                self.end_headers()
                self.stream(b"x" * 65536, TEN_MB // 65536)

            def route_endless(self, _: dict[str, str]) -> None:
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.stream(b"10000\r\n" + b" " * 0x10000 + b"\r\n", None)

            def stream(self, chunk: bytes, count: int | None) -> None:
                sent = 0
                while (count is None or sent < count) and not server.stop.is_set():
                    self.wfile.write(chunk)
                    sent += 1

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = False  # server_close() joins the handlers

        self.httpd = Server(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self.httpd.serve_forever, args=(0.02,), name="hostile-server"
        ).start()

    def close(self) -> None:
        self.stop.set()
        assert self.httpd is not None
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers() -> Iterator[Callable[[], HostileServer]]:
    started: list[HostileServer] = []

    def start() -> HostileServer:
        server = HostileServer()
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


@pytest.fixture
def server(servers: Callable[[], HostileServer]) -> HostileServer:
    return servers()


@pytest.fixture
def transport(server: HostileServer) -> Iterator[Transport]:
    transport = Transport(
        server.url,
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        headers={"X-Api-Key": KEY, "Authorization": f"Bearer {KEY}"},
    )
    yield transport
    transport.close()


# -- time ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/drip-body", "/drip-head"])
def test_a_dripping_answer_ends_at_the_total_time_limit(transport: Transport, path: str) -> None:
    started = time.monotonic()
    with pytest.raises(ReadTimeout):
        transport.request("GET", path)
    took = time.monotonic() - started
    # A read timeout (the server is there, and slow), also when the body drips.
    # Each byte came well within the read timeout: only a bound on the whole
    # request ends it (before, it ran for the 100,000 bytes: 83 minutes).
    assert READ_TIMEOUT < took < TOTAL_LIMIT, took
    assert transport.counts() == {"timeout": 1}


def test_a_long_polls_limit_adds_its_wait(server: HostileServer) -> None:
    transport = Transport(server.url, connect_timeout=0.1, read_timeout=0.1, long_poll_margin=0.1)
    try:
        started = time.monotonic()
        with pytest.raises(ReadTimeout):
            transport.request("GET", "/drip-body", wait=0.5)
        took = time.monotonic() - started
    finally:
        transport.close()
    assert 0.7 <= took < 0.8 + 1.0, took


def test_a_request_nobody_waits_for_is_given_up(server: HostileServer) -> None:
    """A dripping answer under a generous read timeout ends once it is not wanted."""
    transport = Transport(server.url, connect_timeout=1.0, read_timeout=30.0)
    wanted_until = time.monotonic() + 0.3
    try:
        started = time.monotonic()
        with (
            abandon_when(lambda: time.monotonic() > wanted_until),
            pytest.raises(TransportError, match="nobody waits for the answer"),
        ):
            transport.request("GET", "/drip-body")
        took = time.monotonic() - started
    finally:
        transport.close()
    assert 0.3 <= took < 0.3 + ABANDON_CHECK + 1.0, took


def test_a_worker_is_freed_when_its_jobs_deadline_passes(server: HostileServer) -> None:
    """The scheduler gives up a request once none of its jobs is tracked any more."""

    class Dripping(BaseBackend):
        def __init__(self, transport: Transport) -> None:
            self.transport = transport

        def get_status(self, job_id: str | None, *, wait: float | None = None) -> JobStatus:
            self.transport.request("GET", "/drip-body")
            raise AssertionError("the dripping answer never ends in time")

    with TranslationClient(server.url, api=Dripping, read_timeout=30.0) as client:
        future = client.track("j", deadline=0.2)
        assert isinstance(future.exception(timeout=5), DeadlineExceeded)
        scheduler = client._scheduler
        wait_until(lambda: scheduler.budget.in_flight_short == 0, timeout=ABANDON_CHECK + 2)


def test_the_connection_is_reused_after_a_bounded_request(
    server: HostileServer, transport: Transport
) -> None:
    for _ in range(3):
        data, _ = transport.request("GET", "/status")
        assert data["result"] == "pending"
    ports = {s.headers.get("Host") for s in server.seen}
    assert len(ports) == 1
    # One TCP connection served all three (keep-alive survives the deadline reader).
    assert len(transport._registry._sockets) == 1


# -- size ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/big", "/endless"])
def test_a_body_over_the_cap_is_refused_and_the_connection_dropped(
    server: HostileServer, transport: Transport, path: str
) -> None:
    started = time.monotonic()
    with pytest.raises(MalformedResponse, match="larger than"):
        transport.request("GET", path)
    assert time.monotonic() - started < TOTAL_LIMIT
    assert transport.counts() == {"malformed": 1}
    # The server, still writing, finds the client gone.
    assert server.hung_up.wait(5)


def test_the_cap_is_an_option(server: HostileServer) -> None:
    client = TranslationClient(server.url, max_response_bytes=10, discover=False)
    try:
        with pytest.raises(MalformedResponse, match="larger than 10 bytes"):
            client.get_status("j")
    finally:
        client.close()
    with pytest.raises(ValueError, match="max_response_bytes"):
        TranslationClient(server.url, max_response_bytes=0)


def test_an_error_with_a_huge_body_keeps_its_status(transport: Transport) -> None:
    with pytest.raises(HTTPStatusError) as info:
        transport.request("GET", "/big", params={"code": "503"})
    assert info.value.status_code == 503
    assert info.value.retryable
    assert len(info.value.body) <= 2000


# -- nesting ---------------------------------------------------------------------


def test_deeply_nested_json_is_a_malformed_answer(transport: Transport) -> None:
    with pytest.raises(MalformedResponse) as info:
        transport.request("GET", "/nested")  # before: a bare RecursionError, as transport
    assert isinstance(info.value.__cause__, RecursionError)
    assert transport.counts() == {"malformed": 1}


def test_a_deeply_nested_error_body_keeps_its_status(transport: Transport) -> None:
    with pytest.raises(HTTPStatusError) as info:
        transport.request("GET", "/nested-error")
    assert info.value.status_code == 503
    assert info.value.retry_after == 1.0


# -- redirects -------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_a_redirect_to_another_origin_is_not_followed(
    servers: Callable[[], HostileServer], method: str, code: int
) -> None:
    home, elsewhere = servers(), servers()
    transport = Transport(home.url, headers={"X-Api-Key": KEY})
    try:
        with pytest.raises(HTTPStatusError, match="another origin") as info:
            transport.request(
                method,
                "/redirect",
                params={"to": elsewhere.url + "/steal", "code": str(code)},
                body={"delay": 1} if method == "POST" else None,
            )
    finally:
        transport.close()
    assert info.value.status_code == code
    assert not info.value.retryable
    assert elsewhere.seen == []  # not even a request without the key
    assert transport.counts() == {"http_3xx": 1}


def test_a_same_origin_get_redirect_is_followed(
    server: HostileServer, transport: Transport
) -> None:
    data, _ = transport.request("GET", "/redirect", params={"to": "/status?job_id=j"})
    assert data["result"] == "pending"
    assert [s.path for s in server.seen] == ["/redirect", "/status"]
    assert server.seen[1].headers["X-Api-Key"] == KEY


@pytest.mark.parametrize("code", [301, 302, 303])
def test_a_post_is_never_turned_into_a_get(
    server: HostileServer, transport: Transport, code: int
) -> None:
    with pytest.raises(HTTPStatusError, match="would turn the POST into a GET"):
        transport.request(
            "POST", "/redirect", params={"to": "/jobs", "code": str(code)}, body={"delay": 1}
        )
    assert [(s.method, s.path) for s in server.seen] == [("POST", "/redirect")]


@pytest.mark.parametrize("code", [307, 308])
def test_a_post_keeps_its_method_and_body_through_307_and_308(
    server: HostileServer, transport: Transport, code: int
) -> None:
    transport.request(
        "POST", "/redirect", params={"to": "/jobs", "code": str(code)}, body={"delay": 1}
    )
    last = server.seen[-1]
    assert (last.method, last.path) == ("POST", "/jobs")
    assert json.loads(last.body) == {"delay": 1}


def test_a_redirect_loop_ends(server: HostileServer, transport: Transport) -> None:
    with pytest.raises(HTTPStatusError, match="redirects"):
        transport.request("GET", "/loop")
    assert len(server.seen) == MAX_REDIRECTS + 1
