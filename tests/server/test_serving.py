"""The serving pieces on their own: deadlines, slots, open files and hang-ups.

``test_connections.py`` checks the same behaviour end to end on a live server.
"""

from __future__ import annotations

import errno
import socket
import socketserver
import time
from collections.abc import Iterator

import pytest

from mock_server import ServerConfig
from mock_server.hangup import Hangup
from mock_server.serving import (
    FILES_PER_CONNECTION,
    RESERVED_FILES,
    BoundedWSGIServer,
    DeadlineReader,
    build_server,
    connections_that_fit,
)


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        yield ours, theirs


def test_deadline_reader_reads_until_the_deadline(pair: tuple[socket.socket, ...]) -> None:
    ours, theirs = pair
    ours.settimeout(5.0)
    reader = DeadlineReader(ours, 5.0)
    theirs.sendall(b"GET")
    reader.deadline = time.monotonic() + 5.0
    assert reader.read(10) == b"GET"
    assert ours.gettimeout() == 5.0  # restored: it bounds sends too
    reader.deadline = time.monotonic() - 0.001
    theirs.sendall(b" /")
    with pytest.raises(TimeoutError):
        reader.read(10)


def test_deadline_reader_waits_no_longer_than_the_deadline(
    pair: tuple[socket.socket, ...],
) -> None:
    ours, _ = pair
    ours.settimeout(60.0)
    reader = DeadlineReader(ours, 60.0)
    reader.deadline = time.monotonic() + 0.05
    with pytest.raises(TimeoutError):
        reader.read(10)  # nothing is ever sent


@pytest.mark.parametrize(
    ("wanted", "soft", "hard", "expected"),
    [
        # Room enough already.
        (100, 20000, 20000, (20000, 100)),
        # Raised as far as needed.
        (4096, 1024, 1_048_576, (4096 * FILES_PER_CONNECTION + RESERVED_FILES, 4096)),
        # Raised to the hard limit, which caps the connections.
        (4096, 1024, 4096, (4096, (4096 - RESERVED_FILES) // FILES_PER_CONNECTION)),
        # No limit at all (RLIM_INFINITY is -1 on Linux).
        (4096, -1, -1, (-1, 4096)),
        (4096, 1024, -1, (4096 * FILES_PER_CONNECTION + RESERVED_FILES, 4096)),
        # Hopeless, but still one connection.
        (10, 16, 16, (16, 1)),
    ],
)
def test_connections_fit_the_open_file_limit(
    wanted: int, soft: int, hard: int, expected: tuple[int, int]
) -> None:
    assert connections_that_fit(wanted, soft, hard) == expected


@pytest.fixture
def server() -> Iterator[BoundedWSGIServer]:
    server = build_server(ServerConfig(port=0, max_connections=2, request_timeout=1.0))
    yield server
    server.server_close()


def test_accept_out_of_descriptors_pauses_and_frees_its_slot(
    server: BoundedWSGIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def out_of_files(self: socketserver.TCPServer) -> None:
        raise OSError(errno.EMFILE, "Too many open files")

    server.accept_pause = 0.02
    with monkeypatch.context() as patch:
        patch.setattr(socketserver.TCPServer, "get_request", out_of_files)
        for _ in range(3):  # more failures than slots: each one gave its slot back
            started = time.monotonic()
            with pytest.raises(OSError, match="Too many open files"):
                server.get_request()
            # The listening socket stays readable: without a pause the loop spins.
            assert time.monotonic() - started >= 0.02
    with socket.create_connection(server.socket.getsockname()[:2]):
        connection, _ = server.get_request()
        server.shutdown_request(connection)


def test_connections_beyond_the_bound_wait_in_the_backlog(server: BoundedWSGIServer) -> None:
    address = server.socket.getsockname()[:2]
    server.slot_wait = 0.01
    clients = [socket.create_connection(address) for _ in range(3)]
    try:
        held = [server.get_request()[0] for _ in range(2)]
        with pytest.raises(TimeoutError):
            server.get_request()  # the third waits until a slot is free
        server.shutdown_request(held.pop())
        held.append(server.get_request()[0])
        for connection in held:
            server.shutdown_request(connection)
    finally:
        for client in clients:
            client.close()


def test_hangup_sees_the_client_close(pair: tuple[socket.socket, ...]) -> None:
    ours, theirs = pair
    theirs.close()
    started = time.monotonic()
    assert Hangup(ours).wait(30.0)
    assert time.monotonic() - started < 5.0


def test_hangup_waits_out_a_client_that_stays(pair: tuple[socket.socket, ...]) -> None:
    ours, _ = pair
    started = time.monotonic()
    assert not Hangup(ours).wait(0.05)
    assert time.monotonic() - started >= 0.05


def test_hangup_goes_blind_when_the_client_sends_more(pair: tuple[socket.socket, ...]) -> None:
    ours, theirs = pair
    theirs.sendall(b"GET /next HTTP/1.1\r\n")
    hangup = Hangup(ours)
    assert not hangup.wait(5.0)  # data, not an end of file
    theirs.close()
    # The unread bytes hide the end of file, and keep the socket readable:
    # it sleeps the wait out rather than return at once, again and again.
    started = time.monotonic()
    assert not hangup.wait(0.05)
    assert time.monotonic() - started >= 0.05
    assert ours.recv(100) == b"GET /next HTTP/1.1\r\n"  # peeked, never consumed


def test_hangup_of_a_request_without_a_socket() -> None:
    assert Hangup.of({}) is None
    assert Hangup.of({"werkzeug.socket": "not a socket"}) is None


def test_hangup_ignores_a_zero_wait(pair: tuple[socket.socket, ...]) -> None:
    ours, theirs = pair
    theirs.close()
    assert not Hangup(ours).wait(0.0)


def test_a_connection_shut_down_twice_frees_its_slot_once(server: BoundedWSGIServer) -> None:
    """A SIGTERM while a connection's thread starts made socketserver shut it down
    once in the serving loop and once in the thread: the second release raised
    ValueError over the SystemExit, and the server exited with status 1."""
    address = server.socket.getsockname()[:2]
    server.slot_wait = 0.01
    clients = [socket.create_connection(address) for _ in range(3)]
    try:
        first = server.get_request()[0]
        second = server.get_request()[0]
        server.shutdown_request(first)
        server.shutdown_request(first)  # no ValueError, and no slot gained
        third = server.get_request()[0]
        with pytest.raises(TimeoutError):
            server.get_request()  # still two slots, both taken
        server.shutdown_request(second)
        server.shutdown_request(third)
    finally:
        for client in clients:
            client.close()
