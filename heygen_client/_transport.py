"""HTTP: one pooled ``requests.Session``, timeouts, error mapping, socket tracking.

It knows nothing of any API's routes: backends (:mod:`heygen_client._backends`)
build requests and parse answers through :meth:`Transport.call`.  This module
makes single requests and turns their outcome into values or
:mod:`heygen_client.errors` (through the one error map,
:mod:`heygen_client._error_map`); it never retries and never sleeps.  Retrying is
the scheduler's job (see :class:`heygen_client.policies.RetryPolicy`).

Every socket the session opens is registered (:mod:`heygen_client._connections`),
so :meth:`Transport.close` can ``shutdown()`` sockets that worker threads are
blocked on (a 30 s long-poll), which is how ``TranslationClient.close()`` returns
within a second.

A request is bounded in time and size, whatever the server does: all its socket
reads together end at ``connect_timeout + read_timeout`` (+ a long-poll's wait),
not just each read; a body is read in chunks and refused past
``max_response_bytes``; and only redirects to the same origin are followed, never
one that would turn a ``POST`` into a ``GET``, so the API key goes nowhere else.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import logging
import math
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import requests

from heygen_client._connections import (
    SocketRegistry,
    abandon_when,
    origin,
    origin_text,
    request_deadline,
    tracking_adapter,
)
from heygen_client._error_map import IO_ERRORS, map_exception, map_requests_errors
from heygen_client._options import MAX_RESPONSE_BYTES, Timeouts
from heygen_client.errors import (
    ClientClosed,
    HeyGenError,
    HTTPStatusError,
    MalformedResponse,
    RateLimited,
    TransportTimeout,
)

# The transport's surface: the scheduler wraps requests in abandon_when and maps
# what a worker raises with the same error map as the transport's own requests.
__all__ = [
    "IO_ERRORS",
    "MAX_REDIRECTS",
    "Transport",
    "abandon_when",
    "map_exception",
    "parse_retry_after",
    "path_segment",
]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

_BODY_LIMIT = 2000

#: Same-origin redirects followed before the request fails.
MAX_REDIRECTS = 5
_CHUNK_SIZE = 64 * 1024


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
        self._origin = origin(self.base_url)
        self.wall_clock = wall_clock
        self._registry = SocketRegistry()
        # A caller's session is used as given: never mutated, never closed by us.
        self._owns_session = session is None
        self._session = session if session is not None else requests.Session()
        if session is None:
            adapter = tracking_adapter(self._registry, pool_size)
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
        try:
            with (
                request_deadline(time.monotonic() + self.connect_timeout + read),
                map_requests_errors(method, self.base_url + path),
            ):
                sent = {**self._headers, **headers} if headers else self._headers
                timeouts = (self.connect_timeout, read)
                status, content, answered = self._fetch(method, path, params, body, sent, timeouts)
            value = self._answer(method, path, parse, status, content, answered)
            outcome = "ok"
            return value
        except HeyGenError as exc:
            outcome = _outcome(exc)
            if isinstance(exc, ClientClosed):
                raise
            if self._registry.closed:
                # Also a timeout: close() shut the socket down under the request.
                raise ClientClosed("client closed during the request") from exc
            raise
        finally:
            with self._counts_lock:
                self._counts[outcome] += 1

    def _fetch(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        body: object,
        headers: Mapping[str, str],
        timeout: tuple[float, float],
    ) -> tuple[int, bytes, Mapping[str, str]]:
        """Send the request; the answer's status, body (read within its limit) and headers."""
        response = self._follow(method, path, params, body, headers, timeout)
        with response:
            status = response.status_code
            if status >= 300:
                # Only the start of an error's body is kept: never a 10 MB page.
                content = self._read(response, _BODY_LIMIT, method, path, truncate=True)
            else:
                content = self._read(response, self.max_response_bytes, method, path)
        return status, content, response.headers

    def _answer(
        self,
        method: str,
        path: str,
        parse: Callable[[Any, Mapping[str, str]], _T],
        status: int,
        content: bytes,
        headers: Mapping[str, str],
    ) -> _T:
        """What ``parse`` makes of a 2xx answer's JSON, or the error the answer means."""
        text = content[:_BODY_LIMIT].decode("utf-8", "replace")
        if status >= 300:
            raise self._status_error(method, path, status, text, headers)
        try:
            data = json.loads(content)
        except (ValueError, RecursionError) as exc:
            raise MalformedResponse(
                f"{method} {path}: answer {status} is not JSON we can read", body=text
            ) from exc
        try:
            return parse(data, headers)
        except MalformedResponse as exc:
            exc.body = exc.body or text
            raise
        except RecursionError as exc:  # JSON nested too deeply to read (or show)
            raise MalformedResponse(
                f"{method} {path}: answer {status} is nested too deeply", body=text
            ) from exc

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
            if origin(target) != self._origin:
                refusal = f"to another origin ({origin_text(target)}), not followed"
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


def _outcome(exc: HeyGenError) -> str:
    """How :meth:`Transport.counts` counts a request that ended with ``exc``."""
    if isinstance(exc, TransportTimeout):
        return "timeout"
    if isinstance(exc, MalformedResponse):
        return "malformed"
    if isinstance(exc, HTTPStatusError):
        code = exc.status_code
        return "http_429" if code == 429 else f"http_{code // 100}xx"
    return "transport"
