"""Pytest plugin: a real mock server for your tests (registered as ``pytest11``).

Installing ``heygen-client[server]`` registers it; there is nothing to
import. A test asks for the ``heygen_server`` fixture and gets a
``HeyGenServer``: a handle on ``python -m mock_server --admin`` running as a
child process on a free loopback port::

    def test_my_code(heygen_server):
        job_id = heygen_server.create_job(delay=0.5, outcome="error")
        with heygen_server.faults(rate=1.0, kinds=["503"]):
            ...  # run your code against heygen_server.url
        assert heygen_server.stats()["faults_injected"]["503"] >= 1

Scoping: one server process per distinct set of flags, started on first use
and stopped at the end of the session (a start costs about half a second).
The handle is per test: before each test the server's counters are zeroed
and its faults put back to the start-up ones (none, unless the server's flags
set some), and after it the faults are put back to those again, so tests
sharing a server see only their own traffic and faults.

Flags: ``--delay 1`` by default; add to them with the ``heygen_server_flags``
ini option or the ``--heygen-server-flags`` command-line option (which
replaces the ini's), and per test with ``@pytest.mark.heygen_server(...)``.

The ``redis_server`` fixture runs a real ``redis-server`` (the system's
binary) on a free loopback port, without persistence, for a test of
``store="redis://..."``: ``redis_server.url`` is what ``store=`` takes, and
``stop()``/``start()``/``restart()`` play an outage.  One server per test,
stopped after it (a start costs a few milliseconds).

The module imports only the standard library and pytest at load time, since
pytest loads it in every run of an environment where the package is installed.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Iterator, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import pytest

if TYPE_CHECKING:
    from mock_server.redis_server import RedisServer
    from mock_server.testing import LiveServer

__all__ = ["DEFAULT_FLAGS", "FaultSwitch", "HeyGenServer", "HeyGenServerError"]

#: Flags every plugin server starts with; later flags (ini, command line,
#: marker) override them.
DEFAULT_FLAGS: tuple[str, ...] = ("--delay", "1")
#: Always added: the handle needs the ``/admin/*`` routes.
ADMIN_FLAG = "--admin"
INI_NAME = "heygen_server_flags"
MARKER = "heygen_server"
#: Seconds the handle waits for any answer from the server.
REQUEST_TIMEOUT = 10.0


class HeyGenServerError(RuntimeError):
    """A handle's request got an unexpected error answer, or no answer at all.

    The underlying exception (``urllib.error.HTTPError``, ``URLError``...) is
    chained as ``__cause__``.

    Attributes:
        status: The HTTP status code; ``None`` when no answer came (the
            server is not running, the connection was refused or cut, the
            request timed out).
        body: The decoded JSON answer (``{"error": {"code", "message"}}``);
            ``None`` when there was none or it was not JSON.
    """

    def __init__(self, message: str, status: int | None, body: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class HeyGenServer:
    """Handle on a running mock server: create jobs, switch faults, read counters.

    The ``heygen_server`` fixture gives you one. Outside pytest (or for a
    wider scope than a test), build it over a ``LiveServer`` started with
    ``--admin``: ``HeyGenServer(LiveServer("--admin"))``.

    Args:
        server: The running server process.

    Attributes:
        server: The ``mock_server.testing.LiveServer``, for ``restart()``,
            ``output()`` (the server's log) and the like.
    """

    def __init__(self, server: LiveServer) -> None:
        self.server = server

    @property
    def url(self) -> str:
        """Base URL to give your code, e.g. ``http://127.0.0.1:40123``."""
        return self.server.url

    def create_job(
        self,
        *,
        delay: float | None = None,
        outcome: Literal["completed", "error"] | None = None,
        video_length: float | None = None,
        title: str | None = None,
        source_language: str | None = None,
        target_language: str | None = None,
    ) -> str:
        """Create a job (``POST /jobs``) and return its id.

        Args:
            delay: Seconds it stays pending; the server's ``--delay`` (1 s
                unless configured) when ``None``.
            outcome: How it ends; drawn from the server's ``--error-rate``
                (0: completed) when ``None``.
            video_length: Seconds of video; without ``delay``, the delay
                grows with it.
            title: Descriptive field, stored in the id.
            source_language: Descriptive field, stored in the id.
            target_language: Descriptive field, stored in the id.

        Raises:
            ValueError: The server refused a value (negative delay, ...).
        """
        fields = {
            "delay": delay,
            "outcome": outcome,
            "video_length": video_length,
            "title": title,
            "source_language": source_language,
            "target_language": target_language,
        }
        body = {name: value for name, value in fields.items() if value is not None}
        record = self._request("POST", "/jobs", body)
        job_id: str = record["job_id"]
        return job_id

    def job(self, job_id: str) -> dict[str, Any]:
        """The job's record (``GET /jobs/ID``): schedule, outcome and how it was polled.

        Raises:
            HeyGenServerError: Unknown job id (404).
        """
        record: dict[str, Any] = self._request("GET", f"/jobs/{job_id}")
        return record

    def faults(
        self,
        rate: float | None = None,
        kinds: Iterable[str] | None = None,
        *,
        retry_after: int | None = None,
        latency: float | None = None,
        latency_jitter: float | None = None,
    ) -> FaultSwitch:
        """Switch faults or latency on now, for ``GET /status`` and ``POST /status/batch``.

        Use it as a statement (the settings stay until the test ends, or
        ``clear_faults()``) or as a context manager (the previous settings
        come back at the end of the ``with`` block).

        Only what you pass changes; every argument left out keeps the
        setting in force. The one exception is ``rate``: left out, it is 1.0
        (every status request faulted), unless the call sets only
        ``latency``/``latency_jitter``, which leaves faults as they are. So
        ``faults()`` faults every status request (with a 500 or a 503, the
        start-up kinds, unless changed), ``faults(kinds=["drop"])`` drops
        them all, and ``faults(latency=0.5)`` only slows them down.

        Args:
            rate: Fraction of status requests answered with a fault, in [0, 1].
            kinds: Faults to pick from, uniformly: ``"500"``, ``"503"``,
                ``"garbage"`` (HTML body), ``"unknown-result"``, ``"drop"``
                (connection cut mid-body). The server's start-up kinds are
                ``"500"`` and ``"503"`` unless its flags say otherwise.
            retry_after: ``Retry-After`` seconds of injected 503s (1 at start-up).
            latency: Seconds added to every status request.
            latency_jitter: Extra latency, uniform in [0, latency_jitter].

        Returns:
            The switch; ``.settings`` holds the settings now in force.

        Raises:
            ValueError: The server refused a value (unknown kind, rate > 1...).
            HeyGenServerError: A server without ``--admin``, or no answer.
        """
        if isinstance(kinds, str):  # "503" would be read as "5", "0", "3"
            kinds = [kinds]
        latency_only = (
            rate is None
            and kinds is None
            and retry_after is None
            and (latency is not None or latency_jitter is not None)
        )
        if rate is None and not latency_only:
            rate = 1.0
        changes = {
            "fault_rate": rate,
            "fault_kinds": None if kinds is None else list(kinds),
            "fault_retry_after": retry_after,
            "latency": latency,
            "latency_jitter": latency_jitter,
        }
        previous = self.fault_settings()
        # The server fills a field left out of a PUT with its start-up value,
        # so send the settings in force with only the given ones changed.
        given = {name: value for name, value in changes.items() if value is not None}
        settings: dict[str, Any] = self._request("PUT", "/admin/faults", {**previous, **given})
        return FaultSwitch(self, previous, settings)

    def fault_settings(self) -> dict[str, Any]:
        """The fault and latency settings in force (``GET /admin/faults``)."""
        settings: dict[str, Any] = self._request("GET", "/admin/faults")
        return settings

    def clear_faults(self) -> None:
        """Back to the server's start-up faults: none, unless its flags asked for some."""
        self._request("DELETE", "/admin/faults")

    def stats(self) -> dict[str, Any]:
        """The server's ``GET /stats`` counters, since this test began (``reset()``)."""
        return self.server.stats()

    def reset(self) -> None:
        """Start-up faults back, counters zeroed. The fixture does this before each test."""
        self.clear_faults()
        self._request("DELETE", "/admin/stats")

    def __repr__(self) -> str:
        return f"HeyGenServer({self.url!r}, flags={self.server.flags!r})"

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        """Send a request and decode its JSON answer.

        Raises:
            ValueError: The server refused a value (400).
            HeyGenServerError: Any other error answer, or no answer at all.
        """
        # Imported here: the plugin module is loaded by every pytest run.
        import http.client
        import urllib.error
        import urllib.request

        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data is not None else {},
        )
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            with exc:
                try:
                    answer = json.loads(exc.read() or b"null")
                except ValueError:  # not JSON: not our server's error shape
                    answer = None
            message = _error_message(answer) or exc.reason
            if exc.code == 400:
                raise ValueError(f"{method} {path}: {message}") from exc
            hint = (
                " (is the server started with --admin?)"
                if exc.code == 404 and path.startswith("/admin/")
                else ""
            )
            raise HeyGenServerError(
                f"{method} {path}: {exc.code} {message}{hint}", exc.code, answer
            ) from exc
        except (OSError, http.client.HTTPException) as exc:
            # URLError (refused, unresolvable), a timeout, a connection cut.
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            raise HeyGenServerError(
                f"{method} {path}: no answer from the mock server at {self.url} "
                f"({reason or type(exc).__name__}); is it still running?",
                None,
                None,
            ) from exc


