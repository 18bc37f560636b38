"""The callback thread: where the done-callbacks of every :class:`JobFuture` run.

A future is settled by the scheduler thread or an HTTP worker, which serve every
job of the client; a done-callback is user code that may block (a slow log sink,
a lock, a call back into the client).  So settling a future only wakes its
``result()`` waiters and queues its callbacks here.  One daemon thread per process
runs them in the order they were queued, and so in order per future; it starts on
demand and leaves after a second idle.  A callback that blocks delays only the
callbacks queued after it.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["CallbackRunner", "run_callbacks"]

logger = logging.getLogger(__name__)

Callback = Callable[[Any], object]


class CallbackRunner:
    """A FIFO of ``(future, callbacks)`` drained by one daemon thread.

    Args:
        idle_timeout: seconds the thread waits for work before it leaves.
    """

    def __init__(self, idle_timeout: float = 1.0) -> None:
        self.idle_timeout = idle_timeout
        # SimpleQueue: put() never blocks and is safe to call from a finalizer.
        self._queue: queue.SimpleQueue[tuple[object, Sequence[Callback]]] = queue.SimpleQueue()
        # Re-entrant: a collection that settles a future inside submit() on this
        # thread must not deadlock on it.
        self._lock = threading.RLock()
        self.thread: threading.Thread | None = None

    def submit(self, future: object, callbacks: Sequence[Callback]) -> None:
        """Queue ``fn(future)`` for each of ``callbacks``; start the thread if needed."""
        self._queue.put((future, callbacks))
        with self._lock:
            if self.thread is None:
                # Checked under the lock that _run() leaves under: either the thread
                # still running sees this item, or a new one is started for it.
                thread = threading.Thread(
                    target=self._run, name="heygen-client-callbacks", daemon=True
                )
                try:
                    thread.start()
                except RuntimeError:
                    # Python 3.12 starts no thread at interpreter shutdown (an atexit
                    # close() failing futures): their callbacks are not run.
                    logger.debug("no thread for done-callbacks at interpreter exit")
                    return
                self.thread = thread

    def running(self) -> bool:
        """True while the thread is up (it leaves when idle)."""
        return self.thread is not None

    def _run(self) -> None:
        while True:
            try:
                future, callbacks = self._queue.get(timeout=self.idle_timeout)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self.thread = None
                        return
                continue
            for fn in callbacks:
                try:
                    fn(future)
                except BaseException:  # even SystemExit: the thread serves every future
                    logger.exception("exception calling callback for %r", future)

    def _reset_after_fork(self) -> None:
        """In a forked child: the parent's thread does not exist here, nor its queue."""
        self._queue = queue.SimpleQueue()
        self._lock = threading.RLock()
        self.thread = None


_RUNNER = CallbackRunner()

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_RUNNER._reset_after_fork)


def run_callbacks(future: object, callbacks: Sequence[Callback]) -> None:
    """Run ``fn(future)`` for each of ``callbacks`` on the callback thread, in order."""
    _RUNNER.submit(future, callbacks)
