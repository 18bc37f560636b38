"""Start the mock server as a child process for one benchmark run.

``MockServer`` runs ``python -m mock_server --host 127.0.0.1 --port 0`` so the
server binds a free port itself, reads the ``listening on URL`` line it prints,
then waits until ``GET /healthz`` answers. Always stop it, in a ``finally`` or
with ``with``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from types import TracebackType
from typing import IO, Any, Self

HOST = "127.0.0.1"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0

#: Server flags for each mode of the benchmark matrix.
MODE_FLAGS: dict[str, tuple[str, ...]] = {
    "plain": ("--plain",),
    "hints": ("--no-long-poll", "--no-batch"),
    "long-poll": ("--no-batch",),
    "batch": (),
}

_LISTENING = re.compile(rb"listening on (http://[0-9.]+:\d+)")


class ServerError(RuntimeError):
    """The server did not start, or answered something unexpected."""


class MockServer:
    """The mock server as a child process on a free loopback port.

    Args:
        *flags: Extra flags for ``python -m mock_server``.
    """

    def __init__(self, *flags: str) -> None:
        self.flags = tuple(flags)
        self.url = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        """The server process id."""
        if self._proc is None:
            raise ServerError("server not started")
        return self._proc.pid

    def start(self) -> None:
        """Spawn the process, learn its URL and wait for ``/healthz``.

        Raises:
            ServerError: It exited or was not healthy within ``START_TIMEOUT``.
        """
        # A file, not a pipe: the server logs a line per request and nobody
        # reads while it runs, so a pipe would fill and block it.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
        cmd = [sys.executable, "-m", "mock_server", "--host", HOST, "--port", "0", *self.flags]
        self._proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + START_TIMEOUT
        pause = 0.01
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise ServerError(
                    f"mock server exited with {self._proc.returncode}: {self.output()}"
                )
            if not self.url:
                match = _LISTENING.search(self._read_log())
                if match:
                    self.url = match.group(1).decode()
            if self.url and self._healthy():
                return
            time.sleep(pause)
            pause = min(pause * 2, 0.1)
        raise ServerError(f"mock server not healthy after {START_TIMEOUT}s: {self.output()}")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after ``STOP_TIMEOUT``; idempotent."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def output(self, limit: int = 4000) -> str:
        """The tail of the server's combined output, for error messages."""
        return self._read_log()[-limit:].decode("utf-8", "replace")

    def get_json(self, path: str, timeout: float = 30.0) -> Any:
        """``GET`` a path and decode its JSON body (any status code)."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=timeout) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return json.loads(exc.read())

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

    def stats(self) -> dict[str, Any]:
        """The ``GET /stats`` document."""
        result: dict[str, Any] = self.get_json("/stats")
        return result

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _read_log(self) -> bytes:
        if self._log is None:
            return b""
        self._log.flush()
        self._log.seek(0)
        return self._log.read()

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=1.0) as resp:
                return bool(resp.status == 200)
        except urllib.error.HTTPError as exc:
            exc.close()
            return False
        except OSError:
            return False


def exit_on_sigterm() -> None:
    """Turn SIGTERM into ``SystemExit`` so ``finally`` blocks stop the servers."""

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def status_requests(stats: dict[str, Any]) -> int:
    """Status requests the server answered, a batch counting as one."""
    return int(stats["status_requests_total"])
