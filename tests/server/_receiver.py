"""A webhook receiver on loopback for the tests, and the checks a receiver makes.

``Receiver`` records every POST it gets; ``verify_hmac`` and
``verify_standard`` check a delivery the way a user's receiver would, written
from the schemes' definitions rather than from the server's code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import TracebackType
from typing import Any, Self


@dataclass(frozen=True)
class Delivery:
    """One POST the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes

    def event(self) -> dict[str, Any]:
        """The body as JSON."""
        payload: dict[str, Any] = json.loads(self.body)
        return payload


class Receiver:
    """An HTTP server on a free loopback port, in one thread, recording POSTs.

    Args:
        status: What it answers every POST with.
    """

    def __init__(self, status: int = 204) -> None:
        self.deliveries: list[Delivery] = []
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                delivery = Delivery(
                    self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with receiver._cond:
                    receiver.deliveries.append(delivery)
                    receiver._cond.notify_all()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        self._server = HTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="receiver"
        )

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self._server.server_port}"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Delivery]:
        """The first ``count`` deliveries, once they have arrived.

        Raises:
            AssertionError: Fewer arrived within ``timeout`` seconds.
        """
        with self._cond:
            arrived = self._cond.wait_for(lambda: len(self.deliveries) >= count, timeout)
            assert arrived, f"{len(self.deliveries)} of {count} webhooks arrived"
            return self.deliveries[:count]

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def verify_hmac(delivery: Delivery, secret: str) -> bool:
    """``Signature`` is the hex HMAC-SHA256 of the raw body under the secret's UTF-8 bytes."""
    expected = hmac.new(secret.encode("utf-8"), delivery.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(delivery.headers.get("signature", ""), expected)


def verify_standard(delivery: Delivery, secret: str) -> bool:
    """Standard Webhooks: ``v1,`` + base64 HMAC of ``id.timestamp.body`` under the decoded key."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    message_id = delivery.headers["webhook-id"]
    timestamp = delivery.headers["webhook-timestamp"]
    signed = f"{message_id}.{timestamp}.".encode() + delivery.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = delivery.headers["webhook-signature"].split()
    return any(hmac.compare_digest(s, f"v1,{expected}") for s in given)
