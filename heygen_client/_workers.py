"""The HTTP worker pool: daemon threads, started on demand, bounded, leaving when idle."""

from __future__ import annotations

import collections
import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["WorkerPool"]

logger = logging.getLogger(__name__)

_Item = TypeVar("_Item")


class WorkerPool(Generic[_Item]):
    """Daemon worker threads, started on demand, bounded, leaving when idle."""

    def __init__(self, handler: Callable[[_Item], None], limit: int, idle: float) -> None:
        self.handler = handler
        self.limit = limit
        self.idle_timeout = idle
        self._cond = threading.Condition(threading.Lock())
        self._queue: collections.deque[_Item] = collections.deque()
        self._threads: set[threading.Thread] = set()
        self._idle = 0
        self._closed = False
        self._names = itertools.count(1)

    def submit(self, item: _Item) -> None:
        with self._cond:
            if self._closed:
                return
            self._queue.append(item)
            if self._idle < len(self._queue) and len(self._threads) < self.limit:
                thread = threading.Thread(
                    target=self._work,
                    name=f"heygen-client-worker-{next(self._names)}",
                    daemon=True,
                )
                self._threads.add(thread)
                thread.start()
            else:
                self._cond.notify()

    def threads(self) -> list[threading.Thread]:
        with self._cond:
            return list(self._threads)

    def _work(self) -> None:
        me = threading.current_thread()
        try:
            while True:
                with self._cond:
                    while not self._queue and not self._closed:
                        self._idle += 1
                        signalled = self._cond.wait(self.idle_timeout)
                        self._idle -= 1
                        if not signalled and not self._queue:
                            # Leave _threads now, under the lock: a submit() that
                            # comes next must start a thread, not notify this one.
                            self._threads.discard(me)
                            return
                    if self._closed:
                        self._threads.discard(me)
                        return
                    item = self._queue.popleft()
                try:
                    self.handler(item)
                except Exception:
                    logger.exception("worker failed on %r", item)
        finally:
            with self._cond:
                self._threads.discard(me)

    def close(self, end: float) -> None:
        with self._cond:
            self._closed = True
            self._queue.clear()
            self._cond.notify_all()
            threads = list(self._threads)
        current = threading.current_thread()
        for thread in threads:
            if thread is not current:
                thread.join(max(0.0, end - time.monotonic()))