class FaultSwitch:
    """Faults that are on; as a context manager, switched back at the end of the block.

    Attributes:
        settings: The settings ``faults()`` put in force, as ``GET /admin/faults``.
        previous: The settings in force before, which ``restore()`` puts back.
    """

    def __init__(
        self, server: HeyGenServer, previous: dict[str, Any], settings: dict[str, Any]
    ) -> None:
        self._server = server
        self.previous = previous
        self.settings = settings

    def restore(self) -> None:
        """Put the settings in force before ``faults()`` back."""
        self._server._request("PUT", "/admin/faults", self.previous)

    def __enter__(self) -> FaultSwitch:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.restore()

    def __repr__(self) -> str:
        return f"FaultSwitch({self.settings!r})"


def _error_message(answer: Any) -> str | None:
    if isinstance(answer, dict) and isinstance(answer.get("error"), dict):
        message = answer["error"].get("message")
        return str(message) if message is not None else None
    return None


def marker_flags(*args: Any, **kwargs: Any) -> tuple[str, ...]:
    """Command-line flags from a ``heygen_server`` marker's arguments.

    Positional arguments are flags as given (``"--rate-limit", "5"``). A
    keyword is a flag with ``_`` as ``-``: ``True`` alone (``plain=True`` ->
    ``--plain``), ``False``/``None`` left out, a list or tuple joined by
    commas (``fault_kinds=["500", "drop"]``), anything else as ``str()``.

    Raises:
        TypeError: A positional argument that is not a string.
    """
    flags: list[str] = []
    for arg in args:
        if not isinstance(arg, str):
            raise TypeError(f"heygen_server marker: flags are strings, got {arg!r}")
        flags.append(arg)
    for name, value in kwargs.items():
        flag = "--" + name.replace("_", "-")
        if value is True:
            flags.append(flag)
        elif value is False or value is None:
            continue
        elif isinstance(value, list | tuple):
            flags += [flag, ",".join(str(item) for item in value)]
        else:
            flags += [flag, str(value)]
    return tuple(flags)


