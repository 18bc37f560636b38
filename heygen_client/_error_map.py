"""The one place where I/O failures become :mod:`heygen_client.errors`.

:func:`map_requests_errors` wraps every request the transport makes;
:data:`EXCEPTION_MAP` names every exception class ``requests`` defines (a test
checks it), with what it becomes and whether a retry can help.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
from collections.abc import Iterator, Mapping

import requests.exceptions as rex
import urllib3.exceptions

from heygen_client._connections import RequestAbandoned, origin_text
from heygen_client.errors import (
    ConnectTimeout,
    HeyGenError,
    HTTPStatusError,
    MalformedResponse,
    ReadTimeout,
    TransportError,
    TransportTimeout,
)

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

# What a request can raise for I/O reasons (anything else is a bug, not a failure).
IO_ERRORS: tuple[type[BaseException], ...] = (
    rex.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
)

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


@contextlib.contextmanager
def map_requests_errors(method: str | None = None, url: str | None = None) -> Iterator[None]:
    """The one place where ``requests`` exceptions become :class:`HeyGenError`."""
    try:
        yield
    except HeyGenError:
        raise
    except IO_ERRORS as exc:
        raise map_exception(exc, method=method, url=url) from exc


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
    message = _message(exc, method, url)
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


def _message(exc: BaseException, method: str | None, url: str | None) -> str:
    """What happened, in words, naming the URL when given."""
    reason = describe(exc)
    connecting = isinstance(exc, rex.ConnectTimeout) or (
        isinstance(exc, rex.ConnectionError)
        and not isinstance(exc, rex.ReadTimeout | rex.ChunkedEncodingError)
        and reason in ("connection refused", "host not found", "TLS handshake failed")
    )
    if url is None:
        return f"{reason}: {type(exc).__name__}"
    if connecting:
        return f"cannot connect to {origin_text(url)} ({reason})"
    return f"{method} {url}: {reason}"


def describe(exc: BaseException) -> str:
    """A short reason for an I/O failure, in words ("connection refused")."""
    chain = list(_causes(exc))
    for cls, words in _REASONS:
        if any(isinstance(inner, cls) for inner in chain):
            return words
    return type(exc).__name__


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
