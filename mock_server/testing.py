"""Run the real mock server as a child process, for tests over real HTTP.

``LiveServer`` starts ``python -m mock_server`` on a free loopback port and
waits until ``GET /healthz`` answers. Use it in your own tests (it is how this
repository's live tests, and ``heygen-client demo``, start a server)::

    server = LiveServer("--delay", "1")
    try:
        requests.get(server.url + "/status", timeout=5)
        server.restart()          # same port, same secret: jobs survive
        server.stats()["status_requests_total"]
    finally:
        server.stop()

The stable interface is: ``LiveServer(*flags, env=None)``, ``.url``,
``.host``, ``.port``, ``.secret``, ``.flags``, ``.start()``, ``.stop()``,
``.restart()``, ``.stats()``, ``.get_json(path)``, ``.running`` and use as a
context manager. Only the standard library is used, so the helper works even
where ``requests`` is mocked or patched.

A server never outlives the process that started it: it runs with
``--exit-on-stdin-eof`` and a pipe on its stdin whose write end only this
process holds (programs it runs do not inherit the descriptor; a ``fork()``
without ``exec`` copies it, and then the last copy to exit counts). When this
process exits, even killed with SIGKILL by a CI timeout or the OOM killer,
the kernel closes that end and the server stops within about a second, as on
SIGTERM, freeing its port.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from types import TracebackType
from typing import IO, Any, Self

__all__ = ["LiveServer", "LiveServerError", "free_port", "live_server"]

HOST = "127.0.0.1"
#: How long ``start()`` waits for ``/healthz`` before giving up.
START_TIMEOUT = 15.0
#: How long ``stop()`` waits for the process to exit after SIGTERM before SIGKILL.
STOP_TIMEOUT = 5.0


def require_server_extra() -> None:
    """Raise :class:`LiveServerError` saying what to install when Flask is missing.

    The mock server is the ``server`` extra of the package; without it the
    server process would die with a bare ``ModuleNotFoundError``.
    """
    try:
        import flask  # noqa: F401
        import werkzeug  # noqa: F401
    except ImportError as exc:
        missing = (exc.name or "flask").split(".")[0]
        raise LiveServerError(
            f"the mock server needs the 'server' extra ({missing} is missing): "
            "pip install 'heygen-client[server]'"
        ) from exc


def stop_process(proc: subprocess.Popen[bytes] | None, timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM ``proc``, SIGKILL it after ``timeout`` seconds, and reap it.

    Nothing for None; ``poll()`` also reaps a process that already exited.
    """
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def log_text(log: IO[bytes] | None) -> str:
    """What a child process wrote to ``log`` (a temporary file) so far."""
    if log is None:
        return ""
    log.flush()
    log.seek(0)
    return log.read().decode("utf-8", "replace")


def free_port(host: str = HOST) -> int:
    """Return a port that was free a moment ago.

    Another process may take it before the server binds; ``LiveServer.start``
    retries with a new port when that happens.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class ChildServer:
    """A server in a child process on a loopback port: what LiveServer and
    RedisServer share.

    ``start()`` picks a free port (and tries another if it was taken before
    the server bound it), or keeps the port it had, as ``restart()`` does.
    A subclass says how to spawn the server and wait for it
    (``_spawn_and_wait``, raising ``error``) and how to ``stop()`` it.
    """

    #: What ``_spawn_and_wait`` raises when the server does not come up.
    error: type[Exception] = RuntimeError

    def __init__(self) -> None:
        self.host = HOST
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def running(self) -> bool:
        """Whether the child process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Start the server (on the port it had, if any) and wait until it answers."""
        if self.running:
            return
        keep_port = self.port != 0
        attempts = 1 if keep_port else 3
        for attempt in range(attempts):
            if not keep_port:
                self.port = free_port(self.host)
            try:
                self._spawn_and_wait()
                return
            except self.error:
                self.stop()
                if attempt == attempts - 1:
                    raise

    def stop(self) -> None:
        """Stop the server and reap it; idempotent."""
        raise NotImplementedError

    def restart(self) -> None:
        """Stop and start again on the same port."""
        self.stop()
        self.start()

    def output(self) -> str:
        """The server's combined stdout/stderr so far (for failure messages)."""
        return log_text(self._log)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _spawn_and_wait(self) -> None:
        raise NotImplementedError


class LiveServerError(RuntimeError):
    """The server process did not start, or exited early; carries its output."""


