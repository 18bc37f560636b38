"""Waiting for something another process or thread does: poll until it holds, or fail."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["wait_until"]


def wait_until(
    predicate: Callable[[], object],
    timeout: float,
    *,
    interval: float = 0.02,
    message: str | Callable[[], object] = "",
) -> None:
    """Call ``predicate`` every ``interval`` seconds until it returns something true.

    For state that no event announces, such as a live server's ``/stats`` or
    whether a process has exited: a fixed sleep would be too short on a loaded
    machine and too long on an idle one.

    Raises:
        AssertionError: ``predicate`` still did not hold after ``timeout``
            seconds. ``message`` says why; a callable one is called then, so it
            can show the state at the end (``message=server.stats``).
    """
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            said = message() if callable(message) else message
            raise AssertionError(f"not so after {timeout:g} s: {said or predicate}")
        time.sleep(interval)
