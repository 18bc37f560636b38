"""Start the mock server as a child process for one benchmark run.

``MockServer`` is :class:`mock_server.testing.LiveServer` (free loopback
port, readiness by polling ``/healthz``) with what the benchmarks add: the
server's pid for psutil, ``post_json``, and longer timeouts, because a
loaded server answering ``/stats`` for 10,000 jobs can be slow. Always stop
it, in a ``finally`` or with ``with``.
"""

from __future__ import annotations

import json
import signal
import urllib.error
import urllib.request
from typing import Any

from mock_server.testing import LiveServer, LiveServerError

START_TIMEOUT = 20.0

#: Server flags for each mode of the benchmark matrix.
MODE_FLAGS: dict[str, tuple[str, ...]] = {
    "plain": ("--plain",),
    "hints": ("--no-long-poll", "--no-batch"),
    "long-poll": ("--no-batch",),
    "batch": (),
}


class ServerError(LiveServerError):
    """The server did not start, or answered something unexpected."""


class MockServer(LiveServer):
    """The mock server as a child process on a free loopback port; call ``start()``.

    Args:
        *flags: Extra flags for ``python -m mock_server``.
    """

    def __init__(self, *flags: str) -> None:
        super().__init__(*flags, start=False, start_timeout=START_TIMEOUT)

    @property
    def pid(self) -> int:
        """The server process id."""
        if self._proc is None:
            raise ServerError("server not started")
        return self._proc.pid

    def get_json(self, path: str, timeout: float = 30.0) -> Any:
        """``GET`` a path and decode its JSON body (any status code)."""
        return super().get_json(path, timeout)

    def post_json(self, path: str, body: dict[str, Any], timeout: float = 30.0) -> Any:
        """``POST`` a JSON body and decode the JSON answer.

        Raises:
            ServerError: The answer was not 2xx.
        """
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            with exc:
                raise ServerError(f"POST {path} -> {exc.code}: {exc.read()[:300]!r}") from exc


def exit_on_sigterm() -> None:
    """Turn SIGTERM into ``SystemExit`` so ``finally`` blocks stop the servers."""

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def status_requests(stats: dict[str, Any]) -> int:
    """Status requests the server answered, a batch counting as one."""
    return int(stats["status_requests_total"])
