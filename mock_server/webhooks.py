"""Webhooks for v3 translations: signing, and a small delivery thread.

When a v3 translation ends, its event goes to the job's ``callback_url``
(signed with ``--webhook-secret``) and to every registered endpoint
subscribed to it (signed with that endpoint's secret). Two signing schemes,
chosen by ``--webhook-scheme``, since HeyGen's own is not publicly confirmed:

- ``hmac``: header ``Signature`` = hex HMAC-SHA256 of the raw body, keyed
  with the secret string's UTF-8 bytes (``whsec_`` prefix included).
- ``standard`` (Standard Webhooks): headers ``webhook-id``,
  ``webhook-timestamp`` (Unix seconds) and ``webhook-signature`` =
  ``v1,`` + base64 HMAC-SHA256 of ``f"{id}.{timestamp}.{body}"``, keyed with
  the base64-decoded part of the secret after ``whsec_``.

``WebhookDispatcher`` keeps a bounded heap of events by due time. On the wall
clock a daemon thread, started with the first event, sends each when due; on
any other clock (a ``FakeClock`` in tests) nothing moves by itself and the
test calls ``run_due()``. Each delivery is one POST, no retries: drops
(``--webhook-drop-rate``) and failures are counted in ``/stats`` and logged,
and never stop the thread.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import itertools
import json
import logging
import random
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import requests

from mock_server.clock import Clock, SystemClock
from mock_server.config import ServerConfig, standard_webhook_key
from mock_server.stats import Stats

logger = logging.getLogger("mock_server.webhooks")

SUCCESS_EVENT = "video_translate.success"
FAIL_EVENT = "video_translate.fail"
#: Most events waiting to be sent; more are dropped (and counted), so a
#: flood of jobs cannot grow the server's memory without bound.
MAX_PENDING = 100_000
#: Seconds to connect to, and then to hear back from, a receiver.
POST_TIMEOUT = (2.0, 5.0)
# The thread re-reads the clock at least this often: the wall clock can jump,
# and a suspended machine's monotonic waits do not count the suspension.
_MAX_SLEEP = 1.0


def sign_hmac(secret: str, body: bytes) -> dict[str, str]:
    """The ``hmac`` scheme's header: ``{"Signature": hex HMAC-SHA256(secret, body)}``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return {"Signature": digest}


def sign_standard(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers for ``body``.

    Raises:
        ValueError: ``secret`` is not ``whsec_`` followed by base64.
    """
    key = standard_webhook_key(secret)
    if key is None:
        raise ValueError("a Standard Webhooks secret is whsec_ followed by base64")
    signed = f"{message_id}.{timestamp}.".encode() + body
    signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{signature}",
    }


def new_endpoint_secret() -> str:
    """A fresh ``whsec_`` secret, valid under both schemes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


@dataclass(frozen=True)
class Endpoint:
    """A registered webhook receiver (``POST /v3/webhooks/endpoints``).

    Attributes:
        endpoint_id: Its id.
        url: Where events are POSTed.
        events: Event types it wants; ``None`` means all.
        secret: Signs what it is sent.
        created_at: Server-clock Unix time of registration.
    """

    endpoint_id: str
    url: str
    events: tuple[str, ...] | None
    secret: str
    created_at: float

    def wants(self, event_type: str) -> bool:
        """Whether this endpoint subscribed to ``event_type``."""
        return self.events is None or event_type in self.events


@dataclass(frozen=True)
class Event:
    """What a finished v3 translation announces.

    Attributes:
        video_translate_id: The job's id.
        succeeded: ``video_translate.success`` when true, else ``.fail``.
        detail: The video URL on success, the failure message on failure.
        callback_id: Echoed from the create request.
        output_language: The job's target language.
        callback_url: The job's own receiver, if any.
    """

    video_translate_id: str
    succeeded: bool
    detail: str
    callback_id: str | None
    output_language: str | None
    callback_url: str | None

    @property
    def event_type(self) -> str:
        """``video_translate.success`` or ``video_translate.fail``."""
        return SUCCESS_EVENT if self.succeeded else FAIL_EVENT

    def body(self) -> bytes:
        """The JSON payload, as HeyGen shapes it."""
        data: dict[str, Any] = {"video_translate_id": self.video_translate_id}
        data["url" if self.succeeded else "message"] = self.detail
        data["callback_id"] = self.callback_id
        data["output_language"] = self.output_language
        return json.dumps({"event_type": self.event_type, "event_data": data}).encode("utf-8")


class Post(Protocol):
    """Sends one webhook; returns the HTTP status, raises on a transport error."""

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str]) -> int: ...


