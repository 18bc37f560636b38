"""Noticing, during a long-poll, that its client has hung up.

A long-poll answers nobody once its client is gone; ``Hangup.wait`` sleeps
like the clock would, but ends as soon as the connection reaches end of
file, so the request's thread and connection are freed at once instead of
at the end of the wait.
"""

from __future__ import annotations

import selectors
import socket
import time
from collections.abc import Mapping
from typing import Any

# poll() has no ceiling on descriptor numbers, unlike select(); Windows has only select().
_Selector: type[selectors.BaseSelector] = getattr(
    selectors, "PollSelector", selectors.SelectSelector
)


class Hangup:
    """Watches a request's connection for the client hanging up.

    A long-poll answers nobody once its client is gone; ``wait`` lets it end
    then, instead of holding its thread for the whole wait.

    Args:
        sock: The request's connection.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._blind = False

    @classmethod
    def of(cls, environ: Mapping[str, Any]) -> Hangup | None:
        """A watch on the request's socket, when the WSGI server exposes it."""
        sock = environ.get("werkzeug.socket") or environ.get("gunicorn.socket")
        return cls(sock) if isinstance(sock, socket.socket) else None

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; return True as soon as the client has hung up.

        It may return False early; callers loop on their own deadline.
        """
        if seconds <= 0:
            return False
        if self._blind:
            time.sleep(seconds)
            return False
        with _Selector() as selector:
            selector.register(self._sock, selectors.EVENT_READ)
            if not selector.select(seconds):
                return False
        try:
            data = self._sock.recv(1, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:  # reset by the peer
            return True
        if data:
            # The client sent more (a pipelined request): its end of file
            # can no longer be seen, and the socket stays readable, so
            # further waits just sleep.
            self._blind = True
            return False
        # End of file: the client closed, or shut down its sending side,
        # which HTTP clients do not do while awaiting an answer.
        return True
