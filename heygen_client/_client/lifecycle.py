"""A client's lifetime in its process: how it ends, whoever ends it.

Its owner calls ``close()``; the interpreter's exit closes clients left open;
a forked child retires the clients it inherited (closed, touching nothing);
a client collected without ``close()`` signals its threads to stop.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from typing import TYPE_CHECKING

from heygen_client.errors import ClientClosed

if TYPE_CHECKING:
    from heygen_client._scheduler import Scheduler
    from heygen_client._stores import Store
    from heygen_client._transport import Transport
    from heygen_client._webhooks import WebhookServer

logger = logging.getLogger(__name__)

_OPEN: weakref.WeakSet[Lifetime] = weakref.WeakSet()


@atexit.register
def _close_open_clients() -> None:
    """At interpreter exit, close clients left open so no request holds the exit up."""
    for lifetime in list(_OPEN):
        lifetime.close()


def _after_fork_in_child() -> None:
    """In a forked child, retire every client inherited from the parent.

    Their threads do not exist here, and their sockets and locks are shared with,
    or were held by, the parent's threads: the child must neither use them nor
    close them (a shutdown() would cut the parent's requests).
    """
    for lifetime in list(_OPEN):
        lifetime.retire_after_fork()
    _OPEN.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class Lifetime:
    """Whether a client is open, and what closing it stops.

    Args:
        client: the client; only its collection is watched (no reference is kept).
        base_url: its server, for the log line of a collected client.
        transport: closed by :meth:`close` (in-flight requests are interrupted).
        scheduler: closed by :meth:`close` (pending futures fail).
        servers: the client's webhook servers (a list it may still add to).
        store: the store the client opened itself, if any.
    """

    def __init__(
        self,
        client: object,
        base_url: str,
        transport: Transport,
        scheduler: Scheduler,
        servers: list[WebhookServer],
        store: Store | None,
    ) -> None:
        self._lock = threading.Lock()
        self.closed = False
        self._closed_message = "client is closed"
        self.closing = threading.Event()  # wakes a translate() waiting out a 429
        self._parts = (transport, scheduler, servers, store)
        # A client dropped without close() stops its threads when it is collected:
        # the scheduler and its threads hold no reference back to the client.
        self.finalizer = weakref.finalize(
            client, _collected, base_url, transport, scheduler, servers, store
        )
        _OPEN.add(self)

    def check_open(self) -> None:
        """Raise :class:`ClientClosed` once closed (or retired after a fork)."""
        if self.closed:
            raise ClientClosed(self._closed_message)

    def close(self) -> None:
        """Stop the servers, the transport, the scheduler and the store; idempotent."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
        self.closing.set()
        _OPEN.discard(self)
        self.finalizer.detach()
        transport, scheduler, servers, store = self._parts
        while servers:
            servers.pop().close()
        transport.close()
        scheduler.close()
        if store is not None:
            store.close()

    def retire_after_fork(self) -> None:
        """Closed in a forked child, without touching what the parent still uses."""
        self._lock = threading.Lock()  # a parent thread may have held it at the fork
        self.closed = True
        self._closed_message = (
            "this client was created before os.fork() and belongs to the parent "
            "process; create a new TranslationClient in the child"
        )
        self.finalizer.detach()


def _collected(
    base_url: str,
    transport: Transport,
    scheduler: Scheduler,
    servers: list[WebhookServer],
    store: Store | None,
) -> None:
    """The finalizer of a client collected without close(): it only signals.

    The collector runs it on whichever thread allocates at the time, possibly one
    of ours holding the scheduler's or the pool's lock: closing here would wait for
    that lock forever, and cyclic collection would stop for the whole process.  So
    the scheduler thread closes the transport and itself.  A client whose thread
    never started has nothing running; its pooled connections close with the pool.
    """

    def close_transport() -> None:  # on the scheduler thread: logging may take locks
        logger.debug("a client for %s was collected without close(); closing it", base_url)
        transport.close()
        if store is not None:
            store.close()  # the scheduler's later calls to it then do nothing

    for server in servers:
        server.signal_close()  # its own thread stops: never blocks
    scheduler.signal_close(then=close_transport)
