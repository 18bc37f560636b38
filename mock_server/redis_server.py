"""Run a real ``redis-server`` as a child process, for tests of fleet stores.

``RedisServer`` starts the ``redis-server`` binary on a free loopback port, in
a temporary directory, with persistence off, and waits until it answers
``PING``::

    server = RedisServer()
    try:
        client = TranslationClient(url, store=server.url)  # redis://127.0.0.1:PORT/0
        server.restart()   # same port, empty again (no persistence)
    finally:
        server.stop()

The pytest plugin's ``redis_server`` fixture gives one per test.  The binary
comes from the system (the Debian package ``redis-server``); ``make test``
installs it when it is missing.  Only the standard library is used.

On Linux the server gets SIGTERM when the process that started it dies, even
by SIGKILL, so no server outlives a killed test run.
"""

from __future__ import annotations

import ctypes
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from mock_server.testing import ChildServer, stop_process

__all__ = ["RedisServer", "RedisServerError"]

#: How long ``start()`` waits for ``PING`` to be answered.
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


class RedisServerError(RuntimeError):
    """``redis-server`` is missing, did not start, or exited early; carries its output."""


class RedisServer(ChildServer):
    """A ``redis-server`` process on a loopback port, without persistence.

    Args:
        binary: the program to run.
        start: start at once (default).

    Raises:
        RedisServerError: the binary is not on the PATH (``apt-get install
            redis-server``), or the server did not answer in time.
    """

    error = RedisServerError

    def __init__(self, binary: str = "redis-server", *, start: bool = True) -> None:
        path = shutil.which(binary)
        if path is None:
            raise RedisServerError(
                f"{binary} is not on the PATH: install it (Debian: apt-get install redis-server)"
            )
        super().__init__()
        self.binary = path
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        if start:
            self.start()

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0``: what ``store=`` takes."""
        return f"redis://{self.host}:{self.port}/0"

    def stop(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL) and reap it; idempotent."""
        proc, self._proc = self._proc, None
        stop_process(proc, STOP_TIMEOUT)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def restart(self) -> None:
        """Stop and start again on the same port: empty, as a Redis restarted without a save."""
        super().restart()

    def __repr__(self) -> str:
        return f"RedisServer({self.url!r}, running={self.running})"

    def _spawn_and_wait(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="redis-test-")
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
        command = [
            self.binary,
            "--port", str(self.port),
            "--bind", self.host,
            "--dir", self._dir.name,
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--protected-mode", "no",
        ]  # fmt: skip
        self._proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RedisServerError(
                    f"redis-server exited with {self._proc.returncode}:\n{self.output()}"
                )
            if self._answers():
                return
            time.sleep(0.01)
        raise RedisServerError(f"redis-server silent after {START_TIMEOUT} s:\n{self.output()}")

    def _answers(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=1.0) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the parent dies (Linux ``PR_SET_PDEATHSIG``)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
