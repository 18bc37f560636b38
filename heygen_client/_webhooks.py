"""Webhooks: verify HeyGen's signed events and resolve the matching futures at once.

HeyGen's signing scheme is not confirmed in public material, so it is a setting:

- ``"hmac"``: header ``Signature`` holds the hex HMAC-SHA256 of the raw body,
  keyed with the secret's UTF-8 bytes (``whsec_`` prefix and all);
- ``"standard"`` (Standard Webhooks): headers ``webhook-id``,
  ``webhook-timestamp`` (Unix seconds) and ``webhook-signature``, a
  space-separated list of ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``
  keyed with the base64-decoded part of the secret after ``whsec_``; a
  timestamp further than ``tolerance`` seconds from now is refused (replays).

Signatures are compared in constant time.  A verified
``video_translate.success`` event becomes a completed
:class:`~heygen_client.models.JobStatus` (its ``url`` also as ``video_url``),
a ``video_translate.fail`` one a status in error (its ``message`` as
``failure_message``); other event types are accepted and ignored.

:class:`WebhookApp` is a WSGI application for any web stack;
:class:`WebhookServer` runs one on a daemon thread with :mod:`wsgiref`.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import json
import logging
import math
import threading
import time
import wsgiref.simple_server
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from heygen_client.models import JobResult, JobStatus

__all__ = [
    "SCHEMES",
    "Outcome",
    "WebhookApp",
    "WebhookReceiver",
    "WebhookServer",
    "event_status",
    "secrets_of",
]

logger = logging.getLogger(__name__)

#: The signature schemes :class:`WebhookReceiver` verifies.
SCHEMES = ("hmac", "standard")
#: Largest body the WSGI app reads; HeyGen's events are well under a kilobyte.
MAX_BODY = 64 * 1024
#: Standard Webhooks' default: timestamps further from now are refused.
DEFAULT_TOLERANCE = 300.0

_SUCCESS = "video_translate.success"
_FAIL = "video_translate.fail"


class Outcome(enum.Enum):
    """What :meth:`WebhookReceiver.handle` did with a request."""

    APPLIED = "applied"  # verified; the status went to the client
    IGNORED = "ignored"  # verified; not a translation event
    MALFORMED = "malformed"  # verified; a body we cannot read
    UNAUTHORIZED = "unauthorized"  # bad or missing signature: nothing changed


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _standard_key(secret: str) -> bytes | None:
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        return None
    return key or None


@dataclass(frozen=True)
class WebhookReceiver:
    """Verifies signed events and hands their statuses to ``apply``.

    Args:
        secrets: the signing secrets; any one of them verifies (rotation).
        scheme: ``"hmac"`` or ``"standard"`` (see the module docstring).
        apply: called with ``(job_id, status)`` for each translation event.
        tolerance: seconds a Standard Webhooks timestamp may be off from now.
        wall_clock: ``time.time`` (tests pass a fake).
    """

    secrets: tuple[str, ...]
    scheme: str
    apply: Callable[[str, JobStatus], object]
    tolerance: float = DEFAULT_TOLERANCE
    wall_clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES:
            raise ValueError(f"webhook scheme must be one of {', '.join(SCHEMES)}")
        if not self.secrets or not all(isinstance(s, str) and s for s in self.secrets):
            raise ValueError("a webhook secret is required (a non-empty string)")
        if self.scheme == "standard" and not all(_standard_key(s) for s in self.secrets):
            # Never show the secret itself.
            raise ValueError("a Standard Webhooks secret is whsec_ followed by base64")
        if not (math.isfinite(self.tolerance) and self.tolerance >= 0):
            raise ValueError("tolerance must be a non-negative number of seconds")

    def __repr__(self) -> str:
        return f"<WebhookReceiver scheme={self.scheme} secrets={len(self.secrets)}>"

    def verify(self, body: bytes, headers: Mapping[str, str]) -> bool:
        """True when ``headers`` carry a valid signature of ``body`` by one of the secrets."""
        lowered = _lower(headers)
        if self.scheme == "hmac":
            return self._verify_hmac(body, lowered)
        return self._verify_standard(body, lowered)

    def _verify_hmac(self, body: bytes, headers: Mapping[str, str]) -> bool:
        given = headers.get("signature", "").strip().lower().encode("ascii", "replace")
        if not given:
            return False
        # Every secret is tried, so the time taken does not say which one matched.
        matched = False
        for secret in self.secrets:
            expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
            matched |= hmac.compare_digest(expected.encode("ascii"), given)
        return matched

    def _verify_standard(self, body: bytes, headers: Mapping[str, str]) -> bool:
        message_id = headers.get("webhook-id", "")
        stamp = headers.get("webhook-timestamp", "")
        signatures = headers.get("webhook-signature", "").split()
        if not message_id or not stamp.isdigit() or not signatures:
            return False
        if abs(self.wall_clock() - int(stamp)) > self.tolerance:
            logger.info("webhook %s refused: its timestamp is outside the tolerance", message_id)
            return False
        signed = f"{message_id}.{stamp}.".encode() + body
        given = [
            value.encode("ascii", "replace")
            for version, _, value in (s.partition(",") for s in signatures)
            if version == "v1"
        ]
        matched = False
        for secret in self.secrets:
            key = _standard_key(secret)
            assert key is not None  # checked in __post_init__
            expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
            for value in given:
                matched |= hmac.compare_digest(expected, value)
        return matched

    def handle(self, body: bytes, headers: Mapping[str, str]) -> Outcome:
        """Verify ``body`` and apply its event; see :class:`Outcome`."""
        if not self.verify(body, headers):
            logger.warning("webhook refused: bad or missing signature")
            return Outcome.UNAUTHORIZED
        try:
            event = json.loads(body)
        except ValueError:
            logger.warning("webhook with a valid signature but a body that is not JSON")
            return Outcome.MALFORMED
        parsed = event_status(event, received_at=self.wall_clock())
        if parsed is None:
            kind = event.get("event_type") if isinstance(event, dict) else None
            if kind in (_SUCCESS, _FAIL):
                logger.warning("webhook %s without a video_translate_id", kind)
                return Outcome.MALFORMED
            logger.debug("webhook event %r ignored", kind)
            return Outcome.IGNORED
        job_id, status = parsed
        logger.info("webhook: job %s %s", job_id, status.result.value)
        self.apply(job_id, status)
        return Outcome.APPLIED


def event_status(event: object, *, received_at: float = 0.0) -> tuple[str, JobStatus] | None:
    """``(job_id, final status)`` of a translation event, or None for any other body."""
    if not isinstance(event, dict):
        return None
    kind = event.get("event_type")
    data = event.get("event_data")
    if kind not in (_SUCCESS, _FAIL) or not isinstance(data, dict):
        return None
    job_id = data.get("video_translate_id")
    if not isinstance(job_id, str) or not job_id:
        return None
    fields: dict[str, Any] = {**data, "event_type": kind}
    if kind == _SUCCESS:
        result = JobResult.COMPLETED
        fields["status"] = "completed"
        if isinstance(data.get("url"), str):
            fields["video_url"] = data["url"]
    else:
        result = JobResult.ERROR
        fields["status"] = "failed"
        if isinstance(data.get("message"), str):
            fields["failure_message"] = data["message"]
    status = JobStatus(job_id, result, received_at=received_at, extra=MappingProxyType(fields))
    return job_id, status


_REASONS = {
    200: "200 OK",
    400: "400 Bad Request",
    401: "401 Unauthorized",
    405: "405 Method Not Allowed",
    411: "411 Length Required",
    413: "413 Content Too Large",
}


class WebhookApp:
    """A WSGI application that receives webhooks for a client.

    ``POST`` (any path) with a valid signature: 200 ``{"ok": true}``, and the
    event is applied; a bad or missing signature: 401, and nothing changes; a
    body that is not JSON: 400.  ``OPTIONS`` answers 200 (HeyGen checks a new
    endpoint's URL with one).  Other methods: 405.
    """

    def __init__(self, receiver: WebhookReceiver) -> None:
        self.receiver = receiver

    def __repr__(self) -> str:
        return f"<WebhookApp {self.receiver!r}>"

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method == "OPTIONS":
            return _answer(start_response, 200, {"ok": True})
        if method != "POST":
            return _answer(start_response, 405, _error("method_not_allowed", "use POST"))
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            return _answer(start_response, 411, _error("length_required", "no Content-Length"))
        if length < 0 or length > MAX_BODY:
            return _answer(start_response, 413, _error("payload_too_large", "body too large"))
        body = environ["wsgi.input"].read(length) if length else b""
        outcome = self.receiver.handle(body, _headers(environ))
        if outcome is Outcome.UNAUTHORIZED:
            return _answer(
                start_response, 401, _error("unauthorized", "bad or missing webhook signature")
            )
        if outcome is Outcome.MALFORMED:
            return _answer(start_response, 400, _error("invalid_event", "unreadable event"))
        return _answer(start_response, 200, {"ok": True})


def _headers(environ: Mapping[str, Any]) -> dict[str, str]:
    """The request headers of a WSGI environ (``HTTP_WEBHOOK_ID`` -> ``webhook-id``)."""
    return {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _answer(
    start_response: Callable[..., Any], status: int, document: Mapping[str, Any]
) -> list[bytes]:
    body = json.dumps(document).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    start_response(_REASONS[status], headers)
    return [body]


class _QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    """Request lines go to our logger at DEBUG, not to stderr."""

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("webhook server: " + format, *args)


class WebhookServer:
    """A :class:`WebhookApp` served by :mod:`wsgiref` on one daemon thread.

    Args:
        app: what to serve.
        host: the interface to listen on.
        port: the port; 0 picks a free one.
    """

    #: Seconds the thread waits for a request before it looks whether to stop.
    POLL = 0.1

    def __init__(self, app: WebhookApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = wsgiref.simple_server.make_server(
            host, port, app, handler_class=_QuietHandler
        )
        self._server.timeout = self.POLL
        bound = self._server.server_address[1]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{bound}/"
        self._stopping = False
        self._thread = threading.Thread(
            target=self._serve, name="heygen-client-webhooks", daemon=True
        )
        self._thread.start()

    def __repr__(self) -> str:
        return f"<WebhookServer {self.url}>"

    def _serve(self) -> None:
        try:
            while not self._stopping:
                self._server.handle_request()  # returns after POLL seconds without one
        finally:
            self._server.server_close()

    def signal_close(self) -> None:
        """Have the thread stop and free the port; never blocks (for a finalizer)."""
        self._stopping = True  # a plain store: no lock a finalizer could wait on

    def close(self) -> None:
        """Stop serving and free the port, within about :attr:`POLL` seconds; idempotent."""
        self.signal_close()
        if self._thread is not threading.current_thread():
            self._thread.join(1.0)


def secrets_of(secret: str | Sequence[str]) -> tuple[str, ...]:
    """One secret or several (rotation) as a tuple."""
    return (secret,) if isinstance(secret, str) else tuple(secret)