class LiveServer(ChildServer):
    """The mock server running as a real process on a loopback port.

    Args:
        *flags: Extra command-line flags for ``python -m mock_server``, e.g.
            ``"--delay", "2", "--no-batch"``. ``--host``/``--port`` are set by
            the helper; a ``--secret`` given here is kept, otherwise a random
            one is generated once and reused by ``restart()``.
        env: Extra environment variables for the child process.
        start: Start at once (default). Pass ``False`` to call ``start()``
            yourself.
        start_timeout: Seconds ``start()`` waits for ``/healthz``.
    """

    error = LiveServerError

    def __init__(
        self,
        *flags: str,
        env: dict[str, str] | None = None,
        start: bool = True,
        start_timeout: float = START_TIMEOUT,
    ):
        super().__init__()
        self.flags: tuple[str, ...] = tuple(flags)
        self.start_timeout = start_timeout
        self.secret = _flag_value(self.flags, "--secret") or secrets.token_hex(16)
        self._env = dict(env or {})
        if start:
            self.start()

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. ``http://127.0.0.1:40123``."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        """Start the process and wait until ``/healthz`` answers 200.

        Keeps the current port when there is one (``restart()``), otherwise
        picks a free port, retrying with another if it was taken meanwhile.

        Raises:
            LiveServerError: The server did not become healthy in time, or
                the ``server`` extra (Flask) is not installed.
        """
        if not self.running:
            require_server_extra()
        super().start()

    def stop(self) -> None:
        """Terminate the process (SIGTERM, then SIGKILL) and reap it. Idempotent."""
        proc, self._proc = self._proc, None
        stop_process(proc)
        # Only once it exited: closing it first would race SIGTERM to stop the server.
        if proc is not None and proc.stdin is not None:
            proc.stdin.close()
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self) -> None:
        """Stop and start again on the same port with the same secret and flags."""
        super().restart()

    def get_json(self, path: str, timeout: float = 5.0) -> Any:
        """``GET`` a path (e.g. ``"/stats"``) and decode its JSON body, any status."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=timeout) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return json.loads(exc.read())

    def stats(self) -> dict[str, Any]:
        """The server's ``GET /stats`` document."""
        result: dict[str, Any] = self.get_json("/stats")
        return result

    def __repr__(self) -> str:
        return f"LiveServer({self.url!r}, flags={self.flags!r}, running={self.running})"

    def _command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "mock_server",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--exit-on-stdin-eof",
            *([] if _flag_value(self.flags, "--secret") else ["--secret", self.secret]),
            *self.flags,
        ]

    def _spawn_and_wait(self) -> None:
        if self._log is None:
            # A file, not a pipe: nobody reads while the server runs, and a full
            # pipe would block the server's logging. Closed by stop().
            self._log = tempfile.TemporaryFile()  # noqa: SIM115
        env = {**os.environ, **self._env, "PYTHONUNBUFFERED": "1"}
        self._proc = subprocess.Popen(
            self._command(),
            # Never written to: its end of file, when this process is gone,
            # stops the server (--exit-on-stdin-eof). Closed by stop().
            stdin=subprocess.PIPE,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        deadline = time.monotonic() + self.start_timeout
        pause = 0.01
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise LiveServerError(
                    f"mock server exited with {self._proc.returncode}:\n{self.output()}"
                )
            if self._healthy():
                return
            time.sleep(pause)
            pause = min(pause * 2, 0.1)
        raise LiveServerError(
            f"mock server not healthy after {self.start_timeout}s:\n{self.output()}"
        )

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=1.0) as resp:
                return bool(resp.status == 200)
        except urllib.error.HTTPError as exc:
            exc.close()
            return False
        except OSError:
            return False


def _flag_value(flags: tuple[str, ...], name: str) -> str | None:
    """The value of ``name VALUE`` or ``name=VALUE`` in ``flags``, if present."""
    for i, flag in enumerate(flags):
        if flag == name and i + 1 < len(flags):
            return flags[i + 1]
        if flag.startswith(name + "="):
            return flag.split("=", 1)[1]
    return None


@contextlib.contextmanager
def live_server(*flags: str) -> Iterator[LiveServer]:
    """Context manager form: ``with live_server("--delay", "1") as server: ...``."""
    server = LiveServer(*flags)
    try:
        yield server
    finally:
        server.stop()
