"""Misbehaviour on demand: injected faults, rate limiting and added latency.

Only status requests (``GET /status``, ``POST /status/batch``) are faulted or
delayed; the rate limit covers status and job requests. Observability routes
are never touched, so tests can always look at what happened.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import socket
import threading
from collections.abc import Iterator
from typing import Any

from flask import Response

from mock_server.config import ServerConfig

GARBAGE_BODY = (
    b"<html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>Bad Gateway</h1><p>upstream sent an invalid response</p></body></html>\n"
)
#: The ``result`` value of ``unknown-result`` faults: plausible, not in the protocol.
UNKNOWN_RESULT = "processing"


class FaultInjector:
    """Decides, per status request, whether to misbehave and how long to lag.

    Args:
        config: ``fault_rate``, ``fault_kinds``, ``latency``, ``latency_jitter``.
        rng: A seeded generator for this injector alone.
    """

    def __init__(self, config: ServerConfig, rng: random.Random) -> None:
        self._config = config
        self._rng = rng
        self._lock = threading.Lock()

    def pick_fault(self) -> str | None:
        """A fault kind for this request, or ``None`` to answer normally."""
        config = self._config
        if config.fault_rate <= 0:
            return None
        with self._lock:
            if self._rng.random() >= config.fault_rate:
                return None
            return self._rng.choice(config.fault_kinds)

    def latency(self) -> float:
        """Seconds to hold this status request before answering."""
        config = self._config
        if config.latency_jitter <= 0:
            return config.latency
        with self._lock:
            return config.latency + self._rng.uniform(0.0, config.latency_jitter)


class RateLimiter:
    """A token bucket per client address, on the server's clock.

    Each client may burst up to ``max(1, rate)`` requests, refilled at
    ``rate`` per second.

    Args:
        rate: Requests per second per client.
    """

    def __init__(self, rate: float) -> None:
        self._rate = rate
        self._capacity = max(1.0, rate)
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, client: str, now: float) -> int | None:
        """Spend one token for ``client``.

        Returns:
            ``None`` when allowed, else the whole seconds until a token is
            available (the ``Retry-After`` of the 429), at least 1.
        """
        with self._lock:
            tokens, last = self._buckets.get(client, (self._capacity, now))
            # max(): a clock set backwards in a test must not drain the bucket.
            tokens = min(self._capacity, tokens + max(0.0, now - last) * self._rate)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                return None
            self._buckets[client] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self._rate))


def garbage_response() -> Response:
    """A 200 whose body is HTML, as from a misconfigured proxy."""
    return Response(GARBAGE_BODY, status=200, content_type="text/html; charset=utf-8")


def dropped_response(body: dict[str, Any], environ: dict[str, Any]) -> Response:
    """A 200 that promises the whole body, sends part of it and closes the connection.

    The ``Content-Length`` is the full body's; the client receives about half
    of it and then end-of-file, which HTTP clients report as an incomplete
    read or a dropped connection.
    """
    full = json.dumps(body).encode("utf-8")
    part = full[: max(1, len(full) // 2)]
    sock = environ.get("werkzeug.socket") or environ.get("gunicorn.socket")

    def stream() -> Iterator[bytes]:
        yield part
        if isinstance(sock, socket.socket):
            # Shut down, not close: the server still owns the descriptor and
            # will close it; shutting it down makes the client see EOF now.
            with contextlib.suppress(OSError):  # the peer may have left first
                sock.shutdown(socket.SHUT_RDWR)

    response = Response(stream(), status=200, content_type="application/json")
    response.headers["Content-Length"] = str(len(full))
    response.headers["Connection"] = "close"
    return response
