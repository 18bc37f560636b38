"""HTTP: one pooled ``requests.Session``, timeouts, error mapping, socket tracking.

It knows nothing of any API's routes: backends (:mod:`heygen_client._backends`)
build requests and parse answers through :meth:`Transport.call`.  This module
makes single requests and turns their outcome into values or
:mod:`heygen_client.errors`; it never retries and never sleeps.  Retrying is the
scheduler's job (see :class:`heygen_client.policies.RetryPolicy`).

Every socket the session opens is registered, so :meth:`Transport.close` can
``shutdown()`` sockets that worker threads are blocked on (a 30 s long-poll),
which is how ``TranslationClient.close()`` returns within a second.

A request is bounded in time and size, whatever the server does: all its socket
reads together end at ``connect_timeout + read_timeout`` (+ a long-poll's wait),
not just each read; a body is read in chunks and refused past
``max_response_bytes``; and only redirects to the same origin are followed, never
one that would turn a ``POST`` into a ``GET``, so the API key goes nowhere else.
"""

from __future__ import annotations

import contextlib
import email.utils
import http.client
import io
import json
import logging
import math
import socket
import threading
import time
import urllib.parse
import weakref
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import requests
import requests.adapters
import requests.exceptions as rex
import urllib3.exceptions
import urllib3.util
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from heygen_client._options import MAX_RESPONSE_BYTES, Timeouts
from heygen_client.errors import (
    ClientClosed,
    ConnectTimeout,
    HeyGenError,
    HTTPStatusError,
    MalformedResponse,
    RateLimited,
    ReadTimeout,
    TransportError,
    TransportTimeout,
)

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

_BODY_LIMIT = 2000

#: Same-origin redirects followed before the request fails.
MAX_REDIRECTS = 5
_CHUNK_SIZE = 64 * 1024

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


# Every exception class of requests, and what it becomes.  The bool says whether a
# retry can help.  A test checks that this table names every class requests defines.
EXCEPTION_MAP: Mapping[type[Exception], tuple[type[HeyGenError], bool]] = {
    rex.ConnectTimeout: (ConnectTimeout, True),
    rex.ReadTimeout: (ReadTimeout, True),
    rex.Timeout: (TransportTimeout, True),
    rex.SSLError: (TransportError, False),
    rex.ProxyError: (TransportError, True),
    rex.ConnectionError: (TransportError, True),
    rex.ChunkedEncodingError: (TransportError, True),
    rex.ContentDecodingError: (TransportError, True),
    rex.RetryError: (TransportError, True),
    rex.JSONDecodeError: (MalformedResponse, True),
    rex.InvalidJSONError: (TransportError, False),
    rex.HTTPError: (HTTPStatusError, True),
    rex.TooManyRedirects: (TransportError, False),
    rex.MissingSchema: (TransportError, False),
    rex.InvalidSchema: (TransportError, False),
    rex.InvalidURL: (TransportError, False),
    rex.URLRequired: (TransportError, False),
    rex.InvalidHeader: (TransportError, False),
    rex.InvalidProxyURL: (TransportError, False),
    rex.StreamConsumedError: (TransportError, False),
    rex.UnrewindableBodyError: (TransportError, False),
    rex.RequestException: (TransportError, True),
}


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps: args, urllib3's ``reason``, cause and context."""
    seen: set[int] = set()
    todo = [exc]
    while todo and len(seen) < 32:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(arg for arg in current.args if isinstance(arg, BaseException))
        for inner in (getattr(current, "reason", None), current.__cause__, current.__context__):
            if isinstance(inner, BaseException):
                todo.append(inner)


