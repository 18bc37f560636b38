"""The webhook methods of :class:`~heygen_client.TranslationClient`.

They receive HeyGen's events (verify, then apply them through the scheduler,
as a poll's answer would be), serve them on a small server of our own, and
register an endpoint with HeyGen.  The signatures, the events, the WSGI app
and the server are :mod:`heygen_client._webhooks`; this is the client's side.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from heygen_client._backends.heygen import HeyGenBackend
from heygen_client._validate import check_seconds
from heygen_client._webhooks import (
    SCHEMES,
    Outcome,
    WebhookApp,
    WebhookReceiver,
    WebhookServer,
    secrets_of,
)
from heygen_client.errors import Unsupported
from heygen_client.models import WebhookEndpoint

if TYPE_CHECKING:
    from heygen_client._backends import Backend
    from heygen_client._scheduler import Scheduler

__all__ = ["WebhookMethods"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")


class WebhookMethods:
    """The webhook methods of :class:`~heygen_client.TranslationClient` (a mixin)."""

    if TYPE_CHECKING:  # what TranslationClient provides
        _backend: Backend
        _scheduler: Scheduler

        def _check_open(self) -> None: ...
        def _call(self, what: str, fn: Callable[..., _T], *args: Any) -> _T: ...

    def _setup_webhooks(
        self, secret: str | Sequence[str] | None, scheme: str, tolerance: float
    ) -> None:
        """Check and keep the client's ``webhook_*`` options."""
        if scheme not in SCHEMES:
            raise ValueError(f"webhook_scheme must be one of {', '.join(map(repr, SCHEMES))}")
        check_seconds("webhook_tolerance", tolerance)
        self._webhook_secrets = secrets_of(secret) if secret is not None else ()
        self._webhook_scheme = scheme
        self._webhook_tolerance = tolerance
        self._webhook_lock = threading.Lock()  # register and serve may race
        # Shared with the client's Lifetime: its close() and its finalizer stop them.
        self._servers: list[WebhookServer] = []

    def handle_webhook(
        self,
        body: bytes,
        headers: Mapping[str, str],
        *,
        secret: str | Sequence[str] | None = None,
    ) -> bool:
        """Verify a webhook and apply its event: its job's futures resolve at once.

        A ``video_translate.success`` event completes the job's futures with a
        status built from the event (``video_url``); a ``video_translate.fail``
        one fails them with :class:`~heygen_client.errors.TranslationFailed`
        carrying the event's message.  The status is cached too, so a later
        :meth:`track` of the job finds it.  Repeats change nothing.  Polling goes
        on as a safety net, at a slower pace while webhooks come.

        Args:
            body: the request's raw body, exactly as received.
            headers: its headers (any case).
            secret: the signing secret(s); default the client's ``webhook_secret``.

        Returns:
            True when the signature is valid and the body readable (the event was
            applied, or ignored as not a translation event); False otherwise,
            and nothing changed.

        Raises:
            ValueError: no secret.
        """
        return self._receiver(secret).handle(body, headers) in (Outcome.APPLIED, Outcome.IGNORED)

    def webhook_app(self, *, secret: str | Sequence[str] | None = None) -> WebhookApp:
        """A WSGI application that receives webhooks for this client (any path).

        Mount it in your web stack (docs/heygen.md shows Flask).  A valid event
        is answered 200 and applied as by :meth:`handle_webhook`; a bad or
        missing signature gets 401 and changes nothing.  From now on polling is
        a safety net for lost webhooks, slower (docs/heygen.md#webhooks).

        Raises:
            ValueError: no secret (here or as the client's ``webhook_secret``).
        """
        app = WebhookApp(self._receiver(secret))
        self._scheduler.expect_pushes()
        return app

    def register_webhook(
        self, url: str, *, events: Sequence[str] | None = None, **fields: Any
    ) -> WebhookEndpoint:
        """Register a webhook receiver with HeyGen (``POST /v3/webhooks/endpoints``).

        HeyGen then posts the ``events`` of every translation to ``url``, not
        only of those created with a ``callback_url``.  The endpoint's signing
        secret joins the client's ``webhook_secret``: :meth:`handle_webhook`,
        and the :meth:`webhook_app` and :meth:`serve_webhooks` made from now on,
        verify with it.  Keep ``endpoint.secret`` for your next processes:
        HeyGen shows it only now.  Not retried, since a second try could
        register the endpoint twice.

        Args:
            url: where HeyGen posts events; HeyGen must be able to reach it.
            events: event types (``"video_translate.success"``...); None for all.
            **fields: more of the body (``entity_id``...), sent as given.

        Returns:
            The endpoint, its secret included (kept out of its ``repr``).

        Raises:
            Unsupported: the client does not speak HeyGen's API.
            HeyGenError: the request failed (see :mod:`heygen_client.errors`).
        """
        self._check_open()
        backend = self._backend
        if not isinstance(backend, HeyGenBackend):
            raise Unsupported(f'register_webhook() needs api="heygen", not {backend.name}')
        endpoint = self._call("register_webhook", backend.register_webhook, url, events, fields)
        with self._webhook_lock:
            self._webhook_secrets = (*self._webhook_secrets, endpoint.secret)
        return endpoint

    def serve_webhooks(
        self,
        *,
        secret: str | Sequence[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> str:
        """Receive webhooks on a small server of our own, on one more daemon thread.

        For scripts and tests; :meth:`close` stops it.  Give the URL to HeyGen
        (``callback_url``, or a registered endpoint): it must be reachable from
        there.

        Args:
            secret: as for :meth:`webhook_app`.
            host: the interface to listen on.
            port: the port; 0 picks a free one.

        Returns:
            The server's URL, e.g. ``"http://127.0.0.1:41234/"``.

        Raises:
            RuntimeError: this client serves webhooks already.
            OSError: the address cannot be bound.
        """
        self._check_open()
        app = self.webhook_app(secret=secret)
        with self._webhook_lock:
            if self._servers:
                raise RuntimeError(f"already serving webhooks at {self._servers[0].url}")
            server = WebhookServer(app, host, port)
            self._servers.append(server)
        logger.info("receiving webhooks at %s", server.url)
        return server.url

    def _receiver(self, secret: str | Sequence[str] | None) -> WebhookReceiver:
        """A receiver that verifies with ``secret``, or the client's secrets."""
        secrets = secrets_of(secret) if secret is not None else self._webhook_secrets
        if not secrets:
            raise ValueError("no webhook secret: pass secret=... or webhook_secret= to the client")
        return WebhookReceiver(
            secrets, self._webhook_scheme, self._scheduler.apply, self._webhook_tolerance
        )
