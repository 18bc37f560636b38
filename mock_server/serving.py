"""How the command line serves the app: werkzeug's threaded server, with limits.

One thread per connection, as werkzeug serves, so a held long-poll costs a
sleeping thread and nothing else. What werkzeug leaves open is bounded here:

- **Time to send a request.** A connection has ``request_timeout`` seconds
  from when it is accepted to deliver its whole request (line, headers and
  body), however slowly it drips; an idle or half-sent one is then closed.
  Each send of the answer has the same time.
- **Connections served at once** (``max_connections``, one thread each).
  Beyond it, new connections wait in the listen backlog until one ends, and
  the bound is lowered, with a warning, to what the open-file limit allows.
- **Accepting at the open-file limit.** When ``accept`` fails for lack of
  descriptors, the server pauses before trying again instead of spinning.
- **A long-poll whose client hung up** ends at once (``mock_server.hangup``,
  used by the routes), freeing its thread and connection.

Why not a production WSGI server (waitress, gunicorn): their worker threads
are a fixed pool, and a long-poll holds a worker for its whole wait, so the
pool size would cap the long-polls held at once (a thousand are, in the load
benchmark) and queue every other request behind them. A sleeping thread per
connection is what a long-poll costs anyway; bounding their number and their
lifetime is what was missing.
"""

from __future__ import annotations

import errno
import io
import logging
import math
import socket
import threading
import time
from typing import Any

from werkzeug.serving import BaseWSGIServer, ThreadedWSGIServer, WSGIRequestHandler

from mock_server.app import create_app
from mock_server.config import ServerConfig

logger = logging.getLogger("mock_server")

#: Descriptors kept free of connections: the listening socket, stdio, logs,
#: and the selector werkzeug opens at the end of each request.
RESERVED_FILES = 64
#: Each connection may briefly hold two descriptors (its socket, and the
#: selector werkzeug opens to drain it).
FILES_PER_CONNECTION = 2
#: ``accept`` errors that mean "no descriptor or memory for now".
_OUT_OF_DESCRIPTORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class DeadlineReader(io.RawIOBase):
    """Reads a socket, each read bounded by what is left before ``deadline``.

    A socket timeout bounds one read; a client dripping a byte at a time
    would never trip it. The deadline bounds them all.

    Args:
        sock: The connection, with ``timeout`` already set on it.
        timeout: The socket's own timeout, restored after each read (it
            bounds sends too).
    """

    def __init__(self, sock: socket.socket, timeout: float) -> None:
        self._sock = sock
        self._timeout = timeout
        #: ``time.monotonic()`` after which reads fail with ``TimeoutError``.
        self.deadline = math.inf

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request was not received in time")
        self._sock.settimeout(min(left, self._timeout))
        try:
            return self._sock.recv_into(buffer)
        finally:
            self._sock.settimeout(self._timeout)


class RequestHandler(WSGIRequestHandler):
    """werkzeug's handler, with a deadline for receiving each request."""

    server: BoundedWSGIServer

    def setup(self) -> None:
        super().setup()
        timeout = self.server.request_timeout
        self.connection.settimeout(timeout)
        self._reader = DeadlineReader(self.connection, timeout)
        # Closed, or the socket would stay open after the server closes it.
        self.rfile.close()
        self.rfile = io.BufferedReader(self._reader)

    def handle_one_request(self) -> None:
        self._reader.deadline = time.monotonic() + self.server.request_timeout
        super().handle_one_request()


