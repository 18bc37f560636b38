"""HTTP: one pooled ``requests.Session``, timeouts, error mapping, socket tracking.

It knows nothing of any API's routes: backends (:mod:`heygen_client._backends`)
build requests and parse answers through :meth:`Transport.call`.  This module
makes single requests and turns their outcome into values or
:mod:`heygen_client.errors`; it never retries and never sleeps.  Retrying is the
scheduler's job (see :class:`heygen_client.policies.RetryPolicy`).

Every socket the session opens is registered, so :meth:`Transport.close` can
``shutdown()`` sockets that worker threads are blocked on (a 30 s long-poll),
which is how ``TranslationClient.close()`` returns within a second.

Credentials in headers (``sensitive_headers``, e.g. ``X-Api-Key``) never follow
a redirect to another origin: ``requests`` itself strips only ``Authorization``
there.  Our own session drops them from the redirected request; a caller's
session, which we do not change, is not allowed to follow redirects at all.
"""

from __future__ import annotations

import contextlib
import email.utils
import http.client
import json
import logging
import math
import socket
import threading
import time
import urllib.parse
import weakref
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any, TypeVar

import requests
import requests.adapters
import requests.exceptions as rex
import urllib3.exceptions
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from heygen_client.errors import (
    ClientClosed,
    HeyGenError,
    HTTPStatusError,
    MalformedResponse,
    RateLimited,
    TransportError,
    TransportTimeout,
)

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

_BODY_LIMIT = 2000

# Every exception class of requests, and what it becomes.  The bool says whether a
# retry can help.  A test checks that this table names every class requests defines.
EXCEPTION_MAP: Mapping[type[Exception], tuple[type[HeyGenError], bool]] = {
    rex.ConnectTimeout: (TransportTimeout, True),
    rex.ReadTimeout: (TransportTimeout, True),
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


def map_exception(exc: BaseException) -> HeyGenError:
    """Our error for a ``requests`` (or lower-level I/O) exception, not yet raised."""
    if isinstance(exc, HeyGenError):
        return exc
    message = f"{type(exc).__name__}: {exc}"
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
def map_requests_errors() -> Iterator[None]:
    """The one place where ``requests`` exceptions become :class:`HeyGenError`."""
    try:
        yield
    except HeyGenError:
        raise
    except IO_ERRORS as exc:
        raise map_exception(exc) from exc


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


def _tracking_adapter(registry: _SocketRegistry, pool_size: int) -> requests.adapters.HTTPAdapter:
    """An adapter whose connections register their sockets with ``registry``."""

    class _Conn(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            registry.add(sock)
            return sock

    class _SConn(HTTPSConnection):
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


class _Session(requests.Session):
    """A session that also drops ``sensitive`` headers on a redirect to another origin
    (scheme, host or port: stricter than requests' rule for ``Authorization``)."""

    def __init__(self, sensitive: Collection[str]) -> None:
        super().__init__()
        self.sensitive = tuple(sensitive)

    def rebuild_auth(
        self, prepared_request: requests.PreparedRequest, response: requests.Response
    ) -> None:
        super().rebuild_auth(prepared_request, response)  # type: ignore[no-untyped-call]
        old = response.request.url if response.request is not None else None
        new = prepared_request.url
        if old is None or new is None or _origin(old) != _origin(new):
            for name in self.sensitive:
                prepared_request.headers.pop(name, None)


def _origin(url: str | bytes) -> tuple[str, str | None, int | None]:
    """Scheme, host and port (the scheme's default when absent) of ``url``."""
    parts = urllib.parse.urlsplit(url if isinstance(url, str) else url.decode("latin-1"))
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, parts.hostname, port


class Transport:
    """Single HTTP requests to the translation API, mapped to values and our errors.

    Thread-safe: many worker threads share the one session.

    ``sensitive_headers`` name the ``headers`` that carry a credential: they
    are not sent on to another origin when a request is redirected (see the
    module docstring).
    """

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout: float = 3.05,
        read_timeout: float = 10.0,
        long_poll_margin: float = 5.0,
        pool_size: int = 16,
        headers: Mapping[str, str] | None = None,
        sensitive_headers: Collection[str] = (),
        session: requests.Session | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.long_poll_margin = long_poll_margin
        self.wall_clock = wall_clock
        self._registry = _SocketRegistry()
        # A caller's session is used as given: never mutated, never closed by us.
        self._owns_session = session is None
        self._session = session if session is not None else _Session(sensitive_headers)
        # A caller's session would send the credential on to wherever it is redirected.
        self._follow_redirects = session is None or not sensitive_headers
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
            TransportError: no usable answer (``TransportTimeout`` on timeouts).
            HTTPStatusError: a 4xx/5xx answer (``RateLimited``, ``JobNotFound``).
            MalformedResponse: a 2xx answer that is not JSON.
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
        ``headers`` are sent with this request only, on top of the transport's.
        A redirect that was not followed is an :class:`HTTPStatusError`."""
        if self._registry.closed:
            raise ClientClosed("client is closed")
        read = self.read_timeout + (wait + self.long_poll_margin if wait else 0.0)
        outcome = "transport"
        try:
            with map_requests_errors():
                response = self._session.request(
                    method,
                    self.base_url + path,
                    params=params,
                    json=body,
                    headers={**self._headers, **headers} if headers else self._headers,
                    timeout=(self.connect_timeout, read),
                    allow_redirects=self._follow_redirects,
                )
                content = response.content
            status = response.status_code
            text = content[:_BODY_LIMIT].decode("utf-8", "replace")
            if status >= 300:
                outcome = "http_429" if status == 429 else f"http_{status // 100}xx"
                raise self._status_error(method, path, status, text, response.headers)
            try:
                data = json.loads(content)
            except ValueError as exc:
                outcome = "malformed"
                raise MalformedResponse(
                    f"{method} {path}: answer {status} is not JSON", body=text
                ) from exc
            try:
                value = parse(data, response.headers)
            except MalformedResponse as exc:
                exc.body = exc.body or text
                outcome = "malformed"
                raise
            outcome = "ok"
            return value
        except HeyGenError as exc:
            if isinstance(exc, TransportTimeout):
                outcome = "timeout"
            if isinstance(exc, ClientClosed):
                raise
            if self._registry.closed:
                # Also a timeout: close() shut the socket down under the request.
                raise ClientClosed("client closed during the request") from exc
            raise
        finally:
            with self._counts_lock:
                self._counts[outcome] += 1

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
