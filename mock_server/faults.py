"""Misbehaviour on demand: injected faults, rate limiting and added latency.

Only status requests (``GET /status``, ``POST /status/batch``) are faulted or
delayed; the rate limit covers status and job requests. Observability routes
are never touched, so tests can always look at what happened. Faults and
latency start as the flags say and, on a server started with ``--admin``, can
be changed at runtime through ``PUT /admin/faults``.
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
from mock_server.contract import FaultSettings

GARBAGE_BODY = (
    b"<html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>Bad Gateway</h1><p>upstream sent an invalid response</p></body></html>\n"
)
#: The ``result`` value of ``unknown-result`` faults: plausible, not in the protocol.
UNKNOWN_RESULT = "processing"


class FaultInjector:
    """Decides, per status request, whether to misbehave and how long to lag.

    The settings start as the config's and can be swapped at runtime
    (``PUT /admin/faults``). A request reads ``settings`` once and passes that
    snapshot on, so a swap never mixes two settings within one request.

    Args:
        config: ``fault_rate``, ``fault_kinds``, ``fault_retry_after``,
            ``latency``, ``latency_jitter``: the initial settings.
        rng: A seeded generator for this injector alone.
    """

    def __init__(self, config: ServerConfig, rng: random.Random) -> None:
        self.initial = FaultSettings.from_config(config)
        self._settings = self.initial
        self._rng = rng
        self._lock = threading.Lock()

    @property
    def settings(self) -> FaultSettings:
        """The settings in force now."""
        # One attribute read of an immutable object: no lock needed.
        return self._settings

    def set(self, settings: FaultSettings) -> None:
        """Use ``settings`` from the next status request on."""
        with self._lock:
            self._settings = settings

    def reset(self) -> FaultSettings:
        """Go back to the settings the server started with, and return them."""
        self.set(self.initial)
        return self.initial

    def pick_fault(self, settings: FaultSettings) -> str | None:
        """A fault kind for a request with this ``settings`` snapshot, or ``None``."""
        if settings.fault_rate <= 0:
            return None
        with self._lock:
            if self._rng.random() >= settings.fault_rate:
                return None
            return self._rng.choice(settings.fault_kinds)

    def latency(self, settings: FaultSettings) -> float:
        """Seconds to hold this status request, under its ``settings`` snapshot."""
        if settings.latency_jitter <= 0:
            return settings.latency
        with self._lock:
            return settings.latency + self._rng.uniform(0.0, settings.latency_jitter)


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