class WebhookDispatcher:
    """Sends v3 events when they are due, signed, to the job and the endpoints.

    Args:
        config: ``webhook_delay``, ``webhook_drop_rate``, ``webhook_scheme``
            and ``webhook_secret``.
        clock: The server's clock; only the wall clock gets a thread.
        stats: Counts what was sent, dropped and failed.
        rng: Seeded generator for the drop decisions.
        endpoints: Returns the registered endpoints when an event is sent, so
            one registered after a job was created still hears of its end.
        post: Sends one request; ``requests`` when ``None``.
        max_pending: Most events waiting; more are dropped.
    """

    def __init__(
        self,
        config: ServerConfig,
        clock: Clock,
        stats: Stats,
        rng: random.Random,
        endpoints: Callable[[], list[Endpoint]],
        post: Post | None = None,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self._config = config
        self._clock = clock
        self._stats = stats
        self._rng = rng
        self._endpoints = endpoints
        self._post = post
        self._session: requests.Session | None = None
        self._max_pending = max_pending
        self._background = isinstance(clock, SystemClock)
        self._heap: list[tuple[float, int, Event]] = []
        self._order = itertools.count()
        self._cond = threading.Condition()
        # Serialises sending, so a test's run_due() and the thread never mix.
        self._send_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def schedule(self, ends_at: float, event: Event) -> None:
        """Send ``event`` at ``ends_at`` plus ``--webhook-delay`` (server clock)."""
        due = ends_at + self._config.webhook_delay
        with self._cond:
            if self._closed:
                return
            if len(self._heap) >= self._max_pending:
                logger.warning("webhook queue full (%d): event dropped", self._max_pending)
                self._stats.record_webhook("dropped")
                return
            heapq.heappush(self._heap, (due, next(self._order), event))
            if self._background and self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="mock-server-webhooks", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def pending(self) -> int:
        """Events waiting to be sent."""
        with self._cond:
            return len(self._heap)

    def next_due(self) -> float | None:
        """Server-clock time of the next event, or ``None`` when none waits."""
        with self._cond:
            return self._heap[0][0] if self._heap else None

    def run_due(self, now: float | None = None) -> int:
        """Send every event due by ``now`` (default: the clock's now).

        Returns:
            How many events were taken from the queue.
        """
        if now is None:
            now = self._clock.now()
        due: list[Event] = []
        with self._cond:
            while self._heap and self._heap[0][0] <= now:
                due.append(heapq.heappop(self._heap)[2])
        with self._send_lock:
            for event in due:
                self._deliver(event)
        return len(due)

    def close(self) -> None:
        """Stop the thread (idempotent); events still waiting are not sent."""
        with self._cond:
            self._closed = True
            thread = self._thread
            self._cond.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        with self._send_lock:
            if self._session is not None:
                self._session.close()
                self._session = None

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed:
                    now = self._clock.now()
                    if self._heap and self._heap[0][0] <= now:
                        break
                    # Nothing waiting: schedule() and close() notify.
                    wait = min(self._heap[0][0] - now, _MAX_SLEEP) if self._heap else None
                    self._cond.wait(wait)
                if self._closed:
                    return
            self.run_due()

    def _targets(self, event: Event) -> list[tuple[str, str]]:
        """``(url, secret)`` pairs the event goes to."""
        targets = []
        if event.callback_url is not None:
            targets.append((event.callback_url, self._config.webhook_secret))
        targets += [(e.url, e.secret) for e in self._endpoints() if e.wants(event.event_type)]
        return targets

    def _deliver(self, event: Event) -> None:
        body = event.body()
        for url, secret in self._targets(event):
            if self._rng.random() < self._config.webhook_drop_rate:
                logger.info("webhook %s of %s dropped", event.event_type, event.video_translate_id)
                self._stats.record_webhook("dropped")
                continue
            headers = {"Content-Type": "application/json", "User-Agent": "heygen-mock-server"}
            try:
                headers.update(self._sign(secret, body))
                status = self._send(url, body, headers)
            except Exception as exc:  # whatever went wrong: logged, counted, on to the next
                logger.warning("webhook to %s failed: %s", url, exc)
                self._stats.record_webhook("sent")
                self._stats.record_webhook("failed")
                continue
            self._stats.record_webhook("sent")
            if not 200 <= status < 300:
                logger.warning("webhook to %s answered %d", url, status)
                self._stats.record_webhook("failed")

    def _sign(self, secret: str, body: bytes) -> dict[str, str]:
        if self._config.webhook_scheme == "standard":
            message_id = "msg_" + secrets.token_hex(12)
            return sign_standard(secret, message_id, int(self._clock.now()), body)
        return sign_hmac(secret, body)

    def _send(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        if self._post is not None:
            return self._post(url, body, headers)
        if self._session is None:
            self._session = requests.Session()
        # Redirects are not followed: a receiver answers, it does not forward.
        response = self._session.post(
            url, data=body, headers=dict(headers), timeout=POST_TIMEOUT, allow_redirects=False
        )
        response.close()
        return response.status_code
