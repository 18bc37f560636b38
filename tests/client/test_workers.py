"""The worker pool's thread bookkeeping."""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType

from heygen_client._jobs import Kind, Request
from heygen_client._workers import WorkerPool


class TimeoutOnDemand:
    """A condition whose next empty-queue wait "times out", then runs a hook once the
    worker has released the lock: the moment a racing submit() can get in."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self.hook: Callable[[], None] | None = None
        self._fire = False

    def __enter__(self) -> bool:
        return self._cond.__enter__()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._cond.__exit__(t, e, tb)
        if self._fire and self.hook is not None:
            hook, self.hook, self._fire = self.hook, None, False
            hook()

    def wait(self, timeout: float | None = None) -> bool:
        if self.hook is not None:
            self._fire = True
            return False
        return self._cond.wait(timeout)

    def notify(self, n: int = 1) -> None:
        self._cond.notify(n)

    def notify_all(self) -> None:
        self._cond.notify_all()


def test_a_submit_racing_an_idle_worker_leaving_is_not_lost() -> None:
    handled: list[str] = []
    second_done = threading.Event()
    cond = TimeoutOnDemand()
    pool: WorkerPool[Request] = WorkerPool(lambda r: None, limit=1, idle=60.0)

    def handler(request: Request) -> None:
        handled.append(request.kind)
        if request.kind == "poll":
            cond.hook = lambda: pool.submit(Request(Kind.BATCH))
        else:
            second_done.set()

    pool.handler = handler
    pool._cond = cond  # type: ignore[assignment]
    pool.submit(Request(Kind.POLL))
    try:
        assert second_done.wait(2.0), "the second request was never run"
        assert handled == ["poll", "batch"]
    finally:
        pool.close(0.0)
        for thread in pool.threads():
            thread.join(2.0)
