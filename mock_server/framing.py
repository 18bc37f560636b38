"""Request bodies whose length the WSGI server leaves to the app: chunked ones.

werkzeug decodes a chunked body but does not bound it, and
``max_content_length`` only cuts such a stream at the limit: the app would
read the first bytes of an oversize body as if they were all of it. So the
body is read here, before Flask sees the request, to at most one byte past
the limit, and Flask gets it with a known length. A request whose framing is
ambiguous or unreadable is refused instead (see ``refusal``).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import TYPE_CHECKING

from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge, RequestTimeout

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

#: Where ``RequestFraming`` leaves the error a request is to be refused with.
REFUSAL_KEY = "mock_server.framing_refusal"
_READ_SIZE = 64 * 1024


class RequestFraming:
    """WSGI middleware: buffers a chunked body up to the limit, or marks the request refused.

    Refused, with the error left in ``environ[REFUSAL_KEY]`` for the app to raise:

    - both ``Content-Length`` and ``Transfer-Encoding`` (400): the two could
      frame the body differently, the start of request smuggling;
    - a ``Transfer-Encoding`` other than ``chunked`` (400): its length cannot
      be known;
    - a malformed chunked body (400), or one not received in time (408);
    - a chunked body longer than ``limit`` (413), as for a declared length.

    Args:
        wsgi_app: The app to call.
        limit: Largest body accepted, in bytes.
    """

    def __init__(self, wsgi_app: WSGIApplication, limit: int) -> None:
        self.wsgi_app = wsgi_app
        self.limit = limit

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        refusal = self._refusal(environ)
        if refusal is not None:
            environ[REFUSAL_KEY] = refusal
        return self.wsgi_app(environ, start_response)

    def _refusal(self, environ: WSGIEnvironment) -> HTTPException | None:
        coding = environ.get("HTTP_TRANSFER_ENCODING")
        if coding is None:
            return None
        if environ.get("CONTENT_LENGTH"):
            return BadRequest("a request must not have both Content-Length and Transfer-Encoding")
        codings = [part.strip().lower() for part in coding.split(",") if part.strip()]
        if codings != ["chunked"]:
            return BadRequest(
                f"unsupported Transfer-Encoding {coding!r}: only chunked is accepted"
            )
        if not environ.get("wsgi.input_terminated"):
            # The server did not decode the chunks, so the body cannot be read safely.
            return BadRequest("chunked bodies are not supported by this WSGI server")
        try:
            body = _read_at_most(environ["wsgi.input"], self.limit + 1)
        except TimeoutError:
            return RequestTimeout("the request body was not received in time")
        except (OSError, ValueError) as exc:
            return BadRequest(f"malformed chunked body: {exc}")
        if len(body) > self.limit:
            return RequestEntityTooLarge(f"the body is larger than {self.limit} bytes")
        # The app now sees a body of declared length, no longer a chunked one
        # (werkzeug ignores Content-Length beside Transfer-Encoding: chunked).
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        del environ["wsgi.input_terminated"], environ["HTTP_TRANSFER_ENCODING"]
        return None


def refusal(environ: WSGIEnvironment) -> HTTPException | None:
    """The error ``RequestFraming`` decided this request must be refused with, if any."""
    error = environ.get(REFUSAL_KEY)
    return error if isinstance(error, HTTPException) else None


def _read_at_most(stream: io.RawIOBase, size: int) -> bytes:
    """Up to ``size`` bytes; fewer only when the stream ends first."""
    parts: list[bytes] = []
    left = size
    while left > 0:
        part = stream.read(min(left, _READ_SIZE))
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)