class BoundedWSGIServer(ThreadedWSGIServer):
    """werkzeug's threaded server, serving at most ``max_connections`` at once.

    Args:
        host: Address to bind.
        port: Port to bind.
        app: The WSGI app.
        max_connections: Connections (and threads) served at once.
        request_timeout: Seconds a connection has to deliver its request.
        fd: A listening socket to use instead of binding one.
    """

    #: Seconds ``accept`` waits after failing for lack of descriptors.
    accept_pause = 0.1
    #: Seconds to wait for a free slot before looking at shutdown again.
    slot_wait = 0.5

    def __init__(
        self,
        host: str,
        port: int,
        app: Any,
        *,
        max_connections: int,
        request_timeout: float,
        fd: int | None = None,
    ) -> None:
        self.request_timeout = request_timeout
        self._slots = threading.BoundedSemaphore(max_connections)
        # The connections holding a slot: socketserver may shut one down twice
        # (a signal while its thread starts, then the thread itself).
        self._holding: set[socket.socket] = set()
        self._holding_lock = threading.Lock()
        self._accept_failing = False
        super().__init__(host, port, app, handler=RequestHandler, fd=fd)

    def get_request(self) -> tuple[socket.socket, Any]:
        """Accept a connection once a slot is free (socketserver skips an ``OSError``)."""
        # Waiting here, before accept, leaves the next connections in the
        # kernel's backlog, where they cost no thread and no descriptor.
        if not self._slots.acquire(timeout=self.slot_wait):
            raise TimeoutError("every connection slot is taken")
        try:
            connection = super().get_request()
        except OSError as exc:
            self._slots.release()
            if exc.errno in _OUT_OF_DESCRIPTORS:
                if not self._accept_failing:
                    logger.warning("cannot accept connections (%s): retrying", exc)
                self._accept_failing = True
                # The listening socket stays readable: without a pause the
                # serving loop would retry at once, spinning a core.
                time.sleep(self.accept_pause)
            raise
        if self._accept_failing:
            logger.info("accepting connections again")
            self._accept_failing = False
        with self._holding_lock:
            self._holding.add(connection[0])
        return connection

    def shutdown_request(self, request: Any) -> None:
        """Close the connection and free its slot, once however often it is called."""
        try:
            super().shutdown_request(request)
        finally:
            with self._holding_lock:
                held = request in self._holding
                self._holding.discard(request)
            if held:
                self._slots.release()


def connections_that_fit(wanted: int, soft: int, hard: int) -> tuple[int, int]:
    """The open-file soft limit to ask for, and the connections it then allows.

    Args:
        wanted: Connections the config asks for.
        soft: The current soft limit (``resource.RLIM_INFINITY`` is negative).
        hard: The hard limit, the most the soft one may be raised to.

    Returns:
        ``(new_soft, connections)``; at least one connection.
    """
    needed = wanted * FILES_PER_CONNECTION + RESERVED_FILES
    if soft < 0:
        return soft, wanted
    new_soft = max(soft, needed if hard < 0 else min(needed, hard))
    return new_soft, max(1, min(wanted, (new_soft - RESERVED_FILES) // FILES_PER_CONNECTION))


def fit_open_files(wanted: int) -> int:
    """Raise the soft open-file limit toward ``wanted`` connections; return how many fit."""
    try:
        import resource
    except ImportError:  # Windows: no such limit to raise
        return wanted
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    new_soft, fits = connections_that_fit(wanted, soft, hard)
    if new_soft != soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, hard))
        except (ValueError, OSError):
            _, fits = connections_that_fit(wanted, soft, soft)
    if fits < wanted:
        logger.warning(
            "the open-file limit allows only %d connections at once, not %d", fits, wanted
        )
    return fits


def bind_socket(host: str, port: int, backlog: int) -> socket.socket:
    """A listening TCP socket; werkzeug's own uses a backlog of only 5."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def build_server(config: ServerConfig) -> BoundedWSGIServer:
    """The server for ``config``, bound and listening, not yet serving.

    Raises the process's open-file limit to fit ``max_connections`` where it
    can (see ``fit_open_files``).

    Raises:
        OSError: The address cannot be bound.
    """
    sock = bind_socket(config.host, config.port, config.backlog)
    with sock:
        # werkzeug duplicates the descriptor, so ours can be closed at once.
        return BoundedWSGIServer(
            config.host,
            config.port,
            create_app(config),
            max_connections=fit_open_files(config.max_connections),
            request_timeout=config.request_timeout,
            fd=sock.fileno(),
        )


def server_url(server: BaseWSGIServer) -> str:
    """``http://host:port`` with the port actually bound (useful with ``--port 0``)."""
    host, port = server.socket.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
