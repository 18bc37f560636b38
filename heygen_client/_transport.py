"""HTTP: one pooled ``requests.Session``, timeouts, error mapping, socket tracking.

This module makes single requests and turns their outcome into values or
:mod:`heygen_client.errors`; it never retries and never sleeps.  Retrying is the
scheduler's job (see :class:`heygen_client.policies.RetryPolicy`).

Every socket the session opens is registered, so :meth:`Transport.close` can
``shutdown()`` sockets that worker threads are blocked on (a 30 s long-poll),
which is how ``TranslationClient.close()`` returns within a second.
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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
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
    JobNotFound,
    MalformedResponse,
    RateLimited,
    TransportError,
    TransportTimeout,
)
from heygen_client.models import PLAIN, Capabilities, JobStatus

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


@dataclass(frozen=True, slots=True)
class BatchAnswer:
    """A parsed ``POST /status/batch`` answer."""

    statuses: Sequence[JobStatus]
    unknown: Sequence[str]


class Transport:
    """Single HTTP requests to the translation API, mapped to values and our errors.

    Thread-safe: many worker threads share the one session.
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
        session: requests.Session | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.long_poll_margin = long_poll_margin
        self._wall_clock = wall_clock
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
            TransportError: no usable answer (``TransportTimeout`` on timeouts).
            HTTPStatusError: a 4xx/5xx answer (``RateLimited``, ``JobNotFound``).
            MalformedResponse: a 2xx answer that is not JSON.
        """
        return self._request(method, path, _as_is, params=params, body=body, wait=wait)

    def _request(
        self,
        method: str,
        path: str,
        parse: Callable[[Any, Mapping[str, str]], _T],
        *,
        params: Mapping[str, str] | None = None,
        body: object = None,
        wait: float | None = None,
    ) -> _T:
        """:meth:`request`, then ``parse(data, headers)``, counted once: an answer
        ``parse`` rejects (:class:`MalformedResponse`) counts as "malformed"."""
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
                    headers=self._headers,
                    timeout=(self.connect_timeout, read),
                )
                content = response.content
            status = response.status_code
            text = content[:_BODY_LIMIT].decode("utf-8", "replace")
            if status >= 400:
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
        retry_after = parse_retry_after(headers.get("Retry-After"), now=self._wall_clock())
        detail = text
        with contextlib.suppress(ValueError, AttributeError, TypeError):
            detail = json.loads(text)["error"]["message"]
        message = f"{method} {path}: HTTP {status}: {detail!s:.300}"
        cls: type[HTTPStatusError] = HTTPStatusError
        if status == 429:
            cls = RateLimited
        elif status == 404 and path not in ("/capabilities", "/status/batch"):
            # A 404 on a route (not a job) means the route is not offered.
            cls = JobNotFound
        return cls(message, status_code=status, body=text, retry_after=retry_after)

    def get_status(self, job_id: str | None, *, wait: float | None = None) -> JobStatus:
        """``GET /status[?job_id=ID][&wait=S]`` as a :class:`JobStatus`."""
        params: dict[str, str] = {}
        if job_id is not None:
            params["job_id"] = job_id
        if wait:
            params["wait"] = f"{wait:g}"

        def parse(data: Any, headers: Mapping[str, str]) -> JobStatus:
            return JobStatus.from_json(
                data,
                job_id=job_id,
                retry_after=parse_retry_after(headers.get("Retry-After"), now=self._wall_clock()),
                received_at=self._wall_clock(),
            )

        return self._request("GET", "/status", parse, params=params or None, wait=wait)

    def batch_status(self, job_ids: Sequence[str], *, wait: float | None = None) -> BatchAnswer:
        """``POST /status/batch``."""
        body: dict[str, Any] = {"job_ids": list(job_ids)}
        if wait:
            body["wait"] = wait

        def parse(data: Any, headers: Mapping[str, str]) -> BatchAnswer:
            return self._batch_answer(data, headers, job_ids)

        return self._request("POST", "/status/batch", parse, body=body, wait=wait)

    def _batch_answer(
        self, data: Any, _headers: Mapping[str, str], asked: Sequence[str] = ()
    ) -> BatchAnswer:
        if not isinstance(data, dict) or not isinstance(data.get("statuses"), list):
            raise MalformedResponse(f"batch answer without a statuses list: {data!r:.200}")
        now = self._wall_clock()
        # Statuses keep the caller's id strings, not equal copies parsed from the
        # answer (~100 bytes per tracked job at scale).
        ours = {job_id: job_id for job_id in asked}
        for item in data["statuses"]:
            if isinstance(item, dict) and isinstance(item.get("job_id"), str):
                item["job_id"] = ours.get(item["job_id"], item["job_id"])
        statuses = [JobStatus.from_json(item, received_at=now) for item in data["statuses"]]
        unknown = data.get("unknown") or []
        if not isinstance(unknown, list) or not all(isinstance(u, str) for u in unknown):
            raise MalformedResponse(f"batch 'unknown' is not a list of ids: {unknown!r:.200}")
        return BatchAnswer(statuses, unknown)

    def capabilities(self) -> Capabilities:
        """``GET /capabilities``; a 4xx (404) or an unreadable answer means a plain server.

        Raises:
            TransportError, HTTPStatusError: a transient failure (no answer, 5xx,
                429): the caller treats the server as plain for now and asks again.
        """
        try:
            data, _ = self.request("GET", "/capabilities")
        except (TransportError, HTTPStatusError) as exc:
            if isinstance(exc, HTTPStatusError) and not exc.retryable:
                logger.info("no capabilities (%s): a plain seed server", exc)
                return PLAIN
            raise
        except MalformedResponse as exc:
            logger.info("no capabilities (%s): a plain seed server", exc)
            return PLAIN
        caps = Capabilities.from_json(data)
        logger.info("server capabilities: %s", caps)
        return caps

    def create_job(self, options: Mapping[str, Any]) -> JobStatus:
        """``POST /jobs`` with the given body; returns the new job's first status."""

        def parse(data: Any, _headers: Mapping[str, str]) -> JobStatus:
            if not isinstance(data, dict) or not isinstance(data.get("job_id"), str):
                raise MalformedResponse(f"POST /jobs answer without a job_id: {data!r:.200}")
            data.setdefault("result", "pending")
            return JobStatus.from_json(data, received_at=self._wall_clock())

        return self._request("POST", "/jobs", parse, body=dict(options))

    def get_job(self, job_id: str) -> dict[str, Any]:
        """``GET /jobs/ID``: the job's full record."""

        def parse(data: Any, _headers: Mapping[str, str]) -> dict[str, Any]:
            if not isinstance(data, dict):
                raise MalformedResponse(f"job record is not an object: {data!r:.200}")
            return data

        return self._request("GET", f"/jobs/{path_segment(job_id)}", parse)