# What went wrong, in words, by the most telling exception found in the chain.
_REASONS: tuple[tuple[type[BaseException], str], ...] = (
    (RequestAbandoned, "given up: nobody waits for the answer any more"),
    (ConnectionRefusedError, "connection refused"),
    (socket.gaierror, "host not found"),
    (urllib3.exceptions.NameResolutionError, "host not found"),
    (rex.ConnectTimeout, "no connection within the connect timeout"),
    (urllib3.exceptions.ConnectTimeoutError, "no connection within the connect timeout"),
    (rex.ReadTimeout, "no answer within the read timeout"),
    (urllib3.exceptions.ReadTimeoutError, "no answer within the read timeout"),
    (rex.SSLError, "TLS handshake failed"),
    (ConnectionResetError, "connection reset by the server"),
    (http.client.RemoteDisconnected, "the server closed the connection without an answer"),
    (rex.ChunkedEncodingError, "the answer was cut off"),
    (rex.TooManyRedirects, "too many redirects"),
    (rex.InvalidURL, "invalid URL"),
    (rex.InvalidSchema, "unsupported URL scheme"),
    (rex.MissingSchema, "URL without a scheme"),
    (TimeoutError, "timed out"),
)


def describe(exc: BaseException) -> str:
    """A short reason for an I/O failure, in words ("connection refused")."""
    chain = list(_causes(exc))
    for cls, words in _REASONS:
        if any(isinstance(inner, cls) for inner in chain):
            return words
    return type(exc).__name__


def map_exception(
    exc: BaseException, *, method: str | None = None, url: str | None = None
) -> HeyGenError:
    """Our error for a ``requests`` (or lower-level I/O) exception, not yet raised.

    The message says plainly what happened, naming the URL when given:
    ``cannot connect to http://127.0.0.1:5999 (connection refused)``;
    the original exception (with urllib3's details) is the ``__cause__``.
    """
    if isinstance(exc, HeyGenError):
        return exc
    reason = describe(exc)
    connecting = isinstance(exc, rex.ConnectTimeout) or (
        isinstance(exc, rex.ConnectionError)
        and not isinstance(exc, rex.ReadTimeout | rex.ChunkedEncodingError)
        and reason in ("connection refused", "host not found", "TLS handshake failed")
    )
    if url is None:
        message = f"{reason}: {type(exc).__name__}"
    elif connecting:
        message = f"cannot connect to {_origin_text(url)} ({reason})"
    else:
        message = f"{method} {url}: {reason}"
    if isinstance(exc, rex.ConnectionError) and any(
        isinstance(arg, urllib3.exceptions.ReadTimeoutError) for arg in exc.args
    ):
        # requests reports a read timeout in the body as a ConnectionError.
        return ReadTimeout(message)
    for cls in type(exc).__mro__:
        entry = EXCEPTION_MAP.get(cls)
        if entry is None:
            continue
        target, retryable = entry
        if target is HTTPStatusError:
            response = getattr(exc, "response", None)
            code = response.status_code if response is not None else 0
            return HTTPStatusError(message, status_code=code)
        if target is MalformedResponse:
            return MalformedResponse(message)
        return target(message, retryable=retryable)  # type: ignore[call-arg]
    if isinstance(exc, TimeoutError | socket.timeout):
        return TransportTimeout(message)
    return TransportError(message)


# What a request can raise for I/O reasons (anything else is a bug, not a failure).
IO_ERRORS: tuple[type[BaseException], ...] = (
    rex.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
)


@contextlib.contextmanager
def map_requests_errors(method: str | None = None, url: str | None = None) -> Iterator[None]:
    """The one place where ``requests`` exceptions become :class:`HeyGenError`."""
    try:
        yield
    except HeyGenError:
        raise
    except IO_ERRORS as exc:
        raise map_exception(exc, method=method, url=url) from exc


def path_segment(value: str) -> str:
    """``value`` as one URL path segment: ``/``, ``?``, ``#`` and a bare ``.``/``..`` escaped."""
    segment = urllib.parse.quote(value, safe="")
    # quote() keeps dots, and a "." or ".." segment would be resolved away.
    return segment.replace(".", "%2E") if segment in (".", "..") else segment


def _as_is(data: Any, headers: Mapping[str, str]) -> tuple[Any, Mapping[str, str]]:
    return data, headers


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (RFC 9110), or None if absent/invalid.

    Both forms are accepted: ``delay-seconds`` (``"120"``; a decimal is tolerated) and an
    HTTP-date, taken relative to ``now`` (wall-clock seconds, default ``time.time()``).
    A date in the past gives 0.  The caller clamps large values.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; a naive date is read as UTC.
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def _origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of ``url``, with the scheme's default port filled in."""
    parts = urllib3.util.parse_url(url)
    scheme = (parts.scheme or "").lower()
    default = {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.host or "").lower(), parts.port or default


