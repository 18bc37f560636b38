"""The connections under :class:`~heygen_client._transport.Transport`.

Every socket the session opens is registered (:class:`SocketRegistry`), so
closing the transport can ``shutdown()`` sockets that worker threads are
blocked on (a 30 s long-poll): that is how ``TranslationClient.close()``
returns within a second.

Every read of an answer is bounded by the request's deadline
(:func:`request_deadline`), not only by the per-read timeout, and ends early
once nobody waits for the answer (:func:`abandon_when`).
"""

from __future__ import annotations

import contextlib
import http.client
import io
import math
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import requests.adapters
import urllib3.util
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

# When the request this thread is making must end (time.monotonic()), and
# whether its answer is still wanted: read by every socket read of our own
# adapter's connections.
_deadline = threading.local()
#: Seconds between two looks at whether a held request is still wanted.
ABANDON_CHECK = 0.5


class RequestAbandoned(ConnectionAbortedError):
    """The request was given up: every future waiting on its answer is settled."""


@contextlib.contextmanager
def abandon_when(abandoned: Callable[[], bool]) -> Iterator[None]:
    """Within the block, this thread's requests end once ``abandoned()`` is true.

    The scheduler wraps each request in it, so a request whose jobs all stopped
    being tracked (deadline, cancel) stops reading: no worker stays held by a
    slow or endless answer nobody waits for.
    """
    _deadline.abandoned = abandoned
    try:
        yield
    finally:
        _deadline.abandoned = None


@contextlib.contextmanager
def request_deadline(at: float) -> Iterator[None]:
    """Within the block, this thread's socket reads end by ``at`` (``time.monotonic()``)."""
    _deadline.at = at
    try:
        yield
    finally:
        _deadline.at = None


def origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of ``url``, with the scheme's default port filled in."""
    parts = urllib3.util.parse_url(url)
    scheme = (parts.scheme or "").lower()
    default = {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.host or "").lower(), parts.port or default


def origin_text(url: str) -> str:
    """The origin of ``url`` as ``scheme://host:port``."""
    scheme, host, port = origin(url)
    return f"{scheme}://{host}:{port}"


class SocketRegistry:
    """The sockets a session has opened, so that close() can unblock their readers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self.closed = False

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            if not self.closed:
                self._sockets.add(sock)
                return
        # Nobody else holds this socket yet (the connection never gets it): close it
        # here, or it lingers until garbage collection (a ResourceWarning).
        _shutdown(sock)
        sock.close()
        raise OSError("client closed")

    def close(self) -> int:
        with self._lock:
            self.closed = True
            sockets = list(self._sockets)
            self._sockets.clear()
        for sock in sockets:
            _shutdown(sock)
        return len(sockets)


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class _DeadlineReader(io.RawIOBase):
    """A socket's reads, each bounded by the read timeout and by the request's deadline.

    http.client reads a response (status line, headers, body) through the file of
    :meth:`socket.socket.makefile`; the socket's timeout bounds each ``recv`` alone,
    so a server dripping a byte a second holds a request forever.  Here every read
    first shortens the timeout to what is left of the calling thread's deadline.
    """

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self._sock = sock
        self._io = sock.makefile("rb", buffering=0)  # counts as a user of the socket
        self._read_timeout = sock.gettimeout()  # urllib3 set it to the read timeout

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._io.fileno()

    def readinto(self, buffer: Any) -> int | None:
        at: float | None = getattr(_deadline, "at", None)
        abandoned: Callable[[], bool] | None = getattr(_deadline, "abandoned", None)
        if at is None and abandoned is None:
            return self._io.readinto(buffer)
        per_read = self._read_timeout
        now = time.monotonic()
        idle_until = now + per_read if per_read is not None else math.inf
        end = min(idle_until, at if at is not None else math.inf)
        while True:
            if abandoned is not None and abandoned():
                raise RequestAbandoned("nobody waits for this answer any more")
            left = end - now
            if left <= 0:
                raise TimeoutError("the request ran past its total time limit")
            # With someone to ask whether the answer is still wanted, wake up
            # every ABANDON_CHECK seconds to ask (a long-poll is held for long).
            self._sock.settimeout(min(left, ABANDON_CHECK) if abandoned else left)
            try:
                # recv_into, not the socket file: a file that timed out once
                # refuses every later read.
                return self._sock.recv_into(buffer)
            except TimeoutError:
                now = time.monotonic()
                if abandoned is None or now >= end:
                    raise

    def close(self) -> None:
        if not self.closed:
            self._io.close()
        super().close()


class _DeadlineSocket:
    """What :class:`http.client.HTTPResponse` takes from a socket: ``makefile``."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock))


class _DeadlineResponse(http.client.HTTPResponse):
    """An HTTP response read through a :class:`_DeadlineReader`."""

    def __init__(self, sock: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(_DeadlineSocket(sock), *args, **kwargs)  # type: ignore[arg-type]


def tracking_adapter(registry: SocketRegistry, pool_size: int) -> requests.adapters.HTTPAdapter:
    """An adapter whose connections register their sockets with ``registry``
    and read their answers within the request's deadline."""

    class _Conn(HTTPConnection):
        response_class = _DeadlineResponse

        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            registry.add(sock)
            return sock

    class _SConn(HTTPSConnection):
        response_class = _DeadlineResponse

        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            registry.add(sock)
            return sock

    class _Pool(HTTPConnectionPool):
        ConnectionCls = _Conn

    class _SPool(HTTPSConnectionPool):
        ConnectionCls = _SConn

    class _Adapter(requests.adapters.HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": _Pool, "https": _SPool}

    # pool_block=False: a burst beyond pool_size opens extra connections rather than waiting.
    return _Adapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