class _ServerPool:
    """The session's servers, one per distinct flag list, started on first use."""

    def __init__(self) -> None:
        self._servers: dict[tuple[str, ...], LiveServer] = {}

    def get(self, flags: tuple[str, ...]) -> LiveServer:
        server = self._servers.get(flags)
        if server is None:
            from mock_server.testing import LiveServer

            server = LiveServer(*flags, start=False)
            self._servers[flags] = server
        # Also brings back a server that a test stopped or that died.
        server.start()
        return server

    def stop_all(self) -> None:
        for server in self._servers.values():
            server.stop()
        self._servers.clear()


def pytest_addoption(parser: pytest.Parser) -> None:
    """The ini option and command-line option with the servers' flags."""
    help_text = (
        "extra flags for the heygen_server fixture's mock server, e.g. "
        '"--plain --delay 0.2" (see heygen-mock-server --help)'
    )
    parser.addini(INI_NAME, help_text, type="args", default=[])
    group = parser.getgroup("heygen_server", "heygen mock server")
    group.addoption(
        "--heygen-server-flags",
        dest="heygen_server_flags",
        default=None,
        metavar="FLAGS",
        help=help_text + f"; replaces the {INI_NAME} ini option",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker, so ``--strict-markers`` accepts it."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(*flags, **options): flags of the heygen_server fixture's mock server "
        "for this test, e.g. @pytest.mark.heygen_server(plain=True, delay=0.2)",
    )


def _configured_flags(config: pytest.Config) -> tuple[str, ...]:
    """Default flags, then the command line's or else the ini file's."""
    given: str | None = config.getoption("heygen_server_flags")
    extra: Sequence[str] = shlex.split(given) if given is not None else config.getini(INI_NAME)
    return (*DEFAULT_FLAGS, *extra)


@pytest.fixture(scope="session")
def _heygen_server_pool() -> Iterator[_ServerPool]:
    """The session's mock server processes; all stopped when the session ends."""
    pool = _ServerPool()
    try:
        yield pool
    finally:
        pool.stop_all()


@pytest.fixture
def heygen_server(
    request: pytest.FixtureRequest, _heygen_server_pool: _ServerPool
) -> Iterator[HeyGenServer]:
    """A mock server on a free port, its counters zeroed and its faults the start-up ones.

    The process is shared by the session's tests with the same flags
    (``DEFAULT_FLAGS``, the ``heygen_server_flags`` ini option or
    ``--heygen-server-flags``, then the closest ``heygen_server`` marker's).
    """
    flags = _configured_flags(request.config)
    marker = request.node.get_closest_marker(MARKER)
    if marker is not None:
        flags += marker_flags(*marker.args, **marker.kwargs)
    handle = HeyGenServer(_heygen_server_pool.get((ADMIN_FLAG, *flags)))
    handle.reset()
    yield handle
    # Back to the start-up faults, so a server left faulty does not wait for the
    # next test's reset(). A server the test stopped has nothing to clean; the
    # next get() restarts it.
    if handle.server.running:
        handle.clear_faults()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A fresh ``redis-server`` on a free loopback port, in a temporary directory.

    Its ``.url`` (``redis://127.0.0.1:PORT/0``) is what ``store=`` takes; it is
    stopped after the test.  A missing binary fails the test (never skips it):
    install the ``redis-server`` package.
    """
    from mock_server.redis_server import RedisServer

    server = RedisServer()
    try:
        yield server
    finally:
        server.stop()