def _origin_text(url: str) -> str:
    scheme, host, port = _origin(url)
    return f"{scheme}://{host}:{port}"


class _SocketRegistry:
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


def _tracking_adapter(registry: _SocketRegistry, pool_size: int) -> requests.adapters.HTTPAdapter:
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


class Transport:
    """Single HTTP requests to the translation API, mapped to values and our errors.

    Thread-safe: many worker threads share the one session.
    """

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout: float = Timeouts.connect,
        read_timeout: float = Timeouts.read,
        long_poll_margin: float = 5.0,
        pool_size: int = 16,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        headers: Mapping[str, str] | None = None,
        session: requests.Session | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.long_poll_margin = long_poll_margin
        self.max_response_bytes = max_response_bytes
        self._origin = _origin(self.base_url)
        self.wall_clock = wall_clock
        self._registry = _SocketRegistry()
        # A caller's session is used as given: never mutated, never closed by us.
        self._owns_session = session is None
        self._session = session if session is not None else requests.Session()
        if session is None:
            adapter = _tracking_adapter(self._registry, pool_size)
            self._session.mount("http://", adapter)
            self._session.mount("https://", adapter)
        self._headers = {"Accept": "application/json", **(headers or {})}
        self._counts: Counter[str] = Counter()
        self._counts_lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._registry.closed

    def close(self) -> None:
        """Unblock every in-flight request and close our own session; idempotent."""
        count = self._registry.close()
        if count:
            logger.debug("shut down %d open connection(s)", count)
        if self._owns_session:
            with contextlib.suppress(Exception):
                self._session.close()

    def counts(self) -> dict[str, int]:
        """Requests made so far, by outcome."""
        with self._counts_lock:
            return dict(self._counts)

    # -- requests ----------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: object = None,
        wait: float | None = None,
    ) -> tuple[Any, Mapping[str, str]]:
        """Make one request and return ``(parsed JSON, headers)`` of a 2xx answer.

        Raises:
            ClientClosed: after :meth:`close`.
            TransportError: no usable answer (``TransportTimeout`` on timeouts,
                also when the whole request outlasts ``connect_timeout +
                read_timeout``, + ``wait`` and the long-poll margin).
            HTTPStatusError: a 4xx/5xx answer (``RateLimited``, ``JobNotFound``),
                or a redirect not followed (3xx: to another origin, turning a
                ``POST`` into a ``GET``, or more than :data:`MAX_REDIRECTS`).
            MalformedResponse: a 2xx answer that is not JSON, nested too deeply
                to parse, or larger than ``max_response_bytes``.
        """
        return self.call(method, path, _as_is, params=params, body=body, wait=wait)

    def call(
        self,
        method: str,
        path: str,
        parse: Callable[[Any, Mapping[str, str]], _T],
        *,
        params: Mapping[str, str] | None = None,
        body: object = None,
        wait: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> _T:
        """:meth:`request`, then ``parse(data, headers)``, counted once: an answer
        ``parse`` rejects (:class:`MalformedResponse`) counts as "malformed".

        This is what a backend calls: ``parse`` turns the JSON of a 2xx answer
        into the backend's value, or raises :class:`MalformedResponse`.
        ``headers`` go with this request only (and its redirects), on top of
        the transport's (an ``Idempotency-Key``)."""
        if self._registry.closed:
            raise ClientClosed("client is closed")
        read = self.read_timeout + (wait + self.long_poll_margin if wait else 0.0)
        outcome = "transport"
        _deadline.at = time.monotonic() + self.connect_timeout + read
        try:
            with map_requests_errors(method, self.base_url + path):
                sent = {**self._headers, **headers} if headers else self._headers
                timeouts = (self.connect_timeout, read)
                response = self._follow(method, path, params, body, sent, timeouts)
                with response:
                    status = response.status_code
                    if status >= 300:
                        # Only the start of an error's body is kept: never a 10 MB page.
                        content = self._read(response, _BODY_LIMIT, method, path, truncate=True)
                    else:
                        content = self._read(response, self.max_response_bytes, method, path)
            text = content[:_BODY_LIMIT].decode("utf-8", "replace")
            if status >= 300:
                raise self._status_error(method, path, status, text, response.headers)
            try:
                data = json.loads(content)
            except (ValueError, RecursionError) as exc:
                raise MalformedResponse(
                    f"{method} {path}: answer {status} is not JSON we can read", body=text
                ) from exc
            try:
                value = parse(data, response.headers)
            except MalformedResponse as exc:
                exc.body = exc.body or text
                raise
            except RecursionError as exc:  # JSON nested too deeply to read (or show)
                raise MalformedResponse(
                    f"{method} {path}: answer {status} is nested too deeply", body=text
                ) from exc
            outcome = "ok"
            return value
        except HeyGenError as exc:
            if isinstance(exc, TransportTimeout):
                outcome = "timeout"
            elif isinstance(exc, MalformedResponse):
                outcome = "malformed"
            elif isinstance(exc, HTTPStatusError):
                code = exc.status_code
                outcome = "http_429" if code == 429 else f"http_{code // 100}xx"
            if isinstance(exc, ClientClosed):
                raise
            if self._registry.closed:
                # Also a timeout: close() shut the socket down under the request.
                raise ClientClosed("client closed during the request") from exc
            raise
        finally:
            _deadline.at = None
            with self._counts_lock:
                self._counts[outcome] += 1

    def _follow(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        body: object,
        headers: Mapping[str, str],
        timeout: tuple[float, float],
    ) -> requests.Response:
        """Send the request, following redirects only within our origin; the answer is
        returned unread (``stream=True``).

        requests would follow a redirect to any host with our headers, the API key
        among them (it strips only ``Authorization``), and turn a redirected
        ``POST`` into a ``GET``.
        """
        url = self.base_url + path
        for _ in range(MAX_REDIRECTS + 1):
            response = self._session.request(
                method,
                url,
                params=params,
                json=body,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
                stream=True,
            )
            if not response.is_redirect:
                return response
            response.close()
            status = response.status_code
            target = urllib.parse.urljoin(response.url, response.headers["Location"])
            refusal = None
            if _origin(target) != self._origin:
                refusal = f"to another origin ({_origin_text(target)}), not followed"
            elif method != "GET" and status not in (307, 308):
                refusal = f"would turn the {method} into a GET, not followed"
            if refusal is not None:
                raise HTTPStatusError(
                    f"{method} {path}: HTTP {status}: redirect {refusal}", status_code=status
                )
            url, params = target, None  # the target carries its own query
        raise HTTPStatusError(
            f"{method} {path}: more than {MAX_REDIRECTS} redirects", status_code=status
        )

    @staticmethod
    def _read(
        response: requests.Response, limit: int, method: str, path: str, *, truncate: bool = False
    ) -> bytes:
        """The body, read in chunks up to ``limit`` bytes: cut there, or refused."""
        body = bytearray()
        for chunk in response.iter_content(_CHUNK_SIZE):
            body += chunk
            if len(body) > limit:
                if truncate:
                    return bytes(body[:limit])
                # Closing the response (the caller's with block) drops the connection.
                raise MalformedResponse(
                    f"{method} {path}: answer larger than {limit} bytes, not read further",
                    body=body[:_BODY_LIMIT].decode("utf-8", "replace"),
                )
        return bytes(body)

    def _status_error(
        self, method: str, path: str, status: int, text: str, headers: Mapping[str, str]
    ) -> HTTPStatusError:
        retry_after = parse_retry_after(headers.get("Retry-After"), now=self.wall_clock())
        detail = text
        # Any JSON or none: an error body without {"error": {"message"}} is shown as is.
        with contextlib.suppress(ValueError, LookupError, TypeError, RecursionError):
            detail = json.loads(text)["error"]["message"]
        message = f"{method} {path}: HTTP {status}: {detail!s:.300}"
        cls = RateLimited if status == 429 else HTTPStatusError
        return cls(message, status_code=status, body=text, retry_after=retry_after)
